"""Training on every backend reaches the NumPy backend's parameters: an MLP and a small CNN,
a few SGD steps from the same initial values on the same data."""

from __future__ import annotations

import numpy as np

import mxplug as mx
from mxplug import autograd


def _sgd(params, lr):
    for p in params:
        p[:] = p - lr * p.grad


def _train(ctx, init, data, labels, forward, steps=5, lr=0.1):
    params = [mx.nd.array(p, ctx=ctx, dtype=p.dtype) for p in init]
    for p in params:
        p.attach_grad()
    x = mx.nd.array(data, ctx=ctx, dtype=data.dtype)
    y = mx.nd.array(labels, ctx=ctx, dtype=labels.dtype)
    losses = []
    for _ in range(steps):
        with autograd.record():
            logits = forward(params, x)
            loss = mx.nd.mean(-mx.nd.pick(mx.nd.log_softmax(logits), y, axis=1))
        loss.backward()
        _sgd(params, lr)
        losses.append(float(loss.asscalar()))
    return [p.asnumpy() for p in params], losses


def _mlp(params, x):
    w1, b1, w2, b2 = params
    h = mx.nd.relu(mx.nd.FullyConnected(x, w1, b1, num_hidden=w1.shape[0]))
    return mx.nd.FullyConnected(h, w2, b2, num_hidden=w2.shape[0])


def _cnn(params, x):
    w1, b1, w2, b2 = params
    h = mx.nd.Convolution(x, w1, b1, kernel=(3, 3), pad=(1, 1), num_filter=w1.shape[0])
    h = mx.nd.Pooling(mx.nd.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max")
    return mx.nd.FullyConnected(mx.nd.flatten(h), w2, b2, num_hidden=w2.shape[0])


def _check(ctx, init, data, labels, forward):
    ref, ref_losses = _train(mx.cpu(), init, data, labels, forward)
    got, losses = _train(ctx, init, data, labels, forward)
    assert losses[-1] < losses[0]  # it learns
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4, atol=1e-5)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_mlp_training_matches_numpy_backend(ctx):
    rng = np.random.default_rng(0)
    init = [rng.normal(0, 0.3, (16, 8)).astype(np.float32), np.zeros(16, np.float32),
            rng.normal(0, 0.3, (3, 16)).astype(np.float32), np.zeros(3, np.float32)]
    data = rng.normal(0, 1, (32, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 32).astype(np.float32)
    _check(ctx, init, data, labels, _mlp)


def test_cnn_training_matches_numpy_backend(ctx):
    rng = np.random.default_rng(1)
    init = [rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32), np.zeros(4, np.float32),
            rng.normal(0, 0.3, (3, 4 * 4 * 4)).astype(np.float32), np.zeros(3, np.float32)]
    data = rng.normal(0, 1, (8, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 8).astype(np.float32)
    _check(ctx, init, data, labels, _cnn)
