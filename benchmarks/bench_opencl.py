"""Speed of the OpenCL backend's kernels against NumPy on the same machine.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_opencl.py [--gemm-sizes
        256,512,1024] [--repeat 5] [--json out.json]

GEMM: ``xp.matmul`` of the OpenCL array namespace (the kernel that ``dot``, ``batch_dot``,
``FullyConnected`` and ``Convolution`` run on) for square float32/float64 matrices in the layouts
``A @ B``, ``A @ B.T`` (the fully-connected layer) and ``A.T @ B`` (its weight gradient), as
GFLOP/s (2 M N K / seconds) and as a fraction of NumPy's ``A @ B`` in the same run. Each time is
the best of ``--repeat`` rounds, each round ending with ``queue.finish()``; results are checked
against NumPy first. On PoCL (OpenCL on the CPU) both share the same cores, so the ratio says how
close the generated kernel comes to OpenBLAS.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))     # an uninstalled checkout still finds mxplug
from _common import machine, numpy_threads, per_call, table, thread_env


def _backend():
    from mxplug.backends.opencl import OpenCLBackend
    be = OpenCLBackend()
    why = be.available()
    if why:
        sys.exit(f"OpenCL backend unavailable: {why}")
    return be, be.runtime(0)


def bench_gemm(be, rt, sizes, repeat):
    xp, rows, out = be.xp, [], []
    dtypes = ["float32"] + (["float64"] if rt.fp64 else [])
    rng = np.random.default_rng(0)
    for dt in dtypes:
        for n in sizes:
            a = rng.uniform(-1, 1, (n, n)).astype(dt)
            b = rng.uniform(-1, 1, (n, n)).astype(dt)
            flops = 2.0 * n ** 3
            t_np = per_call(lambda a=a, b=b: a @ b, repeat=repeat)
            da, db = xp.asarray(a), xp.asarray(b)
            dat, dbt = xp.asarray(np.ascontiguousarray(a.T)), xp.asarray(np.ascontiguousarray(b.T))
            layouts = {"A @ B": (da, db, a @ b), "A @ B.T": (da, dbt.T, a @ b),
                       "A.T @ B": (dat.T, db, a @ b)}
            row = [f"{dt} {n}x{n}", f"{flops / t_np / 1e9:.1f}"]
            for name, (x, y, ref) in layouts.items():
                got = xp.to_numpy(xp.matmul(x, y))
                tol = 1e-3 * n if dt == "float32" else 1e-9 * n
                if not np.allclose(got, ref, atol=tol, rtol=0):
                    sys.exit(f"wrong result for {dt} {n} {name}: "
                             f"max error {np.abs(got - ref).max():.3g}")
                t = per_call(lambda x=x, y=y: xp.matmul(x, y), sync=rt.queue.finish,
                             repeat=repeat)
                gf = flops / t / 1e9
                row += [f"{gf:.1f}", f"{t_np / t:.0%}"]
                out.append({"dtype": dt, "n": n, "layout": name, "gflops": gf,
                            "numpy_gflops": flops / t_np / 1e9, "seconds": t})
            rows.append(row)
    heads = ["GEMM (GFLOP/s)", "NumPy"]
    for name in ("A @ B", "A @ B.T", "A.T @ B"):
        heads += [name, "/NumPy"]
    print(table(heads, rows))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gemm-sizes", default="256,512,1024")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args(argv)
    be, rt = _backend()
    print(f"{machine()}; NumPy: {numpy_threads()}; env: {thread_env()}")
    print(f"OpenCL: {rt.device.name.strip()} | {rt.device.platform.name.strip()} | "
          f"{rt.device.version.strip()}\n")
    results = {"gemm": bench_gemm(be, rt, [int(s) for s in args.gemm_sizes.split(",")],
                                  args.repeat)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
