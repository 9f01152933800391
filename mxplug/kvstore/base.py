"""MXNet 1.9.1's key-value store plug-in interface: :class:`KVStoreBase`, its registry and
:func:`create`.

A store written against MXNet's API (Horovod's or BytePS's style: ``broadcast`` and
``pushpull`` over the workers of a job) subclasses :class:`KVStoreBase`, registers itself with
``@KVStoreBase.register`` and is then created by name (``mx.kv.create('mystore')``) or passed
to ``gluon.Trainer(..., kvstore=instance)``. :class:`TestStore` (``'teststore'``) is MXNet's
example of one: a single-worker store that cannot run the optimizer.
"""

from __future__ import annotations

import warnings

from ..base import MXNetTypeError, MXNetValueError
from ..ndarray import NDArray

__all__ = ["KVStoreBase", "TestStore", "create"]


class KVStoreBase:
    """An abstract key-value store interface for data parallel training (MXNet 1.9.1's
    ``mx.kv.KVStoreBase``).

    A subclass implements ``broadcast``, ``pushpull``, ``is_capable`` and the ``type``,
    ``rank`` and ``num_workers`` properties; a store that can run the optimizer
    (``is_capable(KVStoreBase.OPTIMIZER)``) also implements ``set_optimizer`` and
    ``save_optimizer_states`` / ``load_optimizer_states``. ``gluon.Trainer`` uses only these:
    ``broadcast`` to give every copy of a parameter its first value and ``pushpull`` to sum
    the gradients (or, when the store runs the optimizer, to update and return the weights).

    Examples
    --------
    >>> @mx.kv.KVStoreBase.register
    ... class MyStore(mx.kv.KVStoreBase):
    ...     ...
    >>> kv = mx.kv.create('mystore')
    """

    #: The capability of running the optimizer on the store (``is_capable``).
    OPTIMIZER = "optimizer"

    #: Lower-cased class name -> class, for :func:`create`.
    kv_registry: dict = {}

    def broadcast(self, key, value, out, priority=0):
        """Broadcast ``value`` (an NDArray) of rank 0 to all ranks and store it in ``out``
        (an NDArray or a list of them).

        Parameters
        ----------
        key : str or int
        value : NDArray
        out : NDArray or list of NDArray
        priority : int, optional
            Higher priority operations are likely to be executed first.
        """
        raise NotImplementedError()

    def pushpull(self, key, value, out=None, priority=0):
        """Sum ``value`` (an NDArray or a list of them: the copies of one key) over the copies
        and the workers and write the result into ``out`` (default: ``value`` itself). For
        allreduce-based stores there is no server: this is an allreduce.

        Parameters
        ----------
        key : str or int
        value : NDArray or list of NDArray
        out : NDArray or list of NDArray, optional
        priority : int, optional
        """
        raise NotImplementedError()

    def set_optimizer(self, optimizer):
        """Register ``optimizer`` with the store (which then updates the weights)."""
        raise NotImplementedError()

    def is_capable(self, capability):
        """Whether the store supports ``capability`` (e.g. :attr:`OPTIMIZER`).

        Parameters
        ----------
        capability : str

        Returns
        -------
        bool
        """
        raise NotImplementedError()

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Save the optimizer (updater) states to ``fname``; with ``dump_optimizer`` the
        optimizer's settings too."""
        raise NotImplementedError()

    def load_optimizer_states(self, fname):
        """Load the optimizer (updater) states from ``fname``."""
        raise NotImplementedError()

    @property
    def type(self):
        """The type name of this store (str)."""
        raise NotImplementedError()

    @property
    def rank(self):
        """The rank of this worker, in ``[0, num_workers)``."""
        raise NotImplementedError()

    @property
    def num_workers(self):
        """The number of workers."""
        raise NotImplementedError()

    @staticmethod
    def register(klass):
        """Register ``klass`` (a class) under its lower-cased name for :func:`create`; a
        decorator. A name already registered is overridden, with a warning."""
        if not isinstance(klass, type):
            raise MXNetTypeError(f"KVStoreBase.register: Expect: a class / Actual: {klass!r}")
        name = klass.__name__.lower()
        old = KVStoreBase.kv_registry.get(name)
        if old is not None:
            warnings.warn(f"WARNING: New kvstore {klass.__module__}.{klass.__name__} is "
                          f"overriding existing kvstore {old.__module__}.{old.__name__}",
                          stacklevel=2)
        KVStoreBase.kv_registry[name] = klass
        return klass


@KVStoreBase.register
class TestStore(KVStoreBase):
    """A key-value store for testing (MXNet 1.9.1's ``teststore``): one worker, sums the
    copies it is given, and cannot run the optimizer."""

    __test__ = False  # not a pytest test class

    def broadcast(self, key, value, out, priority=0):
        out = out if isinstance(out, list) else [out]
        for o in out:
            o[:] = value

    def pushpull(self, key, value, out=None, priority=0):
        if isinstance(value, NDArray):
            if out is not None:
                out = out if isinstance(out, list) else [out]
                for o in out:
                    o[:] = value
            return
        ctx = value[0].context
        reduced = sum(v.as_in_context(ctx) for v in value)
        for o in (value if out is None else out if isinstance(out, list) else [out]):
            o[:] = reduced

    @staticmethod
    def is_capable(capability):
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return False
        raise MXNetValueError(f"Unknown capability: {capability}")

    @property
    def type(self):
        return "teststore"

    @property
    def rank(self):
        return 0

    @property
    def num_workers(self):
        return 1


def create(name="local"):
    """Create a key-value store.

    A name registered with :meth:`KVStoreBase.register` (case-insensitive; ``'teststore'``
    is) is looked up first and its class instantiated without arguments. Otherwise:
    ``'local'`` and ``'device'`` (also ``'local_update_cpu'``, ``'local_allreduce_cpu'``,
    ``'local_allreduce_device'``) aggregate across the contexts of this process (both sum
    exactly); ``'dist_sync'`` (also ``'dist_sync_device'``, ``'dist_device_sync'``,
    ``'dist'``) sums across the contexts of every rank of an MPI job (a job of one rank
    without mpiexec). ``'dist_async'`` is not available: there are no parameter servers, every
    update is a synchronous allreduce. A :class:`KVStoreBase` instance is returned as is.
    """
    if isinstance(name, KVStoreBase):
        return name
    if not isinstance(name, str):
        raise MXNetTypeError(f"kvstore: name must be a string, got {name!r}")
    key = name.lower()
    klass = KVStoreBase.kv_registry.get(key)
    if klass is not None:
        return klass()
    from .dist import DIST_TYPES
    from .local import LOCAL_TYPES, KVStore

    if key in LOCAL_TYPES:
        return KVStore(key)
    if key in DIST_TYPES:
        from .dist import DistKVStore

        return DistKVStore(key)
    if key.startswith("dist"):
        raise MXNetValueError(f"kvstore {name!r} is not supported: mxplug's MPI layer has no "
                              f"parameter servers, so updates are synchronous; use "
                              f"'dist_sync' (sums gradients over the ranks by allreduce)")
    known = [*LOCAL_TYPES, *DIST_TYPES, *sorted(KVStoreBase.kv_registry)]
    raise MXNetValueError(f"unknown kvstore type {name!r} (known: {', '.join(known)})")
