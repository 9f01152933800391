"""Independent NumPy references for the neural-network ops: direct loops over output positions
(convolution, pooling) and textbook formulas, with MXNet 1.x defaults applied here."""
from __future__ import annotations

import itertools
import math

import numpy as np


def _out(x, y):
    return np.asarray(y).astype(x.dtype)


def _fc(x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    x2 = x.reshape(x.shape[0], -1) if flatten else x
    y = np.einsum("...k,hk->...h", x2, w)
    return _out(x, y if b is None else y + b)


def _conv(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), num_filter=0, num_group=1,
          no_bias=False, **_):
    nsp = len(kernel)
    stride, dilate, pad = stride or (1,) * nsp, dilate or (1,) * nsp, pad or (0,) * nsp
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out_sp = [(n + 2 * p - d * (k - 1) - 1) // s + 1
              for n, p, d, k, s in zip(x.shape[2:], pad, dilate, kernel, stride)]
    n, c = x.shape[:2]
    cg, fg = c // num_group, num_filter // num_group
    y = np.zeros((n, num_filter, *out_sp))
    for f in range(num_filter):
        g = f // fg
        for pos in itertools.product(*(range(o) for o in out_sp)):
            idx = tuple(slice(q * s, q * s + d * (k - 1) + 1, d)
                        for q, s, d, k in zip(pos, stride, dilate, kernel))
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + idx]
            y[(slice(None), f) + pos] = np.sum(patch * w[f], axis=tuple(range(1, 2 + nsp)))
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nsp)
    return _out(x, y)


def _deconv(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), adj=(), target_shape=(),
            num_filter=0, num_group=1, no_bias=True, **_):
    nsp = len(kernel)
    stride, dilate = stride or (1,) * nsp, dilate or (1,) * nsp
    pad, adj = pad or (0,) * nsp, adj or (0,) * nsp
    full = [s * (n - 1) + d * (k - 1) + 1
            for n, s, d, k in zip(x.shape[2:], stride, dilate, kernel)]
    if target_shape:
        pad = [math.ceil((f - t) / 2) for f, t in zip(full, target_shape)]
        adj = [(f - t) % 2 for f, t in zip(full, target_shape)]
    n, c = x.shape[:2]
    cg, fg = c // num_group, num_filter // num_group
    big = np.zeros((n, num_filter, *[f + a for f, a in zip(full, adj)]))
    for ci in range(c):        # every input pixel scatters weight[ci] * value into the output
        g = ci // cg
        for pos in itertools.product(*(range(m) for m in x.shape[2:])):
            for kp in itertools.product(*(range(k) for k in kernel)):
                o = tuple(q * s + kk * d for q, s, kk, d in zip(pos, stride, kp, dilate))
                big[(slice(None), slice(g * fg, (g + 1) * fg)) + o] += (
                    x[(slice(None), ci) + pos][:, None] * w[(ci, slice(None)) + kp][None, :])
    out = [f - 2 * p + a for f, p, a in zip(full, pad, adj)]
    y = big[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(pad, out))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nsp)
    return _out(x, y)


def _pool(x, kernel=(), pool_type="max", global_pool=False, pooling_convention="valid",
          stride=(), pad=(), p_value=None, count_include_pad=True, **_):
    if global_pool:
        kernel, stride, pad = x.shape[2:], (), ()
    nsp = len(kernel)
    stride, pad = stride or (1,) * nsp, pad or (0,) * nsp
    sp = x.shape[2:]
    rnd = math.ceil if pooling_convention == "full" else math.floor
    out_sp = [rnd((n + 2 * p - k) / s) + 1 for n, p, k, s in zip(sp, pad, kernel, stride)]
    if pooling_convention == "same" and not global_pool:   # MXNet: 1-D, no pad, ceil(n / s)
        out_sp = [math.ceil(n / s) for n, s in zip(sp, stride)]
    y = np.zeros(x.shape[:2] + tuple(out_sp))
    for pos in itertools.product(*(range(o) for o in out_sp)):
        start = [q * s - p for q, s, p in zip(pos, stride, pad)]
        end_pad = [min(a + k, n + p) for a, k, n, p in zip(start, kernel, sp, pad)]
        lo = [max(a, 0) for a in start]
        hi = [min(e, n) for e, n in zip(end_pad, sp)]
        win = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(lo, hi))]
        win = win.reshape(win.shape[:2] + (-1,))
        if pool_type == "max":
            v = win.max(axis=-1)
        elif pool_type == "sum":
            v = win.sum(axis=-1)
        elif pool_type == "lp":
            v = np.sum(np.abs(win) ** p_value, axis=-1) ** (1 / p_value)
        else:
            cnt = (math.prod(e - a for a, e in zip(start, end_pad)) if count_include_pad
                   else win.shape[-1])
            v = win.sum(axis=-1) / cnt
        y[(slice(None), slice(None)) + pos] = v
    return _out(x, y)


