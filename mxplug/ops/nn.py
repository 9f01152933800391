"""Neural-network primitives: FullyConnected, normalisations, Embedding, activations, softmax and
its relatives, the classic losses. Convolution and Deconvolution live in ``conv.py``, Pooling
in ``pooling.py``.

Composites (``@op.compose``: LayerNorm, Activation, LeakyReLU, smooth_l1) are
written in other registered ops, so they get gradients and every backend for free.
"""
from __future__ import annotations

import math

import numpy as np

from . import dispatch
from . import infer as I
from .attrs import Attr, Axis, Bool, Dtype, Enum, Float, Int
from .call import F
from .dispatch import apply, state
from .indexing import IndexArg
from .registry import REGISTRY, Sample, defop


def _f(name, *args, **attrs):
    """Call registered op ``name`` from a composite body (attrs completed with the defaults)."""
    op = REGISTRY[name]
    return apply(op, *args, **op.parse_attrs(attrs))


def _u(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape)


def _s(x):
    """Spec of a raw array (impl bodies validate through their infer rule)."""
    return I.Spec(tuple(x.shape), np.dtype(x.dtype))


def _chan_shape(ndim, axis, n):
    """Shape that broadcasts a per-channel vector of length ``n`` along ``axis``."""
    return tuple(n if i == axis else 1 for i in range(ndim))


