"""The registry's op samples, made the same way everywhere: one seeded generator per (op, sample).

``tests/test_ops.py`` seeds its samples the same way (``crc32("<op>/<i>")``), so a failure the
kit reports can be reproduced in the in-tree suite and the other way round.
"""
from __future__ import annotations

import zlib

import numpy as np

from ..ops import REGISTRY, Sample
from ..ops.infer import Spec

__all__ = ["ops", "make_sample", "cast_inputs", "as_tuple", "float_positions", "to_nd"]


def ops() -> list:
    """Every registered op once (aliases left out), sorted by name."""
    return sorted({op.name: op for op in REGISTRY.values()}.values(), key=lambda o: o.name)


def make_sample(op, i) -> Sample:
    """Sample ``i`` of ``op``, drawn from a generator seeded by the op's name and ``i``."""
    rng = np.random.default_rng(zlib.crc32(f"{op.name}/{i}".encode()))
    s = op.sample_fns[i](rng)
    return s if isinstance(s, Sample) else Sample(*s)


def cast_inputs(sample, dtype) -> list:
    """The sample's float inputs as ``dtype`` (unless the sample fixes its dtypes)."""
    if sample.fixed_dtype:
        return list(sample.inputs)
    return [x.astype(dtype) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
            for x in sample.inputs]


def as_tuple(x) -> tuple:
    """An op's result as a tuple of outputs."""
    return tuple(x) if isinstance(x, (tuple, list)) and not isinstance(x, Spec) else (x,)


def float_positions(op, sample) -> list:
    """Inputs to differentiate: float arrays, except those the op declares gradient-free."""
    names = [op.inputs[0]] * len(sample.inputs) if op.variadic else op.inputs
    return [k for k, x in enumerate(sample.inputs)
            if isinstance(x, np.ndarray) and x.dtype.kind == "f"
            and names[k] not in op.nograd_inputs]


def to_nd(inputs, ctx) -> list:
    """NumPy inputs as NDArrays on ``ctx``; scalars and other attributes unchanged."""
    from .. import nd

    return [nd.array(x, ctx=ctx, dtype=x.dtype) if isinstance(x, np.ndarray) else x
            for x in inputs]
