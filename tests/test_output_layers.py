"""MXNet's output layers: forward values and the loss gradients their backward writes (head
gradients ignored), against NumPy re-derivations of MXNet's formulas, eagerly and through a bound
executor, on every backend."""

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _so_reference(x, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False,
                  use_ignore=False, normalization="null", smooth_alpha=0.0, head=None):
    """(output, data gradient) as MXNet's SoftmaxOutput computes them (2-D or multi_output)."""
    if multi_output:
        n, k = x.shape[:2]
        x3 = x.reshape(n, k, -1)
        out = _softmax(x3, 1)
        lab = label.reshape(n, -1).astype(np.int64)
        m = x3.shape[2]
        target = np.zeros_like(out)
        for i in range(n):
            for j in range(m):
                if 0 <= lab[i, j] < k:
                    target[i, lab[i, j], j] = 1
    else:
        out = _softmax(x, 1)
        lab = label.astype(np.int64)
        k, m = x.shape[1], 1
        target = np.zeros_like(out)
        inside = (lab >= 0) & (lab < k)
        target[np.arange(len(lab))[inside], lab[inside]] = 1
    if smooth_alpha:
        target = target * (1 - smooth_alpha) + (1 - target) * smooth_alpha / (k - 1)
    grad = out - target
    keep = lab != int(ignore_label)
    if use_ignore:
        grad = grad * (keep[:, None, :] if multi_output else keep[:, None])
    if normalization == "valid":
        grad = grad * grad_scale / max(keep.sum(), 1)
    elif normalization == "batch":
        grad = grad * grad_scale / (m * x.shape[0])
    else:
        grad = grad * grad_scale / m
    if head is not None:
        grad = grad * head.reshape(grad.shape)
    return out.reshape(x.shape), grad.reshape(x.shape)


def _eager_grad(ctx, fn, x, label):
    xs = mx.nd.array(x, ctx=ctx)
    xs.attach_grad()
    with autograd.record():
        out = fn(xs, mx.nd.array(label, ctx=ctx))
    out.backward(mx.nd.array(np.full(out.shape, 7.0), ctx=ctx))  # ignored by the rules
    return out.asnumpy(), xs.grad.asnumpy()


SO_CASES = [
    dict(),
    dict(grad_scale=0.5, normalization="batch"),
    dict(use_ignore=True, ignore_label=2, normalization="valid"),
    dict(ignore_label=2, normalization="valid"),   # MXNet counts valid labels either way
    dict(smooth_alpha=0.1),
]


@pytest.mark.parametrize("attrs", SO_CASES)
def test_softmax_output_gradient_eager(ctx, attrs):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (5, 4)).astype(np.float32)
    label = np.array([0, 2, 3, 2, 1], np.float32)
    out, grad = _eager_grad(ctx, lambda a, b: mx.nd.SoftmaxOutput(a, b, **attrs), x, label)
    ref_out, ref_grad = _so_reference(x, label, **attrs)
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attrs", [dict(), dict(normalization="batch"),
                                   dict(use_ignore=True, ignore_label=0, normalization="valid")])
def test_softmax_output_multi_output(ctx, attrs):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (2, 3, 2, 2)).astype(np.float32)
    label = rng.integers(0, 3, (2, 2, 2)).astype(np.float32)
    out, grad = _eager_grad(ctx, lambda a, b: mx.nd.SoftmaxOutput(a, b, multi_output=True,
                                                                   **attrs), x, label)
    ref_out, ref_grad = _so_reference(x, label, multi_output=True, **attrs)
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_softmax_output_out_grad_and_probability_labels():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (3, 4))
    label = np.array([1.0, 0.0, 3.0])
    head = rng.uniform(0.5, 1.5, (3, 4))
    xs = mx.nd.array(x)
    xs.attach_grad()
    with autograd.record():
        out = mx.nd.SoftmaxOutput(xs, mx.nd.array(label), out_grad=True, grad_scale=2.0)
    out.backward(mx.nd.array(head))
    np.testing.assert_allclose(xs.grad.asnumpy(),
                               _so_reference(x, label, grad_scale=2.0, head=head)[1], rtol=1e-5)
    prob = _softmax(rng.uniform(-1, 1, (3, 4)), 1)   # a label of data's shape: a distribution
    with autograd.record():
        out = mx.nd.SoftmaxOutput(xs, mx.nd.array(prob), grad_scale=3.0)
    out.backward()
    np.testing.assert_allclose(xs.grad.asnumpy(), (_softmax(x, 1) - prob) * 3.0, rtol=1e-5)


