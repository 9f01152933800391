"""``SequentialModule``: modules chained output-to-input, trained as one (MXNet 1.x)."""

from __future__ import annotations

import copy
import logging

from ..base import MXNetValueError
from .base_module import BaseModule, ModuleStateError, _require
from .module import _DEFAULT_INIT

__all__ = ["SequentialModule"]


class SequentialModule(BaseModule):
    """A chain of modules: each one's outputs are the next one's data.

    ``add(module, take_labels=True)`` marks a module that takes the batch's labels (its loss
    feeds ``update_metric``); ``auto_wiring=True`` renames the incoming shapes to the module's
    own ``data_names``. Every module after the first is bound with ``inputs_need_grad`` so that
    ``backward`` passes gradients down the chain.
    """

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger=logging):
        super().__init__(logger=logger)
        self._modules: list = []
        self._metas: list = []
        self._label_shapes = None
        self._data_shapes = None
        self._meta_keys = {self.META_TAKE_LABELS, self.META_AUTO_WIRING}

    def add(self, module, **kwargs):
        """Append ``module`` (returns ``self``, for chaining); the chain must be bound and
        initialized again."""
        for key in kwargs:
            if key not in self._meta_keys:
                raise MXNetValueError(f'Unknown meta "{key}", a typo? (known: '
                                      f'{sorted(self._meta_keys)})')
        self._modules.append(module)
        self._metas.append(kwargs)
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    @property
    def data_names(self):
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self):
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self):
        _require(self.binded, "data_shapes", "bind")
        return self._modules[0].data_shapes

    @property
    def label_shapes(self):
        _require(self.binded, "label_shapes", "bind")
        return self._label_shapes

    @property
    def output_shapes(self):
        _require(self.binded, "output_shapes", "bind")
        return self._modules[-1].output_shapes

    def get_params(self):
        _require(self.binded and self.params_initialized, "get_params", "bind and init_params")
        arg_params, aux_params = {}, {}
        for module in self._modules:
            arg, aux = module.get_params()
            arg_params.update(arg)
            aux_params.update(aux)
        return arg_params, aux_params

    def init_params(self, initializer=_DEFAULT_INIT, arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize every module (each takes its own names from ``arg_params``, so
        ``allow_extra`` is usually needed with a merged dict); names must not repeat."""
        if self.params_initialized and not force_init:
            return
        _require(self.binded, "init_params", "bind before initializing the parameters")
        for module in self._modules:
            module.init_params(initializer=initializer, arg_params=arg_params,
                               aux_params=aux_params, allow_missing=allow_missing,
                               force_init=force_init, allow_extra=allow_extra)
        seen_arg, seen_aux = {}, {}
        for i, module in enumerate(self._modules):
            args, auxs = module.get_params()
            for seen, names in ((seen_arg, args), (seen_aux, auxs)):
                for name in names:
                    if name in seen:
                        raise ModuleStateError(
                            f'Duplicated parameter names: name "{name}" in layer {i} '
                            f"({type(module).__name__}) is already used in layer {seen[name]} "
                            f"({type(self._modules[seen[name]]).__name__}).")
                    seen[name] = i
        self.params_initialized = True

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad and not for_training:
            raise ModuleStateError("bind: inputs_need_grad=True needs for_training=True")
        if shared_module is not None:
            raise ModuleStateError("bind: shared_module is not supported by SequentialModule")
        if not self._modules:
            raise ModuleStateError("Attempting to bind an empty SequentialModule")
        self._label_shapes = label_shapes
        my_data_shapes = data_shapes
        anybody_needs_label = False
        for i, (module, meta) in enumerate(zip(self._modules, self._metas)):
            my_label_shapes = None
            if meta.get(self.META_TAKE_LABELS):
                my_label_shapes = label_shapes
                anybody_needs_label = True
            if meta.get(self.META_AUTO_WIRING):
                names = module.data_names
                if len(names) != len(my_data_shapes):
                    raise MXNetValueError(f"auto_wiring: module {i} has data_names {names} for "
                                          f"{len(my_data_shapes)} incoming arrays")
                my_data_shapes = [(n, tuple(s[1])) for n, s in zip(names, my_data_shapes)]
            module.bind(data_shapes=my_data_shapes, label_shapes=my_label_shapes,
                        for_training=for_training,
                        inputs_need_grad=bool(inputs_need_grad or (for_training and i > 0)),
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            my_data_shapes = module.output_shapes
        if not anybody_needs_label:
            self._label_shapes = None
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        self.binded = True

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        _require(self.binded and self.params_initialized, "init_optimizer",
                 "bind and init_params")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        for module in self._modules:
            module.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                  optimizer_params=optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    def forward(self, data_batch, is_train=None):
        _require(self.binded and self.params_initialized, "forward", "bind and init_params")
        data_batch = copy.copy(data_batch)  # keeps pad, bucket_key, ...; data is replaced
        for i, module in enumerate(self._modules):
            module.forward(data_batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            data_batch.data = module.get_outputs()
            names = [x[0] for x in module.output_shapes]
            data_batch.provide_data = [(n, x.shape) for n, x in zip(names, data_batch.data)]

    def backward(self, out_grads=None):
        _require(self.binded and self.params_initialized, "backward", "bind and init_params")
        for i in range(len(self._modules) - 1, -1, -1):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self):
        _require(self.binded and self.params_initialized and self.optimizer_initialized,
                 "update", "bind, init_params and init_optimizer")
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        _require(self.binded and self.params_initialized, "get_outputs",
                 "bind and init_params")
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        _require(self.binded and self.params_initialized and self.inputs_need_grad,
                 "get_input_grads", "bind with inputs_need_grad=True and init_params")
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """The modules that take labels update ``eval_metric``."""
        _require(self.binded and self.params_initialized, "update_metric",
                 "bind and init_params")
        for meta, module in zip(self._metas, self._modules):
            if meta.get(self.META_TAKE_LABELS):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        _require(self.binded, "install_monitor", "bind")
        for module in self._modules:
            module.install_monitor(mon)
