"""The generic op suite: every registered op x every sample x every backend x float32/float64.

For each case it checks the op's ``infer`` rule against the actual output shape/dtype and the
values against an independent plain-NumPy computation from ``tests/references/``.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib

import numpy as np
import pytest

import mxplug as mx
from mxplug.ops import REGISTRY, Sample, apply
from mxplug.ops.infer import Spec

from . import references

REFERENCES: dict = {}
for _m in pkgutil.iter_modules(references.__path__):
    REFERENCES.update(importlib.import_module(f"{references.__name__}.{_m.name}").REFERENCES)

OPS = sorted({op.name: op for op in REGISTRY.values()}.values(), key=lambda o: o.name)
CASES = [(op.name, i) for op in OPS for i in range(len(op.sample_fns))]
TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def make_sample(op, i) -> Sample:
    rng = np.random.default_rng(zlib.crc32(f"{op.name}/{i}".encode()))
    s = op.sample_fns[i](rng)
    return s if isinstance(s, Sample) else Sample(*s)


def cast_inputs(sample, dtype):
    if sample.fixed_dtype:
        return list(sample.inputs)
    return [
        x.astype(dtype) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
        for x in sample.inputs
    ]


def as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) and not isinstance(x, Spec) else (x,)


def test_every_op_is_declared_completely():
    """Each op has an infer rule, an implementation, samples and an independent reference."""
    missing = []
    for op in OPS:
        if op.infer is None:
            missing.append(f"{op.name}: no infer rule")
        if op.generic is None and op.composite is None and not op.kernels:
            missing.append(f"{op.name}: no implementation")
        if not op.sample_fns:
            missing.append(f"{op.name}: no samples")
        if op.name not in REFERENCES:
            missing.append(f"{op.name}: no reference in tests/references/")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op_name,index", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_op_sample(ctx, op_name, index, dtype):
    op = REGISTRY[op_name]
    sample = make_sample(op, index)
    inputs = cast_inputs(sample, dtype)
    nd_inputs = [
        mx.nd.array(x, ctx=ctx, dtype=x.dtype) if isinstance(x, np.ndarray) else x for x in inputs
    ]
    attrs = op.parse_attrs(sample.attrs)
    specs = [Spec(x.shape, x.dtype) if isinstance(x, np.ndarray) else x for x in inputs]
    inferred = as_tuple(op.infer(*specs, **attrs))
    lacking = {np.dtype(s.dtype).name for s in inferred} - set(ctx.backend.dtypes)
    if lacking:
        pytest.skip(f"{ctx} has no {', '.join(sorted(lacking))} (the device lacks the type)")
    outs = as_tuple(apply(op, *nd_inputs, **attrs))

    assert len(inferred) == len(outs), (
        f"{op_name}: infer gives {len(inferred)} outputs, op {len(outs)}"
    )
    for k, (spec, out) in enumerate(zip(inferred, outs)):
        assert tuple(spec.shape) == out.shape, (
            f"{op_name} output {k}: infer {spec.shape} vs {out.shape}"
        )
        assert np.dtype(spec.dtype) == np.dtype(out.dtype), (
            f"{op_name} output {k}: infer {np.dtype(spec.dtype)} vs {np.dtype(out.dtype)}"
        )

    expected = as_tuple(REFERENCES[op_name](*inputs, **sample.attrs))
    assert len(expected) == len(outs)
    for k, (ref, out) in enumerate(zip(expected, outs)):
        got = out.asnumpy()
        ref = np.asarray(ref)
        assert got.shape == ref.shape, (
            f"{op_name} output {k}: shape {got.shape} vs reference {ref.shape}"
        )
        if got.dtype.kind in "fc":
            np.testing.assert_allclose(
                got,
                ref,
                err_msg=f"{op_name} output {k}",
                **TOL.get(got.dtype.name, TOL["float32"]),
                equal_nan=True,
            )
        else:
            np.testing.assert_array_equal(got, ref, err_msg=f"{op_name} output {k}")
