"""MXNet 1.x's SSD layers (``mxplug/ops/contrib_multibox.py``) and box coders
(``contrib_box_coding.py``): every case MXNet 1.9.1 computed
in ``tests/data/mxnet-1.9.1/multibox.npz`` (made by ``make_multibox.py`` there) reproduced on
every backend, the errors, the Symbol front end and the layers inside a hybridized block. The
generic suites check the op samples against ``tests/references/contrib_multibox.py``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import gluon

_FIXTURE = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1", "multibox.npz")


def _cases():
    z = np.load(_FIXTURE)
    k = 0
    while f"{k}/attrs" in z:
        attrs = json.loads(str(z[f"{k}/attrs"]))
        ins = [z[f"{k}/in{i}"] for i in range(6) if f"{k}/in{i}" in z]
        outs = [z[f"{k}/out{i}"] for i in range(3) if f"{k}/out{i}" in z]
        yield pytest.param(attrs.pop("op"), ins, attrs, outs, id=f"{k}-{attrs}")
        k += 1


@pytest.mark.parametrize("op,inputs,attrs,want", list(_cases()))
def test_mxnet_1_9_1_outputs(ctx, op, inputs, attrs, want):
    got = getattr(mx.nd.contrib, op)(*[mx.nd.array(a, ctx=ctx, dtype=a.dtype) for a in inputs],
                                     **attrs)
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.context == ctx and g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-5, atol=2e-6)


def test_the_fixture_covers_every_path():
    ops = [p.values[0] for p in _cases()]
    assert ops.count("MultiBoxPrior") >= 3 and ops.count("MultiBoxTarget") >= 5
    assert ops.count("MultiBoxDetection") >= 7
    assert ops.count("box_encode") >= 2 and ops.count("box_decode") >= 3


def _anchor():
    return mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2)), sizes=(0.4,), ratios=(1, 2))


@pytest.mark.parametrize("call,match", [
    (lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 2, 3))), r"data of shape \(N, C, H, W\)"),
    (lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2)), sizes=(0.0,)),
     r"positive sizes and ratios"),
    (lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2), dtype="float64")),
     r"dtype float32"),
    (lambda: mx.nd.contrib.MultiBoxTarget(_anchor(), mx.nd.zeros((2, 3, 4)),
                                          mx.nd.zeros((2, 3, 8))), r"label of shape \(N, M, 5"),
    (lambda: mx.nd.contrib.MultiBoxTarget(_anchor(), mx.nd.zeros((2, 3, 5)),
                                          mx.nd.zeros((2, 3, 7))), r"cls_pred of shape \(2, "),
    (lambda: mx.nd.contrib.MultiBoxTarget(
        _anchor(), mx.nd.array([[[1, .1, .1, .3, .3], [-1, 0, 0, 0, 0]]]), mx.nd.zeros((1, 2, 8))),
     r"padding label rows after the first class -1 that are all -1"),
    (lambda: mx.nd.contrib.MultiBoxDetection(mx.nd.zeros((1, 3, 8)), mx.nd.zeros((1, 30)),
                                             _anchor()), r"loc_pred of shape \(1, 32\)"),
    (lambda: mx.nd.contrib.MultiBoxDetection(mx.nd.zeros((1, 3, 8)), mx.nd.zeros((1, 32)),
                                             _anchor(), variances=(0.1, 0.1, 0.2)),
     r"4 positive variances"),
])
def test_errors_name_the_op_and_the_input(call, match):
    with pytest.raises(mx.base.MXNetError, match=match):
        call()


def test_symbols_list_mxnet_outputs_and_infer_shapes():
    anchor = mx.sym.contrib.MultiBoxPrior(mx.sym.var("feat"), sizes=(0.5, 0.3), ratios=(1, 2, .5))
    target = mx.sym.contrib.MultiBoxTarget(anchor, mx.sym.var("label"), mx.sym.var("cls"),
                                           name="t")
    assert target.list_outputs() == ["t_loc_target", "t_loc_mask", "t_cls_target"]
    _, outs, _ = target.infer_shape(feat=(2, 8, 3, 3), label=(2, 4, 5), cls=(2, 5, 36))
    assert outs == [(2, 144), (2, 144), (2, 36)]
    det = mx.sym.contrib.MultiBoxDetection(mx.sym.var("cls"), mx.sym.var("loc"), anchor)
    assert det.infer_shape(feat=(2, 8, 3, 3), cls=(2, 5, 36), loc=(2, 144))[1] == [(2, 36, 6)]


class _TinySSD(gluon.HybridBlock):
    """One feature map, its anchors, class and box predictions (the SSD tutorial's shape)."""

    def __init__(self, classes=2, **kw):
        super().__init__(**kw)
        self.classes = classes
        with self.name_scope():
            self.body = gluon.nn.Conv2D(4, 3, padding=1)
            self.cls = gluon.nn.Conv2D(3 * (classes + 1), 3, padding=1)
            self.loc = gluon.nn.Conv2D(3 * 4, 3, padding=1)

    def hybrid_forward(self, F, x):
        y = self.body(x)
        anchors = F.contrib.MultiBoxPrior(y, sizes=(0.5, 0.25), ratios=(1, 2))
        cls = F.reshape(F.transpose(self.cls(y), axes=(0, 2, 3, 1)),
                        shape=(0, -1, self.classes + 1))
        loc = F.flatten(F.transpose(self.loc(y), axes=(0, 2, 3, 1)))
        return anchors, F.transpose(cls, axes=(0, 2, 1)), loc


def test_an_ssd_head_trains_and_detects_hybridized_as_eager():
    x = mx.nd.array(np.random.default_rng(0).uniform(0, 1, (2, 3, 4, 4)))
    label = mx.nd.array([[[0, 0.1, 0.1, 0.5, 0.6], [1, 0.5, 0.4, 0.9, 0.9]],
                         [[1, 0.2, 0.3, 0.7, 0.8], [-1, -1, -1, -1, -1]]])
    results = []
    for hybridize in (False, True):
        mx.random.seed(2)
        net = _TinySSD()
        net.initialize(mx.init.Xavier())
        if hybridize:
            net.hybridize()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        cls_loss, box_loss = gluon.loss.SoftmaxCrossEntropyLoss(axis=1), gluon.loss.L1Loss()
        losses = []
        for _ in range(15):
            with mx.autograd.record():
                anchors, cls, loc = net(x)
                loc_t, loc_m, cls_t = mx.nd.contrib.MultiBoxTarget(anchors, label, cls,
                                                                   negative_mining_ratio=3.0)
                loss = cls_loss(cls, cls_t) + box_loss(loc * loc_m, loc_t * loc_m)
            loss.backward()
            trainer.step(2)
            losses.append(float(loss.mean().asscalar()))
        anchors, cls, loc = net(x)
        det = mx.nd.contrib.MultiBoxDetection(mx.nd.softmax(cls, axis=1), loc, anchors)
        results.append((losses, det.asnumpy()))
    (eager, det_e), (hybrid, det_h) = results
    assert eager[-1] < 0.8 * eager[0], eager
    np.testing.assert_allclose(hybrid, eager, rtol=1e-4)
    np.testing.assert_allclose(det_h, det_e, rtol=1e-4, atol=1e-5)
    assert det_e.shape == (2, 48, 6) and set(np.unique(det_e[..., 0])) <= {-1.0, 0.0, 1.0}
