"""Autograd overhead: record + backward of a chain of 20 elementwise ops on a 16-element array.

    python benchmarks/bench_autograd.py [--repeat 7] [--ctx cpu]

Compared with PyTorch CPU (when installed) and the same chain's forward and backward written by
hand in NumPy (the floor: no tape at all). Best-of-N timing; see README.md.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))  # an uninstalled checkout still finds mxplug
from _common import machine, numpy_threads, per_call, table, thread_env

import mxplug as mx

#: The chain, 5 ops repeated 4 times: y*1.5, y+0.5, sin(y), tanh(y), y*y.
STEPS = 4


def mx_step(x):
    x.grad[:] = 0
    with mx.autograd.record():
        y = x
        for _ in range(STEPS):
            y = mx.nd.tanh(mx.nd.sin(y * 1.5 + 0.5))
            y = y * y
    y.backward()
    return x.grad


def torch_step(torch, x):
    x.grad = None
    y = x
    for _ in range(STEPS):
        y = torch.tanh(torch.sin(y * 1.5 + 0.5))
        y = y * y
    y.backward(torch.ones_like(y))
    return x.grad


def numpy_step(x):
    """Forward keeping what backward needs, then the chain rule by hand."""
    saved, y = [], x
    for _ in range(STEPS):
        u = y * 1.5 + 0.5
        s = np.sin(u)
        t = np.tanh(s)
        saved.append((u, t))
        y = t * t
    g = np.ones_like(y)
    for u, t in reversed(saved):
        g = g * 2 * t            # y = t*t
        g = g * (1 - t * t)      # t = tanh(s)
        g = g * np.cos(u)        # s = sin(u)
        g = g * 1.5              # u = y*1.5 + 0.5
    return g


def run(args):
    rng = np.random.default_rng(0)
    x_np = rng.uniform(-1, 1, 16).astype(np.float32)
    ctx = mx.context.parse(args.ctx) if args.ctx else mx.current_context()
    x = mx.nd.array(x_np, ctx=ctx)
    x.attach_grad()
    expect = numpy_step(x_np.astype(np.float64))
    got = mx_step(x).asnumpy()
    assert np.allclose(got, expect, rtol=1e-4, atol=1e-5), "mxplug gradient differs from NumPy's"
    t_np = per_call(lambda: numpy_step(x_np), repeat=args.repeat)
    rows = [["numpy by hand", f"{t_np * 1e6:.1f}"]]
    t_mx = per_call(lambda: mx_step(x), mx.nd.waitall, repeat=args.repeat)
    rows.insert(0, ["mxplug", f"{t_mx * 1e6:.1f}"])
    try:
        import torch

        torch.set_num_threads(1)
        xt = torch.tensor(x_np, requires_grad=True)
        t_torch = per_call(lambda: torch_step(torch, xt), repeat=args.repeat)
        rows.append([f"torch {torch.__version__} (1 thread)", f"{t_torch * 1e6:.1f}"])
        ratio = f"mxplug / torch = {t_mx / t_torch:.2f}x"
    except ImportError:
        ratio = "torch not installed (see benchmarks/README.md)"
    print(f"machine: {machine()}; numpy {np.__version__} ({numpy_threads()})")
    print(f"thread env: {thread_env()}; context {ctx}; best of {args.repeat} rounds")
    print("record + backward of 20 elementwise ops on 16 float32 elements, microseconds:\n")
    print(table(["framework", "us per step"], rows))
    print("\n" + ratio)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--ctx", default=None, help="context, e.g. cpu or opencl:0")
    run(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
