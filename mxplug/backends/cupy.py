"""The CUDA backend: CuPy on NVIDIA GPUs, as a specialization of the Array API adapter.

CuPy arrays carry NumPy dtypes, so they are used unwrapped and generic op bodies run on
``array_api_compat.cupy`` (its hottest wrappers replaced, :func:`_fast_namespace`); ops that
would take several launches there have CUDA kernels of their own (``cupy_kernels.py``). Ops run
on CuPy's current stream of the array's device; :meth:`CupyBackend.synchronize` waits for it.
``import cupy`` happens only when the backend is loaded (``mxplug info``, or the first
``mx.gpu()`` context), never at ``import mxplug``.

CI has no GPU: ``tests/gpu/run.sh`` is the check on a machine with one (it ran on an H200).
"""

from __future__ import annotations

import types

import numpy as np

from .array_api import ArrayAPIBackend


def _fast_namespace(compat, cupy):
    """``array_api_compat.cupy`` with its hottest Python wrappers replaced by CuPy's own calls.

    The compat layer wraps a few functions to give them the standard's keywords and promotion
    rules; on a GPU each wrapper frame is host time the kernel cannot hide, and its ``clip``
    (bounds made device arrays, masks, copies: ~0.5 ms a call, measured on an H200) cost more
    than an MLP layer. The replacements keep the standard's meaning for the arguments the
    generic op bodies pass; anything else goes to the compat function."""
    ns = types.ModuleType(f"{compat.__name__}+mxplug")
    ns.__dict__.update({k: getattr(compat, k) for k in dir(compat) if not k.startswith("__")})
    ns.__array_namespace_info__ = compat.__array_namespace_info__
    ns.__array_api_version__ = compat.__array_api_version__
    slow_clip, slow_reshape, slow_astype = compat.clip, compat.reshape, compat.astype

    def clip(x, /, min=None, max=None):
        if not (isinstance(min, (int, float, type(None))) and isinstance(max, (int, float,
                                                                           type(None)))):
            return slow_clip(x, min, max)
        if min is None and max is None:
            return x.copy()
        out = cupy.clip(x, min, max)
        return out if out.dtype == x.dtype else slow_clip(x, min, max)

    def reshape(x, /, shape, copy=None):
        return x.reshape(shape) if copy is None else slow_reshape(x, shape, copy=copy)

    def astype(x, dtype, /, *, copy=True, device=None):
        return x.astype(dtype, copy=copy) if device is None else slow_astype(
            x, dtype, copy=copy, device=device)

    ns.clip, ns.reshape, ns.astype, ns.matmul = clip, reshape, astype, cupy.matmul
    return ns


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
            import array_api_compat.cupy as compat
        except ImportError:  # CuPy itself is NumPy-compatible, which is what generic bodies need
            super().__init__(cupy)
        else:
            super().__init__(_fast_namespace(compat, cupy))
        self._devices = list(range(n))
        from .cupy_kernels import register_fused_cells

        register_fused_cells(self.xp)

    def num_devices(self):
        return self._count

    def kernel(self, op_name):
        from .cupy_kernels import KERNELS  # imports nothing of CuPy until a kernel runs

        return KERNELS.get(op_name) or super().kernel(op_name)

    def device_scope(self, fn):
        """``fn``, an op's resolved callable, run with CuPy's current device set to the GPU of
        its arrays (or of its ``ctx`` attribute, for creation ops): CuPy launches kernels and
        allocates on its current device, so an op on ``gpu(1)`` would otherwise run on GPU 0
        (reading GPU 1 over peer access, or failing without it). With one GPU there is nothing
        to choose and ``fn`` comes back as it is (no cost per call)."""
        if self._count < 2:
            return fn
        cuda, ndarray = self.cp.cuda, self.cp.ndarray

        def on_its_device(*args, **attrs):
            ctx = attrs.get("ctx")
            dev = ctx.device_id if ctx is not None else next(
                (a.device.id for a in args if isinstance(a, ndarray)), None)
            if dev is None or dev == cuda.runtime.getDevice():
                return fn(*args, **attrs)
            with cuda.Device(dev):
                return fn(*args, **attrs)
        return on_its_device

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
