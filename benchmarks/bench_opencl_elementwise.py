"""Elementwise ``a * b + c`` on an N x N float32 array: mx.nd on opencl(0) against NumPy.

    python benchmarks/bench_opencl_elementwise.py [--n 4096] [--repeat 5] [--json out.json]

Reported as effective memory bandwidth: the expression's compulsory traffic (read a, b, c;
write the result: 4 * N * N * 4 bytes) over the time per call, the same count for every row so
the ratios are time ratios. ``a * b + c`` through ``mx.nd`` (and through NumPy) is two passes
with a temporary, 6 arrays of traffic; the diagnostic rows run the fused one-pass kernel
through the backend's own launcher and with other work-group sizes and float4 loads, to show
where the time goes.
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

import mxplug as mx

_VEC4 = """
__kernel void fma4(const long n4, __global float4* out, __global const float4* a,
                   __global const float4* b, __global const float4* c) {
    const long i = get_global_id(0);
    if (i < n4) out[i] = a[i] * b[i] + c[i];
}
"""


def run(n, repeat):
    rng = np.random.default_rng(0)
    a, b, c = (rng.uniform(-1, 1, (n, n)).astype(np.float32) for _ in range(3))
    nbytes = 4 * a.nbytes
    rows = []

    def add(label, seconds, note=""):
        rows.append({"case": label, "ms": seconds * 1e3, "GB/s": nbytes / seconds / 1e9,
                     "note": note})

    add("numpy a*b+c", per_call(lambda: a * b + c, repeat=repeat), "two passes + temporary")

    ctx = mx.opencl(0)
    be = mx.backends.get("opencl")
    xp, rt = be.xp, be.runtime(0)
    sync = rt.queue.finish
    na, nb, nc = (mx.nd.array(x, ctx=ctx) for x in (a, b, c))
    default_ls = rt.local_size
    for ls in dict.fromkeys((default_ls, 64)):     # the launcher's size, then the old 64
        rt.local_size = ls
        add(f"mx.nd opencl a*b+c (local {ls})",
            per_call(lambda: na * nb + nc, sync=sync, repeat=repeat),
            "two kernels, pooled temporaries")
    rt.local_size = default_ls

    # diagnostics: one fused kernel, the backend's launcher vs other local sizes / float4
    ra, rb, rc = na._data, nb._data, nc._data
    out = xp.empty(ra.shape, ra.dtype, rt)
    add(f"fused kernel, Runtime.launch (local {default_ls})",
        per_call(lambda: xp._elementwise_into(out, "fma", "{0} * {1} + {2}", [ra, rb, rc]),
                 sync=sync, repeat=repeat))
    src, kname = xp._render("fma", "{0} * {1} + {2}", ("a", "a", "a"), [ra.dtype] * 3, ra.dtype,
                            ra.dtype)
    kern = rt.kernel(src, kname + "_c", [ra.dtype])
    size = ra.size
    args = (np.int64(size), out.buf, np.int64(0), ra.buf, np.int64(0), rb.buf, np.int64(0),
            rc.buf, np.int64(0))
    for local in (None, 256, 1024, 4096):
        if local is not None and local > rt.device.max_work_group_size:
            continue
        glob = size if local is None else -(-size // local) * local
        add(f"fused kernel, local {local or 'driver-chosen'}",
            per_call(lambda g=glob, l_=local: kern(rt.queue, (g,), l_ and (l_,), *args),
                     sync=sync, repeat=repeat))
    k4 = rt.kernel(_VEC4, "fma4")
    n4 = size // 4
    add("fused float4 kernel, local driver-chosen",
        per_call(lambda: k4(rt.queue, (n4,), None, np.int64(n4), out.buf, ra.buf, rb.buf, rc.buf),
                 sync=sync, repeat=repeat))
    np.testing.assert_allclose(xp.to_numpy(out), a * b + c, rtol=1e-6, atol=1e-6)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = run(args.n, args.repeat)
    base = rows[0]["GB/s"]
    for r in rows:
        r["vs numpy"] = f"{r['GB/s'] / base:.0%}"
    print(f"{machine()} | numpy {np.__version__} ({numpy_threads()}) | {thread_env()}")
    print(f"opencl(0): {mx.backends.get('opencl').runtime(0).device.name.strip()} | "
          f"a*b+c on {args.n}x{args.n} float32, effective GB/s = 16 * N^2 bytes / time")
    cols = ["case", "ms", "GB/s", "vs numpy", "note"]
    print(table(cols, [[r["case"], f"{r['ms']:.1f}", f"{r['GB/s']:.2f}", r["vs numpy"],
                        r["note"]] for r in rows]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
