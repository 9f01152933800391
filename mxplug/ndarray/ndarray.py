"""NDArray: a thin handle on a backend array plus its Context (MXNet 1.x semantics)."""

from __future__ import annotations

import math

import numpy as np

from ..base import (
    MXNetError,
    MXNetIndexError,
    MXNetNotImplementedError,
    MXNetTypeError,
    MXNetValueError,
    dtype_of,
)
from ..context import Context, current_context
from ..ops import REGISTRY as _R
from ..ops import apply
from ..ops.dispatch import set_array_type
from ..ops.dispatch import state as _state
from ..ops.indexing import IndexArg, normalize_key

__all__ = ["NDArray", "array", "from_numpy"]

_new = object.__new__
_add, _sub, _mul, _div = _R["add"], _R["subtract"], _R["multiply"], _R["divide"]
_mod, _pow, _neg = _R["modulo"], _R["power"], _R["negative"]
_eq, _ne, _gt, _ge = _R["equal"], _R["not_equal"], _R["greater"], _R["greater_equal"]
_lt, _le = _R["lesser"], _R["lesser_equal"]
_getitem, _reshape, _cast, _copy = _R["getitem"], _R["reshape"], _R["cast"], _R["copy"]


_ALL = slice(None)


class NDArray:
    """An n-dimensional array on a context.

    Create with :func:`mxplug.nd.array` and friends. Arithmetic follows NumPy broadcasting;
    comparisons return 1.0/0.0 in the operands' dtype, as MXNet 1.x does.
    """

    # _ag (autograd bookkeeping) stays unset until autograd needs it: read it with getattr.
    __slots__ = ("_data", "_ctx", "_ag", "__weakref__")
    __array_priority__ = 1000.0  # NumPy operands defer to NDArray's operators

    @classmethod
    def _wrap(cls, data, ctx):
        o = _new(cls)
        o._data = data
        o._ctx = ctx
        return o

    # -- properties ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self._data.shape)

    @property
    def dtype(self):
        """The NumPy scalar type (``numpy.float32``), as MXNet returns it."""
        return np.dtype(self._data.dtype).type

    @property
    def size(self) -> int:
        return math.prod(self._data.shape)

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        return "default"

    @property
    def T(self) -> NDArray:
        return apply(_R["transpose"], self, axes=())

    @property
    def data(self):
        """The backend array (a NumPy array on cpu). Shares memory: treat it as read-only."""
        return self._data

    # -- conversion ---------------------------------------------------------------------------
    def asnumpy(self) -> np.ndarray:
        """A NumPy copy (waits for pending work)."""
        return self._ctx.backend.to_numpy(self._data)

    def asscalar(self):
        """The value of a size-1 array as a NumPy scalar."""
        if self.shape != (1,):
            raise MXNetValueError(
                f"asscalar: the array is not a scalar: shape {self.shape} (expected (1,))"
            )
        return self.asnumpy()[0]

    def item(self):
        """The value of a size-1 array as a Python scalar."""
        if self.size != 1:
            raise MXNetValueError(
                f"item: only size-1 arrays convert to a Python scalar; shape is {self.shape}"
            )
        return self.asnumpy().reshape(-1)[0].item()

    def __array__(self, dtype=None, copy=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def to_dlpack_for_read(self):
        """A DLPack capsule of this array for reading (``mx.nd.to_dlpack_for_read``)."""
        from .dlpack import to_dlpack_for_read
        return to_dlpack_for_read(self)

    def to_dlpack_for_write(self):
        """A DLPack capsule of this array for writing (``mx.nd.to_dlpack_for_write``)."""
        from .dlpack import to_dlpack_for_write
        return to_dlpack_for_write(self)

    def __array_namespace__(self, api_version=None):
        from .. import ndarray

        return ndarray

    def tolist(self):
        return self.asnumpy().tolist()

    def astype(self, dtype, copy=True) -> NDArray:
        dt = dtype_of(dtype)
        if not copy and np.dtype(self._data.dtype) == dt:
            return self
        return apply(_cast, self, dtype=dt.name)

    def copy(self) -> NDArray:
        return apply(_copy, self)

    def tostype(self, stype):
        """MXNet's storage cast: only ``'default'`` (dense) storage exists here; a copy."""
        if stype != "default":
            raise MXNetNotImplementedError(
                f"tostype: storage type {stype!r} is not supported (mxplug arrays are dense)")
        return self.copy()

    def copyto(self, other):
        """Copy into an NDArray (in place) or to a Context (a new array)."""
        if isinstance(other, Context):
            return self.as_in_context(other) if other != self._ctx else self.copy()
        if isinstance(other, NDArray):
            if other is self:
                return self
            if other.shape != self.shape:
                raise MXNetValueError(
                    f"copyto: shape mismatch: source {self.shape}, target {other.shape}"
                )
            other[...] = self
            return other
        raise MXNetTypeError(f"copyto: expected an NDArray or Context, got {type(other).__name__}")

    def as_in_context(self, context: Context) -> NDArray:
        """This array on ``context``: itself when already there, else a copy."""
        context = Context(context)
        if context is self._ctx:
            return self
        src, dst = self._ctx.backend, context.backend
        return NDArray._wrap(src.copy_to(self._data, dst, context.device_id), context)

    as_in_ctx = as_in_context

    def wait_to_read(self):
        self._ctx.backend.synchronize(self._ctx.device_id)

    wait_to_write = wait_to_read

    # -- shape --------------------------------------------------------------------------------
    def reshape(self, *shape, **kwargs) -> NDArray:
        """Reshape; accepts MXNet's special values 0, -1, -2, -3, -4 and ``reverse=True``."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        shape = kwargs.pop("shape", shape)
        reverse = kwargs.pop("reverse", False)
        if kwargs:
            raise MXNetTypeError(f"reshape: unknown arguments {sorted(kwargs)}")
        return apply(_reshape, self, shape=tuple(int(s) for s in shape), reverse=bool(reverse))

    def reshape_like(self, rhs=None, **kwargs) -> NDArray:
        """This array's data in ``rhs``'s shape (a new array, as MXNet's op gives)."""
        return apply(_R["reshape_like"], self, kwargs.pop("other", rhs), **kwargs)

    def flatten(self, inplace=False) -> NDArray:
        """(N, prod(rest)); ``inplace=True`` returns a view sharing this array's memory, as
        MXNet's does."""
        if inplace:
            return self.reshape((self.shape[0] if self.ndim else 1, -1))
        return apply(_R["Flatten"], self)

    def expand_dims(self, axis, inplace=False) -> NDArray:
        """A new axis of length 1 at ``axis``; ``inplace=True`` returns a view, as MXNet's."""
        out = apply(_R["expand_dims"], self, axis=axis)
        return self.reshape(out.shape) if inplace else out

    def squeeze(self, axis=None, inplace=False) -> NDArray:
        """Drop axes of length 1 (all of them, or ``axis``); ``inplace=True`` returns a view
        sharing this array's memory, as MXNet's does."""
        out = apply(_R["squeeze"], self, axis=axis)
        return self.reshape(out.shape) if inplace else out

    def __len__(self):
        if not self._data.shape:
            raise TypeError("len() of a 0-d array")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.size == 0:  # MXNet: an empty array is False
            return False
        if self.size != 1:
            raise MXNetValueError(
                f"the truth value of an NDArray with {self.size} elements is ambiguous"
            )
        return bool(self.item())

    __hash__ = object.__hash__

    # -- indexing -----------------------------------------------------------------------------
    def __getitem__(self, key) -> NDArray:
        if (
            type(key) is int
            and self._data.ndim > 1
            and -self._data.shape[0] <= key < self._data.shape[0]
        ):
            return apply(_getitem, self, key=(key,))
        static, idx = normalize_key(key, _is_nd, self._as_index)
        return apply(_getitem, self, *idx, key=static)

    def _as_index(self, np_index):
        return NDArray._wrap(
            self._ctx.backend.asarray(np_index, np_index.dtype, self._ctx.device_id), self._ctx
        )

    def __setitem__(self, key, value):
        hook = _state.hook
        if hook is not None and getattr(hook, "check_setitem", None) is not None:
            hook.check_setitem(self, value)  # autograd refuses writes that would break gradients
        if (key is Ellipsis or type(key) is slice and key == _ALL) and type(value) is NDArray \
                and value._ctx is self._ctx and value._data.shape == self._data.shape:
            self._ctx.backend.setitem(self._data, key, value._data)  # x[:] = y: the hot case
            return
        static, idx = normalize_key(key, _is_nd, self._as_index)
        raw = tuple(_raw_index(idx[k], self._ctx) if isinstance(k, IndexArg) else k for k in static)
        if isinstance(value, NDArray):
            value = value.as_in_context(self._ctx)._data
        else:
            if isinstance(value, (list, tuple)):
                value = np.asarray(value)
            if isinstance(value, np.ndarray):
                value = self._ctx.backend.asarray(value, self._data.dtype, self._ctx.device_id)
            elif not isinstance(value, (int, float, bool, np.generic)):
                raise MXNetTypeError(f"setitem: cannot assign a {type(value).__name__}; use an "
                                     f"NDArray, a NumPy array, a list or a number")
        where = raw if len(raw) != 1 else raw[0]
        try:
            self._ctx.backend.setitem(self._data, where, value)
        except IndexError as e:
            raise MXNetIndexError(f"setitem: {e} (array shape {self.shape}, key {key!r})") from None
        except ValueError as e:
            # MXNet takes a value of as many elements in another shape (b[0] = [47.8])
            target = getattr(self._data[where], "shape", ())
            if getattr(value, "size", None) != math.prod(target):
                raise MXNetValueError(f"setitem: {e} (array shape {self.shape}, key {key!r})") \
                    from None
            self._ctx.backend.setitem(self._data, where, value.reshape(target))

    # -- operators ----------------------------------------------------------------------------
    def __add__(self, o):
        return apply(_add, self, o)

    def __radd__(self, o):
        return apply(_add, o, self)

    def __sub__(self, o):
        return apply(_sub, self, o)

    def __rsub__(self, o):
        return apply(_sub, o, self)

    def __mul__(self, o):
        return apply(_mul, self, o)

    def __rmul__(self, o):
        return apply(_mul, o, self)

    def __truediv__(self, o):
        return apply(_div, self, o)

    def __rtruediv__(self, o):
        return apply(_div, o, self)

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __floordiv__(self, o):
        return apply(_R["floor"], apply(_div, self, o))

    def __mod__(self, o):
        return apply(_mod, self, o)

    def __rmod__(self, o):
        return apply(_mod, o, self)

    def __pow__(self, o):
        return apply(_pow, self, o)

    def __rpow__(self, o):
        return apply(_pow, o, self)

    def __matmul__(self, o):
        return apply(_R["matmul"], self, o)

    def __neg__(self):
        return apply(_neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return apply(_R["abs"], self)

    def __eq__(self, o):
        return apply(_eq, self, o) if _is_operand(o) else NotImplemented

    def __ne__(self, o):
        return apply(_ne, self, o) if _is_operand(o) else NotImplemented

    def __gt__(self, o):
        return apply(_gt, self, o)

    def __ge__(self, o):
        return apply(_ge, self, o)

    def __lt__(self, o):
        return apply(_lt, self, o)

    def __le__(self, o):
        return apply(_le, self, o)

    def _inplace(self, op, o):
        """MXNet's in-place operators write into this array's memory (views see the change)."""
        res = apply(op, self, o)
        self[...] = res
        return self

    def __iadd__(self, o):
        return self._inplace(_add, o)

    def __isub__(self, o):
        return self._inplace(_sub, o)

    def __imul__(self, o):
        return self._inplace(_mul, o)

    def __itruediv__(self, o):
        return self._inplace(_div, o)

    def __imod__(self, o):
        return self._inplace(_mod, o)

    def __ipow__(self, o):
        return self._inplace(_pow, o)

    # -- printing -----------------------------------------------------------------------------
    def __repr__(self):
        shape = "x".join(str(s) for s in self.shape)
        return f"\n{self.asnumpy()}\n<NDArray {shape} @{self._ctx}>"

    def __str__(self):
        return self.__repr__()

    def __reduce__(self):
        return (_unpickle, (self.asnumpy(), self._ctx))


def _unpickle(a, ctx):
    return array(a, ctx=ctx, dtype=a.dtype)


def _raw_index(a, ctx):
    raw = a.as_in_context(ctx)._data
    return raw.astype(np.int64) if np.dtype(raw.dtype).kind == "f" else raw


def _is_nd(k):
    return isinstance(k, NDArray)


def _is_operand(o):
    return isinstance(o, (NDArray, int, float, np.generic))


def array(source_array, ctx=None, dtype=None) -> NDArray:
    """A new NDArray holding a copy of ``source_array``.

    The dtype is ``dtype``, else the source's when it is an NDArray, else float32 (MXNet 1.x:
    also for NumPy float64 sources)."""
    if isinstance(source_array, NDArray):
        dt = dtype_of(dtype or np.dtype(source_array._data.dtype))
        ctx = Context(ctx) if ctx is not None else source_array._ctx
        src = source_array.as_in_context(ctx)
        return src.astype(dt) if np.dtype(src._data.dtype) != dt else src.copy()
    dt = dtype_of(dtype)
    ctx = Context(ctx) if ctx is not None else current_context()
    try:
        host = np.asarray(source_array)
    except (ValueError, TypeError) as e:
        raise MXNetTypeError(
            f"array: cannot make an array from {type(source_array).__name__}: {e}"
        ) from None
    if host.dtype == object:
        raise MXNetTypeError(
            f"array: source is not a rectangular array of numbers ({type(source_array).__name__})"
        )
    if host.ndim == 0:
        host = host.reshape(1)  # MXNet 1.x has no 0-d arrays
    be = ctx.backend
    if dt.name not in be.dtypes:
        raise MXNetTypeError(f"array: backend {be.name!r} ({ctx}) has no {dt.name}; it supports "
                             f"{', '.join(be.dtypes)}")
    return NDArray._wrap(be.asarray(host, dt, ctx.device_id), ctx)


def from_numpy(ndarray, zero_copy=True) -> NDArray:
    """An NDArray on cpu with ``ndarray``'s data. With ``zero_copy`` (C-contiguous arrays only)
    it shares the memory and, as MXNet does, makes the NumPy array read-only, so that the
    array can no longer change under the NDArray; otherwise it copies."""
    dtype_of(ndarray.dtype)
    if not zero_copy:
        return NDArray._wrap(np.array(ndarray, copy=True, order="C"), Context("cpu", 0))
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise MXNetValueError("from_numpy: only C-contiguous arrays are supported for "
                              "zero-copy (pass zero_copy=False, or np.ascontiguousarray first)")
    shared = ndarray.view()  # stays writeable for the NDArray; the caller's array does not
    ndarray.flags["WRITEABLE"] = False
    return NDArray._wrap(shared, Context("cpu", 0))


def _wrap_host(a) -> NDArray:
    """A NumPy array that mxplug itself made (a decoded image, a batch) as a cpu NDArray:
    without a copy when it is C-contiguous, and without :func:`from_numpy`'s read-only
    marking (nobody else holds it)."""
    a = np.ascontiguousarray(a)
    dtype_of(a.dtype)
    return NDArray._wrap(a, Context("cpu", 0))


#: DLPack device types that are CUDA device memory (kDLCUDA, kDLCUDAManaged).
_DLPACK_CUDA = (2, 13)


def from_dlpack(obj, ctx=None) -> NDArray:
    """An NDArray sharing memory with a DLPack producer (NumPy, CuPy, PyTorch, ...) or a DLPack
    capsule (``to_dlpack_for_read`` and the like); on the producer's device unless ``ctx`` says
    otherwise (a CUDA tensor gives ``gpu(i)``)."""
    from .dlpack import as_producer

    obj = as_producer(obj)
    if ctx is None:
        kind, dev = getattr(obj, "__dlpack_device__", lambda: (1, 0))()
        ctx = Context("gpu", int(dev)) if int(kind) in _DLPACK_CUDA else current_context()
    ctx = Context(ctx)
    be = ctx.backend
    conv = getattr(be, "from_dlpack", None)
    if conv is None:
        raise MXNetError(f"from_dlpack: backend {be.name!r} cannot import DLPack tensors")
    return NDArray._wrap(conv(obj, ctx.device_id), ctx)


set_array_type(NDArray)
