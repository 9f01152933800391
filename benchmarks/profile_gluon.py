"""Where a Gluon training step spends its time: per phase, then per Python function.

    python benchmarks/profile_gluon.py [--ctx gpu:0] [--model mlp|lenet] [--hybridize]
                                       [--steps 100] [--top 25]

The models, data and optimizer are ``bench_gluon.py``'s. First the step's three phases, each
timed twice over ``--steps`` steps: "issue" is the host time until the phase's Python returns,
"done" also waits for the device (``mx.nd.waitall()``); where the two agree the step is bound
by host time (every launch's Python and library overhead), where "done" is larger by device
time. Then ``cProfile`` over ``--steps`` whole steps, the ``--top`` functions by their own time:
on a GPU, the library calls that cost the most host time per launch.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from bench_gluon import LENET_BATCH, LR, MLP_BATCH, MOMENTUM, _data, mx_lenet, mx_mlp

import mxplug as mx
from mxplug import autograd, gluon

MODELS = {"mlp": (mx_mlp, (784,), MLP_BATCH), "lenet": (mx_lenet, (1, 28, 28), LENET_BATCH)}


def build(model, ctx, hybridize):
    """(forward-with-loss, trainer, batch) of ``model`` on ``ctx``."""
    make, shape, batch = MODELS[model]
    x, y = _data(np.random.default_rng(0), shape, batch)
    net = make()
    net.initialize(mx.init.Xavier(), ctx=ctx)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybridize:
        net.hybridize()
        loss_fn.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": LR, "momentum": MOMENTUM})
    xs, ys = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)

    def forward():
        with autograd.record():
            return loss_fn(net(xs), ys)
    return forward, trainer, batch


def phases(forward, trainer, batch, steps):
    """Mean microseconds per step of forward, backward and update: (issue, done) each."""
    clock, sync = time.perf_counter, mx.nd.waitall
    issue, done = np.zeros(3), np.zeros(3)
    for _ in range(steps):
        t0 = clock()
        loss = forward()
        t1 = clock()
        sync()
        t1s = clock()
        loss.backward()
        t2 = clock()
        sync()
        t2s = clock()
        trainer.step(batch)
        t3 = clock()
        sync()
        t3s = clock()
        issue += (t1 - t0, t2 - t1s, t3 - t2s)
        done += (t1s - t0, t2s - t1s, t3s - t2s)
    return issue / steps * 1e6, done / steps * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="the mxplug context")
    ap.add_argument("--model", choices=sorted(MODELS), default="mlp")
    ap.add_argument("--hybridize", action="store_true")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    ctx = mx.context.parse(args.ctx)
    forward, trainer, batch = build(args.model, ctx, args.hybridize)

    def step():
        forward().backward()
        trainer.step(batch)

    for _ in range(5):  # warm up: kernel compilation, caches, memory pools
        step()
    mx.nd.waitall()
    issue, done = phases(forward, trainer, batch, args.steps)
    mode = "hybridized" if args.hybridize else "eager"
    print(f"{args.model} {mode} on {ctx}, batch {batch}: us per step, host issue / done")
    for name, i, d in zip(("forward", "backward", "update"), issue, done):
        print(f"  {name:9s} {i:8.0f} / {d:8.0f}")
    print(f"  {'step':9s} {issue.sum():8.0f} / {done.sum():8.0f}  "
          f"({batch / done.sum() * 1e6:,.0f} samples/s)")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.steps):
        step()
    mx.nd.waitall()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
    text = out.getvalue()
    print(text[text.index("   ncalls"):] if "   ncalls" in text else text)


if __name__ == "__main__":
    main()
