"""``Module``: a Symbol bound on one or more contexts, trained by an optimizer (MXNet 1.x)."""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from .. import kvstore as kvs
from .. import ndarray as nd
from .. import optimizer as opt
from ..base import MXNetTypeError, atomic_write
from ..context import Context, cpu
from ..init import InitDesc, Uniform
from ..io import DataDesc
from ..model import load_checkpoint
from .base_module import (
    BaseModule,
    MissingParamError,
    ModuleStateError,
    _check_input_names,
    _parse_data_desc,
    _require,
)
from .executor_group import DataParallelExecutorGroup

__all__ = ["Module"]

_DEFAULT_INIT = Uniform(0.01)  # MXNet's default (a shared instance, as MXNet's default arg)


def _create_kvstore(kvstore, num_device, arg_params):
    """``(kvstore or None, update_on_kvstore)``, MXNet's rules: one device and no 'dist'
    needs no store; ``MXNET_UPDATE_ON_KVSTORE=0`` updates on the devices instead."""
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStore) or hasattr(kvstore, "pushpull"):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore:
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local" and arg_params:
                # large parameters update on the devices (MXNet's threshold: 16M elements)
                if max(int(np.prod(p.shape)) for p in arg_params.values()) > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise MXNetTypeError(f"kvstore must be KVStore, str or None, got {kvstore!r}")
    if kv is None:
        return None, False
    # a store that cannot run the optimizer (mx.kv.KVStoreBase.is_capable) leaves it to devices
    capable = getattr(kv, "is_capable", None)
    return kv, update_on_kvstore and (capable is None or bool(capable(kvs.KVStoreBase.OPTIMIZER)))


