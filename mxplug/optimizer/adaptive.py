"""Adaptive-rate optimizers: Adam, AdamW, AdaGrad, AdaDelta, RMSProp, Adamax, Nadam, FTML, LAMB,
Ftrl, AdaBound and AMSBound (MXNet 1.x update rules; AdaBound/AMSBound follow Luo et al. 2019)."""

from __future__ import annotations

import math

import numpy as np

from .. import ndarray as nd
from .optimizer import (
    Optimizer,
    aggregation_size,
    fused_update,
    low_precision,
    register,
    zeros_like,
)

__all__ = ["Adam", "AdamW", "AdaGrad", "AdaDelta", "RMSProp", "Adamax", "Nadam", "FTML", "LAMB",
           "Ftrl", "AdaBound", "AMSBound"]


def _pair(weight):
    return (zeros_like(weight), zeros_like(weight))


@register
class Adam(Optimizer):
    """Adam (Kingma & Ba 2014), with the bias correction folded into the learning rate:
    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, ``g = clip(rescale_grad*grad + wd*w)``,
    ``m = beta1*m + (1-beta1)*g``, ``v = beta2*v + (1-beta2)*g^2``,
    ``w -= lr_t * m / (sqrt(v) + epsilon)``.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return _pair(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        mean, var = state
        fused_update("adam_update", weight, grad, mean, var, lr=lr, wd=wd, beta1=self.beta1,
                     beta2=self.beta2, epsilon=self.epsilon, rescale_grad=self.rescale_grad,
                     **self._clip_kwargs())


@register
class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), MXNet's ``adamw_update``:
    ``g = clip(rescale_grad*grad)``, moments as in Adam, and
    ``w -= lr_t * (m / (sqrt(v) + epsilon) + wd*w)`` with ``lr_t`` bias-corrected when
    ``correct_bias``."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 correct_bias=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.correct_bias = correct_bias

    def create_state(self, index, weight):
        return _pair(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        if self.correct_bias:
            lr *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        g = self._prep_grad(grad)
        mean, var = state
        mean[:] = self.beta1 * mean + (1.0 - self.beta1) * g
        var[:] = self.beta2 * var + (1.0 - self.beta2) * nd.square(g)
        weight[:] = weight - lr * (mean / (nd.sqrt(var) + self.epsilon) + wd * weight)


@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al. 2011): ``h += g^2``, ``w -= lr * (g / sqrt(h + eps) + wd*w)``
    with ``g = clip(rescale_grad*grad)``."""

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_like(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        g = self._prep_grad(grad)
        state[:] = state + nd.square(g)
        weight[:] = weight - lr * (g / nd.sqrt(state + self.float_stable_eps) + wd * weight)


@register
class AdaDelta(Optimizer):
    """AdaDelta (Zeiler 2012); the learning rate is not used.
    ``acc_g = rho*acc_g + (1-rho)*g^2``,
    ``delta = sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g``,
    ``acc_delta = rho*acc_delta + (1-rho)*delta^2``, ``w -= delta + wd*w``."""

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho, self.epsilon = rho, epsilon

    def create_state(self, index, weight):
        return _pair(weight)

    def update(self, index, weight, grad, state):
        wd = self._get_wd(index)
        self._update_count(index)
        g = self._prep_grad(grad)
        acc_g, acc_delta = state
        acc_g[:] = self.rho * acc_g + (1.0 - self.rho) * g * g
        delta = nd.sqrt(acc_delta + self.epsilon) / nd.sqrt(acc_g + self.epsilon) * g
        acc_delta[:] = self.rho * acc_delta + (1.0 - self.rho) * delta * delta
        weight[:] = weight - (delta + wd * weight)


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (``centered=False``) or Graves' centered version.

    Parameters
    ----------
    gamma1 : float
        Decay of the squared-gradient (and, centered, gradient) averages.
    gamma2 : float
        Momentum of the centered version.
    epsilon : float
    centered : bool
    clip_weights : float, optional
        Clip the weights to ``[-clip_weights, clip_weights]`` after each update.
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1, self.gamma2, self.epsilon = gamma1, gamma2, epsilon
        self.centered, self.clip_weights = centered, clip_weights

    def create_state(self, index, weight):
        if self.centered:
            return (zeros_like(weight), zeros_like(weight), zeros_like(weight))
        return (zeros_like(weight),)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        kw = {"gamma1": self.gamma1, "epsilon": self.epsilon, "rescale_grad": self.rescale_grad,
              **self._clip_kwargs()}
        if self.clip_weights:
            kw["clip_weights"] = self.clip_weights
        if not self.centered:
            fused_update("rmsprop_update", weight, grad, state[0], lr=lr, wd=wd, **kw)
        else:
            n, g, delta = state
            fused_update("rmspropalex_update", weight, grad, n, g, delta, lr=lr, wd=wd,
                         gamma2=self.gamma2, **kw)


@register
class Adamax(Optimizer):
    """AdaMax (the infinity-norm Adam variant): ``m = b1*m + (1-b1)*g``,
    ``u = max(b2*u, |g|)``, ``w -= lr / (1 - b1^t) * m / u``."""

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2 = beta1, beta2

    def create_state(self, index, weight):
        return _pair(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr /= 1.0 - self.beta1 ** t
        g = self._prep_grad(grad, weight, wd)
        m_t, u_t = state
        m_t[:] = self.beta1 * m_t + (1.0 - self.beta1) * g
        u_t[:] = nd.maximum(self.beta2 * u_t, nd.abs(g))
        weight[:] = weight - lr * m_t / u_t


@register
class Nadam(Optimizer):
    """Nesterov Adam (Dozat 2016) with MXNet's momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t*schedule_decay))``."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0

    def create_state(self, index, weight):
        return _pair(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        g = self._prep_grad(grad, weight, wd)
        mom_t = self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.schedule_decay))
        mom_t1 = self.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * mom_t
        m_schedule_next = self.m_schedule * mom_t1
        m_t, v_t = state
        m_t[:] = self.beta1 * m_t + (1.0 - self.beta1) * g
        v_t[:] = self.beta2 * v_t + (1.0 - self.beta2) * g * g
        g_prime = g / (1.0 - self.m_schedule)
        m_t_prime = m_t / (1.0 - m_schedule_next)
        v_t_prime = v_t / (1.0 - self.beta2 ** t)
        m_t_bar = (1.0 - mom_t) * g_prime + mom_t1 * m_t_prime
        weight[:] = weight - lr * m_t_bar / (nd.sqrt(v_t_prime) + self.epsilon)


@register
class FTML(Optimizer):
    """FTML, Follow the Moving Leader (Zheng & Kwok 2017), through ``ftml_update``."""

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight), zeros_like(weight))  # d, v, z

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        d, v, z = state
        fused_update("ftml_update", weight, grad, d, v, z, lr=lr, wd=wd, t=t,
                     beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon,
                     rescale_grad=self.rescale_grad, **self._clip_kwargs("clip_grad"))


@register
class LAMB(Optimizer):
    """LAMB (You et al. 2019): Adam's direction ``r = m_hat / (sqrt(v_hat) + eps) + wd*w``
    scaled per layer by the trust ratio ``|w| / |r|`` (``|w|`` clipped to
    ``[lower_bound, upper_bound]`` when given; ratio 1 when either norm is 0).

    ``update`` and ``update_multi_precision`` also take MXNet 1.9.1's aggregated call: lists
    (or tuples) of indices, weights, gradients and states, updated in order (each index counted
    and its learning rate read in turn, as 1.9.1's ``multi_lamb_update`` /
    ``multi_mp_lamb_update`` path does). With ``multi_precision`` the state of a float16
    weight is ``(float32 master, (mean, var))``; the float32 master takes the step, and, as in
    1.9.1's ``multi_mp_lamb_update``, ``|w|`` of the trust ratio is that of the float16 weight
    (``sqrt(sum(float32(w16 * w16)))``, each square rounded to float16). A direct single-index
    call gives the same result (1.9.1's single-index ``mp_lamb_update_phase2`` path leaves its
    master copy stale and is not followed).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = max(1, min(45, aggregation_size(45)))

    def create_state(self, index, weight):
        return _pair(weight)

    def update_multi_precision(self, index, weight, grad, state):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update_multi_precision(i, w, g, s)
            return
        if self.multi_precision and low_precision(weight):
            master, inner = state
            norm_of = weight if np.dtype(weight.dtype) == np.float16 else None
            self._step(index, master, grad.astype(np.float32), inner, norm_of)
            weight[:] = master.astype(weight.dtype)
        else:
            self.update(index, weight, grad, state)

    def update(self, index, weight, grad, state):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update(i, w, g, s)
            return
        self._step(index, weight, grad, state)

    def _step(self, index, weight, grad, state, norm_of=None):
        """One LAMB step of ``weight``; ``norm_of``: the float16 weight whose norm is the
        trust ratio's ``|w|`` (multi-precision), else ``weight``'s."""
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        g = self._prep_grad(grad)
        mean, var = state
        mean[:] = self.beta1 * mean + (1.0 - self.beta1) * g
        var[:] = self.beta2 * var + (1.0 - self.beta2) * g * g
        m, v = mean, var
        if self.bias_correction:
            m = mean / (1.0 - self.beta1 ** t)
            v = var / (1.0 - self.beta2 ** t)
        r = m / (nd.sqrt(v) + self.epsilon) + wd * weight
        if norm_of is None:
            r1 = float(nd.norm(weight).asscalar())
        else:  # 1.9.1's multi_sum_sq of the float16 weights: float16 squares, float32 sum
            r1 = math.sqrt(float(nd.sum((norm_of * norm_of).astype(np.float32)).asscalar()))
        if self.lower_bound:
            r1 = max(r1, self.lower_bound)
        if self.upper_bound:
            r1 = min(r1, self.upper_bound)
        r2 = float(nd.norm(r).asscalar())
        ratio = 1.0 if r1 == 0.0 or r2 == 0.0 else r1 / r2
        weight[:] = weight - lr * ratio * r


@register
class Ftrl(Optimizer):
    """FTRL-proximal (McMahan et al. 2013) through ``ftrl_update``; ``lamda1`` is the L1 and
    ``wd`` the L2 strength."""

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lamda1, self.beta = lamda1, beta

    def create_state(self, index, weight):
        return _pair(weight)  # z, n

    def update(self, index, weight, grad, state):
        self._update_count(index)
        wd, lr = self._get_wd(index), self._get_lr(index)
        z, n = state
        fused_update("ftrl_update", weight, grad, z, n, lr=lr, wd=wd, lamda1=self.lamda1,
                     beta=self.beta, rescale_grad=self.rescale_grad, **self._clip_kwargs())


@register
class AdaBound(Optimizer):
    """AdaBound (Luo et al. 2019): Adam whose per-element step ``lr_t / (sqrt(v) + eps)`` is
    clipped to ``[final_lr*(1 - 1/(gamma*t + 1)), final_lr*(1 + 1/(gamma*t))]``, so it moves
    from Adam towards SGD with rate ``final_lr``. Not part of MXNet 1.x; the defaults and the
    rule follow the authors' reference implementation (``final_lr`` follows the scheduler as
    ``final_lr * lr / learning_rate``).
    """

    amsbound = False

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, final_lr=0.1, gamma=1e-3,
                 epsilon=1e-8, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.final_lr, self.gamma = final_lr, gamma
        self.base_lr = learning_rate

    def create_state(self, index, weight):
        n = 3 if self.amsbound else 2
        return tuple(zeros_like(weight) for _ in range(n))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        g = self._prep_grad(grad, weight, wd)
        mean, var = state[0], state[1]
        mean[:] = self.beta1 * mean + (1.0 - self.beta1) * g
        var[:] = self.beta2 * var + (1.0 - self.beta2) * g * g
        if self.amsbound:
            state[2][:] = nd.maximum(state[2], var)
            var = state[2]
        step = lr * math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        final_lr = self.final_lr * lr / self.base_lr
        lower = final_lr * (1.0 - 1.0 / (self.gamma * t + 1.0))
        upper = final_lr * (1.0 + 1.0 / (self.gamma * t))
        rate = nd.clip(step / (nd.sqrt(var) + self.epsilon), lower, upper)
        weight[:] = weight - rate * mean


@register
class AMSBound(AdaBound):
    """AMSBound: AdaBound over the running maximum of the second moment (AMSGrad's)."""

    amsbound = True
