"""The reference backend: NumPy on the CPU. Every generic impl runs here as written.

A specialization of the Array API adapter (:mod:`mxplug.backends.array_api`) with NumPy itself as
``xp`` (NumPy's arrays carry NumPy dtypes, so nothing is wrapped) and its own fast paths: copies
with ``np.array``, kernels for the hot ops, and ``host_buffers`` for graph memory planning.
"""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

from .. import base
from . import lowp
from .array_api import ArrayAPIBackend

#: glibc's malloc, tuned when the backend starts unless this is "0" or the user set glibc's own
#: MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_.
MALLOC_TUNING_ENV = "MXPLUG_MALLOC_TUNING"


def tune_malloc() -> bool:
    """Keep freed multi-megabyte buffers in the heap instead of handing them back to the OS.

    By default glibc serves arrays above a (dynamic) threshold with ``mmap`` and trims the heap
    eagerly, so a training step's fresh im2col and gradient buffers page-fault on every use:
    LeNet's step takes ~35% longer. As MXNet's and PyTorch's pooled CPU allocators do, keep the
    memory: allocations up to 256 MiB come from the heap, and the heap is trimmed only past
    512 MiB free. Returns whether the setting was applied (glibc only)."""
    if os.environ.get(MALLOC_TUNING_ENV, "1") == "0" or not sys.platform.startswith("linux") \
            or "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs: nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 256 << 20)) and bool(mallopt(m_trim_threshold,
                                                                        512 << 20))


class NumpyBackend(ArrayAPIBackend):
    name = "numpy"
    device_type = "cpu"
    namespace = np
    xp = ns = np
    wrapped = False
    host_buffers = True

    @property
    def dtypes(self):
        """ArrayAPIBackend's set, plus bfloat16 (through ``ml_dtypes``) when it is installed."""
        if self._bfloat16 is None:
            try:
                base.bfloat16()
                self._bfloat16 = ("bfloat16",)
            except base.MXNetTypeError:
                self._bfloat16 = ()
        return ArrayAPIBackend.dtypes + self._bfloat16

    def __init__(self):
        # NumPy itself is the namespace, with no array_api_compat layer in between: the generic
        # bodies are written to NumPy's behaviour, and every call through a layer costs.
        self._why, self._devices = None, [None]
        self.malloc_tuned = tune_malloc()
        self._bfloat16 = None  # ("bfloat16",) or (), found on first look at `dtypes`
        lowp.install()  # float16/bfloat16 GEMMs in float32, once a 2-byte float is used

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

    def kernel(self, op_name):
        # float16/bfloat16 GEMMs through float32 (lowp.py)
        return lowp.kernel(op_name) or super().kernel(op_name)
