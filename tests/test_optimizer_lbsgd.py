"""``mx.optimizer.LBSGD`` (MXNet 1.x's large-batch SGD: warmup strategies, LARS, gradient
accumulation) against a NumPy transcription of MXNet 1.9's update."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mxplug as mx

from .test_optimizer import ref_sgd

SHAPE = (3, 4)


def _need_fp16(ctx):
    if "float16" not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no float16")


class RefLBSGD:
    """MXNet 1.9's LBSGD in NumPy: a per-index count starting at begin_epoch * updates_per_epoch,
    gradients summed over ``batch_scale`` calls, the warmup multiplier or the LARS factor, and
    the sgd(_mom)_update rule on the averaged gradient."""

    def __init__(self, lr, momentum=0.0, warmup_strategy="linear", warmup_epochs=5,
                 batch_scale=1, updates_per_epoch=32, begin_epoch=0, wd=0.0, rescale_grad=1.0,
                 clip_gradient=None):
        self.lr, self.momentum, self.strategy = lr, momentum, warmup_strategy
        self.nwup = warmup_epochs * updates_per_epoch
        self.batch_scale, self.wd = batch_scale, wd
        self.o = {"rescale_grad": rescale_grad, "clip_gradient": clip_gradient,
                  "momentum": momentum}
        self.nup = begin_epoch * updates_per_epoch
        self.cum = None
        self.state: dict = {}
        self.mults: list = []   # the multiplier of every update that ran

    def mult(self, w, g):
        if self.strategy == "lars":
            w2, g2 = float(np.sum(w * w)), float(np.sum(g * g))
            return float(np.clip(math.sqrt(w2 / (g2 + self.wd * w2 + 1e-18)), 0.01, 100))
        top, n, nw = float(self.batch_scale), self.nup, self.nwup
        if n >= nw:
            return top
        if nw <= 1:
            return 1.0
        frac = {"linear": n / nw, "power2": (n / nw) ** 2, "sqrt": math.sqrt(n / nw)}
        return 1.0 + (top - 1) * frac[self.strategy]

    def step(self, w, g):
        self.nup += 1
        self.cum = g.copy() if self.cum is None else self.cum + g
        if self.nup % self.batch_scale:
            return w   # no update on this call
        g, self.cum = self.cum / self.batch_scale, None
        m = self.mult(w, g)
        self.mults.append(m)
        return ref_sgd(w, g, self.state, self.nup, self.lr * m, self.wd, self.o)


LBSGD_CONFIGS = {
    "plain": {},
    "momentum_wd_clip": {"momentum": 0.9, "wd": 0.01, "rescale_grad": 0.5,
                         "clip_gradient": 0.6},
    "batch_scale3": {"batch_scale": 3, "momentum": 0.9, "wd": 0.01},
    "batch_scale2_begin_epoch": {"batch_scale": 2, "begin_epoch": 1, "momentum": 0.5,
                                 "rescale_grad": 0.5},
}


@pytest.mark.parametrize("config", sorted(LBSGD_CONFIGS))
@pytest.mark.parametrize("strategy", ["linear", "power2", "sqrt", "lars"])
def test_lbsgd_matches_reference(ctx, strategy, config):
    """Every call through an Updater, against MXNet 1.9's formulas: warmup over
    warmup_epochs * updates_per_epoch = 6 counts (and past it), accumulation over batch_scale
    calls (the gradient buffer is rewritten in place between calls, as a Trainer's is)."""
    kw = {"warmup_strategy": strategy, "warmup_epochs": 2, "updates_per_epoch": 3,
          **LBSGD_CONFIGS[config]}
    rng = np.random.default_rng(abs(hash((strategy, config))) % 2 ** 32)
    opt = mx.optimizer.create("lbsgd", learning_rate=0.1, **kw)
    assert isinstance(opt, mx.optimizer.LBSGD)
    ref = RefLBSGD(0.1, **kw)
    up = mx.optimizer.get_updater(opt)
    w_np = rng.uniform(-1, 1, SHAPE)
    w = mx.nd.array(w_np, ctx=ctx, dtype="float32")
    g = mx.nd.zeros(SHAPE, ctx=ctx)
    for t in range(1, 14):
        g_np = rng.uniform(-1, 1, SHAPE).astype(np.float32).astype(np.float64)
        g[:] = g_np
        before = w.asnumpy()
        up(0, g, w)
        w_np = ref.step(w_np, g_np)
        np.testing.assert_allclose(w.asnumpy(), w_np, rtol=2e-4, atol=2e-5,
                                   err_msg=f"lbsgd {strategy} {config} call {t}")
        if ref.nup % ref.batch_scale:
            np.testing.assert_array_equal(w.asnumpy(), before)  # accumulating: no update
    if strategy != "lars":   # the warmup ramp was walked and reached batch_scale
        assert ref.mults[-1] == float(ref.batch_scale)
        if ref.batch_scale > 1:
            assert ref.mults[0] < ref.mults[-1]
    assert opt._index_update_count == {0: 13}


def test_lbsgd_warmup_multipliers():
    """The multipliers of MXNet's _get_lbmult, worked out by hand (batch_scale 4, 8 counts)."""
    mk = lambda s: mx.optimizer.LBSGD(warmup_strategy=s, batch_scale=4, warmup_epochs=2,
                                      updates_per_epoch=4)
    assert mk("linear")._get_lbmult(2) == pytest.approx(1 + 3 * 2 / 8)
    assert mk("power2")._get_lbmult(2) == pytest.approx(1 + 3 * 4 / 64)
    assert mk("sqrt")._get_lbmult(2) == pytest.approx(1 + 3 * 0.5)
    for s in ("linear", "power2", "sqrt"):
        assert mk(s)._get_lbmult(8) == 4.0 and mk(s)._get_lbmult(20) == 4.0
    one = mx.optimizer.LBSGD(batch_scale=4, warmup_epochs=1, updates_per_epoch=1)
    assert one._get_lbmult(0) == 1.0   # a warmup of one count or less: 1 until it is over
    lars = mx.optimizer.LBSGD(warmup_strategy="lars")
    w, g = mx.nd.array([3.0, 4.0]), mx.nd.array([0.0, 0.05])
    assert lars._get_lars(w, g, 0.0) == pytest.approx(100.0)          # clipped above
    assert lars._get_lars(w, w * 1e3, 0.0) == pytest.approx(0.01)     # clipped below
    assert lars._get_lars(w, w, 0.0) == pytest.approx(1.0)
    assert lars._get_lars(w, w, 3.0) == pytest.approx(0.5)            # sqrt(25 / (25 + 75))


def test_lbsgd_lr_scheduler_and_mults(ctx):
    """The learning rate is read before the count, as in MXNet (the scheduler sees the number
    of updates before this one); lr_mult/wd_mult by name, no weight decay for a bias."""
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.2)
    opt = mx.optimizer.LBSGD(learning_rate=0.2, lr_scheduler=sched, wd=0.1,
                             param_idx2name={0: "fc_weight"})
    opt.set_lr_mult({"fc_weight": 0.5})
    w, w_np = mx.nd.ones((2,), ctx=ctx), np.ones(2)
    for lr in (0.2, 0.2, 0.2, 0.1, 0.1):   # FactorScheduler at num_update 0, 1, 2, 3, 4
        opt.update(0, w, mx.nd.ones((2,), ctx=ctx), None)
        w_np = (1 - lr * 0.5 * 0.1) * w_np - lr * 0.5
    np.testing.assert_allclose(w.asnumpy(), w_np, rtol=1e-6)
    opt = mx.optimizer.LBSGD(learning_rate=0.2, wd=0.1, param_idx2name={1: "fc_bias"})
    b = mx.nd.ones((2,), ctx=ctx)
    opt.update(1, b, mx.nd.ones((2,), ctx=ctx), None)
    np.testing.assert_allclose(b.asnumpy(), [0.8, 0.8], rtol=1e-6)


