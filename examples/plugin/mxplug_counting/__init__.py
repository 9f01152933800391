"""``counting``: an example mxplug backend plugin, written only against the public plugin API.

Its device, ``mx.Context("counting", 0)``, keeps arrays in host memory with NumPy, and counts
what runs on it: every call into its array namespace (``stats()["calls"]``), every call of its
own kernels (``stats()["kernels"]``), and the bytes copied in from and out to the host. It shows
the three parts of a plugin:

1. a backend class (here a subclass of :class:`mxplug.backends.array_api.ArrayAPIBackend`, so
   every op with a generic body runs through its ``xp`` namespace at once);
2. kernel overrides, for ops the backend runs its own way (here ``relu`` and ``erf``);
3. the ``mxplug.backends`` entry point in ``pyproject.toml``.
"""
from __future__ import annotations

import math
import types
from collections import Counter

import numpy as np

from mxplug.backends.array_api import ArrayAPIBackend

__all__ = ["CountingBackend", "CountingNamespace", "KERNELS"]
__version__ = "0.1.0"


class _CountingUfunc:
    """A NumPy ufunc that counts its calls; its methods (``add.at``, ``maximum.reduce``) too."""

    def __init__(self, ufunc, counts, name):
        self._ufunc, self._counts, self._name = ufunc, counts, name

    def __call__(self, *args, **kwargs):
        self._counts[self._name] += 1
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, attr):
        value = getattr(self._ufunc, attr)
        if not callable(value):
            return value
        name, counts = f"{self._name}.{attr}", self._counts

        def method(*args, **kwargs):
            counts[name] += 1
            return value(*args, **kwargs)
        return method


class CountingNamespace:
    """NumPy's namespace with every function call counted in ``counts`` (name -> calls).

    Dtypes, constants and classes pass through unchanged, so arrays are plain NumPy arrays and
    mxplug uses them unwrapped (their dtypes are NumPy's).
    """

    __array_api_version__ = np.__array_api_version__

    def __init__(self, module=np, counts=None, prefix=""):
        self._module, self._prefix = module, prefix
        self.counts = Counter() if counts is None else counts
        self.__name__ = f"mxplug_counting.xp{'.' + prefix.rstrip('.') if prefix else ''}"
        self._cache: dict = {}

    def __getattr__(self, name):
        if name.startswith("__") and name != "__array_namespace_info__":
            raise AttributeError(name)
        try:
            return self._cache[name]
        except KeyError:
            pass
        value = getattr(self._module, name)
        full = self._prefix + name
        if isinstance(value, np.ufunc):
            value = _CountingUfunc(value, self.counts, full)
        elif isinstance(value, types.ModuleType):  # xp.linalg, xp.fft
            value = CountingNamespace(value, self.counts, full + ".")
        elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) or (
                callable(value) and not isinstance(value, type)):
            value = _counted(value, self.counts, full)
        self._cache[name] = value
        return value


def _counted(fn, counts, name):
    def call(*args, **kwargs):
        counts[name] += 1
        return fn(*args, **kwargs)
    call.__name__ = name
    return call


# -- kernel overrides ---------------------------------------------------------------------------
# A kernel is ``fn(backend, *arrays, **attrs)`` returning the op's result as this backend's
# arrays. The generic body would work for both ops below; these show how a backend puts its own
# implementation in (a fused device kernel, a vendor library call) for the ops it chooses.
def _relu(backend, x, **attrs):
    """One pass, into a fresh array: ``maximum(x, 0)`` without a broadcast zero."""
    backend.kernel_calls["relu"] += 1
    out = np.empty_like(x)
    np.maximum(x, x.dtype.type(0), out=out)
    return out


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def _erf(backend, x, **attrs):
    """The exact erf: NumPy has none, and the generic body's polynomial (|error| < 1.5e-7)
    would not pass the kit's float64 comparison."""
    backend.kernel_calls["erf"] += 1
    return _ERF(x).astype(x.dtype)


#: op name -> kernel: what ``CountingBackend.kernel`` returns.
KERNELS = {"relu": _relu, "erf": _erf}


class CountingBackend(ArrayAPIBackend):
    """NumPy as the device type ``counting``, counting namespace calls, kernels and copies."""

    name = "counting"
    device_type = "counting"

    def __init__(self):
        self.kernel_calls = Counter()
        self.bytes_in = self.bytes_out = 0
        super().__init__(CountingNamespace())

    # The namespace's devices are NumPy's (one, "cpu"), so this backend has one device:
    # counting(0). A real device library lists its devices in __array_namespace_info__().

    def describe(self):
        return {"version": f"mxplug-counting {__version__} over numpy {np.__version__}",
                "devices": ["counting(0): host memory, every call counted"]}

    def asarray(self, obj, dtype, device_id):
        a = super().asarray(obj, dtype, device_id)
        self.bytes_in += a.nbytes
        return a

    def to_numpy(self, a):
        self.bytes_out += a.nbytes
        return super().to_numpy(a)

    def kernel(self, op_name):
        fn = KERNELS.get(op_name)
        return fn if fn is not None else super().kernel(op_name)

    # -- what the counting is for ---------------------------------------------------------------
    def stats(self) -> dict:
        """``{"calls": {fn: n}, "kernels": {op: n}, "bytes_in": n, "bytes_out": n}``."""
        return {"calls": dict(self.xp.counts), "kernels": dict(self.kernel_calls),
                "bytes_in": self.bytes_in, "bytes_out": self.bytes_out}

    def reset(self) -> None:
        """Zero every counter."""
        self.xp.counts.clear()
        self.kernel_calls.clear()
        self.bytes_in = self.bytes_out = 0
