"""MXNet's multi-tensor SGD updates: ``multi_sgd_update``, ``multi_sgd_mom_update``,
``multi_mp_sgd_update`` and ``multi_mp_sgd_mom_update``; and LARS's multi-tensor helpers
``multi_sum_sq`` (the squared norm of each array) and ``multi_lars`` (the layer-wise rates).

One call updates ``num_weights`` parameters whose arrays come interleaved (weight, grad[, mom]
[, weight32], weight, grad, ...), each with its own learning rate and weight decay (``lrs``,
``wds``); it returns the new weights (``out=`` a list of the weights writes them in place) and
updates the states in place, as the single-tensor op of each group does. ``mx.optimizer.SGD``
updates all of a context's parameters through one such call, so the per-parameter dispatch is
paid once per step. Every group runs the single-tensor op's own body: one definition of each
update rule.
"""

from __future__ import annotations

import numpy as np

from ..backends.array_api import to_numpy
from . import infer as I
from .attrs import Attr, Float, Int
from .optimizer_ops import OPTIMIZER_OPS, _check_lr, check_shapes
from .registry import Sample, defop

__all__ = ["MULTI_OPTIMIZER_OPS", "multi_sum_sq", "multi_lars"]

MULTI_OPTIMIZER_OPS: dict = {}


def _floats():
    return Attr((), "floats")


def _declare(name, single, group):
    """``multi_<single>``: ``group`` interleaved inputs per weight, run by ``single``'s body."""
    base = OPTIMIZER_OPS[single]
    extra = {k: a for k, a in base.attrs.items() if k not in ("lr", "wd", "lazy_update")}

    def groups(xs, num_weights):
        return [xs[i * group:(i + 1) * group] for i in range(num_weights)]

    lazy = {"lazy_update": True} if "lazy_update" in base.attrs else {}

    def shared(attrs):
        """The single op's attributes every weight shares (all but lr and wd)."""
        return {**{k: v for k, v in attrs.items() if k not in ("lrs", "wds", "num_weights")},
                **lazy}

    def per_weight(attrs, i):
        return {**shared(attrs), "lr": attrs["lrs"][i], "wd": attrs["wds"][i]}

    def infer(*specs, lrs=(), wds=(), num_weights=1, **_):
        I.expect(len(specs) == group * num_weights, name,
                 f"{group} inputs per weight x num_weights={num_weights} = "
                 f"{group * num_weights} inputs", f"{len(specs)} inputs")
        I.expect(len(lrs) == num_weights and len(wds) == num_weights, name,
                 f"len(lrs) == len(wds) == num_weights={num_weights}",
                 f"len(lrs)={len(lrs)}, len(wds)={len(wds)}")
        return tuple(base.infer(*g, lr=lr) for g, lr in zip(groups(specs, num_weights), lrs))

    op = defop(name, ("data",), {"lrs": _floats(), "wds": _floats(), **extra,
                                 "num_weights": Int(1)},
               infer=infer, variadic=True, differentiable=False,
               nout=lambda attrs: attrs["num_weights"],
               doc=f"``{single}`` on ``num_weights`` parameters at once; ``data`` holds "
                   f"{group} arrays per parameter, interleaved ({', '.join(base.inputs)}, ...); "
                   f"``lrs`` and ``wds`` one learning rate and weight decay each.")

    def check(xs, attrs):
        """Eager calls too (a short ``lrs`` would drop weights, not fail); the shape rule
        names what is wrong."""
        n = attrs["num_weights"]
        if len(xs) != group * n or len(attrs["lrs"]) != n or len(attrs["wds"]) != n:
            infer(*xs, **attrs)
        if not check_shapes(xs, group):
            k = next(k for k in range(n) if not check_shapes(xs[k * group:(k + 1) * group]))
            shapes = [tuple(x.shape) for x in xs[k * group:(k + 1) * group]]
            I.expect(False, name, f"the {group} arrays of each weight of one shape "
                     f"({', '.join(base.inputs)})", f"weight {k}: {shapes}")

    @op.impl
    def _(xp, *xs, **attrs):
        _check_lr(name, attrs["lrs"] or None)
        check(xs, attrs)
        return tuple(base.generic(xp, *g, **per_weight(attrs, i))
                     for i, g in enumerate(groups(xs, attrs["num_weights"])))

    def kernel_out(backend_name):
        single_out = base.plain_out_kernels.get(backend_name)
        if single_out is None:
            return

        @op.kernel_out(backend_name)
        def _(be, outs, *xs, **attrs):
            _check_lr(name, attrs["lrs"] or None)
            check(xs, attrs)
            common = shared(attrs)  # built once per call: this runs every training step
            for k, (o, lr, wd) in enumerate(zip(outs, attrs["lrs"], attrs["wds"])):
                single_out(be, o, *xs[k * group:(k + 1) * group], lr=lr, wd=wd, **common)

    for backend_name in ("numpy", "opencl", "cupy"):
        kernel_out(backend_name)
    MULTI_OPTIMIZER_OPS[name] = op
    return op


