"""``mx.kv``: key-value stores that aggregate gradients: ``local``/``device`` in one process,
``dist_sync`` across the ranks of an MPI job (:mod:`mxplug.kvstore.dist`)."""

from __future__ import annotations

from ..base import MXNetValueError
from .local import KVStore

__all__ = ["KVStore", "create"]

_LOCAL = ("local", "device", "local_update_cpu", "local_allreduce_cpu", "local_allreduce_device")


def create(name="local") -> KVStore:
    """A key-value store.

    ``'local'`` and ``'device'`` aggregate across the contexts of this process (both sum
    exactly). ``'dist_sync'`` (also ``'dist_sync_device'``, ``'dist_device_sync'``, ``'dist'``)
    sums across the contexts of every rank of an MPI job (a job of one rank without mpiexec).
    ``'dist_async'`` is not available: there are no parameter servers, every update is a
    synchronous allreduce.
    """
    if isinstance(name, KVStore):
        return name
    if not isinstance(name, str):
        raise MXNetValueError(f"kvstore: Expect: a type name or a KVStore / Actual: {name!r}")
    if name in _LOCAL:
        return KVStore(name)
    from .dist import DIST_TYPES

    if name in DIST_TYPES:
        from .dist import DistKVStore

        return DistKVStore(name)
    if name.startswith("dist"):
        raise MXNetValueError(f"kvstore {name!r} is not supported: mxplug's MPI layer has no "
                              f"parameter servers, so updates are synchronous; use "
                              f"'dist_sync' (sums gradients over the ranks by allreduce)")
    raise MXNetValueError(f"unknown kvstore type {name!r} (known: {', '.join(_LOCAL)}, "
                          f"{', '.join(DIST_TYPES)})")
