"""MXNet 1.x's small contrib ops: ``_contrib_arange_like``, ``_contrib_index_copy``,
``_contrib_index_array``, ``_contrib_div_sqrt_dim``, ``_contrib_quadratic``,
``_contrib_gradientmultiplier`` and ``_contrib_allclose`` (``mx.nd.contrib.<name>``).

The differentiable ones are composites or have rules written in other ops, so second-order
gradients come for free; the index/arange/comparison ops carry no gradient, as in MXNet.
"""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Bool, Float, Int
from .call import F
from .nn import _f, _s, _u
from .registry import Sample, defop

__all__ = ["arange_like", "index_copy", "index_array", "div_sqrt_dim", "quadratic",
           "gradientmultiplier", "allclose"]


# -- arange_like ----------------------------------------------------------------------------------
def _arange_like_infer(x, start=0.0, step=1.0, repeat=1, ctx=None, axis=None):
    op = "_contrib_arange_like"
    I.expect(repeat >= 1, op, "repeat >= 1", f"repeat={repeat}")
    if axis is None:
        return I.Spec(x.shape, x.dtype)
    I.expect(-x.ndim <= axis < x.ndim, op, f"-{x.ndim} <= axis < {x.ndim}",
             f"axis={axis} for data {tuple(x.shape)}")
    return I.Spec((x.shape[axis],), x.dtype)


arange_like = defop(
    "_contrib_arange_like", ("data",),
    {"start": Float(0.0), "step": Float(1.0), "repeat": Int(1), "ctx": Attr(None, "any"),
     "axis": Attr(None, "axis")},
    infer=_arange_like_infer, differentiable=False,
    doc="``start + step * (i // repeat)`` for i = 0, 1, .. in data's shape (row-major), or "
        "along ``axis`` only (output (data.shape[axis],)); data's dtype. Only data's shape is "
        "read, and it gets no gradient.")


@arange_like.impl
def _(xp, x, start=0.0, step=1.0, repeat=1, ctx=None, axis=None):
    out = _arange_like_infer(_s(x), start, step, repeat, axis=axis)
    k = xp.arange(math.prod(out.shape), dtype=xp.int64, device=x.device) // repeat
    if np.dtype(out.dtype).kind in "iub" and float(start).is_integer() and \
            float(step).is_integer():
        values = k * int(step) + int(start)          # exact for integer data
    else:
        work = xp.float64 if np.dtype(out.dtype) == np.float64 else xp.float32
        values = xp.astype(k, work) * step + start
    return xp.reshape(xp.astype(values, x.dtype), out.shape)


arange_like.samples(
    lambda rng: Sample(_u(rng, 2, 3)),
    lambda rng: Sample(_u(rng, 2, 5, 3), start=1.5, step=0.5, repeat=2),
    lambda rng: Sample(_u(rng, 4, 6), axis=-1, start=-2.0, step=3.0),
)


# -- index_copy -----------------------------------------------------------------------------------
def _index_copy_infer(old, index, new):
    op = "_contrib_index_copy"
    I.expect(old.ndim >= 1, op, "old_tensor with ndim >= 1", f"old_tensor.shape={old.shape}")
    I.expect(index.ndim == 1, op, "a 1-D index_vector", f"index_vector.shape={index.shape}")
    want = (index.shape[0],) + tuple(old.shape[1:])
    I.expect(tuple(new.shape) == want, op,
             f"new_tensor.shape == (len(index_vector),) + old_tensor.shape[1:] == {want}",
             f"new_tensor.shape={tuple(new.shape)}")
    return I.Spec(old.shape, I.result_dtype(old, new))


index_copy = defop(
    "_contrib_index_copy", ("old_tensor", "index_vector", "new_tensor"),
    infer=_index_copy_infer,
    doc="A copy of old_tensor whose rows ``index_vector[i]`` are ``new_tensor[i]`` (a repeated "
        "index takes the last row given; an index outside [0, len(old_tensor)) changes "
        "nothing). Gradients: old_tensor's with the copied rows zeroed, new_tensor's the rows "
        "of the output gradient at index_vector.")
