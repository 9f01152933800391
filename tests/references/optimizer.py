"""Independent NumPy references for the fused optimizer update ops (the returned new weight),
from MXNet 1.x's documented update rules, computed in float64."""

from __future__ import annotations

import numpy as np


def _f(*xs):
    return [np.asarray(x, dtype=np.float64) for x in xs]


def _g(grad, rescale_grad=1.0, clip_gradient=-1.0, wd=0.0, weight=None, wd_first=False):
    g = rescale_grad * grad
    if wd_first:
        g = g + wd * weight
    return np.clip(g, -clip_gradient, clip_gradient) if clip_gradient >= 0 else g


def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, **_):
    w, g = _f(weight, grad)
    return ((1 - lr * wd) * w - lr * _g(g, rescale_grad, clip_gradient)).astype(weight.dtype)


def sgd_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, **_):
    w, g, m = _f(weight, grad, mom)
    m = momentum * m - lr * wd * w - lr * _g(g, rescale_grad, clip_gradient)
    return (w + m).astype(weight.dtype)


def mp_sgd_update(weight, grad, weight32, **kw):
    return sgd_update(weight32, grad, **kw).astype(weight.dtype)


def mp_sgd_mom_update(weight, grad, mom, weight32, **kw):
    return sgd_mom_update(weight32, grad, mom, **kw).astype(weight.dtype)


def nag_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0):
    w, g, m = _f(weight, grad, mom)
    g = _g(g, rescale_grad, clip_gradient) + wd * w
    m = momentum * m - lr * g  # MXNet 1.9.1's kernel (checked against its wheel)
    return (w + momentum * m - lr * g).astype(weight.dtype)


def signsgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0):
    w, g = _f(weight, grad)
    return ((1 - lr * wd) * w - lr * np.sign(g)).astype(weight.dtype)


def signum_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                  clip_gradient=-1.0, wd_lh=0.0):
    w, g, m = _f(weight, grad, mom)
    m = momentum * m - (1 - momentum) * (wd * w + _g(g, rescale_grad, clip_gradient))
    return ((1 - lr * wd_lh) * w + lr * np.sign(m)).astype(weight.dtype)


def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_gradient=-1.0, **_):
    w, g, m, v = _f(weight, grad, mean, var)
    g = _g(g, rescale_grad, clip_gradient, wd, w, wd_first=True)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return (w - lr * m / (np.sqrt(v) + epsilon)).astype(weight.dtype)


def _clipw(w, c):
    return np.clip(w, -c, c) if c >= 0 else w


def rmsprop_update(weight, grad, n, lr, gamma1=0.95, epsilon=1e-8, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, clip_weights=-1.0):
    w, g, n = _f(weight, grad, n)
    g = _g(g, rescale_grad, clip_gradient, wd, w, wd_first=True)
    n = (1 - gamma1) * g * g + gamma1 * n
    return _clipw(w - lr * g / np.sqrt(n + epsilon), clip_weights).astype(weight.dtype)


def rmspropalex_update(weight, grad, n, g_avg, delta, lr, gamma1=0.95, gamma2=0.9, epsilon=1e-8,
                       wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, clip_weights=-1.0):
    w, g, n, ga, d = _f(weight, grad, n, g_avg, delta)
    g = _g(g, rescale_grad, clip_gradient, wd, w, wd_first=True)
    n = (1 - gamma1) * g * g + gamma1 * n
    ga = (1 - gamma1) * g + gamma1 * ga
    d = gamma2 * d - lr * g / np.sqrt(n - ga * ga + epsilon)
    return _clipw(w + d, clip_weights).astype(weight.dtype)


def ftml_update(weight, grad, d, v, z, lr, t, beta1=0.6, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_grad=-1.0, clip_gradient=None):
    w, g, d, v, z = _f(weight, grad, d, v, z)
    g = _g(g, rescale_grad, clip_grad, wd, w, wd_first=True)
    v = beta2 * v + (1 - beta2) * g * g
    d_t = (1 - beta1 ** t) / lr * (np.sqrt(v / (1 - beta2 ** t)) + epsilon)
    z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * w
    return (-z / d_t).astype(weight.dtype)


