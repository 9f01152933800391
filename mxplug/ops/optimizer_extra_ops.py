"""The rest of MXNet 1.x's update ops: ``mp_nag_mom_update``, LAMB's two phases
(``lamb_update_phase1/2`` and their multi-precision ``mp_`` forms) and the contrib AdamW updates
(``_contrib_adamw_update``, ``_contrib_mp_adamw_update``), as MXNet 1.9.1 computes them.

Like ``optimizer_ops``, each op returns the new weight (phase 1: LAMB's update direction) and
updates its state inputs in place; the ``mp_`` forms keep a float32 master copy ``weight32`` of
a low-precision ``weight`` and return the weight in its own dtype.
"""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Bool, Float
from .optimizer_ops import _COMMON, OPTIMIZER_OPS, _check_lr, _clip, _declare, _lr
from .registry import Sample, defop

__all__ = ["lamb_phase1", "lamb_phase2", "adamw"]


# -- NAG, multi-precision --------------------------------------------------------------------------
@_declare("mp_nag_mom_update", ("weight", "grad", "mom", "weight32"), ("mom", "weight32"),
          {"lr": _lr(), "momentum": Float(0.0), **_COMMON}, None,
          "``nag_mom_update`` on the float32 master ``weight32`` (and float32 ``mom``); returns "
          "the new weight in ``weight``'s dtype. As MXNet 1.9.1's kernel, the momentum's weight "
          "decay term reads the updated master weight.")
def _(xp, weight, grad, mom, weight32, lr, momentum, wd, rescale_grad, clip_gradient):
    cg = _clip(xp, rescale_grad * xp.astype(grad, weight32.dtype), clip_gradient)
    new = weight32 + momentum * (momentum * mom - lr * (cg + wd * weight32)) \
        - lr * (cg + wd * weight32)
    mom[...] = momentum * mom - lr * (cg + wd * new)
    weight32[...] = new
    return xp.astype(new, weight.dtype)


# -- LAMB ------------------------------------------------------------------------------------------
_PHASE1 = {"beta1": Float(0.9), "beta2": Float(0.999), "epsilon": Float(1e-6),
           "t": Attr(None, "int"), "bias_correction": Bool(True), **_COMMON,
           "wd": Attr(None, "float")}  # t and wd required, as in MXNet


def lamb_phase1(xp, grad, mean, var, decayed, beta1, beta2, epsilon, t, bias_correction,
                wd, rescale_grad, clip_gradient):
    """LAMB's direction ``m / (sqrt(v) + epsilon) + wd * decayed`` (bias-corrected moments
    when ``bias_correction``), updating ``mean`` and ``var`` in place."""
    if t is None or wd is None:
        raise TypeError("lamb_update_phase1: the attributes t and wd are required")
    g = _clip(xp, rescale_grad * xp.astype(grad, mean.dtype), clip_gradient)
    mean[...] = beta1 * mean + (1 - beta1) * g
    var[...] = beta2 * var + (1 - beta2) * g * g
    m, v = mean, var
    if bias_correction:
        m, v = mean / (1 - beta1 ** t), var / (1 - beta2 ** t)
    return m / (xp.sqrt(v) + epsilon) + wd * decayed


@_declare("lamb_update_phase1", ("weight", "grad", "mean", "var"), ("mean", "var"), _PHASE1,
          None, "LAMB's first phase: the moments updated in place and the direction "
          "``g = m / (sqrt(v) + epsilon) + wd * weight`` returned (``m``, ``v`` bias-corrected "
          "by step ``t`` when ``bias_correction``); ``lamb_update_phase2`` applies it.")
def _(xp, weight, grad, mean, var, **attrs):
    return lamb_phase1(xp, grad, mean, var, weight, **attrs)


@_declare("mp_lamb_update_phase1", ("weight", "grad", "mean", "var", "weight32"),
          ("mean", "var"), _PHASE1, None,
          "``lamb_update_phase1`` with the float32 master ``weight32`` (the direction is float32).")