def _conv_wgrad(x, g, kernel=(), stride=(), dilate=(), pad=(), num_filter=0, num_group=1, **_):
    """dw[f, c, k] = sum over batch and output positions of g[n, f, o] * xpad[n, c, o*s + k*d]."""
    nsp = len(kernel)
    stride, dilate, pad = stride or (1,) * nsp, dilate or (1,) * nsp, pad or (0,) * nsp
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(p, p) for p in pad])
    cg, fg = x.shape[1] // num_group, num_filter // num_group
    dw = np.zeros((num_filter, cg, *kernel))
    for f in range(num_filter):
        c0 = f // fg * cg
        for pos in itertools.product(*(range(m) for m in g.shape[2:])):
            for kp in itertools.product(*(range(k) for k in kernel)):
                at = tuple(q * s + kk * d for q, s, kk, d in zip(pos, stride, kp, dilate))
                patch = xp[(slice(None), slice(c0, c0 + cg)) + at]
                dw[(f, slice(None)) + kp] += np.einsum("n,nc->c", g[(slice(None), f) + pos], patch)
    return _out(x, dw)


def _pool_grad(g, x, kernel=(), pool_type="max", global_pool=False, pooling_convention="valid",
               stride=(), pad=(), p_value=None, count_include_pad=True, **_):
    """Each output's gradient spread over its window: max to the first maximum, avg divided by
    the window's count, lp by d/dx (sum |x|^p)^(1/p)."""
    if global_pool:
        kernel, stride, pad = x.shape[2:], (), ()
    nsp = len(kernel)
    stride, pad = stride or (1,) * nsp, pad or (0,) * nsp
    sp = x.shape[2:]
    v = x.astype(np.float64)
    dx = np.zeros(x.shape)
    for pos in itertools.product(*(range(o) for o in g.shape[2:])):
        start = [q * s - p for q, s, p in zip(pos, stride, pad)]
        end_pad = [min(a + k, n + p) for a, k, n, p in zip(start, kernel, sp, pad)]
        box = tuple(slice(max(a, 0), min(e, n)) for a, e, n in zip(start, end_pad, sp))
        for i in range(x.shape[0]):
            for c in range(x.shape[1]):
                win, gv = v[(i, c) + box], g[(i, c) + pos]
                if pool_type == "max":
                    d = np.zeros(win.size)
                    d[np.argmax(win)] = gv
                    d = d.reshape(win.shape)
                elif pool_type == "sum":
                    d = np.full(win.shape, gv)
                elif pool_type == "lp":
                    y = np.sum(np.abs(win) ** p_value) ** (1 / p_value)
                    d = gv * np.abs(win) ** (p_value - 1) * np.sign(win) * y ** (1 - p_value)
                else:
                    cnt = (math.prod(e - a for a, e in zip(start, end_pad)) if count_include_pad
                           else win.size)
                    d = np.full(win.shape, gv / cnt)
                dx[(i, c) + box] += d
    return _out(x, dx)


def _channel_last(ref):
    """``ref`` (channel-first) for the channel-last layouts too: MXNet's NWC/NHWC/NDHWC data,
    weights and gradients are the channel-first ones with the channel axis (axis 1 of a weight)
    moved last; the bias is the same. Arrays of ndim >= 3 move, and so does the result."""

    def wrapped(*arrays, layout=None, **attrs):
        if layout not in ("NWC", "NHWC", "NDHWC"):
            return ref(*arrays, **attrs)
        first = [np.moveaxis(a, -1, 1) if isinstance(a, np.ndarray) and a.ndim >= 3 else a
                 for a in arrays]
        return np.moveaxis(ref(*first, **attrs), 1, -1)

    return wrapped


