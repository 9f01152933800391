"""SGD and its relatives: SGD, NAG, Signum, LARS, LBSGD, SGLD, DCASGD (MXNet 1.x update
rules)."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import ndarray as nd
from ..ops import apply_into
from ..ops.multi_optimizer_ops import MULTI_OPTIMIZER_OPS
from .optimizer import (
    Optimizer,
    aggregation_size,
    fused_update,
    low_precision,
    register,
    zeros_like,
)

__all__ = ["SGD", "NAG", "Signum", "LARS", "LBSGD", "SGLD", "DCASGD"]


def _momentum_first_state(opt, index, weight):
    """MXNet's SGD/NAG multi-precision state: ``(momentum or None, float32 master weight)`` for a
    float16/bfloat16 weight with ``multi_precision``, else the plain state (with MXNet's
    warning for a low-precision weight without it)."""
    if opt.multi_precision and low_precision(weight):
        master = weight.astype(np.float32)
        return (opt.create_state(index, master), master)
    if low_precision(weight):
        warnings.warn(f"Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                      f"convergence. Consider using multi_precision=True option of the "
                      f"{type(opt).__name__} optimizer", stacklevel=3)
    return opt.create_state(index, weight)


class _MomentumSGDBase(Optimizer):
    """SGD with momentum through the fused ``(mp_)sgd(_mom)_update`` ops; the multi-precision
    state is ``(momentum or None, float32 master weight)`` as in MXNet's SGD."""

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def create_state_multi_precision(self, index, weight):
        return _momentum_first_state(self, index, weight)

    def _sgd_step(self, weight, grad, state, lr, wd, momentum, multi_precision):
        kw = {"rescale_grad": self.rescale_grad, **self._clip_kwargs()}
        if momentum > 0:
            kw["momentum"] = momentum
        if not multi_precision:
            if state is not None:
                fused_update("sgd_mom_update", weight, grad, state, lr=lr, wd=wd, **kw)
            else:
                fused_update("sgd_update", weight, grad, lr=lr, wd=wd, **kw)
        elif state[0] is not None:
            fused_update("mp_sgd_mom_update", weight, grad, state[0], state[1], lr=lr, wd=wd,
                         **kw)
        else:
            fused_update("mp_sgd_update", weight, grad, state[1], lr=lr, wd=wd, **kw)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, False)

    def update_multi_precision(self, index, weight, grad, state):
        # MXNet's aggregated call (lists or tuples of each): the first weight decides
        first = weight[0] if isinstance(index, (list, tuple)) else weight
        self._update_impl(index, weight, grad, state,
                          self.multi_precision and low_precision(first))

    def _update_impl(self, index, weight, grad, state, multi_precision):
        if isinstance(index, (list, tuple)):  # MXNet's aggregated call: lists of each
            # as MXNet: every index is counted before the learning rates are read
            self._update_count(index)
            for w, g, s, lr, wd in zip(weight, grad, state, self._get_lrs(index),
                                       self._get_wds(index)):
                self._sgd_step(w, g, s, lr, wd, self.momentum, multi_precision)
            return
        self._update_count(index)
        self._sgd_step(weight, grad, state, self._get_lr(index), self._get_wd(index),
                       self.momentum, multi_precision)


