"""OpenCL kernel of ``_fused_elemwise``: one elementwise kernel rendered from a fusion program.

The program's C expression (``mxplug/backends/kernels/fused.py``) goes into the shared
elementwise template (``mxplug/backends/kernels/elementwise.py``), which supplies broadcasting
and strides.
"""

from __future__ import annotations

import numpy as np

from ..kernels import OPENCL, ctype, elementwise_source
from ..kernels.fused import program_expression
from . import xp
from .launch import _launch, _layout

__all__ = ["FUSED_KERNELS", "fused_elemwise", "render"]

_SOURCES: dict = {}


def render(program, in_dtypes, out_dtype, strided=False):
    """(source, kernel name) of the program's contiguous (or strided) kernels, cached by its
    description."""
    key = (program, tuple(np.dtype(d).name for d in in_dtypes), np.dtype(out_dtype).name,
           strided)
    hit = _SOURCES.get(key)
    if hit is not None:
        return hit
    helpers, expr = program_expression(program, ctype(out_dtype), OPENCL)
    kname = f"fused_{len(_SOURCES)}"
    kinds = ("a",) * len(in_dtypes)
    src = helpers + "\n" + elementwise_source(kname, expr, kinds, in_dtypes, out_dtype, OPENCL,
                                              strided)
    _SOURCES[key] = hit = (src, kname)
    return hit


def fused_elemwise(be, *xs, program=()):
    """Run ``program`` over the CLArrays ``xs`` as one kernel launch; returns a new array."""
    from ...graph.fusion import _infer_program
    from ...ops.infer import Spec
    spec = _infer_program(program, [Spec(x.shape, x.dtype) for x in xs])
    rt = xs[0].rt
    out = xp.empty(tuple(spec.shape), spec.dtype, rt)
    if out.size == 0:
        return out
    in_dtypes = [x.dtype for x in xs]
    plan = _layout(out, xs)
    src, kname = render(program, in_dtypes, out.dtype, plan[0] != "_c")
    tail = [out.buf, out.offset]
    for x in xs:
        tail += [x.buf, x.offset]
    _launch(rt, src, kname, plan, tail, [out.dtype, *in_dtypes])
    return out


#: Merged into ``kernels.KERNELS`` (the registry also finds it through the op's own kernel).
FUSED_KERNELS = {"_fused_elemwise": fused_elemwise}
