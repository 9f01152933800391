"""Pooling (max / avg / sum / lp, global; ``pooling_convention`` valid / full / same) over
1-D/2-D/3-D data in the layouts of :mod:`.conv`, and its gradient op ``_backward_Pooling``:
windows gathered as strided slices (the geometry helpers of :mod:`.conv`), NumPy kernels where
they pay."""
from __future__ import annotations

import itertools

import numpy as np

from ..base import MXNetNotImplementedError
from . import infer as I
from .attrs import Any, Attr, Bool, Enum, Shape
from .call import F
from .conv import (
    _LAST,
    _channels,
    _in_layout,
    _layouts,
    _np_permute,
    _pad,
    _slices,
    _spatial,
    _spatial_dims,
    _u,
    _xp_permute,
)
from .registry import Sample, defop


# -- Pooling --------------------------------------------------------------------------------------
def _pool_geom(x, kernel=(), pool_type="max", global_pool=False, pooling_convention="valid",
               stride=(), pad=(), p_value=None, count_include_pad=True, layout=None, **_):
    op = "Pooling"
    if global_pool:
        I.expect(2 < x.ndim <= 5, op, "data of ndim 3, 4 or 5 for global pooling",
                 f"data.shape={x.shape}")
        kernel, stride, pad = _spatial_dims(x.shape, layout), (), ()
    if pooling_convention == "same" and not any(pad):
        pad = ()       # MXNet 1.9.1 takes 'same' only with pad=(0, 0, 0), whatever the rank
    nsp, stride, _, pad, _ = _spatial(op, kernel, x, stride, (), pad, layout)
    I.expect(pool_type != "lp" or (p_value or 0) > 0, op, "p_value > 0 for pool_type='lp'",
             f"p_value={p_value}")
    if pooling_convention == "same":     # as MXNet 1.9.1: 1-D pooling only, without padding
        I.expect(nsp == 1 and not any(pad), op, "1-D pooling (data (N, C, W)) and pad 0 for "
                 "pooling_convention='same'", f"data.shape={x.shape}, pad={pad}")
    sp = _spatial_dims(x.shape, layout)
    padded = tuple(n + 2 * p for n, p in zip(sp, pad))
    I.expect(all(k <= n for k, n in zip(kernel, padded)), op,
             f"kernel {tuple(kernel)} <= padded input {padded}", f"kernel={tuple(kernel)}")
    if pooling_convention == "same" and not global_pool:
        # ceil(n / stride) windows from 0; the last ones are cut at the input's end (the right
        # padding _pool_forward adds is ignored: max fills -inf, avg counts real elements)
        out = tuple(-(-n // s) for n, s in zip(sp, stride))
    else:
        rnd = (lambda a, b: -(-a // b)) if pooling_convention == "full" else (lambda a, b: a // b)
        out = tuple(rnd(n - k, s) + 1 for n, k, s in zip(padded, kernel, stride))
    return tuple(kernel), stride, pad, out


def _pool_infer(x, **attrs):
    out = _pool_geom(x, **attrs)[3]
    return I.Spec(_in_layout(x.shape[:1] + (_channels(x.shape, attrs["layout"]),) + out,
                             attrs["layout"] in _LAST), x.dtype)


pooling = defop(
    "Pooling", ("data",),
    {"kernel": Shape(()), "pool_type": Enum("max", "avg", "sum", "lp"),
     "global_pool": Bool(False), "cudnn_off": Bool(False),
     "pooling_convention": Enum("valid", "full", "same"), "stride": Shape(()), "pad": Shape(()),
     "p_value": Attr(None, "int"), "count_include_pad": Bool(True), "layout": Any(None)},
    infer=_pool_infer, aliases=("Pooling_v1", "pooling"),
    doc="1-D/2-D/3-D max/avg/sum/lp pooling of (N, C, *spatial). ``stride`` defaults to 1, "
        "``pad`` to 0; ``pooling_convention='full'`` rounds the output size up; 'same' (1-D "
        "only and no padding, as in MXNet 1.9.1, which wants pad=(0, 0, 0) for it where mxplug "
        "also takes the default) gives ceil(width/stride) windows from 0, the last ones cut at "
        "the input's end (avg divides by the elements inside). Max pooling ignores padding; avg "
        "divides by the window size inside the padded input (``count_include_pad``) or by the "
        "count of real elements. ``global_pool`` pools all spatial positions. ``layout`` "
        "NWC/NHWC/NDHWC: data and output (N, *spatial, C).")


def _lowest(dtype):
    try:
        return float(np.finfo(dtype).min)
    except ValueError:  # bfloat16: NumPy's finfo does not know ml_dtypes' types
        import ml_dtypes
        return float(ml_dtypes.finfo(dtype).min)


def _pool_forward(xp, x, attrs):
    """Pooling's forward pieces: (result, padded data, divisor or None, window geometry)."""
    kernel, stride, pad, out = _pool_geom(x, **attrs)
    ptype, p = attrs["pool_type"], attrs["p_value"]
    # 'full' may need extra room past the right padding: the last window may overhang it
    after = [(o - 1) * s + k - n - q
             for o, s, k, n, q in zip(out, stride, kernel, x.shape[2:], pad)]
    after = [max(a, q) for a, q in zip(after, pad)]
    # max: the lowest finite value, as MXNet outputs for a window wholly in the padding
    fill = _lowest(x.dtype) if ptype == "max" else 0.0
    xpad = _pad(xp, x, pad, after, fill)
    src = xp.abs(xpad) ** p if ptype == "lp" else xpad
    acc = cnt = None
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    for off in offsets:
        v = src[_slices(off, stride, out)]
        acc = v if acc is None else (xp.maximum(acc, v) if ptype == "max" else acc + v)
    if ptype == "lp":
        acc = acc ** (1.0 / p)
    elif ptype == "avg":       # divisor: window elements inside [-pad, n + pad) (or inside data)
        sp = x.shape[2:]
        ones = xp.ones((1, 1) + sp, dtype=x.dtype, device=x.device)
        inner = pad if attrs["count_include_pad"] else (0,) * len(sp)
        ones = _pad(xp, ones, inner, inner, 1.0)
        ones = _pad(xp, ones, [q - i for q, i in zip(pad, inner)],
                    [a - i for a, i in zip(after, inner)], 0.0)
        for off in offsets:
            v = ones[_slices(off, stride, out)]
            cnt = v if cnt is None else cnt + v
        cnt = xp.maximum(cnt, xp.ones_like(cnt))
        acc = acc / cnt
    return acc, xpad, cnt, (offsets, stride, pad, out)


@pooling.impl
@_layouts(_pool_infer, _xp_permute)
def _(xp, x, **attrs):
    acc = _pool_forward(xp, x, attrs)[0]
    return acc if acc.dtype == x.dtype else acc.astype(x.dtype)


def _pool_grad_check(g, x, **attrs):
    I.expect_output_grad(g, _pool_infer(x, **attrs), "_backward_Pooling", "Pooling")


pool_grad = defop("_backward_Pooling", ("grad", "data"), dict(pooling.attrs),
                  infer=lambda g, x, **attrs: I.Spec(x.shape, x.dtype),
                  doc="Pooling's data gradient: ``grad`` (the output's shape) spread back over "
                      "each window (max: to the window's first maximum).")


@pool_grad.impl
@_layouts(_pool_grad_check, _xp_permute)
def _(xp, g, x, **attrs):
    acc, xpad, cnt, (offsets, stride, pad, out) = _pool_forward(xp, x, attrs)
    I.expect_output_grad(g, acc, "_backward_Pooling", "Pooling")
    ptype, p = attrs["pool_type"], attrs["p_value"]
    if ptype == "avg":
        g = g / cnt
    elif ptype == "lp":       # d y / d x = |x|^(p-1) sign(x) y^(1-p)
        g = g * xp.where(acc > 0, acc, xp.ones_like(acc)) ** (1 - p)
    dx = xp.zeros(xpad.shape, dtype=g.dtype, device=g.device)
    taken = None
    for off in offsets:
        idx = _slices(off, stride, out)
        if ptype == "max":    # the first maximum of each window takes the whole gradient
            hit = xpad[idx] == acc
            hit = hit if taken is None else hit & ~taken
            taken = hit if taken is None else taken | hit
            dx[idx] = dx[idx] + xp.where(hit, g, xp.zeros_like(g))
        elif ptype == "lp":
            v = xpad[idx]
            dx[idx] = dx[idx] + g * xp.abs(v) ** (p - 1) * xp.sign(v)
        else:
            dx[idx] = dx[idx] + g
    dx = dx[(slice(None),) * 2 + tuple(slice(q, q + n) for q, n in zip(pad, x.shape[2:]))]
    return dx if dx.dtype == x.dtype else dx.astype(x.dtype)


def _tiling_max_pool(x, attrs):
    """The window geometry of a max pooling whose windows tile the input exactly (stride ==
    kernel, no padding, sizes divisible: LeNet's 2x2 pools), else None."""
    if attrs["pool_type"] != "max" or attrs["global_pool"]:
        return None
    kernel, stride, pad, out = _pool_geom(x, **attrs)
    if any(pad) or tuple(stride) != kernel or any(o * k != n for o, k, n in
                                                  zip(out, kernel, x.shape[2:])):
        return None
    return kernel, stride, out


@pool_grad.kernel("numpy")
@_layouts(_pool_grad_check, _np_permute)
def _(be, g, x, **attrs):
    tiling = _tiling_max_pool(x, attrs)
    if tiling is not None:  # each input element sits in one window: write, never accumulate
        kernel, stride, out = tiling
        offsets = list(itertools.product(*(range(k) for k in kernel)))
        views = [x[_slices(off, stride, out)] for off in offsets]
        acc = views[0].copy()
        for v in views[1:]:
            np.maximum(acc, v, out=acc)
        I.expect_output_grad(g, acc, "_backward_Pooling", "Pooling")
        dx = np.empty(x.shape, dtype=g.dtype)
        taken, hit = np.zeros(acc.shape, dtype=bool), np.empty(acc.shape, dtype=bool)
        for off, v in zip(offsets, views):  # the window's first maximum takes the gradient
            np.equal(v, acc, out=hit)
            np.greater(hit, taken, out=hit)          # hit and not taken
            taken |= hit
            np.multiply(g, hit, out=dx[_slices(off, stride, out)])
        return dx.astype(x.dtype, copy=False)
    if attrs["pool_type"] != "max":
        return pool_grad.generic(np, g, x, **attrs)
    # max: the generic body's rule (the window's first maximum takes the gradient) with in-place
    # NumPy ops instead of fresh temporaries per window offset
    acc, xpad, _, (offsets, stride, pad, out) = _pool_forward(np, x, attrs)
    I.expect_output_grad(g, acc, "_backward_Pooling", "Pooling")
    dx = np.zeros(xpad.shape, dtype=g.dtype)
    taken = np.zeros(acc.shape, dtype=bool)
    hit = np.empty(acc.shape, dtype=bool)
    for off in offsets:
        idx = _slices(off, stride, out)
        np.equal(xpad[idx], acc, out=hit)
        np.greater(hit, taken, out=hit)              # hit and not taken
        taken |= hit
        dx[idx] += np.where(hit, g, 0)
    dx = dx[(slice(None),) * 2 + tuple(slice(q, q + n) for q, n in zip(pad, x.shape[2:]))]
    return dx.astype(x.dtype, copy=False)


pooling.vjp(lambda g, out, x, **attrs: (F._backward_Pooling(g, x, **attrs),))


@pool_grad.vjp
def _(gx, out, g, x, **attrs):
    # linear in grad; for sum/avg the adjoint of spreading is pooling itself, and the data only
    # picks the max/lp weights (piecewise constant for max)
    if attrs["pool_type"] in ("max", "lp"):
        raise MXNetNotImplementedError(
            f"the second derivative of {attrs['pool_type']} Pooling is not implemented")
    return F.Pooling(gx, **attrs), None


def _pool_grad_sample(rng, shape, grad=True, **attrs):
    out = _pool_infer(I.Spec(shape, np.float64), **pooling.parse_attrs(attrs)).shape
    return Sample(_u(rng, *out), _u(rng, *shape), grad=grad, **attrs)


pool_grad.samples(
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                  pool_type="avg"),
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                  pool_type="avg", count_include_pad=False),
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(2, 3), pool_type="sum",
                                  stride=(1, 2)),
    lambda rng: _pool_grad_sample(rng, (2, 3, 7), kernel=(3,), stride=(2,), pad=(1,),
                                  pool_type="avg", pooling_convention="full"),
    # max / lp: forward checked; their second derivative is not implemented
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(3, 3), stride=(1, 1), pad=(1, 1),
                                  grad=False),
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(2, 2), stride=(2, 2),
                                  pooling_convention="full", grad=False),
    lambda rng: _pool_grad_sample(rng, (2, 3, 5, 5), kernel=(2, 2), pool_type="lp", p_value=3,
                                  grad=False),
    lambda rng: _pool_grad_sample(rng, (1, 2, 4, 4, 4), global_pool=True, grad=False),
    # channel-last: grad, data and result (N, *spatial, C)
    lambda rng: _pool_grad_sample(rng, (2, 5, 4, 3), kernel=(3, 2), stride=(2, 1), pad=(1, 0),
                                  pool_type="avg", count_include_pad=False, layout="NHWC"),
    lambda rng: _pool_grad_sample(rng, (2, 7, 2), kernel=(3,), stride=(2,), pool_type="sum",
                                  pooling_convention="full", layout="NWC"),
    lambda rng: _pool_grad_sample(rng, (2, 4, 5, 3), kernel=(2, 2), stride=(2, 2),
                                  layout="NHWC", grad=False),
    # 'same' (1-D): ceil(8 / 3) windows, the last one cut to 2 elements
    lambda rng: _pool_grad_sample(rng, (2, 3, 8), kernel=(4,), stride=(3,), pool_type="avg",
                                  pooling_convention="same"),
    lambda rng: _pool_grad_sample(rng, (2, 8, 3), kernel=(3,), stride=(2,),
                                  pooling_convention="same", layout="NWC", grad=False),
)


