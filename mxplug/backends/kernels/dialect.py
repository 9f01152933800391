"""What differs between OpenCL C and CUDA C, in one place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: C type of each dtype an array may hold (bool is stored as one byte holding 0 or 1).
_CTYPES = {
    "float16": "half", "float32": "float", "float64": "double", "int8": "char",
    "int16": "short", "int32": "int", "int64": "long", "uint8": "uchar", "uint16": "ushort",
    "uint32": "uint", "uint64": "ulong", "bool": "uchar",
}


def ctype(dtype) -> str:
    """The C type name of ``dtype`` in kernel source."""
    return _CTYPES[np.dtype(dtype).name]


@dataclass(frozen=True)
class Dialect:
    """The spellings a kernel template needs from its target language."""

    name: str
    kernel: str        # function qualifier of an entry point
    global_ptr: str    # address-space qualifier of a device pointer
    const_ptr: str     # address space of the read-only meta array
    global_id: str     # the linear work-item index, as a long
    local_id: str
    group_id: str
    local_size: str
    local_mem: str     # qualifier of work-group shared memory
    barrier: str
    restrict: str      # the no-alias pointer qualifier
    device_fn: str     # qualifiers of a helper function kernels call
    header: str        # type definitions and extensions every program starts with

    def preamble(self, dtypes=()) -> str:
        needs_fp64 = any(np.dtype(d) == np.float64 for d in dtypes)
        extra = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" if (
            needs_fp64 and self.name == "opencl") else ""
        return extra + self.header


OPENCL = Dialect(
    name="opencl", kernel="__kernel void", global_ptr="__global", const_ptr="__global const",
    global_id="((long)get_global_id(0))", local_id="((int)get_local_id(0))",
    group_id="((long)get_group_id(0))", local_size="((int)get_local_size(0))",
    local_mem="__local", barrier="barrier(CLK_LOCAL_MEM_FENCE)", restrict="restrict",
    device_fn="static inline", header="",
)

CUDA = Dialect(
    name="cuda", kernel='extern "C" __global__ void', global_ptr="", const_ptr="const",
    global_id="((long)blockIdx.x * blockDim.x + threadIdx.x)", local_id="((int)threadIdx.x)",
    group_id="((long)blockIdx.x)", local_size="((int)blockDim.x)", local_mem="__shared__",
    barrier="__syncthreads()", restrict="__restrict__", device_fn="__device__ __forceinline__",
    # LP64: long is 64-bit, as in OpenCL; NVRTC has no <math.h> macros of its own
    header=("typedef unsigned char uchar; typedef unsigned short ushort; typedef unsigned int uint;"
            " typedef unsigned long ulong;\n"
            "#ifndef INFINITY\n#define INFINITY __int_as_float(0x7f800000)\n#endif\n"
            "#ifndef NAN\n#define NAN __int_as_float(0x7fffffff)\n#endif\n"
            "#ifndef LONG_MIN\n#define LONG_MIN (-0x7fffffffffffffffL - 1)\n#endif\n"),
)
