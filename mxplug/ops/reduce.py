"""Reductions over axes. MXNet 1.x has no 0-d arrays: a full reduction returns shape (1,)."""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Axes, Dtype, Int
from .call import F
from .registry import Sample, defop


def _axes(x, axis, exclude):
    nd = x.ndim
    if axis == ():
        axis = None
    axes = I.normalize_axis(axis, nd)
    if exclude and axis is not None:  # no axis (None or ()): every axis, whatever exclude says
        axes = tuple(i for i in range(nd) if i not in axes)
    return axes


def _finish(xp, r, x):
    if r.ndim == 0:
        r = xp.reshape(r, (1,))
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _reduce_infer(name):
    def rule(x, axis=None, keepdims=False, exclude=False, **_):
        return I.Spec(I.reduce_shape(x.shape, axis, keepdims, exclude, name), x.dtype)

    return rule


def _samples(op, positive=False):
    lo = 0.5 if positive else -2
    op.samples(
        lambda rng: Sample(rng.uniform(lo, 2, (3, 4))),
        lambda rng: Sample(rng.uniform(lo, 2, (2, 3, 4)), axis=1),
        lambda rng: Sample(rng.uniform(lo, 2, (2, 3, 4)), axis=(0, 2), keepdims=True),
        lambda rng: Sample(rng.uniform(lo, 2, (2, 3, 4)), axis=-1, exclude=True),
        lambda rng: Sample(rng.uniform(lo, 2, (5,)), axis=0),
    )


def _expand_shape(x, axis, exclude):
    return I.reduce_shape(x.shape, axis, True, exclude)


def _expand(g, x, axis, exclude):
    """``g`` (a reduced result) broadcast back to ``x``'s shape."""
    return F.broadcast_to(F.reshape(g, shape=_expand_shape(x, axis, exclude)), shape=x.shape)


_ONES: dict = {}  # (length, dtype) -> a read-only vector of ones
_MATVEC_MAX = (1 << 18, 4096)  # (elements, reduced length): where the BLAS path was faster


def _matvec_sum(x, axis, exclude, out=None):
    """The sum of a C-contiguous float matrix over one axis as a BLAS matrix-vector product with
    ones, or None when ``x`` is not such a case. A bias gradient (128x256 over axis 0) takes
    2.9 us instead of NumPy's reduce's 5.9 (row sums 3.0 instead of 9.6); past ~256k elements
    the reduce is as fast, and pairwise summation keeps long sums more accurate."""
    if x.ndim != 2 or exclude or x.dtype.kind != "f" or x.dtype.itemsize < 4 or \
            not x.flags.c_contiguous or x.size > _MATVEC_MAX[0]:
        return None
    ax = axis[0] if type(axis) is tuple and len(axis) == 1 else axis
    if ax in (0, -2):
        n = x.shape[0]
    elif ax in (1, -1):
        n = x.shape[1]
    else:
        return None
    if n > _MATVEC_MAX[1]:
        return None
    ones = _ONES.get((n, x.dtype))
    if ones is None:
        ones = _ONES[(n, x.dtype)] = np.ones(n, x.dtype)
        ones.flags.writeable = False
    if ax in (0, -2):
        return np.matmul(ones, x, out=out)
    return np.matmul(x, ones, out=out)


def reduction(name, f, ufunc=None, aliases=(), positive=False, vjp=None, doc="",
              matvec=False):
    """Declare a reduction ``f(xp, x, axes, keepdims)``; ``ufunc`` gives NumPy a fast kernel,
    ``matvec`` (sums) a BLAS one for matrices (:func:`_matvec_sum`)."""
    op = defop(
        name,
        ("data",),
        {"axis": Axes(None), "keepdims": False, "exclude": False},
        infer=_reduce_infer(name),
        aliases=aliases,
        doc=doc or f"``{name}`` over ``axis``.",
    )

    @op.impl
    def _(xp, x, axis=None, keepdims=False, exclude=False):
        return _finish(xp, f(xp, x, _axes(x, axis, exclude), keepdims), x)

    if ufunc is not None:  # ufunc.reduce skips np.sum's Python-level dispatch (~1.5 us)

        reduce = ufunc.reduce

        @op.kernel("numpy", direct=True)
        def _(x, axis=None, keepdims=False, exclude=False):
            if matvec and not keepdims and axis is not None:
                r = _matvec_sum(x, axis, exclude)
                if r is not None:
                    return r
            if axis is None and not exclude:
                r = reduce(x, None, None, None, True)  # positional keepdims: never 0-d
                if not keepdims and r.ndim != 1:
                    r = r.reshape(1)
            else:
                r = ufunc.reduce(x, axis=_axes(x, axis, exclude), keepdims=keepdims)
                if r.ndim == 0:
                    r = r.reshape(1)
            return r if r.dtype == x.dtype else r.astype(x.dtype)

        @op.kernel_out("numpy")
        def _(be, out, x, axis=None, keepdims=False, exclude=False):
            if matvec and axis is not None and _matvec_sum(x, axis, exclude, out.reshape(-1)) \
                    is not None:
                return
            axes = None if axis is None and not exclude else _axes(x, axis, exclude)
            reduce(x, axis=axes, keepdims=True, out=out.reshape(_expand_shape(x, axis, exclude)))

    if vjp is not None:  # vjp(g, out, x, n): g and out broadcast back to x; n elements per output

        @op.vjp
        def _(g, out, x, axis=None, keepdims=False, exclude=False):
            n = x.size // max(math.prod(_expand_shape(x, axis, exclude)), 1)
            return (vjp(_expand(g, x, axis, exclude), _expand(out, x, axis, exclude), x, n),)
    _samples(op, positive)
    return op


