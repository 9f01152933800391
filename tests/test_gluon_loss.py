"""Gluon losses (``mx.gluon.loss``): values against independent NumPy computations (with
``weight``, ``sample_weight`` and ``batch_axis``), hybridized vs eager, and gradients against
central finite differences in float64; on every backend."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.gluon import loss as gloss

from .test_gluon_nn import check_block_grads, eager_and_hybrid, nd


def rand(*shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def batch_mean(v, batch_axis=0):
    return v.mean(axis=tuple(i for i in range(v.ndim) if i != batch_axis))


def run(loss, ctx, *arrays):
    """The loss on float32 arrays, checked hybridized vs eager."""
    loss.initialize(ctx=ctx)
    return eager_and_hybrid(loss, *[nd(a, ctx) for a in arrays], rtol=1e-5, atol=1e-6)


PRED, LABEL, SW = rand(4, 3), rand(4, 3, seed=1), rand(4, 1, lo=0, hi=2, seed=2)


# -- regression losses ------------------------------------------------------------------------
def test_l2_loss(ctx):
    out = run(gloss.L2Loss(), ctx, PRED, LABEL)
    np.testing.assert_allclose(out, batch_mean(0.5 * (LABEL - PRED) ** 2), rtol=1e-5)
    out = run(gloss.L2Loss(weight=3.0), ctx, PRED, LABEL.reshape(12), SW)  # label reshaped
    np.testing.assert_allclose(out, batch_mean(1.5 * (LABEL - PRED) ** 2 * SW), rtol=1e-5)


def test_l1_loss_batch_axis(ctx):
    pred, label = rand(3, 4, 2), rand(3, 4, 2, seed=1)
    out = run(gloss.L1Loss(batch_axis=1), ctx, pred, label)
    assert out.shape == (4,)
    np.testing.assert_allclose(out, batch_mean(np.abs(label - pred), 1), rtol=1e-5)
    out = run(gloss.L1Loss(weight=0.5), ctx, PRED, LABEL, SW)
    np.testing.assert_allclose(out, batch_mean(0.5 * np.abs(LABEL - PRED) * SW), rtol=1e-5)


def test_huber_loss(ctx):
    pred, label = rand(4, 5, lo=-2, hi=2), rand(4, 5, lo=-2, hi=2, seed=1)
    d = np.abs(label - pred)
    ref = np.where(d > 0.7, d - 0.35, 0.5 / 0.7 * d ** 2)
    np.testing.assert_allclose(run(gloss.HuberLoss(rho=0.7), ctx, pred, label), batch_mean(ref),
                               rtol=1e-5)


@pytest.mark.parametrize("squared", [False, True])
def test_hinge_losses(ctx, squared):
    label = np.sign(rand(4, 3, seed=1))
    h = np.maximum(0, 1.5 - PRED * label)
    cls = gloss.SquaredHingeLoss if squared else gloss.HingeLoss
    out = run(cls(margin=1.5), ctx, PRED, label, SW)
    np.testing.assert_allclose(out, batch_mean((h ** 2 if squared else h) * SW), rtol=1e-5)


@pytest.mark.parametrize("fmt", ["signed", "binary"])
def test_logistic_loss(ctx, fmt):
    label = (rand(4, 3, seed=1) > 0).astype(np.float64)
    signed = label * 2 - 1
    out = run(gloss.LogisticLoss(label_format=fmt), ctx, PRED * 3,
              signed if fmt == "signed" else label)
    np.testing.assert_allclose(out, batch_mean(np.log1p(np.exp(-PRED * 3 * signed))),
                               rtol=1e-5)
    with pytest.raises(ValueError):
        gloss.LogisticLoss(label_format="other")


# -- classification losses --------------------------------------------------------------------
@pytest.mark.parametrize("label_shape", [(4,), (4, 1)])
def test_softmax_ce_sparse(ctx, label_shape):
    pred = rand(4, 5, lo=-3, hi=3)
    label = np.array([0, 4, 2, 2], dtype=np.float64)
    ref = -log_softmax(pred)[np.arange(4), label.astype(int)]
    out = run(gloss.SoftmaxCrossEntropyLoss(), ctx, pred, label.reshape(label_shape))
    assert out.shape == (4,)
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    out = run(gloss.SoftmaxCELoss(weight=2.0), ctx, pred, label, SW)
    np.testing.assert_allclose(out, 2 * ref * SW[:, 0], rtol=1e-5)


def test_softmax_ce_axis_dense_from_logits(ctx):
    pred = rand(2, 3, 4, lo=-2, hi=2)                       # classes on axis 1
    label = np.array([[0, 2, 1, 1], [2, 2, 0, 1]], dtype=np.float64)
    lp = log_softmax(pred, axis=1)
    ref = -np.take_along_axis(lp, label[:, None].astype(int), axis=1)[:, 0].mean(axis=1)
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(axis=1), ctx, pred, label), ref,
                               rtol=1e-5)
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(axis=1, from_logits=True), ctx, lp,
                                   label), ref, rtol=1e-5)
    dist = np.exp(log_softmax(rand(2, 3, 4, seed=3), axis=1))
    ref = (-(lp * dist).sum(axis=1)).mean(axis=1)
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(axis=1, sparse_label=False), ctx, pred,
                                   dist), ref, rtol=1e-5)


@pytest.mark.parametrize("from_sigmoid", [False, True])
def test_sigmoid_bce(ctx, from_sigmoid):
    pred = rand(4, 3, lo=-4, hi=4)
    label = (rand(4, 3, seed=1) > 0).astype(np.float64)
    pos_weight = rand(1, 3, lo=0.5, hi=3, seed=5)
    p = sigmoid(pred)
    x = p if from_sigmoid else pred
    eps = 1e-12 if from_sigmoid else 0
    ref = -(label * np.log(p + eps) + (1 - label) * np.log(1 - p + eps))
    out = run(gloss.SigmoidBCELoss(from_sigmoid=from_sigmoid), ctx, x, label)
    np.testing.assert_allclose(out, batch_mean(ref), rtol=1e-4, atol=1e-6)
    ref = -(label * np.log(p + eps) * pos_weight + (1 - label) * np.log(1 - p + eps))
    out = run(gloss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=from_sigmoid), ctx, x, label, SW,
              pos_weight)
    np.testing.assert_allclose(out, batch_mean(ref * SW), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_kldiv_loss(ctx, from_logits):
    pred = rand(3, 4, lo=-2, hi=2)
    label = np.exp(log_softmax(rand(3, 4, seed=1)))
    lp = pred if from_logits else log_softmax(pred)
    ref = (label * (np.log(label + 1e-12) - lp)).sum(axis=1)  # MXNet 1.9.1 sums (not mean)
    out = run(gloss.KLDivLoss(from_logits=from_logits), ctx, pred, label)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-7)


# -- embedding and count losses ---------------------------------------------------------------
def test_triplet_loss(ctx):
    pred, pos, neg = rand(4, 3), rand(4, 3, seed=1), rand(4, 3, seed=2)
    ref = np.maximum(((pos - pred) ** 2 - (neg - pred) ** 2).sum(axis=1) + 0.5, 0)
    np.testing.assert_allclose(run(gloss.TripletLoss(margin=0.5), ctx, pred, pos, neg), ref,
                               rtol=1e-5, atol=1e-6)


def test_cosine_embedding_loss(ctx):
    a, b = rand(4, 5), rand(4, 5, seed=1)
    label = np.array([1, -1, 1, -1], dtype=np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    ref = np.where(label == 1, 1 - cos, np.maximum(0, cos - 0.1))[:, None]
    out = run(gloss.CosineEmbeddingLoss(margin=0.1), ctx, a, b, label)
    assert out.shape == (4, 1)  # as MXNet 1.x returns it
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits,compute_full", [(True, False), (False, True)])
def test_poisson_nll_loss(ctx, from_logits, compute_full):
    pred = rand(3, 4, lo=0.1, hi=2)
    target = np.floor(rand(3, 4, lo=0, hi=5, seed=1))       # includes 0 and 1 counts
    if from_logits:
        ref = np.exp(pred) - target * pred
    else:
        ref = pred - target * np.log(pred + 1e-8)
    if compute_full:
        t = np.maximum(target, 1)
        ref = ref + np.where(target > 1, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t), 0)
    out = run(gloss.PoissonNLLLoss(from_logits=from_logits, compute_full=compute_full), ctx,
              pred, target)
    assert out.shape == (1,)
    np.testing.assert_allclose(out, [ref.mean()], rtol=1e-5)


# -- CTC --------------------------------------------------------------------------------------
def ctc_ref(pred, labels, pred_lengths=None):
    """-log p(label | pred) by enumerating every alignment (blank = last class)."""
    N, T, C = pred.shape
    prob = np.exp(log_softmax(pred))
    out = []
    for n in range(N):
        tn = T if pred_lengths is None else int(pred_lengths[n])
        target = tuple(int(v) for v in labels[n] if v >= 0)
        total = 0.0
        for path in itertools.product(range(C), repeat=tn):
            collapsed = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
            if tuple(k for k in collapsed if k != C - 1) == target:
                total += np.prod([prob[n, t, k] for t, k in enumerate(path)])
        out.append(-math.log(total))
    return np.array(out)


def test_ctc_loss(ctx):
    pred = rand(3, 5, 4, lo=-2, hi=2)
    label = np.array([[1, 0, -1], [2, 2, -1], [0, 1, 0]], dtype=np.float64)
    ref = ctc_ref(pred, label)
    np.testing.assert_allclose(run(gloss.CTCLoss(), ctx, pred, label), ref, rtol=1e-4)
    # TNC / TN layouts, explicit lengths, sample weights
    out = run(gloss.CTCLoss(layout="TNC", label_layout="TN"), ctx, pred.transpose(1, 0, 2),
              label.T)
    np.testing.assert_allclose(out, ref, rtol=1e-4)
    lens = np.array([4, 5, 5], dtype=np.float64)
    lab_lens = np.array([1, 2, 3], dtype=np.float64)
    ref = ctc_ref(pred, np.where(np.arange(3) < lab_lens[:, None], label, -1), lens)
    sw = np.array([1.0, 0.5, 2.0])
    out = run(gloss.CTCLoss(weight=0.5), ctx, pred, label, lens, lab_lens, sw)
    np.testing.assert_allclose(out, 0.5 * sw * ref, rtol=1e-4)


def test_ctc_loss_on_symbols_needs_no_static_shapes():
    # as MXNet 1.9.1: the loss is the CTCLoss op, so the shapes come at bind time
    s = gloss.CTCLoss()(mx.sym.var("data"), mx.sym.var("label"))
    pred = rand(2, 6, 4, lo=-2, hi=2)
    label = np.array([[1, 0, -1], [2, 2, 1]], dtype=np.float64)
    e = s.simple_bind(mx.cpu(), data=pred.shape, label=label.shape, grad_req="null")
    out = e.forward(data=mx.nd.array(pred), label=mx.nd.array(label))[0].asnumpy()
    np.testing.assert_allclose(out, ctc_ref(pred, label), rtol=1e-4)


def test_ctc_loss_empty_label(ctx):
    pred = rand(2, 3, 3)
    label = np.array([[-1, -1], [1, -1]], dtype=np.float64)
    np.testing.assert_allclose(run(gloss.CTCLoss(), ctx, pred, label), ctc_ref(pred, label),
                               rtol=1e-4)


# -- gradients --------------------------------------------------------------------------------
GRADS = [
    ("L2", lambda: gloss.L2Loss(), [PRED, LABEL], (0, 1)),
    ("L1", lambda: gloss.L1Loss(), [PRED, LABEL], (0,)),
    ("Huber", lambda: gloss.HuberLoss(rho=0.5), [PRED * 2, LABEL], (0,)),
    ("Hinge", lambda: gloss.HingeLoss(), [PRED, np.sign(LABEL)], (0,)),
    ("SquaredHinge", lambda: gloss.SquaredHingeLoss(), [PRED, np.sign(LABEL)], (0,)),
    ("Logistic", lambda: gloss.LogisticLoss(), [PRED, np.sign(LABEL)], (0,)),
    ("SoftmaxCE", lambda: gloss.SoftmaxCELoss(), [PRED, np.array([0., 2., 1., 2.])], (0,)),
    ("SoftmaxCE-dense", lambda: gloss.SoftmaxCELoss(sparse_label=False),
     [PRED, np.exp(log_softmax(LABEL))], (0, 1)),
    ("SigmoidBCE", lambda: gloss.SigmoidBCELoss(), [PRED * 3, (LABEL > 0) * 1.0], (0,)),
    ("SigmoidBCE-pos", lambda: gloss.SigmoidBCELoss(),
     [PRED * 3, (LABEL > 0) * 1.0, SW, np.array([[0.5, 2.0, 1.5]])], (0,)),
    ("SigmoidBCE-from-sigmoid", lambda: gloss.SigmoidBCELoss(from_sigmoid=True),
     [sigmoid(PRED), (LABEL > 0) * 1.0], (0,)),
    ("KLDiv", lambda: gloss.KLDivLoss(from_logits=False),
     [PRED, np.exp(log_softmax(LABEL))], (0,)),
    ("Triplet", lambda: gloss.TripletLoss(), [PRED, LABEL, rand(4, 3, seed=7)], (0, 1, 2)),
    ("CosineEmbedding", lambda: gloss.CosineEmbeddingLoss(),
     [PRED, LABEL, np.array([1., -1., 1., -1.])], (0, 1)),
    ("PoissonNLL", lambda: gloss.PoissonNLLLoss(from_logits=False, compute_full=True),
     [PRED + 2, np.array([[0., 1., 3.], [2., 5., 1.], [0., 0., 4.], [1., 2., 2.]])], (0,)),
    ("CTC", lambda: gloss.CTCLoss(),
     [rand(2, 4, 3, seed=3), np.array([[0., 1.], [1., -1.]])], (0,)),
]


@pytest.mark.parametrize("k", range(len(GRADS)), ids=[g[0] for g in GRADS])
def test_loss_gradients(ctx, k):
    _, make, inputs, wrt = GRADS[k]
    check_block_grads(make(), inputs, ctx, wrt=wrt)


def test_loss_repr_and_weight_check(ctx):
    assert repr(gloss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"
    assert gloss.L2Loss().prefix.startswith("l2loss")
    bad = gloss.L1Loss(weight="2")
    bad.initialize(ctx=ctx)
    with pytest.raises(AssertionError, match="weight must be a number"):
        bad(nd(PRED, ctx), nd(LABEL, ctx))


def test_loss_drives_training_step(ctx):
    """A loss under autograd.record(): its gradient reaches the prediction (CTC included)."""
    pred = nd(rand(2, 4, 3), ctx)
    pred.attach_grad()
    ctc = gloss.CTCLoss()
    with autograd.record():
        out = ctc(pred, nd(np.array([[0., 1.], [1., -1.]]), ctx))
    out.backward()
    assert np.isfinite(pred.grad.asnumpy()).all() and np.abs(pred.grad.asnumpy()).sum() > 0


# -- SDMLLoss -----------------------------------------------------------------------------------
def sdml_ref(x1, x2, s=0.3):
    """MXNet 1.9's SDMLLoss in NumPy: KL(smoothed identity || softmax(-squared distances)) per
    row, summed over the row."""
    n = x1.shape[0]
    d = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(axis=2)
    q = np.where(np.eye(n, dtype=bool), 1 - s, s / (n - 1))
    return (q * (np.log(q + 1e-12) - log_softmax(-d, axis=1))).sum(axis=1)


X1, X2 = rand(5, 3, seed=11), rand(5, 3, seed=12)


@pytest.mark.parametrize("smoothing", [0.3, 0.0, 0.9])
def test_sdml_loss(ctx, smoothing):
    out = run(gloss.SDMLLoss(smoothing_parameter=smoothing), ctx, X1, X2)
    assert out.shape == (5,)
    np.testing.assert_allclose(out, sdml_ref(X1, X2, smoothing), rtol=1e-5, atol=1e-6)
    # aligned pairs (x2 close to x1) give a lower loss than unrelated ones
    close = run(gloss.SDMLLoss(), ctx, X1, X1 + 0.01 * X2)
    assert close.sum() < sdml_ref(X1, X2).sum()


def test_sdml_loss_weight_and_batch_axis(ctx):
    out = run(gloss.SDMLLoss(weight=2.5), ctx, X1, X2)
    np.testing.assert_allclose(out, 2.5 * sdml_ref(X1, X2), rtol=1e-5, atol=1e-6)
    out = run(gloss.SDMLLoss(batch_axis=1), ctx, X1.T, X2.T)   # samples in the columns
    np.testing.assert_allclose(out, sdml_ref(X1, X2), rtol=1e-5, atol=1e-6)
    two = rand(2, 4, seed=3), rand(2, 4, seed=4)                 # the smallest batch
    np.testing.assert_allclose(run(gloss.SDMLLoss(), ctx, *two), sdml_ref(*two), rtol=1e-5)


def test_sdml_loss_symbol(ctx):
    """On Symbols (the batch size is not known when the graph is built)."""
    import mxplug as mx
    x1, x2 = mx.sym.var("x1"), mx.sym.var("x2")
    y = gloss.SDMLLoss(smoothing_parameter=0.2)(x1, x2)
    assert y.infer_shape(x1=(5, 3), x2=(5, 3))[1] == [(5,)]
    ex = y.bind(ctx, {"x1": nd(X1, ctx), "x2": nd(X2, ctx)})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), sdml_ref(X1, X2, 0.2), rtol=1e-5,
                               atol=1e-6)


def test_sdml_loss_gradients(ctx):
    check_block_grads(gloss.SDMLLoss(), [X1, X2], ctx, wrt=(0, 1))
    check_block_grads(gloss.SDMLLoss(smoothing_parameter=0.6, batch_axis=1), [X1.T, X2.T],
                      ctx, wrt=(0, 1))


def test_sdml_loss_bad_arguments(ctx):
    for bad in (1.0, -0.1, "0.3", True):
        with pytest.raises(ValueError, match="smoothing_parameter"):
            gloss.SDMLLoss(smoothing_parameter=bad)
    with pytest.raises(ValueError, match="batch_axis"):
        gloss.SDMLLoss(batch_axis=2)
    loss = gloss.SDMLLoss()
    loss.initialize(ctx=ctx)
    for a, b in ((X1, X2[:4]), (X1[:1], X2[:1]), (rand(2, 3, 2), rand(2, 3, 2))):
        with pytest.raises(ValueError, match="SDMLLoss: x1 and x2"):
            loss(nd(a, ctx), nd(b, ctx))