def test_lbsgd_trainer_and_states(ctx, tmp_path):
    """gluon.Trainer(..., 'lbsgd', ...): accumulation across steps, then save/load_states at a
    large-batch boundary continues exactly (update counts included)."""
    def make():
        net = mx.gluon.nn.Dense(1, use_bias=False, in_units=3)
        net.initialize(mx.init.Constant(0.5), ctx=ctx)
        tr = mx.gluon.Trainer(net.collect_params(), "lbsgd",
                              {"learning_rate": 0.1, "momentum": 0.9, "batch_scale": 2,
                               "warmup_epochs": 1, "updates_per_epoch": 4})
        return net, tr

    x = mx.nd.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]], ctx=ctx)
    g = x.asnumpy().sum(axis=0) / 2        # d sum(net(x)) / dw, rescaled by 1 / batch_size

    def step(net, tr):
        with mx.autograd.record():
            out = net(x).sum()
        out.backward()
        tr.step(2)
        return net.weight.data().asnumpy().ravel()

    net, tr = make()
    assert isinstance(tr._optimizer, mx.optimizer.LBSGD)
    np.testing.assert_array_equal(step(net, tr), [0.5, 0.5, 0.5])   # call 1: accumulating
    mom1 = -0.1 * (1 + 2 / 4) * g                                     # call 2: mult 1.5
    np.testing.assert_allclose(step(net, tr), 0.5 + mom1, rtol=1e-6)
    path = str(tmp_path / "lbsgd.states")
    tr.save_states(path)
    net2, tr2 = make()
    net2.weight.set_data(net.weight.data())
    tr2.load_states(path)
    for _ in range(4):      # calls 3-6: updates at 4 (end of warmup, mult 2) and 6 (mult 2)
        a, b = step(net, tr), step(net2, tr2)
        np.testing.assert_allclose(b, a, rtol=1e-6)
    mom2 = 0.9 * mom1 - 0.1 * 2 * g
    mom3 = 0.9 * mom2 - 0.1 * 2 * g
    np.testing.assert_allclose(a, 0.5 + mom1 + mom2 + mom3, rtol=1e-5)
    assert tr2._optimizer._index_update_count == {0: 6}


