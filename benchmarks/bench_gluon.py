"""Gluon training speed: mxplug Gluon (eager and hybridized) vs PyTorch, in samples/s.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/torchvenv/bin/python \\
        benchmarks/bench_gluon.py [--ctx cpu] [--steps 30] [--only mlp,lenet,demo]

Run with a Python that has both mxplug and PyTorch (e.g. a venv with ``torch`` CPU and mxplug
installed by ``pip install -e . --no-deps``), unsetting the OpenBLAS tuning variables only for
this command. Every model is timed in the same process, one after the other, best of 3 rounds of
``--steps`` training steps (forward, loss, backward, optimizer step) after 3 warm-up steps:

"hybridized" means ``net.hybridize()`` and ``loss.hybridize()``.

* ``mlp``: Dense(256, relu) - Dense(256, relu) - Dense(10), batch 128, 784 inputs,
  SoftmaxCrossEntropyLoss, ``gluon.Trainer`` SGD lr 0.01 momentum 0.9;
* ``lenet``: Conv(20, 5x5, relu) - MaxPool(2) - Conv(50, 5x5, relu) - MaxPool(2) - Dense(500,
  relu) - Dense(10) on 1x28x28 inputs, batch 64, same loss and optimizer;
* ``demo``: the wall time of ``mxplug demo``'s MLP training loop (DataLoader, metric and loss
  readout per batch included; data preparation and evaluation not) vs the same MLP, data and
  epochs in PyTorch.

Random data: the figure is throughput, not accuracy. PyTorch uses its default thread count, and
runs on the same device as mxplug: the CPU, or ``cuda:i`` for ``--ctx gpu:i`` (its rounds then end
with ``torch.cuda.synchronize()``, as mxplug's end with ``mx.nd.waitall()``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import (
    add_thread_args,
    eager_and_hybridized,
    env_line,
    gluon_step,
    ratio_rows,
    setup_threads_and_torch,
    table,
    torch_device,
    torch_sgd_step,
    torch_sync,
)

import mxplug as mx
from mxplug import gluon
from mxplug.gluon import nn

LR, MOMENTUM = 0.01, 0.9
MLP_BATCH, LENET_BATCH = 128, 64


# -- models ----------------------------------------------------------------------------------------
def mx_mlp():
    net = nn.HybridSequential()
    net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"), nn.Dense(10))
    return net


def mx_lenet():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(20, kernel_size=5, activation="relu"), nn.MaxPool2D(2),
            nn.Conv2D(50, kernel_size=5, activation="relu"), nn.MaxPool2D(2),
            nn.Dense(500, activation="relu"), nn.Dense(10))
    return net


def torch_mlp(torch):
    n = torch.nn
    return n.Sequential(n.Linear(784, 256), n.ReLU(), n.Linear(256, 256), n.ReLU(),
                        n.Linear(256, 10))


def torch_lenet(torch):
    n = torch.nn
    return n.Sequential(n.Conv2d(1, 20, 5), n.ReLU(), n.MaxPool2d(2), n.Conv2d(20, 50, 5),
                        n.ReLU(), n.MaxPool2d(2), n.Flatten(), n.Linear(800, 500), n.ReLU(),
                        n.Linear(500, 10))


def _data(rng, shape, batch):
    x = rng.normal(0, 1, (batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


# -- steps ----------------------------------------------------------------------------------------
def mx_step(make, x, y, ctx, hybridize):
    net = make()
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return gluon_step(net, gluon.loss.SoftmaxCrossEntropyLoss(), x, y, ctx, hybridize, LR,
                      MOMENTUM)


def torch_step(torch, make, x, y, device):
    return torch_sgd_step(torch, make(torch), x, y, LR, MOMENTUM, device=device)


def compare(name, mx_make, torch_make, shape, batch, ctx, steps, torch):
    rng = np.random.default_rng(0)
    x, y = _data(rng, shape, batch)
    device = torch_device(torch, ctx)
    res = eager_and_hybridized(torch and (lambda: torch_step(torch, torch_make, x, y, device)),
                               lambda hyb: mx_step(mx_make, x, y, ctx, hyb), batch, steps,
                               torch_sync(torch, device))
    return ratio_rows(name, res, torch, where=f" ({ctx}; torch on {device})")


def demo_rows(torch, epochs=20, batch=64):
    """``mxplug demo``'s MLP part (its data, network, loop, epochs) vs the same in PyTorch."""
    from mxplug import demo
    ctx = mx.current_context()
    timing = {}  # the training loop only, as for PyTorch below (no data loading, no evaluation)
    demo.train("mlp", demo.mlp(), (-1,), epochs, batch, 0.1, ctx, progress=False,
               log=lambda *a: None, timing=timing)
    t_mx = timing["train_s"]
    rows = [["demo MLP mxplug (train s, lower is better)", f"{t_mx:.2f}", "-"]]
    if torch is None:
        return rows
    digits = gluon.data.vision.datasets.Digits(train=True)
    x = np.stack([np.asarray(digits[i][0], np.float32).reshape(-1) / 255.0
                  for i in range(len(digits))])
    y = np.array([int(digits[i][1]) for i in range(len(digits))], np.int64)
    n = torch.nn
    model = n.Sequential(n.Linear(x.shape[1], 128), n.ReLU(), n.Linear(128, 64), n.ReLU(),
                         n.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = n.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.perf_counter()
    for _ in range(epochs):  # the demo's loop also evaluates the loss and accuracy per batch
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), batch):
            idx = perm[i:i + batch]
            xb, yb = xs[idx], ys[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            float(loss.detach())
            (out.argmax(1) == yb).float().mean()
    t_t = time.perf_counter() - t0
    rows[0][2] = f"{t_t / t_mx:.2f}x"
    rows.append(["demo MLP torch (train s)", f"{t_t:.2f}", "1.00x"])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="the mxplug context")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--only", default="mlp,lenet", help="comma-separated: mlp, lenet, demo")
    add_thread_args(ap)
    args = ap.parse_args(argv)
    torch = setup_threads_and_torch(args)
    ctx = mx.context.parse(args.ctx)
    which = args.only.split(",")
    rows = []
    if "mlp" in which:
        rows += compare("MLP", mx_mlp, torch_mlp, (784,), MLP_BATCH, ctx, args.steps, torch)
    if "lenet" in which:
        rows += compare("LeNet", mx_lenet, torch_lenet, (1, 28, 28), LENET_BATCH, ctx,
                        max(args.steps // 3, 5), torch)
    if "demo" in which:
        try:
            rows += demo_rows(torch)
        except mx.base.MXNetError as e:  # Digits needs scikit-learn
            rows.append([f"demo skipped: {e}", "-", "-"])
    print(env_line(torch))
    print(f"Gluon training, SGD momentum {MOMENTUM}; best of 3 rounds\n")
    print(table(["model / framework", "samples/s", "vs torch"], rows))


if __name__ == "__main__":
    main()
