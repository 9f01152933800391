"""``mx.util``: MXNet 1.x's general helpers that mean something in mxplug.

mxplug implements MXNet's legacy ``mx.nd`` / ``mx.sym`` semantics only: a shape ``()`` is the
shape ``(1,)`` and there is no ``mx.np`` array type. So the NumPy-semantics switches report
"off" and can be turned off (a no-op) but not on: turning them on raises
:class:`NumpySemanticsError` naming the switch, rather than silently running legacy semantics.

Not provided (no meaning without MXNet's C library or ``mx.np``): ``set_module``,
``np_ufunc_legal_option``, ``wrap_np_unary_func`` / ``wrap_np_binary_func``,
``get_cuda_compute_capability``, ``get_rtc_compile_opts``, ``default_array``,
``dtype_from_number``.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading

from .base import MXNetError, MXNetNotImplementedError, MXNetValueError

__all__ = ["makedirs", "get_gpu_count", "get_gpu_memory", "is_np_shape", "set_np_shape",
           "np_shape", "use_np_shape", "is_np_array", "np_array", "use_np_array", "use_np",
           "set_np", "reset_np", "is_np_default_dtype", "set_np_default_dtype", "getenv",
           "setenv", "wraps_safely", "NumpySemanticsError"]


class NumpySemanticsError(MXNetNotImplementedError):
    """A request to turn on MXNet's NumPy semantics, which mxplug does not implement."""


def _refuse(switch):
    raise NumpySemanticsError(
        f"{switch}: mxplug implements MXNet's legacy NDArray semantics only (shape () is (1,), "
        f"no mx.np arrays); NumPy semantics cannot be turned on")


def makedirs(d):
    """Create directory ``d`` and its parents; an existing directory is fine."""
    os.makedirs(d, exist_ok=True)


def get_gpu_count():
    """The number of CUDA GPUs (through the CuPy backend; 0 without one)."""
    from .context import num_gpus
    return num_gpus()


def get_gpu_memory(gpu_dev_id):
    """``(free, total)`` bytes of memory of CUDA GPU ``gpu_dev_id``; an error if there is no
    such GPU."""
    from .context import Context
    backend = Context("gpu", gpu_dev_id).backend  # raises, naming why, if there is no such GPU
    cupy = getattr(backend, "cp", None)
    if cupy is None:
        raise MXNetError(f"get_gpu_memory: the gpu backend {backend.name!r} cannot report "
                         f"device memory")
    with cupy.cuda.Device(gpu_dev_id):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


# -- NumPy semantics switches (always off here) --------------------------------------------------
def is_np_shape():
    """False: shapes follow MXNet's legacy rules."""
    return False


def set_np_shape(active):
    """Turn NumPy shape semantics on/off; returns the previous state (False). Only off is
    possible."""
    if active:
        _refuse("set_np_shape(True)")
    return False


class _NumpyScope:
    def __init__(self, active, switch):
        self._active, self._switch = active, switch

    def __enter__(self):
        if self._active:
            _refuse(self._switch)
        return self

    def __exit__(self, *exc):
        return False


def np_shape(active=True):
    """A ``with`` scope of NumPy shape semantics; only ``active=False`` (a no-op) is possible."""
    return _NumpyScope(active, "np_shape(active=True)")


def is_np_array():
    """False: arrays are ``mx.nd.NDArray``."""
    return False


def np_array(active=True):
    """A ``with`` scope of NumPy array semantics; only ``active=False`` (a no-op) is possible."""
    return _NumpyScope(active, "np_array(active=True)")


def wraps_safely(wrapped, assigned=functools.WRAPPER_ASSIGNMENTS):
    """``functools.wraps`` (MXNet kept a Python 2 variant under this name)."""
    return functools.wraps(wrapped, assigned=[a for a in assigned if hasattr(wrapped, a)])


def _decorator(name, scope):
    def decorate(func):
        if inspect.isclass(func):
            _refuse(f"@{name} on class {func.__name__}")
        if not callable(func):
            raise MXNetValueError(f"{name} can only decorate classes and callables, got "
                                  f"{type(func).__name__}")

        @wraps_safely(func)
        def scoped(*args, **kwargs):
            with scope():
                return func(*args, **kwargs)
        return scoped
    decorate.__name__ = name
    decorate.__doc__ = (f"Run the decorated function in {scope.__name__}(True): raises "
                        f"NumpySemanticsError when called (a class: when decorated).")
    return decorate


use_np_shape = _decorator("use_np_shape", np_shape)
use_np_array = _decorator("use_np_array", np_array)
use_np = _decorator("use_np", np_shape)


def set_np(shape=True, array=True, dtype=False):
    """Turn NumPy semantics on/off; only ``set_np(False, False)`` (what :func:`reset_np` does)
    is possible."""
    if shape or array or dtype:
        _refuse(f"set_np(shape={shape}, array={array}, dtype={dtype})")


def reset_np():
    """Turn NumPy semantics off: they are off already."""
    set_np(shape=False, array=False, dtype=False)


def is_np_default_dtype():
    """False: creation functions default to float32, as in MXNet's legacy mode."""
    return False


def set_np_default_dtype(is_np_default_dtype=True):
    """Make float64 the default dtype (NumPy's); only ``False`` is possible. Returns the previous
    state (False)."""
    if is_np_default_dtype:
        _refuse("set_np_default_dtype(True)")
    return False


# -- environment ---------------------------------------------------------------------------------
_env_lock = threading.Lock()


def getenv(name):
    """The environment variable ``name`` (None when unset), as the library sees it."""
    return os.environ.get(name)


def setenv(name, value):
    """Set the environment variable ``name`` to ``value`` (None unsets it). A setting mxplug
    reads after this call sees the new value; one already read (at first use) does not."""
    with _env_lock:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)
