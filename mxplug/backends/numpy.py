"""The reference backend: NumPy on the CPU. Every generic impl runs here as written."""

from __future__ import annotations

import numpy as np

from .protocol import BackendBase


class NumpyBackend(BackendBase):
    name = "numpy"
    device_type = "cpu"
    xp = np
    host_buffers = True

    def num_devices(self):
        return None  # cpu(i) ids are virtual, as in MXNet

    def describe(self):
        return {"version": f"numpy {np.__version__}", "devices": ["cpu (host memory)"]}

    def asarray(self, obj, dtype, device_id):
        return np.array(obj, dtype=dtype, copy=True)

    def to_numpy(self, a):
        return np.array(a, copy=True)

    def copy_to(self, a, other, device_id):
        return other.asarray(a, a.dtype, device_id)

    def from_dlpack(self, obj, device_id):
        return np.from_dlpack(obj)
