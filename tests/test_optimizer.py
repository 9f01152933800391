"""Optimizers against independent NumPy implementations of MXNet 1.x's published update rules,
over several steps, with weight decay, gradient rescaling/clipping and lr/wd multipliers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mxplug as mx

SHAPE = (3, 4)
STEPS = 3


def _clip(g, c):
    return np.clip(g, -c, c) if c is not None else g


# -- NumPy references: step(w, g, state, t, lr, wd, o) -> new w; ``state`` is a dict -------------
def ref_sgd(w, g, s, t, lr, wd, o):
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    mom = o.get("momentum", 0.0)
    if mom:
        s["m"] = mom * s.get("m", 0 * w) - lr * wd * w - lr * g
        return w + s["m"]
    return (1 - lr * wd) * w - lr * g


def ref_nag(w, g, s, t, lr, wd, o):
    # MXNet 1.9.1's NAG: nag_mom_update writes into the weight it reads, so the decay term of
    # the state takes the updated weight (as 1.9.1's own PyNAG reference computes it)
    c = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    mom = o.get("momentum", 0.0)
    m = s.get("m", 0 * w)
    new = w + mom * mom * m - (mom + 1) * lr * (c + wd * w)
    s["m"] = mom * m - lr * (c + wd * new)
    return new


def ref_signum(w, g, s, t, lr, wd, o):
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    mom = o.get("momentum", 0.9)
    s["m"] = mom * s.get("m", 0 * w) - (1 - mom) * (wd * w + g)
    return (1 - lr * o.get("wd_lh", 0.0)) * w + lr * np.sign(s["m"])


def ref_signsgd(w, g, s, t, lr, wd, o):
    return (1 - lr * wd) * w - lr * np.sign(g)


def ref_adam(w, g, s, t, lr, wd, o):
    b1, b2, eps = o.get("beta1", 0.9), o.get("beta2", 0.999), o.get("epsilon", 1e-8)
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    m_hat, v_hat = s["m"] / (1 - b1 ** t), s["v"] / (1 - b2 ** t)
    # MXNet folds the bias correction into lr, so epsilon is scaled by sqrt(1 - b2^t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - b2 ** t))


def ref_adamw(w, g, s, t, lr, wd, o):
    b1, b2, eps = 0.9, 0.999, 1e-6
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - lr_t * (s["m"] / (np.sqrt(s["v"]) + eps) + wd * w)


def ref_adagrad(w, g, s, t, lr, wd, o):
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    s["h"] = s.get("h", 0 * w) + g * g
    return w - lr * (g / np.sqrt(s["h"] + 1e-7) + wd * w)


def ref_adadelta(w, g, s, t, lr, wd, o):
    rho, eps = 0.9, 1e-5
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    s["ag"] = rho * s.get("ag", 0 * w) + (1 - rho) * g * g
    d = np.sqrt(s.get("ad", 0 * w) + eps) / np.sqrt(s["ag"] + eps) * g
    s["ad"] = rho * s.get("ad", 0 * w) + (1 - rho) * d * d
    return w - (d + wd * w)


def ref_rmsprop(w, g, s, t, lr, wd, o):
    g1, eps = o.get("gamma1", 0.9), 1e-8
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    s["n"] = (1 - g1) * g * g + g1 * s.get("n", 0 * w)
    if not o.get("centered"):
        return w - lr * g / np.sqrt(s["n"] + eps)
    s["g"] = (1 - g1) * g + g1 * s.get("g", 0 * w)
    s["d"] = 0.9 * s.get("d", 0 * w) - lr * g / np.sqrt(s["n"] - s["g"] ** 2 + eps)
    return w + s["d"]


def ref_adamax(w, g, s, t, lr, wd, o):
    b1, b2 = 0.9, 0.999
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0 * w), np.abs(g))
    return w - lr / (1 - b1 ** t) * s["m"] / s["u"]


def ref_nadam(w, g, s, t, lr, wd, o):
    b1, b2, eps, sd = 0.9, 0.999, 1e-8, 0.004
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    mu_t = b1 * (1 - 0.5 * 0.96 ** (t * sd))
    mu_t1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * sd))
    s["sched"] = s.get("sched", 1.0) * mu_t
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    m_bar = ((1 - mu_t) * g / (1 - s["sched"])
             + mu_t1 * s["m"] / (1 - s["sched"] * mu_t1))
    return w - lr * m_bar / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)


def ref_ftml(w, g, s, t, lr, wd, o):
    b1, b2, eps = 0.6, 0.999, 1e-8
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    d_t = (1 - b1 ** t) / lr * (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    s["z"] = b1 * s.get("z", 0 * w) + (1 - b1) * g - (d_t - b1 * s.get("d", 0 * w)) * w
    s["d"] = d_t
    return -s["z"] / d_t


def ref_ftrl(w, g, s, t, lr, wd, o):
    l1, beta = 0.01, 1.0
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    n = s.get("n", 0 * w)
    s["z"] = s.get("z", 0 * w) + g - (np.sqrt(n + g * g) - np.sqrt(n)) * w / lr
    s["n"] = n + g * g
    z = s["z"]
    return np.where(np.abs(z) > l1, (np.sign(z) * l1 - z) / ((beta + np.sqrt(s["n"])) / lr + wd),
                    0.0)


def ref_lamb(w, g, s, t, lr, wd, o):
    b1, b2, eps = 0.9, 0.999, 1e-6
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    r = (s["m"] / (1 - b1 ** t)) / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps) + wd * w
    r1, r2 = np.linalg.norm(w), np.linalg.norm(r)
    return w - lr * (r1 / r2 if r1 > 0 and r2 > 0 else 1.0) * r


def ref_dcasgd(w, g, s, t, lr, wd, o):
    lam = 0.04
    g = _clip(o["rescale_grad"] * g, o.get("clip_gradient"))
    prev = s.get("prev", w.copy())
    step = -lr * (g + wd * w + lam * g * g * (w - prev))
    s["prev"] = w.copy()
    return w + step


def ref_lars(w, g, s, t, lr, wd, o):
    eta, mom = 0.001, o.get("momentum", 0.0)
    gr = o["rescale_grad"] * g
    wn, gn = np.linalg.norm(w), np.linalg.norm(gr)
    lr = lr * (eta * wn / (gn + wd * wn) if wn > 0 and gn > 0 else 1.0)
    return ref_sgd(w, g, s, t, lr, wd, {**o, "momentum": mom})


def ref_adabound(w, g, s, t, lr, wd, o, ams=False):
    b1, b2, eps, final, gamma = 0.9, 0.999, 1e-8, 0.1, 1e-3
    g = _clip(o["rescale_grad"] * g + wd * w, o.get("clip_gradient"))
    s["m"] = b1 * s.get("m", 0 * w) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * w) + (1 - b2) * g * g
    v = s["v"]
    if ams:
        s["vmax"] = v = np.maximum(s.get("vmax", 0 * w), v)
    step = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    f = final * lr / o["base_lr"]
    lo, hi = f * (1 - 1 / (gamma * t + 1)), f * (1 + 1 / (gamma * t))
    return w - np.clip(step / (np.sqrt(v) + eps), lo, hi) * s["m"]


CASES = {
    "sgd": (ref_sgd, {}),
    "sgd_mom": (ref_sgd, {"momentum": 0.9}),
    "nag": (ref_nag, {"momentum": 0.9}),
    "signum": (ref_signum, {"momentum": 0.9, "wd_lh": 0.01}),
    "signsgd": (ref_signsgd, {"momentum": 0.0}),
    "adam": (ref_adam, {}),
    "adamw": (ref_adamw, {}),
    "adagrad": (ref_adagrad, {}),
    "adadelta": (ref_adadelta, {}),
    "rmsprop": (ref_rmsprop, {}),
    "rmsprop_centered": (ref_rmsprop, {"centered": True}),
    "adamax": (ref_adamax, {}),
    "nadam": (ref_nadam, {}),
    "ftml": (ref_ftml, {}),
    "ftrl": (ref_ftrl, {}),
    "lamb": (ref_lamb, {}),
    "dcasgd": (ref_dcasgd, {}),
    "lars": (ref_lars, {"momentum": 0.9}),
    "adabound": (ref_adabound, {}),
    "amsbound": (lambda *a: ref_adabound(*a, ams=True), {}),
}
NAMES = {"sgd_mom": "sgd", "signsgd": "signum", "rmsprop_centered": "rmsprop"}


def _make(case, lr, **kw):
    opts = dict(CASES[case][1])
    return mx.optimizer.create(NAMES.get(case, case), learning_rate=lr, **opts, **kw)


@pytest.mark.parametrize("variant", ["plain", "wd_rescale_clip", "mults"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_update_matches_reference(ctx, case, variant):
    rng = np.random.default_rng(abs(hash((case, variant))) % 2 ** 32)
    ref, extra = CASES[case]
    lr = 0.05
    kw = {}
    if variant == "wd_rescale_clip":
        kw = {"wd": 0.01, "rescale_grad": 0.5, "clip_gradient": 0.4}
    elif variant == "mults":
        kw = {"wd": 0.02, "param_idx2name": {0: "fc_weight"}}
    opt = _make(case, lr, **kw)
    lr_eff, wd_eff = lr, kw.get("wd", 0.0)
    if variant == "mults":
        opt.set_lr_mult({"fc_weight": 0.5})
        opt.set_wd_mult({0: 2.0})
        lr_eff, wd_eff = lr * 0.5, 0.04
    o = {"rescale_grad": kw.get("rescale_grad", 1.0), "clip_gradient": kw.get("clip_gradient"),
         "base_lr": lr, **extra}
    w_np = rng.uniform(-1, 1, SHAPE)
    w = mx.nd.array(w_np, ctx=ctx, dtype="float32")
    state = opt.create_state(0, w)
    ref_state: dict = {}
    for t in range(1, STEPS + 1):
        g_np = rng.uniform(-1, 1, SHAPE).astype(np.float32).astype(np.float64)
        opt.update(0, w, mx.nd.array(g_np, ctx=ctx, dtype="float32"), state)
        w_np = ref(w_np, g_np, ref_state, t, lr_eff, wd_eff, o)
        np.testing.assert_allclose(w.asnumpy(), w_np, rtol=2e-4, atol=2e-5,
                                   err_msg=f"{case} step {t}")


def test_registry_and_create():
    assert mx.optimizer.Optimizer.opt_registry["sgd"] is mx.optimizer.SGD
    opt = mx.optimizer.create("Adam", learning_rate=0.1, beta1=0.8)
    assert isinstance(opt, mx.optimizer.Adam) and opt.lr == 0.1 and opt.beta1 == 0.8
    assert mx.optimizer.create(opt) is opt
    with pytest.raises(ValueError):
        mx.optimizer.create("nope")

    @mx.optimizer.register
    class MyOpt(mx.optimizer.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] = weight - grad

    assert isinstance(mx.optimizer.create("myopt"), MyOpt)
    del mx.optimizer.Optimizer.opt_registry["myopt"]


def test_defaults_and_learning_rate():
    assert mx.optimizer.SGD().lr == 0.01 and mx.optimizer.Adam().lr == 0.001
    assert mx.optimizer.Adamax().lr == 0.002 and mx.optimizer.Ftrl().lr == 0.1
    opt = mx.optimizer.SGD(learning_rate=0.1)
    opt.set_learning_rate(0.2)
    assert opt.learning_rate == 0.2
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5)
    with pytest.warns(UserWarning, match="overwritten by ``learning_rate``"):
        opt = mx.optimizer.SGD(learning_rate=1.0, lr_scheduler=sched)
    assert sched.base_lr == 1.0
    with pytest.raises(UserWarning):
        opt.set_learning_rate(0.5)
    w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    for _ in range(3):
        opt.update(0, w, g, None)
    assert opt.num_update == 3 and opt.learning_rate == 0.5
    # 1 + 1 + 0.5 subtracted
    np.testing.assert_allclose(w.asnumpy(), [-1.5, -1.5])


def test_wd_mult_defaults_from_names():
    opt = mx.optimizer.SGD(wd=0.1, param_idx2name={0: "fc_weight", 1: "fc_bias", 2: "bn_gamma"})
    assert opt._get_wd(0) == 0.1 and opt._get_wd(1) == 0.0 and opt._get_wd(2) == 0.1


def _need_fp16(ctx):
    if "float16" not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no float16")


def test_multi_precision_sgd(ctx):
    _need_fp16(ctx)
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, multi_precision=True)
    w16 = mx.nd.array(np.full(SHAPE, 1.0), ctx=ctx, dtype="float16")
    state = opt.create_state_multi_precision(0, w16)
    mom, master = state
    assert master.dtype == np.float32 and mom.dtype == np.float32
    w_ref, m_ref = np.full(SHAPE, 1.0), np.zeros(SHAPE)
    for _ in range(3):
        g = mx.nd.array(np.full(SHAPE, 1e-3), ctx=ctx, dtype="float16")
        opt.update_multi_precision(0, w16, g, state)
        m_ref = 0.9 * m_ref - 0.1 * np.float64(np.float16(1e-3))
        w_ref = w_ref + m_ref
    np.testing.assert_allclose(master.asnumpy(), w_ref, rtol=1e-5)
    np.testing.assert_allclose(w16.asnumpy(), w_ref.astype(np.float16), rtol=1e-3)
    assert w16.dtype == np.float16


def test_multi_precision_generic_adam(ctx):
    _need_fp16(ctx)
    opt = mx.optimizer.Adam(learning_rate=0.01, multi_precision=True)
    w16 = mx.nd.array(np.full(SHAPE, 0.5), ctx=ctx, dtype="float16")
    state = opt.create_state_multi_precision(0, w16)
    assert state[0].dtype == np.float32
    opt.update_multi_precision(0, w16, mx.nd.ones(SHAPE, ctx=ctx, dtype="float16"), state)
    np.testing.assert_allclose(state[0].asnumpy(), 0.49, rtol=1e-4)
    assert w16.dtype == np.float16


def test_sgld_reproducible(ctx):
    def run():
        mx.random.seed(7)
        opt = mx.optimizer.SGLD(learning_rate=0.01)
        w = mx.nd.ones(SHAPE, ctx=ctx)
        opt.update(0, w, mx.nd.ones(SHAPE, ctx=ctx), None)
        return w.asnumpy()
    a, b = run(), run()
    np.testing.assert_array_equal(a, b)
    noise = a - (1 - 0.005)
    assert 0.01 < noise.std() < 0.3


def test_updater_states_roundtrip(ctx):
    opt = mx.optimizer.Adam(learning_rate=0.1)
    up = mx.optimizer.get_updater(opt)
    w = mx.nd.ones(SHAPE, ctx=ctx)
    g = mx.nd.array(np.full(SHAPE, 0.3), ctx=ctx)
    up(0, g, w)
    up([1], [mx.nd.ones((2,), ctx=ctx)], [mx.nd.ones((2,), ctx=ctx)])
    blob = up.get_states(dump_optimizer=True)
    assert isinstance(blob, bytes) and b"pickle" not in blob
    up2 = mx.optimizer.get_updater(mx.optimizer.SGD())
    up2.set_states(blob)
    assert isinstance(up2.optimizer, mx.optimizer.Adam) and up2.optimizer.lr == 0.1
    assert up2.optimizer._index_update_count == {0: 1, 1: 1}
    for k in (0, 1):
        for a, b in zip(up.states[k], up2.states[k]):
            np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    # continuing from restored states matches continuing from the originals
    w2 = w.copy()
    up(0, g, w)
    up2(0, g, w2)
    np.testing.assert_allclose(w.asnumpy(), w2.asnumpy(), rtol=1e-6)
    assert up2.states[0][0].context == ctx


def test_fused_ops_in_nd(ctx):
    w = mx.nd.ones(SHAPE, ctx=ctx)
    mom = mx.nd.zeros(SHAPE, ctx=ctx)
    out = mx.nd.sgd_mom_update(w, mx.nd.ones(SHAPE, ctx=ctx), mom, lr=0.1, momentum=0.9, out=w)
    assert out is w
    np.testing.assert_allclose(w.asnumpy(), 0.9)
    np.testing.assert_allclose(mom.asnumpy(), -0.1)
    mean, var = mx.nd.zeros(SHAPE, ctx=ctx), mx.nd.zeros(SHAPE, ctx=ctx)
    new = mx.nd.adam_update(w, mx.nd.ones(SHAPE, ctx=ctx), mean, var, lr=0.01)
    np.testing.assert_allclose(mean.asnumpy(), 0.1, rtol=1e-6)
    np.testing.assert_allclose(new.asnumpy(), 0.9 - 0.01 * 0.1 / (math.sqrt(0.001) + 1e-8),
                               rtol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_bfloat16_weights_keep_float32_masters(name):
    pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (the [amp] extra)")
    rng = np.random.default_rng(11)
    w0, g0 = rng.normal(size=(5,)).astype("f4"), rng.normal(size=(5,)).astype("f4")
    kw = {"learning_rate": 0.01, **({"momentum": 0.9} if name == "sgd" else {})}
    lo = mx.optimizer.get_updater(mx.optimizer.create(name, multi_precision=True, **kw))
    ref = mx.optimizer.get_updater(mx.optimizer.create(name, **kw))
    w_lo, w_ref = mx.nd.array(w0).astype("bfloat16"), mx.nd.array(w0)
    g_lo = mx.nd.array(g0).astype("bfloat16")
    w_ref[:] = w_lo.astype("float32")  # both start from the same rounded weights
    for _ in range(20):  # steps far below bfloat16's resolution still add up in the master
        lo(0, g_lo, w_lo)
        ref(0, g_lo.astype("float32"), w_ref)
    master = lo.states[0][1] if name == "sgd" else lo.states[0][0]
    assert master.dtype == np.float32 and w_lo.dtype.__name__ == "bfloat16"
    np.testing.assert_allclose(master.asnumpy(), w_ref.asnumpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(w_lo.astype("float32").asnumpy(), w_ref.asnumpy(), rtol=1e-2)


@pytest.mark.parametrize("momentum,wd,clip", [(0.0, 0.0, None), (0.9, 0.01, 0.5)])
def test_sgd_batched_update_matches_the_rule(momentum, wd, clip):
    """A Trainer step hands SGD every parameter at once (``update_many``): same rule as MXNet's
    ``sgd_mom_update``, for each parameter of the batch."""
    rng = np.random.default_rng(13)
    w0 = [rng.normal(size=s).astype("f4") for s in ((3, 4), (4,))]
    steps = [[rng.normal(size=w.shape).astype("f4") for w in w0] for _ in range(3)]
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=momentum, wd=wd, clip_gradient=clip,
                           rescale_grad=0.5)
    up = mx.optimizer.get_updater(opt)
    ws = [mx.nd.array(w) for w in w0]
    for gs in steps:
        up([0, 1], [mx.nd.array(g) for g in gs], ws)
    for k, w in enumerate(w0):
        ref, mom = w.copy(), np.zeros_like(w)
        for gs in steps:
            g = gs[k] * 0.5
            g = np.clip(g, -clip, clip) if clip else g
            mom = momentum * mom - 0.1 * (g + wd * ref)
            ref = ref + mom
        np.testing.assert_allclose(ws[k].asnumpy(), ref, rtol=1e-6, atol=1e-7)
    assert opt._index_update_count == {0: 3, 1: 3}


def test_sgd_subclass_overriding_update_keeps_its_rule():
    class Halved(mx.optimizer.SGD):  # the Updater calls update_multi_precision, as MXNet's
        def update_multi_precision(self, index, weight, grad, state):
            super().update_multi_precision(index, weight, grad * 0.5, state)

    w = mx.nd.ones((2,))
    mx.optimizer.get_updater(Halved(learning_rate=1.0))([0], [mx.nd.ones((2,))], [w])
    np.testing.assert_allclose(w.asnumpy(), [0.5, 0.5])


# -- MXNet 1.9.1 conformance: learning rate from the scheduler, aggregated calls, NAG's state ---
# The literal values below were computed by MXNet 1.9.1 itself (the same calls run on
# ``import mxnet as mx``), unless a comment says otherwise.
W0 = [[0.5, -1.0, 2.0], [[1.0, 2.0], [3.0, -4.0]]]
GRADS = [[[0.1, 0.2, -0.3], [[0.5, -0.5], [1.0, 2.0]]],
         [[-0.2, 0.4, 0.1], [[0.3, 0.3], [-1.0, 0.5]]]]


def _arrays(values, dtype="float32"):
    return [mx.nd.array(v, dtype=dtype) for v in values]


def test_learning_rate_follows_the_scheduler():
    factor = mx.lr_scheduler.FactorScheduler
    sched = factor(step=1, base_lr=1024)
    opt = mx.optimizer.Optimizer(lr_scheduler=sched)  # 1.9.1: the scheduler's base_lr wins
    assert opt.learning_rate == 1024 and opt.lr is None and sched.base_lr == 1024
    assert mx.optimizer.SGD(lr_scheduler=factor(step=1, base_lr=5)).learning_rate == 5
    assert mx.optimizer.Optimizer().learning_rate == 0.01
    with pytest.warns(UserWarning, match="overwritten"):  # given: it replaces base_lr
        opt = mx.optimizer.Optimizer(lr_scheduler=factor(step=1), learning_rate=0.3)
    assert opt.learning_rate == 0.3 and opt.lr_scheduler.base_lr == 0.3
    opt.lr_scheduler.base_lr = 0.4
    assert opt.learning_rate == 0.4
    with pytest.warns(UserWarning, match="overwritten"):  # a subclass's default is "given"
        assert mx.optimizer.Adam(lr_scheduler=factor(step=1, base_lr=5)).learning_rate == 0.001
    opt = mx.optimizer.SGD(lr_scheduler=factor(step=2, factor=0.5, base_lr=0.4))
    w = mx.nd.ones((2,))
    for _ in range(3):
        opt.update(0, w, mx.nd.ones((2,)), None)
    np.testing.assert_allclose(w.asnumpy(), [0.0, 0.0], atol=1e-7)  # 1 - 0.4 - 0.4 - 0.2
    assert opt.learning_rate == 0.2
    # saved with the scheduler driving the rate (lr None): an optimizer without one keeps its own
    up = mx.optimizer.get_updater(opt)
    up(0, mx.nd.ones((2,)), mx.nd.ones((2,)))
    plain = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.3))
    plain.set_states(up.get_states(dump_optimizer=True))
    assert plain.optimizer.learning_rate == 0.3


@pytest.mark.parametrize("seq", [list, tuple])
def test_lamb_aggregated_call(seq):
    opt = mx.optimizer.LAMB(learning_rate=0.1, wd=0.01, clip_gradient=0.45, rescale_grad=0.5)
    assert opt.aggregate_num == 45
    ws = _arrays(W0)
    states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(ws)]
    for gs in GRADS:
        opt.update_multi_precision(seq([0, 1]), seq(ws), seq(_arrays(gs)), seq(states))
    np.testing.assert_allclose(ws[0].asnumpy(), [0.44720175862312317, -1.3459148406982422,
                                                 2.215676784515381], rtol=1e-6)
    np.testing.assert_allclose(ws[1].asnumpy(), [[0.317766398191452, 2.3403847217559814],
                                                 [2.7272822856903076, -4.643261432647705]],
                               rtol=1e-6)
    assert opt._index_update_count == {0: 2, 1: 2}
    # ``update`` takes the lists too, and one index at a time gives the same weights
    one, many = mx.optimizer.LAMB(wd=0.01), mx.optimizer.LAMB(wd=0.01)
    w1, w2 = _arrays(W0), _arrays(W0)
    s1 = [one.create_state(i, w) for i, w in enumerate(w1)]
    s2 = [many.create_state(i, w) for i, w in enumerate(w2)]
    for gs in GRADS:
        for i in range(2):
            one.update(i, w1[i], _arrays(gs)[i], s1[i])
        many.update(seq([0, 1]), seq(w2), seq(_arrays(gs)), seq(s2))
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_lamb_aggregated_call_float16_multi_precision():
    """1.9.1's multi_mp_lamb_update: the float32 master takes the step; the trust ratio's |w|
    is that of the float16 weight."""
    opt = mx.optimizer.LAMB(learning_rate=0.1, wd=0.01, clip_gradient=0.45, rescale_grad=0.5,
                            multi_precision=True)
    ws = _arrays(W0, "float16")
    states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(ws)]
    assert states[1][0].dtype == np.float32 and states[1][1][0].dtype == np.float32
    for gs in GRADS:
        opt.update_multi_precision([0, 1], ws, _arrays(gs, "float16"), states)
    assert ws[0].dtype == np.float16
    np.testing.assert_array_equal(ws[0].asnumpy(), np.array([0.447265625, -1.345703125,
                                                             2.21484375], np.float16))
    np.testing.assert_array_equal(ws[1].asnumpy(), np.array([[0.317626953125, 2.33984375],
                                                             [2.7265625, -4.64453125]],
                                                            np.float16))
    np.testing.assert_allclose(states[1][0].asnumpy(), [[0.3176022469997406, 2.3403820991516113],
                                                        [2.7272863388061523, -4.643407344818115]],
                               rtol=1e-6)
    np.testing.assert_allclose(states[1][1][0].asnumpy(),
                               [[0.03750244900584221, -0.007497559301555157],
                                [-0.004500001668930054, 0.06550001353025436]], rtol=1e-6)


def test_sgd_aggregated_call_float16_multi_precision():
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, multi_precision=True)
    assert opt.aggregate_num == 4
    ws = _arrays(W0, "float16")
    states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(ws)]
    for gs in GRADS:
        opt.update_multi_precision((0, 1), tuple(ws), tuple(_arrays(gs, "float16")), states)
    np.testing.assert_array_equal(ws[0].asnumpy(), np.array([0.5009765625, -1.078125, 2.046875],
                                                            np.float16))
    np.testing.assert_array_equal(ws[1].asnumpy(), np.array([[0.875, 2.064453125],
                                                             [2.91015625, -4.4296875]],
                                                            np.float16))
    mom, master = states[0]
    np.testing.assert_allclose(master.asnumpy(), [0.5009997487068176, -1.0779809951782227,
                                                  2.0470118522644043], rtol=1e-6)
    np.testing.assert_allclose(mom.asnumpy(), [0.010997314937412739, -0.05798584222793579,
                                               0.01700683683156967], rtol=1e-5)


def test_lars_aggregated_call_reads_the_rate_once_per_call():
    """1.9.1's LARS counts every index of a call, then reads the learning rate once: the
    momentum correction lr_t / lr_(t-1) applies to every weight of the call. The Trainer's
    Updater passes the parameters in such calls (by dtype, ``aggregate_num`` at a time)."""
    expected = ([0.4847005605697632, -1.2305272817611694, 2.17085337638855],
                [[0.8087916970252991, 2.056800365447998], [2.9760053157806396, -4.608023643493652]])

    def make():
        sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=0.1)
        return mx.optimizer.LARS(momentum=0.9, eta=0.5, lr_scheduler=sched,
                                 param_idx2name={0: "fc_weight", 1: "fc2_weight"})

    opt = make()
    assert opt.aggregate_num == 4
    ws = _arrays(W0)
    states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(ws)]
    for gs in GRADS + GRADS:
        opt.update_multi_precision([0, 1], ws, _arrays(gs), states)
    up_ws = _arrays(W0)
    up = mx.optimizer.get_updater(make())
    for gs in GRADS + GRADS:
        up([0, 1], _arrays(gs), up_ws)
    for got in (ws, up_ws):
        for w, e in zip(got, expected):
            np.testing.assert_allclose(w.asnumpy(), e, rtol=1e-6)


def test_aggregate_num_as_mxnet(monkeypatch):
    def nums():
        o = mx.optimizer
        return [o.SGD().aggregate_num, o.LARS().aggregate_num, o.LAMB().aggregate_num,
                o.NAG().aggregate_num, o.Adam().aggregate_num]

    assert nums() == [4, 4, 45, 0, 0]
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "60")
    assert nums() == [60, 60, 45, 0, 0]  # LAMB's is capped at 45


def test_nag_float32_state_decays_with_the_updated_weight():
    for clip, w_exp, m_exp in [
            (None, [0.5053635835647583, -1.0864630937576294, 2.034292221069336],
             [0.006757460534572601, -0.038591306656599045, 0.00803321786224842]),
            (0.15, [0.5053635835647583, -1.0617631673812866, 2.0180630683898926],
             [0.006757460534572601, -0.025616006925702095, 0.0026597073301672935])]:
        opt = mx.optimizer.NAG(learning_rate=0.1, momentum=0.9, wd=0.01, clip_gradient=clip,
                               rescale_grad=0.7)
        w = mx.nd.array(W0[0])
        mom = opt.create_state(0, w)
        for gs in GRADS:
            opt.update(0, w, mx.nd.array(gs[0]), mom)
        np.testing.assert_allclose(w.asnumpy(), w_exp, rtol=1e-6)
        np.testing.assert_allclose(mom.asnumpy(), m_exp, rtol=1e-5)


def test_nag_multi_precision_state_is_momentum_then_master():
    opt = mx.optimizer.NAG(learning_rate=0.1, momentum=0.9, wd=0.01, multi_precision=True)
    w = mx.nd.array(W0[0], dtype="float16")
    state = opt.create_state_multi_precision(0, w)
    mom, master = state  # 1.9.1: (momentum, float32 master)
    assert isinstance(state, tuple) and mom.dtype == np.float32 and master.dtype == np.float32
    np.testing.assert_array_equal(mom.asnumpy(), [0, 0, 0])
    np.testing.assert_array_equal(master.asnumpy(), W0[0])
    for gs in GRADS:
        opt.update_multi_precision(0, w, mx.nd.array(gs[0], dtype="float16"), state)
    np.testing.assert_array_equal(w.asnumpy(), np.array([0.5087890625, -1.125, 2.052734375],
                                                        np.float16))
    np.testing.assert_allclose(mom.asnumpy(), [0.010056618601083755, -0.05592789500951767,
                                               0.013105993159115314], rtol=1e-5)
    np.testing.assert_allclose(master.asnumpy(), [0.5086463689804077, -1.1254603862762451,
                                                  2.0529537200927734], rtol=1e-6)
    opt = mx.optimizer.NAG(learning_rate=0.1, wd=0.01, multi_precision=True)  # no momentum
    w = mx.nd.array(W0[0], dtype="float16")
    state = opt.create_state_multi_precision(0, w)
    assert state[0] is None and state[1].dtype == np.float32
    for gs in GRADS:
        opt.update_multi_precision(0, w, mx.nd.array(gs[0], dtype="float16"), state)
    np.testing.assert_array_equal(w.asnumpy(), np.array([0.5087890625, -1.0576171875, 2.015625],
                                                        np.float16))
    np.testing.assert_allclose(state[1].asnumpy(), [0.5090080499649048, -1.0579663515090942,
                                                    2.015979290008545], rtol=1e-6)


def _as_version1(blob):
    """``blob`` (Updater.get_states) rewritten as an mxplug file from before the NAG order
    change: no format version, NAG's multi-precision states as (master, momentum)."""
    import io
    import json

    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    del meta["version"]
    for entry in meta["states"]:
        entry[1]["tuple"].reverse()
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_nag_multi_precision_states_round_trip(momentum):
    def make():
        return mx.optimizer.get_updater(mx.optimizer.NAG(learning_rate=0.1, momentum=momentum,
                                                         multi_precision=True))

    up = make()
    w = mx.nd.array(W0[0], dtype="float16")
    up(0, mx.nd.array(GRADS[0][0], dtype="float16"), w)
    blob = up.get_states()
    for data in (blob, _as_version1(blob)):  # this version's files and the earlier ones
        again = make()
        again.set_states(data)
        mom, master = again.states[0]
        np.testing.assert_array_equal(master.asnumpy(), up.states[0][1].asnumpy())
        if momentum:
            np.testing.assert_array_equal(mom.asnumpy(), up.states[0][0].asnumpy())
        else:
            assert mom is None
        w2 = w.copy()
        again(0, mx.nd.array(GRADS[1][0], dtype="float16"), w2)  # and it updates from there
        up2 = make()
        up2.set_states(blob)
        w3 = w.copy()
        up2(0, mx.nd.array(GRADS[1][0], dtype="float16"), w3)
        np.testing.assert_array_equal(w2.asnumpy(), w3.asnumpy())


