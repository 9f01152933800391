"""``mx.kv.create('dist_sync')``: the key-value store of a data-parallel MPI job.

MXNet semantics without parameter servers: what the ranks push is summed (over each rank's
contexts, then over the ranks by allreduce); ``init`` stores rank 0's value; with an optimizer
set, every rank applies the same update to the same summed gradient, which is what the servers
of MXNet's ``dist_sync`` compute. This module reaches the MPI layer (:mod:`mxplug.parallel`)
lazily when a store is created: the one documented hook from the kvstore floor upwards.
"""

from __future__ import annotations

from ..base import MXNetValueError
from .local import KVStore, _as_list, _per_key

__all__ = ["DistKVStore", "DIST_TYPES"]

#: Accepted names (MXNet's spellings); all are synchronous allreduce over MPI.
DIST_TYPES = ("dist_sync", "dist_sync_device", "dist_device_sync", "dist")


class DistKVStore(KVStore):
    """MXNet's ``KVStore`` over MPI: ``init``/``push``/``pull``/``pushpull``/``broadcast``,
    ``rank`` and ``num_workers`` of the job.

    Parameters
    ----------
    kvtype : str
        One of :data:`DIST_TYPES`.
    comm : mxplug.parallel.Communicator, optional
        Default: the world communicator.
    bucket_bytes : int, optional
        Capacity of the fused gradient buckets :class:`gluon.Trainer` uses
        (default ``MXPLUG_BUCKET_BYTES`` or 4 MiB).
    """

    def __init__(self, kvtype="dist_sync", comm=None, bucket_bytes=None):
        if kvtype not in DIST_TYPES:
            raise MXNetValueError(f"DistKVStore: Expect: type in {DIST_TYPES} / Actual: {kvtype!r}")
        super().__init__(kvtype)
        from .. import parallel

        self._comm = comm if comm is not None else parallel.init()
        self._bucket_bytes = bucket_bytes
        self._buckets = None

    @property
    def rank(self) -> int:
        return self._comm.rank

    @property
    def num_workers(self) -> int:
        return self._comm.size

    @property
    def comm(self):
        """The :class:`~mxplug.parallel.Communicator` of this store."""
        return self._comm

    def init(self, key, value):
        """Store rank 0's ``value`` under ``key`` on every rank."""
        for k, v in zip(self._keys(key), _per_key(key, value)):
            stored = _as_list(v)[0].copy()
            self._comm.broadcast(stored, 0)
            self._store[k] = stored

    def _sum(self, values):
        total = super()._sum(values)  # over this rank's contexts
        return self._comm.allreduce(total, "sum", out=total)

    def barrier(self):
        """Wait for every worker."""
        self._comm.barrier()

    _barrier = barrier

    # -- the data-parallel Trainer's fast path ---------------------------------------------------
    def broadcast_parameters(self, params, root=0):
        """Give every rank ``root``'s parameters (deferred ones when they initialise)."""
        from ..parallel.params import sync_parameters

        sync_parameters(params, self._comm, root)

    def allreduce_grads(self, grad_lists, average=False, control=None):
        """Sum each parameter's gradients over its contexts and over the ranks (``average``:
        divide by the number of ranks), in place on every context, through fused buckets.

        ``control`` (float64 NumPy array) is summed alongside and returned.
        """
        from ..parallel.buckets import GradientBuckets

        firsts = []
        for grads in grad_lists:
            g0 = grads[0]
            for g in grads[1:]:
                g0 += g.as_in_context(g0.context)
            firsts.append(g0)
        if self._buckets is None or not self._buckets.matches(firsts):
            self._buckets = GradientBuckets(firsts, self._comm, self._bucket_bytes)
        control = self._buckets.allreduce("mean" if average else "sum", control)
        for grads in grad_lists:
            for g in grads[1:]:
                g[...] = grads[0].as_in_context(g.context)
        return control
