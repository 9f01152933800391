"""Convolution and Deconvolution (transposed convolution) over 1-D/2-D/3-D data (the
spatial rank is ``len(kernel)``) in the channel-first layouts NCW / NCHW / NCDHW (the default) or
the channel-last ones NWC / NHWC / NDHWC (``layout=``, as in MXNet: output in the data's layout,
Convolution's weight ``(num_filter, *kernel, channels/num_group)``, Deconvolution's
``(channels, *kernel, num_filter/num_group)``).

The generic bodies gather one strided slice per kernel position (im2col built from array-API
slicing and ``stack``) and do the contraction as one batched ``matmul``, so they run on any
array-API namespace; NumPy gets an im2col kernel over ``sliding_window_view`` + ``tensordot``.
Every body computes channel-first; a channel-last call moves the channel axis around it
(:func:`_layouts`), so each kernel serves both layouts. Pooling, on the same geometry helpers,
is in :mod:`.pooling`.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ..base import MXNetNotImplementedError
from . import infer as I
from .attrs import Any, Bool, Int, Shape
from .call import F
from .nn import skips_grad
from .registry import Sample, defop

_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_CHANNEL_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
_LAST = frozenset(_CHANNEL_LAST.values())


def _in_layout(shape, last):
    """A channel-first ``shape`` in the channel-last order where ``last``."""
    shape = tuple(shape)
    return (shape[0],) + shape[2:] + (shape[1],) if last else shape


def _spatial_dims(shape, layout):
    """The spatial sizes of a ``shape`` in ``layout``."""
    return tuple(shape[1:-1]) if layout in _LAST else tuple(shape[2:])


def _channels(shape, layout):
    return shape[-1] if layout in _LAST else shape[1]


def _spatial(op, kernel, x, stride, dilate, pad, layout):
    """Validate the window attributes and the layout; return (nsp, stride, dilate, pad, last)
    with defaults filled in, ``last`` True for a channel-last layout."""
    nsp = len(kernel)
    I.expect(1 <= nsp <= 3, op, "len(kernel) in (1, 2, 3)", f"kernel={kernel}")
    names = (_LAYOUTS[nsp], _CHANNEL_LAST[nsp])
    I.expect(layout is None or layout in names, op, f"layout None, {names[0]!r} or {names[1]!r} "
             f"for a {nsp}-D kernel", f"layout={layout!r}")
    I.expect(x.ndim == nsp + 2, op, f"data of ndim {nsp + 2} for a {nsp}-D kernel {kernel} "
             f"({layout or names[0]})", f"data.shape={x.shape}")
    stride, dilate, pad = (tuple(v) or (d,) * nsp for v, d in ((stride, 1), (dilate, 1), (pad, 0)))
    for name, v in (("stride", stride), ("dilate", dilate), ("pad", pad)):
        I.expect(len(v) == nsp, op, f"len({name}) == len(kernel) == {nsp}", f"{name}={v}")
    I.expect(all(k > 0 for k in kernel) and all(s > 0 for s in stride)
             and all(d > 0 for d in dilate) and all(p >= 0 for p in pad), op,
             "kernel, stride, dilate > 0 and pad >= 0",
             f"kernel={kernel}, stride={stride}, dilate={dilate}, pad={pad}")
    return nsp, stride, dilate, pad, layout in _LAST


def _layouts(check, transpose):
    """Decorator: a body ``fn(first, *arrays, **attrs)`` over channel-first arrays also takes
    the channel-last layouts. For those, ``check(*arrays, **attrs)`` (the op's layout-aware
    shape rule) validates the call first, so errors name the shapes as given; then every input
    of ndim >= 3 (data, weight, output gradient; not the bias) gets its channel axis moved to
    axis 1, ``fn`` runs with ``layout=None`` and its result gets the channel axis moved last.
    ``transpose(first)`` is the permute function of the body's namespace."""

    def deco(fn):
        @functools.wraps(fn)
        def body(first, *arrays, **attrs):
            if attrs.get("layout") not in _LAST:
                return fn(first, *arrays, **attrs)
            check(*arrays, **attrs)
            perm = transpose(first)
            arrays = [a if a is None or a.ndim < 3 else
                      perm(a, (0, a.ndim - 1) + tuple(range(1, a.ndim - 1))) for a in arrays]
            r = fn(first, *arrays, **{**attrs, "layout": None})
            return perm(r, (0,) + tuple(range(2, r.ndim)) + (1,))
        return body

    return deco