sum_ = reduction(
    "sum", lambda xp, x, a, k: xp.sum(x, axis=a, keepdims=k), np.add, aliases=("sum_axis",),
    vjp=lambda g, out, x, n: g, matvec=True,
)
prod = reduction(
    "prod", lambda xp, x, a, k: xp.prod(x, axis=a, keepdims=k), np.multiply, positive=True,
    vjp=lambda g, out, x, n: g * out / x,
)
max_ = reduction(
    "max", lambda xp, x, a, k: xp.max(x, axis=a, keepdims=k), np.maximum, aliases=("max_axis",),
    vjp=lambda g, out, x, n: g * F.equal(x, out),
)
min_ = reduction(
    "min", lambda xp, x, a, k: xp.min(x, axis=a, keepdims=k), np.minimum, aliases=("min_axis",),
    vjp=lambda g, out, x, n: g * F.equal(x, out),
)
mean = reduction("mean", lambda xp, x, a, k: xp.mean(x, axis=a, keepdims=k),
                 vjp=lambda g, out, x, n: g / n)


@mean.kernel("numpy", direct=True)
def _(x, axis=None, keepdims=False, exclude=False):
    # np.mean's own arithmetic (np.add.reduce, then a division) without its Python wrapper
    if x.dtype.kind != "f" or x.dtype == np.float16 or x.size == 0:
        return mean.generic(np, x, axis, keepdims, exclude)
    axes = None if axis is None and not exclude else _axes(x, axis, exclude)
    r = np.add.reduce(x, axis=axes, keepdims=True)
    r /= x.size // r.size
    return r.reshape(I.reduce_shape(x.shape, axis, keepdims, exclude)) if not keepdims else r
nansum = reduction(
    "nansum",
    lambda xp, x, a, k: xp.sum(xp.where(xp.isnan(x), 0, x), axis=a, keepdims=k),
    vjp=lambda g, out, x, n: g * F.logical_not(F.isnan(x)),
    doc="Sum treating NaN as 0.",
)
nanprod = reduction(
    "nanprod",
    lambda xp, x, a, k: xp.prod(xp.where(xp.isnan(x), 1, x), axis=a, keepdims=k),
    positive=True,
    vjp=lambda g, out, x, n: g * out / F.where(F.isnan(x), F.ones_like(x), x)
    * F.logical_not(F.isnan(x)),
    doc="Product treating NaN as 1.",
)
for _op in (nansum, nanprod):
    _op.samples(
        lambda rng: Sample(
            np.array([[1.0, np.nan, 2.0], [np.nan, 3.0, 0.5]]), axis=1, fixed_dtype=True
        )
    )


# -- norm -----------------------------------------------------------------------------------------
def _norm_infer(x, ord=2, axis=None, keepdims=False, out_dtype=None):
    I.expect(ord in (1, 2), "norm", "ord in (1, 2)", f"ord={ord}")
    return I.Spec(
        I.reduce_shape(x.shape, axis, keepdims, op="norm"),
        np.dtype(out_dtype) if out_dtype else x.dtype,
    )


def _norm_defs():
    op = defop(
        "norm",
        ("data",),
        {"ord": Int(2), "axis": Axes(None), "out_dtype": Dtype(None), "keepdims": False},
        infer=_norm_infer,
        doc="The L1 or L2 norm over ``axis`` (all elements by default).",
    )

    @op.impl
    def _(xp, x, ord=2, axis=None, out_dtype=None, keepdims=False):
        axes = I.normalize_axis(None if axis == () else axis, x.ndim, "norm")
        _norm_infer(I.Spec(x.shape, x.dtype), ord)
        r = (
            xp.sum(xp.abs(x), axis=axes, keepdims=keepdims)
            if ord == 1
            else xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdims))
        )
        if r.ndim == 0:
            r = xp.reshape(r, (1,))
        return r.astype(out_dtype) if out_dtype else _finish(xp, r, x)

    @op.vjp
    def _(g, out, x, ord=2, axis=None, out_dtype=None, keepdims=False):
        g, out = _expand(g, x, axis, False), _expand(out, x, axis, False)
        return ((g * F.sign(x)) if ord == 1 else g * x / out,)

    op.samples(
        lambda rng: Sample(rng.uniform(-2, 2, (3, 4))),
        lambda rng: Sample(rng.uniform(-2, 2, (2, 3, 4)), ord=1, axis=(1, 2)),
        lambda rng: Sample(rng.uniform(-2, 2, (2, 3, 4)), axis=1, keepdims=True),
    )
    return op