class Module(BaseModule):
    """A Symbol with its parameters, bound on ``context`` (MXNet 1.x ``mx.mod.Module``).

    Parameters
    ----------
    symbol : Symbol
    data_names : list of str, default ``('data',)``
        The symbol's data inputs.
    label_names : list of str, default ``('softmax_label',)``
        Its label inputs (a name the symbol lacks gives a warning, as in MXNet).
    logger : logging.Logger or module, default ``logging``
    context : Context or list of Context, default ``mx.cpu()``
        Several contexts split each batch (data parallelism).
    work_load_list : list of float, optional
        Each context's share of the batch (default equal).
    fixed_param_names : list of str, optional
        Parameters that get no gradient and are never updated.
    state_names : list of str, optional
        Inputs kept across batches (e.g. RNN states), set with ``set_states``.
    group2ctxs : dict or list of dict, optional
        ``ctx_group`` attribute -> context(s), for model parallelism.
    compression_params : dict, optional
        Accepted for compatibility; gradient compression is not applied.
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=None, work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if context is None:
            context = cpu()
        if isinstance(context, (Context, str)):
            context = [context]
        self._context = [Context(c) for c in context]
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        if len(work_load_list) != len(self._context):
            raise ModuleStateError(f"Module: work_load_list has {len(work_load_list)} entries "
                                   f"for {len(self._context)} contexts")
        self._work_load_list = list(work_load_list)
        self._group2ctxs = group2ctxs
        self._symbol = symbol
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)
        input_names = set(data_names + label_names + state_names)
        self._param_names = [x for x in symbol.list_arguments() if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()
        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._update_lists = None  # (group, its version, per-device update lists): update()
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from a checkpoint (``prefix-symbol.json``, ``prefix-%04d.params``); its
        parameters are set at ``bind``. ``kwargs`` go to the constructor."""
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = f"{prefix}-{epoch:04d}.states"
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Write ``prefix-symbol.json``, ``prefix-%04d.params`` and, with
        ``save_optimizer_states``, ``prefix-%04d.states``."""
        self._symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
        param_name = f"{prefix}-{epoch:04d}.params"
        self.save_params(param_name)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = f"{prefix}-{epoch:04d}.states"
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # -- names and shapes -------------------------------------------------------------------------
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        _require(self.binded, "data_shapes", "bind")
        return self._data_shapes

    @property
    def label_shapes(self):
        _require(self.binded, "label_shapes", "bind")
        return self._label_shapes

    @property
    def output_shapes(self):
        _require(self.binded, "output_shapes", "bind")
        return self._exec_group.get_output_shapes()

    # -- parameters -------------------------------------------------------------------------------
    def get_params(self):
        """``(arg_params, aux_params)``: dicts of CPU arrays with the current values."""
        _require(self.binded and self.params_initialized, "get_params", "bind and init_params")
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=_DEFAULT_INIT, arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize the parameters and auxiliary states.

        Parameters
        ----------
        initializer : Initializer, default ``mx.init.Uniform(0.01)``
            Called as ``initializer(InitDesc(name, attrs), array)`` for what ``arg_params`` /
            ``aux_params`` do not give.
        arg_params, aux_params : dict of str to NDArray, optional
            Values to copy in (they take precedence over ``initializer``).
        allow_missing : bool, default False
            Let ``initializer`` fill names missing from ``arg_params``/``aux_params`` (else an
            error).
        force_init : bool, default False
            Initialize even if already initialized.
        allow_extra : bool, default False
            Names the symbol lacks are ignored here either way (as in MXNet);
            ``set_params(..., allow_missing=True)`` rejects them unless ``allow_extra``.
        """
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. init_params "
                          "call ignored.", stacklevel=2)
            return
        _require(self.binded, "init_params", "bind before initializing the parameters")

        def fill(name, arr, cache):
            if cache is not None:
                if name in cache:
                    if cache[name] is not arr:
                        arr[:] = cache[name]
                    return
                if not allow_missing:
                    raise MissingParamError(f"init_params: {name} is not presented (pass "
                                           f"allow_missing=True to initialize it)")
            if initializer is not None:
                initializer(name, arr)

        attrs = self._symbol.attr_dict()
        for name, arr in sorted(self._arg_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, arg_params)
        for name, arr in sorted(self._aux_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    def _assign_params(self, arg_params, aux_params, force_init, allow_extra):
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)

    def _sync_params_from_devices(self):
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False

    # -- binding ----------------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Allocate the executors for these input shapes.

        Parameters
        ----------
        data_shapes : list of DataDesc or (name, shape)
        label_shapes : list of DataDesc or (name, shape), optional
        for_training : bool, default True
            Allocate gradients (``backward`` needs them).
        inputs_need_grad : bool, default False
            Also compute the gradients of the data inputs (``get_input_grads``).
        force_rebind : bool, default False
            Bind again even if bound (e.g. to switch between training and inference).
        shared_module : Module, optional
            A bound, initialized module whose parameters this one uses.
        grad_req : str, list or dict, default 'write'
            'write', 'add' or 'null', for every parameter or per argument.
        """
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if not for_training and inputs_need_grad:
            raise ModuleStateError("bind: inputs_need_grad=True needs for_training=True")
        data_shapes, label_shapes = _parse_data_desc(self.data_names, self.label_names,
                                                     data_shapes, label_shapes)
        shared_group = None
        if shared_module is not None:
            if not (isinstance(shared_module, Module) and shared_module.binded
                    and shared_module.params_initialized):
                raise ModuleStateError("bind: shared_module must be a bound Module with "
                                       "initialized parameters")
            shared_group = shared_module._exec_group
        group = DataParallelExecutorGroup(
            self._symbol, self._context, self._work_load_list, data_shapes, label_shapes,
            self._param_names, for_training, inputs_need_grad, shared_group, logger=self.logger,
            fixed_param_names=self._fixed_param_names, grad_req=grad_req,
            group2ctxs=self._group2ctxs, state_names=self._state_names)
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes, self._label_shapes = data_shapes, label_shapes
        self._exec_group = group
        self._total_exec_bytes = group._total_exec_bytes
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # re-binding (or Module.load): the values already known go to the new executors
            group.set_params(self._arg_params, self._aux_params)
        else:
            # the module's own copy of the values lives on the CPU, as MXNet's does
            self._arg_params = {n: nd.zeros(a[0].shape, ctx=cpu(), dtype=a[0].dtype)
                                for n, a in zip(self._param_names, group.param_arrays)}
            self._aux_params = {n: nd.zeros(a[0].shape, ctx=cpu(), dtype=a[0].dtype)
                                for n, a in zip(self._aux_names, group.aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def reshape(self, data_shapes, label_shapes=None):
        """New input shapes (e.g. another batch size) for the bound module; parameters stay."""
        _require(self.binded, "reshape", "bind")
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)
        self._exec_group.reshape(self._data_shapes, self._label_shapes)

    # -- optimizer --------------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Install an optimizer (a name and ``optimizer_params``, or an Optimizer).

        A named optimizer gets ``rescale_grad = 1/batch_size`` (times the workers of a
        ``dist_sync`` kvstore) unless ``optimizer_params`` sets it, and the symbol's
        ``__lr_mult__``/``__wd_mult__`` attributes.
        """
        _require(self.binded and self.params_initialized, "init_optimizer",
                 "bind and init_params")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        kvstore, update_on_kvstore = _create_kvstore(kvstore, len(self._context),
                                                     self._arg_params)
        batch_size = self._exec_group.batch_size
        if kvstore is not None and "dist" in kvstore.type and "_sync" in kvstore.type:
            batch_size *= kvstore.num_workers
        rescale_grad = 1.0 / batch_size
        names = self._exec_group.param_names
        n_ctx = len(self._context)
        if update_on_kvstore:
            idx2name = dict(enumerate(names))
        else:
            idx2name = {i * n_ctx + k: n for k in range(n_ctx) for i, n in enumerate(names)}
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            optimizer_params.setdefault("rescale_grad", rescale_grad)
            optimizer = opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                                   **optimizer_params)
        else:
            if not isinstance(optimizer, opt.Optimizer):
                raise MXNetTypeError(f"init_optimizer: optimizer must be a name or an "
                                     f"Optimizer, got {type(optimizer).__name__}")
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn(
                    f"Optimizer created manually outside Module but rescale_grad is not "
                    f"normalized to 1.0/batch_size/num_workers ({optimizer.rescale_grad} vs. "
                    f"{rescale_grad}). Is this intended?", stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        self._optimizer = optimizer
        self._kvstore = kvstore
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kvstore is not None:
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            # the store starts from the initialized parameters; devices start from the store
            for name, on_devs in zip(names, self._exec_group.param_arrays):
                if update_on_kvstore:
                    kvstore.broadcast(name, self._arg_params[name], out=on_devs)
                else:
                    kvstore.init(name, self._arg_params[name])
        if not update_on_kvstore:
            self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Use ``shared_module``'s optimizer, kvstore and updater (BucketingModule)."""
        _require(shared_module.optimizer_initialized, "borrow_optimizer",
                 "init_optimizer on the shared module")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    # -- computation ------------------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Run forward on ``data_batch`` (``is_train`` defaults to ``for_training``). A batch
        of other shapes than bound re-shapes the executors first (parameters stay)."""
        _require(self.binded and self.params_initialized, "forward", "bind and init_params")
        curr = tuple(tuple(d.shape) for d in self._data_shapes)
        if isinstance(data_batch, list):
            new = []
            for i in range(len(data_batch[0].data)):
                shape = data_batch[0].data[i].shape
                if any(db.data[i].shape != shape for db in data_batch):
                    raise ModuleStateError("forward: all data batches in a list need to have "
                                           "the same shape")
                new.append((len(data_batch) * shape[0],) + tuple(shape[1:]))
            new = tuple(new)
        else:
            new = tuple(tuple(d.shape) for d in data_batch.data)
        if curr != new:
            if getattr(data_batch, "provide_data", None):
                new_dshape = data_batch.provide_data
            else:
                new_dshape = [DataDesc(d.name, s, d.dtype, d.layout)
                              for d, s in zip(self._data_shapes, new)]
            if getattr(data_batch, "provide_label", None):
                new_lshape = data_batch.provide_label
            elif getattr(data_batch, "label", None) and self._label_shapes:
                new_lshape = [DataDesc(d.name, tuple(lab.shape), d.dtype, d.layout)
                              for d, lab in zip(self._label_shapes, data_batch.label)]
            else:
                new_lshape = None
            self.reshape(new_dshape, new_lshape)
        self._exec_group.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        """Gradients of the last forward (``out_grads``: head gradients, default ones; loss
        outputs such as ``SoftmaxOutput`` ignore them)."""
        _require(self.binded and self.params_initialized, "backward", "bind and init_params")
        self._exec_group.backward(out_grads=out_grads)

    def update(self):
        """One optimizer step on every parameter with a gradient (summed over contexts)."""
        _require(self.binded and self.params_initialized and self.optimizer_initialized,
                 "update", "bind, init_params and init_optimizer")
        self._params_dirty = True
        group = self._exec_group
        kv, names = self._kvstore, group.param_names
        if self._update_on_kvstore:
            for index, (name, ws, gs) in enumerate(zip(names, group.param_arrays,
                                                       group.grad_arrays)):
                if gs[0] is not None:
                    kv.pushpull(name, gs, out=ws, priority=-index)
            return
        if kv is not None:
            for index, (name, gs) in enumerate(zip(names, group.grad_arrays)):
                if gs[0] is not None:
                    kv.pushpull(name, gs, priority=-index)  # every device gets the sum
        cached = self._update_lists
        if cached is None or cached[0] is not group or cached[1] != group.version:
            cached = self._update_lists = (group, group.version, self._device_updates(group))
        for idx, grads, weights in cached[2]:
            self._updater(idx, grads, weights)

    def _device_updates(self, group):
        """Per device, the ``(indices, grads, weights)`` its updater call takes: one state
        per (parameter, device), keyed ``index * num_devices + device`` as in MXNet."""
        n_dev = len(self._context)
        updates = [([], [], []) for _ in range(n_dev)]
        for index, (ws, gs) in enumerate(zip(group.param_arrays, group.grad_arrays)):
            if gs[0] is None:
                continue
            for k, (w, g) in enumerate(zip(ws, gs)):
                updates[k][0].append(index * n_dev + k)
                updates[k][1].append(g)
                updates[k][2].append(w)
        return [u for u in updates if u[0]]

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward (per context lists unless merged)."""
        _require(self.binded and self.params_initialized, "get_outputs",
                 "bind and init_params")
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs (bind with ``inputs_need_grad=True``)."""
        _require(self.binded and self.params_initialized and self.inputs_need_grad,
                 "get_input_grads", "bind with inputs_need_grad=True and init_params")
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        _require(self.binded and self.params_initialized, "get_states", "bind and init_params")
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the ``state_names`` inputs: ``states`` (per state, per context) or a scalar
        ``value``."""
        _require(self.binded and self.params_initialized, "set_states", "bind and init_params")
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the last forward's outputs and ``labels``."""
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install ``mon`` on every executor (``mon.install(executor)``)."""
        _require(self.binded, "install_monitor", "bind")
        self._exec_group.install_monitor(mon)

    # -- optimizer states -------------------------------------------------------------------------
    def save_optimizer_states(self, fname):
        """Save the optimizer's states (momentum, ...) to ``fname``."""
        _require(self.optimizer_initialized, "save_optimizer_states", "init_optimizer")
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            blob = self._updater.get_states()
            atomic_write(fname, lambda f: f.write(blob), "optimizer states file")

    def load_optimizer_states(self, fname):
        """Load states saved by :meth:`save_optimizer_states`."""
        _require(self.optimizer_initialized, "load_optimizer_states", "init_optimizer")
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            with open(fname, "rb") as fin:
                self._updater.set_states(fin.read())
