"""Gluon training speed: mxplug Gluon (eager and hybridized) vs PyTorch CPU, in samples/s.

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

Random data: the figure is throughput, not accuracy. PyTorch uses its default thread count.
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
from _common import limit_threads, machine, numpy_threads, samples_per_s, table, thread_env

import mxplug as mx
from mxplug import autograd, gluon
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
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybridize:  # the network and the loss, each one CachedOp
        net.hybridize()
        loss_fn.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": LR, "momentum": MOMENTUM})
    xs, ys = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
    batch = x.shape[0]

    def step():
        with autograd.record():
            loss = loss_fn(net(xs), ys)
        loss.backward()
        trainer.step(batch)
    return step


def torch_step(torch, make, x, y):
    model = make(torch)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(xs), ys).backward()
        opt.step()
    return step


def compare(name, mx_make, torch_make, shape, batch, ctx, steps, torch):
    rng = np.random.default_rng(0)
    x, y = _data(rng, shape, batch)
    res = {}
    if torch is not None:
        res["torch"] = samples_per_s(torch_step(torch, torch_make, x, y), batch, steps)
    for hyb in (False, True):
        key = "hybridized" if hyb else "eager"
        res[key] = samples_per_s(mx_step(mx_make, x, y, ctx, hyb), batch, steps, mx.nd.waitall)
    rows = []
    for key in ("eager", "hybridized"):
        ratio = f"{res[key] / res['torch']:.2f}x" if "torch" in res else "-"
        rows.append([f"{name} mxplug {key} ({ctx})", f"{res[key]:,.0f}", ratio])
    if "torch" in res:
        rows.append([f"{name} torch {torch.__version__}", f"{res['torch']:,.0f}", "1.00x"])
    return rows


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
    ap.add_argument("--threads", type=int, default=0,
                    help="give NumPy's BLAS and PyTorch N threads (the script re-executes itself "
                         "with OPENBLAS_NUM_THREADS/OMP_NUM_THREADS=N); 0 keeps the defaults")
    args = ap.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
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
    tinfo = (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
             else "no torch")
    print(f"machine: {machine()}; numpy {np.__version__} ({numpy_threads()}); {tinfo}; "
          f"{thread_env()}")
    print(f"Gluon training, SGD momentum {MOMENTUM}; best of 3 rounds\n")
    print(table(["model / framework", "samples/s", "vs torch"], rows))


if __name__ == "__main__":
    main()
