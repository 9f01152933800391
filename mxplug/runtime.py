"""``mx.runtime``: which features this installation has (MXNet 1.x's ``Features``).

MXNet reports how its C++ library was compiled. mxplug has no compiled library: each feature is
detected from what this Python environment and machine provide, once per process (the first
``Features()``), using MXNet's names plus mxplug's own ``OPENCL`` and ``MPI``:

- ``CUDA``: the CuPy backend sees a GPU; ``CUDNN``, ``NCCL`` what that CuPy offers;
  ``CUDA_RTC``: CuPy compiles kernels at run time, so it follows ``CUDA``.
- ``OPENCL``: the PyOpenCL backend found a device. ``MPI``, ``DIST_KVSTORE``: mpi4py is
  installed (``dist_sync`` kvstores run over MPI).
- ``CPU_*``, ``SSE``, ``F16C``: the CPU has the instruction set (NumPy's runtime dispatch uses
  it).
- ``BLAS_*``, ``LAPACK``, ``OPENMP``: NumPy's build configuration (``numpy.show_config``).
- ``OPENCV``: ``cv2`` is installed (mxplug itself decodes images with Pillow).
- ``PROFILER`` (``mx.profiler``) and ``INT64_TENSOR_SIZE`` (on a 64-bit Python) are on;
  features of MXNet's own build (``TENSORRT``, ``MKLDNN``, ``JEMALLOC``, ``CAFFE``, ``CXX14``,
  ``SIGNAL_HANDLER``, ``DEBUG``, ``TVM_OP``) are off.
"""

from __future__ import annotations

import collections
import importlib.util
import sys

from .base import MXNetError

__all__ = ["Feature", "Features", "feature_list", "UnknownFeatureError"]

# MXNet 1.9's names, in its order (libinfo.cc), then mxplug's.
_MXNET_NAMES = (
    "CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3",
    "CPU_SSE4_1", "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE", "F16C",
    "JEMALLOC", "BLAS_OPEN", "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK", "MKLDNN",
    "OPENCV", "CAFFE", "PROFILER", "DIST_KVSTORE", "CXX14", "INT64_TENSOR_SIZE",
    "SIGNAL_HANDLER", "DEBUG", "TVM_OP",
)
_MXPLUG_NAMES = ("OPENCL", "MPI")

# NumPy's names for the instruction sets MXNet lists (numpy's __cpu_features__)
_CPU_FLAGS = {"CPU_SSE": "SSE", "CPU_SSE2": "SSE2", "CPU_SSE3": "SSE3", "CPU_SSE4_1": "SSE41",
              "CPU_SSE4_2": "SSE42", "CPU_AVX": "AVX", "CPU_AVX2": "AVX2", "SSE": "SSE",
              "F16C": "F16C"}


class UnknownFeatureError(MXNetError, RuntimeError):
    """``Features.is_enabled`` with a name it does not know (MXNet raises RuntimeError)."""


class Feature:
    """One feature: ``name`` and whether it is ``enabled``; shown as ``✔ CUDA`` / ``✖ CUDA``."""

    __slots__ = ("name", "enabled", "index")

    def __init__(self, name, enabled, index=0):
        self.name, self.enabled, self.index = name, bool(enabled), index

    def __repr__(self):
        return f"{'✔' if self.enabled else '✖'} {self.name}"


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _num_devices(device_type):
    from .backends.registry import num_devices
    try:
        return num_devices(device_type)
    except Exception:  # noqa: BLE001 - a broken driver means "no device", never an error here
        return 0


def _cpu_flags():
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as flags
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as flags
        except ImportError:
            flags = {}
    flags = dict(flags)
    try:  # SSE4A (AMD) is not among NumPy's flags
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags["SSE4A"] = any(line.startswith("flags") and " sse4a" in line for line in f)
    except OSError:
        flags["SSE4A"] = False
    return flags


def _numpy_blas():
    """``(blas name, lapack found, openmp)`` from NumPy's build configuration."""
    try:
        import numpy as np
        deps = np.show_config(mode="dicts")["Build Dependencies"]
    except Exception:  # noqa: BLE001 - NumPy < 1.25 has no dict form: report nothing
        return "", False, False
    blas, lapack = deps.get("blas", {}), deps.get("lapack", {})
    config = " ".join(str(d.get("openblas configuration", "")) for d in (blas, lapack)).upper()
    return str(blas.get("name", "")).lower(), bool(lapack.get("found")), "OPENMP" in config


def _cupy_extra(cuda):
    """``(cuDNN, NCCL)`` available to CuPy."""
    if not cuda:
        return False, False
    try:
        from cupy.cuda import nccl
        has_nccl = bool(getattr(nccl, "available", True))
    except Exception:  # noqa: BLE001 - not built with NCCL
        has_nccl = False
    try:
        from cupy.cuda import cudnn  # noqa: F401
        has_cudnn = True
    except Exception:  # noqa: BLE001 - not built with cuDNN
        has_cudnn = False
    return has_cudnn, has_nccl


def _detect():
    enabled = dict.fromkeys(_MXNET_NAMES + _MXPLUG_NAMES, False)
    cpu = _cpu_flags()
    for name, flag in _CPU_FLAGS.items():
        enabled[name] = bool(cpu.get(flag))
    enabled["CPU_SSE4A"] = bool(cpu.get("SSE4A"))
    blas, lapack, openmp = _numpy_blas()
    enabled.update(BLAS_OPEN="openblas" in blas, BLAS_MKL="mkl" in blas,
                   BLAS_ATLAS="atlas" in blas, BLAS_APPLE="accelerate" in blas,
                   LAPACK=lapack, OPENMP=openmp)
    enabled["CUDA"] = _installed("cupy") and _num_devices("gpu") > 0
    enabled["CUDA_RTC"] = enabled["CUDA"]
    enabled["CUDNN"], enabled["NCCL"] = _cupy_extra(enabled["CUDA"])
    enabled["OPENCL"] = _installed("pyopencl") and _num_devices("opencl") > 0
    enabled["MPI"] = enabled["DIST_KVSTORE"] = _installed("mpi4py")
    enabled["OPENCV"] = _installed("cv2")
    enabled["PROFILER"] = True
    enabled["INT64_TENSOR_SIZE"] = sys.maxsize > 2**32
    return enabled


def feature_list():
    """Every feature, in MXNet's order then mxplug's, as a list of :class:`Feature`."""
    return list(Features().values())


class Features(collections.OrderedDict):
    """Feature name -> :class:`Feature`, detected once per process (a singleton, as in MXNet).

    >>> mx.runtime.Features().is_enabled('CPU_SSE')
    True
    """

    instance = None

    def __new__(cls):
        if cls.instance is None:
            instance = super().__new__(cls)
            collections.OrderedDict.__init__(instance, [
                (name, Feature(name, on, i)) for i, (name, on) in enumerate(_detect().items())])
            cls.instance = instance
        return cls.instance

    def __init__(self):  # filled once in __new__; a second Features() must not clear it
        pass

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        """Whether ``feature_name`` (any case) is enabled; an unknown name is an error listing
        the known ones."""
        name = str(feature_name).upper()
        if name not in self:
            raise UnknownFeatureError(f"Feature '{name}' is unknown, known features are: "
                                      f"{list(self.keys())}")
        return self[name].enabled
