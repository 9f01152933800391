"""MXNet 1.x's deformable convolutions: ``_contrib_DeformableConvolution`` (DCN v1, data, offset,
weight, bias) and ``_contrib_ModulatedDeformableConvolution`` (DCN v2, with a ``mask`` input);
``mx.nd.contrib.DeformableConvolution`` / ``ModulatedDeformableConvolution``.

Each kernel tap (ki, kj) of output position (ho, wo) reads the input at the fractional point
``(ho*stride - pad + ki*dilate + dy, wo*stride - pad + kj*dilate + dx)``, with (dy, dx) the
offset channels ``2*(d*kh*kw + ki*kw + kj)`` and ``+1`` for the channels of deformable group
``d``; the sampled columns (times v2's mask channel ``d*kh*kw + ki*kw + kj``) are convolved with
the weight as in a grouped Convolution. Bilinear sampling follows MXNet 1.9.1 (checked on the
oracle), and the two versions differ at the border:

- v1: a point with ``0 <= y < H`` and ``0 <= x < W`` is sampled, any other gives 0; a coordinate
  at or past the last row/column (``y >= H-1``) reads that row (``y = H-1``), so the value is
  flat there and its offset gradient 0.
- v2: bilinear over the zero-padded image: each of the four neighbours outside the image counts
  0 (so a point gives 0 only with ``y <= -1`` or ``y >= H``, and values fade out smoothly).

Both are composites of registered ops (``floor``, ``take`` on the input flattened to
(N*dg*H*W, C/dg) rows, ``matmul``), like BilinearSampler: they run on every backend, and the
gradients w.r.t. data, offset, mask, weight and bias come from the primitives' rules (also
differentiable again). Offset gradients at integer sample points are the one-sided (right)
derivatives, as MXNet's.

Deliberate differences from MXNet: offset and mask must have exactly the batch size of data and
exactly ``2*dg*kh*kw`` / ``dg*kh*kw`` channels (MXNet reads past or ignores the rest of a larger
batch or channel count); ``im2col_step=0`` is an error (MXNet divides by it); and v2 has
gradients on every backend (MXNet's CPU backward is not implemented).
"""
from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Bool, Enum, Int, Shape
from .call import F
from .conv import _check_bias, _spatial
from .nn import _s, _u
from .registry import Sample, defop

__all__ = ["deformable_convolution", "modulated_deformable_convolution"]

_ATTRS = {"kernel": Shape(()), "stride": Shape(()), "dilate": Shape(()), "pad": Shape(()),
          "num_filter": Int(0), "num_group": Int(1), "num_deformable_group": Int(1),
          "workspace": Int(1024), "no_bias": Bool(False),
          "layout": Enum(None, "NCDHW", "NCHW", "NCW")}
_FLOATS = ("float16", "float32", "float64")


