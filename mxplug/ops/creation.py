"""Creation ops: arrays made from attributes alone (their context is the ``ctx`` attribute)."""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Any, Bool, Dtype, Float, Int, OptFloat, Shape
from .registry import Sample, defop

_CTX = {"ctx": Any(None), "dtype": Dtype("float32")}


def _shape_rule(shape=(), dtype="float32", **_):
    return I.Spec(tuple(shape) or (1,), np.dtype(dtype))


def _filled(name, fill, doc):
    op = defop(
        name, (), {"shape": Shape(()), **_CTX}, infer=_shape_rule, differentiable=False, doc=doc
    )
    op.impl(lambda xp, shape=(), ctx=None, dtype="float32": fill(xp, tuple(shape) or (1,), dtype))
    op.samples(lambda rng: Sample(shape=(2, 3)), lambda rng: Sample(shape=(4,), dtype="int32"))
    return op


zeros = _filled("zeros", lambda xp, s, dt: xp.zeros(s, dtype=dt), "An array of zeros.")
ones = _filled("ones", lambda xp, s, dt: xp.ones(s, dtype=dt), "An array of ones.")
empty = _filled(
    "empty",
    lambda xp, s, dt: xp.zeros(s, dtype=dt),
    "An uninitialised array (zero-filled here, so results are reproducible).",
)

full = defop(
    "full",
    (),
    {"shape": Shape(()), "val": Float(0.0), **_CTX},
    infer=_shape_rule,
    differentiable=False,
    doc="An array filled with ``val``.",
)
full.impl(
    lambda xp, shape=(), val=0.0, ctx=None, dtype="float32": xp.full(
        tuple(shape) or (1,), val, dtype=dtype
    )
)
full.samples(lambda rng: Sample(shape=(2, 3), val=2.5))


def _arange_len(start, stop, step, repeat):
    if stop is None:
        start, stop = 0.0, start
    n = int(np.ceil((stop - start) / step)) if step else 0
    return start, stop, max(n, 0) * repeat


arange = defop(
    "arange",
    (),
    {"start": Float(0.0), "stop": OptFloat(None), "step": Float(1.0), "repeat": Int(1), **_CTX},
    infer=lambda start=0.0, stop=None, step=1.0, repeat=1, dtype="float32", **_: I.Spec(
        (_arange_len(start, stop, step, repeat)[2],), np.dtype(dtype)
    ),
    differentiable=False,
    doc="Evenly spaced values in ``[start, stop)``; each repeated ``repeat`` times.",
)


@arange.impl
def _(xp, start=0.0, stop=None, step=1.0, repeat=1, ctx=None, dtype="float32"):
    start, stop, n = _arange_len(start, stop, step, repeat)
    if np.dtype(dtype).kind in "iu":  # as MXNet: start and step in the dtype, the count not
        r = (xp.arange(n // repeat, dtype=xp.float64) * int(step) + int(start)).astype(dtype)
    else:  # as MXNet: start + i * step computed in the dtype (float32 rounding and all)
        dt = np.dtype(dtype)
        r = xp.arange(n // repeat, dtype=dt) * float(step) + float(start)
    return xp.repeat(r, repeat) if repeat != 1 else r


arange.samples(
    lambda rng: Sample(start=2.0, stop=9.0, step=1.5),
    lambda rng: Sample(start=5.0, repeat=2, dtype="int32"),
)

linspace = defop(
    "linspace",
    (),
    {"start": Float(0.0), "stop": Float(1.0), "num": Int(50), "endpoint": Bool(True), **_CTX},
    infer=lambda num=50, dtype="float32", **_: I.Spec((num,), np.dtype(dtype)),
    differentiable=False,
    doc="``num`` evenly spaced values from start to stop.",
)
linspace.impl(
    lambda xp, start=0.0, stop=1.0, num=50, endpoint=True, ctx=None, dtype="float32": xp.linspace(
        start, stop, num, endpoint=endpoint, dtype=xp.float64
    ).astype(dtype)
)
linspace.samples(
    lambda rng: Sample(start=-1.0, stop=2.0, num=7),
    lambda rng: Sample(start=0.0, stop=1.0, num=4, endpoint=False),
)

eye = defop(
    "eye",
    (),
    {"N": Int(1), "M": Int(0), "k": Int(0), **_CTX},
    infer=lambda N=1, M=0, k=0, dtype="float32", **_: I.Spec((N, M or N), np.dtype(dtype)),
    differentiable=False,
    doc="A 2-D array with ones on the ``k``-th diagonal.",
)
eye.impl(lambda xp, N=1, M=0, k=0, ctx=None, dtype="float32": xp.eye(N, M or N, k=k, dtype=dtype))
eye.samples(lambda rng: Sample(N=3), lambda rng: Sample(N=3, M=4, k=1))


def _like(name, fill):
    op = defop(
        name,
        ("data",),
        infer=I.same,
        differentiable=False,
        doc=f"``{name[:-5]}`` shaped like the input.",
    )
    op.impl(lambda xp, x: fill(xp, x))
    op.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3))))
    return op


zeros_like = _like("zeros_like", lambda xp, x: xp.zeros_like(x))
ones_like = _like("ones_like", lambda xp, x: xp.ones_like(x))
full_like = defop(
    "full_like",
    ("data",),
    {"fill_value": Float(0.0)},
    infer=I.same,
    differentiable=False,
    doc="An array like the input filled with ``fill_value``.",
)
full_like.impl(lambda xp, x, fill_value=0.0: xp.full_like(x, fill_value))
full_like.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), fill_value=3.0))
