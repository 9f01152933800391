"""``gluon.Trainer``: applies an optimizer to a set of Parameters, aggregating gradients over the
contexts the parameters live on and, with ``kvstore='dist_sync'``, over the ranks of an MPI job
(MXNet 1.x semantics: gradients are summed, ``step(batch_size)`` rescales by ``1 / batch_size``)."""

from __future__ import annotations

import numpy as np

from ..base import MXNetError, MXNetValueError, atomic_write

__all__ = ["Trainer"]


def _is_dist(kvstore) -> bool:
    """A distributed store: named ``dist...`` or an object with the data-parallel fast path."""
    if isinstance(kvstore, str):
        return kvstore.startswith("dist")
    return hasattr(kvstore, "allreduce_grads") and hasattr(kvstore, "broadcast_parameters")


def _param_list(params):
    if hasattr(params, "values"):
        return list(params.values())
    if isinstance(params, (list, tuple)):
        return list(params)
    raise MXNetValueError(f"Trainer: params must be a ParameterDict, dict or list of Parameters, "
                          f"got {type(params).__name__}")


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
    kvstore : str or KVStore, default 'device'
        How gradients are summed: ``'local'`` or ``'device'`` over the contexts of one process;
        ``'dist_sync'`` also over the ranks of an MPI job (docs/parallel.md).

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

        self._params = [p for p in _param_list(params)]
        names = set()
        for p in self._params:
            if p.name in names:
                raise MXNetValueError(f"Trainer: parameter {p.name!r} appears twice")
            names.add(p.name)
        optimizer_params = dict(optimizer_params or {})
        self._scale = optimizer_params.get("rescale_grad", 1.0)
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise MXNetValueError("Trainer: optimizer_params must be None when optimizer "
                                      "is an Optimizer instance")
            self._optimizer = optimizer
            self._scale = optimizer.rescale_grad
        else:
            self._optimizer = opt.create(optimizer, param_dict={
                i: p for i, p in enumerate(self._params)}, param_idx2name={
                i: p.name for i, p in enumerate(self._params)}, **optimizer_params)
        self._updaters: dict = {}  # context -> Updater (one state set per device copy)
        self._kvstore_type = kvstore
        self._kvstore = None
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
        if self._kvstore is None:
            from ..kvstore import create
            self._kvstore = create(self._kvstore_type) if isinstance(
                self._kvstore_type, str) else self._kvstore_type
            for i, p in enumerate(self._params):
                if p.grad_req != "null":
                    self._kvstore.init(i, p.list_data()[0])

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
        self.allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (and ranks), in place."""
        if self._dist is not None:
            self._dist_active = self._dist_allreduce(active=1)
            return
        self._init_kvstore()
        for i, p in enumerate(self._params):
            if p.grad_req == "null" or len(p.list_ctx()) < 2:  # one copy: nothing to sum
                continue
            grads = p.list_grad()
            self._kvstore.pushpull(i, grads, out=grads)

    def update(self, batch_size, ignore_stale_grad=False):
        """Update with the (already aggregated) gradients scaled by 1/batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        if self._dist is not None:
            self._dist_prepare()
            if self._dist_average:
                active = getattr(self, "_dist_active", self._dist.num_workers)
                self._optimizer.rescale_grad /= active
        self._update(ignore_stale_grad)

    # -- data parallel ----------------------------------------------------------------------------
    def _init_dist(self):
        from ..kvstore import create

        kv = self._kvstore_type
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

    def _update(self, ignore_stale_grad):
        from .. import optimizer as opt

        per_ctx: dict = {}  # context -> (indices, grads, weights): one updater call each
        for i, p in enumerate(self._params):
            if p.grad_req == "null":
                continue
            for data in p.list_data():
                batch = per_ctx.get(data.context)
                if batch is None:
                    batch = per_ctx[data.context] = ([], [], [])
                batch[0].append(i)
                batch[1].append(data.grad)
                batch[2].append(data)
        for ctx, (indices, grads, weights) in per_ctx.items():
            updater = self._updaters.get(ctx)
            if updater is None:
                updater = self._updaters[ctx] = opt.get_updater(self._optimizer)
            updater(indices, grads, weights)

    # -- states ------------------------------------------------------------------------------------
    def _states_blob(self) -> bytes:
        ctx = next(iter(self._updaters), None)
        # as MXNet: the optimizer (its settings and per-parameter update counts) goes along
        return self._updaters[ctx].get_states(dump_optimizer=True) if ctx is not None else b""

    def save_states(self, fname):
        """Save the optimizer states (no pickle; written atomically)."""
        blob = self._states_blob()
        atomic_write(fname, lambda f: f.write(blob), "optimizer states file")

    def load_states(self, fname):
        try:
            with open(fname, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise MXNetError(f"load_states: cannot read {fname}: {e}") from None
        self._set_states_blob(blob)

    def _set_states_blob(self, blob):
        from .. import optimizer as opt

        contexts = {d.context for p in self._params for d in p.list_data()}
        for ctx in contexts:
            updater = self._updaters.get(ctx)
            if updater is None:
                updater = self._updaters[ctx] = opt.get_updater(self._optimizer)
            updater.set_states(blob)
            self._optimizer = updater.optimizer  # restored with its update counts
        for updater in self._updaters.values():
            updater.optimizer = self._optimizer


