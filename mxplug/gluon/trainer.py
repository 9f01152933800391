"""``gluon.Trainer``: applies an optimizer to a set of Parameters, aggregating gradients over the
contexts the parameters live on and, with ``kvstore='dist_sync'``, over the ranks of an MPI job
(MXNet 1.x semantics: gradients are summed, ``step(batch_size)`` rescales by ``1 / batch_size``)."""

from __future__ import annotations

import os

import numpy as np

from ..autograd import Leaf
from ..base import MXNetError, MXNetTypeError, MXNetValueError, atomic_write

__all__ = ["Trainer"]


def _is_dist(kvstore) -> bool:
    """A distributed store: named ``dist...`` (and not a registered plug-in) or an object with
    the data-parallel fast path."""
    if isinstance(kvstore, str):
        from ..kvstore import KVStoreBase

        return kvstore.startswith("dist") and kvstore.lower() not in KVStoreBase.kv_registry
    return hasattr(kvstore, "allreduce_grads") and hasattr(kvstore, "broadcast_parameters")


def _param_list(params):
    from .parameter import Parameter

    if hasattr(params, "values"):
        params = list(params.values())
    if not isinstance(params, (list, tuple)):
        raise MXNetValueError(f"First argument must be a list or dict of Parameters, got "
                              f"{type(params).__name__}.")
    for p in params:
        if not isinstance(p, Parameter):
            raise MXNetValueError(f"First argument must be a list or dict of Parameters, got "
                                  f"list of {type(p).__name__}.")
    return list(params)


def _can_optimize(kv) -> bool:
    """Whether a kvstore can run the optimizer (MXNet's ``is_capable(OPTIMIZER)``)."""
    capable = getattr(kv, "is_capable", None)
    return hasattr(kv, "set_optimizer") and (capable is None or bool(capable("optimizer")))


def _is_fresh(data) -> bool:
    """Whether a backward wrote this array's gradient since the Trainer last used it (autograd
    flags its variables' ``fresh``; without the flag every gradient counts as fresh)."""
    return getattr(getattr(data, "_ag", None), "fresh", True)


def _set_fresh(data, value):
    ag = getattr(data, "_ag", None)
    if type(ag) is Leaf:
        ag.fresh = value


class _Updaters(list):
    """``Trainer._updaters``: one Updater per context, in the order of ``Trainer._contexts``
    (a list, as MXNet's)."""

    def values(self):  # the dict view callers written against an earlier version used
        return iter(self)


class _UpdateOnKVStoreError(MXNetError, AssertionError):
    """MXNet asserts that update()/allreduce_grads() are not used with update_on_kvstore."""


class _TrainerArgumentError(MXNetValueError, AssertionError):
    """A bad argument MXNet rejects with ``assert``."""