def _(xp, weight, grad, mean, var, weight32, **attrs):
    return lamb_phase1(xp, grad, mean, var, weight32, **attrs)


_PHASE2 = {"lr": _lr(), "lower_bound": Float(-1.0), "upper_bound": Float(-1.0)}


def _phase2_infer(op, names):
    def infer(weight, g, r1, r2, *master, **attrs):
        for name, s in zip(names, (g, *master)):
            I.expect(tuple(s.shape) == tuple(weight.shape), op, f"{name}.shape == weight.shape",
                     f"{tuple(s.shape)} != {tuple(weight.shape)}")
        for name, s in (("r1", r1), ("r2", r2)):
            I.expect(math.prod(s.shape) == 1, op, f"{name} of one element (a norm)",
                     f"{name}.shape={tuple(s.shape)}")
        return I.Spec(weight.shape, weight.dtype)
    return infer


def lamb_phase2(xp, target, g, r1, r2, lr, lower_bound, upper_bound):
    """``target - lr * r1 / r2 * g`` with the weight norm ``r1`` held in ``[lower_bound,
    upper_bound]`` (each when >= 0) and the ratio 1 where either norm is 0."""
    r1 = xp.reshape(xp.astype(r1, target.dtype), ())
    r2 = xp.reshape(xp.astype(r2, target.dtype), ())
    if lower_bound >= 0:
        r1 = xp.maximum(r1, xp.asarray(lower_bound, dtype=target.dtype, device=target.device))
    if upper_bound >= 0:
        r1 = xp.minimum(r1, xp.asarray(upper_bound, dtype=target.dtype, device=target.device))
    one = xp.ones_like(r1)
    ratio = xp.where((r1 == 0) | (r2 == 0), one, r1 / xp.where(r2 == 0, one, r2))
    return target - lr * ratio * xp.astype(g, target.dtype)


_LAMB2 = "Applies LAMB's direction ``g`` with the trust ratio ``r1 / r2`` (``r1`` the weight's "
lamb_update_phase2 = defop(
    "lamb_update_phase2", ("weight", "g", "r1", "r2"), _PHASE2,
    infer=_phase2_infer("lamb_update_phase2", ("g",)), differentiable=False,
    doc=_LAMB2 + "norm, clipped to ``lower_bound``/``upper_bound`` when >= 0, ``r2`` g's; 1 where "
                 "either is 0): ``weight - lr * r1 / r2 * g``.")


@lamb_update_phase2.impl
def _(xp, weight, g, r1, r2, lr=None, lower_bound=-1.0, upper_bound=-1.0):
    _check_lr("lamb_update_phase2", lr)
    return lamb_phase2(xp, weight, g, r1, r2, lr, lower_bound, upper_bound)


mp_lamb_update_phase2 = defop(
    "mp_lamb_update_phase2", ("weight", "g", "r1", "r2", "weight32"), _PHASE2,
    infer=_phase2_infer("mp_lamb_update_phase2", ("g", "weight32")), differentiable=False,
    doc="``lamb_update_phase2`` from the float32 master ``weight32``: the new weight in "
        "``weight``'s dtype (``weight32`` is left as it is, as in MXNet 1.9.1).")


@mp_lamb_update_phase2.impl
def _(xp, weight, g, r1, r2, weight32, lr=None, lower_bound=-1.0, upper_bound=-1.0):
    _check_lr("mp_lamb_update_phase2", lr)
    return xp.astype(lamb_phase2(xp, weight32, g, r1, r2, lr, lower_bound, upper_bound),
                     weight.dtype)


# -- AdamW (contrib) -------------------------------------------------------------------------------
_ADAMW = {"lr": _lr(), "beta1": Float(0.9), "beta2": Float(0.999), "epsilon": Float(1e-8),
          "wd": Float(0.0), "eta": Attr(None, "float"), "clip_gradient": Float(-1.0)}