def test_lbsgd_multi_precision(ctx):
    _need_fp16(ctx)
    opt = mx.optimizer.LBSGD(learning_rate=0.1, momentum=0.9, multi_precision=True,
                             batch_scale=2, warmup_epochs=0)
    w16 = mx.nd.array(np.full(SHAPE, 1.0), ctx=ctx, dtype="float16")
    state = opt.create_state_multi_precision(0, w16)
    master, mom = state                  # MXNet's base layout: (master, state of the master)
    assert master.dtype == np.float32 and mom.dtype == np.float32
    direct = opt.create_state(1, w16)     # MXNet's LBSGD.create_state: (momentum, master)
    assert direct[0].dtype == np.float32 and direct[1].dtype == np.float32
    w16b = w16.copy()
    w_ref, m_ref = np.full(SHAPE, 1.0), np.zeros(SHAPE)
    for t in range(1, 5):
        g = mx.nd.array(np.full(SHAPE, 1e-3 * t), ctx=ctx, dtype="float16")
        opt.update_multi_precision(0, w16, g, state)
        opt.update(1, w16b, g, direct)    # the mp_sgd_mom_update path
        if t % 2 == 0:
            gm = (np.float64(np.float16(1e-3 * (t - 1))) + np.float64(np.float16(1e-3 * t))) / 2
            m_ref = 0.9 * m_ref - 0.1 * 2 * gm
            w_ref = w_ref + m_ref
    np.testing.assert_allclose(master.asnumpy(), w_ref, rtol=1e-5)
    np.testing.assert_allclose(direct[1].asnumpy(), w_ref, rtol=1e-5)
    np.testing.assert_allclose(w16.asnumpy(), w_ref.astype(np.float16), rtol=1e-3)
    np.testing.assert_array_equal(w16b.asnumpy(), w16.asnumpy())
    assert w16.dtype == np.float16


@pytest.mark.parametrize("kwargs,name", [
    ({"warmup_strategy": "cosine"}, "warmup_strategy"),
    ({"batch_scale": 0}, "batch_scale"),
    ({"batch_scale": 1.5}, "batch_scale"),
    ({"warmup_epochs": -1}, "warmup_epochs"),
    ({"updates_per_epoch": "32"}, "updates_per_epoch"),
    ({"begin_epoch": -2}, "begin_epoch"),
    ({"num_epochs": None}, "num_epochs"),
])
def test_lbsgd_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        mx.optimizer.create("lbsgd", **kwargs)
