"""MXNet's ``Correlation`` (FlowNet's correlation layer) and its gradient.

For data1, data2 of shape (N, C, H, W), both zero-padded by ``pad_size``, output channel ``t`` at
position (i, j) compares the ``kernel_size`` x ``kernel_size`` window of data1 whose top-left
corner is (i*stride1 + max_displacement, j*stride1 + max_displacement) (padded coordinates) with
the window of data2 displaced by (dy*stride2, dx*stride2), dy and dx in [-r, r] with
r = max_displacement // stride2 and t = (dy + r) * (2r + 1) + (dx + r):

    out[n, t, i, j] = sum over c, h, w of f(p1[n, c, y1+h, x1+w], p2[n, c, y2+h, x2+w]) / sumelems

with f the product (``is_multiply``, the default) or the absolute difference, and sumelems =
kernel_size**2 * C. The output is (N, (2r+1)**2, ceil((H + 2*pad_size - 2*border) / stride1),
ceil((W + 2*pad_size - 2*border) / stride1)) with border = max_displacement + (kernel_size-1)//2,
as in MXNet's ``src/operator/correlation-inl.h``.

The generic bodies loop over the (2r+1)**2 displacements and, inside, over the kernel window,
with array-API slicing only, so they run on every backend. The product form is bilinear, so the
gradient op's own VJP is written in the two ops again (second derivatives work); the
absolute-difference form's gradient is piecewise constant in the data, and its second derivative
is not implemented.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetNotImplementedError
from . import infer as I
from .attrs import Bool, Int
from .call import F
from .conv import _pad
from .registry import Sample, defop

_ATTRS = {"kernel_size": Int(1), "max_displacement": Int(1), "stride1": Int(1),
          "stride2": Int(1), "pad_size": Int(0), "is_multiply": Bool(True)}


def _geom(x1, x2, kernel_size=1, max_displacement=1, stride1=1, stride2=1, pad_size=0,
          is_multiply=True):
    """Validate a call; return (r, top_height, top_width): the displacement radius in steps of
    stride2 and the output's spatial size."""
    op = "Correlation"
    I.expect(x1.ndim == 4, op, "data1 of ndim 4 (N, C, H, W)", f"data1.shape={tuple(x1.shape)}")
    I.expect(tuple(x2.shape) == tuple(x1.shape), op, f"data2.shape == data1.shape "
             f"{tuple(x1.shape)}", f"data2.shape={tuple(x2.shape)}")
    I.expect(x1.dtype == x2.dtype, op, "data1 and data2 of one dtype",
             f"{x1.dtype} and {x2.dtype}")
    I.expect(kernel_size > 0 and kernel_size % 2 == 1, op, "an odd kernel_size > 0",
             f"kernel_size={kernel_size}")
    I.expect(stride1 > 0 and stride2 > 0 and max_displacement >= 0 and pad_size >= 0, op,
             "stride1, stride2 > 0 and max_displacement, pad_size >= 0",
             f"stride1={stride1}, stride2={stride2}, max_displacement={max_displacement}, "
             f"pad_size={pad_size}")
    border = max_displacement + (kernel_size - 1) // 2
    padded = tuple(n + 2 * pad_size for n in x1.shape[2:])
    top = tuple(-(-(n - 2 * border) // stride1) for n in padded)
    I.expect(all(t > 0 for t in top), op, f"the neighbourhood and kernel (a border of {border} "
             f"= max_displacement + (kernel_size-1)//2 on each side) inside the padded input "
             f"{padded}", f"output size {top}")
    return max_displacement // stride2, top[0], top[1]


def _infer(x1, x2, **attrs):
    r, th, tw = _geom(x1, x2, **attrs)
    return I.Spec((x1.shape[0], (2 * r + 1) ** 2, th, tw), x1.dtype)


correlation = defop(
    "Correlation", ("data1", "data2"), _ATTRS, infer=_infer,
    doc="FlowNet's correlation of data1 and data2 (N, C, H, W): output channel t compares each "
        "kernel_size x kernel_size window of data1 (top-left at (i*stride1 + max_displacement, "
        "j*stride1 + max_displacement) in the inputs zero-padded by pad_size) with data2's window "
        "displaced by (dy, dx)*stride2, |dy|, |dx| <= max_displacement // stride2, t = (dy + r) * "
        "(2r + 1) + (dx + r): the sum of products (is_multiply) or of absolute differences over "
        "channels and window, divided by kernel_size**2 * C. Output (N, (2r+1)**2, "
        "ceil((H + 2*pad_size - 2*border) / stride1), same for W), border = max_displacement + "
        "(kernel_size-1)//2.")


def _windows(attrs, th, tw):
    """Index pairs (data1 region, data2 region) of the padded inputs for every displacement,
    in output-channel order, and the region's size (the rows/cols data1's windows cover)."""
    k, md, s1, s2 = (attrs[n] for n in ("kernel_size", "max_displacement", "stride1", "stride2"))
    r = md // s2
    hr, wr = (th - 1) * s1 + k, (tw - 1) * s1 + k
    box = (slice(None), slice(None), slice(md, md + hr), slice(md, md + wr))
    pairs = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            y, x = md + dy * s2, md + dx * s2
            pairs.append((box, (slice(None), slice(None), slice(y, y + hr), slice(x, x + wr))))
    return pairs, hr, wr


def _taps(attrs, th, tw):
    """For each (h, w) of the kernel window: the index of the window positions it reads in a
    (N, hr, wr) region (one per output position, stride1 apart)."""
    k, s1 = attrs["kernel_size"], attrs["stride1"]
    return [(slice(None), slice(h, h + s1 * (th - 1) + 1, s1), slice(w, w + s1 * (tw - 1) + 1, s1))
            for h in range(k) for w in range(k)]


@correlation.impl
def _(xp, x1, x2, **attrs):
    _, th, tw = _geom(x1, x2, **attrs)
    p = attrs["pad_size"]
    p1, p2 = _pad(xp, x1, (p, p), (p, p)), _pad(xp, x2, (p, p), (p, p))
    pairs, _, _ = _windows(attrs, th, tw)
    taps = _taps(attrs, th, tw)
    a = p1[pairs[0][0]]
    outs = []
    for _, at in pairs:
        b = p2[at]
        m = xp.sum(a * b if attrs["is_multiply"] else xp.abs(a - b), axis=1)    # (N, hr, wr)
        acc = None
        for tap in taps:                       # the kernel-window sum at every output position
            acc = m[tap] if acc is None else acc + m[tap]
        outs.append(acc)
    out = xp.stack(outs, axis=1) / (attrs["kernel_size"] ** 2 * x1.shape[1])
    return out if out.dtype == x1.dtype else out.astype(x1.dtype)


def _grad_infer(g, x1, x2, **attrs):
    want = _infer(x1, x2, **attrs).shape
    I.expect(tuple(g.shape) == want, "_backward_Correlation", f"grad of Correlation's output "
             f"shape {want}", f"grad.shape={tuple(g.shape)}")
    return I.Spec(x1.shape, x1.dtype), I.Spec(x2.shape, x2.dtype)


correlation_grad = defop(
    "_backward_Correlation", ("grad", "data1", "data2"), dict(_ATTRS), infer=_grad_infer, nout=2,
    doc="Correlation's gradients with respect to data1 and data2, given the output gradient "
        "``grad``: each output's gradient spread over the two windows it compared, times the "
        "other window (is_multiply) or +-1 by which is larger (data1 >= data2: +1 for data1, "
        "-1 for data2), divided by kernel_size**2 * C.")


@correlation_grad.impl
def _(xp, g, x1, x2, **attrs):
    _grad_infer(g, x1, x2, **attrs)
    th, tw = g.shape[2:]
    p, n, c = attrs["pad_size"], x1.shape[0], x1.shape[1]
    p1, p2 = _pad(xp, x1, (p, p), (p, p)), _pad(xp, x2, (p, p), (p, p))
    pairs, hr, wr = _windows(attrs, th, tw)
    taps = _taps(attrs, th, tw)
    g = g / (attrs["kernel_size"] ** 2 * c)
    box = pairs[0][0]
    a = p1[box]
    d1 = xp.zeros(a.shape, dtype=a.dtype, device=a.device)
    d2 = xp.zeros(p2.shape, dtype=a.dtype, device=a.device)
    for t, (_, at) in enumerate(pairs):
        spread = xp.zeros((n, hr, wr), dtype=g.dtype, device=g.device)
        gt = g[:, t]
        for tap in taps:                       # each output's gradient over its window
            spread[tap] = spread[tap] + gt
        spread = xp.reshape(spread, (n, 1, hr, wr))
        b = p2[at]
        if attrs["is_multiply"]:
            d1 = d1 + spread * b
            d2[at] = d2[at] + spread * a
        else:
            one = xp.ones_like(a)
            sign = spread * xp.where(a >= b, one, -one)
            d1 = d1 + sign
            d2[at] = d2[at] - sign
    full = xp.zeros(p1.shape, dtype=a.dtype, device=a.device)
    full[box] = d1
    crop = (slice(None), slice(None), slice(p, p + x1.shape[2]), slice(p, p + x1.shape[3]))
    d1, d2 = full[crop], d2[crop]
    return tuple(d if d.dtype == x1.dtype else d.astype(x1.dtype) for d in (d1, d2))


@correlation.vjp
def _(g, out, x1, x2, **attrs):
    return tuple(F._backward_Correlation(g, x1, x2, **attrs))


@correlation_grad.vjp
def _(u, out, g, x1, x2, **attrs):
    # is_multiply: Correlation is bilinear, <g, Corr(x1, x2)> = <B1(g, x2), x1> = <B2(g, x1), x2>
    # with (B1, B2) this op's outputs; for cotangents (u1, u2) of them the gradients are
    # g: Corr(u1, x2) + Corr(x1, u2); x1: B1(g, u2); x2: B2(g, u1)
    if not attrs["is_multiply"]:
        raise MXNetNotImplementedError(
            "the second derivative of Correlation with is_multiply=False is not implemented")
    u1, u2 = u
    gg = F.Correlation(u1, x2, **attrs) + F.Correlation(x1, u2, **attrs)
    gx1, gx2 = F._backward_Correlation(g, u1, u2, **attrs)
    return gg, gx1, gx2


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


_CASES = (
    ((2, 3, 6, 7), dict(max_displacement=2, pad_size=2)),
    # kernel 3, both strides 2, max_displacement not a multiple of stride2 (r = 1)
    ((1, 2, 9, 10), dict(kernel_size=3, max_displacement=3, stride1=2, stride2=2, pad_size=1)),
    ((2, 2, 5, 6), dict(kernel_size=3, max_displacement=1, pad_size=2, is_multiply=False)),
    ((2, 3, 4, 5), dict(kernel_size=3, max_displacement=0, pad_size=1)),
    ((1, 2, 7, 6), dict(max_displacement=2, stride2=2, stride1=3)),        # no padding, s1 = 3
)


def _sample(shape, attrs):
    return lambda rng: Sample(_u(rng, *shape), _u(rng, *shape), **attrs)


def _grad_sample(shape, attrs):
    def make(rng):
        out = _infer(I.Spec(shape, np.float64), I.Spec(shape, np.float64),
                     **correlation.parse_attrs(attrs)).shape
        # absolute differences: piecewise linear in the data, no second derivative
        return Sample(_u(rng, *out), _u(rng, *shape), _u(rng, *shape),
                      grad=attrs.get("is_multiply", True), **attrs)
    return make


correlation.samples(*(_sample(s, a) for s, a in _CASES))
correlation_grad.samples(*(_grad_sample(s, a) for s, a in _CASES[1:4]))
