"""Per-op overhead of mxplug on tiny arrays, against its array library's own call and (if
installed) PyTorch on the same device.

    python benchmarks/bench_ops.py [--repeat 7] [--ctx cpu|gpu:0|opencl:0] [--json out.json]

On tiny arrays the arithmetic is nearly free, so the numbers measure what each framework adds
per call: argument handling, dispatch, result wrapping. The reference column is plain NumPy, or
plain CuPy for ``--ctx gpu:i`` (PyTorch then runs on ``cuda:i``; every round ends by waiting for
the device). Best-of-N timing; see README.md.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))     # an uninstalled checkout still finds mxplug
from _common import import_time, machine, numpy_threads, per_call, table, thread_env

import mxplug as mx


def _torch():
    """PyTorch pinned to one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def cases(rng, xp=np):
    """(label, mx.nd op name or None for an operator, mxplug fn, reference fn on ``xp`` (NumPy or
    CuPy), torch fn, inputs as NumPy arrays)."""
    a16 = rng.uniform(-1, 1, 16).astype(np.float32)
    b16 = rng.uniform(-1, 1, 16).astype(np.float32)
    x64 = rng.uniform(-1, 1, (64, 64)).astype(np.float32)
    # the shapes of the MLP benchmarks' first layer (batch 128, 784 -> 256) and its gradient
    x = rng.uniform(-1, 1, (128, 784)).astype(np.float32)
    w = rng.uniform(-1, 1, (256, 784)).astype(np.float32)
    b = rng.uniform(-1, 1, 256).astype(np.float32)
    g = rng.uniform(-1, 1, (128, 256)).astype(np.float32)
    return [
        ("a + b      (16 f32)", None, lambda a, b: a + b, lambda a, b: a + b,
         lambda t, a, b: t.add(a, b), (a16, b16)),
        ("relu(a)    (16 f32)", "relu", lambda a: mx.nd.relu(a), lambda a: xp.maximum(a, 0),
         lambda t, a: t.relu(a), (a16,)),
        ("sum(a)     (16 f32)", "sum", lambda a: mx.nd.sum(a), lambda a: xp.sum(a),
         lambda t, a: t.sum(a), (a16,)),
        ("dot(x, x)  (64x64 f32)", "dot", lambda x, y: mx.nd.dot(x, y), lambda x, y: xp.dot(x, y),
         lambda t, x, y: t.mm(x, y), (x64, x64)),
        ("FullyConnected (128x784 -> 256)", "FullyConnected",
         lambda x, w, b: mx.nd.FullyConnected(x, w, b, num_hidden=256),
         lambda x, w, b: x @ w.T + b, lambda t, x, w, b: t.nn.functional.linear(x, w, b),
         (x, w, b)),
        ("sum(g, axis=0) (128x256)", "sum", lambda g: mx.nd.sum(g, axis=0),
         lambda g: xp.sum(g, axis=0), lambda t, g: t.sum(g, 0), (g,)),
    ]


def _us(seconds):
    return f"{seconds * 1e6:.2f}"


def _ratio(a, b):
    return f"{a / b:.1f}x" if a is not None and b is not None else "-"


def _reference(ctx, torch):
    """(name, array module, its sync, torch device, torch sync) for mxplug context ``ctx``."""
    if ctx.device_type != "gpu":
        return "numpy", np, None, "cpu", None
    import cupy
    cupy.cuda.Device(ctx.device_id).use()
    sync = cupy.cuda.get_current_stream().synchronize
    return "cupy", cupy, sync, f"cuda:{ctx.device_id}", torch and torch.cuda.synchronize


def run(args) -> dict:
    rng = np.random.default_rng(0)
    ctx = mx.context.parse(args.ctx) if args.ctx else mx.current_context()
    torch = None if args.no_torch else _torch()
    ref_name, xp, ref_sync, tdev, tsync = _reference(ctx, torch)
    sync = mx.nd.waitall
    rows, results = [], []
    for label, name, mx_fn, np_fn, torch_fn, inputs in cases(rng, xp):
        res = {"op": label, "mxplug_us": None, "numpy_us": None, "torch_us": None, "note": ""}
        ref_in = [xp.asarray(x) for x in inputs]
        res["numpy_us"] = per_call(functools.partial(np_fn, *ref_in), ref_sync,
                                   repeat=args.repeat) * 1e6
        if torch is not None:
            tin = [torch.from_numpy(x).to(tdev) for x in inputs]
            res["torch_us"] = per_call(functools.partial(torch_fn, torch, *tin), tsync,
                                         repeat=args.repeat) * 1e6
        if name is not None and not hasattr(mx.nd, name):
            res["note"] = f"mx.nd.{name} not implemented yet: skipped"
        else:
            xin = [mx.nd.array(x, ctx=ctx, dtype=x.dtype) for x in inputs]
            try:
                got = mx_fn(*xin).asnumpy()
                want = getattr(xp, "asnumpy", np.asarray)(np_fn(*ref_in))
                if not np.allclose(got.reshape(-1), want.reshape(-1), rtol=1e-4, atol=1e-4):
                    res["note"] = "WRONG RESULT vs NumPy"
                res["mxplug_us"] = per_call(functools.partial(mx_fn, *xin), sync,
                                              repeat=args.repeat) * 1e6
            except mx.MXNetError as e:
                res["note"] = f"failed: {str(e).splitlines()[0][:60]}"
        results.append(res)
        m, n, t = (res[k] for k in ("mxplug_us", "numpy_us", "torch_us"))
        fmt = lambda v: "-" if v is None else f"{v:.2f}"
        rows.append([label, fmt(m), fmt(n), _ratio(m, n), fmt(t), _ratio(m, t), res["note"]])

    env = {"machine": machine(), "mxplug": mx.__mxplug_version__, "numpy": np.__version__,
           "reference": f"{ref_name} {xp.__version__}", "torch_device": tdev,
           "numpy_threads": numpy_threads(), "thread_env": thread_env(), "context": str(ctx),
           "torch": None if torch is None else torch.__version__,
           "torch_threads": None if torch is None else torch.get_num_threads()}
    print(f"machine: {env['machine']}")
    print(f"mxplug {env['mxplug']} on {ctx}; numpy {env['numpy']} ({env['numpy_threads']}); "
          f"reference column: {env['reference']}; "
          + (f"torch {env['torch']} on {tdev} ({env['torch_threads']} thread)"
             if torch is not None else "torch not installed (see benchmarks/README.md)"))
    print(f"thread env: {env['thread_env']}; best of {args.repeat} rounds, microseconds per call")
    print()
    print(table(["op", "mxplug us", f"{ref_name} us", f"mx/{ref_name}", "torch us", "mx/torch",
                 "note"], rows))

    if not args.no_import:
        imp = {m: import_time(m) * 1e3 for m in ("numpy", "mxplug")}
        if torch is not None:
            imp["torch"] = import_time("torch") * 1e3
        env["import_ms"] = imp
        print()
        print("import time (fresh interpreter, minus `python -c pass`, best of 5): "
              + ", ".join(f"{k} {v:.0f} ms" for k, v in imp.items()))
    return {"env": env, "results": results}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7, help="rounds per measurement (best is kept)")
    p.add_argument("--ctx", default=None, help="context for mxplug arrays, e.g. cpu or opencl:0")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--no-import", action="store_true", help="skip the import-time measurement")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    out = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