_declare("multi_sgd_update", "sgd_update", 2)
_declare("multi_sgd_mom_update", "sgd_mom_update", 3)
_declare("multi_mp_sgd_update", "mp_sgd_update", 3)
_declare("multi_mp_sgd_mom_update", "mp_sgd_mom_update", 4)


def _sample(group, lrs, wds, positive=(), **attrs):
    def fn(rng):
        xs = []
        for shape in [(3, 4), (5,)][:len(lrs)]:
            xs += [rng.uniform(-1, 1, shape), rng.uniform(-2, 2, shape)]
            xs += [rng.uniform(0.1 if k in positive else -0.5, 0.8, shape)
                   for k in range(group - 2)]
        return Sample(*xs, grad=False, lrs=lrs, wds=wds, num_weights=len(lrs), **attrs)
    return fn


MULTI_OPTIMIZER_OPS["multi_sgd_update"].samples(
    _sample(2, (0.1, 0.05), (0.0, 0.01)),
    _sample(2, (0.1,), (0.0,), rescale_grad=0.5, clip_gradient=0.3))
MULTI_OPTIMIZER_OPS["multi_sgd_mom_update"].samples(
    _sample(3, (0.1, 0.05), (0.0, 0.01), momentum=0.9),
    _sample(3, (0.1,), (0.02,), momentum=0.5, rescale_grad=0.5, clip_gradient=0.3))
MULTI_OPTIMIZER_OPS["multi_mp_sgd_update"].samples(_sample(3, (0.1, 0.05), (0.0, 0.01)))
MULTI_OPTIMIZER_OPS["multi_mp_sgd_mom_update"].samples(
    _sample(4, (0.1, 0.05), (0.0, 0.01), momentum=0.9))


# -- preloaded_multi_*: the rates and decays as the last two inputs ------------------------------
def _preloaded(name, multi):
    """``preloaded_<multi>``: ``multi`` with ``lrs`` and ``wds`` given as arrays (N,) after the
    interleaved weights, as MXNet's LARS optimizer passes the rates it computed on the device."""
    base = MULTI_OPTIMIZER_OPS[multi]
    attrs = {k: a for k, a in base.attrs.items() if k not in ("lrs", "wds")}

    def infer(*specs, num_weights=1, **kw):
        I.expect(len(specs) >= 2, name, "the interleaved arrays, then lrs and wds",
                 f"{len(specs)} inputs")
        *data, lrs, wds = specs
        for what, s in (("lrs", lrs), ("wds", wds)):
            I.expect(tuple(s.shape) == (num_weights,), name, f"{what} of shape ({num_weights},)",
                     f"{what}.shape={tuple(s.shape)}")
        return base.infer(*data, lrs=(0.0,) * num_weights, wds=(0.0,) * num_weights,
                          num_weights=num_weights, **kw)

    op = defop(name, ("data",), attrs, infer=infer, variadic=True, differentiable=False,
               nout=lambda a: a["num_weights"],
               doc=f"``{multi}`` with the learning rates and weight decays as the last two "
                   f"inputs, arrays of shape (num_weights,), instead of attributes.")

    @op.impl
    def _(xp, *xs, num_weights=1, **kw):
        *data, lrs, wds = xs
        lrs, wds = (tuple(float(v) for v in to_numpy(a).reshape(-1)) for a in (lrs, wds))
        return base.generic(xp, *data, lrs=lrs, wds=wds, num_weights=num_weights, **kw)

    MULTI_OPTIMIZER_OPS[name] = op
    return op


for _multi in ("multi_sgd_update", "multi_sgd_mom_update", "multi_mp_sgd_update",
               "multi_mp_sgd_mom_update"):
    _preloaded(f"preloaded_{_multi}", _multi)


