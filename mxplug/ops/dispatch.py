"""``apply``: the single entry point of every op, and the hot path.

Tracing (the graph layer) and recording (autograd) plug in through ``state.hook``, a per-thread
callable ``hook(op, args, attrs)`` that those layers install; this module imports neither. The
array type that wraps results is registered by ``mxplug.ndarray`` (``set_array_type``).
"""

from __future__ import annotations

import threading

import numpy as np

from ..base import (
    MXNetError,
    MXNetIndexError,
    MXNetNotImplementedError,
    MXNetTypeError,
    MXNetValueError,
)
from ..context import current_context
from .registry import COMPOSE

__all__ = ["apply", "apply_into", "eager", "state", "set_array_type"]


class _State(threading.local):
    hook = None  # tracing/recording interceptor, or None for plain eager execution
    training = False  # autograd.train_mode(): ops such as Dropout and BatchNorm read it

    def set_hook(self, hook):
        """Install (or with None remove) this thread's hook; returns the previous one."""
        global _hooks_installed
        prev, self.hook = self.hook, hook
        if hook is not None:
            _hooks_installed = True  # from now on apply reads the thread-local slot
        return prev


state = _State()


def building_graph() -> bool:
    """Whether this thread's hook builds a graph instead of computing (the graph layer's
    tracing marks its hook ``builds_graph``): random front ends then leave the generator alone,
    since the graph draws a fresh state on every run."""
    return _hooks_installed and getattr(state.hook, "builds_graph", False)
#: False until any thread installs a hook: lets apply skip the thread-local read (~60 ns).
_hooks_installed = False
_Array = None  # mxplug.ndarray.NDArray, registered from above
_new = object.__new__


def set_array_type(cls) -> None:
    global _Array
    _Array = cls


def apply(op, *args, **attrs):
    """Run ``op`` on ``args`` (NDArrays or Python scalars) with complete, parsed ``attrs``."""
    if _hooks_installed:
        hook = state.hook
        if hook is not None:
            return hook(op, args, attrs)
    # Fast path (the common case, and the one the per-op overhead target measures): one or two
    # NDArray inputs on one context. Everything else takes the general path in `eager`.
    Arr = _Array
    n = len(args)
    if n == 2:
        x, y = args
        if type(x) is not Arr:
            return eager(op, args, attrs)
        ty = type(y)
        if ty is Arr and y._ctx is x._ctx:
            raw = (x._data, y._data)
        elif ty is int:
            raw = (x._data, y)
        elif ty is float:
            d = x._data
            raw = (d, y if d.dtype.kind == "f" else scalar_operand(y, d.dtype))
        else:
            return eager(op, args, attrs)
    elif n == 1 and type(args[0]) is Arr:
        x = args[0]
        raw = (x._data,)
    else:
        return eager(op, args, attrs)
    # The rest repeats the tail of `eager` on purpose: a shared helper would cost one more
    # Python call (~70 ns, 6% of a 16-element add) on every op.
    ctx = x._ctx
    be = ctx._backend or ctx.backend
    fn = op._resolved.get(be) or op.resolve(be)
    if fn is COMPOSE:
        return op.composite(*args, **attrs)
    try:
        out = fn(*raw, **attrs)
    except MXNetError:
        raise
    except Exception as e:
        raise op_error(op, args, e) from e
    if type(out) is tuple:
        return tuple(Arr._wrap(o, ctx) for o in out)
    o = _new(Arr)  # NDArray._wrap, inlined: this is the hottest line
    o._data = out
    o._ctx = ctx
    return o


def apply_into(op, out, *args, **attrs):
    """``out[...] = apply(op, *args, **attrs)``, returning ``out``.

    Without a temporary when ``op`` has an out-kernel for ``out``'s backend, nothing traces or
    records, and every array argument is on ``out``'s context with ``out``'s shape and dtype
    (:meth:`Op.kernel_out`'s contract). ``out`` may be a list of NDArrays, one per output of a
    multi-output op (``multi_sgd_update(..., out=weights)``), whose out-kernel then takes them
    as a tuple of raw arrays."""
    if isinstance(out, (list, tuple)):
        return _apply_into_many(op, out, args, attrs)
    be = out._ctx._backend or out._ctx.backend
    fn = op.out_kernels.get(be.name) if op.out_kernels else None
    if fn is not None and not (_hooks_installed and state.hook is not None):
        raw = []
        for a in args:
            if type(a) is _Array:
                d = a._data
                if a._ctx is not out._ctx or d.shape != out._data.shape or \
                        d.dtype != out._data.dtype:
                    break
                raw.append(d)
            else:
                raw.append(a)
        else:
            try:
                fn(be, out._data, *raw, **attrs)
            except MXNetError:
                raise
            except Exception as e:
                raise op_error(op, args, e) from e
            return out
    out[...] = apply(op, *args, **attrs)
    return out


