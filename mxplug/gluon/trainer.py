"""``gluon.Trainer``: applies an optimizer to a set of Parameters, aggregating gradients over the
contexts the parameters live on (MXNet 1.x semantics: ``step(batch_size)`` rescales by
``1 / batch_size``)."""

from __future__ import annotations

import os
import tempfile

from ..base import MXNetError, MXNetValueError

__all__ = ["Trainer"]


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
        How gradients of a parameter held on several contexts are summed: ``'local'`` or
        ``'device'`` in one process (``'dist_sync'`` arrives with the MPI layer).
    """

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
        if compression_params:
            raise MXNetValueError("Trainer: gradient compression is not supported")

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
        """Sum gradients over contexts, then update with gradients scaled by 1/batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        self.allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (in place on every context)."""
        self._init_kvstore()
        for i, p in enumerate(self._params):
            if p.grad_req == "null":
                continue
            grads = p.list_grad()
            if len(grads) > 1:
                self._kvstore.pushpull(i, grads, out=grads)

    def update(self, batch_size, ignore_stale_grad=False):
        """Update with the (already aggregated) gradients scaled by 1/batch_size."""
        self._optimizer.rescale_grad = self._scale / batch_size
        self._update(ignore_stale_grad)

    def _update(self, ignore_stale_grad):
        from .. import optimizer as opt

        for i, p in enumerate(self._params):
            if p.grad_req == "null":
                continue
            for data, grad in zip(p.list_data(), p.list_grad()):
                updater = self._updaters.get(data.context)
                if updater is None:
                    updater = self._updaters[data.context] = opt.get_updater(self._optimizer)
                updater(i, grad, data)

    # -- states ------------------------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer states (no pickle; written atomically)."""
        ctx = next(iter(self._updaters), None)
        # as MXNet: the optimizer (its settings and per-parameter update counts) goes along
        blob = self._updaters[ctx].get_states(dump_optimizer=True) if ctx is not None else b""
        directory = os.path.dirname(os.path.abspath(fname))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, fname)
        except BaseException:
            os.unlink(tmp)
            raise

    def load_states(self, fname):
        from .. import optimizer as opt

        try:
            with open(fname, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise MXNetError(f"load_states: cannot read {fname}: {e}") from None
        contexts = {d.context for p in self._params for d in p.list_data()}
        for ctx in contexts:
            updater = self._updaters.get(ctx)
            if updater is None:
                updater = self._updaters[ctx] = opt.get_updater(self._optimizer)
            updater.set_states(blob)
            self._optimizer = updater.optimizer  # restored with its update counts
        for updater in self._updaters.values():
            updater.optimizer = self._optimizer