# -- shape rules ----------------------------------------------------------------------------------
def _geometry(op, x, off, w, b, mask, kernel, stride, dilate, pad, num_filter, num_group,
              num_deformable_group, no_bias, layout):
    """Validate a call; return (stride, dilate, pad, (Ho, Wo))."""
    I.expect(len(kernel) == 2, op, "a 2-D kernel (MXNet implements only 2-D deformable "
             "convolution)", f"kernel={tuple(kernel)}")
    I.expect(layout in (None, "NCHW"), op, "layout None or 'NCHW' for a 2-D kernel",
             f"layout={layout!r}")
    stride, dilate, pad = _spatial(op, kernel, x, stride, dilate, pad, layout)[1:4]
    c, h, wd = x.shape[1:]
    g, dg, f = num_group, num_deformable_group, num_filter
    I.expect(f > 0 and g > 0 and dg > 0 and c % g == 0 and f % g == 0 and c % dg == 0, op,
             "num_filter > 0, channels and num_filter divisible by num_group, channels "
             "divisible by num_deformable_group",
             f"channels={c}, num_filter={f}, num_group={g}, num_deformable_group={dg}")
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, p, d, k, s in zip((h, wd), pad, dilate, kernel, stride))
    I.expect(min(out) > 0, op, f"a dilated kernel {tuple(kernel)} (dilate={dilate}) that fits "
             f"the padded input {(h, wd)} (pad={pad})", f"output size {out}")
    kk = kernel[0] * kernel[1]
    for name, a, ch in (("offset", off, 2 * dg * kk), ("mask", mask, dg * kk)):
        if a is None:
            continue
        want = (x.shape[0], ch) + out
        I.expect(tuple(a.shape) == want, op, f"{name} of shape {want} (N, "
                 f"{'2*' if name == 'offset' else ''}num_deformable_group*kh*kw, *output size)",
                 f"{name}.shape={tuple(a.shape)}")
    wshape = (f, c // g) + tuple(kernel)
    I.expect(tuple(w.shape) == wshape, op, f"weight.shape == {wshape} (num_filter, "
             f"channels/num_group, *kernel)", f"{tuple(w.shape)}")
    _check_bias(op, b, no_bias, f)
    named = [("data", x), ("offset", off), ("mask", mask), ("weight", w), ("bias", b)]
    dts = {n: np.dtype(a.dtype).name for n, a in named if a is not None}
    I.expect(dts["data"] in _FLOATS, op, "float16, float32 or float64 inputs",
             f"data.dtype={dts['data']}")
    I.expect(len(set(dts.values())) == 1, op, "inputs of one dtype",
             ", ".join(f"{n}.dtype={d}" for n, d in dts.items()))
    return stride, dilate, pad, out


def _infer(op, x, off, w, b, mask, attrs):
    out = _geometry(op, x, off, w, b, mask, **attrs)[3]
    return I.Spec((x.shape[0], attrs["num_filter"]) + out, x.dtype)


def _v1_infer(x, off, w, b=None, workspace=1024, **attrs):
    return _infer("DeformableConvolution", x, off, w, b, None, attrs)


def _step_check(x, im2col_step):
    I.expect(x.shape[0] > 0, "ModulatedDeformableConvolution", "a non-empty batch (MXNet 1.x "
             "reads a 0 dimension as unknown)", f"data.shape={tuple(x.shape)}")
    # MXNet's rule: the batch must divide into chunks of min(N, im2col_step) images
    I.expect(im2col_step > 0 and x.shape[0] % min(x.shape[0], im2col_step) == 0,
             "ModulatedDeformableConvolution", "im2col_step > 0 with the batch size smaller "
             "than or divisible by it", f"im2col_step={im2col_step}, data.shape={tuple(x.shape)}")


def _v2_infer(x, off, mask, w, b=None, workspace=1024, im2col_step=64, **attrs):
    _step_check(x, im2col_step)
    return _infer("ModulatedDeformableConvolution", x, off, w, b, mask, attrs)


_DOC = ("{v} deformable convolution of data (N, C, H, W): each kernel tap samples data "
        "bilinearly at its grid point moved by offset (N, 2*dg*kh*kw, Ho, Wo) (channel "
        "2*(d*kh*kw + ki*kw + kj) the y, the next the x shift of group d){m}; then a grouped "
        "convolution with weight (num_filter, C/num_group, kh, kw) plus bias (num_filter,). "
        "Channels split into num_deformable_group (dg) groups, each with its own offsets. "
        "Ho, Wo = (n + 2*pad - dilate*(k-1) - 1)//stride + 1. {b}")
deformable_convolution = defop(
    "_contrib_DeformableConvolution", ("data", "offset", "weight", "bias"), _ATTRS,
    infer=_v1_infer,
    doc=_DOC.format(v="DCN v1", m="", b="A point outside [0, H) x [0, W) gives 0; one at or "
                    "past the last row/column reads that row/column."))
modulated_deformable_convolution = defop(
    "_contrib_ModulatedDeformableConvolution", ("data", "offset", "mask", "weight", "bias"),
    {**_ATTRS, "im2col_step": Int(64)}, infer=_v2_infer,
    doc=_DOC.format(v="DCN v2 (modulated)", m=", times mask (N, dg*kh*kw, Ho, Wo)",
                    b="Neighbours outside the image count 0. ``im2col_step`` only has to "
                      "divide the batch (or exceed it), as in MXNet."))


# -- the body -------------------------------------------------------------------------------------
def _grid(n, start, step, like):
    """``start + step * arange(n)`` in ``like``'s dtype and context."""
    r = F.arange(start=0.0, stop=float(n), ctx=like.context, dtype=like.dtype)
    return r * float(step) + float(start) if (step, start) != (1, 0) else r


def _sample(x, off, scale, dg, kernel, stride, dilate, pad, out, clamp):
    """The deformed columns (N, C, kh*kw, Ho*Wo) of data ``x``: bilinear samples at the kernel
    points moved by ``off``, times ``scale`` (B, kh*kw*Ho*Wo) where given (v2's mask);
    ``clamp``: v1's border rule, else v2's."""
    n, c, h, w = x.shape
    (kh, kw), (ho, wo) = kernel, out
    b, m, cd = n * dg, kh * kw * ho * wo, c // dg
    # sample points (B, kh, kw, Ho, Wo): the regular grid plus the offsets, flattened to (B, M)
    o = F.reshape(off, shape=(b, kh, kw, 2, ho, wo))
    py, px = (F.reshape(F.slice_axis(o, axis=3, begin=i, end=i + 1), shape=(b, kh, kw, ho, wo))
              for i in (0, 1))
    gy = F.broadcast_add(F.reshape(_grid(kh, 0, dilate[0], x), shape=(1, kh, 1, 1, 1)),
                         F.reshape(_grid(ho, -pad[0], stride[0], x), shape=(1, 1, 1, ho, 1)))
    gx = F.broadcast_add(F.reshape(_grid(kw, 0, dilate[1], x), shape=(1, 1, kw, 1, 1)),
                         F.reshape(_grid(wo, -pad[1], stride[1], x), shape=(1, 1, 1, 1, wo)))
    py = F.reshape(F.broadcast_add(py, gy), shape=(b, m))
    px = F.reshape(F.broadcast_add(px, gx), shape=(b, m))
    if clamp:
        # v1: sampled only inside [0, H) x [0, W); a point past the last row reads that row
        inside = (py >= 0.0) * (py < float(h)) * (px >= 0.0) * (px < float(w))
        scale = inside if scale is None else scale * inside
        py = F.where(py >= h - 1.0, F.zeros_like(py) + (h - 1.0), py)
        px = F.where(px >= w - 1.0, F.zeros_like(px) + (w - 1.0), px)
    y0, x0 = F.floor(py), F.floor(px)
    fy, fx = py - y0, px - x0                 # weights of the lower and the right neighbours
    # the four neighbours as a (2, 2, B, M) block: [dy][dx]
    ys = F.reshape(F.stack(y0, y0 + 1.0, axis=0), shape=(2, 1, b, m))
    xs = F.reshape(F.stack(x0, x0 + 1.0, axis=0), shape=(1, 2, b, m))
    wt = F.broadcast_mul(F.reshape(F.stack(1.0 - fy, fy, axis=0), shape=(2, 1, b, m)),
                         F.reshape(F.stack(1.0 - fx, fx, axis=0), shape=(1, 2, b, m)))
    ys, xs = F.stop_gradient(ys), F.stop_gradient(xs)
    valid = F.broadcast_mul((ys >= 0.0) * (ys <= h - 1.0), (xs >= 0.0) * (xs <= w - 1.0))
    wt = wt * valid
    if scale is not None:
        wt = F.broadcast_mul(wt, F.reshape(scale, shape=(1, 1, b, m)))
    # row of each neighbour in the table (N*dg*H*W, C/dg), in int32 (float rows lose exactness)
    yi = F.cast(F.clip(ys, a_min=0.0, a_max=h - 1.0), dtype="int32")
    xi = F.cast(F.clip(xs, a_min=0.0, a_max=w - 1.0), dtype="int32")
    base = F.reshape(F.arange(start=0, stop=b, ctx=x.context, dtype="int32") * (h * w),
                     shape=(1, 1, b, 1))
    rows = F.broadcast_add(F.broadcast_add(yi * w, xi), base)
    table = F.reshape(F.transpose(F.reshape(x, shape=(b, cd, h, w)), axes=(0, 2, 3, 1)),
                      shape=(b * h * w, cd))
    vals = F.take(table, F.reshape(rows, shape=(-1,)), axis=0)          # (4*B*M, C/dg)
    vals = F.broadcast_mul(vals, F.reshape(wt, shape=(-1, 1)))
    cols = F.sum(F.reshape(vals, shape=(4, b * m, cd)), axis=0)          # (B*M, C/dg)
    # (N, dg, kh*kw, Ho*Wo, C/dg) -> (N, C, kh*kw, Ho*Wo), channel-major as Convolution's im2col
    cols = F.transpose(F.reshape(cols, shape=(n, dg, kh * kw, ho * wo, cd)), axes=(0, 1, 4, 2, 3))
    return F.reshape(cols, shape=(n, c, kh * kw, ho * wo))


def _body(op, x, off, mask, w, b, attrs, clamp):
    stride, dilate, pad, out = _geometry(
        op, _s(x), _s(off), _s(w), None if b is None else _s(b),
        None if mask is None else _s(mask), **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    dg, (n, c) = attrs["num_deformable_group"], x.shape[:2]
    scale = None if mask is None else F.reshape(mask, shape=(n * dg, -1))
    cols = _sample(x, off, scale, dg, kernel, stride, dilate, pad, out, clamp)
    k = c // g * kernel[0] * kernel[1]
    r = F.matmul(F.reshape(w, shape=(1, g, f // g, k)),
                 F.reshape(cols, shape=(n, g, k, out[0] * out[1])))     # (N, G, F/G, Ho*Wo)
    r = F.reshape(r, shape=(n, f) + out)
    return r if b is None else F.broadcast_add(r, F.reshape(b, shape=(1, f, 1, 1)))


def _conv_attrs(attrs):
    return {k: v for k, v in attrs.items() if k not in ("workspace", "im2col_step")}


@deformable_convolution.compose
def _(x, off, w, b=None, **attrs):
    return _body("DeformableConvolution", x, off, None, w, b, _conv_attrs(attrs), clamp=True)


@modulated_deformable_convolution.compose
def _(x, off, mask, w, b=None, **attrs):
    _step_check(_s(x), attrs["im2col_step"])
    return _body("ModulatedDeformableConvolution", x, off, mask, w, b, _conv_attrs(attrs),
                 clamp=False)


# -- parameter shapes (Symbol inference, Gluon's deferred init) -----------------------------------
def _params(first):
    def rule(x, *rest, kernel=(), num_filter=0, num_group=1, no_bias=False, **_):
        if x is None:
            return {}
        wshape = (num_filter, x.shape[1] // max(num_group, 1)) + tuple(kernel)
        return {first: wshape, first + 1: None if no_bias else (num_filter,)}
    return rule


deformable_convolution.params(_params(2))
modulated_deformable_convolution.params(_params(3))


# -- samples: offsets keep their sample points 0.1 away from the pixel grid, where bilinear
# sampling has kinks (finite differences straddling one would not match the gradient) ------------
def _offsets(rng, *shape, spread=1.5):
    whole = rng.integers(-int(spread), int(spread) + 1, shape)
    return whole + rng.uniform(0.1, 0.9, shape) * rng.choice([-1.0, 1.0], shape)


deformable_convolution.samples(
    lambda rng: Sample(_u(rng, 1, 2, 4, 5), _offsets(rng, 1, 18, 4, 5), _u(rng, 3, 2, 3, 3),
                       _u(rng, 3), kernel=(3, 3), pad=(1, 1), num_filter=3),
    lambda rng: Sample(_u(rng, 2, 4, 4, 5), _offsets(rng, 2, 36, 2, 3, spread=2.5),
                       _u(rng, 2, 2, 3, 3), kernel=(3, 3), num_filter=2, num_group=2,
                       num_deformable_group=2, no_bias=True, stride=(2, 2), pad=(1, 1)),
    lambda rng: Sample(_u(rng, 1, 2, 4, 5), _offsets(rng, 1, 8, 3, 3), _u(rng, 2, 2, 2, 2),
                       _u(rng, 2), kernel=(2, 2), num_filter=2, dilate=(1, 2)),
)
modulated_deformable_convolution.samples(
    lambda rng: Sample(_u(rng, 1, 2, 4, 5), _offsets(rng, 1, 18, 4, 5),
                       rng.uniform(0, 1, (1, 9, 4, 5)), _u(rng, 3, 2, 3, 3), _u(rng, 3),
                       kernel=(3, 3), pad=(1, 1), num_filter=3),
    lambda rng: Sample(_u(rng, 2, 4, 4, 5), _offsets(rng, 2, 36, 2, 3, spread=2.5),
                       rng.uniform(0, 1, (2, 18, 2, 3)), _u(rng, 4, 2, 3, 3),
                       kernel=(3, 3), num_filter=4, num_group=2, num_deformable_group=2,
                       no_bias=True, stride=(2, 2), pad=(1, 1), im2col_step=1),
)