def _xp_permute(xp):
    return xp.permute_dims


def _np_permute(backend):
    return np.transpose


def _slices(off, step, n, lead=2):
    """Index of the strided slice that kernel offset ``off`` reads (or writes) for ``n`` outputs."""
    return (slice(None),) * lead + tuple(slice(o, o + s * (m - 1) + 1, s)
                                         for o, s, m in zip(off, step, n))


def _pad(xp, x, before, after, value=0.0):
    """Constant padding of the spatial axes (from axis 2) with array-API calls only."""
    if not any(before) and not any(after):
        return x
    shape = x.shape[:2] + tuple(n + a + b for n, a, b in zip(x.shape[2:], before, after))
    out = xp.full(shape, value, dtype=x.dtype, device=x.device)
    out[(slice(None),) * 2 + tuple(slice(a, a + n) for a, n in zip(before, x.shape[2:]))] = x
    return out


def _check_bias(op, b, no_bias, num_filter):
    if no_bias:
        I.expect(b is None, op, "no bias input when no_bias=True",
                 f"bias.shape={getattr(b, 'shape', None)}")
    else:
        I.expect(b is not None, op, "a bias input (or no_bias=True)", "no bias given")
        I.expect(tuple(b.shape) == (num_filter,), op, f"bias.shape == ({num_filter},)",
                 f"{tuple(b.shape)}")


def _add_bias(xp, out, b):
    return out if b is None else out + xp.reshape(b, (1, b.shape[0]) + (1,) * (out.ndim - 2))


_WIN = {"kernel": Shape(()), "stride": Shape(()), "dilate": Shape(()), "pad": Shape(())}
_CONV = {**_WIN, "num_filter": Int(0), "num_group": Int(1), "workspace": Int(1024),
         "no_bias": Bool(False), "cudnn_tune": Any(None), "cudnn_off": Bool(False),
         "layout": Any(None)}


