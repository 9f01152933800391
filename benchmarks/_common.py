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
