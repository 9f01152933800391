"""``mxplug demo``: train an MLP and a small CNN on scikit-learn's bundled digits with Gluon.

Everything a user script would do — a Dataset and DataLoader, HybridSequential networks,
``hybridize()``, a Trainer, a loss and a metric — on the default context
(``MXPLUG_DEFAULT_CONTEXT=opencl:0`` moves it). The last line is ``test accuracy: 0.97``-style.
"""

from __future__ import annotations

import time

import numpy as np

import mxplug as mx


def _progress(iterable, total, desc, enabled):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the [demo] extra; without it the loop is silent
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=not enabled,
                dynamic_ncols=True)


def mlp():
    net = mx.gluon.nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(mx.gluon.nn.Dense(128, activation="relu"), mx.gluon.nn.Dense(64, activation="relu"),
                mx.gluon.nn.Dense(10))
    return net


def cnn():
    nn = mx.gluon.nn
    net = nn.HybridSequential(prefix="cnn_")
    with net.name_scope():
        net.add(nn.Conv2D(16, kernel_size=3, padding=1, activation="relu"), nn.MaxPool2D(2),
                nn.Conv2D(32, kernel_size=3, padding=1, activation="relu"), nn.MaxPool2D(2),
                nn.Flatten(), nn.Dense(64, activation="relu"), nn.Dense(10))
    return net


def digits(train, image_shape):
    """The digits as an ArrayDataset: float32 images in [0, 1] laid out for the network, and the
    labels. A dataset held in memory is converted once, not per sample and epoch."""
    ds = mx.gluon.data.vision.datasets.Digits(train=train)
    samples = [ds[i] for i in range(len(ds))]                  # 8x8x1 uint8 images (0..255)
    images = np.stack([x.asnumpy() for x, _ in samples]).astype(np.float32) / 255.0
    labels = np.array([y for _, y in samples], dtype=np.float32)
    return mx.gluon.data.ArrayDataset(mx.nd.array(images.reshape((len(ds),) + image_shape)),
                                      labels)


def evaluate(net, loader, ctx):
    metric = mx.metric.Accuracy()
    for x, y in loader:
        metric.update([y.as_in_context(ctx)], [net(x.as_in_context(ctx))])
    return metric.get()[1]


def train(name, net, image_shape, epochs, batch_size, lr, ctx, progress=True, log=print,
          timing=None):
    """Train ``net`` on the digits; returns the test accuracy. ``timing`` (a dict) receives the
    training loop's wall time as ``"train_s"``."""
    gdata = mx.gluon.data
    train_loader = gdata.DataLoader(digits(True, image_shape), batch_size=batch_size,
                                    shuffle=True)
    test_loader = gdata.DataLoader(digits(False, image_shape), batch_size=256)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize()
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                               {"learning_rate": lr, "momentum": 0.9})
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize()
    metric = mx.metric.Accuracy()
    start = time.perf_counter()
    for epoch in range(epochs):
        metric.reset()
        total, steps = 0.0, 0
        bar = _progress(train_loader, len(train_loader), f"{name} epoch {epoch + 1}/{epochs}",
                        progress)
        for x, y in bar:
            x, y = x.as_in_context(ctx), y.as_in_context(ctx)
            with mx.autograd.record():
                out = net(x)
                loss = loss_fn(out, y)
            loss.backward()
            trainer.step(x.shape[0])
            metric.update([y], [out])
            total, steps = total + float(loss.mean().asscalar()), steps + 1
            if hasattr(bar, "set_postfix"):  # the epoch's running mean loss and accuracy
                bar.set_postfix(loss=f"{total / steps:.3f}", acc=f"{metric.get()[1]:.3f}")
    elapsed = time.perf_counter() - start
    if timing is not None:
        timing["train_s"] = elapsed
    acc = evaluate(net, test_loader, ctx)
    log(f"{name}: {epochs} epochs in {elapsed:.1f} s, train accuracy {metric.get()[1]:.4f}, "
        f"test accuracy {acc:.4f}")
    return acc


def main(epochs=20, cnn_epochs=15, batch_size=64, progress=True, seed=0) -> float:
    mx.random.seed(seed)
    ctx = mx.current_context()
    print(f"mxplug {mx.__mxplug_version__} demo on {ctx}: scikit-learn digits (8x8, 10 classes)")
    acc = train("mlp", mlp(), (-1,), epochs, batch_size, 0.1, ctx, progress)
    train("cnn", cnn(), (1, 8, 8), cnn_epochs, batch_size, 0.05, ctx, progress)
    print(f"test accuracy: {acc:.4f}")  # the MLP's, as the README promises
    return acc
