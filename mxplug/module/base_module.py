"""``BaseModule``: the high-level loops every module gets from its intermediate-level API.

A subclass implements ``bind``, ``init_params``, ``init_optimizer``, ``forward``, ``backward``,
``update``, ``update_metric``, ``get_outputs``, ``get_params``; ``fit``, ``score``, ``predict``,
``iter_predict``, ``save_params`` / ``load_params`` follow MXNet 1.9.1's ``BaseModule``.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from .. import metric as _metric
from .. import ndarray as nd
from ..base import MXNetError, MXNetValueError
from ..context import cpu
from ..io import DataBatch, DataDesc
from ..model import BatchEndParam
from ..ndarray import NDArray

__all__ = ["BaseModule", "BatchEndParam", "ModuleStateError", "MissingParamError"]



class ModuleStateError(MXNetError, AssertionError):
    """A module used before the step it needs (bind, init_params, init_optimizer): MXNet
    asserts these, so it is an AssertionError too."""


class MissingParamError(MXNetError, RuntimeError):
    """``init_params``/``set_params`` got no value for a parameter (MXNet's RuntimeError)."""


def _as_list(obj):
    return obj if isinstance(obj, list) else [obj]


def _require(ok, what, need):
    if not ok:
        raise ModuleStateError(f"{what}: call {need} first")


def _check_input_names(symbol, names, typename, throw):
    """Every name in ``names`` must be an argument of ``symbol`` (an error or a warning)."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={list(names)}) but input "
               f"with name {name!r} is not found in symbol.list_arguments(). Did you mean one "
               f"of:\n\t" + "\n\t".join(candidates))
        if throw:
            raise MXNetValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(names, shapes, what, throw):
    actual = [x[0] for x in shapes]
    if sorted(names) != sorted(actual):
        msg = (f"Data provided by {what}_shapes don't match names specified by {what}_names "
               f"({shapes} vs. {list(names)})")
        if throw:
            raise MXNetValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """``(data_descs, label_descs)`` from ``DataDesc``s or ``(name, shape)`` pairs."""
    data_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in data_shapes]
    _check_names_match(data_names, data_shapes, "data", True)
    if label_shapes is not None:
        label_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in label_shapes]
        _check_names_match(label_names, label_shapes, "label", False)
    else:
        _check_names_match(label_names, [], "label", False)
    return data_shapes, label_shapes


def _call_all(callbacks, *args):
    if callbacks is not None:
        for callback in _as_list(callbacks):
            callback(*args)


class BaseModule:
    """The base class of modules: a computation "machine" with the states *bound* (memory
    allocated), *params_initialized* and *optimizer_initialized*.

    Parameters
    ----------
    logger : logging.Logger or module, default ``logging``
        Where ``fit`` reports per-epoch metrics and times.
    """

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    # -- high-level API ----------------------------------------------------------------------------
    def forward_backward(self, data_batch):
        """``forward(data_batch, is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset=True, epoch=0, sparse_row_id_fn=None):
        """Run prediction on ``eval_data`` and evaluate it with ``eval_metric``.

        Parameters
        ----------
        eval_data : DataIter
        eval_metric : str or EvalMetric
        num_batch : int, optional
            Stop after this many batches (default: the whole iterator).
        batch_end_callback, score_end_callback : callable or list of callables, optional
            Called with a :class:`BatchEndParam` after each batch / at the end.
        reset : bool, default True
            Reset ``eval_data`` first.
        epoch : int, default 0
            Passed on to the callbacks.

        Returns
        -------
        list of (name, value)
        """
        _require(self.binded and self.params_initialized, "score", "bind and init_params")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch], pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
            actual_num_batch += 1
        if score_end_callback is not None:
            _call_all(score_end_callback,
                      BatchEndParam(epoch, actual_num_batch, eval_metric, locals()))
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` per batch; ``outputs`` lose the batch's padding."""
        _require(self.binded and self.params_initialized, "iter_predict",
                 "bind and init_params")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True,
                always_output_list=False, sparse_row_id_fn=None):
        """Run prediction and collect the outputs.

        ``eval_data`` is a DataIter, or one NDArray / numpy array (a single batch: its first
        output is returned). With ``merge_batches`` the result is one array per output, the
        batches concatenated (padding removed), or the array itself for a single output unless
        ``always_output_list``; otherwise a list per batch of its outputs.
        """
        _require(self.binded and self.params_initialized, "predict", "bind and init_params")
        if isinstance(eval_data, (NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = nd.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if merge_batches:
            num_outputs = len(output_list[0])
            if any(len(out) != num_outputs for out in output_list):
                raise ModuleStateError("predict: cannot merge batches, as num of outputs is "
                                       "not the same in mini-batches. Maybe bucketing is used?")
            merged = [nd.concat(*[out[i] for out in output_list], dim=0)
                      if len(output_list) > 1 else output_list[0][i]
                      for i in range(num_outputs)]
            if num_outputs == 1 and not always_output_list:
                return merged[0]
            return merged
        return output_list

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", optimizer="sgd",
            optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=None, arg_params=None, aux_params=None,
            allow_missing=False, force_rebind=False, force_init=False, begin_epoch=0,
            num_epoch=None, validation_metric=None, monitor=None, sparse_row_id_fn=None):
        """Train the module's parameters.

        Parameters
        ----------
        train_data : DataIter
        eval_data : DataIter, optional
            Scored with ``validation_metric`` after each epoch.
        eval_metric : str or EvalMetric, default 'acc'
            The training metric, logged per epoch.
        epoch_end_callback : callable or list, optional
            Called as ``callback(epoch, symbol, arg_params, aux_params)``.
        batch_end_callback : callable or list, optional
            Called with a :class:`BatchEndParam` after each batch.
        kvstore : str or KVStore, default 'local'
        optimizer : str or Optimizer, default 'sgd'
        optimizer_params : dict or pairs, default ``(('learning_rate', 0.01),)``
        eval_end_callback, eval_batch_end_callback : callable or list, optional
            ``score``'s callbacks on ``eval_data``.
        initializer : Initializer, default ``mx.init.Uniform(0.01)``
        arg_params, aux_params : dict, optional
            Initial values; they take precedence over ``initializer``.
        allow_missing : bool, default False
            Parameters missing from ``arg_params``/``aux_params`` get ``initializer``.
        force_rebind, force_init : bool, default False
            Bind / initialize again even if already done.
        begin_epoch : int, default 0
        num_epoch : int
            Train up to (excluding) this epoch; required.
        validation_metric : str or EvalMetric, optional
            Defaults to ``eval_metric``.
        monitor : Monitor, optional
            Installed on the executors; ``tic`` / ``toc_print`` around every batch.
        """
        if num_epoch is None:
            raise ModuleStateError("fit: please specify number of epochs (num_epoch)")
        if initializer is None:
            from ..init import Uniform
            initializer = Uniform(0.01)
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            self._fit_epoch_begin(epoch, train_data)
            nbatch = 0
            data_iter = iter(train_data)
            next_data_batch = next(data_iter, None)
            end_of_batch = next_data_batch is None
            eval_name_vals = []
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                if isinstance(data_batch, list):
                    self.update_metric(eval_metric, [db.label for db in data_batch],
                                       pre_sliced=True)
                else:
                    self.update_metric(eval_metric, data_batch.label)
                next_data_batch = next(data_iter, None)  # fetched ahead, as MXNet does
                if next_data_batch is None:
                    end_of_batch = True
                else:
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = eval_metric.get_global_name_value()
                if batch_end_callback is not None:
                    _call_all(batch_end_callback,
                              BatchEndParam(epoch, nbatch, eval_metric, locals()))
                nbatch += 1

            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)

            # the parameters as one set (averaged over devices), also written back to them
            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            _call_all(epoch_end_callback, epoch, self.symbol, arg_params_, aux_params_)

            if eval_data:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    def _fit_epoch_begin(self, epoch, train_data):
        """Called by :meth:`fit` before each epoch's batches (SVRG takes its snapshot here)."""

    # -- symbol and parameters ---------------------------------------------------------------------
    @property
    def symbol(self):
        """The Symbol this module computes."""
        return self._symbol

    #: ``fn(arg_params, aux_params, force_init, allow_extra)`` copying values onto the devices
    #: (Module, BucketingModule); None: ``set_params`` always goes through ``init_params``.
    _assign_params = None

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter and auxiliary-state values: ``init_params`` without initializer;
        with ``allow_missing`` (MXNet's rule) the given values go straight to the devices and
        missing names keep theirs (:meth:`_assign_params`)."""
        if not allow_missing or self._assign_params is None:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. set_params "
                          "call ignored.", stacklevel=2)
            return
        self._assign_params(arg_params, aux_params, force_init, allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def save_params(self, fname):
        """Save the parameters to ``fname`` (MXNet's format, ``arg:``/``aux:`` keys)."""
        arg_params, aux_params = self.get_params()
        save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
        save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
        nd.save(fname, save_dict)

    def load_params(self, fname):
        """Load parameters saved by :meth:`save_params` (or MXNet) and assign them."""
        save_dict = nd.load(fname)
        if not isinstance(save_dict, dict):
            raise MXNetValueError(f"Invalid param file {fname}: an unnamed list of arrays")
        arg_params, aux_params = {}, {}
        for key, value in save_dict.items():
            kind, _, name = key.partition(":")
            if kind == "arg" and name:
                arg_params[name] = value
            elif kind == "aux" and name:
                aux_params[name] = value
            else:
                raise MXNetValueError(f"Invalid param file {fname}: key {key!r} is not "
                                      f"'arg:<name>' or 'aux:<name>'")
        self.set_params(arg_params, aux_params)

    def get_states(self, merge_multi_context=True):
        """The state arrays (``state_names``); a module without states has none."""
        _require(self.binded and self.params_initialized, "get_states", "bind and init_params")
        return []

    def set_states(self, states=None, value=None):
        """Set the state arrays (``state_names``); a module without states has none."""
        _require(self.binded and self.params_initialized, "set_states", "bind and init_params")

    def install_monitor(self, mon):
        """Install ``mon`` (``mon.install(executor)``) on the executors."""
        raise NotImplementedError()

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Get ready for ``data_batch`` (sparse row pulls in MXNet; nothing for dense data)."""
        if sparse_row_id_fn is not None:
            warnings.warn("sparse_row_id_fn is ignored: mxplug has dense storage only",
                          stacklevel=2)

    # -- the intermediate-level API subclasses implement -----------------------------------------
    @property
    def data_names(self):
        raise NotImplementedError()

    @property
    def output_names(self):
        raise NotImplementedError()

    @property
    def data_shapes(self):
        raise NotImplementedError()

    @property
    def label_shapes(self):
        raise NotImplementedError()

    @property
    def output_shapes(self):
        raise NotImplementedError()

    def get_params(self):
        raise NotImplementedError()

    def init_params(self, initializer=None, arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        raise NotImplementedError()

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        raise NotImplementedError()

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        raise NotImplementedError()

    def forward(self, data_batch, is_train=None):
        raise NotImplementedError()

    def backward(self, out_grads=None):
        raise NotImplementedError()

    def update(self):
        raise NotImplementedError()

    def get_outputs(self, merge_multi_context=True):
        raise NotImplementedError()

    def get_input_grads(self, merge_multi_context=True):
        raise NotImplementedError()

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        raise NotImplementedError()
