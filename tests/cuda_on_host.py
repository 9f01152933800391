"""Run the CuPy backend's CUDA C kernels on the CPU, and compile them with NVIDIA's NVRTC, so
their text and their Python launch code are checked on machines without a GPU (CI).

A CUDA source is compiled as C++ by the host compiler with CUDA's few spellings defined away
(``__global__``, ``__device__``, ``blockIdx``/``threadIdx``/``blockDim``), and a launch calls
the entry point once per thread of its grid, one after another. That is exact for kernels
whose threads do not cooperate (no ``__shared__`` memory, no ``__syncthreads``), which is
refused here. ``fake_cupy()`` stands in for the ``cupy`` module the kernel wrappers call:
NumPy arrays for device arrays, these host kernels for ``RawKernel``/``RawModule``, and for
``ElementwiseKernel`` the CUDA function :func:`elementwise_source` writes the way CuPy does (one
thread per element, each parameter a typed reference to its element).

:func:`nvrtc_compile` compiles a source to PTX with NVRTC, the compiler CuPy calls at run time
(the ``nvidia-cuda-nvrtc-cu12`` wheel; no GPU or driver needed): what the host compiler accepts
and NVRTC does not (a builtin it lacks, an ambiguous overload) fails there. What is left for
``tests/gpu/run.sh`` is running them on a GPU.
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

from mxplug.backends.kernels import ctype

_PRELUDE = """
#include <cmath>
using namespace std;  // the float overloads CUDA's math library has
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
                          "-Wall", "-Werror", "-Wno-unused-function", "-Wno-unused-variable",
                          "-o", lib, "-"],
                         input=_PRELUDE + code, capture_output=True, text=True)
    if run.returncode:
        raise AssertionError(f"the CUDA source does not compile as C++:\n{run.stderr}")
    if nvrtc_available():  # what runs here must compile for the GPU too
        nvrtc_compile(code)
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




# -- cupy.ElementwiseKernel ------------------------------------------------------------------------
def _params(spec):
    """``[(type name, name)]`` of an ElementwiseKernel parameter list (``"float32 x0, T lr"``)."""
    return [tuple(p.split()) for p in spec.split(",") if p.strip()]


def elementwise_source(in_params, out_params, operation, name, preamble, type_t):
    """A CUDA entry point ``name(pointers..., long n)`` doing what CuPy's ElementwiseKernel does
    with these parameters for contiguous operands of one shape; ``T`` is ``type_t``."""
    def c(ty):
        return "T" if ty == "T" else ctype(ty)

    ins, outs = _params(in_params), _params(out_params)
    args = [f"const {c(ty)}* _p_{n}" for ty, n in ins] + [f"{c(ty)}* _p_{n}" for ty, n in outs]
    refs = "".join(f"    const {c(ty)} &{n} = _p_{n}[i];\n" for ty, n in ins) + "".join(
        f"    {c(ty)} &{n} = _p_{n}[i];\n" for ty, n in outs)
    return f"""typedef {ctype(type_t)} T;
{preamble}
extern "C" __global__ void {name}({", ".join(args + ["long _n"])}) {{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= _n) return;
{refs}    {operation};
}}
"""


class HostElementwiseKernel:
    """A ``cupy.ElementwiseKernel`` over NumPy arrays: every output is given (as the wrappers
    pass them), inputs broadcast to the first output's shape."""

    def __init__(self, in_params, out_params, operation, name, preamble=""):
        self._ins, self._outs = _params(in_params), _params(out_params)
        self._text = (in_params, out_params, operation, name, preamble)
        self.name = name

    def source(self, type_t):
        return elementwise_source(*self._text, type_t)

    def __call__(self, *args):
        n_in = len(self._ins)
        ins, outs = args[:n_in], args[n_in:]
        assert len(outs) == len(self._outs), "cuda_on_host: pass every output"
        type_t = next((np.result_type(a) for a, (ty, _) in zip(args, self._ins + self._outs)
                       if ty == "T"), np.float32)
        shape = outs[0].shape

        def dtype(ty):
            return np.dtype(type_t if ty == "T" else ty)

        host_ins = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype(ty)), shape))
                    for a, (ty, _) in zip(ins, self._ins)]
        host_outs = [np.ascontiguousarray(o, dtype(ty)) for o, (ty, _) in zip(outs, self._outs)]
        n = int(np.prod(shape))
        if n:
            kern = HostKernel(self.source(type_t), self.name)
            kern(((n + 255) // 256,), (256,), (*host_ins, *host_outs, np.int64(n)))
        for o, h in zip(outs, host_outs):
            np.copyto(o, h)
        return outs[0] if len(outs) == 1 else tuple(outs)


def fake_cupy():
    """What the kernel wrappers use of ``cupy``, over NumPy and host kernels (a module, so
    caches may key on it)."""
    _compiler()
    cp = types.ModuleType("cupy_on_host")
    cp.RawKernel, cp.RawModule = HostKernel, HostModule
    cp.ElementwiseKernel = HostElementwiseKernel
    cp.empty, cp.empty_like, cp.ascontiguousarray = np.empty, np.empty_like, np.ascontiguousarray
    return cp


# -- NVRTC ----------------------------------------------------------------------------------------
@functools.cache
def _nvrtc_library():
    """NVRTC's shared library from the ``nvidia-cuda-nvrtc-cu12`` wheel, or None."""
    try:
        import nvidia.cuda_nvrtc
    except ImportError:
        return None
    folder = os.path.join(list(nvidia.cuda_nvrtc.__path__)[0], "lib")
    name = next(f for f in sorted(os.listdir(folder)) if f.startswith("libnvrtc.so"))
    return ctypes.CDLL(os.path.join(folder, name))


def nvrtc_available() -> bool:
    return _nvrtc_library() is not None


def _nvrtc():
    if not nvrtc_available():
        pytest.skip("needs NVIDIA's NVRTC to compile CUDA sources (pip install "
                    "nvidia-cuda-nvrtc-cu12; it is in mxplug[test] on Linux x86_64)")
    return _nvrtc_library()


def nvrtc_compile(code: str, name: str = "mxplug.cu", arch: str = "compute_70") -> str:
    """``code`` compiled to PTX by NVRTC; an AssertionError with NVRTC's log when it fails."""
    lib, prog = _nvrtc(), ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), code.encode(), name.encode(), 0, None,
                                  None) == 0
    try:
        opts = [f"--gpu-architecture={arch}".encode()]
        status = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        assert status == 0, f"NVRTC rejects {name}:\n{log.value.decode()}\n--- source ---\n{code}"
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        ptx = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, ptx)
        return ptx.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))