# -- FullyConnected -------------------------------------------------------------------------------
def _fc_infer(x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    op = "FullyConnected"
    I.expect(x.ndim >= 1, op, "data with ndim >= 1", f"data.shape={x.shape}")
    # flatten: (N, prod(rest)) — 1-D data is N rows of one feature, as in MXNet
    k = math.prod(x.shape[1:]) if flatten else x.shape[-1]
    I.expect(tuple(w.shape) == (num_hidden, k), op,
             f"weight.shape == (num_hidden, "
             f"{'prod(data.shape[1:])' if flatten else 'data.shape[-1]'}) == ({num_hidden}, {k})",
             f"{tuple(w.shape)} (data.shape={x.shape})")
    if no_bias:
        I.expect(b is None, op, "no bias input when no_bias=True",
                 f"bias.shape={getattr(b, 'shape', None)}")
    else:
        I.expect(b is not None, op, "a bias input (or no_bias=True)", "no bias given")
        I.expect(tuple(b.shape) == (num_hidden,), op, f"bias.shape == ({num_hidden},)",
                 f"{tuple(b.shape)}")
    lead = x.shape[:1] if flatten else x.shape[:-1]
    return I.Spec(lead + (num_hidden,), x.dtype)


fully_connected = defop(
    "FullyConnected", ("data", "weight", "bias"),
    {"num_hidden": Int(0), "no_bias": Bool(False), "flatten": Bool(True)}, infer=_fc_infer,
    aliases=("fully_connected",),
    doc="``data @ weight.T + bias`` with weight (num_hidden, in). ``flatten=True`` first reshapes "
        "data to (N, prod(rest)); ``flatten=False`` applies to the last axis only.")


def _fc_is_2d(x, w, b, num_hidden, no_bias):
    """Whether a FullyConnected call is one valid 2-D GEMM plus bias (the fast paths' case)."""
    return (x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[1] and w.shape[0] == num_hidden
            and x.dtype == w.dtype
            and (no_bias and b is None or not no_bias and b is not None
                 and b.shape == (num_hidden,) and b.dtype == x.dtype))


@fully_connected.impl
def _(xp, x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    if _fc_is_2d(x, w, b, num_hidden, no_bias):  # one GEMM (a GPU pays host time per call)
        r = xp.matmul(x, w.T)
        return r if b is None else r + b
    out = _fc_infer(_s(x), _s(w), b if b is None else _s(b), num_hidden, no_bias, flatten)
    x2 = xp.reshape(x, (-1, w.shape[1]))
    r = xp.matmul(x2, xp.permute_dims(w, (1, 0)))
    if b is not None:
        r = r + b
    return xp.reshape(r, out.shape)


@fully_connected.kernel("numpy", direct=True)
def _fc_numpy(x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    """2-D data straight to BLAS with the bias added in place: the generic body's checks and
    second temporary cost ~10 us per layer."""
    if _fc_is_2d(x, w, b, num_hidden, no_bias):
        r = np.matmul(x, w.T)
        if b is not None:
            r += b
        return r
    return fully_connected.generic(np, x, w, b, num_hidden, no_bias, flatten)


@fully_connected.kernel_out("numpy")
def _(be, out, x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    o2 = out.reshape(-1, num_hidden)  # out is contiguous: a view
    np.matmul(x.reshape(-1, w.shape[1]), w.T, out=o2)
    if b is not None:
        o2 += b


fully_connected.samples(
    lambda rng: Sample(_u(rng, 2, 3, 2), _u(rng, 4, 6), _u(rng, 4), num_hidden=4),
    lambda rng: Sample(_u(rng, 2, 3, 5), _u(rng, 4, 5), _u(rng, 4), num_hidden=4, flatten=False),
    lambda rng: Sample(_u(rng, 3, 5), _u(rng, 2, 5), num_hidden=2, no_bias=True),
)


def skips_grad(a) -> bool:
    """True for a concrete input no gradient can reach (eager autograd: no ``attach_grad``, not
    recorded): its share of a rule's work is skipped (None). Stand-ins of a graph build are
    never skipped; the graph passes drop the gradients nobody reads."""
    if type(a) is not dispatch._Array:  # mxplug.ndarray.NDArray (a Tracer is a subclass)
        return False
    ag = getattr(a, "_ag", None)
    return ag is None or (type(ag) is not tuple and ag.grad_req == "null")


@fully_connected.vjp
def _(g, out, x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    # 2-D data (the common case) needs no reshapes: each would be a graph step of its own
    flat = x.ndim == 2
    x2 = x if flat else F.reshape(x, shape=(-1, w.shape[1]))
    g2 = g if g.ndim == 2 else F.reshape(g, shape=(-1, num_hidden))
    gx = gw = None
    if not skips_grad(x):
        gx = F.dot(g2, w)
        gx = gx if flat else F.reshape(gx, shape=x.shape)
    if not skips_grad(w):
        gw = F.dot(g2, x2, transpose_a=True)
    if b is None:
        return gx, gw
    return gx, gw, (None if skips_grad(b) else F.sum(g2, axis=0))


# -- normalisation --------------------------------------------------------------------------------
def _param_check(op, x, axis, *params, names=("gamma", "beta")):
    c = x.shape[axis]
    for name, p in zip(names, params):
        I.expect(tuple(p.shape) == (c,), op, f"{name}.shape == (data.shape[{axis}],) == ({c},)",
                 f"{tuple(p.shape)}")


def _bn_infer(x, gamma, beta, mean, var, eps=1e-3, momentum=0.9, fix_gamma=True,
              use_global_stats=False, output_mean_var=False, axis=1, cudnn_off=False):
    op = "BatchNorm"
    I.expect(x.ndim >= 2 and -x.ndim <= axis < x.ndim, op, f"data of ndim >= 2 and axis in "
             f"[-{x.ndim}, {x.ndim})", f"data.shape={x.shape}, axis={axis}")
    _param_check(op, x, axis % x.ndim, gamma, beta, mean, var,
                 names=("gamma", "beta", "moving_mean", "moving_var"))
    out = I.Spec(x.shape, x.dtype)
    if output_mean_var:
        c = I.Spec((x.shape[axis],), x.dtype)
        return out, c, c
    return out


_BN_ATTRS = {"eps": Float(1e-3), "momentum": Float(0.9), "fix_gamma": Bool(True),
             "use_global_stats": Bool(False), "output_mean_var": Bool(False), "axis": Axis(1),
             "cudnn_off": Bool(False)}
batch_norm = defop(
    "BatchNorm", ("data", "gamma", "beta", "moving_mean", "moving_var"), _BN_ATTRS,
    infer=_bn_infer, aliases=("batch_norm", "BatchNorm_v1"),
    doc="Batch normalisation over every axis but ``axis``: ``(x - mean) / sqrt(var + eps) * gamma "
        "+ beta`` (``gamma`` taken as 1 when ``fix_gamma``). In training mode "
        "(``autograd.record(train_mode=True)``) and without ``use_global_stats`` it uses the "
        "batch's mean and (biased) variance, else ``moving_mean``/``moving_var``. The op is pure: "
        "it returns the output, plus the mean and the inverse std ``1 / sqrt(var + eps)`` it "
        "used when ``output_mean_var`` (as MXNet); updating the moving statistics with "
        "``momentum`` is the Gluon layer's job.")
# The primitive takes the mode as an attribute (use_global_stats: the moving statistics are
# used), so a recorded call keeps the mode its forward ran in for the gradient.
batch_norm_prim = defop(
    "_BatchNorm", ("data", "gamma", "beta", "moving_mean", "moving_var"), _BN_ATTRS,
    infer=_bn_infer, doc="BatchNorm with the mode explicit: batch statistics unless "
                         "``use_global_stats`` (then moving_mean/moving_var).")


@batch_norm.compose
def _(x, gamma, beta, mmean, mvar, use_global_stats=False, **attrs):
    glob = use_global_stats or not state.training
    return _f("_BatchNorm", x, gamma, beta, mmean, mvar, use_global_stats=glob, **attrs)


@batch_norm_prim.impl
def _(xp, x, gamma, beta, mmean, mvar, eps=1e-3, momentum=0.9, fix_gamma=True,
      use_global_stats=False, output_mean_var=False, axis=1, cudnn_off=False):
    _bn_infer(_s(x), _s(gamma), _s(beta), _s(mmean), _s(mvar), axis=axis)
    axis %= x.ndim
    red = tuple(i for i in range(x.ndim) if i != axis)
    bshape = _chan_shape(x.ndim, axis, x.shape[axis])
    if not use_global_stats:
        mean = xp.mean(x, axis=red)
        var = xp.mean((x - xp.reshape(mean, bshape)) ** 2, axis=red)
    else:
        mean, var = mmean, mvar
    invstd = 1 / xp.sqrt(var + eps)
    scale = invstd if fix_gamma else invstd * gamma
    out = (x - xp.reshape(mean, bshape)) * xp.reshape(scale, bshape) + xp.reshape(beta, bshape)
    out = out.astype(x.dtype)
    if not output_mean_var:
        return out
    if use_global_stats:  # hand out a copy: a write into it must not reach the moving mean
        mean = xp.asarray(mean, copy=True)
    return out, mean, invstd.astype(x.dtype)


def _norm_dx(gy, xhat, rstd, axes):
    """Gradient through ``xhat = (x - mean(x)) * rstd`` (batch statistics over ``axes``) for
    ``gy = dL/dxhat``; ``rstd`` is ``1 / sqrt(var + eps)``, broadcastable."""
    mg = F.mean(gy, axis=axes, keepdims=True)
    mgx = F.mean(gy * xhat, axis=axes, keepdims=True)
    return (gy - mg - xhat * mgx) * rstd


@batch_norm_prim.vjp
def _(g, out, x, gamma, beta, mmean, mvar, eps=1e-3, momentum=0.9, fix_gamma=True,
      use_global_stats=False, output_mean_var=False, axis=1, cudnn_off=False):
    gy, gm, gv = g if output_mean_var else (g, None, None)
    axis %= x.ndim
    red = tuple(i for i in range(x.ndim) if i != axis)
    bshape = _chan_shape(x.ndim, axis, x.shape[axis])
    n = x.size // x.shape[axis]
    if use_global_stats:
        mean, var = F.reshape(mmean, shape=bshape), F.reshape(mvar, shape=bshape)
    else:
        mean = F.mean(x, axis=red, keepdims=True)
        xc = x - mean
        var = F.mean(xc * xc, axis=red, keepdims=True)
    rstd = F.rsqrt(var + eps)
    xhat = (x - mean) * rstd
    gbeta = F.sum(gy, axis=red)
    ggamma = F.zeros_like(gamma) if fix_gamma else F.sum(gy * xhat, axis=red)
    gxhat = gy if fix_gamma else gy * F.reshape(gamma, shape=bshape)
    if use_global_stats:     # mean and var are the moving statistics: they get the gradient
        gx = gxhat * rstd
        gmm = F.sum(gx, axis=red) * -1.0
        gmv = F.sum(gxhat * xhat, axis=red) * F.reshape(rstd * rstd, shape=gbeta.shape) * -0.5
        if output_mean_var:  # the outputs: the moving mean and 1 / sqrt(moving_var + eps)
            gmm = gmm + gm
            gmv = gmv + gv * F.reshape(rstd * rstd * rstd, shape=gbeta.shape) * -0.5
        return gx, ggamma, gbeta, gmm, gmv
    gx = _norm_dx(gxhat, xhat, rstd, red)
    if output_mean_var:
        # d mean / dx = 1/n; d invstd / dx = -invstd^3 / 2 * d var / dx = -invstd^3 (x - mean) / n
        gx = gx + (F.reshape(gm, shape=bshape)
                   - F.reshape(gv, shape=bshape) * rstd * rstd * rstd * (x - mean)) * (1.0 / n)
    return gx, ggamma, gbeta, None, None


def _bn_sample(rng, shape, **attrs):
    c = shape[attrs.get("axis", 1)]
    return Sample(_u(rng, *shape), _u(rng, c, lo=0.5, hi=1.5), _u(rng, c), _u(rng, c),
                  _u(rng, c, lo=0.5, hi=2), **attrs)


batch_norm.aux("moving_mean", "moving_var")
# MXNet names BatchNorm's outputs: a Symbol with output_mean_var lists bn_mean and bn_var
batch_norm.output_names = lambda attrs: ["output", "mean", "var"]
batch_norm.samples(
    lambda rng: _bn_sample(rng, (2, 3, 4, 4)),
    lambda rng: _bn_sample(rng, (2, 3, 5), fix_gamma=False, eps=1e-5),
    lambda rng: _bn_sample(rng, (4, 3), fix_gamma=False, axis=-1, output_mean_var=True),
    lambda rng: _bn_sample(rng, (2, 3, 4), fix_gamma=False, use_global_stats=True),
)
batch_norm_prim.aux("moving_mean", "moving_var")
batch_norm_prim.samples(
    lambda rng: _bn_sample(rng, (2, 3, 4, 4)),
    lambda rng: _bn_sample(rng, (2, 3, 5), fix_gamma=False, eps=1e-5),
    lambda rng: _bn_sample(rng, (4, 3), fix_gamma=False, axis=-1, output_mean_var=True),
    lambda rng: _bn_sample(rng, (2, 3, 4), fix_gamma=False, use_global_stats=True),
    lambda rng: _bn_sample(rng, (3, 2, 2), fix_gamma=False, use_global_stats=True,
                           output_mean_var=True),
)


def _ln_infer(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    op = "LayerNorm"
    I.expect(-x.ndim <= axis < x.ndim, op, f"-{x.ndim} <= axis < {x.ndim}", f"axis={axis}")
    _param_check(op, x, axis % x.ndim, gamma, beta)
    if output_mean_var:
        st = I.Spec(tuple(1 if i == axis % x.ndim else s for i, s in enumerate(x.shape)), x.dtype)
        return I.Spec(x.shape, x.dtype), st, st
    return I.Spec(x.shape, x.dtype)


layer_norm = defop("LayerNorm", ("data", "gamma", "beta"),
                   {"axis": Axis(-1), "eps": Float(1e-5), "output_mean_var": Bool(False)},
                   infer=_ln_infer, aliases=("layer_norm",),
                   doc="Layer normalisation along ``axis``: ``(x - mean) / sqrt(var + eps) * "
                       "gamma + beta``; with ``output_mean_var`` also the mean and std (kept "
                       "dims).")


@layer_norm.compose
def _(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    _ln_infer(_s(x), _s(gamma), _s(beta), axis)
    axis %= x.ndim
    mean = _f("mean", x, axis=axis, keepdims=True)
    xc = x - mean
    std = _f("sqrt", _f("mean", xc * xc, axis=axis, keepdims=True) + eps)
    bshape = _chan_shape(x.ndim, axis, x.shape[axis])
    out = xc / std * _f("reshape", gamma, shape=bshape) + _f("reshape", beta, shape=bshape)
    return (out, mean, std) if output_mean_var else out


# MXNet's names of the outputs (a Symbol's list_outputs): op_output, op_mean, op_std
layer_norm.output_names = lambda attrs: ["output", "mean", "std"]
layer_norm.samples(
    lambda rng: Sample(_u(rng, 2, 3, 4), _u(rng, 4), _u(rng, 4)),
    lambda rng: Sample(_u(rng, 2, 3, 4), _u(rng, 3), _u(rng, 3), axis=1, eps=1e-3),
    lambda rng: Sample(_u(rng, 3, 5), _u(rng, 5), _u(rng, 5), output_mean_var=True),
)


def _in_infer(x, gamma, beta, eps=1e-3):
    I.expect(x.ndim >= 3, "InstanceNorm", "data (N, C, *spatial) of ndim >= 3",
             f"data.shape={x.shape}")
    _param_check("InstanceNorm", x, 1, gamma, beta)
    return I.Spec(x.shape, x.dtype)


instance_norm = defop("InstanceNorm", ("data", "gamma", "beta"), {"eps": Float(1e-3)},
                      infer=_in_infer, aliases=("instance_norm",),
                      doc="Normalise each (sample, channel) over its spatial axes, then scale by "
                          "gamma and shift by beta (both of shape (C,)).")


@instance_norm.impl
def _(xp, x, gamma, beta, eps=1e-3):
    _in_infer(_s(x), _s(gamma), _s(beta))
    red = tuple(range(2, x.ndim))
    mean = xp.mean(x, axis=red, keepdims=True)
    var = xp.mean((x - mean) ** 2, axis=red, keepdims=True)
    b = _chan_shape(x.ndim, 1, x.shape[1])
    out = (x - mean) / xp.sqrt(var + eps) * xp.reshape(gamma, b) + xp.reshape(beta, b)
    return out.astype(x.dtype)


def _stats(x, axes, eps):
    """(mean, 1/sqrt(var + eps)) over ``axes``, kept dims, in mxplug ops."""
    mean = F.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    return mean, F.rsqrt(F.mean(xc * xc, axis=axes, keepdims=True) + eps)


@instance_norm.vjp
def _(g, out, x, gamma, beta, eps=1e-3):
    red = tuple(range(2, x.ndim))
    mean, rstd = _stats(x, red, eps)
    xhat = (x - mean) * rstd
    gx = _norm_dx(g * F.reshape(gamma, shape=_chan_shape(x.ndim, 1, x.shape[1])), xhat, rstd, red)
    return gx, F.sum(g * xhat, axis=(0,) + red), F.sum(g, axis=(0,) + red)


instance_norm.samples(lambda rng: Sample(_u(rng, 2, 3, 4, 4), _u(rng, 3), _u(rng, 3)),
                      lambda rng: Sample(_u(rng, 2, 2, 5), _u(rng, 2), _u(rng, 2), eps=1e-5))


def _gn_infer(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    op = "GroupNorm"
    I.expect(x.ndim >= 2 and num_groups > 0 and x.shape[1] % num_groups == 0, op,
             "data (N, C, ...) with C divisible by num_groups",
             f"data.shape={x.shape}, num_groups={num_groups}")
    for name, p in (("gamma", gamma), ("beta", beta)):
        I.expect(tuple(p.shape) in ((num_groups,), (x.shape[1],)), op,
                 f"{name}.shape == (num_groups,) == ({num_groups},) or (C,) == ({x.shape[1]},)",
                 f"{tuple(p.shape)}")
    out = I.Spec(x.shape, x.dtype)
    if output_mean_var:
        st = I.Spec((x.shape[0], num_groups), x.dtype)
        return out, st, st
    return out


group_norm = defop("GroupNorm", ("data", "gamma", "beta"),
                   {"num_groups": Int(1), "eps": Float(1e-5), "output_mean_var": Bool(False)},
                   infer=_gn_infer, aliases=("group_norm",),
                   doc="Normalise over groups of channels (and the spatial axes) of (N, C, ...). "
                       "gamma/beta have shape (num_groups,) as in MXNet 1.x, or (C,) per channel; "
                       "``output_mean_var`` adds the mean and std of shape (N, num_groups).")


@group_norm.impl
def _(xp, x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    _gn_infer(_s(x), _s(gamma), _s(beta), num_groups)
    n, c, g = x.shape[0], x.shape[1], num_groups
    xg = xp.reshape(x, (n, g, -1))
    mean = xp.mean(xg, axis=2, keepdims=True)
    std = xp.sqrt(xp.mean((xg - mean) ** 2, axis=2, keepdims=True) + eps)
    yg = (xg - mean) / std

    if gamma.shape[0] == g:      # MXNet 1.x: one scale/shift per group
        y = xp.reshape(yg * xp.reshape(gamma, (1, g, 1)) + xp.reshape(beta, (1, g, 1)), x.shape)
    else:
        b = _chan_shape(x.ndim, 1, c)
        y = xp.reshape(yg, x.shape) * xp.reshape(gamma, b) + xp.reshape(beta, b)
    y = y.astype(x.dtype)
    if output_mean_var:
        return y, xp.reshape(mean, (n, g)), xp.reshape(std, (n, g))
    return y


@group_norm.vjp
def _(g, out, x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    gy, gm, gs = g if output_mean_var else (g, None, None)
    n, c, ng = x.shape[0], x.shape[1], num_groups
    xg = F.reshape(x, shape=(n, ng, -1))
    mean, rstd = _stats(xg, (2,), eps)
    xhat = (xg - mean) * rstd
    gyg = F.reshape(gy, shape=(n, ng, -1))
    if gamma.shape[0] == ng:            # one scale/shift per group
        ggamma, gbeta = F.sum(gyg * xhat, axis=(0, 2)), F.sum(gyg, axis=(0, 2))
        gxhat = gyg * F.reshape(gamma, shape=(1, ng, 1))
    else:                               # per channel
        red = (0,) + tuple(range(2, x.ndim))
        ggamma = F.sum(gy * F.reshape(xhat, shape=x.shape), axis=red)
        gbeta = F.sum(gy, axis=red)
        gxhat = F.reshape(gy * F.reshape(gamma, shape=_chan_shape(x.ndim, 1, c)), shape=xg.shape)
    gx = _norm_dx(gxhat, xhat, rstd, (2,))
    if output_mean_var:   # d mean / dx = 1/m, d std / dx = xhat / m
        m = xg.shape[2]
        gx = gx + (F.reshape(gm, shape=(n, ng, 1)) + F.reshape(gs, shape=(n, ng, 1)) * xhat) * (
            1.0 / m)
    return F.reshape(gx, shape=x.shape), ggamma, gbeta


group_norm.output_names = layer_norm.output_names
group_norm.samples(
    lambda rng: Sample(_u(rng, 2, 4, 3, 3), _u(rng, 2), _u(rng, 2), num_groups=2),
    lambda rng: Sample(_u(rng, 2, 6, 5), _u(rng, 6), _u(rng, 6), num_groups=3, eps=1e-3),
    lambda rng: Sample(_u(rng, 2, 4, 3), _u(rng, 1), _u(rng, 1), output_mean_var=True),
)


# -- Embedding ------------------------------------------------------------------------------------
def _emb_infer(idx, w, input_dim=0, output_dim=0, dtype="float32", sparse_grad=False):
    I.expect(tuple(w.shape) == (input_dim, output_dim), "Embedding",
             f"weight.shape == (input_dim, output_dim) == ({input_dim}, {output_dim})",
             f"{tuple(w.shape)}")
    return I.Spec(tuple(idx.shape) + (output_dim,), w.dtype)


embedding = defop("Embedding", ("data", "weight"),
                  {"input_dim": Int(0), "output_dim": Int(0), "dtype": Dtype("float32"),
                   "sparse_grad": Bool(False)},
                  infer=_emb_infer, aliases=("embedding",),
                  doc="Look up rows of weight (input_dim, output_dim) at the (float or int) "
                      "indices in data; indices are clipped to [0, input_dim - 1] as in MXNet. "
                      "Output: data.shape + (output_dim,), in weight's dtype.")


@embedding.impl
def _(xp, idx, w, input_dim=0, output_dim=0, dtype="float32", sparse_grad=False):
    out = _emb_infer(_s(idx), _s(w), input_dim, output_dim)
    i = xp.clip(xp.reshape(idx, (-1,)), 0, input_dim - 1).astype(xp.int64)
    return xp.reshape(xp.take(w, i, axis=0), out.shape)


@embedding.vjp
def _(g, out, idx, w, input_dim=0, output_dim=0, dtype="float32", sparse_grad=False):
    """Scatter-add the rows of ``g`` into zeros like weight; the indices get no gradient."""
    rows = F.reshape(F.clip(idx, a_min=0, a_max=input_dim - 1), shape=(-1,))
    return None, F._getitem_backward(F.reshape(g, shape=(-1, output_dim)), rows, shape=w.shape,
                                     key=(IndexArg(0),))


# float indices are truncated; fractional ones keep finite differences off the steps
embedding.nograd("data")
embedding.samples(
    lambda rng: Sample(rng.integers(0, 5, (2, 3)), _u(rng, 5, 4), input_dim=5, output_dim=4),
    lambda rng: Sample(np.array([0.3, 4.7, 7.2, -1.5, 0.6]), _u(rng, 5, 2), input_dim=5,
                       output_dim=2),
)


# -- activations ----------------------------------------------------------------------------------
activation = defop("Activation", ("data",),
                   {"act_type": Enum("relu", "sigmoid", "tanh", "softrelu", "softsign")},
                   infer=I.same, aliases=("activation",),
                   doc="Elementwise activation ``act_type``: relu | sigmoid | tanh | softrelu "
                       "(log(1 + exp(x))) | softsign (x / (1 + |x|)).")


@activation.compose
def _(x, act_type="relu"):
    return _f(act_type, x)


activation.samples(*(lambda rng, a=a: Sample(_u(rng, 3, 4, lo=-3, hi=3) + 0.01, act_type=a)
                     for a in ("relu", "sigmoid", "tanh", "softrelu", "softsign")))

_SELU_ALPHA, _SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805


def _leaky_infer(x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125,
                 upper_bound=0.334):
    if act_type == "prelu":
        I.expect(gamma is not None, "LeakyReLU", "a gamma input for act_type='prelu'", "none")
        c = x.shape[1] if x.ndim > 1 else 1
        g = tuple(gamma.shape)
        # per channel (axis 1), one slope, or (as MXNet) the leading dims of data
        I.expect(g in ((c,), (1,)) or (1 < len(g) <= x.ndim and g == tuple(x.shape[:len(g)])),
                 "LeakyReLU", f"gamma.shape == (data.shape[1],) == ({c},), (1,) or a prefix of "
                 f"data.shape {tuple(x.shape)}", f"{g}")
    return I.Spec(x.shape, x.dtype)


leaky_relu = defop(
    "LeakyReLU", ("data", "gamma"),
    {"act_type": Enum("leaky", "elu", "selu", "gelu", "prelu", "rrelu"), "slope": Float(0.25),
     "lower_bound": Float(0.125), "upper_bound": Float(0.334)},
    infer=_leaky_infer, aliases=("leaky_relu",),
    doc="Leaky rectifiers: leaky (``x > 0 ? x : slope * x``), elu (``slope * (exp(x) - 1)`` "
        "below 0), selu, gelu (erf form), prelu (learned ``gamma`` per channel, axis 1), rrelu "
        "(evaluated with the mean slope ``(lower_bound + upper_bound) / 2``; the random training "
        "slope is not implemented).")


@leaky_relu.compose
def _(x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125, upper_bound=0.334):
    _leaky_infer(_s(x), gamma if gamma is None else _s(gamma), act_type)
    pos, neg = _f("relu", x), _f("minimum", x, 0.0)       # x == pos + neg
    if act_type in ("leaky", "rrelu"):
        return pos + neg * (slope if act_type == "leaky" else (lower_bound + upper_bound) / 2)
    if act_type == "prelu":
        if gamma.ndim == 1 and x.ndim >= 2:   # per channel: along axis 1
            shape = (-1,) + (1,) * (x.ndim - 2)
        else:                                 # MXNet: the leading dims of data
            shape = tuple(gamma.shape) + (1,) * (x.ndim - gamma.ndim)
        g = _f("reshape", gamma, shape=shape)
        return pos + neg * g
    if act_type == "elu":
        return pos + _f("expm1", neg) * slope
    if act_type == "selu":
        return (pos + _f("expm1", neg) * _SELU_ALPHA) * _SELU_LAMBDA
    return x * (_f("erf", x * (1 / math.sqrt(2))) + 1.0) * 0.5      # gelu


leaky_relu.samples(
    *(lambda rng, a=a: Sample(_u(rng, 3, 4, lo=-3, hi=3) + 0.01, act_type=a)
      for a in ("leaky", "elu", "selu", "gelu", "rrelu")),
    lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3) + 0.01, _u(rng, 3, lo=0, hi=0.5),
                       act_type="prelu"),
    lambda rng: Sample(_u(rng, 3, 4, lo=-3, hi=3) + 0.01, act_type="leaky", slope=0.1),
)


# -- softmax family -------------------------------------------------------------------------------
def _sm_infer(name):
    def rule(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        I.expect_float(x, name)  # as MXNet: "only support floating point types"
        I.expect(dtype is None or np.dtype(dtype).kind == "f", name, "a floating-point dtype",
                 f"dtype={dtype}")
        I.expect(-x.ndim <= axis < x.ndim, name, f"-{x.ndim} <= axis < {x.ndim}", f"axis={axis}")
        if use_length:
            I.expect(length is not None, name, "a length input when use_length=True", "none")
            want = tuple(s for i, s in enumerate(x.shape) if i != axis % x.ndim)
            I.expect(tuple(length.shape) == want, name,
                     f"length.shape == data.shape without axis {axis} == {want}",
                     f"{tuple(length.shape)}")
        return I.Spec(x.shape, np.dtype(dtype) if dtype else x.dtype)
    return rule


def _softmax_xp(xp, x, length, axis, temperature, dtype, use_length, log, negate):
    """The softmax family over ``xp``: one op, so a graph holds one step, not eight."""
    axis %= x.ndim
    if negate:
        x = -x
    if temperature is not None and temperature != 1.0:
        x = x * (1.0 / temperature)
    if dtype is not None and dtype != x.dtype:
        x = xp.astype(x, dtype)
    mask = None
    if use_length:           # positions >= length along axis are excluded and output as 0
        n = x.shape[axis]
        pos = xp.reshape(xp.arange(n, dtype=xp.int64, device=x.device),
                         _chan_shape(x.ndim, axis, n))
        mask = pos < xp.expand_dims(xp.astype(length, xp.int64), axis=axis)
        # excluded entries get the minimum so they never win the max (no inf arithmetic)
        x = xp.where(mask, x, xp.min(x, axis=axis, keepdims=True))
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    if mask is not None:
        e = xp.where(mask, e, xp.zeros_like(e))
    s = xp.sum(e, axis=axis, keepdims=True)
    if log:
        out = shifted - xp.log(s)
        return xp.where(mask, out, xp.zeros_like(out)) if mask is not None else out
    if mask is not None:     # a length of 0 gives all zeros, as in MXNet (not 0 / 0)
        s = xp.where(s == 0, xp.ones_like(s), s)
    return e / s


def _softmax_vjp(g, y, x, axis, temperature, negate, log):
    """``d softmax = y * (g - sum(g * y))``, ``d log_softmax = g - exp(y) * sum(g)``; then the
    chain through ``-x / temperature`` and the cast. Masked entries have ``y == 0``: no gradient
    (softmax with ``use_length``)."""
    if log:
        gx = g - F.exp(y) * F.sum(g, axis=axis, keepdims=True)
    else:
        gx = y * (g - F.sum(g * y, axis=axis, keepdims=True))
    scale = (-1.0 if negate else 1.0) / (temperature if temperature else 1.0)
    if scale != 1.0:
        gx = gx * scale
    return F.cast(gx, dtype=x.dtype) if gx.dtype != x.dtype else gx


_SM_ATTRS = {"axis": Axis(-1), "temperature": Attr(None, "float"), "dtype": Dtype(None),
             "use_length": Bool(False)}


def _softmax_op(name, log, negate, what, with_length=True):
    """``with_length``: MXNet 1.x gives softmax a ``length`` input; log_softmax and softmin have
    none (so ``log_softmax(x, 1)`` means axis 1 there, as in MXNet)."""
    op = defop(name, ("data", "length") if with_length else ("data",), _SM_ATTRS,
               infer=_sm_infer(name),
               doc=f"{what} along ``axis`` of ``data / temperature``, computed stably; with "
                   f"``use_length`` only the first ``length`` entries along ``axis`` count (the "
                   f"rest give 0). ``dtype`` sets the output (and computation) dtype.")

    @op.impl
    def _(xp, x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        _sm_infer(name)(_s(x), length if length is None else _s(length), axis, temperature,
                        dtype, use_length)
        return _softmax_xp(xp, x, length, axis, temperature, dtype, use_length, log, negate)

    @op.vjp
    def _(g, out, x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        gx = _softmax_vjp(g, out, x, axis, temperature, negate, log)
        return (gx, None) if with_length else (gx,)

    @op.kernel("numpy")
    def _(be, x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        if use_length or negate or dtype is not None or temperature not in (None, 1.0) or \
                not -x.ndim <= axis < x.ndim or x.dtype.kind != "f":  # the generic body checks
            return op.generic(np, x, length, axis, temperature, dtype, use_length)
        # the generic body's arithmetic with reductions straight to the ufuncs and the
        # temporaries reused (a loss's softmax is small: the calls are the cost)
        out = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
        if log:
            s = np.add.reduce(np.exp(out), axis=axis, keepdims=True)
            out -= np.log(s, out=s)
        else:
            np.exp(out, out=out)
            out /= np.add.reduce(out, axis=axis, keepdims=True)
        return out

    op.samples(lambda rng: Sample(_u(rng, 3, 4, lo=-3, hi=3)),
               lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3), axis=1, temperature=2.0))
    if with_length:
        op.nograd("length")
        op.samples(  # integer lengths: a float length is a step function for finite differences
            lambda rng: Sample(_u(rng, 2, 5, lo=-3, hi=3), np.array([3, 5]), use_length=True),
            lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3),
                               np.array([[1, 2, 3, 1], [3, 2, 1, 2]]), axis=1, use_length=True))
    return op


softmax = _softmax_op("softmax", False, False, "``exp(x) / sum(exp(x))``")
log_softmax = _softmax_op("log_softmax", True, False, "``log(softmax(x))``", with_length=False)
softmin = _softmax_op("softmin", False, True, "``softmax(-x)``", with_length=False)


def _sma_infer(x, mode="instance"):
    I.expect_float(x, "SoftmaxActivation")
    I.expect(mode == "instance" or x.ndim >= 2, "SoftmaxActivation",
             "data of ndim >= 2 for mode='channel'", f"data.shape={x.shape}")
    return I.Spec(x.shape, x.dtype)


softmax_activation = defop("SoftmaxActivation", ("data",), {"mode": Enum("instance", "channel")},
                           infer=_sma_infer,
                           doc="Softmax over the last axis (``mode='instance'``: MXNet 1.9.1 "
                               "flattens the leading axes into rows, so a 2-D input is softmaxed "
                               "per instance) or over the channel axis 1 (``mode='channel'``).")


@softmax_activation.compose
def _(x, mode="instance"):
    _sma_infer(_s(x), mode)
    return _f("softmax", x, axis=1 if mode == "channel" else -1)


softmax_activation.samples(lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3)),
                           lambda rng: Sample(_u(rng, 2, 3, 2, 2, lo=-3, hi=3), mode="channel"))


def _sce_infer(x, label):
    I.expect(x.ndim == 2, "softmax_cross_entropy", "data of shape (batch, classes)",
             f"data.shape={x.shape}")
    I.expect(tuple(label.shape) == x.shape[:1], "softmax_cross_entropy",
             f"label.shape == (batch,) == ({x.shape[0]},)", f"{tuple(label.shape)}")
    return I.Spec((1,), x.dtype)


softmax_cross_entropy = defop(
    "softmax_cross_entropy", ("data", "label"), infer=_sce_infer,
    doc="Total (summed over the batch) cross-entropy of ``softmax(data)`` against integer class "
        "labels; returns shape (1,) as MXNet.")


@softmax_cross_entropy.impl
def _(xp, x, label):
    _sce_infer(_s(x), _s(label))
    m = xp.max(x, axis=1, keepdims=True)
    logp = x - m - xp.log(xp.sum(xp.exp(x - m), axis=1, keepdims=True))
    classes = xp.arange(x.shape[1], dtype=xp.int64, device=x.device)
    onehot = xp.reshape(label, (-1, 1)).astype(xp.int64) == xp.reshape(classes, (1, -1))
    picked = xp.where(onehot, logp, xp.zeros_like(logp))
    return xp.reshape(-xp.sum(picked), (1,)).astype(x.dtype)


softmax_cross_entropy.nograd("label")
softmax_cross_entropy.samples(
    lambda rng: Sample(_u(rng, 4, 5, lo=-3, hi=3), rng.integers(0, 5, (4,))),
    lambda rng: Sample(_u(rng, 3, 4, lo=-3, hi=3), np.array([3.2, 0.7, 1.4])))


def _onehot(label, x):
    """(batch, classes) 1.0/0.0 of integer-valued ``label``; comparisons are never recorded."""
    classes = F.arange(start=0.0, stop=float(x.shape[1]), ctx=x.context, dtype=x.dtype)
    lab = F.cast(F.cast(label, dtype="int64"), dtype=x.dtype)       # truncate as the forward
    return F.equal(F.reshape(lab, shape=(-1, 1)), F.reshape(classes, shape=(1, -1)))


@softmax_cross_entropy.vjp
def _(g, out, x, label):
    return F.reshape(g, shape=(1, 1)) * (F.softmax(x, axis=1) - _onehot(label, x)), None


smooth_l1 = defop("smooth_l1", ("data",), {"scalar": Float(1.0)}, infer=I.same,
                  doc="Smooth L1: ``0.5 * (sigma * x)**2`` where ``|x| < 1 / sigma**2``, else "
                      "``|x| - 0.5 / sigma**2``; ``scalar`` is sigma.")


@smooth_l1.compose
def _(x, scalar=1.0):
    t = 1.0 / (scalar * scalar)
    a = _f("abs", x)
    m = _f("minimum", a, t)       # |x| below the knee, the knee above it
    return m * m * (0.5 * scalar * scalar) + (a - m)


smooth_l1.samples(lambda rng: Sample(_u(rng, 3, 4, lo=-3, hi=3)),
                  lambda rng: Sample(_u(rng, 3, 4, lo=-1, hi=1), scalar=2.0))
