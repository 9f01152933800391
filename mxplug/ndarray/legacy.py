"""MXNet 1.x's Python-level NDArray helpers that are not ops: ``moveaxis``, ``concatenate``
(deprecated there in favour of ``concat``) and ``onehot_encode`` (of ``one_hot``)."""

from __future__ import annotations

from ..base import MXNetValueError

__all__ = ["moveaxis", "concatenate", "onehot_encode"]


def _axes(value, ndim, what):
    axes = [value] if isinstance(value, int) else list(value)
    for a in axes:
        if not -ndim <= a < ndim:
            raise MXNetValueError(f"moveaxis: Expect: {what} axes in [-{ndim}, {ndim}) / "
                                  f"Actual: {what}={value!r}")
    return [a % ndim for a in axes]


def moveaxis(tensor, source, destination):
    """``tensor`` with axes ``source`` moved to ``destination`` (ints or sequences of them, as
    NumPy's ``moveaxis``); the other axes keep their order. A transposed copy."""
    from . import transpose  # noqa: PLC0415  (the generated op front end)

    ndim = tensor.ndim
    src, dst = _axes(source, ndim, "source"), _axes(destination, ndim, "destination")
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise MXNetValueError(f"moveaxis: Expect: as many distinct source as destination axes "
                              f"/ Actual: source={source!r}, destination={destination!r}")
    order = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(tensor, axes=tuple(order))


def concatenate(arrays, axis=0, always_copy=True):
    """``concat`` of ``arrays`` along ``axis``; one array comes back as it is unless
    ``always_copy``."""
    from . import concat  # noqa: PLC0415

    arrays = list(arrays)
    if not arrays:
        raise MXNetValueError("concatenate: Expect: at least one array / Actual: none")
    if len(arrays) == 1 and not always_copy:
        return arrays[0]
    return concat(*arrays, dim=axis)


def onehot_encode(indices, out):
    """Write the one-hot rows of ``indices`` (N,) into ``out`` (N, depth) and return ``out``."""
    from . import one_hot  # noqa: PLC0415

    if out.ndim != 2 or indices.shape != out.shape[:1]:
        raise MXNetValueError(f"onehot_encode: Expect: indices (N,) and out (N, depth) / "
                              f"Actual: indices.shape={indices.shape}, out.shape={out.shape}")
    out[:] = one_hot(indices, depth=out.shape[1], dtype=out.dtype)
    return out
