"""The contract every backend plugin implements (built-in or third party)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """A device plugin, found through the ``mxplug.backends`` entry-point group.

    The built-in NumPy backend registers as ``numpy = "mxplug.backends.numpy:NumpyBackend"``; a
    third-party package does the same in its own ``pyproject.toml``. Keep the module's top level
    light: import the device library inside :meth:`available` or ``__init__``.
    """

    name: str  #: "numpy" | "cupy" | "opencl" | ...
    device_type: str  #: the Context type it serves: "cpu", "gpu", "opencl", ...
    xp: ModuleType | None  #: array-API namespace for generic impls (None: kernels only)
    dtypes: tuple  #: dtype names it can hold

    def available(self) -> str | None:
        """``None`` when usable, else why not (shown by ``mxplug info``). Never raises."""

    def num_devices(self) -> int | None:
        """How many devices; ``None`` when ids are virtual (any id works, as for the CPU)."""

    def describe(self) -> dict:
        """Versions and devices for ``mxplug info``: ``{"version": ..., "devices": [str, ...]}``."""

    def asarray(self, obj: Any, dtype: np.dtype, device_id: int) -> Any:
        """A new backend array holding a copy of ``obj`` (NumPy array or Python data)."""

    def to_numpy(self, a: Any) -> np.ndarray:
        """A NumPy copy of ``a`` that the caller owns."""

    def copy_to(self, a: Any, other: Backend, device_id: int) -> Any:
        """``a`` as an array of ``other`` (DLPack where both sides speak it, else via the host)."""

    def setitem(self, a: Any, key: Any, value: Any) -> None:
        """``a[key] = value`` in place (value: a backend array or a Python scalar)."""

    def synchronize(self, device_id: int) -> None:
        """Wait for all queued work on the device."""

    def kernel(self, op_name: str) -> Callable | None:
        """A backend-provided kernel for ``op_name`` (``kernel(backend, *arrays, **attrs)``)."""

    def host_fallback(self, op) -> Callable | None:
        """A callable running ``op`` on the host when the user opted in, else ``None``."""


class BackendBase:
    """Shared defaults for plugins: host fallback, host-staged copies, no kernels of its own."""

    xp = None
    #: Arrays are host NumPy arrays that ops can write into (``out=``): graph memory planning
    #: pre-allocates buffers only on such backends (others pool device memory themselves).
    host_buffers = False
    dtypes = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")

    def available(self):
        return None

    def describe(self) -> dict:
        return {}

    def kernel(self, op_name):
        return None

    def synchronize(self, device_id):
        pass

    def setitem(self, a, key, value):
        a[key] = value

    def copy_to(self, a, other, device_id):
        return other.asarray(self.to_numpy(a), None, device_id)

    def host_fallback(self, op):
        """Run ``op``'s generic impl with NumPy on host copies, if ``MXPLUG_HOST_FALLBACK=1``."""
        from . import fallback

        return fallback.make(self, op)