index_copy.nograd("index_vector")


@index_copy.impl
def _(xp, old, index, new):
    out = _index_copy_infer(_s(old), _s(index), _s(new))
    n, k = old.shape[0], index.shape[0]
    rows_old = xp.reshape(xp.astype(old, out.dtype), (n, -1))
    rows_new = xp.reshape(xp.astype(new, out.dtype), (k, -1))
    if k == 0:
        return xp.reshape(rows_old, out.shape)
    idx = xp.reshape(xp.astype(index, xp.int64), (1, k))
    hit = xp.reshape(xp.arange(n, dtype=xp.int64, device=old.device), (n, 1)) == idx   # (n, k)
    order = xp.reshape(xp.arange(k, dtype=xp.int64, device=old.device), (1, k))
    last = xp.max(xp.where(hit, order, xp.full_like(order, -1)), axis=1)            # (n,)
    taken = xp.take(rows_new, xp.clip(last, 0, None), axis=0)
    rows = xp.where(xp.reshape(last >= 0, (n, 1)), taken, rows_old)
    return xp.reshape(rows, out.shape)


@index_copy.vjp
def _(g, out, old, index, new):
    # old keeps the rows nothing was copied to; new[i] went to row index[i]
    g_old = F._contrib_index_copy(g, index, F.zeros_like(new))
    return g_old, None, F.take(g, index, axis=0)


index_copy.samples(
    lambda rng: Sample(_u(rng, 5, 3), np.array([0, 3]), _u(rng, 2, 3)),
    lambda rng: Sample(_u(rng, 4, 2, 2), np.array([2, 1, 0]), _u(rng, 3, 2, 2)),
    lambda rng: Sample(_u(rng, 6), np.array([5, 1]), _u(rng, 2)),
)


# -- index_array ----------------------------------------------------------------------------------
def _index_array_infer(x, axes=None):
    op = "_contrib_index_array"
    picked = I.normalize_axis(axes, x.ndim, op) if axes is not None else tuple(range(x.ndim))
    I.expect(x.ndim >= 1, op, "data with ndim >= 1", f"data.shape={tuple(x.shape)}")
    return I.Spec(tuple(x.shape) + (len(picked),), np.dtype("int64"))


index_array = defop(
    "_contrib_index_array", ("data",), {"axes": Attr(None, "axes")},
    infer=_index_array_infer, differentiable=False,
    doc="The index of every element of data: output (*data.shape, len(axes)) int64 with "
        "``out[i_0, .., i_n-1, j] = i_axes[j]`` (``axes`` None: all axes, in order). Only "
        "data's shape is read.")


@index_array.impl
def _(xp, x, axes=None):
    out = _index_array_infer(_s(x), axes)
    picked = I.normalize_axis(axes, x.ndim) if axes is not None else tuple(range(x.ndim))
    coords = []
    for a in picked:
        view = tuple(x.shape[a] if i == a else 1 for i in range(x.ndim))
        line = xp.reshape(xp.arange(x.shape[a], dtype=xp.int64, device=x.device), view)
        coords.append(xp.broadcast_to(line, tuple(x.shape)))
    if not coords:
        return xp.zeros(out.shape, dtype=xp.int64, device=x.device)
    return xp.stack(coords, axis=-1)


index_array.samples(
    lambda rng: Sample(_u(rng, 2, 3)),
    lambda rng: Sample(_u(rng, 2, 3, 4), axes=(2, 0)),
    lambda rng: Sample(_u(rng, 3, 2), axes=-1),
)


# -- div_sqrt_dim, quadratic ----------------------------------------------------------------------
def _div_sqrt_dim_infer(x):
    I.expect(x.ndim >= 1, "_contrib_div_sqrt_dim", "data with ndim >= 1",
             f"data.shape={tuple(x.shape)}")
    return I.Spec(x.shape, x.dtype)


