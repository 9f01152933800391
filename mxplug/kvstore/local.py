"""A single-process key-value store: sums what is pushed from several contexts, hands the sum
(or the optimizer-updated value) back on pull."""

from __future__ import annotations

from ..base import MXNetValueError, atomic_write
from .base import KVStoreBase

__all__ = ["KVStore", "LOCAL_TYPES"]

#: The names of the single-process stores (MXNet's spellings; all sum exactly).
LOCAL_TYPES = ("local", "device", "local_update_cpu", "local_allreduce_cpu",
               "local_allreduce_device")


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class KVStore(KVStoreBase):
    """MXNet's ``KVStore`` for one process: ``init``, ``push``, ``pull``, ``pushpull``,
    ``broadcast``, ``set_optimizer``; ``rank`` 0 of ``num_workers`` 1. It can run the
    optimizer (``is_capable(KVStoreBase.OPTIMIZER)``)."""

    def __init__(self, kvtype="local"):
        self._type = kvtype
        self._store: dict = {}
        self._updater = None
        self._key_type = None  # int or str, fixed by the first key used

    rank = 0
    num_workers = 1

    @property
    def type(self):
        """The type name this store was created with (``'local'``, ``'device'``, ...)."""
        return self._type

    def is_capable(self, capability):
        """True for :attr:`KVStoreBase.OPTIMIZER`; ValueError for an unknown capability."""
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise MXNetValueError(f"Unknown capability: {capability}")

    def _keys(self, key):
        keys = _as_list(key)
        for k in keys:
            if not isinstance(k, (int, str)):
                raise MXNetValueError(f"kvstore: keys must be int or str, got {k!r}")
            kind = str if isinstance(k, str) else int
            if self._key_type is None:
                self._key_type = kind
            elif kind is not self._key_type:  # MXNet keeps one kind of key per store
                raise MXNetValueError(f"kvstore: key {k!r} is a {kind.__name__}, but this store "
                                      f"uses {self._key_type.__name__} keys; do not mix them")
        return keys

    def init(self, key, value):
        for k, v in zip(self._keys(key), _per_key(key, value)):
            v = _as_list(v)[0]
            self._store[k] = v.copy()

    def _sum(self, values):
        values = _as_list(values)
        ctx = values[0].context
        total = values[0].copy()
        for v in values[1:]:
            total += v.as_in_context(ctx)
        return total

    def push(self, key, value, priority=0):
        for k, v in zip(self._keys(key), _per_key(key, value)):
            if k not in self._store:
                raise MXNetValueError(f"kvstore: push to key {k!r} before init")
            total = self._sum(v)
            if self._updater is not None:
                stored = self._store[k]
                self._updater(k, total.as_in_context(stored.context), stored)
            else:
                self._store[k] = total

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        for k, outs in zip(self._keys(key), _per_key(key, out)):
            if k not in self._store:
                raise MXNetValueError(f"kvstore: pull of key {k!r} before init")
            for o in _as_list(outs):
                o[:] = self._store[k].as_in_context(o.context)

    def pushpull(self, key, value, out=None, priority=0):
        """Sum ``value`` over its contexts and write the sum (or the update) into ``out``."""
        if self._updater is None:
            for k, v, o in zip(self._keys(key), _per_key(key, value),
                               _per_key(key, out if out is not None else value)):
                total = self._sum(v)
                self._store[k] = total
                for dst in _as_list(o):
                    dst[:] = total.as_in_context(dst.context)
            return
        self.push(key, value, priority)
        self.pull(key, out if out is not None else value, priority)

    def broadcast(self, key, value, out, priority=0):
        self.init(key, value)
        self.pull(key, out, priority)

    def _set_updater(self, updater):
        """Set ``updater(key, merged_gradient, stored)``, run by push on this process's store
        (MXNet's local-only hook; ``set_optimizer`` is the usual way)."""
        self._updater = updater

    def set_optimizer(self, optimizer):
        from ..optimizer import get_updater
        self._updater = get_updater(optimizer)

    def save_optimizer_states(self, fname, dump_optimizer=False):
        if self._updater is None:
            raise MXNetValueError("kvstore: no optimizer is set")
        blob = self._updater.get_states(dump_optimizer)
        atomic_write(fname, lambda f: f.write(blob), "optimizer states file")

    def load_optimizer_states(self, fname):
        if self._updater is None:
            raise MXNetValueError("kvstore: no optimizer is set")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())


def _per_key(key, value):
    """Values grouped per key: a single key takes ``value`` whole (one array or a list of
    per-context arrays)."""
    if isinstance(key, (list, tuple)):
        return list(value)
    return [value]

