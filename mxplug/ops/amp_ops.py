"""Mixed-precision ops: ``amp_cast``, ``amp_multicast`` (the casts ``mx.contrib.amp`` inserts) and
``all_finite`` / ``multi_all_finite`` (its dynamic loss scaler's overflow check).

As in MXNet 1.x the casts touch only the float types mixed precision moves between (float16,
bfloat16, float32); any other input (integers, float64) passes through unchanged. Their gradient
is cast back to the input's dtype, so float32 parameters get float32 gradients.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetValueError, dtype_of
from . import infer as I
from .attrs import Bool, Dtype, Int
from .call import F
from .registry import Sample, defop

__all__ = ["amp_cast", "amp_multicast", "all_finite", "multi_all_finite", "AMP_FLOATS"]

#: The dtypes the AMP casts convert between; everything else is left as it is.
AMP_FLOATS = frozenset(("float16", "bfloat16", "float32"))


def _castable(dtype) -> bool:
    return np.dtype(dtype).name in AMP_FLOATS


# -- amp_cast --------------------------------------------------------------------------------------
def _amp_cast_infer(x, dtype=None):
    if dtype is None:
        raise MXNetValueError("amp_cast: the dtype attribute is required")
    return I.Spec(x.shape, dtype_of(dtype)) if _castable(x.dtype) else x


amp_cast = defop(
    "amp_cast", ("data",), {"dtype": Dtype(None)}, infer=_amp_cast_infer,
    doc="Cast between float16/bfloat16 and float32 (mixed precision); other dtypes pass "
        "through unchanged. The gradient is cast back to the input's dtype.")


amp_cast.dtype_rule = lambda dts, attrs: (
    dtype_of(attrs["dtype"]) if _castable(dts[0]) else dts[0],)


@amp_cast.impl
def _(xp, x, dtype=None):
    # always a new array: an output that aliased its input would let writes leak through
    return x.astype(_amp_cast_infer(I.Spec(x.shape, x.dtype), dtype).dtype)


@amp_cast.vjp
def _(g, out, x, dtype=None):
    if not _castable(x.dtype):
        return (g,)
    return (F.amp_cast(g, dtype=np.dtype(x.dtype).name),)


# float16 outputs only in the second sample: the first runs on every backend (graph checks
# take sample 0), including those without float16
amp_cast.samples(
    lambda rng: Sample(rng.uniform(-3, 3, (2, 5)), dtype="float32"),
    lambda rng: Sample(rng.uniform(-3, 3, (3, 4)), dtype="float16"),
    lambda rng: Sample(rng.integers(-5, 5, (4,)).astype(np.int32), dtype="float16",
                       fixed_dtype=True, grad=False),
)


# -- amp_multicast ---------------------------------------------------------------------------------
def _common_float(dtypes, cast_narrow):
    """The dtype every castable input goes to: the widest of them (float32 when float16 meets
    bfloat16, since neither holds the other), or with ``cast_narrow`` the narrowest."""
    names = {np.dtype(d).name for d in dtypes if _castable(d)}
    if not names:
        return None
    low = names - {"float32"}
    if cast_narrow:
        if not low:
            return dtype_of("float32")
        return dtype_of("float16" if "float16" in low else "bfloat16")
    if "float32" in names or len(low) > 1:
        return dtype_of("float32")
    return dtype_of(low.pop())


def _amp_multicast_infer(*xs, num_outputs=0, cast_narrow=False):
    I.expect(num_outputs == len(xs), "amp_multicast", f"num_outputs == number of inputs "
             f"({len(xs)})", f"num_outputs={num_outputs}")
    to = _common_float([x.dtype for x in xs], cast_narrow)
    out = tuple(I.Spec(x.shape, to) if _castable(x.dtype) else x for x in xs)
    return out if len(out) > 1 else out[0]


amp_multicast = defop(
    "amp_multicast", ("data",), {"num_outputs": Int(0), "cast_narrow": Bool(False)},
    infer=_amp_multicast_infer, variadic=True,
    doc="Cast the float16/bfloat16/float32 inputs to the widest of their dtypes (the narrowest "
        "with ``cast_narrow=True``); other inputs pass through. ``num_outputs`` must equal the "
        "number of inputs. Gradients are cast back to each input's dtype.")
amp_multicast.nout = lambda attrs: attrs.get("num_outputs") or 1


@amp_multicast.impl
def _(xp, *xs, num_outputs=0, cast_narrow=False):
    specs = _amp_multicast_infer(*(I.Spec(x.shape, x.dtype) for x in xs),
                                 num_outputs=num_outputs, cast_narrow=cast_narrow)
    specs = specs if isinstance(specs, tuple) and not isinstance(specs, I.Spec) else (specs,)
    res = tuple(x.astype(s.dtype) for x, s in zip(xs, specs))
    return res if len(res) > 1 else res[0]


@amp_multicast.vjp
def _(g, out, *xs, num_outputs=0, cast_narrow=False):
    gs = g if isinstance(g, tuple) else (g,)
    return tuple(F.amp_cast(gi, dtype=np.dtype(x.dtype).name) if _castable(x.dtype) else gi
                 for gi, x in zip(gs, xs))


amp_multicast.samples(
    lambda rng: Sample(rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (3,)), num_outputs=2),
    lambda rng: Sample(rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (4,)),
                       rng.uniform(-2, 2, (1,)), num_outputs=3, cast_narrow=True),
    lambda rng: Sample(rng.uniform(-2, 2, (2, 2)).astype(np.float32),
                       rng.integers(0, 4, (2,)).astype(np.int32), num_outputs=2,
                       fixed_dtype=True, grad=False),
)


# -- overflow checks -------------------------------------------------------------------------------
def _all_finite_infer(x, init_output=True):
    return I.Spec((1,), np.dtype(np.float32))


all_finite = defop(
    "all_finite", ("data",), {"init_output": Bool(True)}, infer=_all_finite_infer,
    differentiable=False,
    doc="1.0 (float32, shape (1,)) when every element is finite, else 0.0.")


@all_finite.impl
def _(xp, x, init_output=True):
    return xp.reshape(xp.astype(xp.all(xp.isfinite(x)), xp.float32), (1,))


all_finite.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), grad=False),
    lambda rng: Sample(np.array([1.0, np.inf, 2.0]), grad=False),
)


def _multi_all_finite_infer(*xs, num_arrays=1, init_output=True):
    I.expect(num_arrays == len(xs), "multi_all_finite",
             f"num_arrays == number of inputs ({len(xs)})", f"num_arrays={num_arrays}")
    return I.Spec((1,), np.dtype(np.float32))


multi_all_finite = defop(
    "multi_all_finite", ("data",), {"num_arrays": Int(1), "init_output": Bool(True)},
    infer=_multi_all_finite_infer, variadic=True, differentiable=False,
    doc="1.0 (float32, shape (1,)) when every element of every input is finite, else 0.0.")


@multi_all_finite.impl
def _(xp, *xs, num_arrays=1, init_output=True):
    ok = xp.all(xp.isfinite(xs[0]))
    for x in xs[1:]:
        ok = xp.logical_and(ok, xp.all(xp.isfinite(x)))
    return xp.reshape(xp.astype(ok, xp.float32), (1,))


multi_all_finite.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (4,)), num_arrays=2,
                       grad=False),
    lambda rng: Sample(rng.uniform(-1, 1, (2,)), np.array([np.nan, 1.0]), num_arrays=2,
                       grad=False),
)