def _adamw_infer(op, names):
    def infer(weight, grad, mean, var, *rest, **attrs):
        *master, scale = rest
        for name, s in zip(names, (grad, mean, var, *master)):
            I.expect(tuple(s.shape) == tuple(weight.shape), op, f"{name}.shape == weight.shape",
                     f"{tuple(s.shape)} != {tuple(weight.shape)}")
        I.expect(math.prod(scale.shape) == 1, op, "rescale_grad of one element",
                 f"rescale_grad.shape={tuple(scale.shape)}")
        return I.Spec(weight.shape, weight.dtype)
    return infer


def adamw(xp, grad, mean, var, target, scale, lr, beta1, beta2, epsilon, wd, eta,
          clip_gradient):
    """AdamW's new value of ``target`` (the weight or its float32 master), the moments updated
    in place; where the (array) ``rescale_grad`` is 0, NaN or infinite nothing changes, as in
    MXNet (decided on the device: no host read of the loss scaler's value)."""
    if eta is None:
        raise TypeError("adamw_update: the attribute eta is required")
    s = xp.reshape(xp.astype(scale, target.dtype), ())
    skip = (s == 0) | ~xp.isfinite(s)
    g = _clip(xp, xp.where(skip, xp.zeros_like(s), s) * xp.astype(grad, target.dtype),
              clip_gradient)
    mean[...] = xp.where(skip, mean, beta1 * mean + (1 - beta1) * g)
    var[...] = xp.where(skip, var, beta2 * var + (1 - beta2) * g * g)
    new = target - eta * (lr * mean / (xp.sqrt(var) + epsilon) + wd * target)
    return xp.where(skip, target, new)


_ADAMW_DOC = ("AdamW (decoupled weight decay): with ``g = clip(rescale_grad * grad)``, ``mean = "
              "b1*mean + (1-b1)*g``, ``var = b2*var + (1-b2)*g^2``, ``weight -= eta * (lr * mean "
              "/ (sqrt(var) + epsilon) + wd * weight)``; ``rescale_grad`` is an array (a loss "
              "scaler's), and where it is 0, NaN or infinite nothing changes.")
adamw_update = defop(
    "_contrib_adamw_update", ("weight", "grad", "mean", "var", "rescale_grad"), _ADAMW,
    infer=_adamw_infer("adamw_update", ("grad", "mean", "var")), differentiable=False,
    doc=_ADAMW_DOC)
adamw_update.aux("mean", "var")


@adamw_update.impl
def _(xp, weight, grad, mean, var, rescale_grad, lr=None, **attrs):
    _check_lr("adamw_update", lr)
    return adamw(xp, grad, mean, var, weight, rescale_grad, lr, **attrs)


mp_adamw_update = defop(
    "_contrib_mp_adamw_update", ("weight", "grad", "mean", "var", "weight32", "rescale_grad"),
    _ADAMW, infer=_adamw_infer("mp_adamw_update", ("grad", "mean", "var", "weight32")),
    differentiable=False,
    doc=_ADAMW_DOC + " Multi-precision: on the float32 master ``weight32``.")
mp_adamw_update.aux("mean", "var", "weight32")


@mp_adamw_update.impl
def _(xp, weight, grad, mean, var, weight32, rescale_grad, lr=None, **attrs):
    _check_lr("mp_adamw_update", lr)
    weight32[...] = adamw(xp, grad, mean, var, weight32, rescale_grad, lr, **attrs)
    return xp.astype(weight32, weight.dtype)


# -- Group AdaGrad (contrib) -----------------------------------------------------------------------
def _group_adagrad_infer(weight, grad, history, **attrs):
    op = "group_adagrad_update"
    I.expect(len(weight.shape) == 2, op, "a 2-D weight (one learning rate per row)",
             f"weight.shape={tuple(weight.shape)}")
    I.expect(tuple(grad.shape) == tuple(weight.shape), op, "grad.shape == weight.shape",
             f"{tuple(grad.shape)} != {tuple(weight.shape)}")
    I.expect(tuple(history.shape) == (weight.shape[0], 1), op,
             f"history of shape (rows, 1) = ({weight.shape[0]}, 1)",
             f"history.shape={tuple(history.shape)}")
    return I.Spec(weight.shape, weight.dtype)