def _apply_into_many(op, outs, args, attrs):
    """:func:`apply_into` for a list of outputs (every array on one context)."""
    if not outs or not all(type(o) is _Array for o in outs):
        raise MXNetTypeError(f"{op.name}: out must be NDArrays (one per output), got "
                             f"{[type(o).__name__ for o in outs]}")
    ctx = outs[0]._ctx
    be = ctx._backend or ctx.backend
    fn = op.out_kernels.get(be.name) if op.out_kernels else None
    arrays_here = all(type(a) is not _Array or a._ctx is ctx for a in args) and all(
        o._ctx is ctx for o in outs)
    if fn is not None and arrays_here and not (_hooks_installed and state.hook is not None):
        raw = [a._data if type(a) is _Array else a for a in args]
        try:
            fn(be, tuple(o._data for o in outs), *raw, **attrs)
        except MXNetError:
            raise
        except Exception as e:
            raise op_error(op, args, e) from e
        return outs
    res = apply(op, *args, **attrs)
    res = res if type(res) is tuple else (res,)
    if len(res) != len(outs):
        raise MXNetValueError(f"{op.name}: {len(res)} outputs but out has {len(outs)} arrays")
    for o, r in zip(outs, res):
        o[...] = r
    return outs


def eager(op, args, attrs):
    """Execute ``op`` now on the common backend of its NDArray inputs (the general path)."""
    Arr = _Array
    ctx = first = None
    raw = []
    scalars = False
    for a in args:
        if isinstance(a, Arr):
            if ctx is None:
                ctx, first = a._ctx, a._data
            elif a._ctx is not ctx:
                _raise_mixed(op, args)
            raw.append(a._data)
        else:
            raw.append(a)
            scalars = True
    if ctx is None:  # creation ops and scalar-only calls: the ctx attribute or the default
        ctx = attrs.get("ctx") or current_context()
    elif scalars:
        raw = [scalar_operand(r, first.dtype) if isinstance(r, _SCALAR_TYPES) else r for r in raw]
    be = ctx._backend or ctx.backend
    fn = op._resolved.get(be) or op.resolve(be)
    if fn is COMPOSE:
        return op.composite(*args, **attrs)
    try:
        out = fn(*raw, **attrs)
    except MXNetError:
        raise
    except Exception as e:
        raise op_error(op, args, e) from e
    if type(out) is tuple:
        return tuple(Arr._wrap(o, ctx) for o in out)
    return Arr._wrap(out, ctx)


_SCALAR_TYPES = (int, float, np.generic)


def scalar_operand(v, dtype):
    """A scalar operand as MXNet's scalar ops see it: in the array's dtype, so a NumPy scalar
    never widens the result and a float meets an int array as a (truncated) int."""
    if isinstance(v, np.generic):
        v = v.item()
    kind = np.dtype(dtype).kind
    if type(v) is float and kind in "iu":
        return int(v)
    if kind == "V":  # bfloat16 (ml_dtypes): a Python float would promote the result to float32
        return np.dtype(dtype).type(v)
    return v


def describe(args) -> str:
    """``float32(2, 3) @cpu(0), 2.0`` — how errors name their inputs."""
    parts = []
    for a in args:
        if isinstance(a, _Array):
            parts.append(f"{np.dtype(a._data.dtype).name}{tuple(a.shape)} @{a._ctx}")
        elif isinstance(a, (list, tuple)):
            parts.append("[" + describe(a) + "]")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


_ERROR_TYPES = (
    (IndexError, MXNetIndexError),
    (TypeError, MXNetTypeError),
    (ValueError, MXNetValueError),
    (NotImplementedError, MXNetNotImplementedError),
)


def op_error(op, args, exc: Exception) -> MXNetError:
    """Re-raise a backend's exception as an MXNetError naming the op and its inputs."""
    cls = next((m for b, m in _ERROR_TYPES if isinstance(exc, b)), MXNetError)
    return cls(f"{op.name}: {exc} (inputs: {describe(args)})")


def _raise_mixed(op, args):
    ctxs = sorted({str(a._ctx) for a in args if isinstance(a, _Array)})
    raise MXNetValueError(
        f"{op.name}: inputs are on different contexts ({' and '.join(ctxs)}); "
        f"copy them to one context first with .as_in_context(ctx) "
        f"(inputs: {describe(args)})"
    )
