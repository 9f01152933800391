"""OpenCL devices: enumeration in a stable order, and one runtime per device (context, queue,
memory pool, compiled programs, cached ``meta`` buffers)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from ..kernels import OPENCL


def list_devices():
    """Every OpenCL device, ordered by (platform index, device index); raises if none."""
    import pyopencl as cl

    devices = []
    for platform in cl.get_platforms():
        try:
            devices.extend(platform.get_devices())
        except cl.Error:  # a platform whose driver has no usable device
            continue
    return devices


def select(devices):
    """Apply ``MXPLUG_OPENCL_DEVICE`` (``"2"`` or ``"platform:device"``) or PyOpenCL's
    ``PYOPENCL_CTX`` (same forms): the chosen device becomes ``opencl(0)``."""
    spec = os.environ.get("MXPLUG_OPENCL_DEVICE") or os.environ.get("PYOPENCL_CTX")
    if not spec:
        return devices
    import pyopencl as cl

    if ":" in spec:
        p, _, d = spec.partition(":")
        chosen = cl.get_platforms()[int(p)].get_devices()[int(d or 0)]
    else:
        chosen = devices[int(spec)]
    return [chosen] + [d for d in devices if d != chosen]


def has_fp64(device) -> bool:
    return "cl_khr_fp64" in device.extensions or device.double_fp_config != 0


class Runtime:
    """Everything one device needs at run time. Programs are built once per source (PoCL also
    caches the binaries on disk, in ``POCL_CACHE_DIR``)."""

    META_CACHE = 4096
    #: launch()'s work-group size (clamped to the device's limit). 64 measured 10-30% slower than
    #: 256 on a 4096^2 a*b+c under PoCL (it vectorises across a group's items); 256 suits GPUs.
    LOCAL_SIZE = 256

    def __init__(self, device):
        import pyopencl as cl
        import pyopencl.tools as cltools

        self.cl = cl
        self.device = device
        self.context = cl.Context([device])
        self.queue = cl.CommandQueue(self.context)
        # A caching pool: steady-state training allocates no new cl.Buffer per op.
        self.pool = cltools.MemoryPool(cltools.ImmediateAllocator(self.queue))
        self.fp64 = has_fp64(device)
        self.fp16 = "cl_khr_fp16" in device.extensions
        self.local_size = min(self.LOCAL_SIZE, device.max_work_group_size)
        self._programs: dict = {}
        self._kernels: dict = {}
        self._meta: OrderedDict = OrderedDict()

    def alloc(self, nbytes):
        return self.pool.allocate(max(int(nbytes), 1))

    def kernel(self, source: str, name: str, dtypes=()):
        """The kernel ``name`` from the program built from ``source`` (cached), one object per
        thread: a launch sets the kernel's arguments and then enqueues it in separate calls, so
        two threads sharing one kernel object (DataLoader worker threads) could mix arguments."""
        key = (source, name, threading.get_ident())
        k = self._kernels.get(key)
        if k is None:
            prog = self._programs.get(source)
            if prog is None:
                full = OPENCL.preamble(dtypes) + source
                try:  # the argument info types the by-value arguments (below)
                    prog = self.cl.Program(self.context, full).build(
                        options=["-cl-kernel-arg-info"])
                except self.cl.RuntimeError as e:
                    raise RuntimeError(f"OpenCL build failed for kernel {name}:\n{e}\n--- source "
                                       f"---\n{_numbered(full)}") from None
                self._programs[source] = prog
            k = self._kernels[key] = self.cl.Kernel(prog, name)
            _declare_scalar_args(self.cl, k)
        return k

    def meta(self, meta: np.ndarray):
        """A device copy of a small int64 shape/stride array, cached by content."""
        key = meta.tobytes()
        buf = self._meta.get(key)
        if buf is None:
            mf = self.cl.mem_flags
            buf = self.cl.Buffer(self.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=meta)
            self._meta[key] = buf
            if len(self._meta) > self.META_CACHE:
                self.queue.finish()  # the evicted buffer may still be an argument of queued work
                self._meta.popitem(last=False)
        else:
            self._meta.move_to_end(key)
        return buf

    def launch(self, kernel, n, *args):
        """Run ``kernel`` over ``n`` work items (rounded up to whole work-groups)."""
        if n <= 0:
            return
        ls = self.local_size
        local = ls if n >= ls else None
        global_size = -(-n // ls) * ls if local else n
        kernel(self.queue, (global_size,), (local,) if local else None, *args)


#: OpenCL C scalar type names -> NumPy dtypes, for kernel arguments passed by value.
_SCALARS = {"char": np.int8, "uchar": np.uint8, "short": np.int16, "ushort": np.uint16,
            "int": np.int32, "uint": np.uint32, "long": np.int64, "ulong": np.uint64,
            "half": np.float16, "float": np.float32, "double": np.float64}


def _declare_scalar_args(cl, kernel):
    """Give ``kernel`` its by-value argument types (from the program's argument info), so that
    PyOpenCL packs scalars with one ``struct.pack``: without them every NumPy scalar argument
    goes through a generic ``set_arg`` costing ~9 us under PoCL (a 17-argument GEMM launch took
    130 us instead of 7). A kernel with an argument type not listed here keeps the generic path."""
    info = cl.kernel_arg_info
    dtypes = []
    for i in range(kernel.num_args):
        tname = kernel.get_arg_info(i, info.TYPE_NAME)
        if tname.endswith("*"):
            dtypes.append(None)
        elif tname in _SCALARS:
            dtypes.append(_SCALARS[tname])
        else:
            return
    kernel.set_scalar_arg_dtypes(dtypes)


_RUNTIMES: dict = {}  # cl device pointer -> its one Runtime in this process


def shared_runtime(device) -> Runtime:
    """The process's Runtime of ``device``: every backend instance shares it. Two runtimes of
    one device would be two OpenCL contexts and queues with no ordering between them, and an
    array made on one (the namespace's default device) read by a kernel queued on the other
    raced with its own initialisation (wrong values, now and then)."""
    rt = _RUNTIMES.get(device.int_ptr)
    if rt is None:
        rt = _RUNTIMES[device.int_ptr] = Runtime(device)
    return rt


def drop_cache(cache: dict):
    """Empty a cache whose keys start with a :class:`Runtime` and whose values may hold device
    buffers (``meta`` arrays): the runtimes' queued work, which may read those buffers, finishes
    first, so no buffer is released while a launch still needs it."""
    for rt in {k[0] for k in cache if isinstance(k, tuple) and isinstance(k[0], Runtime)}:
        rt.queue.finish()
    cache.clear()


def _numbered(src):
    return "\n".join(f"{i + 1:4d}  {line}" for i, line in enumerate(src.splitlines()))
