"""MXNet 1.9.1's multi-tensor AdamW and LAMB updates: ``_multi_adamw_update``,
``_multi_mp_adamw_update``, ``_multi_lamb_update`` and ``_multi_mp_lamb_update`` (what
``mx.nd.contrib.multi_adamw_update`` & co. call).

As in ``multi_optimizer_ops``, the arrays of each tensor come interleaved (weight, grad, mean,
var[, weight32], weight, ...), the ops return the new weights and update the states in place,
and every tensor runs the single-tensor rule of ``optimizer_extra_ops``: ``adamw``, and LAMB's
two phases with the weight's and the direction's norms in between (which is what MXNet's fused
kernel computes). The ``mp_`` forms update the float32 master ``weight32`` too.
"""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Attr, Bool, Float, Int
from .optimizer_extra_ops import adamw, lamb_phase1, lamb_phase2
from .optimizer_ops import _check_lr
from .registry import Sample, defop

__all__ = ["MULTI_ADAMW_LAMB_OPS"]

MULTI_ADAMW_LAMB_OPS: dict = {}


def _groups(xs, group, n):
    return [xs[i * group:(i + 1) * group] for i in range(n)]


def _infer_groups(name, specs, group, n, per_tensor):
    """The new weights' specs; each group's arrays must have its weight's shape. The bodies run
    it on their arrays too: an eager call with a short ``lrs`` would drop tensors, not fail."""
    I.expect(len(specs) == group * n, name,
             f"{group} arrays per tensor x {n} tensors = {group * n} inputs",
             f"{len(specs)} inputs")
    for key, values in per_tensor.items():
        I.expect(len(values) == n, name, f"len({key}) == the number of tensors {n}",
                 f"len({key})={len(values)}")
    out = []
    for g in _groups(specs, group, n):
        weight = g[0]
        for s in g[1:]:
            I.expect(tuple(s.shape) == tuple(weight.shape), name,
                     "every array of a tensor of its weight's shape",
                     f"{tuple(s.shape)} != {tuple(weight.shape)}")
        out.append(I.Spec(weight.shape, weight.dtype))
    return tuple(out)


def _finish(xp, new, weight, master):
    """The new weight in ``weight``'s dtype; ``master`` (the ``mp_`` forms' weight32) updated."""
    if master:
        master[0][...] = new
        return xp.astype(new, weight.dtype)
    return new


# -- AdamW -----------------------------------------------------------------------------------------
_ADAMW = {"lrs": Attr((), "floats"), "beta1": Float(0.9), "beta2": Float(0.999),
          "epsilon": Float(1e-8), "wds": Attr((), "floats"), "etas": Attr((), "floats"),
          "clip_gradient": Float(-1.0), "num_weights": Int(1)}


def _declare_adamw(name, group):
    def infer(*specs, lrs=(), wds=(), etas=(), num_weights=1, **_):
        *arrays, scale = specs
        I.expect(int(np.prod(scale.shape)) == 1, name, "rescale_grad (the last input) of one "
                 "element", f"shape {tuple(scale.shape)}")
        return _infer_groups(name, arrays, group, num_weights,
                             {"lrs": lrs, "wds": wds, "etas": etas})

    op = defop(name, ("data",), _ADAMW, infer=infer, variadic=True, differentiable=False,
               nout=lambda attrs: attrs["num_weights"],
               doc=f"``adamw_update`` on ``num_weights`` tensors; ``data``: {group} arrays per "
                   f"tensor, interleaved, then the array ``rescale_grad`` (0, NaN or infinite: "
                   f"nothing changes); ``lrs``, ``wds``, ``etas`` one value per tensor.")

    @op.impl
    def _(xp, *xs, lrs=(), wds=(), etas=(), num_weights=1, **rule):
        _check_lr(name, lrs or None)
        infer(*xs, lrs=lrs, wds=wds, etas=etas, num_weights=num_weights)
        *arrays, scale = xs
        outs = []
        for (weight, grad, mean, var, *master), lr, wd, eta in zip(
                _groups(arrays, group, num_weights), lrs, wds, etas):
            target = master[0] if master else weight
            new = adamw(xp, grad, mean, var, target, scale, lr, wd=wd, eta=eta, **rule)
            outs.append(_finish(xp, new, weight, master))
        return tuple(outs)

    MULTI_ADAMW_LAMB_OPS[name] = op
    return op