@pytest.mark.parametrize("name", ["sgd", "lars", "lamb"])
def test_aggregated_calls_of_mxnet(name):
    """The optimizers whose 1.9.1 ``update`` / ``update_multi_precision`` take lists (or
    tuples): the same weights as one call per index (count, then rate, in order)."""
    kw = {"momentum": 0.9} if name != "lamb" else {}
    for method in ("update", "update_multi_precision"):
        a, b = mx.optimizer.create(name, **kw), mx.optimizer.create(name, **kw)
        wa, wb = _arrays(W0), _arrays(W0)
        sa = [a.create_state(i, w) for i, w in enumerate(wa)]
        sb = [b.create_state(i, w) for i, w in enumerate(wb)]
        getattr(a, method)((0, 1), tuple(wa), tuple(_arrays(GRADS[0])), tuple(sa))
        for i in range(2):
            getattr(b, method)(i, wb[i], _arrays(GRADS[0])[i], sb[i])
        for x, y in zip(wa, wb):
            np.testing.assert_allclose(x.asnumpy(), y.asnumpy(), rtol=1e-6)
        assert not np.array_equal(wa[1].asnumpy(), np.array(W0[1]))


def test_group_adagrad_rates_per_row():
    w = mx.nd.array([[1.0, 2.0], [3.0, 4.0], [0.5, -0.5]])
    g = mx.nd.array([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]])
    opt = mx.optimizer.create("groupadagrad", learning_rate=0.1, eps=1e-5, rescale_grad=0.5)
    state = opt.create_state(0, w)
    assert state.shape == (3, 1)
    want_w, want_h = w.asnumpy().copy(), np.zeros((3, 1))
    for _ in range(2):
        opt.update(0, w, g, state)
        gg = 0.5 * g.asnumpy()
        want_h += (gg * gg).mean(axis=1, keepdims=True)
        want_w -= 0.1 * gg / np.sqrt(want_h + 1e-5)
    np.testing.assert_allclose(w.asnumpy(), want_w, rtol=1e-5)
    np.testing.assert_allclose(state.asnumpy(), want_h, rtol=1e-5)
    with pytest.raises(mx.MXNetError, match="weight decay is not supported"):
        mx.optimizer.contrib.GroupAdaGrad(wd=0.1).update(0, w, g, state)
    with pytest.raises(mx.MXNetError, match="2-D weight"):
        opt.create_state(1, mx.nd.ones((3,)))
    with pytest.raises(mx.MXNetError, match=r"history of shape \(rows, 1\)"):
        mx.nd.contrib.group_adagrad_update(w, g, mx.nd.zeros((3, 2)), lr=0.1)