@register
class SGD(_MomentumSGDBase):
    """Stochastic gradient descent with optional momentum and weight decay.

    ``rescaled_grad = clip(rescale_grad * grad, clip_gradient) + wd * weight``;
    ``state = momentum * state + lr * rescaled_grad``; ``weight -= state``.

    Parameters
    ----------
    momentum : float, optional
        The momentum (0: plain SGD, no state).
    lazy_update : bool, optional
        Accepted for MXNet compatibility (all arrays are dense here).
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = aggregation_size(4)

    def update_many(self, indices, weights, grads, states):
        """The batch (a Trainer step calls this with every parameter of a context) as ONE
        ``multi_sgd(_mom)_update`` call, as MXNet's SGD aggregates its updates: per parameter
        only the learning rate and weight decay are computed here, for the chunks (by dtype,
        ``aggregate_num`` at a time) MXNet's Updater would pass. Subclasses that override an
        update method take the per-parameter path, and float16/bfloat16 weights with
        ``multi_precision`` are updated one by one (through their float32 master copies)."""
        cls = type(self)
        if cls.update is not SGD.update or cls._update_impl is not SGD._update_impl or \
                cls.update_multi_precision is not SGD.update_multi_precision:
            return super().update_many(indices, weights, grads, states)
        mom = self.momentum > 0
        data, ws, lrs, wds = [], [], [], []
        for idx, wts, gs, sts in self._aggregated_batches(indices, weights, grads, states):
            self._update_count(idx)
            mp = self.multi_precision and low_precision(wts[0])
            for w, g, s, lr, wd in zip(wts, gs, sts, self._get_lrs(idx), self._get_wds(idx)):
                if mp:
                    self._sgd_step(w, g, s, lr, wd, self.momentum, True)
                    continue
                lrs.append(float(lr))
                wds.append(float(wd))
                ws.append(w)
                data += (w, g, s) if mom else (w, g)
        if not ws:
            return
        op = MULTI_OPTIMIZER_OPS["multi_sgd_mom_update" if mom else "multi_sgd_update"]
        attrs = {**op.defaults, "rescale_grad": self.rescale_grad, **self._clip_kwargs(),
                 "lrs": tuple(lrs), "wds": tuple(wds), "num_weights": len(ws)}
        if mom:
            attrs["momentum"] = self.momentum
        apply_into(op, ws, *data, **attrs)


@register
class NAG(Optimizer):
    """Nesterov accelerated SGD, as MXNet 1.9.1's optimizer computes it (``nag_mom_update``
    writing into the weight it reads): with ``c = clip(rescale_grad*grad)``,
    ``weight += momentum^2*state - (momentum+1)*lr*(c + wd*weight)``, then
    ``state = momentum*state - lr*(c + wd*new_weight)`` (the decay term of the state reads the
    weight already updated, as 1.9.1's in-place kernel and its ``PyNAG`` reference do). The
    state holds ``-lr`` times the docstring formula's ``momentum*state + g``.

    With ``multi_precision`` the state of a float16/bfloat16 weight is
    ``(momentum or None, float32 master weight)``, MXNet 1.9.1's order (as SGD's)."""

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def create_state_multi_precision(self, index, weight):
        return _momentum_first_state(self, index, weight)

    def _step(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        kw = {"rescale_grad": self.rescale_grad, **self._clip_kwargs()}
        if state is not None:
            old = weight.copy() if wd else None
            fused_update("nag_mom_update", weight, grad, state, lr=lr, wd=wd,
                         momentum=self.momentum, **kw)
            if wd:  # the op's state decays with the old weight; 1.9.1's with the new one
                state[:] = state - (lr * wd) * (weight - old)
        else:
            fused_update("sgd_update", weight, grad, lr=lr, wd=wd, **kw)

    def update(self, index, weight, grad, state):
        self._step(index, weight, grad, state)

    def update_multi_precision(self, index, weight, grad, state):
        # MXNet's mp_nag_mom_update / mp_sgd_update: the float32 master takes the step (with
        # the gradient in float32) and is rounded back into the weight
        if self.multi_precision and low_precision(weight) and isinstance(state, (tuple, list)):
            mom, master = state
            self._step(index, master, grad.astype(np.float32), mom)
            weight[:] = master.astype(weight.dtype)
        else:
            self.update(index, weight, grad, state)


@register
class Signum(Optimizer):
    """Signum (signSGD with momentum, Bernstein et al. 2018).

    ``state = momentum*state - (1-momentum)*(wd*weight + clip(rescale_grad*grad))``;
    ``weight = (1 - lr*wd_lh)*weight + lr*sign(state)``; without momentum, signSGD.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        kw = {"rescale_grad": self.rescale_grad, **self._clip_kwargs()}
        if state is not None:
            fused_update("signum_update", weight, grad, state, lr=lr, wd=wd,
                         momentum=self.momentum, wd_lh=self.wd_lh, **kw)
        else:
            fused_update("signsgd_update", weight, grad, lr=lr, wd=wd, **kw)


