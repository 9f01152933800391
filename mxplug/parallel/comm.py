"""The MPI communicator: collectives and point-to-point transfers on NDArrays of every backend.

Buffers
-------
An NDArray on a backend whose arrays are host NumPy arrays (``host_buffers``: the numpy backend)
is handed to MPI as it is: zero copy, the result lands in the array's own memory. Other backends
are staged through a host copy (OpenCL), unless the backend offers ``mpi_buffer(array)`` (an
object MPI reads in device memory: DLPack / ``__cuda_array_interface__``) *and* the MPI library is
GPU-aware (:func:`gpu_aware_mpi`): that is the seam the CUDA backend fills.

Waiting
-------
Every operation is issued nonblocking and completed by :meth:`Communicator.wait`, which polls
``Test()`` and sleeps between polls: with more ranks than cores MPICH's blocking calls spin and
slow the ranks that compute 2-3x (docs/parallel.md has the measurements).
"""

from __future__ import annotations

import os
import pickle
import time

import numpy as np

from ..base import MXNetError, MXNetTypeError, MXNetValueError
from . import check as _check

__all__ = ["Communicator", "mpi", "gpu_aware_mpi", "REDUCE_OPS"]

REDUCE_OPS = ("sum", "mean", "max", "min", "prod")
_MPI = None


def mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI: done only on first use)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise MXNetError(f"mxplug.parallel needs mpi4py and an MPI library ({e}); "
                             f"install them with: pip install 'mxplug[mpi]'") from None
        _MPI = MPI
    return _MPI


def gpu_aware_mpi() -> bool:
    """Whether MPI can read device (CUDA) memory directly.

    ``MXPLUG_GPU_AWARE_MPI=1|0`` decides; otherwise the MPI library is asked through its
    ``MPIX_Query_cuda_support`` extension (Open MPI, MPICH >= 4 built with CUDA).
    """
    env = os.environ.get("MXPLUG_GPU_AWARE_MPI")
    if env is not None:
        return env.strip() not in ("", "0", "false", "no")
    import ctypes

    mpi()  # the MPI library is loaded (RTLD_GLOBAL) once mpi4py.MPI is imported
    try:
        query = ctypes.CDLL(None).MPIX_Query_cuda_support
    except (AttributeError, OSError):
        return False
    query.restype = ctypes.c_int
    return bool(query())


def _wait_policy(local_size: int) -> tuple[float, float]:
    """(spin seconds, sleep seconds) for :meth:`Communicator.wait`.

    Measured with MPICH 5 on 2 cores (docs/parallel.md): when every rank has its own core,
    spinning a little catches small messages in microseconds and costs nothing; with more
    ranks than cores a spinning waiter halves the speed of the rank that computes, while
    sleeping 0.2 ms between polls keeps it within ~10% and adds ~1 ms of latency.
    ``MXPLUG_MPI_WAIT="spin_s,sleep_s"`` overrides (``"inf,0"`` spins like a blocking call).
    """
    env = os.environ.get("MXPLUG_MPI_WAIT")
    if env:
        try:
            spin, sleep = (float(v) for v in env.split(","))
        except ValueError:
            raise MXNetValueError(f"MXPLUG_MPI_WAIT: Expect: 'spin_seconds,sleep_seconds' / "
                                  f"Actual: {env!r}") from None
        return spin, sleep
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if local_size > (cores or 1):
        return 5e-5, 2e-4
    return 2e-3, 1e-4


def _nd():
    from .. import ndarray

    return ndarray


def _as_nd(x, what):
    NDArray = _nd().NDArray
    if not isinstance(x, NDArray):
        raise MXNetTypeError(f"{what}: Expect: an NDArray / Actual: {type(x).__name__}")
    return x


def _wire_dtype(dtype: np.dtype, reduce: bool) -> np.dtype:
    """The dtype a buffer travels in: MPI has no float16 arithmetic (reduced in float32) and
    sums bools as bytes (then read back as "any")."""
    if dtype == np.float16:
        return np.dtype(np.float32) if reduce else np.dtype(np.uint16)
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    return dtype


