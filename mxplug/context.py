"""Device contexts: ``mx.cpu()``, ``mx.gpu(i)``, ``mx.opencl(i)`` and the thread-local default."""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np

from .base import MXNetValueError

__all__ = ["Context", "cpu", "gpu", "opencl", "cpu_pinned", "current_context", "num_gpus"]

_local = threading.local()
#: MXNet's other kinds of host memory; arrays there are ordinary NumPy arrays, so ``cpu``.
_HOST_ALIASES = ("cpu_pinned", "cpu_shared")


class _hooks:
    """Filled in by ``mxplug.backends.registry`` (the floor above): this module imports nothing."""

    @staticmethod
    def check_device_type(device_type):
        pass

    backend_for = num_devices = None


class _ContextMeta(type):
    """Gives the class MXNet's deprecated ``Context.default_ctx`` property (get and set)."""

    _DEPRECATED = ("Context.default_ctx has been deprecated. Please use "
                   "mx.context.current_context() instead, and test_utils.set_default_context to "
                   "set a default context")

    @property
    def default_ctx(cls):
        warnings.warn(cls._DEPRECATED, DeprecationWarning, stacklevel=2)
        return current_context()

    @default_ctx.setter
    def default_ctx(cls, value):
        warnings.warn(cls._DEPRECATED, DeprecationWarning, stacklevel=2)
        _stack()[-1] = Context(value)


class Context(metaclass=_ContextMeta):
    """A device: a device type served by one backend plugin, and a device id.

    ``Context("opencl", 0)`` is the first OpenCL device. Instances are interned, so two equal
    contexts are the same object. ``with ctx:`` makes ``ctx`` the default of the current thread.
    """

    __slots__ = ("device_type", "device_id", "_backend", "__weakref__")
    _interned: dict = {}
    #: MXNet's numeric device type ids (``device_typeid``); plugins get ids from 16 up.
    devtype2id = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5, "opencl": 10}
    #: MXNet's names for them (``Context.devtype2str[ctx.device_typeid]``), and back; built-in
    #: types only, as in MXNet (a plugin's type is in ``devtype2id`` once registered).
    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared", 10: "opencl"}
    devstr2type = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5, "opencl": 10}

    def __new__(cls, device_type="cpu", device_id=0):
        if isinstance(device_type, Context):
            return device_type
        if device_type in _HOST_ALIASES:  # MXNet's page-locked and shared CPU memory: NumPy's
            device_type = "cpu"
        if type(device_id) is not int:  # True == 1 and 1.0 == 1 would hit the intern table
            if not isinstance(device_id, (int, np.integer)) or isinstance(device_id, bool):
                raise MXNetValueError(f"Context: device_id must be an int >= 0, got {device_id!r}")
            device_id = int(device_id)
        key = (device_type, device_id)
        ctx = cls._interned.get(key)
        if ctx is not None:
            return ctx
        if not isinstance(device_type, str):
            raise MXNetValueError(f"Context: device_type must be a string, got {device_type!r}")
        if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id < 0:
            raise MXNetValueError(f"Context: device_id must be an int >= 0, got {device_id!r}")
        _hooks.check_device_type(device_type)
        ctx = object.__new__(cls)
        ctx.device_type = device_type
        ctx.device_id = device_id
        ctx._backend = None
        cls._interned[key] = ctx
        return ctx

    @property
    def device_typeid(self) -> int:
        return self.devtype2id.get(self.device_type, 16)

    @property
    def backend(self):
        """The backend plugin that serves this context (loaded on first use)."""
        be = self._backend
        if be is None:
            be = self._backend = _hooks.backend_for(self)
        return be

    def __reduce__(self):
        return (Context, (self.device_type, self.device_id))

    def __eq__(self, other):
        return self is other or (
            isinstance(other, Context)
            and self.device_type == other.device_type
            and self.device_id == other.device_id
        )

    # Contexts are interned (one object per device), so identity is equality: the C-level
    # identity hash keeps every dict keyed by contexts (signatures, per-device state) cheap.
    __hash__ = object.__hash__

    def __str__(self):
        return f"{self.device_type}({self.device_id})"

    __repr__ = __str__

    def __enter__(self):
        stack = _stack()
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()

    def empty_cache(self):
        """Release cached device memory held by this context's backend, if it keeps any."""
        release = getattr(self.backend, "empty_cache", None)
        if release is not None:
            release(self.device_id)


def _stack() -> list:
    try:
        return _local.stack
    except AttributeError:
        _local.stack = [_default_context()]
        return _local.stack


_DEFAULT = None


def _default_context() -> Context:
    """The process default: ``MXPLUG_DEFAULT_CONTEXT`` (``opencl:0``, ``gpu(1)``) or cpu(0)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse(
            os.environ.get("MXPLUG_DEFAULT_CONTEXT", "cpu:0"), source="MXPLUG_DEFAULT_CONTEXT"
        )
    return _DEFAULT


def parse(text: str, source: str = "context") -> Context:
    """Parse ``"opencl:0"``, ``"opencl(0)"``, ``"gpu"`` into a Context."""
    t = text.strip().replace("(", ":").rstrip(")")
    dev, _, idx = t.partition(":")
    try:
        return Context(dev, int(idx) if idx else 0)
    except ValueError as e:
        raise MXNetValueError(
            f"{source}: cannot parse {text!r} as a context "
            f"(expected e.g. 'cpu', 'gpu:0', 'opencl(1)'): {e}"
        ) from None


def current_context() -> Context:
    """The default context of the current thread (innermost ``with ctx:``)."""
    return _stack()[-1]


def cpu(device_id: int = 0) -> Context:
    """The CPU, served by the NumPy backend. The id is kept for MXNet compatibility."""
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    """MXNet's page-locked CPU memory; here the same as :func:`cpu` (NumPy memory), as are
    ``Context('cpu_pinned', i)`` and ``Context('cpu_shared', i)``."""
    return Context("cpu", device_id)


def gpu(device_id: int = 0) -> Context:
    """The ``device_id``-th CUDA GPU, served by the CuPy backend."""
    return Context("gpu", device_id)


def opencl(device_id: int = 0) -> Context:
    """The ``device_id``-th OpenCL device (across platforms, in a stable order)."""
    return Context("opencl", device_id)


def num_gpus() -> int:
    """The number of CUDA GPUs the CuPy backend sees (0 when it is unavailable)."""
    return _hooks.num_devices("gpu")
