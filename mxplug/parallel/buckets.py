"""Fused gradient buckets: many arrays allreduced as a few large flat buffers.

One MPI call per parameter pays the per-message latency ~60 times for a ResNet-18; one call per
bucket of a few MB pays it a handful of times and keeps each message large enough to run at full
bandwidth. Arrays on a host-buffer backend (numpy) become *views* into their bucket's flat buffer
(as PyTorch DDP's ``gradient_as_bucket_view``): autograd writes gradients straight into the
bucket, so a step copies nothing. Other backends are packed into and unpacked from the host
buffer around the allreduce.
"""

from __future__ import annotations

import os

import numpy as np

from ..base import MXNetValueError

__all__ = ["GradientBuckets", "DEFAULT_BUCKET_BYTES", "default_bucket_bytes"]

#: 4 MiB: within 5% of one big buffer's bandwidth at 2 ranks (docs/parallel.md), small enough
#: that a model is split into several buckets that MPI progresses together.
DEFAULT_BUCKET_BYTES = 4 << 20


def default_bucket_bytes() -> int:
    """``MXPLUG_BUCKET_BYTES`` if set, else :data:`DEFAULT_BUCKET_BYTES`."""
    env = os.environ.get("MXPLUG_BUCKET_BYTES")
    if not env:
        return DEFAULT_BUCKET_BYTES
    try:
        value = int(float(env))
    except ValueError:
        value = 0
    if value <= 0:
        raise MXNetValueError(f"MXPLUG_BUCKET_BYTES: Expect: a positive byte count / "
                              f"Actual: {env!r}")
    return value


class _Slot:
    __slots__ = ("nd", "start", "stop", "view")

    def __init__(self, nd, start, stop):
        self.nd, self.start, self.stop, self.view = nd, start, stop, None


class _Bucket:
    def __init__(self, dtype, wire, slots, size):
        self.dtype, self.wire, self.slots = dtype, wire, slots
        self.flat = np.zeros(size, wire)
        self.adopted = 0  # how often an array had left its view (a copy each time)

    def bind_views(self):
        """Make host arrays views of ``flat`` (their values are copied in first)."""
        for s in self.slots:
            be = s.nd.context.backend
            if getattr(be, "host_buffers", False) and self.wire == self.dtype:
                seg = self.flat[s.start:s.stop]
                seg[...] = np.asarray(s.nd._data).reshape(-1)
                s.view = seg.reshape(s.nd.shape)
                s.nd._data = s.view

    def pack(self):
        for s in self.slots:
            data = s.nd._data
            if s.view is not None and data is s.view:
                continue  # the gradient already lives in the bucket
            if s.view is not None:
                # the array got a new buffer (e.g. re-initialised): adopt it into the bucket again
                self.flat[s.start:s.stop] = np.asarray(data).reshape(-1)
                s.nd._data = s.view
                self.adopted += 1
                continue
            host = s.nd.context.backend.to_numpy(data)
            self.flat[s.start:s.stop] = host.reshape(-1)

    def unpack(self):
        for s in self.slots:
            if s.view is not None:
                continue
            be, ctx = s.nd.context.backend, s.nd.context
            value = self.flat[s.start:s.stop].reshape(s.nd.shape).astype(self.dtype, copy=False)
            be.setitem(s.nd._data, Ellipsis, be.asarray(value, self.dtype, ctx.device_id))


class GradientBuckets:
    """Allreduce a fixed list of NDArrays in place, fused into flat buffers.

    Parameters
    ----------
    arrays : list of NDArray
        What to reduce (typically each parameter's gradient on this rank). Arrays are grouped by
        dtype, in the given order, into buckets of at most ``bucket_bytes`` (an array larger
        than that gets a bucket of its own).
    comm : Communicator
        The group to reduce over.
    bucket_bytes : int, optional
        Bucket capacity; default ``MXPLUG_BUCKET_BYTES`` or 4 MiB.

    Notes
    -----
    Arrays on the numpy backend are re-pointed at views of their bucket (same values, same
    NDArray object): keep using the NDArray, not a NumPy array taken from it earlier.
    """

    def __init__(self, arrays, comm, bucket_bytes=None):
        self.comm = comm
        self.bucket_bytes = default_bucket_bytes() if bucket_bytes is None else int(bucket_bytes)
        if self.bucket_bytes <= 0:
            raise MXNetValueError(f"GradientBuckets: Expect: bucket_bytes > 0 / Actual: "
                                  f"{bucket_bytes}")
        self.arrays = list(arrays)
        self._shapes = [a.shape for a in self.arrays]
        self.buckets: list[_Bucket] = []
        open_: dict = {}  # dtype -> (slots, size) of the bucket being filled
        for a in self.arrays:
            dtype = np.dtype(a.dtype)
            slots, size = open_.get(dtype, ([], 0))
            n = a.size
            if slots and (size + n) * dtype.itemsize > self.bucket_bytes:
                self._close(dtype, slots, size)
                slots, size = [], 0
            slots.append(_Slot(a, size, size + n))
            open_[dtype] = (slots, size + n)
        for dtype, (slots, size) in open_.items():
            if slots:
                self._close(dtype, slots, size)
        for b in self.buckets:
            b.bind_views()

    def _close(self, dtype, slots, size):
        from .comm import _wire_dtype

        self.buckets.append(_Bucket(dtype, _wire_dtype(dtype, reduce=True), slots, size))

    @property
    def adopted(self) -> int:
        """How many times an array was found outside its bucket view and copied back in (0 when
        gradients are written in place, as autograd does)."""
        return sum(b.adopted for b in self.buckets)

    @property
    def layout(self) -> list:
        """``[(elements, dtype name), ...]`` per bucket (what the collective check compares)."""
        return [(b.flat.size, b.dtype.name) for b in self.buckets]

    def matches(self, arrays) -> bool:
        """Whether these are the same arrays (objects and shapes) the buckets were built for."""
        return len(arrays) == len(self.arrays) and all(
            a is b and a.shape == shape for a, b, shape in zip(arrays, self.arrays, self._shapes))

    def allreduce(self, op="sum", control=None):
        """Sum (``op='sum'``) or average (``'mean'``) every array over the ranks, in place.

        ``control`` (a small float64 NumPy array) is summed over the ranks alongside, in the same
        round of nonblocking calls; it is returned (summed) for flags such as "still training".
        """
        from .comm import mpi

        comm = self.comm
        if op not in ("sum", "mean"):
            raise MXNetValueError(f"GradientBuckets.allreduce: Expect: op 'sum' or 'mean' / "
                                  f"Actual: {op!r}")
        comm._verify("allreduce_buckets", [], layout=self.layout,
                     control=None if control is None else len(control))
        for b in self.buckets:
            b.pack()
        if comm.size > 1:
            MPI = mpi()
            pending = []
            if control is not None:  # tiny: travels while the first bucket does
                control = np.ascontiguousarray(control, np.float64)
                pending.append(comm.mpi_comm.Iallreduce(MPI.IN_PLACE, control, MPI.SUM))
            # One bucket in flight at a time: MPICH reduces a few-MB message in cache, while
            # concurrent ones thrash it (44.6 MiB in 4 MiB buckets: 31 ms at once, 17 ms in turn)
            for b in self.buckets:
                if b.flat.size:
                    comm.wait(pending + [comm.mpi_comm.Iallreduce(MPI.IN_PLACE, b.flat, MPI.SUM)])
                    pending = []
            comm.wait(pending)
            if op == "mean":
                for b in self.buckets:
                    b.flat /= comm.size
        for b in self.buckets:
            b.unpack()
        return control