def ftrl_update(weight, grad, z, n, lr, lamda1=0.01, beta=1.0, wd=0.0, rescale_grad=1.0,
                clip_gradient=-1.0):
    w, g, z, n = _f(weight, grad, z, n)
    g = _g(g, rescale_grad, clip_gradient)
    z = z + g - (np.sqrt(n + g * g) - np.sqrt(n)) * w / lr
    n = n + g * g
    out = (np.sign(z) * lamda1 - z) / ((beta + np.sqrt(n)) / lr + wd) * (np.abs(z) > lamda1)
    return out.astype(weight.dtype)


def _multi(single, group):
    """``multi_<single>``: the single-tensor reference on each interleaved group."""
    def ref(*xs, lrs, wds, num_weights=1, **kw):
        return tuple(single(*xs[i * group:(i + 1) * group], lr=lrs[i], wd=wds[i], **kw)
                     for i in range(num_weights))
    return ref


REFERENCES = {f.__name__: f for f in (
    sgd_update, sgd_mom_update, mp_sgd_update, mp_sgd_mom_update, nag_mom_update, signsgd_update,
    signum_update, adam_update, rmsprop_update, rmspropalex_update, ftml_update, ftrl_update)}
def _multi_sum_sq(*xs, num_arrays=1):
    return np.array([float((x.astype(x.dtype) * x).astype(np.float32).sum()) for x in xs],
                    np.float32)


def _multi_lars(lrs, wss, gss, wds, eta=0.0, eps=0.0, rescale_grad=1.0):
    out = []
    for lr, ws, gs, wd in zip(lrs, wss, gss, wds):
        w, g = np.sqrt(ws), np.sqrt(gs) * rescale_grad
        out.append(lr * eta * w / (g + wd * w + eps) if w > 0 and g > 0 else lr)
    return np.array(out, lrs.dtype)


REFERENCES.update({"multi_sum_sq": _multi_sum_sq, "multi_lars": _multi_lars})
REFERENCES.update({"multi_sgd_update": _multi(sgd_update, 2),
                   "multi_sgd_mom_update": _multi(sgd_mom_update, 3),
                   "multi_mp_sgd_update": _multi(mp_sgd_update, 3),
                   "multi_mp_sgd_mom_update": _multi(mp_sgd_mom_update, 4)})


# -- optimizer_extra_ops: the returned value, from MXNet 1.9.1's documented rules ----------------
def _mp_nag_mom_update(weight, grad, mom, weight32, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                       clip_gradient=-1.0):
    w, g, m = _f(weight32, grad, mom)
    g = _g(g, rescale_grad, clip_gradient)
    m = momentum * m                                   # MXNet's in-place kernel, step by step
    return w - m + (momentum + 1) * (m - lr * (g + wd * w))


def _lamb1(grad, mean, var, decayed, t, wd, beta1=0.9, beta2=0.999, epsilon=1e-6,
           bias_correction=True, rescale_grad=1.0, clip_gradient=-1.0):
    g, m, v, w = _f(grad, mean, var, decayed)
    g = _g(g, rescale_grad, clip_gradient)
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    if bias_correction:
        m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return m / (np.sqrt(v) + epsilon) + wd * w


def _lamb2(target, g, r1, r2, lr, lower_bound=-1.0, upper_bound=-1.0):
    r1, r2 = float(r1.reshape(-1)[0]), float(r2.reshape(-1)[0])
    if lower_bound >= 0:
        r1 = max(r1, lower_bound)
    if upper_bound >= 0:
        r1 = min(r1, upper_bound)
    ratio = 1.0 if r1 == 0 or r2 == 0 else r1 / r2
    t, g = _f(target, g)
    return t - lr * ratio * g


