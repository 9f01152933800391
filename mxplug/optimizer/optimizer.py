"""The optimizer base class, the registry (``register``/``create``) and shared helpers.

Follows MXNet 1.x's ``mxnet.optimizer.Optimizer``: per-index update counts, ``lr_mult`` /
``wd_mult`` by index or parameter name, learning-rate schedulers, and multi-precision updates
that keep a float32 master copy of float16 weights.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .. import ndarray as nd
from ..base import LOW_PRECISION
from ..ops import apply_into
from ..ops.optimizer_ops import OPTIMIZER_OPS

__all__ = ["Optimizer", "register", "create", "fused_update", "aggregation_size"]


def low_precision(weight) -> bool:
    """A float16 or bfloat16 weight: ``multi_precision`` keeps a float32 master copy of it."""
    return np.dtype(weight.dtype).name in LOW_PRECISION


def aggregation_size(default):
    """``MXNET_OPTIMIZER_AGGREGATION_SIZE`` (else ``default``): how many parameters MXNet's
    aggregating optimizers (SGD, LARS: 4; LAMB: 45) take per call (their ``aggregate_num``)."""
    return int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", str(default)))


def fused_update(name, weight, *inputs, **attrs):
    """Run the fused update op ``name`` (``sgd_mom_update``, ...) on ``weight, *inputs``: the
    new weight is written into ``weight`` (without a temporary where the backend has an
    out-kernel) and the state inputs are updated in place. The optimizers pass well-typed
    settings, so the attributes skip the parsing user calls get."""
    op = OPTIMIZER_OPS[name]
    apply_into(op, weight, weight, *inputs, **{**op.defaults, **attrs})


class Optimizer:
    """The base class of all optimizers.

    Parameters
    ----------
    rescale_grad : float, optional
        Multiply every gradient by this before updating (usually ``1/batch_size``).
    param_idx2name : dict of int to str, optional
        Parameter names by index: ``lr_mult``/``wd_mult`` may use names, and parameters whose
        name ends neither in ``_weight`` nor ``_gamma`` get no weight decay.
    wd : float, optional
        L2 weight decay.
    clip_gradient : float, optional
        Clip the rescaled gradient to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float, optional
        The learning rate. Default: the ``lr_scheduler``'s ``base_lr`` when there is a
        scheduler, else 0.01. Given together with a scheduler, it replaces the scheduler's
        ``base_lr`` (with a warning when they differ), as in MXNet 1.9.1.
    lr_scheduler : LRScheduler, optional
        Gives the learning rate of each update count.
    sym : Symbol, optional
        Reads ``__lr_mult__`` / ``__wd_mult__`` attributes of its arguments.
    begin_num_update : int, optional
        The update count to start from.
    multi_precision : bool, optional
        Keep a float32 master copy of float16 and bfloat16 weights and update that.
    param_dict : dict, optional
        Index -> Parameter; a Parameter's own ``lr_mult``/``wd_mult`` take precedence.
    """

    opt_registry: dict = {}

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate  # None: the scheduler's base_lr drives the rate
        if lr_scheduler is not None and learning_rate is not None and \
                lr_scheduler.base_lr != learning_rate:
            warnings.warn("learning rate from ``lr_scheduler`` has been overwritten by "
                          "``learning_rate`` in optimizer.", UserWarning,
                          stacklevel=self._user_stacklevel())
            lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult: dict = {}
        self.wd_mult: dict = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts: dict = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        self.idx2name = dict(param_idx2name or {})
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    def _user_stacklevel(self):
        """The ``stacklevel`` of a warning from ``__init__`` that names the line creating the
        optimizer (past the subclasses' ``__init__`` frames)."""
        import sys

        level, frame = 2, sys._getframe(2)
        while frame is not None and frame.f_code.co_name == "__init__" and \
                frame.f_locals.get("self") is self:
            level, frame = level + 1, frame.f_back
        return level

    # -- registry ---------------------------------------------------------------------------------
    @staticmethod
    def register(klass):
        """Register ``klass`` under its lower-cased class name (for :func:`create`)."""
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {name}", stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An instance of the optimizer registered as ``name`` (case-insensitive)."""
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name}")
        return klass(**kwargs)

    # -- learning rate and multipliers -----------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (the scheduler's value at ``num_update`` if there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set the learning rate; refused when an lr_scheduler drives it (as in MXNet)."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that "
                              "set_learning_rate can mutate the value of the learning rate of "
                              "the optimizer only when the LRScheduler of the optimizer is "
                              "undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):  # deprecated in MXNet, kept for old scripts
        raise DeprecationWarning("Use set_lr_mult instead.")

    def set_lr_mult(self, args_lr_mult):
        """Per-parameter learning-rate multipliers, by index or name."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Per-parameter weight-decay multipliers, by index or name. Parameters named in
        ``param_idx2name`` that end neither in ``_weight`` nor ``_gamma`` default to 0."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        """Keep separate update counts per device (kvstore ``device`` mode)."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        counts = self._index_update_count
        for idx in index if isinstance(index, (list, tuple)) else (index,):
            n = counts[idx] = counts.get(idx, self.begin_num_update) + 1
            if n > self.num_update:
                self.num_update = n

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._mult(index, self.lr_mult, "lr_mult") for index in indices]

    def _get_wds(self, indices):
        return [self.wd * self._mult(index, self.wd_mult, "wd_mult") for index in indices]

    def _mult(self, index, table, attr):
        if index in self.param_dict:
            return getattr(self.param_dict[index], attr)
        if index in table:
            return table[index]
        if index in self.idx2name:
            return table.get(self.idx2name[index], 1.0)
        return 1.0

    def _get_lr(self, index):  # _get_lrs for one index, without the lists (once per update)
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return lr * self._mult(index, self.lr_mult, "lr_mult")

    def _get_wd(self, index):
        return self.wd * self._mult(index, self.wd_mult, "wd_mult")

    # -- states and updates ----------------------------------------------------------------------
    def create_state(self, index, weight):
        """The auxiliary state (NDArray, tuple of them, or None) of the weight at ``index``."""
        return None

    def create_state_multi_precision(self, index, weight):
        """Like :meth:`create_state`; with ``multi_precision`` and a float16 weight, returns
        ``(float32 master copy, state of the master copy)``."""
        if self.multi_precision and low_precision(weight):
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if low_precision(weight) and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                          "slow convergence. Consider using multi_precision=True option of the "
                          "optimizer", stacklevel=2)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` in place from ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, through the float32 master copy when multi-precision applies."""
        if self.multi_precision and low_precision(weight):
            master, inner = state
            self.update(index, master, grad.astype(np.float32), inner)
            weight[:] = master.astype(weight.dtype)
        else:
            self.update(index, weight, grad, state)

    def update_many(self, indices, weights, grads, states):
        """:meth:`update_multi_precision` for each index (an optimizer may do the batch in
        one pass: :class:`~mxplug.optimizer.SGD`)."""
        for i, w, g, s in zip(indices, weights, grads, states):
            self.update_multi_precision(i, w, g, s)

    def _aggregated_batches(self, indices, weights, grads, states):
        """The lists MXNet 1.9.1's Updater hands an optimizer with ``aggregate_num > 0``: the
        parameters grouped by weight dtype (in order of first appearance), each group cut into
        chunks of ``aggregate_num``; yields ``(indices, weights, grads, states)`` lists."""
        groups: dict = {}
        for item in zip(indices, weights, grads, states):
            groups.setdefault(np.dtype(item[1].dtype), []).append(item)
        n = max(1, int(self.aggregate_num))
        for items in groups.values():
            for k in range(0, len(items), n):
                yield tuple(list(col) for col in zip(*items[k:k + n]))

    # -- helpers for subclasses ------------------------------------------------------------------
    def _clip_kwargs(self, name="clip_gradient"):
        """``{name: clip_gradient}`` when clipping is on (MXNet passes it only when truthy)."""
        return {name: self.clip_gradient} if self.clip_gradient else {}

    def _prep_grad(self, grad, weight=None, wd=0.0):
        """``clip(rescale_grad * grad (+ wd * weight))`` as a new array."""
        grad = grad * self.rescale_grad
        if weight is not None and wd:
            grad = grad + wd * weight
        if self.clip_gradient is not None:
            grad = nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        return grad

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.lr}, wd={self.wd})"

    def __getstate__(self):
        ret = self.__dict__.copy()
        ret.pop("param_dict", None)  # Parameters are not part of the optimizer's state
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register


def create(name, **kwargs):
    """Create an optimizer by name (``mx.optimizer.create('sgd', learning_rate=0.1)``); an
    :class:`Optimizer` instance is returned as is."""
    if isinstance(name, Optimizer):
        return name
    return Optimizer.create_optimizer(name, **kwargs)


def zeros_like(weight, dtype=None):
    """A zero state array with the weight's shape, context and (by default) dtype."""
    return nd.zeros(weight.shape, ctx=weight.context, dtype=dtype or weight.dtype)