norm = _norm_defs()


# -- arg-reductions -------------------------------------------------------------------------------
#: The largest index each dtype holds exactly (float16: integers up to 2**11).
_EXACT_INDEX = {np.dtype("float16"): 2 ** 11}


def _arg_dtype(name, shape, dtype, axis):
    """The indices' dtype: data's, as MXNet 1.9.1 (bool: float32). A dtype that cannot hold the
    largest index exactly (int8 past 127, float16 past 2048) is an error here, where MXNet
    returns wrapped or rounded indices."""
    dt = np.dtype(dtype)
    if dt.kind not in "iuf":
        return np.dtype("float32")
    top = np.iinfo(dt).max if dt.kind in "iu" else _EXACT_INDEX.get(dt)
    if top is not None:
        axes = range(len(shape)) if axis is None else I.normalize_axis(axis, len(shape), name)
        n = math.prod(shape[a] for a in axes)
        I.expect(n - 1 <= top, name, f"indices that {dt.name} holds exactly (the indices take "
                 f"data's dtype, as in MXNet): cast the data to a wider type",
                 f"{n} positions to index")
    return dt


def _argred(name, f):
    def infer(x, axis=None, keepdims=False):
        shape = I.reduce_shape(x.shape, axis, keepdims, op=name)
        return I.Spec(shape, _arg_dtype(name, x.shape, x.dtype, axis))

    op = defop(
        name,
        ("data",),
        {"axis": Attr(None, "axes"), "keepdims": False},
        infer=infer,
        differentiable=False,
        doc=f"Indices of the {name[3:]}imum along ``axis`` (the first on ties), in data's "
            f"dtype (MXNet 1.x: float data gives float indices).",
    )

    @op.impl
    def _(xp, x, axis=None, keepdims=False):
        dt = _arg_dtype(name, x.shape, x.dtype, axis)
        if axis is None:
            r = xp.reshape(f(xp, xp.reshape(x, (-1,)), 0, False), (1,))
            if keepdims:
                r = xp.reshape(r, (1,) * x.ndim)
        else:
            r = f(xp, x, I.normalize_axis(axis, x.ndim, name)[0], keepdims)
            if r.ndim == 0:
                r = xp.reshape(r, (1,))
        return r.astype(dt)

    op.samples(
        lambda rng: Sample(rng.permutation(12).reshape(3, 4).astype(float), axis=1),
        lambda rng: Sample(
            rng.permutation(24).reshape(2, 3, 4).astype(float), axis=0, keepdims=True
        ),
        lambda rng: Sample(rng.permutation(12).reshape(3, 4).astype(float)),
    )
    return op


argmax = _argred("argmax", lambda xp, x, a, k: xp.argmax(x, axis=a, keepdims=k))
argmin = _argred("argmin", lambda xp, x, a, k: xp.argmin(x, axis=a, keepdims=k))


# -- cumsum ----------------------------------------------------------------------------------------
def _cumsum_infer(a, axis=None, dtype=None):
    if axis is None:
        shape = (math.prod(a.shape),)
    else:
        I.normalize_axis(axis, a.ndim, "cumsum")
        shape = tuple(a.shape)
    return I.Spec(shape, np.dtype(dtype if dtype is not None else a.dtype))


cumsum = defop("cumsum", ("a",), {"axis": Attr(None, "int"), "dtype": Dtype(None)},
               infer=_cumsum_infer, aliases=("_np_cumsum",),
               doc="Cumulative sum along ``axis`` (None: over the flattened array), accumulated "
                   "in ``dtype``, by default data's (MXNet 1.9.1 keeps an int32 or uint8 "
                   "dtype, though its docstring promises NumPy's widening to int64).")


@cumsum.impl
def _(xp, a, axis=None, dtype=None):
    spec = _cumsum_infer(I.Spec(a.shape, a.dtype), axis, dtype)
    x = xp.reshape(a, (-1,)) if axis is None else a
    ax = 0 if axis is None else I.normalize_axis(axis, a.ndim, "cumsum")[0]
    return xp.cumulative_sum(xp.astype(x, spec.dtype), axis=ax)


@cumsum.vjp
def _(g, out, a, axis=None, dtype=None):
    ax = 0 if axis is None else axis % a.ndim
    back = F.flip(F.cumsum(F.flip(g, axis=ax), axis=ax), axis=ax)   # sums of later positions
    back = F.reshape(back, shape=a.shape) if axis is None else back
    return (F.cast(back, dtype=a.dtype) if back.dtype != a.dtype else back,)


cumsum.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), axis=1),
               lambda rng: Sample(rng.uniform(-1, 1, (2, 3))),
               lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 2)), axis=-3))
