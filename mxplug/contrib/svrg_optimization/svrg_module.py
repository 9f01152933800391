"""``SVRGModule``: a Module trained by stochastic variance-reduced gradient (MXNet 1.x's
``svrg_optimization.svrg_module``; Johnson & Zhang, 2013).

Every ``update_freq`` epochs the module takes a snapshot ``w~`` of its parameters into an
auxiliary module and computes the full gradient ``mu``: the batch gradients at ``w~`` averaged
over one pass of the data. Each step then hands the optimizer ``g_i(w) - g_i(w~) + mu``, where
``g_i`` is the current batch's gradient: unbiased like ``g_i(w)``, with a variance that shrinks
as ``w`` nears ``w~``.
"""

from __future__ import annotations

import logging
import numbers

from ... import ndarray as nd
from ...base import MXNetTypeError, MXNetValueError
from ...module import Module
from ...module.base_module import ModuleStateError, _require
from .svrg_optimizer import FULL_GRAD_SUFFIX, _SVRGOptimizer

__all__ = ["SVRGModule"]


class SVRGModule(Module):
    """A :class:`~mxplug.module.Module` whose updates use the SVRG gradient.

    Parameters are :class:`~mxplug.module.Module`'s, and:

    update_freq : int
        Take a new snapshot and full gradient every ``update_freq`` epochs of :meth:`fit`
        (``update_freq=2``: epochs 0, 2, 4, ...).

    Examples
    --------
    >>> mod = SVRGModule(lro, data_names=['data'], label_names=['lin_reg_label'], update_freq=2)
    >>> mod.fit(train_iter, eval_metric='mse', optimizer='sgd',
    ...         optimizer_params=(('learning_rate', 0.025),), num_epoch=10)

    By hand, :meth:`update_full_grads` takes the snapshot; ``forward``/``backward`` run both the
    module and the snapshot on the batch and ``update`` applies the corrected gradient.
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=None, work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None, update_freq=None):
        if not isinstance(update_freq, numbers.Integral) or isinstance(update_freq, bool):
            raise MXNetTypeError(f"SVRGModule: update_freq must be an integer, the number of "
                                 f"epochs between full-gradient passes; got {update_freq!r}")
        if update_freq <= 0:
            raise MXNetValueError(f"SVRGModule: update_freq must be a positive integer, the "
                                  f"number of epochs between full-gradient passes; got "
                                  f"{update_freq}")
        super().__init__(symbol, data_names=data_names, label_names=label_names, logger=logger,
                         context=context, work_load_list=work_load_list,
                         fixed_param_names=fixed_param_names, state_names=state_names,
                         group2ctxs=group2ctxs, compression_params=compression_params)
        self.update_freq = int(update_freq)
        # holds the snapshot w~ and computes the batch gradients at it
        self._mod_aux = Module(symbol, data_names=data_names, label_names=label_names,
                               logger=logger, context=self._context,
                               work_load_list=work_load_list,
                               fixed_param_names=fixed_param_names, state_names=state_names,
                               group2ctxs=group2ctxs, compression_params=compression_params)
        self._param_dict = None  # per context: parameter name -> its share of mu
        self._ctx_len = len(self._context)

    # -- binding ----------------------------------------------------------------------------------
    def _reset_bind(self):
        super()._reset_bind()
        self._mod_aux._reset_bind()

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """:meth:`Module.bind`; for training the snapshot module is bound too (on its own
        arrays, whatever ``shared_module`` is, and with ``grad_req='write'``: its gradients are
        per batch)."""
        was_bound = self.binded and not force_rebind
        super().bind(data_shapes, label_shapes, for_training, inputs_need_grad, force_rebind,
                     shared_module, grad_req)
        if for_training and not was_bound:
            self._mod_aux.bind(data_shapes, label_shapes, for_training=True,
                               force_rebind=True, grad_req="write")

    def reshape(self, data_shapes, label_shapes=None):
        """New input shapes for both modules."""
        super().reshape(data_shapes, label_shapes)
        if self._mod_aux.binded:
            self._mod_aux.reshape(data_shapes, label_shapes)

    # -- optimizer --------------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Install ``optimizer`` wrapped in :class:`_SVRGOptimizer` (the module's usual
        ``rescale_grad`` and ``param_idx2name`` go to both), and a kvstore key
        ``<name>_full`` per parameter where the contexts' full gradients are summed."""
        if self.optimizer_initialized and not force_init:
            super().init_optimizer(kvstore, optimizer, optimizer_params, force_init)  # warns
            return
        _require(self.binded and self.params_initialized, "init_optimizer",
                 "bind and init_params")
        params = dict(optimizer_params)
        params["default_optimizer"] = optimizer
        super().init_optimizer(kvstore=kvstore, optimizer=_SVRGOptimizer.__name__,
                               optimizer_params=params, force_init=force_init)
        names = self._exec_group.param_names
        idx2name = self._optimizer.idx2name
        first = max(idx2name, default=-1) + 1
        idx2name.update({first + i: name + FULL_GRAD_SUFFIX for i, name in enumerate(names)})
        self._param_dict = [{name: nd.zeros(self._arg_params[name].shape, ctx=ctx,
                                            dtype=self._arg_params[name].dtype)
                             for name in names} for ctx in self._context]
        if self._kvstore is not None:
            for name in names:
                self._kvstore.init(name + FULL_GRAD_SUFFIX, nd.zeros_like(self._arg_params[name]))

    # -- the full gradient ------------------------------------------------------------------------
    def update_full_grads(self, train_data):
        """Snapshot the current parameters into the auxiliary module and compute the full
        gradient there: the sum of each batch's gradient over one pass of ``train_data``
        (reset first), divided by the number of batches (the padding of a last incomplete
        batch counted off as a fraction). With a kvstore, the contexts' (and workers') parts
        are summed through it."""
        _require(self.optimizer_initialized, "update_full_grads", "init_optimizer")
        arg_params, aux_params = self.get_params()
        self._mod_aux.set_params(arg_params, aux_params)
        names = self._exec_group.param_names
        sums = [{name: nd.zeros_like(mu) for name, mu in per_ctx.items()}
                for per_ctx in self._param_dict]
        train_data.reset()
        nbatch, pad = 0, 0
        for batch in train_data:
            self._mod_aux.forward(batch, is_train=True)
            self._mod_aux.backward()
            for name, grads in zip(names, self._mod_aux._exec_group.grad_arrays):
                for k, grad in enumerate(grads):
                    if grad is not None:
                        sums[k][name] += grad
            nbatch += 1
            pad = getattr(batch, "pad", 0) or 0
        if nbatch == 0:
            raise MXNetValueError("update_full_grads: train_data gave no batch (is it "
                                  "empty?)")
        num_batch = nbatch - pad / train_data.batch_size if pad else nbatch
        for name in names:
            per_ctx = [sums[k][name] / num_batch for k in range(self._ctx_len)]
            if self._kvstore is not None:
                self._accumulate_kvstore(name, per_ctx)
            else:
                for k in range(self._ctx_len):
                    self._param_dict[k][name] = per_ctx[k]

    def _accumulate_kvstore(self, name, per_ctx):
        """Sum ``per_ctx`` over the contexts and workers through the key ``name_full``; each
        context keeps an equal share, so the step's sum over contexts adds the whole of mu."""
        key = name + FULL_GRAD_SUFFIX
        self._kvstore.push(key, per_ctx)
        self._kvstore.pull(key, out=per_ctx)
        for k in range(self._ctx_len):
            self._param_dict[k][name] = per_ctx[k] / self._ctx_len

    # -- computation ------------------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """:meth:`Module.forward`; a training forward (``is_train`` True, or None with a
        module bound for training) also runs the snapshot module on the batch."""
        super().forward(data_batch, is_train)
        if is_train is None:
            is_train = self.for_training
        if is_train and self._mod_aux.binded:
            if not self._mod_aux.params_initialized:
                raise ModuleStateError("SVRGModule.forward: no full-gradient snapshot yet; call "
                                       "update_full_grads(train_data) first (fit does, every "
                                       "update_freq epochs)")
            self._mod_aux.forward(data_batch, is_train=True)

    def backward(self, out_grads=None):
        """:meth:`Module.backward` of both modules."""
        super().backward(out_grads)
        if self._mod_aux.binded and self._mod_aux.params_initialized:
            self._mod_aux.backward(out_grads)

    def update(self):
        """Replace each gradient ``g_i(w)`` by ``g_i(w) - g_i(w~) + mu`` (in place), then
        :meth:`Module.update`."""
        _require(self.binded and self.params_initialized and self.optimizer_initialized,
                 "update", "bind, init_params and init_optimizer")
        grads_now = self._exec_group.grad_arrays
        grads_snap = self._mod_aux._exec_group.grad_arrays
        for name, now, snap in zip(self._exec_group.param_names, grads_now, grads_snap):
            for k, (grad, grad_snap) in enumerate(zip(now, snap)):
                if grad is not None:
                    grad -= grad_snap
                    grad += self._param_dict[k][name]
        super().update()

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Prepare both modules for ``data_batch`` (nothing to do for dense storage)."""
        super().prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self._mod_aux.prepare(data_batch)

    # -- training ---------------------------------------------------------------------------------
    def _fit_epoch_begin(self, epoch, train_data):
        """:meth:`BaseModule.fit` calls this before each epoch: :meth:`update_full_grads` at
        every epoch divisible by ``update_freq`` (and at the first one when there is no snapshot
        yet, e.g. resuming with ``begin_epoch``); ``train_data`` is reset after it."""
        if epoch % self.update_freq == 0 or not self._mod_aux.params_initialized:
            self.update_full_grads(train_data)
        train_data.reset()