class Trainer:
    """Apply ``optimizer`` to ``params``.

    Parameters
    ----------
    params : ParameterDict or list of Parameter
        What to update (``net.collect_params()``).
    optimizer : str or Optimizer
        ``'sgd'``, ``'adam'``, ... or an ``mx.optimizer.Optimizer``.
    optimizer_params : dict, optional
        Keyword arguments of the optimizer (``learning_rate``, ``momentum``, ``wd``, ...).
    kvstore : str or KVStoreBase, default 'device'
        How gradients are summed: ``'local'`` or ``'device'`` over the contexts of one process;
        ``'dist_sync'`` also over the ranks of an MPI job (docs/parallel.md); any name
        registered with ``mx.kv.KVStoreBase.register``; or a store instance (a
        :class:`~mxplug.kvstore.KVStoreBase` plug-in is used even with one context, as in
        MXNet: the Trainer calls its ``broadcast`` and ``pushpull``).
    compression_params : dict, optional
        Gradient compression: not supported (an error when given).
    update_on_kvstore : bool, optional
        With several contexts, whether the kvstore runs the optimizer on the summed gradients
        (then ``allreduce_grads``/``update`` are unavailable, as in MXNet). None: True unless
        ``MXNET_UPDATE_ON_KVSTORE=0`` or the store is not capable of it
        (``is_capable(KVStoreBase.OPTIMIZER)`` false, e.g. ``'teststore'``), as MXNet
        decides; True with such a store raises ValueError when the kvstore is set up.

    Notes
    -----
    With a distributed kvstore, creating the Trainer broadcasts rank 0's parameters to every
    rank (a deferred-init parameter is broadcast when it initialises, during the first forward),
    the first step broadcasts rank 0's optimizer state, and each step allreduces the gradients
    in fused buckets. Every rank runs the optimizer on the same summed gradients, as MXNet's
    servers would (``update_on_kvstore`` makes no difference). A rank that runs out of batches
    before the others calls :meth:`join`.
    """

    _dist_average = False  # Horovod semantics (parallel.DistributedTrainer): average, not sum
    _dist_root = 0

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None):
        from .. import optimizer as opt

        self._params = _param_list(params)
        self._param2idx = {}
        for i, p in enumerate(self._params):
            if p.name in self._param2idx:
                raise MXNetValueError(f"Trainer: parameter {p.name!r} appears twice")
            self._param2idx[p.name] = i
            p._set_trainer(self)
        optimizer_params = dict(optimizer_params or {})
        self._scale = optimizer_params.get("rescale_grad", 1.0)
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise _TrainerArgumentError("Trainer: optimizer_params must be None when "
                                            "optimizer is an Optimizer instance")
            self._optimizer = optimizer
            self._optimizer.param_dict = dict(enumerate(self._params))
            self._scale = optimizer.rescale_grad
        else:
            self._optimizer = opt.create(optimizer, param_dict={
                i: p for i, p in enumerate(self._params)}, param_idx2name={
                i: p.name for i, p in enumerate(self._params)}, **optimizer_params)
        self._contexts = None  # every parameter's contexts, fixed at the first step
        self._updaters = _Updaters()  # one per context (its own states and update counts)
        self._ctx_updater: dict = {}  # context -> its updater
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kvstore = None
        self._update_on_kvstore = None
        self._kv_initialized = False
        self._kv_keys: set = set()  # parameter indices the kvstore holds
        self._dist = None  # the distributed store, when there is one
        if compression_params:
            raise MXNetValueError("Trainer: gradient compression is not supported")
        if _is_dist(kvstore):
            self._init_dist()

    # -- properties -----------------------------------------------------------------------------
    @property
    def learning_rate(self):
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        return self._optimizer

    def set_learning_rate(self, lr):
        self._optimizer.set_learning_rate(lr)

    # -- steps ------------------------------------------------------------------------------------
    def _init_kvstore(self):
        """Decide, as MXNet does, whether gradients go through a kvstore: a store named with
        one context is not created (``_kvstore`` stays None) unless the name has ``dist``; a
        store instance is always used. The store by default also runs the optimizer
        (``update_on_kvstore``) if it ``is_capable`` of it; ``MXNET_UPDATE_ON_KVSTORE=0`` or
        ``update_on_kvstore=False`` keep the updates on the devices."""
        if self._kv_initialized:
            return
        self._kv_initialized = True
        if self._dist is not None:
            self._update_on_kvstore = False  # every rank runs the optimizer (see Notes)
            return
        contexts = self._check_contexts()
        kv = self._kvstore_params["kvstore"]
        update_on_kvstore = bool(int(os.environ.get("MXNET_UPDATE_ON_KVSTORE", "1")))
        if kv is None or (isinstance(kv, str) and len(contexts) == 1 and "dist" not in kv):
            kv = None
        elif isinstance(kv, str):
            from ..kvstore import create
            kv = create(kv)
            if kv.type == "local" and max(
                    (int(np.prod(p.shape)) for p in self._params if p.shape), default=0) > 1 << 24:
                update_on_kvstore = False  # as MXNet: huge weights update on their devices
        elif not hasattr(kv, "pushpull"):
            raise MXNetTypeError(f"Trainer: kvstore must be KVStore, str or None, got {kv!r}")
        if kv is None:
            self._kvstore = self._update_on_kvstore = None
            return
        if getattr(self, "_amp_loss_scaler", None) is not None:
            update_on_kvstore = False  # AMP checks the summed gradients before each update
        if self._kvstore_params["update_on_kvstore"] is not None:
            update_on_kvstore = bool(self._kvstore_params["update_on_kvstore"])
        if update_on_kvstore and not _can_optimize(kv):
            if self._kvstore_params["update_on_kvstore"]:
                raise MXNetValueError(f"Please set update_on_kvstore=False when training with "
                                      f"{type(kv)}: it cannot run the optimizer")
            update_on_kvstore = False
        if update_on_kvstore:
            kv.set_optimizer(self._optimizer)
        self._kvstore, self._update_on_kvstore = kv, update_on_kvstore

    def _check_contexts(self):
        if self._contexts is None:
            contexts = []
            for p in self._params:
                if p._data is None and not p._deferred_init:
                    continue  # never initialised: MXNet's error comes at the update
                for c in p.list_ctx():
                    if c not in contexts:
                        contexts.append(c)
            self._contexts = contexts
        return self._contexts

    def _init_kv_keys(self):
        """Put each (initialised) parameter in the kvstore once, under its index: as MXNet,
        ``broadcast`` of its first copy, which every copy then takes."""
        kv = self._kvstore
        for i, p in enumerate(self._params):
            if i in self._kv_keys or p.grad_req == "null" or p._data is None:
                continue
            kv.broadcast(i, p._data[0], out=p.list_data())
            self._kv_keys.add(i)

    def _reset_kvstore(self):
        """Forget the kvstore (its copies of the weights are stale after a load)."""
        if self._dist is None:
            self._kvstore = self._update_on_kvstore = None
            self._kv_initialized = False
            self._kv_keys = set()

    def step(self, batch_size, ignore_stale_grad=False):
        """Sum gradients over contexts (and ranks), then update with gradients scaled by
        1/batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        if self._dist is not None:
            active = self._dist_allreduce(active=1)
            if self._dist_average:
                self._optimizer.rescale_grad = self._scale / batch_size / active
            self._update(ignore_stale_grad)
            return
        self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore and not ignore_stale_grad:
            self._check_stale_grads()  # before the store updates anything
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (and ranks), in place.

        Not available when the kvstore runs the optimizer (``update_on_kvstore``, the default
        with several contexts): create the Trainer with ``update_on_kvstore=False`` to call
        ``allreduce_grads`` and ``update`` separately (e.g. to clip the summed gradients).
        """
        if self._dist is not None:
            self._dist_active = self._dist_allreduce(active=1)
            return
        self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            raise _UpdateOnKVStoreError(
                "allreduce_grads() when parameters are updated on kvstore is not supported. "
                "Try setting `update_on_kvstore` to False when creating trainer.")
        self._allreduce_grads()

    def _allreduce_grads(self):
        kv = self._kvstore
        if kv is None:
            return
        self._init_kv_keys()
        from ..kvstore import KVStore

        # one copy in a store of this process: nothing to sum (a plug-in store may still have
        # other workers to reduce with)
        own = type(kv) is KVStore
        for i, p in enumerate(self._params):
            if p.grad_req == "null" or p._data is None:
                continue
            grads = p.list_grad()
            if self._update_on_kvstore:  # the store sums, runs the optimizer, returns weights
                kv.pushpull(i, grads, out=p.list_data(), priority=-i)
            elif len(grads) > 1 or not own:
                kv.pushpull(i, grads, priority=-i)

    def update(self, batch_size, ignore_stale_grad=False):
        """Update with the (already aggregated) gradients scaled by 1/batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        if self._dist is not None:
            self._dist_prepare()
            if self._dist_average:
                active = getattr(self, "_dist_active", self._dist.num_workers)
                self._optimizer.rescale_grad /= active
            self._update(ignore_stale_grad)
            return
        self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            raise _UpdateOnKVStoreError(
                "update() when parameters are updated on kvstore is not supported. Try "
                "setting `update_on_kvstore` to False when creating trainer.")
        self._update(ignore_stale_grad)

    # -- data parallel ----------------------------------------------------------------------------
    def _init_dist(self):
        from ..kvstore import create

        kv = self._kvstore_params["kvstore"]
        self._dist = self._kvstore = create(kv) if isinstance(kv, str) else kv
        self._dist_ready = False
        self._dist.broadcast_parameters(self._params, root=self._dist_root)

    def _dist_prepare(self):
        """On the first step: every rank takes ``root``'s optimizer state (if it has any, e.g.
        from ``load_states``), so that resumed runs stay identical across ranks."""
        if self._dist_ready:
            return
        self._dist_ready = True
        comm = self._dist.comm
        blob = self._states_blob() if comm.rank == self._dist_root else None
        blob = comm.broadcast_object(blob, self._dist_root)
        if blob and comm.rank != self._dist_root:
            rescale = self._optimizer.rescale_grad  # this step's scale, not the one saved
            self._set_states_blob(blob)
            self._optimizer.rescale_grad = rescale

    def _dist_allreduce(self, active):
        """Allreduce the gradients (bucketed) with a control word: how many ranks are still
        training and the sum of their ``rescale_grad``; returns the active count."""
        self._dist_prepare()
        grads = [p.list_grad() for p in self._params if p.grad_req != "null"]
        control = np.array([active, active * self._optimizer.rescale_grad], np.float64)
        control = self._dist.allreduce_grads(grads, control=control)
        self._dist_control = control
        for p in self._params:  # every rank holds the same summed gradient now: all are fresh
            if p.grad_req != "null":
                for d in p._data:
                    _set_fresh(d, True)
        return int(round(control[0]))

    def join(self):
        """Call when this rank has no more batches (distributed only; a no-op otherwise).

        Until every rank has joined, this rank takes part in the others' steps with zero
        gradients and applies the same updates, so uneven batch counts neither hang the job nor
        drop the gradients of the ranks still training, and all ranks end with equal parameters.
        :class:`~mxplug.parallel.DistributedSampler` gives every rank the same number of
        batches, which makes ``join`` unnecessary.
        """
        if self._dist is None:
            return
        while True:
            for p in self._params:
                p.zero_grad()
            active = self._dist_allreduce(active=0)
            if active == 0:
                return
            rescale = self._dist_control[1] / active  # the active ranks' (mean) rescale
            self._optimizer.rescale_grad = rescale / active if self._dist_average else rescale
            self._update(ignore_stale_grad=True)

    def _updater(self, ctx):
        updater = self._ctx_updater.get(ctx)
        if updater is None:
            from .. import optimizer as opt
            updater = self._ctx_updater[ctx] = opt.get_updater(self._optimizer)
            self._updaters.append(updater)
        return updater

    def _update(self, ignore_stale_grad):
        if self._kvstore is not None and self._update_on_kvstore:
            return  # the store's pushpull has updated the weights (_allreduce_grads)
        for c in self._check_contexts() if self._dist is None else ():
            self._updater(c)  # _updaters in the order of the contexts
        per_ctx: dict = {}  # context -> (indices, grads, weights): one updater call each
        used = []  # the arrays whose gradients this step consumes (one pass: a hot path)
        for i, p in enumerate(self._params):
            if p.grad_req == "null":
                continue
            for data in p.list_data():
                if not _is_fresh(data):
                    if ignore_stale_grad:
                        continue  # as MXNet: a parameter no backward reached is left as it is
                    self._check_stale_grads()  # raises, naming the parameter
                used.append(data)
                batch = per_ctx.get(data._ctx)
                if batch is None:
                    batch = per_ctx[data._ctx] = ([], [], [])
                batch[0].append(i)
                batch[1].append(data.grad)
                batch[2].append(data)
        for data in used:
            _set_fresh(data, False)
        for ctx, (indices, grads, weights) in per_ctx.items():
            self._updater(ctx)(indices, grads, weights)

    def _check_stale_grads(self):
        for p in self._params:
            if p.grad_req == "null":
                continue
            for data in p.list_data():
                if not _is_fresh(data):
                    raise UserWarning(
                        f"Gradient of Parameter `{p.name}` on context {data.context} has not "
                        f"been updated by backward since last `step`. This could mean a bug in "
                        f"your model that made it only use a subset of the Parameters (Blocks) "
                        f"for this iteration. If you are intentionally only using a subset, "
                        f"call step with ignore_stale_grad=True to suppress this warning and "
                        f"skip updating of Parameters with stale gradient")

    # -- states ------------------------------------------------------------------------------------
    def _states_blob(self) -> bytes:
        # as MXNet: the optimizer (its settings and per-parameter update counts) goes along
        if self._kvstore is not None and self._update_on_kvstore:
            return self._kvstore._updater.get_states(dump_optimizer=True)
        return self._updaters[0].get_states(dump_optimizer=True) if self._updaters else b""

    def _plugin_updates(self):
        """Whether a plug-in store (not one of mxplug's) runs the optimizer: as in MXNet, its
        ``save_optimizer_states`` / ``load_optimizer_states`` then save and load the states."""
        from ..kvstore import KVStore

        kv = self._kvstore
        return kv is not None and bool(self._update_on_kvstore) and not isinstance(kv, KVStore)

    def save_states(self, fname):
        """Save the optimizer states (no pickle; written atomically)."""
        if self._dist is None and self._plugin_updates():
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        blob = self._states_blob()
        atomic_write(fname, lambda f: f.write(blob), "optimizer states file")

    def load_states(self, fname):
        """Load optimizer states written by :meth:`save_states`."""
        try:
            with open(fname, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise MXNetError(f"load_states: cannot read {fname}: {e}") from None
        if self._dist is None:
            self._init_kvstore()
            if self._plugin_updates():
                self._kvstore.load_optimizer_states(fname)
                updater = getattr(self._kvstore, "_updater", None)
                if updater is not None and getattr(updater, "optimizer", None) is not None:
                    self._optimizer = updater.optimizer
                self._optimizer.param_dict = dict(enumerate(self._params))
                return
        try:
            self._set_states_blob(blob)
        except MXNetValueError as e:
            raise MXNetValueError(f"load_states({fname!r}): {e}") from None

    def _set_states_blob(self, blob):
        if self._kvstore is not None and self._update_on_kvstore:
            self._kvstore._updater.set_states(blob)
            self._optimizer = self._kvstore._updater.optimizer
        else:
            for ctx in {d.context for p in self._params if p._data is not None
                        for d in p._data}:
                self._updater(ctx)
            for updater in self._updaters:
                updater.set_states(blob)
                self._optimizer = updater.optimizer  # restored with its update counts
            for updater in self._updaters:
                updater.optimizer = self._optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))
