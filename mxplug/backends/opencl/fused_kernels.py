"""OpenCL kernel of ``_fused_elemwise``: one elementwise kernel rendered from a fusion program.

Each op of the program becomes a small ``static inline`` C function (so an operand used twice in
its body, as in ``maximum``'s NaN test, is evaluated once); the program becomes one nested call
expression over the loaded operands ``x0, x1, ...``, handed to the shared elementwise template
(``mxplug/backends/kernels/elementwise.py``), which supplies broadcasting and strides.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels import OPENCL, ctype, elementwise_source
from . import xp
from .launch import _launch, _layout

__all__ = ["C_OPS", "FUSED_KERNELS", "fused_elemwise", "render"]

_RAD = repr(math.pi / 180)
_DEG = repr(180 / math.pi)
_UNARY_C = ("floor", "ceil", "trunc", "rint", "round", "sqrt", "cbrt", "exp", "expm1", "log",
            "log2", "log10", "log1p", "sin", "cos", "tan", "sinh", "cosh", "tanh", "erf")
#: op name -> (parameters after ``a``/``b``: attribute names, body over a, b, attrs and {T}).
#: NaN tests are ``a != a`` and min/max are ternaries: PoCL 3.0 calls ``isnan``/``fmin``/``fmax``
#: out of line, which stops it vectorising a work-group (relu took 3x as long).
C_OPS = {
    **{n: ((), f"{n}(a)") for n in _UNARY_C},
    "fix": ((), "trunc(a)"),
    "arcsin": ((), "asin(a)"), "arccos": ((), "acos(a)"), "arctan": ((), "atan(a)"),
    "arcsinh": ((), "asinh(a)"), "arccosh": ((), "acosh(a)"), "arctanh": ((), "atanh(a)"),
    "negative": ((), "-a"),
    "abs": ((), "fabs(a)"),
    "sign": ((), "({T})((a > 0) - (a < 0))"),
    "square": ((), "a * a"),
    "rsqrt": ((), "({T})1 / sqrt(a)"),
    "rcbrt": ((), "({T})1 / cbrt(a)"),
    "reciprocal": ((), "({T})1 / a"),
    "isnan": ((), "({T})(isnan(a) ? 1 : 0)"),
    "isinf": ((), "({T})(isinf(a) ? 1 : 0)"),
    "isfinite": ((), "({T})(isfinite(a) ? 1 : 0)"),
    "logical_not": ((), "({T})(a == 0)"),
    "relu": ((), "(a != a || a > 0) ? a : ({T})0"),
    "sigmoid": ((), "({T})1 / (({T})1 + exp(-a))"),
    "softrelu": ((), "fmax(a, ({T})0) + log1p(exp(-fabs(a)))"),
    "softsign": ((), "a / (({T})1 + fabs(a))"),
    "degrees": ((), f"a * ({{T}}){_DEG}"),
    "radians": ((), f"a * ({{T}}){_RAD}"),
    "clip": (("a_min", "a_max"),
             "(a != a) ? a : ((a < a_min ? a_min : a) > a_max ? a_max : (a < a_min ? a_min : a))"),
    "hard_sigmoid": (("alpha", "beta"),
                     "fmin(fmax(alpha * a + beta, ({T})0), ({T})1)"),
    "add": ("b", "a + b"), "subtract": ("b", "a - b"), "multiply": ("b", "a * b"),
    "divide": ("b", "a / b"),
    "power": ("b", "pow(a, b)"),
    "maximum": ("b", "(a != a || a > b) ? a : b"),
    "minimum": ("b", "(a != a || a < b) ? a : b"),
    "hypot": ("b", "hypot(a, b)"), "arctan2": ("b", "atan2(a, b)"),
    "modulo": ("b", "(b == 0) ? NAN : a - floor(a / b) * b"),
    "equal": ("b", "({T})(a == b)"), "not_equal": ("b", "({T})(a != b)"),
    "greater": ("b", "({T})(a > b)"), "greater_equal": ("b", "({T})(a >= b)"),
    "lesser": ("b", "({T})(a < b)"), "lesser_equal": ("b", "({T})(a <= b)"),
    "logical_and": ("b", "({T})((a != 0) && (b != 0))"),
    "logical_or": ("b", "({T})((a != 0) || (b != 0))"),
    "logical_xor": ("b", "({T})((a != 0) != (b != 0))"),
}
_BINARY = {n for n, (p, _) in C_OPS.items() if p == "b"}


def _literal(v, t):
    v = float(v)
    if math.isnan(v):
        return f"(({t})NAN)"
    if math.isinf(v):
        return f"(({t}){'-' if v < 0 else ''}INFINITY)"
    return f"(({t}){v!r})"


_SOURCES: dict = {}


def render(program, in_dtypes, out_dtype, strided=False):
    """(source, kernel name) of the program's contiguous (or strided) kernels, cached by its
    description."""
    key = (program, tuple(np.dtype(d).name for d in in_dtypes), np.dtype(out_dtype).name,
           strided)
    hit = _SOURCES.get(key)
    if hit is not None:
        return hit
    t = ctype(out_dtype)
    helpers, vals = {}, []
    for name, args, attrs in program:
        params, body = C_OPS[name]
        attrs = dict(attrs)
        if name not in helpers:
            extra = ["b"] if name in _BINARY else list(params)
            sig = ", ".join(f"const {t} {p}" for p in ["a", *extra])
            helpers[name] = (f"static inline {t} mxf_{name}({sig}) {{ return "
                             f"{body.replace('{T}', t)}; }}")
        ops = [f"(({t})x{v})" if kind == "i" else vals[v] if kind == "t" else _literal(v, t)
               for kind, v in args]
        if name not in _BINARY:
            ops += [_literal(attrs[p], t) for p in params]
        vals.append(f"mxf_{name}({', '.join(ops)})")
    kname = f"fused_{len(_SOURCES)}"
    kinds = ("a",) * len(in_dtypes)
    src = "\n".join(helpers.values()) + elementwise_source(kname, vals[-1], kinds, in_dtypes,
                                                           out_dtype, OPENCL, strided)
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