_declare_adamw("_multi_adamw_update", 4)
_declare_adamw("_multi_mp_adamw_update", 5)


# -- LAMB ------------------------------------------------------------------------------------------
_LAMB = {"learning_rates": Attr((), "floats"), "beta1": Float(0.9), "beta2": Float(0.999),
         "epsilon": Float(1e-6), "wds": Attr((), "floats"), "rescale_grad": Float(1.0),
         "lower_bound": Float(-1.0), "upper_bound": Float(-1.0), "clip_gradient": Float(-1.0),
         "bias_correction": Bool(True), "step_count": Attr((), "shape"), "num_tensors": Int(1)}


def _norm(xp, x):
    return xp.sqrt(xp.sum(x * x))


def _declare_lamb(name, group):
    def infer(*specs, learning_rates=(), wds=(), step_count=(), num_tensors=1, **_):
        return _infer_groups(name, specs, group, num_tensors,
                             {"learning_rates": learning_rates, "wds": wds,
                              "step_count": step_count})

    op = defop(name, ("data",), _LAMB, infer=infer, variadic=True, differentiable=False,
               nout=lambda attrs: attrs["num_tensors"],
               doc=f"LAMB on ``num_tensors`` tensors (``lamb_update_phase1``, then "
                   f"``lamb_update_phase2`` with the weight's and the direction's norms); "
                   f"``data``: {group} arrays per tensor, interleaved; ``learning_rates``, "
                   f"``wds``, ``step_count`` one value per tensor.")

    @op.impl
    def _(xp, *xs, learning_rates=(), wds=(), step_count=(), num_tensors=1, lower_bound=-1.0,
          upper_bound=-1.0, **rule):
        _check_lr(name, learning_rates or None)
        infer(*xs, learning_rates=learning_rates, wds=wds, step_count=step_count,
              num_tensors=num_tensors)
        outs = []
        for (weight, grad, mean, var, *master), lr, wd, t in zip(
                _groups(xs, group, num_tensors), learning_rates, wds, step_count):
            target = master[0] if master else weight
            d = lamb_phase1(xp, grad, mean, var, target, t=t, wd=wd, **rule)
            new = lamb_phase2(xp, target, d, _norm(xp, target), _norm(xp, d), lr, lower_bound,
                              upper_bound)
            outs.append(_finish(xp, new, weight, master))
        return tuple(outs)

    MULTI_ADAMW_LAMB_OPS[name] = op
    return op


_declare_lamb("_multi_lamb_update", 4)
_declare_lamb("_multi_mp_lamb_update", 5)


# -- samples ---------------------------------------------------------------------------------------
def _arrays(rng, n, master):
    xs = []
    for shape in ((3, 4), (5,))[:n]:
        w = rng.uniform(-1, 1, shape)
        xs += [w, rng.uniform(-2, 2, shape), rng.uniform(-0.5, 0.8, shape),
               rng.uniform(0.1, 0.8, shape)] + ([w.copy()] if master else [])
    return xs


for _name, _master in (("_multi_adamw_update", False), ("_multi_mp_adamw_update", True)):
    MULTI_ADAMW_LAMB_OPS[_name].samples(
        lambda rng, m=_master: Sample(*_arrays(rng, 2, m), np.array([0.5]), grad=False,
                                      lrs=(0.1, 0.05), wds=(0.01, 0.0), etas=(1.0, 0.5),
                                      num_weights=2),
        lambda rng, m=_master: Sample(*_arrays(rng, 1, m), np.array([np.nan]), grad=False,
                                      lrs=(0.1,), wds=(0.0,), etas=(1.0,), clip_gradient=0.5))
for _name, _master in (("_multi_lamb_update", False), ("_multi_mp_lamb_update", True)):
    MULTI_ADAMW_LAMB_OPS[_name].samples(
        lambda rng, m=_master: Sample(*_arrays(rng, 2, m), grad=False, learning_rates=(0.1, 0.05),
                                      wds=(0.01, 0.0), step_count=(3, 5), num_tensors=2),
        lambda rng, m=_master: Sample(*_arrays(rng, 1, m), grad=False, learning_rates=(0.1,),
                                      wds=(0.0,), step_count=(1,), rescale_grad=0.5,
                                      clip_gradient=0.7, lower_bound=0.1, upper_bound=2.0,
                                      bias_correction=False))
