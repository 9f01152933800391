"""A chain of 10 elementwise ops on 1M float32 elements: eager ``mx.nd`` against the graph
optimised at bind time (fusion + memory plan), on numpy and opencl.

    python benchmarks/bench_graph.py [--n 1048576] [--repeat 5] [--json out.json]

Rows: ``eager`` (one op at a time through ``mx.nd``), ``graph, unoptimised`` (the same nodes,
run by a :class:`~mxplug.graph.memory.MemoryPlan`: buffers reused, no fusion), ``graph,
optimised`` (``passes.optimize`` then the plan: one fused node; on NumPy one ufunc pass per op
into one buffer, on OpenCL one kernel launch).
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
from mxplug.graph import passes
from mxplug.graph.memory import MemoryPlan

#: The chains, as functions usable on NDArrays and Symbols alike. ``math`` is dominated by
#: exp/tanh/sigmoid (compute-bound on a CPU OpenCL device); ``arith`` by memory traffic.
CHAINS = {"math": [lambda v, m: m.exp(v), lambda v, m: v * 0.5, lambda v, m: m.tanh(v),
         lambda v, m: v + 1.0, lambda v, m: m.sigmoid(v), lambda v, m: m.sqrt(v),
         lambda v, m: v - 0.25, lambda v, m: m.relu(v), lambda v, m: m.square(v),
         lambda v, m: v * 3.0],
          "arith": [lambda v, m: v * 0.5, lambda v, m: v + 1.0, lambda v, m: m.relu(v),
                    lambda v, m: m.square(v), lambda v, m: v - 0.25, lambda v, m: m.abs(v),
                    lambda v, m: v * 3.0, lambda v, m: m.negative(v), lambda v, m: v + 2.0,
                    lambda v, m: m.maximum(v, 0.1)]}
CHAIN = CHAINS["math"]


def chain(v, m):
    for f in CHAIN:
        v = f(v, m)
    return v


def run(backend, n, repeat):
    ctx = mx.Context(DEVICE_TYPES[backend], 0)
    x_np = np.random.default_rng(0).uniform(-1, 1, n).astype(np.float32)
    x = mx.nd.array(x_np, ctx=ctx)
    sync = lambda: mx.nd.waitall()  # noqa: E731
    s = chain(mx.sym.var("x", shape=(n,)), mx.sym)
    plain = MemoryPlan(s._outputs, ctx)
    fused = MemoryPlan(passes.optimize(s._outputs, 2, ctx), ctx)
    feed = {"x": x}
    ref = chain(x, mx.nd).asnumpy()
    for plan in (plain, fused):
        np.testing.assert_allclose(plan.run(feed)[0].asnumpy(), ref, rtol=1e-5, atol=1e-6)
    rows = []
    for case, fn in (("eager mx.nd", lambda: chain(x, mx.nd)),
                     ("graph, unoptimised", lambda: plain.run(feed)),
                     ("graph, optimised", lambda: fused.run(feed))):
        rows.append({"backend": backend, "case": case,
                     "ms": per_call(fn, sync, repeat=repeat) * 1e3})
    base = rows[0]["ms"]
    for r in rows:
        r["speedup"] = base / r["ms"]
    return rows


DEVICE_TYPES = {b.name: b.device_type for b in mx.backends.list() if b.available}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backends", default="numpy,opencl")
    ap.add_argument("--chain", default="math,arith")
    ap.add_argument("--json")
    args = ap.parse_args()
    global CHAIN
    print(f"{machine()} | numpy {np.__version__} ({numpy_threads()}) | {thread_env()}")
    rows = []
    for name in args.chain.split(","):
        CHAIN = CHAINS[name]
        for b in args.backends.split(","):
            if b in DEVICE_TYPES:
                rows += [{"chain": name, **r} for r in run(b, args.n, args.repeat)]
    print(table(["chain", "backend", "case", "ms/call", "vs eager"],
                [[r["chain"], r["backend"], r["case"], f"{r['ms']:.2f}", f"{r['speedup']:.2f}x"]
                 for r in rows]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