def _preloaded_sample(group, **attrs):
    make = _sample(group, (0.1, 0.05), (0.0, 0.01), **attrs)

    def fn(rng):
        s = make(rng)
        lrs, wds = (np.array(s.attrs.pop(k)) for k in ("lrs", "wds"))
        return Sample(*s.inputs, lrs, wds, grad=False, **s.attrs)
    return fn


MULTI_OPTIMIZER_OPS["preloaded_multi_sgd_update"].samples(_preloaded_sample(2))
MULTI_OPTIMIZER_OPS["preloaded_multi_sgd_mom_update"].samples(
    _preloaded_sample(3, momentum=0.9))
MULTI_OPTIMIZER_OPS["preloaded_multi_mp_sgd_update"].samples(_preloaded_sample(3))
MULTI_OPTIMIZER_OPS["preloaded_multi_mp_sgd_mom_update"].samples(
    _preloaded_sample(4, momentum=0.9))


# -- LARS's multi-tensor helpers -------------------------------------------------------------------
def _sum_sq_infer(*specs, num_arrays=1):
    op = "multi_sum_sq"
    I.expect(num_arrays >= 1 and len(specs) == num_arrays, op,
             f"num_arrays={num_arrays} >= 1 inputs", f"{len(specs)} inputs")
    dt = np.dtype(specs[0].dtype)
    I.expect(all(np.dtype(s.dtype) == dt for s in specs), op, "arrays of one dtype",
             ", ".join(np.dtype(s.dtype).name for s in specs))
    return I.Spec((num_arrays,), np.dtype(np.float32))


multi_sum_sq = defop("multi_sum_sq", ("data",), {"num_arrays": Int(1)}, infer=_sum_sq_infer,
                     variadic=True, differentiable=False,
                     doc="The sum of squares of each of ``num_arrays`` arrays, (num_arrays,) "
                         "float32: squared in the arrays' dtype, summed in float32 (MXNet's: "
                         "float16 squares past 65504 are inf).")


@multi_sum_sq.impl
def _(xp, *xs, num_arrays=1):
    _sum_sq_infer(*(I.Spec(x.shape, x.dtype) for x in xs), num_arrays=num_arrays)
    return xp.stack([xp.sum(xp.astype(xp.reshape(x * x, (-1,)), xp.float32)) for x in xs])


def _lars_infer(lrs, weights_sum_sq, grads_sum_sq, wds, eta=0.0, eps=0.0, rescale_grad=1.0):
    op = "multi_lars"
    for name, s in (("weights_sum_sq", weights_sum_sq), ("grads_sum_sq", grads_sum_sq),
                    ("wds", wds)):
        I.expect(tuple(s.shape) == tuple(lrs.shape) and lrs.ndim == 1, op,
                 f"{name} of lrs' shape (N,) = {tuple(lrs.shape)}", f"{name}.shape="
                 f"{tuple(s.shape)}")
    return I.Spec(lrs.shape, lrs.dtype)


multi_lars = defop(
    "multi_lars", ("lrs", "weights_sum_sq", "grads_sum_sq", "wds"),
    {"eta": Float(0.0), "eps": Float(0.0), "rescale_grad": Float(1.0)}, infer=_lars_infer,
    differentiable=False,
    doc="LARS's layer-wise learning rates: ``lrs * eta * |w| / (|g| + wds * |w| + eps)`` with "
        "``|w| = sqrt(weights_sum_sq)`` and ``|g| = sqrt(grads_sum_sq) * rescale_grad``, or "
        "``lrs`` where either norm is 0 (as MXNet).")


@multi_lars.impl
def _(xp, lrs, wss, gss, wds, eta=0.0, eps=0.0, rescale_grad=1.0):
    _lars_infer(*(I.Spec(v.shape, v.dtype) for v in (lrs, wss, gss, wds)))
    w, g = xp.sqrt(wss), xp.sqrt(gss) * rescale_grad
    both = (w > 0) & (g > 0)
    ratio = eta * w / (g + wds * w + eps)
    return lrs * xp.where(both, ratio, xp.ones_like(ratio))


multi_sum_sq.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(-2, 2, (5,)),
                                        num_arrays=2, grad=False))
multi_lars.samples(lambda rng: Sample(np.array([0.1, 0.2, 0.3]), np.array([30.0, 4.0, 0.0]),
                                      np.array([2.5, 0.0, 1.0]), np.array([0.01, 0.0, 0.1]),
                                      eta=0.001, eps=1e-8, rescale_grad=0.5, grad=False))
