"""The CUDA backend: CuPy on NVIDIA GPUs, as a specialization of the Array API adapter.

CuPy arrays carry NumPy dtypes, so they are used unwrapped and generic op bodies run on
``array_api_compat.cupy``. Ops run on CuPy's current stream of the array's device;
:meth:`CupyBackend.synchronize` waits for it. ``import cupy`` happens only when the backend is
loaded (``mxplug info``, or the first ``mx.gpu()`` context), never at ``import mxplug``.

Untested on a GPU in this repository's CI (no GPU there): ``tests/gpu/run.sh`` is the check.
"""

from __future__ import annotations

import numpy as np

from .array_api import ArrayAPIBackend


class CupyBackend(ArrayAPIBackend):
    name = "cupy"
    device_type = "gpu"

    def __init__(self):
        self.xp, self.ns, self.cp, self._why, self._count = None, None, None, None, 0
        try:
            import cupy
        except ImportError as e:
            self._why = f"cupy is not installed ({e}); pip install 'mxplug[cuda]'"
            return
        except Exception as e:  # a CuPy that cannot find its CUDA libraries raises other errors
            self._why = f"cupy failed to import ({type(e).__name__}: {e})"
            return
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # no driver: CUDARuntimeError
            n, self._why = 0, f"CUDA is unusable ({type(e).__name__}: {e})"
        if n == 0:
            self._why = self._why or "CuPy found no CUDA device"
            return
        self.cp, self._count = cupy, n
        try:
            import array_api_compat.cupy as namespace
        except ImportError:  # CuPy itself is NumPy-compatible, which is what generic bodies need
            namespace = cupy
        super().__init__(namespace)
        self._devices = list(range(n))

    def num_devices(self):
        return self._count

    def describe(self):
        cp = self.cp
        devs = []
        for i in range(self._count):
            props = cp.cuda.runtime.getDeviceProperties(i)
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            devs.append(f"gpu({i}): {name} | {props['totalGlobalMem'] / 2**30:.1f} GiB | "
                        f"compute {props['major']}.{props['minor']}")
        return {"version": f"cupy {cp.__version__} (CUDA runtime "
                           f"{cp.cuda.runtime.runtimeGetVersion()})", "devices": devs}

    def asarray(self, obj, dtype, device_id):
        h = np.asarray(obj, dtype=dtype)
        if h.dtype.name not in self.dtypes:
            raise TypeError(f"backend 'cupy' has no {h.dtype.name}")
        with self.cp.cuda.Device(device_id):
            return self.cp.array(h, copy=True)

    def to_numpy(self, a):
        return self.cp.asnumpy(a)  # waits for the stream that produced ``a``

    def copy_to(self, a, other, device_id):
        if other is self:  # device to device, no host round trip
            with self.cp.cuda.Device(device_id):
                return self.cp.array(a, copy=True)
        return other.asarray(self.cp.asnumpy(a), a.dtype, device_id)

    def from_dlpack(self, obj, device_id):
        """A CuPy array sharing memory with a DLPack producer on the GPU (PyTorch, JAX, ...)."""
        with self.cp.cuda.Device(device_id):
            return self.cp.from_dlpack(obj)

    def synchronize(self, device_id):
        # ``mx.nd.waitall()`` calls every loaded backend, this one too when it is unavailable
        # (no devices: nothing to wait for).
        ids = range(self._count) if device_id is None else [device_id]
        for i in ids:
            with self.cp.cuda.Device(i):
                self.cp.cuda.get_current_stream().synchronize()
