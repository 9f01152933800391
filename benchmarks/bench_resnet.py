"""ResNet-18 (CIFAR stem) training speed: mxplug Gluon hybridized vs PyTorch CPU, in samples/s.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/torchvenv/bin/python \\
        benchmarks/bench_resnet.py [--ctx cpu] [--steps 5] [--batch 32] [--eager] [--profile]

The network is ``model_zoo.vision.resnet18_v1(thumbnail=True, classes=10)`` on 3x32x32 inputs:
a 3x3 convolution stem, four stages of two BasicBlockV1 (64, 128, 256, 512 channels), global
average pooling and Dense(10). PyTorch runs the same network written out below (torchvision is
not needed): same layers, BatchNorm momentum and epsilon, no conv biases. One training step is
forward, softmax cross-entropy, backward and SGD (lr 0.01, momentum 0.9); both run in this
process on random data, after 2 warm-up steps each, taking turns: round r times ``--steps`` steps
of mxplug, then of PyTorch; the best of ``--rounds`` rounds counts. Taking turns, rather than
timing one framework after the other, makes load from other jobs on a shared machine hit both.

``--profile`` prints where mxplug's step spends its time instead: per op (``mx.profiler``'s
aggregate table), then per Python function (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import (
    add_thread_args,
    env_line,
    gluon_step,
    ratio_rows,
    setup_threads_and_torch,
    table,
    torch_sgd_step,
)

import mxplug as mx
from mxplug import gluon
from mxplug.gluon.model_zoo import vision

LR, MOMENTUM, CLASSES = 0.01, 0.9, 10


def torch_resnet18_cifar(torch):
    """ResNet-18 V1 with the CIFAR stem, layer for layer as ``resnet18_v1(thumbnail=True)``."""
    n = torch.nn

    def bn(c):  # MXNet's momentum 0.9 on the running mean is PyTorch's momentum 0.1
        return n.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    class Basic(n.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = n.Sequential(n.Conv2d(cin, cout, 3, stride, 1, bias=False), bn(cout),
                                     n.ReLU(), n.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                     bn(cout))
            self.down = (n.Sequential(n.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))
                         if stride != 1 or cin != cout else None)

        def forward(self, x):
            res = self.down(x) if self.down is not None else x
            return torch.relu(self.body(x) + res)

    layers = [n.Conv2d(3, 64, 3, 1, 1, bias=False)]
    cin = 64
    for i, c in enumerate((64, 128, 256, 512)):
        stride = 1 if i == 0 else 2
        layers += [Basic(cin, c, stride), Basic(c, c, 1)]
        cin = c
    layers += [n.AdaptiveAvgPool2d(1), n.Flatten(), n.Linear(512, CLASSES)]
    return n.Sequential(*layers)


def mx_step(x, y, ctx, hybridize=True):
    net = vision.resnet18_v1(thumbnail=True, classes=CLASSES)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return gluon_step(net, gluon.loss.SoftmaxCrossEntropyLoss(), x, y, ctx, hybridize, LR,
                      MOMENTUM)


def torch_step(torch, x, y):
    model = torch_resnet18_cifar(torch)
    model.train()
    return torch_sgd_step(torch, model, x, y, LR, MOMENTUM)


def interleaved(steps, batch, n, rounds):
    """Best samples/s of each ``(step, sync)`` over ``rounds`` rounds of ``n`` steps, the
    frameworks taking turns round by round, so that load from other jobs on a shared machine
    hits them alike (``_common.samples_per_s`` times one framework after the other)."""
    for step, sync in steps.values():          # warm-up: caches, graph building
        for _ in range(2):
            step()
        sync()
    best = dict.fromkeys(steps, 0.0)
    for _ in range(rounds):
        for key, (step, sync) in steps.items():
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            sync()
            best[key] = max(best[key], batch * n / (time.perf_counter() - t0))
    return best


def profile(step, steps=3, top=25):
    """Where ``steps`` steps (after a warm-up one) spend their time: per op through
    ``mx.profiler``'s aggregate table, then per Python function through cProfile."""
    step()
    mx.nd.waitall()
    mx.profiler.set_config(profile_all=True, aggregate_stats=True)
    mx.profiler.set_state("run")
    for _ in range(steps):
        step()
    mx.nd.waitall()
    mx.profiler.set_state("stop")
    print(mx.profiler.dumps(reset=True, sort_by="total", ascending=False))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    mx.nd.waitall()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="the mxplug context")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per framework")
    ap.add_argument("--eager", action="store_true", help="also time mxplug without hybridize")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile mxplug's step instead")
    add_thread_args(ap)
    args = ap.parse_args(argv)
    torch = setup_threads_and_torch(args)
    ctx = mx.context.parse(args.ctx)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (args.batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, CLASSES, args.batch)
    if args.profile:
        profile(mx_step(x, y, ctx, hybridize=not args.eager))
        return
    modes = ("hybridized", "eager") if args.eager else ("hybridized",)
    steps = {mode: (mx_step(x, y, ctx, mode == "hybridized"), mx.nd.waitall) for mode in modes}
    if torch is not None:
        steps["torch"] = (torch_step(torch, x, y), lambda: None)
    res = interleaved(steps, args.batch, args.steps, args.rounds)
    rows = ratio_rows("ResNet-18 CIFAR", res, torch, keys=modes, where=f" ({ctx})", fmt=",.1f")
    print(env_line(torch))
    print(f"ResNet-18 v1 CIFAR stem training step, batch {args.batch}, SGD momentum {MOMENTUM}; "
          f"best of {args.rounds} rounds of {args.steps} steps, taking turns\n")
    print(table(["model / framework", "samples/s", "vs torch"], rows))


if __name__ == "__main__":
    main()
