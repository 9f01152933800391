"""``mx.kv``: key-value stores that aggregate gradients (``local``/``device`` in one process;
``dist_sync`` over MPI arrives with the parallel layer)."""

from __future__ import annotations

from ..base import MXNetValueError
from .local import KVStore

__all__ = ["KVStore", "create"]


def create(name="local") -> KVStore:
    """A key-value store: ``'local'`` and ``'device'`` aggregate across the contexts of this
    process (on the host and on the first device respectively; both sum exactly)."""
    if isinstance(name, KVStore):
        return name
    if name in ("local", "device", "local_update_cpu", "local_allreduce_cpu",
                "local_allreduce_device"):
        return KVStore(name)
    if name.startswith("dist"):
        raise MXNetValueError(f"kvstore {name!r} needs the MPI parallel layer, which this "
                              f"version of mxplug does not have yet; use 'local' or 'device'")
    raise MXNetValueError(f"unknown kvstore type {name!r} (known: local, device)")
