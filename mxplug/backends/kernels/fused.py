"""Fusion programs (``_fused_elemwise``, see ``mxplug/graph/fusion.py``) as one C expression.

Each op of a program becomes a small inline C function (so an operand used twice in its body, as
in ``maximum``'s NaN test, is evaluated once); the program becomes one nested call expression over
the loaded operands ``x0, x1, ...``. The OpenCL backend hands it to the elementwise template
(``elementwise.py``), the CUDA backend to a ``cupy.ElementwiseKernel``: the bodies below are both
OpenCL C and CUDA C.
"""

from __future__ import annotations

import math

from .dialect import Dialect

__all__ = ["C_OPS", "program_expression"]

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


def program_expression(program, t, dialect: Dialect):
    """(helper function definitions, the expression of the program's last value) for operands
    ``x0, x1, ...`` and results of C type ``t``."""
    helpers, vals = {}, []
    for name, args, attrs in program:
        params, body = C_OPS[name]
        attrs = dict(attrs)
        if name not in helpers:
            extra = ["b"] if name in _BINARY else list(params)
            sig = ", ".join(f"const {t} {p}" for p in ["a", *extra])
            helpers[name] = (f"{dialect.device_fn} {t} mxf_{name}({sig}) {{ return "
                             f"{body.replace('{T}', t)}; }}")
        ops = [f"(({t})x{v})" if kind == "i" else vals[v] if kind == "t" else _literal(v, t)
               for kind, v in args]
        if name not in _BINARY:
            ops += [_literal(attrs[p], t) for p in params]
        vals.append(f"mxf_{name}({', '.join(ops)})")
    return "\n".join(helpers.values()), vals[-1]