def _adamw(weight, grad, mean, var, target, scale, lr, eta, beta1=0.9, beta2=0.999,
           epsilon=1e-8, wd=0.0, clip_gradient=-1.0):
    s = float(scale.reshape(-1)[0])
    w, g, m, v = _f(target, grad, mean, var)
    if s == 0 or not np.isfinite(s):
        return np.asarray(weight, np.float64)
    g = _g(g, s, clip_gradient)
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    return w - eta * (lr * m / (np.sqrt(v) + epsilon) + wd * w)


REFERENCES.update({
    "mp_nag_mom_update": _mp_nag_mom_update,
    "lamb_update_phase1": lambda w, g, m, v, **kw: _lamb1(g, m, v, w, **kw),
    "mp_lamb_update_phase1": lambda w, g, m, v, w32, **kw: _lamb1(g, m, v, w32, **kw),
    "lamb_update_phase2": lambda w, g, r1, r2, **kw: _lamb2(w, g, r1, r2, **kw),
    "mp_lamb_update_phase2": lambda w, g, r1, r2, w32, **kw: _lamb2(w32, g, r1, r2, **kw),
    "_contrib_adamw_update": lambda w, g, m, v, s, **kw: _adamw(w, g, m, v, w, s, **kw),
    "_contrib_mp_adamw_update": lambda w, g, m, v, w32, s, **kw: _adamw(w, g, m, v, w32, s, **kw),
})


def _preloaded(multi):
    def ref(*xs, num_weights=1, **kw):
        *data, lrs, wds = xs
        return REFERENCES[multi](*data, lrs=tuple(lrs), wds=tuple(wds), num_weights=num_weights,
                                 **kw)
    return ref


REFERENCES.update({f"preloaded_{m}": _preloaded(m) for m in (
    "multi_sgd_update", "multi_sgd_mom_update", "multi_mp_sgd_update", "multi_mp_sgd_mom_update")})


# -- multi_optimizer_extra: each tensor by the single-tensor references ---------------------------
def _multi_adamw(group):
    def ref(*xs, lrs, wds, etas, num_weights=1, **kw):
        *data, scale = xs
        out = []
        for i in range(num_weights):
            w, g, m, v, *w32 = data[i * group:(i + 1) * group]
            new = _adamw(w, g, m, v, w32[0] if w32 else w, scale, lr=lrs[i], eta=etas[i],
                         wd=wds[i], **kw)
            out.append(new.astype(w.dtype) if w32 else new)
        return tuple(out)
    return ref


def _multi_lamb(group):
    def ref(*xs, learning_rates, wds, step_count, num_tensors=1, lower_bound=-1.0,
            upper_bound=-1.0, **kw):
        out = []
        for i in range(num_tensors):
            w, g, m, v, *w32 = xs[i * group:(i + 1) * group]
            target = w32[0] if w32 else w
            d = _lamb1(g, m, v, target, t=step_count[i], wd=wds[i], **kw)
            norm = lambda a: np.sqrt(np.sum(np.asarray(a, np.float64) ** 2))  # noqa: E731
            new = _lamb2(target, d, np.array([norm(target)]), np.array([norm(d)]),
                         learning_rates[i], lower_bound, upper_bound)
            out.append(new.astype(w.dtype) if w32 else new)
        return tuple(out)
    return ref


REFERENCES.update({"_multi_adamw_update": _multi_adamw(4),
                   "_multi_mp_adamw_update": _multi_adamw(5),
                   "_multi_lamb_update": _multi_lamb(4),
                   "_multi_mp_lamb_update": _multi_lamb(5)})


def _group_adagrad(weight, grad, history, lr, rescale_grad=1.0, clip_gradient=-1.0,
                   epsilon=1e-5):
    w, g, h = _f(weight, grad, history)
    g = _g(g, rescale_grad, clip_gradient)
    h = h + np.mean(g * g, axis=1, keepdims=True)
    return w - lr * g / np.sqrt(h + epsilon)


REFERENCES["_contrib_group_adagrad_update"] = _group_adagrad
