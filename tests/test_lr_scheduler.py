"""Learning-rate schedules' values at given update counts (MXNet 1.x formulas), with warmup."""

from __future__ import annotations

import math

import pytest

import mxplug as mx

S = mx.lr_scheduler


def test_factor():
    s = S.FactorScheduler(step=10, factor=0.5, base_lr=1.0)
    assert [s(t) for t in (1, 10, 11, 20, 21, 35)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    s = S.FactorScheduler(step=1, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0)
    assert s(100) == 1e-3
    with pytest.raises(ValueError):
        S.FactorScheduler(step=0)
    with pytest.raises(ValueError):
        S.FactorScheduler(step=2, factor=2.0)


def test_multifactor():
    s = S.MultiFactorScheduler(step=[5, 8], factor=0.1, base_lr=1.0)
    vals = [s(t) for t in (1, 5, 6, 8, 9, 100)]
    assert vals[:3] == [1.0, 1.0, 0.1]
    assert math.isclose(vals[3], 0.1) and math.isclose(vals[4], 0.01)
    with pytest.raises(ValueError):
        S.MultiFactorScheduler(step=[5, 3])


def test_poly():
    s = S.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1)
    assert math.isclose(s(0), 1.0)
    assert math.isclose(s(5), 0.1 + 0.9 * 0.25)
    assert math.isclose(s(10), 0.1) and math.isclose(s(20), 0.1)


def test_cosine():
    s = S.CosineScheduler(max_update=100, base_lr=2.0, final_lr=0.0)
    assert math.isclose(s(0), 2.0)
    assert math.isclose(s(50), 1.0)
    assert math.isclose(s(100), 0.0, abs_tol=1e-12) and math.isclose(s(150), 0.0, abs_tol=1e-12)


def test_warmup_linear_and_constant():
    s = S.CosineScheduler(max_update=20, base_lr=1.0, warmup_steps=10, warmup_begin_lr=0.0)
    assert [s(t) for t in (0, 5)] == [0.0, 0.5]
    assert math.isclose(s(10), 1.0)
    assert math.isclose(s(15), 0.5 * (1 + math.cos(math.pi * 5 / 10)))
    s = S.FactorScheduler(step=5, factor=0.5, base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.1,
                          warmup_mode="constant")
    assert s(0) == 0.1 and s(3) == 0.1 and s(4) == 1.0
    s = S.PolyScheduler(max_update=12, base_lr=1.0, pwr=1, warmup_steps=2, warmup_begin_lr=0.2)
    assert math.isclose(s(1), 0.6)
    assert math.isclose(s(7), 0.5)
    with pytest.raises(ValueError):
        S.FactorScheduler(step=5, warmup_mode="cubic")
    with pytest.raises(ValueError):
        S.FactorScheduler(step=5, base_lr=0.1, warmup_begin_lr=1.0)


def test_with_optimizer():
    s = S.MultiFactorScheduler(step=[2], factor=0.1)
    with pytest.warns(UserWarning, match="overwritten by ``learning_rate``"):  # as MXNet says
        opt = mx.optimizer.SGD(learning_rate=1.0, lr_scheduler=s)
    w, g = mx.nd.zeros((1,)), mx.nd.ones((1,))
    for _ in range(3):
        opt.update(0, w, g, None)
    assert math.isclose(float(w.asscalar()), -2.1, rel_tol=1e-6)
