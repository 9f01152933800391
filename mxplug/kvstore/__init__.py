"""``mx.kv``: key-value stores that aggregate gradients: ``local``/``device`` in one process,
``dist_sync`` across the ranks of an MPI job (:mod:`mxplug.kvstore.dist`), and MXNet 1.9.1's
plug-in interface :class:`KVStoreBase` (``register``, ``kv_registry``; ``'teststore'``)."""

from __future__ import annotations

from . import base
from .base import KVStoreBase, TestStore, create
from .local import KVStore

__all__ = ["KVStore", "KVStoreBase", "TestStore", "create", "base"]