# -- Convolution ----------------------------------------------------------------------------------
def _conv_geom(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), num_filter=0, num_group=1,
               no_bias=False, layout=None, **_):
    op = "Convolution"
    nsp, stride, dilate, pad, last = _spatial(op, kernel, x, stride, dilate, pad, layout)
    c, sp = _channels(x.shape, layout), _spatial_dims(x.shape, layout)
    I.expect(num_filter > 0 and num_group > 0 and c % num_group == 0
             and num_filter % num_group == 0, op,
             "num_filter > 0 and channels, num_filter divisible by num_group",
             f"channels={c}, num_filter={num_filter}, num_group={num_group}")
    wshape = _in_layout((num_filter, c // num_group) + tuple(kernel), last)
    I.expect(tuple(w.shape) == wshape, op, f"weight.shape == {wshape} (num_filter, " + (
        "*kernel, channels/num_group" if last else "channels/num_group, *kernel") + ")",
        f"{tuple(w.shape)}")
    _check_bias(op, b, no_bias, num_filter)
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, p, d, k, s in zip(sp, pad, dilate, kernel, stride))
    I.expect(all(o > 0 for o in out), op, f"a dilated kernel {kernel} (dilate={dilate}) that fits "
             f"the padded input {sp} (pad={pad})", f"output size {out}")
    return stride, dilate, pad, out


def _conv_infer(x, w, b=None, **attrs):
    out = _conv_geom(x, w, b, **attrs)[3]
    return I.Spec(_in_layout(x.shape[:1] + (attrs["num_filter"],) + out,
                             attrs["layout"] in _LAST), x.dtype)


convolution = defop("Convolution", ("data", "weight", "bias"), _CONV, infer=_conv_infer,
                    aliases=("Convolution_v1", "convolution"),
                    doc="N-D convolution (cross-correlation) of data (N, C, *spatial) with weight "
                        "(num_filter, C/num_group, *kernel) plus bias (num_filter,); "
                        "``len(kernel)`` picks 1-D/2-D/3-D. Out size: "
                        "(n + 2*pad - dilate*(k-1) - 1)//stride + 1. ``layout`` NWC/NHWC/NDHWC: "
                        "data (N, *spatial, C), weight (num_filter, *kernel, C/num_group), output "
                        "channel-last.")


@convolution.impl
@_layouts(_conv_infer, _xp_permute)
def _(xp, x, w, b=None, **attrs):
    stride, dilate, pad, out = _conv_geom(x, w, b, **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    xpad = _pad(xp, x, pad, pad)
    cols = [xpad[_slices([o * d for o, d in zip(off, dilate)], stride, out)]
            for off in itertools.product(*(range(k) for k in kernel))]
    n, c, kk = x.shape[0], x.shape[1], math.prod(kernel)
    cols = xp.reshape(xp.stack(cols, axis=2), (n, g, c // g * kk, math.prod(out)))
    r = xp.matmul(xp.reshape(w, (g, f // g, c // g * kk)), cols)      # (N, G, F/G, L)
    return _add_bias(xp, xp.reshape(r, (n, f) + out), b)


@convolution.kernel("numpy")
@_layouts(_conv_infer, _np_permute)
def _(be, x, w, b=None, **attrs):
    stride, dilate, pad, out = _conv_geom(x, w, b, **attrs)
    return _conv_numpy(x, w, b, attrs["kernel"], stride, dilate, pad, out, attrs["num_group"])


#: Below this many output positions per sample, the per-sample GEMMs get too thin for BLAS and
#: one GEMM over the whole batch wins despite the transpose it needs (measured on ResNet-18).
_BATCHED_GEMM_MIN_L = 512


def _conv_numpy(x, w, b, kernel, stride, dilate, pad, out, g):
    n, f, L = x.shape[0], w.shape[0], math.prod(out)
    fg = f // g
    if L >= _BATCHED_GEMM_MIN_L:
        cols = _im2col(x, kernel, stride, dilate, pad, out, g)          # (N, G, C/G*K, L)
        # a batch of (F/G, C/G*K) @ (C/G*K, L) GEMMs lands in NCHW order: no transpose
        r = np.matmul(w.reshape(g, fg, -1), cols).reshape((n, f) + tuple(out))
    else:
        cols = _im2col_batch(x, kernel, stride, dilate, pad, out, g)    # (G, C/G*K, N*L)
        r = np.matmul(w.reshape(g, fg, -1), cols)                       # (G, F/G, N*L)
        r = np.ascontiguousarray(r.reshape(f, n, L).transpose(1, 0, 2)).reshape(
            (n, f) + tuple(out))
    return _add_bias(np, r, b).astype(x.dtype, copy=False)


def _windows(x, kernel, stride, dilate, pad, out):
    """The convolution windows of (zero-padded) ``x`` as a view ``(N, C, *out, *kernel)``."""
    nsp = len(kernel)
    if any(pad):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in pad))
    span = [d * (k - 1) + 1 for d, k in zip(dilate, kernel)]
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(2, 2 + nsp)))
    return win[(slice(None),) * 2 + tuple(slice(None, m * s, s) for m, s in zip(out, stride))
               + tuple(slice(None, None, d) for d in dilate)]


def _im2col(x, kernel, stride, dilate, pad, out, g):
    """NumPy im2col: ``(N, G, C/G * prod(kernel), prod(out))`` (one copy of the window view)."""
    nsp = len(kernel)
    win = _windows(x, kernel, stride, dilate, pad, out)
    order = (0, 1) + tuple(range(2 + nsp, 2 + 2 * nsp)) + tuple(range(2, 2 + nsp))
    n, c = x.shape[:2]
    return win.transpose(order).reshape(n, g, c // g * math.prod(kernel), math.prod(out))


def _im2col_batch(x, kernel, stride, dilate, pad, out, g):
    """NumPy im2col with the batch folded into the columns: ``(G, C/G * prod(kernel), N *
    prod(out))``. The copy reads whole output rows of the window view (its last, contiguous axis),
    which is several times faster than gathering kernel-sized runs."""
    nsp = len(kernel)
    win = _windows(x, kernel, stride, dilate, pad, out)                  # (N, C, *out, *k)
    n, c = x.shape[:2]
    order = (1,) + tuple(range(2 + nsp, 2 + 2 * nsp)) + (0,) + tuple(range(2, 2 + nsp))
    return win.transpose(order).reshape(g, c // g * math.prod(kernel), n * math.prod(out))


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


convolution.samples(
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), _u(rng, 4, 3, 3, 3), _u(rng, 4), kernel=(3, 3),
                       num_filter=4),
    lambda rng: Sample(_u(rng, 2, 4, 5, 5), _u(rng, 6, 2, 3, 3), kernel=(3, 3), num_filter=6,
                       stride=(2, 2), pad=(1, 1), num_group=2, no_bias=True),
    lambda rng: Sample(_u(rng, 2, 2, 6, 5), _u(rng, 3, 2, 2, 3), _u(rng, 3), kernel=(2, 3),
                       num_filter=3, dilate=(2, 1), pad=(1, 0), stride=(1, 2)),
    lambda rng: Sample(_u(rng, 2, 3, 7), _u(rng, 2, 3, 3), _u(rng, 2), kernel=(3,), num_filter=2,
                       stride=(2,), pad=(1,)),
    lambda rng: Sample(_u(rng, 1, 2, 4, 4, 4), _u(rng, 2, 2, 2, 2, 2), kernel=(2, 2, 2),
                       num_filter=2, no_bias=True, pad=(1, 0, 1)),
    # channel-last: data (N, *spatial, C), weight (num_filter, *kernel, C/num_group)
    lambda rng: Sample(_u(rng, 2, 5, 4, 4), _u(rng, 6, 3, 2, 2), _u(rng, 6), kernel=(3, 2),
                       num_filter=6, stride=(2, 1), pad=(1, 0), num_group=2, layout="NHWC"),
    lambda rng: Sample(_u(rng, 2, 6, 3), _u(rng, 2, 3, 3), kernel=(3,), num_filter=2,
                       dilate=(2,), pad=(1,), no_bias=True, layout="NWC"),
    lambda rng: Sample(_u(rng, 1, 3, 4, 3, 2), _u(rng, 2, 2, 2, 2, 2), _u(rng, 2),
                       kernel=(2, 2, 2), num_filter=2, pad=(0, 1, 0), layout="NDHWC"),
)


# -- Convolution's gradients ---------------------------------------------------------------------
# conv(x, w) is bilinear; with g its output cotangent: dx = Deconvolution(g, w) (the transposed
# convolution, ``adj`` restoring the input size) and dw = _backward_Convolution_weight(x, g)
# (x correlated with g). Deconvolution is the data gradient of Convolution, so the three ops'
# VJPs are written in each other and every order of derivative stays in these ops.
_WGRAD = {**_WIN, "num_filter": Int(0), "num_group": Int(1), "layout": Any(None)}


def _wgrad_infer(x, g, kernel=(), stride=(), dilate=(), pad=(), num_filter=0, num_group=1,
                 layout=None):
    op = "_backward_Convolution_weight"
    last = layout in _LAST
    wshape = (num_filter, _channels(x.shape, layout) // max(num_group, 1)) + tuple(kernel)
    wspec = I.Spec(_in_layout(wshape, last), x.dtype)
    out = _conv_geom(x, wspec, None, kernel, stride, dilate, pad, num_filter, num_group,
                     no_bias=True, layout=layout)[3]
    # grad may cover fewer positions than the convolution gives (a Deconvolution's adj >= stride)
    ok = (g.ndim == x.ndim and g.shape[0] == x.shape[0]
          and _channels(g.shape, layout) == num_filter
          and all(0 < m <= o for m, o in zip(_spatial_dims(g.shape, layout), out)))
    I.expect(ok, op, f"grad of shape {_in_layout((x.shape[0], num_filter) + out, last)} (the "
             f"convolution's output)", f"grad.shape={g.shape}")
    return wspec


conv_wgrad = defop("_backward_Convolution_weight", ("data", "grad"), _WGRAD, infer=_wgrad_infer,
                   doc="Convolution's weight gradient: data (N, C, *in) correlated with the output "
                       "gradient grad (N, num_filter, *out) -> (num_filter, C/num_group, *kernel); "
                       "all three channel-last for ``layout`` NWC/NHWC/NDHWC.")


@conv_wgrad.impl
@_layouts(_wgrad_infer, _xp_permute)
def _(xp, x, g, **attrs):
    _wgrad_infer(x, g, **attrs)
    kernel, stride, dilate, pad = attrs["kernel"], *_fill(attrs)
    gr, f = attrs["num_group"], attrs["num_filter"]
    out, n, c, kk = g.shape[2:], x.shape[0], x.shape[1], math.prod(kernel)
    xpad = _pad(xp, x, pad, pad)
    cols = [xpad[_slices([o * d for o, d in zip(off, dilate)], stride, out)]
            for off in itertools.product(*(range(k) for k in kernel))]
    cols = xp.reshape(xp.stack(cols, axis=2), (n, gr, c // gr * kk, math.prod(out)))
    gm = xp.reshape(g, (n, gr, f // gr, math.prod(out)))
    dw = xp.sum(xp.matmul(gm, xp.permute_dims(cols, (0, 1, 3, 2))), axis=0)   # (G, F/G, C/G*K)
    return xp.reshape(dw, (f, c // gr) + tuple(kernel))


@conv_wgrad.kernel("numpy")
@_layouts(_wgrad_infer, _np_permute)
def _(be, x, g, **attrs):
    _wgrad_infer(x, g, **attrs)
    kernel, stride, dilate, pad = attrs["kernel"], *_fill(attrs)
    gr, out = attrs["num_group"], g.shape[2:]
    n, c, f, L = x.shape[0], x.shape[1], g.shape[1], math.prod(out)
    # one GEMM per group over the whole batch: (F/G, N*L) @ (N*L, C/G*K), the right-hand side
    # the transposed (C/G*K, N*L) im2col (BLAS reads it transposed, no copy)
    cols = _im2col_batch(x, kernel, stride, dilate, pad, out, gr)        # (G, C/G*K, N*L)
    gm = g.reshape(n, gr, f // gr, L).transpose(1, 2, 0, 3).reshape(gr, f // gr, n * L)
    dw = np.matmul(gm, cols.transpose(0, 2, 1))                          # (G, F/G, C/G*K)
    return dw.reshape((f, c // gr) + tuple(kernel)).astype(x.dtype, copy=False)


def _fill(attrs):
    """stride, dilate, pad with their defaults (1, 1, 0) filled in."""
    nsp = len(attrs["kernel"])
    return tuple(tuple(attrs.get(k) or ()) or (d,) * nsp
                 for k, d in (("stride", 1), ("dilate", 1), ("pad", 0)))


def _win_attrs(attrs, **extra):
    return {k: attrs[k] for k in ("kernel", "stride", "dilate", "pad", "layout")} | extra


def _conv_data_grad(g, w, x_shape, attrs, num_filter):
    """The transposed convolution of g back to the spatial size of ``x_shape`` (adj fills the
    rest)."""
    kernel, (stride, dilate, pad), layout = attrs["kernel"], _fill(attrs), attrs["layout"]
    gsp = _spatial_dims(g.shape, layout)
    adj = tuple(n + 2 * p - s * (m - 1) - d * (k - 1) - 1
                for n, m, p, d, k, s in zip(_spatial_dims(x_shape, layout), gsp, pad, dilate,
                                            kernel, stride))
    if not all(0 <= a < max(s, d) for a, s, d in zip(adj, stride, dilate)):
        raise MXNetNotImplementedError(
            f"Convolution data gradient: an output gradient of spatial size {gsp} for "
            f"data {tuple(x_shape)} needs adj={adj} beyond Deconvolution's range (this arises "
            f"only in higher derivatives of a dilated Deconvolution with adj >= stride)")
    return F.Deconvolution(g, w, **_win_attrs(attrs, adj=adj), num_filter=num_filter,
                           num_group=attrs["num_group"], no_bias=True)


def _bias_grad(g, layout):
    ch = g.ndim - 1 if layout in _LAST else 1
    return F.sum(g, axis=tuple(a for a in range(g.ndim) if a != ch))


@convolution.vjp
def _(g, out, x, w, b=None, **attrs):
    # eager autograd: no work for inputs no gradient reaches (the network's data, frozen weights)
    layout = attrs["layout"]
    gx = None if skips_grad(x) else _conv_data_grad(g, w, x.shape, attrs,
                                                    _channels(x.shape, layout))
    gw = None if skips_grad(w) else F._backward_Convolution_weight(
        x, g, **_win_attrs(attrs), num_filter=w.shape[0], num_group=attrs["num_group"])
    if b is None:
        return gx, gw
    return gx, gw, (None if skips_grad(b) else _bias_grad(g, layout))


@conv_wgrad.vjp
def _(gw, out, x, g, **attrs):
    conv = dict(_win_attrs(attrs), num_group=attrs["num_group"], no_bias=True)
    gx = _conv_data_grad(g, gw, x.shape, attrs, _channels(x.shape, attrs["layout"]))
    gg = F.Convolution(x, gw, num_filter=attrs["num_filter"], **conv)
    return gx, _crop(gg, g.shape, attrs["layout"])


def _crop(y, shape, layout):
    """``y`` cut to the leading spatial positions of ``shape`` in ``layout`` (no-op when it
    already fits)."""
    if tuple(y.shape) == tuple(shape):
        return y
    box = tuple(slice(0, m) for m in _spatial_dims(shape, layout))
    key = (slice(None),) + box + (slice(None),) if layout in _LAST else (slice(None),) * 2 + box
    return F.getitem(y, key=key)


conv_wgrad.samples(
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), _u(rng, 2, 4, 3, 3), kernel=(3, 3), num_filter=4),
    lambda rng: Sample(_u(rng, 2, 4, 5, 5), _u(rng, 2, 6, 3, 3), kernel=(3, 3), num_filter=6,
                       stride=(2, 2), pad=(1, 1), num_group=2),
    lambda rng: Sample(_u(rng, 2, 2, 6, 5), _u(rng, 2, 3, 6, 2), kernel=(2, 3), num_filter=3,
                       dilate=(2, 1), pad=(1, 0), stride=(1, 2)),
    lambda rng: Sample(_u(rng, 2, 3, 7), _u(rng, 2, 2, 4), kernel=(3,), num_filter=2,
                       stride=(2,), pad=(1,)),
    lambda rng: Sample(_u(rng, 1, 2, 4, 4, 4), _u(rng, 1, 2, 5, 3, 5), kernel=(2, 2, 2),
                       num_filter=2, pad=(1, 0, 1)),
    lambda rng: Sample(_u(rng, 2, 5, 4, 4), _u(rng, 2, 3, 3, 6), kernel=(3, 2), num_filter=6,
                       stride=(2, 1), pad=(1, 0), num_group=2, layout="NHWC"),
    lambda rng: Sample(_u(rng, 2, 6, 3), _u(rng, 2, 4, 2), kernel=(3,), num_filter=2,
                       dilate=(2,), pad=(1,), layout="NWC"),
)


# -- Deconvolution --------------------------------------------------------------------------------
def _deconv_geom(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), adj=(), target_shape=(),
                 num_filter=0, num_group=1, no_bias=True, layout=None, **_):
    op = "Deconvolution"
    nsp, stride, dilate, pad, last = _spatial(op, kernel, x, stride, dilate, pad, layout)
    adj = tuple(adj) or (0,) * nsp
    I.expect(len(adj) == nsp, op, f"len(adj) == {nsp}", f"adj={adj}")
    I.expect(all(0 <= a < max(s, d) for a, s, d in zip(adj, stride, dilate)), op,
             "0 <= adj < max(stride, dilate)", f"adj={adj}, stride={stride}, dilate={dilate}")
    c = _channels(x.shape, layout)
    I.expect(num_filter > 0 and num_group > 0 and c % num_group == 0
             and num_filter % num_group == 0, op,
             "num_filter > 0 and channels, num_filter divisible by num_group",
             f"channels={c}, num_filter={num_filter}, num_group={num_group}")
    wshape = _in_layout((c, num_filter // num_group) + tuple(kernel), last)
    I.expect(tuple(w.shape) == wshape, op, f"weight.shape == {wshape} (channels, " + (
        "*kernel, num_filter/num_group" if last else "num_filter/num_group, *kernel") + ")",
        f"{tuple(w.shape)}")
    _check_bias(op, b, no_bias, num_filter)
    full = tuple(s * (n - 1) + d * (k - 1) + 1
                 for n, s, d, k in zip(_spatial_dims(x.shape, layout), stride, dilate, kernel))
    if target_shape:       # MXNet: pad and adj are derived so that the output is target_shape
        I.expect(len(target_shape) == nsp, op, f"len(target_shape) == {nsp}",
                 f"target_shape={target_shape}")
        extra = [f_ - t for f_, t in zip(full, target_shape)]
        I.expect(all(e >= 0 for e in extra), op, f"target_shape <= the unpadded output {full}",
                 f"target_shape={tuple(target_shape)}")
        pad = tuple((e + 1) // 2 for e in extra)
        adj = tuple(e % 2 for e in extra)
    out = tuple(f_ - 2 * p + a for f_, p, a in zip(full, pad, adj))
    I.expect(all(o > 0 for o in out), op, "a positive output size", f"output size {out}")
    return stride, dilate, pad, full, out


def _deconv_infer(x, w, b=None, **attrs):
    out = _deconv_geom(x, w, b, **attrs)[4]
    return I.Spec(_in_layout(x.shape[:1] + (attrs["num_filter"],) + out,
                             attrs["layout"] in _LAST), x.dtype)


deconvolution = defop(
    "Deconvolution", ("data", "weight", "bias"),
    {**_WIN, "adj": Shape(()), "target_shape": Shape(()), "num_filter": Int(0),
     "num_group": Int(1), "workspace": Int(512), "no_bias": Bool(True), "cudnn_tune": Any(None),
     "cudnn_off": Bool(False), "layout": Any(None)},
    infer=_deconv_infer, aliases=("deconvolution",),
    doc="Transposed convolution (the gradient of Convolution w.r.t. its data): data (N, C, *in), "
        "weight (C, num_filter/num_group, *kernel). Out size: stride*(n-1) + dilate*(k-1) + 1 "
        "- 2*pad + adj, or ``target_shape`` (pad and adj then derived). ``no_bias`` defaults to "
        "True as in MXNet. ``layout`` NWC/NHWC/NDHWC: data (N, *in, C), weight (C, *kernel, "
        "num_filter/num_group), output channel-last.")


@deconvolution.impl
@_layouts(_deconv_infer, _xp_permute)
def _(xp, x, w, b=None, **attrs):
    stride, dilate, pad, full, out = _deconv_geom(x, w, b, **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    n, c, kk, sp_in = x.shape[0], x.shape[1], math.prod(kernel), x.shape[2:]
    wm = xp.permute_dims(xp.reshape(w, (g, c // g, f // g * kk)), (0, 2, 1))   # (G, F/G*K, C/G)
    cols = xp.matmul(wm, xp.reshape(x, (n, g, c // g, math.prod(sp_in))))   # (N, G, F/G*K, L)
    cols = xp.reshape(cols, (n, f, kk) + sp_in)
    size = tuple(max(fu, p + o) for fu, p, o in zip(full, pad, out))   # adj may reach past full
    buf = xp.zeros((n, f) + size, dtype=x.dtype, device=x.device)
    for i, off in enumerate(itertools.product(*(range(k) for k in kernel))):
        idx = _slices([o * d for o, d in zip(off, dilate)], stride, sp_in)
        buf[idx] = buf[idx] + cols[:, :, i]          # col2im: scatter-add each kernel tap
    r = buf[(slice(None),) * 2 + tuple(slice(p, p + o) for p, o in zip(pad, out))]
    return _add_bias(xp, r, b)


@deconvolution.kernel("numpy")
@_layouts(_deconv_infer, _np_permute)
def _(be, x, w, b=None, **attrs):
    # the generic body with one GEMM per group over the batch and in-place col2im adds
    stride, dilate, pad, full, out = _deconv_geom(x, w, b, **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    cpad = tuple(d * (k - 1) - p for d, k, p in zip(dilate, kernel, pad))
    if (g == 1 and all(s == 1 for s in stride) and all(p >= 0 for p in cpad)
            and all(o == fu - 2 * p for o, fu, p in zip(out, full, pad))  # no adj
            and x.shape[1] * math.prod(out) <= f * math.prod(x.shape[2:])):
        # stride 1: the transposed convolution is a convolution with the kernel flipped and its
        # channel axes swapped, padded by dilate*(k-1) - pad; im2col + GEMM beats col2im when
        # its columns (C * out positions per tap) are no bigger than col2im's (F * in positions):
        # same-padded ResNet layers, not LeNet's 5x5 data gradient (50 * 144 vs 20 * 64)
        flip = (slice(None),) * 2 + (slice(None, None, -1),) * len(kernel)
        wc = np.ascontiguousarray(w.transpose((1, 0) + tuple(range(2, w.ndim)))[flip])
        return _conv_numpy(x, wc, b, kernel, stride, dilate, cpad, out, 1)
    return _col2im_numpy(x, w, b, kernel, stride, dilate, pad, full, out, g, f)


def _col2im_numpy(x, w, b, kernel, stride, dilate, pad, full, out, g, f):
    """Deconvolution as one GEMM per group and a scatter-add per kernel tap, with the batch as
    the innermost axis: every add then moves runs of ``width * N`` contiguous elements instead
    of ``width`` (6x faster on LeNet's data gradient than the NCHW order)."""
    n, c, kk, sp_in = x.shape[0], x.shape[1], math.prod(kernel), x.shape[2:]
    nsp, fg = len(kernel), f // g
    xm = np.ascontiguousarray(x.transpose((1,) + tuple(range(2, 2 + nsp)) + (0,)))
    xm = xm.reshape(g, c // g, math.prod(sp_in) * n)                     # (G, C/G, L*N)
    wm = w.reshape(g, c // g, fg, kk).transpose(0, 3, 2, 1).reshape(g, kk * fg, c // g)
    cols = np.matmul(wm, xm).reshape((g, kk, fg) + sp_in + (n,))        # (G, K, F/G, *in, N)
    size = tuple(max(fu, p + o) for fu, p, o in zip(full, pad, out))   # adj may reach past full
    buf = np.zeros((g, fg) + size + (n,), dtype=cols.dtype)
    for i, off in enumerate(itertools.product(*(range(k) for k in kernel))):
        buf[_slices([o * d for o, d in zip(off, dilate)], stride, sp_in)] += cols[:, i]
    r = buf.reshape((f,) + size + (n,))[
        (slice(None),) + tuple(slice(p, p + o) for p, o in zip(pad, out))]
    r = np.ascontiguousarray(r.transpose((nsp + 1, 0) + tuple(range(1, nsp + 1))))
    return _add_bias(np, r, b).astype(x.dtype, copy=False)


@deconvolution.vjp
def _(g, out, y, w, b=None, **attrs):
    # Deconvolution(y, w) is the data gradient of Convolution(., w) with the same window: its own
    # gradients are that convolution (for y) and the convolution's weight gradient (for w)
    _, _, pad, _, _ = _deconv_geom(y, w, b, **attrs)
    layout, c = attrs["layout"], _channels(y.shape, attrs["layout"])
    win = dict(kernel=attrs["kernel"], stride=attrs["stride"], dilate=attrs["dilate"], pad=pad,
               layout=layout)
    gy = F.Convolution(g, w, **win, num_filter=c, num_group=attrs["num_group"], no_bias=True)
    gw = F._backward_Convolution_weight(g, y, **win, num_filter=c,
                                        num_group=attrs["num_group"])
    gy = _crop(gy, y.shape, layout)
    return (gy, gw) if b is None else (gy, gw, _bias_grad(g, layout))


deconvolution.samples(
    lambda rng: Sample(_u(rng, 2, 3, 4, 4), _u(rng, 3, 2, 3, 3), kernel=(3, 3), num_filter=2),
    lambda rng: Sample(_u(rng, 2, 4, 3, 3), _u(rng, 4, 3, 3, 3), _u(rng, 6), kernel=(3, 3),
                       num_filter=6, stride=(2, 2), pad=(1, 1), adj=(1, 1), num_group=2,
                       no_bias=False),
    lambda rng: Sample(_u(rng, 2, 2, 3, 4), _u(rng, 2, 2, 2, 2), kernel=(2, 2), num_filter=2,
                       dilate=(2, 1), stride=(1, 2), target_shape=(5, 7)),
    lambda rng: Sample(_u(rng, 2, 3, 5), _u(rng, 3, 2, 3), kernel=(3,), num_filter=2,
                       stride=(2,), pad=(1,)),
    lambda rng: Sample(_u(rng, 1, 2, 4), _u(rng, 2, 3, 3), _u(rng, 3), kernel=(3,), num_filter=3,
                       dilate=(2,), adj=(1,), no_bias=False),      # adj >= stride
    # channel-last: data (N, *in, C), weight (C, *kernel, num_filter/num_group)
    lambda rng: Sample(_u(rng, 2, 3, 2, 4), _u(rng, 4, 3, 2, 3), _u(rng, 6), kernel=(3, 2),
                       num_filter=6, stride=(2, 2), pad=(1, 0), adj=(1, 0), num_group=2,
                       no_bias=False, layout="NHWC"),
    lambda rng: Sample(_u(rng, 2, 4, 3), _u(rng, 3, 2, 2), kernel=(2,), num_filter=2,
                       stride=(2,), target_shape=(7,), layout="NWC"),
    lambda rng: Sample(_u(rng, 1, 2, 3, 2, 2), _u(rng, 2, 2, 2, 2, 2), kernel=(2, 2, 2),
                       num_filter=2, stride=(1, 2, 1), pad=(0, 1, 0), layout="NDHWC"),
)
