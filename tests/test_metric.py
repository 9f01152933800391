"""Metrics against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mxplug as mx

M = mx.metric


def nd(x, ctx, dtype="float32"):
    return mx.nd.array(np.asarray(x), ctx=ctx, dtype=dtype)


def test_accuracy(ctx):
    m = M.create("acc")
    assert isinstance(m, M.Accuracy) and m.name == "accuracy"
    assert math.isnan(m.get()[1])
    preds = nd([[0.3, 0.7], [0.9, 0.1], [0.4, 0.6]], ctx)
    m.update([nd([1, 0, 0], ctx)], [preds])
    assert m.get() == ("accuracy", 2 / 3)
    m.update(nd([1], ctx), nd([1], ctx))  # class ids (same shape as the labels)
    assert m.num_inst == 4 and m.sum_metric == 3
    m.reset()
    assert m.num_inst == 0
    a = M.Accuracy(axis=0)
    a.update([nd([1, 0], ctx)], [nd([[0.1, 0.9], [0.8, 0.2]], ctx)])
    assert a.get()[1] == 1.0
    assert a.get_name_value() == [("accuracy", 1.0)]


def test_topk(ctx):
    m = M.TopKAccuracy(top_k=2)
    assert m.name == "top_k_accuracy_2"
    preds = nd([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]], ctx)
    m.update([nd([2, 2, 1], ctx)], [preds])  # hits: yes, no, yes
    assert m.get()[1] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        M.TopKAccuracy(top_k=1)


def test_f1_mcc(ctx):
    pred = nd([[0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.9, 0.1], [0.4, 0.6]], ctx)
    label = nd([1, 1, 0, 0, 1], ctx)
    # predicted 1 0 1 0 1 vs 1 1 0 0 1: tp=2 fp=1 fn=1 tn=1
    f1 = M.F1()
    f1.update([label], [pred])
    p, r = 2 / 3, 2 / 3
    assert f1.get()[1] == pytest.approx(2 * p * r / (p + r))
    mcc = M.create("mcc")
    mcc.update([label], [pred])
    assert mcc.get()[1] == pytest.approx((2 * 1 - 1 * 1) / math.sqrt(3 * 3 * 2 * 2))
    micro = M.F1(average="micro")
    micro.update([label], [pred])
    micro.update([nd([1], ctx)], [nd([[0.0, 1.0]], ctx)])  # tp=3 fp=1 fn=1
    assert micro.get()[1] == pytest.approx(0.75)
    macro = M.F1()
    macro.update([label], [pred])
    macro.update([nd([1], ctx)], [nd([[0.0, 1.0]], ctx)])
    assert macro.get()[1] == pytest.approx((2 / 3 + 1.0) / 2)
    with pytest.raises(ValueError):
        M.F1().update([nd([2, 0], ctx)], [nd([[0.1, 0.9], [0.9, 0.1]], ctx)])


def test_regression(ctx):
    label, pred = nd([1.0, 2.0, 3.0], ctx), nd([1.5, 2.0, 1.0], ctx)
    for name, want in (("mae", (0.5 + 0 + 2) / 3), ("mse", (0.25 + 0 + 4) / 3),
                       ("rmse", math.sqrt((0.25 + 4) / 3))):
        m = M.create(name)
        m.update([label], [pred])
        assert m.get() == (name, pytest.approx(want))
    m = M.RMSE()
    m.update([label], [pred])
    m.update([nd([0.0], ctx)], [nd([2.0], ctx)])
    assert m.get()[1] == pytest.approx((math.sqrt(4.25 / 3) + 2.0) / 2)  # mean of batch RMSEs


def test_cross_entropy_nll_perplexity(ctx):
    probs = nd([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], ctx)
    label = nd([1, 0, 1], ctx)
    want = -(math.log(0.8) + math.log(0.5) + math.log(0.1)) / 3
    ce = M.create("ce")
    ce.update([label], [probs])
    assert ce.name == "cross-entropy" and ce.get()[1] == pytest.approx(want, rel=1e-5)
    nll = M.NegativeLogLikelihood()
    nll.update([label], [probs])
    assert nll.name == "nll-loss" and nll.get()[1] == pytest.approx(want, rel=1e-5)
    pp = M.Perplexity(ignore_label=None)
    pp.update([label], [probs])
    assert pp.get()[1] == pytest.approx(math.exp(want), rel=1e-5)
    pp = M.Perplexity(ignore_label=0)  # the label-0 sample is left out
    pp.update([label], [probs])
    assert pp.get()[1] == pytest.approx(math.exp(-(math.log(0.8) + math.log(0.1)) / 2), rel=1e-5)


def test_pearson(ctx):
    x = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    y = np.array([2.0, 1.0, 4.0, 3.0, 7.0])
    m = M.create("pearsonr")
    m.update([nd(y, ctx)], [nd(x, ctx)])
    assert m.get()[1] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-5)
    micro = M.PearsonCorrelation(average="micro")
    micro.update([nd(y[:2], ctx)], [nd(x[:2], ctx)])
    micro.update([nd(y[2:], ctx)], [nd(x[2:], ctx)])
    assert micro.get()[1] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-5)


def test_loss_composite_custom(ctx):
    loss = M.Loss()
    loss.update(None, [nd([1.0, 2.0, 3.0], ctx)])
    assert loss.get() == ("loss", 2.0)
    comp = M.create(["acc", "mae"])
    assert isinstance(comp, M.CompositeEvalMetric)
    comp.update([nd([1, 0], ctx)], [nd([1, 1], ctx)])
    names, values = comp.get()
    assert names == ["accuracy", "mae"] and values == [0.5, 0.5]
    assert comp.get_metric(1).name == "mae"
    comp.reset()
    assert comp.get_metric(0).num_inst == 0

    def abs_err(label, pred):
        return float(np.abs(label - pred).sum()), label.size

    cm = M.create(abs_err)
    assert isinstance(cm, M.CustomMetric) and cm.name == "abs_err"
    cm.update([nd([1.0, 2.0], ctx)], [nd([2.0, 2.0], ctx)])
    assert cm.get()[1] == 0.5
    npm = M.np(lambda label, pred: float((label == pred).mean()))
    assert npm.name == "custom(<lambda>)"
    npm.update([nd([1.0, 2.0], ctx)], [nd([1.0, 3.0], ctx)])
    assert npm.get()[1] == 0.5
    with pytest.raises(ValueError):
        M.create("nope")
    with pytest.raises(ValueError):
        M.Accuracy().update([nd([1], ctx)], [])
    assert "accuracy" in str(M.Accuracy())
