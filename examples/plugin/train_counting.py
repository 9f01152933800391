"""Train a small Gluon MLP on the ``counting`` device and print what ran there.

With the plugin installed (``pip install -e examples/plugin``)::

    python examples/plugin/train_counting.py

or without installing it::

    MXPLUG_PLUGINS=counting=mxplug_counting:CountingBackend PYTHONPATH=examples/plugin \\
        python examples/plugin/train_counting.py
"""
from __future__ import annotations

import numpy as np

import mxplug as mx
from mxplug import autograd, gluon


def main(steps: int = 30) -> dict:
    ctx = mx.Context("counting", 0)
    backend = ctx.backend                      # the plugin instance serving the context
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 8))
    labels = rng.integers(0, 3, 256)
    data = centers[labels] + rng.normal(0, 0.5, (256, 8))

    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = mx.nd.array(data, ctx=ctx)
    y = mx.nd.array(labels, ctx=ctx)

    backend.reset()
    for step in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        if step in (0, steps - 1):
            print(f"step {step:2d}: loss {loss.mean().asscalar():.4f}")
    accuracy = float((net(x).argmax(axis=1) == y).mean().asscalar())
    stats = backend.stats()
    top = sorted(stats["calls"].items(), key=lambda kv: -kv[1])[:8]
    print(f"accuracy: {accuracy:.3f}")
    print(f"output context: {net(x).context}")
    print("namespace calls: " + ", ".join(f"{k} {v}" for k, v in top)
          + f" ({sum(stats['calls'].values())} in all)")
    print(f"kernel calls: {stats['kernels']}")
    print(f"bytes to the device: {stats['bytes_in']}, to the host: {stats['bytes_out']}")
    return {"accuracy": accuracy, **stats}


if __name__ == "__main__":
    main()