@register
class LARS(_MomentumSGDBase):
    """LARS (You et al. 2017): SGD whose learning rate per layer is scaled by
    ``eta * |w| / (|g| + wd*|w| + eps)`` (not for names ending in gamma, beta or bias).

    Parameters
    ----------
    momentum : float, optional
    lazy_update : bool, optional
    eta : float, optional
        The LARS coefficient.
    eps : float, optional
    momentum_correction : bool, optional
        Scale the momentum by ``lr_t / lr_{t-1}`` when a scheduler changes the rate.
    """

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.aggregate_num = aggregation_size(4)
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return [lr * self._mult(i, self.lr_mult, "lr_mult") for i in indices]

    def _get_lr(self, index):  # through _get_lrs: it tracks the learning rates
        return self._get_lrs([index])[0]

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {n: 0.0 for n in self.idx2name.values() if not n.endswith("_weight")}
        self.wd_mult.update(args_wd_mult)

    def _l2norm(self, v, rescale=False):
        v = v.astype("float32")
        if rescale:
            v = v * self.rescale_grad
        return float(nd.norm(v).asscalar())

    def _get_lars(self, i, weight, g, lr, wd):
        name = self.idx2name.get(i, str(i))
        if name.endswith("gamma") or name.endswith("beta") or name.endswith("bias"):
            return lr
        w_norm, g_norm = self._l2norm(weight), self._l2norm(g, rescale=True)
        lars = self.eta * w_norm / (g_norm + wd * w_norm + self.eps) if (
            w_norm > 0.0 and g_norm > 0.0) else 1.0
        return lars * lr

    def _update_impl(self, index, weight, grad, state, multi_precision):
        # as MXNet 1.9.1: one call (one index or MXNet's aggregated lists) counts every index,
        # then reads the learning rates once (the momentum correction's lr_t / lr_{t-1})
        if not isinstance(index, (list, tuple)):
            index, weight, grad, state = [index], [weight], [grad], [state]
        self._update_count(index)
        lrs, wds = self._get_lrs(index), self._get_wds(index)
        momentum = self.momentum
        if momentum > 0 and self.momentum_correction and self.last_lr != 0:
            momentum = self.momentum * (self.cur_lr / self.last_lr)
        for i, w, g, s, lr, wd in zip(index, weight, grad, state, lrs, wds):
            lr = self._get_lars(i, w, g, lr, wd)
            self._sgd_step(w, g, s, lr, wd, momentum, multi_precision)

    def update_many(self, indices, weights, grads, states):
        """The Trainer's batch in the calls MXNet 1.9.1's Updater makes (by dtype, chunks of
        ``aggregate_num``): the learning rate, and so the momentum correction, is read once
        per chunk. Subclasses that override an update method get one call per parameter."""
        cls = type(self)
        if cls.update is not LARS.update or cls._update_impl is not LARS._update_impl or \
                cls.update_multi_precision is not LARS.update_multi_precision or \
                self.aggregate_num <= 0:
            return super().update_many(indices, weights, grads, states)
        for batch in self._aggregated_batches(indices, weights, grads, states):
            self.update_multi_precision(*batch)


