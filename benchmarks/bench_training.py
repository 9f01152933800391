"""MLP training step (784-256-256-10, batch 128, SGD with momentum) on mxplug contexts, PyTorch
(CPU, and each GPU named in ``--ctx``) and a hand-written NumPy loop, in samples per second.

    python benchmarks/bench_training.py [--ctx cpu,opencl:0] [--steps 30] [--threads N]

mxplug runs twice per context: eagerly through mx.nd + mx.autograd, and as a Symbol bound once
(``simple_bind``: bind-time passes, memory plan, compiled backward graph), the way MXNet's Module
trains. Both update with MXNet's fused ``sgd_mom_update(w, g, mom, out=w)``, as ``mx.optimizer.SGD``
does. ``--threads N`` gives NumPy's BLAS and PyTorch N threads each. Random data: the figure is
throughput, not accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import (
    add_thread_args,
    machine,
    numpy_threads,
    samples_per_s,
    setup_threads_and_torch,
    table,
    thread_env,
    torch_sync,
)

import mxplug as mx

SIZES, BATCH, LR, MOMENTUM = (784, 256, 256, 10), 128, 0.01, 0.9


def _init(rng):
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        params += [rng.normal(0, (2 / n_in) ** 0.5, (n_out, n_in)).astype(np.float32),
                   np.zeros(n_out, np.float32)]
    return params


def mxplug_steps(ctx, rng, steps):
    params = [mx.nd.array(p, ctx=ctx) for p in _init(rng)]
    vel = [mx.nd.zeros_like(p) for p in params]
    for p in params:
        p.attach_grad()
    x = mx.nd.array(rng.normal(0, 1, (BATCH, SIZES[0])), ctx=ctx)
    y = mx.nd.array(rng.integers(0, SIZES[-1], BATCH), ctx=ctx)

    def step():
        with mx.autograd.record():
            h = x
            for i in range(0, len(params), 2):
                h = mx.nd.FullyConnected(h, params[i], params[i + 1],
                                         num_hidden=params[i].shape[0])
                if i + 2 < len(params):
                    h = mx.nd.relu(h)
            loss = mx.nd.mean(-mx.nd.pick(mx.nd.log_softmax(h), y, axis=1))
        loss.backward()
        for p, v in zip(params, vel):
            mx.nd.sgd_mom_update(p, p.grad, v, out=p, lr=LR, momentum=MOMENTUM)
    return samples_per_s(step, BATCH, steps, mx.nd.waitall)


def executor_steps(ctx, rng, steps):
    """The same MLP as a Symbol bound once (bind-time passes, compiled backward graph)."""
    data, label = mx.sym.var("data"), mx.sym.var("label")
    h = data
    for i, n_out in enumerate(SIZES[1:]):
        h = mx.sym.FullyConnected(h, num_hidden=n_out, name=f"fc{i}")
        if i + 2 < len(SIZES):
            h = mx.sym.relu(h)
    loss = mx.sym.mean(-mx.sym.pick(mx.sym.log_softmax(h), label, axis=1))
    ex = loss.simple_bind(ctx, grad_req={n: ("null" if n in ("data", "label") else "write")
                                         for n in loss.list_arguments()},
                          data=(BATCH, SIZES[0]), label=(BATCH,))
    init = _init(rng)
    names = [n for n in loss.list_arguments() if n not in ("data", "label")]
    for n, p in zip(names, init):
        ex.arg_dict[n][:] = p
    ex.arg_dict["data"][:] = rng.normal(0, 1, (BATCH, SIZES[0]))
    ex.arg_dict["label"][:] = rng.integers(0, SIZES[-1], BATCH)
    vel = {n: mx.nd.zeros_like(ex.arg_dict[n]) for n in names}

    def step():
        ex.forward(is_train=True)
        ex.backward()
        for n in names:
            w = ex.arg_dict[n]
            mx.nd.sgd_mom_update(w, ex.grad_dict[n], vel[n], out=w, lr=LR, momentum=MOMENTUM)
    return samples_per_s(step, BATCH, steps, mx.nd.waitall)


def numpy_steps(rng, steps):
    params = _init(rng)
    vel = [np.zeros_like(p) for p in params]
    x = rng.normal(0, 1, (BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)

    def step():
        acts = [x]
        for i in range(0, len(params), 2):
            z = acts[-1] @ params[i].T + params[i + 1]
            acts.append(np.maximum(z, 0) if i + 2 < len(params) else z)
        logits = acts[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(BATCH), y] -= 1
        g = p / BATCH
        for i in range(len(params) - 2, -1, -2):
            grad_w, grad_b = g.T @ acts[i // 2], g.sum(0)
            if i:
                g = (g @ params[i]) * (acts[i // 2] > 0)
            for k, gr in ((i, grad_w), (i + 1, grad_b)):
                vel[k] = MOMENTUM * vel[k] - LR * gr
                params[k] += vel[k]
    return samples_per_s(step, BATCH, steps)


def torch_steps(rng, steps, device="cpu"):
    import torch

    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x = torch.tensor(rng.normal(0, 1, (BATCH, SIZES[0])), dtype=torch.float32, device=device)
    y = torch.tensor(rng.integers(0, SIZES[-1], BATCH), device=device)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    where = device if device != "cpu" else f"{torch.get_num_threads()} threads"
    return (samples_per_s(step, BATCH, steps, torch_sync(torch, device)),
            f"torch {torch.__version__} ({where})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="comma-separated mxplug contexts")
    ap.add_argument("--steps", type=int, default=30)
    add_thread_args(ap)
    args = ap.parse_args(argv)
    setup_threads_and_torch(args, use_torch=False)  # torch_steps imports PyTorch when it runs
    rng = np.random.default_rng(0)
    rows = [["numpy by hand", f"{numpy_steps(rng, args.steps):,.0f}"]]
    torch_devices = ["cpu"]
    for c in args.ctx.split(","):
        ctx = mx.context.parse(c)
        rows.append([f"mxplug eager on {ctx}", f"{mxplug_steps(ctx, rng, args.steps):,.0f}"])
        rows.append([f"mxplug executor on {ctx}",
                     f"{executor_steps(ctx, rng, args.steps):,.0f}"])
        if ctx.device_type == "gpu":  # PyTorch on the same GPU, too
            torch_devices.append(f"cuda:{ctx.device_id}")
    for device in torch_devices:
        try:
            sps, label = torch_steps(rng, args.steps, device)
            rows.append([label, f"{sps:,.0f}"])
        except ImportError:
            rows.append(["torch", "not installed"])
            break
    print(f"machine: {machine()}; numpy {np.__version__} ({numpy_threads()}); {thread_env()}")
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, SGD momentum; best of 3 x "
          f"{args.steps} steps\n")
    print(table(["framework", "samples/s"], rows))


if __name__ == "__main__":
    main()