class _Buffer:
    """The host (or device) buffer MPI reads/writes for one NDArray, and how to write it back."""

    __slots__ = ("nd", "buf", "staged", "wire")

    def __init__(self, x, reduce=False, need_values=True):
        self.nd = x
        data, be = x._data, x.context.backend
        dtype = np.dtype(data.dtype)
        self.wire = _wire_dtype(dtype, reduce)
        self.staged = True
        if getattr(be, "host_buffers", False):
            if (self.wire == dtype and data.flags.c_contiguous and data.flags.writeable):
                self.buf, self.staged = data, False  # zero copy
            elif self.wire.itemsize == dtype.itemsize and self.wire.kind in "ub" and \
                    data.flags.c_contiguous and data.flags.writeable and not reduce:
                self.buf, self.staged = data.view(self.wire), False  # same bits, other name
            else:
                self.buf = np.ascontiguousarray(data).astype(self.wire, copy=True)
            return
        mpi_buffer = getattr(be, "mpi_buffer", None)
        if mpi_buffer is not None and self.wire == dtype and gpu_aware_mpi():
            be.synchronize(x.context.device_id)  # MPI reads device memory: kernels must be done
            self.buf, self.staged = mpi_buffer(data), False
            return
        if need_values:
            self.buf = np.ascontiguousarray(be.to_numpy(data)).astype(self.wire, copy=False)
        else:
            self.buf = np.empty(data.shape, self.wire)

    def flat(self):
        return self.buf.reshape(-1) if isinstance(self.buf, np.ndarray) else self.buf

    def write_back(self, divide=None):
        """Copy a staged result into the NDArray (and finish a mean)."""
        x = self.nd
        if divide is not None:
            if isinstance(self.buf, np.ndarray) and self.buf.dtype.kind == "f":
                self.buf /= divide
            elif self.staged:
                raise MXNetTypeError("allreduce: op='mean' needs a floating-point array")
        if not self.staged:
            if divide is not None and not isinstance(self.buf, np.ndarray):
                x[...] = x / divide  # device buffer: divide on the device
            return
        be = x.context.backend
        value = self.buf.astype(np.dtype(x._data.dtype), copy=False)
        if np.dtype(x._data.dtype) == np.bool_:
            value = self.buf != 0
        be.setitem(x._data, Ellipsis, be.asarray(value, value.dtype, x.context.device_id)
                   if not getattr(be, "host_buffers", False) else value)