def _whole(name, value, minimum):
    """``value`` as an int >= ``minimum`` (integral floats accepted), else a ValueError naming
    the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value or \
            value < minimum or int(value) != value:
        raise ValueError(f"LBSGD: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@register
class LBSGD(_MomentumSGDBase):
    """Large-batch SGD (MXNet 1.x's ``LBSGD``): momentum SGD whose learning rate is scaled by a
    warmup schedule or by a LARS factor, optionally over gradients accumulated across
    ``batch_scale`` calls to emulate a batch that many times larger.

    Each call counts ``nup`` (per parameter, starting at ``begin_epoch * updates_per_epoch +
    1``) and adds the gradient to a running sum; when ``nup % batch_scale == 0`` the weight is
    updated with ``grad = sum / batch_scale`` by the ``sgd_update`` / ``sgd_mom_update`` rule
    (``rescale_grad``, ``clip_gradient``, ``wd`` as in :class:`SGD`) at ``lr * mult``, and the
    sum restarts; the other calls leave the weight and the momentum as they are. With
    ``nwup = warmup_epochs * updates_per_epoch`` and ``B = batch_scale``, ``mult`` is ``B``
    once ``nup >= nwup``, else

    - ``'linear'``: ``1 + (B - 1) * nup / nwup``
    - ``'power2'``: ``1 + (B - 1) * (nup / nwup) ** 2``
    - ``'sqrt'``: ``1 + (B - 1) * sqrt(nup / nwup)``
    - ``'lars'``: ``sqrt(|w|^2 / (|grad|^2 + wd * |w|^2 + 1e-18))`` clipped to [0.01, 100],
      for every step (``grad`` before ``rescale_grad``).

    Parameters
    ----------
    momentum : float, optional
    multi_precision : bool, optional
        Update a float32 master copy of float16/bfloat16 weights. As in MXNet, the Updater's
        state is then ``(float32 master, momentum or None)`` (the base class's layout), and
        :meth:`create_state` called directly on such a weight returns ``(momentum or None,
        master)``, updated by the ``mp_sgd(_mom)_update`` ops.
    warmup_strategy : {'linear', 'power2', 'sqrt', 'lars'}, optional
    warmup_epochs : int, optional
    batch_scale : int, optional
        How many calls make one large batch (and the final learning-rate multiplier).
    updates_per_epoch : int, optional
        Calls per epoch, for the warmup length and ``begin_epoch``.
    begin_epoch : int, optional
        The epoch to start from: the count starts at ``begin_epoch * updates_per_epoch``.
    num_epochs : int, optional
        Accepted and stored, as in MXNet (unused).
    """

    _STRATEGIES = ("linear", "power2", "sqrt", "lars")

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear",
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        super().__init__(multi_precision=multi_precision, **kwargs)
        if warmup_strategy not in self._STRATEGIES:
            raise ValueError(f"LBSGD: warmup_strategy must be one of {self._STRATEGIES}, got "
                             f"{warmup_strategy!r}")
        self.momentum = momentum
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = _whole("warmup_epochs", warmup_epochs, 0)
        self.batch_scale = _whole("batch_scale", batch_scale, 1)
        self.updates_per_epoch = _whole("updates_per_epoch", updates_per_epoch, 0)
        self.init_updates = _whole("begin_epoch", begin_epoch, 0) * self.updates_per_epoch
        self.num_epochs = _whole("num_epochs", num_epochs, 0)
        self._device_id = 0
        # (device id, index) -> the gradients summed since the last large-batch update
        self._cum_grads: dict = {}

    def create_state(self, index, weight):
        if self.multi_precision and low_precision(weight):
            master = weight.astype(np.float32)
            return (zeros_like(master) if self.momentum != 0.0 else None, master)
        return zeros_like(weight) if self.momentum != 0.0 else None

    # MXNet's LBSGD keeps the base class's multi-precision path: (master, state), update()
    # on the master with a float32 gradient, then the master cast back into the weight
    create_state_multi_precision = Optimizer.create_state_multi_precision
    update_multi_precision = Optimizer.update_multi_precision

    def _set_current_context(self, device_id):
        self._device_id = device_id
        super()._set_current_context(device_id)

    def _get_lbmult(self, nup):
        """The warmup multiplier of the learning rate at count ``nup``."""
        nwup = self.warmup_epochs * self.updates_per_epoch
        top = float(self.batch_scale)
        if nup >= nwup:
            return top
        if nwup <= 1:
            return 1.0
        if self.warmup_strategy == "linear":
            return 1.0 + (top - 1) * nup / nwup
        if self.warmup_strategy == "power2":
            return 1.0 + (top - 1) * (nup * nup) / (nwup * nwup)
        if self.warmup_strategy == "sqrt":
            return 1.0 + (top - 1) * math.sqrt(nup / nwup)
        return 1.0

    @staticmethod
    def _l2norm(v):
        """The squared L2 norm (summed in float32 at least, so float16 cannot overflow)."""
        if low_precision(v):
            v = v.astype(np.float32)
        return float(nd.sum(nd.square(v)).asscalar())

    def _get_lars(self, weight, g, wd):
        """The LARS factor of the learning rate, clipped to [0.01, 100]."""
        w2, g2 = self._l2norm(weight), self._l2norm(g)
        return min(max(math.sqrt(w2 / (g2 + wd * w2 + 1e-18)), 0.01), 100.0)

    def update(self, index, weight, grad, state):
        lr, wd = self._get_lr(index), self._get_wd(index)  # before the count, as MXNet
        self._update_count(index)
        nup = self.init_updates + self._index_update_count[index] - self.begin_num_update
        if self.batch_scale > 1:
            key = (self._device_id, index)
            pending = self._cum_grads.pop(key, None)
            pending = grad.copy() if pending is None else pending + grad
            if nup % self.batch_scale:
                self._cum_grads[key] = pending
                return  # MXNet runs sgd_update with lr=0 here: the weight stays as it is
            grad = pending / self.batch_scale
        if self.warmup_strategy == "lars":
            lr *= self._get_lars(weight, grad, wd)
        else:
            lr *= self._get_lbmult(nup)
        self._sgd_step(weight, grad, state, lr, wd, self.momentum,
                       isinstance(state, (list, tuple)))


@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics: ``weight += -lr/2 * (g + wd*weight)`` plus
    Gaussian noise of variance ``lr`` (drawn from ``mx.random``, so seeds reproduce)."""

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        grad = self._prep_grad(grad)
        noise = nd.random.normal(0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype,
                                 ctx=weight.context)
        weight[:] = weight - lr / 2 * (grad + wd * weight) + noise


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD (Zheng et al. 2016):
    ``mom = momentum*mom - lr*(g + wd*w + lamda*g*g*(w - w_prev))``, ``w_prev = w``,
    ``w += mom``."""

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous: dict = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = None if self.momentum == 0.0 else zeros_like(weight)
        return (mom, weight.copy())

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        grad = self._prep_grad(grad)
        mom, previous = state
        step = -lr * (grad + wd * weight + self.lamda * grad * grad * (weight - previous))
        if mom is not None:
            mom[:] = mom * self.momentum + step
            step = mom
        previous[:] = weight
        weight[:] = weight + step