pooling.samples(
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(2, 2), stride=(2, 2)),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                       pool_type="avg"),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                       pool_type="avg", count_include_pad=False),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(2, 2), stride=(2, 2), pool_type="max",
                       pooling_convention="full"),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(2, 2), stride=(2, 2), pool_type="avg",
                       pooling_convention="full"),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(2, 3), pool_type="sum", stride=(1, 2)),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), kernel=(2, 2), pool_type="lp", p_value=2,
                       stride=(1, 1)),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), global_pool=True, pool_type="avg"),
    lambda rng: Sample(_u(rng, 2, 3, 5, 5), global_pool=True, kernel=(1, 1)),
    lambda rng: Sample(_u(rng, 2, 3, 7), kernel=(3,), stride=(2,), pad=(1,)),
    lambda rng: Sample(_u(rng, 1, 2, 4, 4, 4), kernel=(2, 2, 2), stride=(2, 2, 2),
                       pool_type="avg"),
    # channel-last: data and output (N, *spatial, C)
    lambda rng: Sample(_u(rng, 2, 5, 4, 3), kernel=(3, 2), stride=(2, 1), pad=(1, 0),
                       pool_type="avg", count_include_pad=False, layout="NHWC"),
    lambda rng: Sample(_u(rng, 2, 5, 4, 3), kernel=(2, 2), stride=(2, 2),
                       pooling_convention="full", layout="NHWC"),
    lambda rng: Sample(_u(rng, 2, 7, 2), kernel=(3,), stride=(2,), pad=(1,), pool_type="lp",
                       p_value=2, layout="NWC"),
    lambda rng: Sample(_u(rng, 1, 4, 3, 4, 2), kernel=(2, 2, 2), stride=(2, 1, 2),
                       pool_type="sum", layout="NDHWC"),
    lambda rng: Sample(_u(rng, 2, 4, 5, 3), global_pool=True, pool_type="avg", layout="NHWC"),
    # 'same' (1-D only): ceil(width / stride) windows from 0, cut at the end
    lambda rng: Sample(_u(rng, 2, 3, 9), kernel=(4,), stride=(3,), pooling_convention="same"),
    lambda rng: Sample(_u(rng, 2, 3, 8), kernel=(3,), stride=(2,), pool_type="avg",
                       pooling_convention="same", pad=(0, 0, 0)),    # MXNet 1.9.1's spelling
    lambda rng: Sample(_u(rng, 2, 7, 3), kernel=(2,), pool_type="sum",
                       pooling_convention="same", layout="NWC"),
    lambda rng: Sample(_u(rng, 2, 3, 7), kernel=(3,), stride=(2,), pool_type="lp", p_value=2,
                       pooling_convention="same", count_include_pad=False),
)