def test_softmax_output_trains_through_executor(ctx):
    """The classic MXNet symbol: the label variable is made by the op, backward() takes no head
    gradients, and the weights' gradients are those of the cross-entropy."""
    rng = np.random.default_rng(3)
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    net = mx.sym.SoftmaxOutput(fc, name="softmax", normalization="batch")
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]
    ex = net.simple_bind(ctx, data=(4, 5), softmax_label=(4,),
                         grad_req={"data": "null", "fc_weight": "write", "fc_bias": "write",
                                   "softmax_label": "null"})
    x, w = rng.uniform(-1, 1, (4, 5)), rng.uniform(-1, 1, (3, 5))
    label = np.array([0.0, 2.0, 1.0, 2.0])
    ex.arg_dict["data"][:] = x
    ex.arg_dict["fc_weight"][:] = w
    ex.arg_dict["fc_bias"][:] = 0
    ex.arg_dict["softmax_label"][:] = label
    out = ex.forward(is_train=True)[0].asnumpy()
    ex.backward()
    ref_out, dlogits = _so_reference((x @ w.T).astype(np.float32), label, normalization="batch")
    np.testing.assert_allclose(out, ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["fc_weight"].asnumpy(), dlogits.T @ x, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["fc_bias"].asnumpy(), dlogits.sum(0), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("name", ["LinearRegressionOutput", "LogisticRegressionOutput",
                                  "MAERegressionOutput"])
def test_regression_outputs(ctx, name):
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    label = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    op = getattr(mx.nd, name)
    out, grad = _eager_grad(ctx, lambda a, b: op(a, b, grad_scale=1.5), x, label)
    ref = 1 / (1 + np.exp(-x)) if name.startswith("Logistic") else x
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    diff = np.sign(ref - label) if name.startswith("MAE") else ref - label
    np.testing.assert_allclose(grad, diff * 1.5 / 3, rtol=1e-5, atol=1e-6)


def test_regression_output_label_shapes_and_errors():
    x = mx.nd.array(np.arange(4.0).reshape(4, 1))
    x.attach_grad()
    with autograd.record():
        out = mx.nd.LinearRegressionOutput(x, mx.nd.array([1.0, 1.0, 1.0, 1.0]))  # (n,) for (n, 1)
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy().ravel(), np.arange(4.0) - 1)
    with pytest.raises(mx.base.MXNetError, match="LinearRegressionOutput"):
        mx.nd.LinearRegressionOutput(mx.nd.ones((4, 3)), mx.nd.ones((4, 2)))


@pytest.mark.parametrize("norm", ["null", "batch", "valid"])
def test_make_loss(ctx, norm):
    x = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, 0.1]], np.float32)
    xs = mx.nd.array(x, ctx=ctx)
    xs.attach_grad()
    with autograd.record():
        loss = mx.nd.MakeLoss(xs * 2, grad_scale=3.0, normalization=norm, valid_thresh=0.2)
    loss.backward()
    np.testing.assert_allclose(loss.asnumpy(), x * 2)
    scale = {"null": 3.0, "batch": 3.0 / 2, "valid": 3.0 / np.sum(x * 2 > 0.2)}[norm]
    np.testing.assert_allclose(xs.grad.asnumpy(), np.full(x.shape, 2 * scale), rtol=1e-6)
    sym = mx.sym.make_loss(mx.sym.var("a"), name="loss")     # MXNet's lower-case alias
    assert sym.list_arguments() == ["a"]
