"""The OpenCL backend: any OpenCL device through PyOpenCL (PoCL on the CPU in CI).

Arrays are :class:`~mxplug.backends.opencl.array.CLArray` views of pooled device buffers; the
registry's generic op bodies run through :mod:`~mxplug.backends.opencl.xp`, an array-API
namespace whose every function is an OpenCL kernel from the shared kernel-template layer.
Nothing here assumes the device is a CPU.
"""

from __future__ import annotations

import numpy as np

from ..protocol import BackendBase
from . import xp  # first: xp imports its extension modules (xp_index, ...) in the right order


class OpenCLBackend(BackendBase):
    name = "opencl"
    device_type = "opencl"

    def __init__(self):
        self._devices = None
        self._runtimes: dict = {}
        self._why = None
        try:
            import pyopencl  # noqa: F401
        except ImportError as e:
            self._why = f"pyopencl is not installed ({e}); pip install 'mxplug[opencl]'"
            return
        self.xp = xp

    # -- discovery --------------------------------------------------------------------------------
    def _device_list(self):
        if self._devices is None:
            from .device import list_devices, select
            try:
                self._devices = select(list_devices())
            except Exception as e:  # no ICD loader, no platform: report, never raise
                self._devices = []
                self._why = f"no OpenCL platform found ({type(e).__name__}: {e})"
        return self._devices

    def available(self):
        if self._why is None and not self._device_list() and self._why is None:
            self._why = "PyOpenCL found no OpenCL device"
        return self._why

    def num_devices(self):
        return len(self._device_list())

    def runtime(self, device_id=0):
        rt = self._runtimes.get(device_id)
        if rt is None:
            from .device import shared_runtime
            rt = self._runtimes[device_id] = shared_runtime(self._device_list()[device_id])
            if device_id == 0:
                self.xp.set_default_runtime(rt)
        return rt

    @property
    def dtypes(self):
        rt = self.runtime(0)
        base = ("float32", "int8", "int32", "int64", "uint8", "bool")
        extra = ("float64",) if rt.fp64 else ()
        fp16 = ("float16",) if "cl_khr_fp16" in rt.device.extensions else ()
        return base + extra + fp16

    def describe(self):
        import pyopencl as cl

        from .device import has_fp64
        devs = []
        for i, d in enumerate(self._device_list()):
            devs.append(f"opencl({i}): {d.name.strip()} | {d.platform.name.strip()} | "
                        f"{d.version.strip()} | fp64 {'yes' if has_fp64(d) else 'no'} | "
                        f"{d.global_mem_size / 2**30:.1f} GiB | "
                        f"gemm: mxplug register-blocked kernel")
        return {"version": f"pyopencl {cl.VERSION_TEXT}", "devices": devs}

    # -- memory and transfers -------------------------------------------------------------------
    def asarray(self, obj, dtype, device_id):
        a = np.asarray(obj, dtype=dtype)
        if a.dtype.name not in self.dtypes:
            raise TypeError(f"OpenCL device {device_id} has no {a.dtype.name}")
        return self.xp._from_numpy(a, self.runtime(device_id))

    def to_numpy(self, a):
        return self.xp.to_numpy(a)

    def copy_to(self, a, other, device_id):
        return other.asarray(self.to_numpy(a), a.dtype, device_id)

    def setitem(self, a, key, value):
        self.xp.setitem(a, key, value)

    def synchronize(self, device_id):
        ids = self._runtimes if device_id is None else [device_id]
        for i in ids:
            if i in self._runtimes:
                self._runtimes[i].queue.finish()

    def empty_cache(self, device_id):
        rt = self._runtimes.get(device_id)
        if rt is not None:
            rt.pool.free_held()

    def kernel(self, op_name):
        from . import kernels
        return kernels.KERNELS.get(op_name)
