"""Shape/dtype rules shared by many ops. A rule maps input ``Spec``s (or Python scalars) and the
op's attributes to the output ``Spec`` (or a tuple of them); it raises ``MXNetValueError`` with a
Chainer-style "Expect / Actual" message when the inputs cannot work."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import MXNetValueError, dtype_of, is_float

__all__ = [
    "Spec",
    "spec",
    "same",
    "same_as",
    "broadcast_shapes",
    "binary",
    "compare",
    "reduce_shape",
    "normalize_axis",
    "expect",
]


class Spec(NamedTuple):
    """The static description of an array: shape and dtype."""

    shape: tuple
    dtype: np.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)


def spec(shape, dtype) -> Spec:
    return Spec(tuple(int(s) for s in shape), np.dtype(dtype))


def expect(cond: bool, op: str, what: str, actual: str) -> None:
    """Raise ``op: Expect: what / Actual: actual`` unless ``cond``."""
    if not cond:
        raise MXNetValueError(f"{op}: Expect: {what} / Actual: {actual}")


def expect_float(x, op: str, name: str = "data", why: str = "") -> None:
    """``x`` (an array or Spec) of a floating-point dtype, as MXNet's float-only kernels want
    (``why``, when given, is said after what is expected)."""
    dt = np.dtype(x.dtype)
    expect(is_float(dt), op, f"a floating-point {name}{f' ({why})' if why else ''}",
           f"{name}.dtype={dt.name}")


def expect_output_grad(g, out, op: str, forward: str) -> None:
    """A backward op's check that its incoming gradient ``g`` has the shape of ``forward``'s
    output ``out``."""
    expect(tuple(g.shape) == tuple(out.shape), op,
           f"grad of {forward}'s output shape {tuple(out.shape)}", f"{tuple(g.shape)}")


def same(x, **attrs) -> Spec:
    """Output like the (first) input."""
    return x


def same_as(dtype):
    """Rule factory: input shape, fixed output dtype."""
    dt = np.dtype(dtype)
    return lambda x, **attrs: Spec(x.shape, dt)


def _dtype_of_operand(x):
    return x.dtype if isinstance(x, Spec) else None


def broadcast_shapes(op: str, *shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise MXNetValueError(
            f"{op}: Expect: shapes that broadcast / Actual: "
            f"{' vs '.join(str(tuple(s)) for s in shapes)}"
        ) from None


def result_dtype(*operands) -> np.dtype:
    """NumPy 2 promotion, where Python scalars take the array's dtype (NEP 50)."""
    dts = [o.dtype for o in operands if isinstance(o, Spec)]
    if not dts:
        return dtype_of(None)
    if len(dts) == 1:
        return dts[0]
    return np.result_type(*dts)


def binary(opname):
    """Rule factory for broadcasting binary ops (either side may be a Python scalar)."""

    def rule(a, b, **attrs):
        shapes = [o.shape for o in (a, b) if isinstance(o, Spec)]
        return Spec(
            broadcast_shapes(opname, *shapes) if len(shapes) > 1 else shapes[0], result_dtype(a, b)
        )

    return rule


compare = binary  # MXNet comparisons return the operands' dtype (1.0 / 0.0), not bool


def normalize_axis(axis, ndim, op="op"):
    """Canonical non-negative axis tuple (``None`` -> all axes)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise MXNetValueError(f"{op}: Expect: -{ndim} <= axis < {ndim} / Actual: axis={a}")
        out.append(a % max(ndim, 1))
    return tuple(out)


def reduce_shape(shape, axis, keepdims, exclude=False, op="op") -> tuple:
    """The shape after reducing ``axis`` (a full reduction gives (1,): MXNet 1.x has no 0-d)."""
    if axis == ():  # MXNet's reductions: an empty axis tuple is every axis, as None is
        axis = None
    axes = normalize_axis(axis, len(shape), op)
    if exclude and axis is not None:  # no axis: every axis, whatever exclude says (MXNet)
        axes = tuple(i for i in range(len(shape)) if i not in axes)
    if keepdims:
        out = tuple(1 if i in axes else s for i, s in enumerate(shape))
    else:
        out = tuple(s for i, s in enumerate(shape) if i not in axes)
    return out or (1,)