def _bn(x, gamma, beta, mean, var, eps=1e-3, momentum=0.9, fix_gamma=True, use_global_stats=False,
        output_mean_var=False, axis=1, **_):
    ax = axis % x.ndim
    shp = [1] * x.ndim
    shp[ax] = -1
    g = np.ones_like(gamma) if fix_gamma else gamma
    y = ((x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * g.reshape(shp)
         + beta.reshape(shp))
    y = _out(x, y)
    return (y, mean, _out(x, 1 / np.sqrt(var + eps))) if output_mean_var else y


def _bn_explicit(x, gamma, beta, mean, var, use_global_stats=False, axis=1, **kw):
    """The ``_BatchNorm`` primitive: batch statistics (biased variance) unless use_global_stats."""
    if not use_global_stats:
        v = np.moveaxis(x.astype(np.float64), axis % x.ndim, 0).reshape(x.shape[axis], -1)
        mean, var = _out(x, v.mean(axis=1)), _out(x, v.var(axis=1))
    return _bn(x, gamma, beta, mean, var, axis=axis, **kw)


def _ln(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    ax = axis % x.ndim
    mean = x.mean(axis=ax, keepdims=True)
    std = np.sqrt(((x - mean) ** 2).mean(axis=ax, keepdims=True) + eps)
    shp = [1] * x.ndim
    shp[ax] = -1
    y = _out(x, (x - mean) / std * gamma.reshape(shp) + beta.reshape(shp))
    return (y, _out(x, mean), _out(x, std)) if output_mean_var else y


def _instnorm(x, gamma, beta, eps=1e-3):
    y = np.empty(x.shape)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[n, c]
            y[n, c] = (v - v.mean()) / np.sqrt(v.var() + eps) * gamma[c] + beta[c]
    return _out(x, y)


def _groupnorm(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    n, c = x.shape[:2]
    cg = c // num_groups
    y = np.empty(x.shape)
    mean, std = np.empty((n, num_groups)), np.empty((n, num_groups))
    for i in range(n):
        for g in range(num_groups):
            v = x[i, g * cg:(g + 1) * cg]
            mean[i, g], std[i, g] = v.mean(), np.sqrt(v.var() + eps)
            for k in range(cg):
                ch = g * cg + k
                gi = g if gamma.shape[0] == num_groups else ch
                y[i, ch] = (x[i, ch] - mean[i, g]) / std[i, g] * gamma[gi] + beta[gi]
    y = _out(x, y)
    return (y, _out(x, mean), _out(x, std)) if output_mean_var else y


def _embedding(idx, w, input_dim=0, output_dim=0, **_):
    flat = [w[min(max(int(i), 0), input_dim - 1)] for i in idx.reshape(-1)]
    return np.array(flat, dtype=w.dtype).reshape(idx.shape + (output_dim,))


_ACT = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softrelu": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
}


def _activation(x, act_type="relu"):
    return _out(x, _ACT[act_type](x.astype(np.float64)))


def _leaky(x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125, upper_bound=0.334):
    v = x.astype(np.float64)
    if act_type == "leaky":
        y = np.where(v > 0, v, slope * v)
    elif act_type == "rrelu":
        y = np.where(v > 0, v, (lower_bound + upper_bound) / 2 * v)
    elif act_type == "elu":
        y = np.where(v > 0, v, slope * (np.exp(v) - 1))
    elif act_type == "selu":
        a, lam = 1.6732632423543772, 1.0507009873554805
        y = lam * np.where(v > 0, v, a * (np.exp(v) - 1))
    elif act_type == "gelu":
        y = np.array([0.5 * t * (1 + math.erf(t / math.sqrt(2))) for t in v.reshape(-1)])
        y = y.reshape(v.shape)
    else:
        g = gamma.reshape((-1,) + (1,) * (x.ndim - 2))
        y = np.where(v > 0, v, g * v)
    return _out(x, y)


def _softmax_ref(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False,
                 log=False, negate=False):
    v = (-x if negate else x).astype(np.float64) / (temperature or 1.0)
    v = np.moveaxis(v, axis, -1)
    out = np.zeros_like(v)
    for idx in itertools.product(*(range(s) for s in v.shape[:-1])):
        n = int(length[idx]) if use_length else v.shape[-1]
        row = v[idx][:n]
        e = np.exp(row - row.max())
        out[idx][:n] = np.log(e / e.sum()) if log else e / e.sum()
    return np.moveaxis(out, -1, axis).astype(dtype or x.dtype)


def _sm(log=False, negate=False):
    def ref(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        return _softmax_ref(x, length, axis, temperature, dtype, use_length, log, negate)
    return ref


def _sm_activation(x, mode="instance"):
    # 'instance': MXNet 1.9.1 flattens the leading axes into rows (the last axis is softmaxed)
    return _softmax_ref(x, axis=1 if mode == "channel" else -1)


def _sce(x, label):
    v = x.astype(np.float64)
    total = 0.0
    for i in range(v.shape[0]):
        row = v[i]
        total -= row[int(label[i])] - np.log(np.sum(np.exp(row)))
    return np.array([total], dtype=x.dtype)


def _ce_rows(x, label, axis):
    """(data moved so ``axis`` is last, flat rows, each row's clipped integer label)."""
    v = np.moveaxis(x.astype(np.float64), axis, -1)
    rows = v.reshape(-1, v.shape[-1])
    lab = np.clip(np.trunc(np.asarray(label, np.float64)).astype(np.int64).reshape(-1), 0,
                  v.shape[-1] - 1)
    return v, rows, lab


def _softmax_ce(x, label, axis=-1):
    v, rows, lab = _ce_rows(x, label, axis)
    out = np.array([np.log(np.sum(np.exp(r - r.max()))) + r.max() - r[k]
                    for r, k in zip(rows, lab)])
    return np.moveaxis(out.reshape(v.shape[:-1] + (1,)), -1, axis).astype(x.dtype)


def _softmax_ce_backward(g, x, label, axis=-1):
    v, rows, lab = _ce_rows(x, label, axis)
    gr = np.moveaxis(g.astype(np.float64), axis, -1).reshape(-1)
    out = np.empty_like(rows)
    for i, (r, k) in enumerate(zip(rows, lab)):
        e = np.exp(r - r.max())
        out[i] = gr[i] * e / e.sum()
        out[i, k] -= gr[i]
    return np.moveaxis(out.reshape(v.shape), -1, axis).astype(x.dtype)


def _softmax_output(x, label, multi_output=False, preserve_shape=False, **_):
    if multi_output:
        return _softmax_ref(x, axis=1)
    if preserve_shape:
        return _softmax_ref(x, axis=-1)
    return _softmax_ref(x.reshape(x.shape[0], -1)).reshape(x.shape)


def _identity_output(x, *_, **__):
    """Linear/MAE regression outputs and MakeLoss: the forward is the data itself."""
    return x.copy()


def _logistic_output(x, label, **_):
    return _out(x, 1 / (1 + np.exp(-x.astype(np.float64))))


def _smooth_l1(x, scalar=1.0):
    s2 = scalar * scalar
    v = x.astype(np.float64)
    return _out(x, np.where(np.abs(v) < 1 / s2, 0.5 * s2 * v * v, np.abs(v) - 0.5 / s2))


REFERENCES = {
    "FullyConnected": _fc,
    "Convolution": _channel_last(_conv),
    "Deconvolution": _channel_last(_deconv),
    "Pooling": _channel_last(_pool),
    "_backward_Convolution_weight": _channel_last(_conv_wgrad),
    "_backward_Pooling": _channel_last(_pool_grad),
    "BatchNorm": _bn,
    "_BatchNorm": _bn_explicit,
    "LayerNorm": _ln,
    "InstanceNorm": _instnorm,
    "GroupNorm": _groupnorm,
    "Embedding": _embedding,
    "Activation": _activation,
    "LeakyReLU": _leaky,
    "softmax": _sm(),
    "log_softmax": _sm(log=True),
    "softmin": _sm(negate=True),
    "SoftmaxActivation": _sm_activation,
    "softmax_cross_entropy": _sce,
    "_softmax_ce": _softmax_ce,
    "_softmax_ce_backward": _softmax_ce_backward,
    "SoftmaxOutput": _softmax_output,
    "LinearRegressionOutput": _identity_output,
    "MAERegressionOutput": _identity_output,
    "LogisticRegressionOutput": _logistic_output,
    "MakeLoss": _identity_output,
    "smooth_l1": _smooth_l1,
}