class Communicator:
    """A group of MPI processes exchanging NDArrays.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The group. Default: a duplicate of ``COMM_WORLD`` (a private context, so messages of
        user code that uses mpi4py directly never match mxplug's).

    Notes
    -----
    Every rank of the group must call the same collectives in the same order with arrays of the
    same shapes and dtypes; ``MXPLUG_CHECK_COLLECTIVES=1`` verifies it before each call. Use
    :func:`mxplug.parallel.init` for the shared world communicator. The operations are not
    recorded by autograd: they move values, they do not differentiate.
    """

    def __init__(self, comm=None):
        MPI = mpi()
        self._comm = MPI.COMM_WORLD.Dup() if comm is None else comm
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()
        self._node = None
        self._spin, self._sleep = _wait_policy(self.local_size)
        self.check = _check.enabled()

    # -- topology ---------------------------------------------------------------------------------
    @property
    def mpi_comm(self):
        """The underlying ``mpi4py.MPI.Comm`` (private to mxplug: do not send on it)."""
        return self._comm

    def _node_comm(self):
        if self._node is None:
            self._node = self._comm.Split_type(mpi().COMM_TYPE_SHARED, key=self.rank)
        return self._node

    @property
    def local_rank(self) -> int:
        """The rank among the processes of this machine (picks the device of this rank)."""
        return self._node_comm().Get_rank()

    @property
    def local_size(self) -> int:
        """How many ranks of this group share this machine."""
        return self._node_comm().Get_size()

    def split(self, color: int, key: int | None = None) -> Communicator:
        """Sub-groups of the ranks passing the same ``color`` (ordered by ``key``)."""
        self._verify("split", [])
        return Communicator(self._comm.Split(int(color), self.rank if key is None else int(key)))

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size})"

    # -- waiting ----------------------------------------------------------------------------------
    def wait(self, requests) -> None:
        """Complete MPI requests without burning a core: spin briefly, then sleep between
        ``Test`` calls (see :func:`_wait_policy`)."""
        MPI = mpi()
        reqs = list(requests) if isinstance(requests, (list, tuple)) else [requests]
        if not reqs or MPI.Request.Testall(reqs):
            return
        end = time.perf_counter() + self._spin
        while time.perf_counter() < end:
            if MPI.Request.Testall(reqs):
                return
        sleep = self._sleep
        while not MPI.Request.Testall(reqs):
            time.sleep(sleep)

    def _verify(self, what, arrays, **attrs):
        if self.check and self.size > 1:
            _check.verify(self, what, arrays, **attrs)

    # -- collectives on NDArrays ------------------------------------------------------------------
    def allreduce(self, x, op: str = "sum", out=None):
        """Reduce ``x`` over all ranks; every rank gets the result.

        Parameters
        ----------
        x : NDArray
            This rank's contribution (same shape and dtype on every rank).
        op : {'sum', 'mean', 'max', 'min', 'prod'}
            The reduction; ``'mean'`` is the sum divided by ``size`` (floating point only).
        out : NDArray, optional
            Where to write the result (may be ``x`` itself: in place). Default: a new array on
            ``x``'s context.

        Returns
        -------
        NDArray
            ``out``.
        """
        x = _as_nd(x, "allreduce")
        mpi_op = self._reduce_op(op)
        if out is None:
            from .. import autograd

            with autograd.pause():  # collectives are not differentiable: keep them off the tape
                out = x.copy()
        else:
            _as_nd(out, "allreduce")
            if out.shape != x.shape or out.dtype != x.dtype:
                raise MXNetValueError(f"allreduce: Expect: out of shape {x.shape} and dtype "
                                      f"{np.dtype(x.dtype).name} / Actual: {out.shape}, "
                                      f"{np.dtype(out.dtype).name}")
            if out is not x:
                from .. import autograd

                with autograd.pause():
                    out[...] = x
        self._verify("allreduce", [x], op=op)
        if op == "mean" and np.dtype(x.dtype).kind != "f":
            raise MXNetTypeError(f"allreduce: op='mean' needs a floating-point array, got "
                                 f"{np.dtype(x.dtype).name}")
        if self.size == 1 or x.size == 0:
            return out
        b = _Buffer(out, reduce=True)
        self.wait(self._comm.Iallreduce(mpi().IN_PLACE, b.flat(), mpi_op))
        b.write_back(divide=self.size if op == "mean" else None)
        return out

    def broadcast(self, x, root: int = 0):
        """Overwrite ``x`` on every rank with ``root``'s ``x`` (in place); returns ``x``."""
        x = _as_nd(x, "broadcast")
        self._check_rank(root, "root")
        self._verify("broadcast", [x], root=root)
        if self.size == 1 or x.size == 0:
            return x
        b = _Buffer(x, need_values=self.rank == root)
        self.wait(self._comm.Ibcast(b.flat(), root))
        if self.rank != root:
            b.write_back()
        return x

    def allgather(self, x):
        """Concatenate every rank's ``x`` along axis 0 (in rank order).

        The first dimension may differ between ranks; the others and the dtype must agree.
        A 0-d array is gathered as shape ``(1,)``.
        """
        x = _as_nd(x, "allgather")
        if x.ndim == 0:
            x = x.reshape((1,))
        self._verify("allgather", [x], shape_tail=x.shape[1:])
        if self.size == 1:
            return x.copy()
        rows = np.empty(self.size, np.int64)
        self.wait(self._comm.Iallgather(np.array([x.shape[0]], np.int64), rows))
        row = int(np.prod(x.shape[1:], dtype=np.int64))
        src = _Buffer(x)
        out = np.empty((int(rows.sum()),) + x.shape[1:], src.wire)
        counts = (rows * row).tolist()
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        self.wait(self._comm.Iallgatherv(src.flat(), [out.reshape(-1), (counts, displs)]))
        return self._from_host(out, x)

    def reduce_scatter(self, x, op: str = "sum"):
        """Reduce ``x`` over all ranks and give rank ``r`` the ``r``-th block of the result along
        axis 0 (blocks as ``numpy.array_split``: the first ``len % size`` get one more row)."""
        x = _as_nd(x, "reduce_scatter")
        mpi_op = self._reduce_op(op)
        if x.ndim == 0:
            raise MXNetValueError("reduce_scatter: Expect: an array with at least one axis / "
                                  "Actual: a 0-d array")
        self._verify("reduce_scatter", [x], op=op)
        if op == "mean" and np.dtype(x.dtype).kind != "f":
            raise MXNetTypeError("reduce_scatter: op='mean' needs a floating-point array")
        n, rest = divmod(x.shape[0], self.size)
        rows = [n + (r < rest) for r in range(self.size)]
        if self.size == 1:
            return x.copy()
        row = int(np.prod(x.shape[1:], dtype=np.int64))
        src = _Buffer(x, reduce=True)
        out = np.empty((rows[self.rank],) + x.shape[1:], src.wire)
        self.wait(self._comm.Ireduce_scatter(src.flat(), out.reshape(-1),
                                             [r * row for r in rows], mpi_op))
        if op == "mean":
            out /= self.size
        return self._from_host(out, x)

    def barrier(self) -> None:
        """Wait until every rank has reached this call (sleeping, not spinning)."""
        self._verify("barrier", [])
        if self.size > 1:
            self.wait(self._comm.Ibarrier())

    # -- point to point ---------------------------------------------------------------------------
    def send(self, x, dest: int, tag: int = 0) -> None:
        """Send ``x`` to rank ``dest``; returns when ``x`` may be reused."""
        x = _as_nd(x, "send")
        self._check_rank(dest, "dest")
        b = _Buffer(x)
        self.wait(self._comm.Isend(b.flat(), dest, tag))

    def recv(self, out=None, source: int = 0, tag: int = 0, shape=None, dtype="float32",
             ctx=None):
        """Receive an array from rank ``source`` into ``out`` (in place), or into a new array of
        ``shape``/``dtype`` on ``ctx``; returns it."""
        if out is None:
            if shape is None:
                raise MXNetValueError("recv: give out= (an NDArray to fill) or shape=")
            out = _nd().empty(shape, ctx=ctx, dtype=dtype)
        out = _as_nd(out, "recv")
        self._check_rank(source, "source")
        b = _Buffer(out, need_values=False)
        self.wait(self._comm.Irecv(b.flat(), source, tag))
        b.write_back()
        return out

    # -- Python objects ---------------------------------------------------------------------------
    def broadcast_object(self, obj, root: int = 0):
        """``root``'s picklable ``obj`` on every rank (for small metadata, not tensors)."""
        self._check_rank(root, "root")
        self._verify("broadcast_object", [], root=root)
        return self._bcast_object(obj, root)

    def allgather_object(self, obj) -> list:
        """Every rank's picklable ``obj``, in rank order."""
        self._verify("allgather_object", [])
        return self._allgather_object(obj)

    def _bcast_object(self, obj, root):
        if self.size == 1:
            return obj
        data = pickle.dumps(obj) if self.rank == root else b""
        n = np.array([len(data)], np.int64)
        self.wait(self._comm.Ibcast(n, root))
        buf = np.frombuffer(data, np.uint8).copy() if self.rank == root else np.empty(
            int(n[0]), np.uint8)
        self.wait(self._comm.Ibcast(buf, root))
        return obj if self.rank == root else pickle.loads(buf.tobytes())

    def _allgather_object(self, obj):
        if self.size == 1:
            return [obj]
        data = np.frombuffer(pickle.dumps(obj), np.uint8)
        sizes = np.empty(self.size, np.int64)
        self.wait(self._comm.Iallgather(np.array([data.size], np.int64), sizes))
        out = np.empty(int(sizes.sum()), np.uint8)
        displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
        self.wait(self._comm.Iallgatherv(data, [out, (sizes.tolist(), displs)]))
        return [pickle.loads(out[d:d + s].tobytes()) for d, s in zip(displs, sizes.tolist())]

    # -- helpers ----------------------------------------------------------------------------------
    def _reduce_op(self, op):
        MPI = mpi()
        ops = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}
        if op not in ops:
            raise MXNetValueError(f"Expect: op in {REDUCE_OPS} / Actual: {op!r}")
        return ops[op]

    def _check_rank(self, r, what):
        if not (isinstance(r, (int, np.integer)) and 0 <= r < self.size):
            raise MXNetValueError(f"Expect: {what} in [0, {self.size}) / Actual: {r!r}")

    @staticmethod
    def _from_host(host, like):
        """A new NDArray on ``like``'s context and dtype from a host result."""
        dtype = np.dtype(like.dtype)
        if dtype == np.bool_:
            host = host != 0
        elif dtype == np.float16 and host.dtype == np.uint16:
            host = host.view(np.float16)
        host = host.astype(dtype, copy=False)
        if getattr(like.context.backend, "host_buffers", False):
            return _nd().NDArray._wrap(host, like.context)  # already a fresh host array
        return _nd().array(host, ctx=like.context, dtype=dtype)