div_sqrt_dim = defop(
    "_contrib_div_sqrt_dim", ("data",), infer=_div_sqrt_dim_infer,
    doc="``data / sqrt(data.shape[-1])`` (the scaling of dot-product attention).")


@div_sqrt_dim.compose
def _(x):
    _div_sqrt_dim_infer(_s(x))
    return x / math.sqrt(x.shape[-1])


div_sqrt_dim.samples(lambda rng: Sample(_u(rng, 2, 3, 4)), lambda rng: Sample(_u(rng, 5)))

quadratic = defop(
    "_contrib_quadratic", ("data",), {"a": Float(0.0), "b": Float(0.0), "c": Float(0.0)},
    infer=I.same, doc="``a * data**2 + b * data + c``, elementwise.")


@quadratic.compose
def _(x, a=0.0, b=0.0, c=0.0):
    return _f("square", x) * a + x * b + c


quadratic.samples(
    lambda rng: Sample(_u(rng, 3, 4), a=1.5, b=-2.0, c=0.5),
    lambda rng: Sample(_u(rng, 5), b=3.0),
)


# -- gradientmultiplier ---------------------------------------------------------------------------
gradientmultiplier = defop(
    "_contrib_gradientmultiplier", ("data",), {"scalar": Float(1.0)}, infer=I.same,
    doc="The identity forward; backward multiplies the gradient by ``scalar`` (a negative "
        "scalar reverses it: the gradient reversal layer of domain adaptation).")
gradientmultiplier.impl(lambda xp, x, scalar=1.0: xp.asarray(x, copy=True))
gradientmultiplier.vjp(lambda g, out, x, scalar=1.0: (g * scalar,))
# the gradient is not the forward's derivative, so the finite-difference check leaves it out
gradientmultiplier.samples(lambda rng: Sample(_u(rng, 3, 4), scalar=-0.5, grad=False))


# -- allclose -------------------------------------------------------------------------------------
def _allclose_infer(a, b, rtol=1e-5, atol=1e-8, equal_nan=True):
    I.expect(tuple(a.shape) == tuple(b.shape), "_contrib_allclose", "a.shape == b.shape",
             f"{tuple(a.shape)} != {tuple(b.shape)}")
    return I.Spec((1,), np.dtype("uint8"))


allclose = defop(
    "_contrib_allclose", ("a", "b"),
    {"rtol": Float(1e-5), "atol": Float(1e-8), "equal_nan": Bool(True)},
    infer=_allclose_infer, differentiable=False,
    doc="1 (uint8, shape (1,)) when every ``|a - b| <= atol + rtol * |b|`` (a NaN equal to a "
        "NaN with ``equal_nan``), else 0; a and b must have the same shape.")


@allclose.impl
def _(xp, a, b, rtol=1e-5, atol=1e-8, equal_nan=True):
    _allclose_infer(_s(a), _s(b))
    dt = I.result_dtype(_s(a), _s(b))
    dt = dt if dt.kind == "f" else np.dtype("float64")
    a, b = xp.astype(a, dt), xp.astype(b, dt)
    nan_a, nan_b = xp.isnan(a), xp.isnan(b)
    close = (a == b) | (xp.abs(a - b) <= atol + rtol * xp.abs(b))
    ok = xp.where(nan_a | nan_b, (nan_a == nan_b) & equal_nan, close)
    return xp.reshape(xp.astype(xp.all(ok), xp.uint8), (1,))


allclose.samples(
    lambda rng: Sample(np.array([1e10, 1e-8]), np.array([1.00001e10, 1e-9])),
    lambda rng: Sample(np.array([1e10, 1e-7]), np.array([1.00001e10, 1e-8])),
    lambda rng: Sample(np.array([1.0, np.nan]), np.array([1.0, np.nan]), fixed_dtype=True),
    lambda rng: Sample(np.array([1.0, np.nan]), np.array([1.0, np.nan]), equal_nan=False,
                       fixed_dtype=True),
)
