"""Timing helpers shared by the benchmarks: best-of-N per-call time, import time, environment."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

#: Variables that change BLAS/threading behaviour; printed so a run can be reproduced.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def per_call(fn, sync=None, repeat=7, min_time=0.05) -> float:
    """Best-of-``repeat`` seconds per call of ``fn()``; each round runs >= ``min_time`` seconds.

    ``sync()`` runs once at the end of each round, so backends that queue work asynchronously are
    charged for finishing it.
    """
    sync = sync or (lambda: None)
    clock = time.perf_counter

    def rounds(n):
        t0 = clock()
        for _ in range(n):
            fn()
        sync()
        return clock() - t0

    fn()
    sync()                                    # warm up: caches, kernel compilation, lazy imports
    n = 1
    while rounds(n) < min_time:               # grow the loop until one round is long enough
        n *= 2
    return min(rounds(n) for _ in range(repeat)) / n


def startup(code: str, repeat=5) -> float:
    """Best-of-``repeat`` wall seconds of ``python -c code`` in a fresh interpreter."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def import_time(module: str, repeat=5) -> float:
    """Seconds ``import module`` adds to interpreter start-up (best of ``repeat`` each)."""
    return startup(f"import {module}", repeat) - startup("pass", repeat)


def numpy_threads() -> str:
    """NumPy's BLAS and its thread count (threadpoolctl when installed, else the env vars)."""
    try:
        from threadpoolctl import threadpool_info
        pools = [f"{p.get('internal_api')} {p.get('num_threads')} threads"
                 for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return ", ".join(pools)
    except ImportError:
        pass
    env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return f"BLAS threads: {env or 'library default'}"


def machine() -> str:
    return (f"{platform.machine()} {os.cpu_count()} cpus, {platform.system()}, "
            f"python {platform.python_version()}")


def thread_env() -> str:
    set_ = [f"{k}={os.environ[k]}" for k in THREAD_VARS if k in os.environ]
    return " ".join(set_) or "(none set)"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table (first column left-aligned, the rest right-aligned)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(r):
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(cells)
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), sep, *map(fmt, rows)])


def samples_per_s(step, batch, steps, sync=lambda: None, rounds=3):
    """Training throughput: ``batch / seconds`` of ``step()``, best of ``rounds`` rounds of
    ``steps`` steps after 3 warm-up steps; ``sync`` ends each round (asynchronous backends)."""
    for _ in range(3):
        step()
    sync()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        best = min(best, (time.perf_counter() - t0) / steps)
    return batch / best


def limit_threads(n):
    """Give NumPy's BLAS, OpenMP (PyTorch) and MKL ``n`` threads, before any of them starts.

    The count must be set before OpenBLAS starts its pool: limiting an already started pool
    through threadpoolctl left both the NumPy and the mxplug MLP step 5-10x slower whenever
    another job shared the cores (measured on this 2-core machine). So a process whose
    ``OPENBLAS_NUM_THREADS`` differs re-executes itself once with the variables set."""
    want = str(n)
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    if any(os.environ.get(k) != want for k in names):
        os.environ.update(dict.fromkeys(names, want))
        os.execv(sys.executable, [sys.executable, *sys.argv])


def add_thread_args(ap):
    """Add ``--threads N`` to the argparse parser ``ap`` (see :func:`setup_threads_and_torch`)."""
    ap.add_argument("--threads", type=int, default=0,
                    help="give NumPy's BLAS and PyTorch N threads (the script re-executes itself "
                         "with OPENBLAS_NUM_THREADS/OMP_NUM_THREADS=N); 0 keeps the defaults")


def setup_threads_and_torch(args, use_torch=True):
    """Apply ``--threads`` (:func:`limit_threads`), then import PyTorch and give it as many
    threads; return the ``torch`` module, or None without PyTorch, with ``--no-torch`` or when
    ``use_torch`` is False (nothing is imported then)."""
    if args.threads:
        limit_threads(args.threads)
    if not use_torch or getattr(args, "no_torch", False):
        return None
    try:
        import torch
    except ImportError:
        return None
    if args.threads:
        torch.set_num_threads(args.threads)
    return torch