group_adagrad_update = defop(
    "_contrib_group_adagrad_update", ("weight", "grad", "history"),
    {"lr": _lr(), "rescale_grad": Float(1.0), "clip_gradient": Float(-1.0),
     "epsilon": Float(1e-5)},
    infer=_group_adagrad_infer, differentiable=False,
    doc="AdaGrad with one rate per row: ``g = clip(rescale_grad * grad)``, ``history += "
        "mean(g^2, axis=1, keepdims=True)``, ``weight -= lr * g / sqrt(history + epsilon)`` "
        "(MXNet 1.9.1 has only the row_sparse form on the CPU; this is the dense one).")
group_adagrad_update.aux("history")


@group_adagrad_update.impl
def _(xp, weight, grad, history, lr=None, rescale_grad=1.0, clip_gradient=-1.0, epsilon=1e-5):
    _check_lr("group_adagrad_update", lr)
    _group_adagrad_infer(weight, grad, history)  # eager calls too: no silent broadcast
    g = _clip(xp, rescale_grad * xp.astype(grad, weight.dtype), clip_gradient)
    history[...] = history + xp.mean(g * g, axis=1, keepdims=True)
    return weight - lr * g / xp.sqrt(history + epsilon)


# -- samples ---------------------------------------------------------------------------------------
def _arrays(rng, n, positive=()):
    xs = [rng.uniform(-1, 1, (3, 4)), rng.uniform(-2, 2, (3, 4))]
    xs += [rng.uniform(0.1 if k in positive else -0.5, 0.8, (3, 4)) for k in range(n)]
    return xs


OPTIMIZER_OPS["mp_nag_mom_update"].samples(
    lambda rng: Sample(*_arrays(rng, 2), grad=False, lr=0.1, momentum=0.9, wd=0.01,
                       rescale_grad=0.5, clip_gradient=0.6))
for _name, _states in (("lamb_update_phase1", 2), ("mp_lamb_update_phase1", 3)):
    OPTIMIZER_OPS[_name].samples(
        lambda rng, n=_states: Sample(*_arrays(rng, n, positive=(1,)), grad=False, t=3,
                                      wd=0.01),
        lambda rng, n=_states: Sample(*_arrays(rng, n, positive=(1,)), grad=False, t=1, wd=0.0,
                                      bias_correction=False, rescale_grad=0.5, clip_gradient=0.4))
lamb_update_phase2.samples(
    lambda rng: Sample(*_arrays(rng, 0), np.array([2.0]), np.array([4.0]), grad=False, lr=0.1),
    lambda rng: Sample(*_arrays(rng, 0), np.array([2.0]), np.array([0.0]), grad=False, lr=0.1,
                       lower_bound=0.5, upper_bound=1.5))
mp_lamb_update_phase2.samples(
    lambda rng: Sample(*_arrays(rng, 0), np.array([3.0]), np.array([1.5]),
                       rng.uniform(-1, 1, (3, 4)), grad=False, lr=0.1, upper_bound=1.0))
adamw_update.samples(
    lambda rng: Sample(*_arrays(rng, 2, positive=(1,)), np.array([0.5]), grad=False, lr=0.01,
                       eta=0.5, wd=0.1),
    lambda rng: Sample(*_arrays(rng, 2, positive=(1,)), np.array([np.inf]), grad=False, lr=0.01,
                       eta=0.5))
mp_adamw_update.samples(
    lambda rng: Sample(*_arrays(rng, 3, positive=(1,)), np.array([2.0]), grad=False, lr=0.01,
                       eta=1.0, clip_gradient=0.5))
group_adagrad_update.samples(
    lambda rng: Sample(*_arrays(rng, 0), rng.uniform(0.1, 0.8, (3, 1)), grad=False, lr=0.1),
    lambda rng: Sample(*_arrays(rng, 0), rng.uniform(0.1, 0.8, (3, 1)), grad=False, lr=0.05,
                       rescale_grad=0.5, clip_gradient=0.4, epsilon=1e-3))
