"""Run the CuPy backend's CUDA C kernels on the CPU, so their text and their Python launch code
are checked on machines without a GPU (CI).

A CUDA source is compiled as C++ by the host compiler with CUDA's few spellings defined away
(``__global__``, ``__device__``, ``blockIdx``/``threadIdx``/``blockDim``), and a launch calls
the entry point once per thread of its grid, one after another. That is exact for kernels
whose threads do not cooperate (no ``__shared__`` memory, no ``__syncthreads``), which is
refused here. ``fake_cupy()`` stands in for the ``cupy`` module the kernel wrappers call:
NumPy arrays for device arrays, these host kernels for ``RawKernel``/``RawModule``.

What this cannot catch is what only NVRTC sees (a builtin NVRTC lacks, a ``float``/``double``
overload it resolves differently); ``tests/gpu/run.sh`` runs the same tests on a GPU.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import types

import numpy as np
import pytest

_PRELUDE = """
#include <cmath>
using std::exp; using std::tanh; using std::log; using std::sqrt; using std::fabs;
struct mxplug_dim3 { unsigned int x, y, z; };
static mxplug_dim3 threadIdx, blockIdx, blockDim;
extern "C" void mxplug_set_thread(unsigned int bx, unsigned int by, unsigned int tx,
                                  unsigned int ty, unsigned int bdx, unsigned int bdy) {
    blockIdx.x = bx; blockIdx.y = by; threadIdx.x = tx; threadIdx.y = ty;
    blockDim.x = bdx; blockDim.y = bdy;
}
#define __global__
#define __device__
#define __forceinline__ inline
#line 1 "cuda-source"
"""


def _compiler():
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if cxx is None:
        pytest.skip("needs a C++ compiler (g++) to run the CUDA sources on the host")
    return cxx


@functools.cache
def _library(code: str):
    if "__syncthreads" in code or "__shared__" in code:
        raise ValueError("cuda_on_host runs threads one after another: kernels whose threads "
                         "share memory or wait at a barrier cannot run here")
    folder = tempfile.mkdtemp(prefix="mxplug-cuda-host-")
    name = hashlib.sha1(code.encode()).hexdigest()[:16]
    lib = os.path.join(folder, f"k{name}.so")
    run = subprocess.run([_compiler(), "-x", "c++", "-std=c++14", "-O1", "-shared", "-fPIC",
                          "-Wall", "-Werror", "-Wno-unused-function", "-o", lib, "-"],
                         input=_PRELUDE + code, capture_output=True, text=True)
    if run.returncode:
        raise AssertionError(f"the CUDA source does not compile as C++:\n{run.stderr}")
    return ctypes.CDLL(lib)


def _c_arg(a):
    if isinstance(a, np.ndarray):
        return ctypes.c_void_p(a.ctypes.data)
    c = {np.dtype(np.int64): ctypes.c_int64, np.dtype(np.int32): ctypes.c_int32,
         np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
    return c[np.dtype(type(a))](a)  # a NumPy scalar, as the wrappers pass them to CuPy


class HostKernel:
    """A ``cupy.RawKernel``-like entry point: ``kernel(grid, block, args)``."""

    def __init__(self, code, name):
        self._lib = _library(code)
        self._fn = getattr(self._lib, name)
        self.launches = 0

    def __call__(self, grid, block, args):
        gx, gy = (tuple(grid) + (1,))[:2]
        bx, by = (tuple(block) + (1,))[:2]
        c_args = [_c_arg(a) for a in args]
        self.launches += 1
        for j in range(gy):
            for i in range(gx):
                for ty in range(by):
                    for tx in range(bx):
                        self._lib.mxplug_set_thread(i, j, tx, ty, bx, by)
                        self._fn(*c_args)


class HostModule:
    """A ``cupy.RawModule``-like set of entry points."""

    def __init__(self, code):
        self.code = code
        self._kernels = {}

    def get_function(self, name):
        if name not in self._kernels:
            self._kernels[name] = HostKernel(self.code, name)
        return self._kernels[name]


def fake_cupy():
    """What the kernel wrappers use of ``cupy``, over NumPy and host kernels."""
    _compiler()
    return types.SimpleNamespace(RawKernel=HostKernel, RawModule=lambda code: HostModule(code),
                                 empty=np.empty, ascontiguousarray=np.ascontiguousarray)