def env_line(torch):
    """The ``machine: ...`` line of a benchmark that compares with PyTorch (``torch`` or None)."""
    tinfo = (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
             else "no torch")
    import numpy as np
    return (f"machine: {machine()}; numpy {np.__version__} ({numpy_threads()}); {tinfo}; "
            f"{thread_env()}")


def gluon_step(net, loss_fn, x, y, ctx, hybridize, lr, momentum=None, out_shape=None):
    """One Gluon training step as a function: ``loss_fn(net(x), y)`` recorded, backward, then
    ``gluon.Trainer`` SGD (``lr``, and ``momentum`` unless None) stepped by ``len(y)``.

    ``net`` is initialized already; ``hybridize`` hybridizes the network and the loss (each one
    CachedOp); ``out_shape`` reshapes the network's output before the loss. ``x`` and ``y`` are
    NumPy arrays, copied to ``ctx`` once."""
    import mxplug as mx
    from mxplug import autograd, gluon

    if hybridize:
        net.hybridize()
        loss_fn.hybridize()
    opts = {"learning_rate": lr}
    if momentum is not None:
        opts["momentum"] = momentum
    trainer = gluon.Trainer(net.collect_params(), "sgd", opts)
    xs, ys = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
    batch = y.shape[0]

    def step():
        with autograd.record():
            out = net(xs)
            if out_shape is not None:
                out = out.reshape(out_shape)
            loss = loss_fn(out, ys)
        loss.backward()
        trainer.step(batch)
    return step


def torch_device(torch, ctx):
    """PyTorch's device for mxplug context ``ctx``: ``cuda:<i>`` for ``gpu(i)``, else the CPU."""
    return f"cuda:{ctx.device_id}" if torch is not None and ctx.device_type == "gpu" else "cpu"


def torch_sync(torch, device):
    """A function that waits for PyTorch's queued work on ``device`` (nothing to wait for on
    the CPU)."""
    if str(device).startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def torch_sgd_step(torch, model, x, y, lr, momentum=None, out_shape=None, device="cpu"):
    """PyTorch's counterpart of :func:`gluon_step`: cross-entropy of ``model(x)`` (reshaped to
    ``out_shape`` when given), backward, then ``torch.optim.SGD`` (``lr``, and ``momentum``
    unless None). ``x`` and ``y`` are NumPy arrays, copied to ``device`` once."""
    model = model.to(device)
    opts = {"lr": lr} if momentum is None else {"lr": lr, "momentum": momentum}
    opt = torch.optim.SGD(model.parameters(), **opts)
    xs, ys = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out = model(xs)
        if out_shape is not None:
            out = out.reshape(*out_shape)
        loss_fn(out, ys).backward()
        opt.step()
    return step


def eager_and_hybridized(make_torch_step, mx_step, batch, steps, torch_sync=lambda: None):
    """Samples/s by key: ``"torch"`` for the step ``make_torch_step()`` builds (skipped when it is
    None; its rounds end with ``torch_sync()``), then ``"eager"`` and ``"hybridized"`` for
    ``mx_step(hybridize)``, one after the other (:func:`samples_per_s`, mxplug's rounds ending
    with ``mx.nd.waitall``)."""
    import mxplug as mx

    res = {}
    if make_torch_step is not None:
        res["torch"] = samples_per_s(make_torch_step(), batch, steps, torch_sync)
    for hyb in (False, True):
        res["hybridized" if hyb else "eager"] = samples_per_s(mx_step(hyb), batch, steps,
                                                              mx.nd.waitall)
    return res


def ratio_rows(name, res, torch, keys=("eager", "hybridized"), where="", fmt=",.0f"):
    """Table rows ``[label, figure, vs torch]`` of ``res`` (figures by key; ``"torch"`` the
    PyTorch one, when there is one): one row for each of ``keys`` labelled ``"<name> mxplug
    <key><where>"``, then PyTorch's row (``torch`` is the module, for its version)."""
    rows = []
    for key in keys:
        ratio = f"{res[key] / res['torch']:.2f}x" if "torch" in res else "-"
        rows.append([f"{name} mxplug {key}{where}", format(res[key], fmt), ratio])
    if "torch" in res:
        rows.append([f"{name} torch {torch.__version__}", format(res["torch"], fmt), "1.00x"])
    return rows
