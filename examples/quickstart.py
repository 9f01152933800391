"""Train a 2-layer MLP on scikit-learn's bundled handwritten digits with mx.nd and mx.autograd.

Every array op runs through mxplug's dispatch on the default context
(``MXPLUG_DEFAULT_CONTEXT=opencl:0`` moves it to another backend without code changes), and the
gradients come from mx.autograd. (mx.gluon will wrap the same steps in Blocks and a Trainer.)

    python examples/quickstart.py [--epochs 40] [--hidden 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mxplug as mx


def load_digits(ctx, test_fraction=0.25, seed=0):
    """The 1797 8x8 digit images, scaled to [0, 1], split into train and test arrays on ``ctx``."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x = data.data.astype(np.float32) / 16.0
    y = data.target.astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return [mx.nd.array(a, ctx=ctx) for a in (x[train], y[train], x[test], y[test])]


def forward(params, x):
    w1, b1, w2, b2 = params
    hidden = mx.nd.relu(mx.nd.FullyConnected(x, w1, b1, num_hidden=w1.shape[0]))
    return mx.nd.FullyConnected(hidden, w2, b2, num_hidden=w2.shape[0])


def sgd_step(params, velocity, x, y, lr, momentum=0.9):
    """One step of softmax cross-entropy with SGD + momentum; returns the batch loss."""
    with mx.autograd.record():
        logits = forward(params, x)
        loss = -mx.nd.mean(mx.nd.pick(mx.nd.log_softmax(logits, axis=-1), y, axis=1))
    loss.backward()
    for p, v in zip(params, velocity):  # outside record(): in-place updates are allowed
        v[:] = momentum * v - lr * p.grad
        p += v
    return loss.asscalar()


def accuracy(params, x, y):
    logits = forward(params, x)
    return float((mx.nd.argmax(logits, axis=1) == y).mean().asscalar())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    args = ap.parse_args(argv)

    ctx = mx.current_context()
    mx.random.seed(42)
    x_train, y_train, x_test, y_test = load_digits(ctx)
    n_in, n_out = x_train.shape[1], 10
    params = [  # FullyConnected's layout: weight (num_hidden, in_units)
        mx.nd.random.normal(0, (2.0 / n_in) ** 0.5, shape=(args.hidden, n_in), ctx=ctx),
        mx.nd.zeros((args.hidden,), ctx=ctx),
        mx.nd.random.normal(0, (2.0 / args.hidden) ** 0.5, shape=(n_out, args.hidden), ctx=ctx),
        mx.nd.zeros((n_out,), ctx=ctx),
    ]
    for p in params:
        p.attach_grad()
    velocity = [mx.nd.zeros_like(p) for p in params]
    n = x_train.shape[0]
    print(f"training an MLP {n_in}-{args.hidden}-{n_out} on {n} digits on {ctx}")
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = mx.nd.array(np.random.default_rng(epoch).permutation(n), ctx=ctx, dtype="int64")
        losses = []
        for i in range(0, n, args.batch_size):
            idx = order[i : i + args.batch_size]
            losses.append(sgd_step(params, velocity, x_train[idx], y_train[idx], args.lr))
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(
                f"epoch {epoch + 1:3d}  loss {np.mean(losses):.4f}  "
                f"train accuracy {accuracy(params, x_train, y_train):.4f}"
            )
    print(f"trained in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {accuracy(params, x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
