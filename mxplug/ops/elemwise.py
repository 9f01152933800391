"""Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, comparisons, logic.

MXNet 1.x semantics: the output keeps the input dtype (``sqrt`` of int32 is int32, ``a > b`` is
1.0/0.0 in the operands' dtype, int division truncates). Binary ops take NDArrays or Python
scalars on either side and promote mixed array dtypes as NumPy does (MXNet 1.x raises instead;
see docs/architecture.md).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import infer as I
from .call import F, unbroadcast
from .registry import Sample, defop

# -- sample inputs --------------------------------------------------------------------------------
_DOMAINS = {
    "any": lambda rng: rng.uniform(-2, 2, (3, 4)),
    "pos": lambda rng: rng.uniform(0.2, 3, (3, 4)),
    "unit": lambda rng: rng.uniform(-0.9, 0.9, (3, 4)),
    "ge1": lambda rng: rng.uniform(1.2, 3, (3, 4)),
    "nonint": lambda rng: rng.integers(-4, 4, (3, 4)) + rng.uniform(0.1, 0.4, (3, 4)),
}


def _keep(r, x):
    """Cast ``r`` back to ``x``'s dtype (MXNet keeps the input dtype)."""
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def unary(name, f, domain="any", vjp=None, differentiable=True, aliases=(), doc=""):
    """Declare a same-shape, same-dtype unary op ``f(xp, x)`` with gradient ``vjp(g, out, x)``."""
    op = defop(
        name,
        ("data",),
        infer=I.same,
        differentiable=differentiable,
        aliases=aliases,
        doc=doc or f"Elementwise ``{name}``.",
    )
    op.impl(lambda xp, x: _keep(f(xp, x), x))
    if vjp is not None:
        op.vjp(lambda g, out, x: (vjp(g, out, x),))
    sample = _DOMAINS[domain]
    op.samples(lambda rng: Sample(sample(rng)), lambda rng: Sample(sample(rng)[:1, :3].reshape(3)))
    return op


_ZERO = lambda g, out, x: F.zeros_like(x)  # noqa: E731  (piecewise constant: zero gradient)
_LN2, _LN10, _2_SQRT_PI = math.log(2), math.log(10), 2 / math.sqrt(math.pi)

negative = unary("negative", lambda xp, x: -x, vjp=lambda g, out, x: -g, aliases=("_neg",))
abs_ = unary("abs", lambda xp, x: xp.abs(x), vjp=lambda g, out, x: g * F.sign(x))
sign = unary("sign", lambda xp, x: xp.sign(x), "nonint", _ZERO)
floor = unary("floor", lambda xp, x: xp.floor(x), "nonint", _ZERO)
ceil = unary("ceil", lambda xp, x: xp.ceil(x), "nonint", _ZERO)
trunc = unary("trunc", lambda xp, x: xp.trunc(x), "nonint", _ZERO)
fix = unary("fix", lambda xp, x: xp.trunc(x), "nonint", _ZERO, doc="Round toward zero.")
rint = unary("rint", lambda xp, x: xp.round(x), "nonint", _ZERO, doc="Round half to even.")
def _round_half_away(xp, x):
    return xp.where(x >= 0, xp.floor(x + 0.5), xp.ceil(x - 0.5))


round_ = unary("round", _round_half_away, "nonint", _ZERO,
               doc="Round half away from zero (MXNet's ``round``).")


def _straight_through(name, f, what):
    """MXNet's contrib straight-through estimators: ``f`` forward, the output gradient passed
    through unchanged backward (not the derivative, so the samples skip gradient checks)."""
    op = defop(name, ("data",), infer=I.same,
               doc=f"{what} forward; backward passes the gradient through unchanged "
                   f"(straight-through estimator).")
    op.impl(lambda xp, x: _keep(f(xp, x), x))
    op.vjp(lambda g, out, x: (g,))
    op.samples(lambda rng: Sample(_DOMAINS["nonint"](rng), grad=False))
    return op


round_ste = _straight_through("_contrib_round_ste", _round_half_away,
                              "Round half away from zero")
sign_ste = _straight_through("_contrib_sign_ste", lambda xp, x: xp.sign(x), "Sign")
square = unary("square", lambda xp, x: x * x, vjp=lambda g, out, x: 2 * x * g)
sqrt = unary("sqrt", lambda xp, x: xp.sqrt(x), "pos", lambda g, out, x: g / (2 * out))
rsqrt = unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), "pos", lambda g, out, x: -0.5 * g * out / x)
cbrt = unary("cbrt", lambda xp, x: xp.sign(x) * xp.abs(x) ** (1 / 3), "pos",
             lambda g, out, x: g * out / (3 * x))
rcbrt = unary("rcbrt", lambda xp, x: 1 / (xp.sign(x) * xp.abs(x) ** (1 / 3)), "pos",
              lambda g, out, x: -g * out / (3 * x))
reciprocal = unary("reciprocal", lambda xp, x: 1 / x, "pos", lambda g, out, x: -g * out * out)
exp = unary("exp", lambda xp, x: xp.exp(x), vjp=lambda g, out, x: g * out)
expm1 = unary("expm1", lambda xp, x: xp.expm1(x), vjp=lambda g, out, x: g * (out + 1))
log = unary("log", lambda xp, x: xp.log(x), "pos", lambda g, out, x: g / x)
log2 = unary("log2", lambda xp, x: xp.log2(x), "pos", lambda g, out, x: g / (x * _LN2))
log10 = unary("log10", lambda xp, x: xp.log10(x), "pos", lambda g, out, x: g / (x * _LN10))
log1p = unary("log1p", lambda xp, x: xp.log1p(x), "pos", lambda g, out, x: g / (x + 1))
sin = unary("sin", lambda xp, x: xp.sin(x), vjp=lambda g, out, x: g * F.cos(x))
cos = unary("cos", lambda xp, x: xp.cos(x), vjp=lambda g, out, x: -g * F.sin(x))
tan = unary("tan", lambda xp, x: xp.tan(x), "unit", lambda g, out, x: g * (1 + out * out))
arcsin = unary("arcsin", lambda xp, x: xp.asin(x), "unit",
               lambda g, out, x: g / F.sqrt(1 - x * x))
arccos = unary("arccos", lambda xp, x: xp.acos(x), "unit",
               lambda g, out, x: -g / F.sqrt(1 - x * x))
arctan = unary("arctan", lambda xp, x: xp.atan(x), vjp=lambda g, out, x: g / (1 + x * x))
sinh = unary("sinh", lambda xp, x: xp.sinh(x), vjp=lambda g, out, x: g * F.cosh(x))
cosh = unary("cosh", lambda xp, x: xp.cosh(x), vjp=lambda g, out, x: g * F.sinh(x))
tanh = unary("tanh", lambda xp, x: xp.tanh(x), vjp=lambda g, out, x: g * (1 - out * out))
arcsinh = unary("arcsinh", lambda xp, x: xp.asinh(x),
                vjp=lambda g, out, x: g / F.sqrt(x * x + 1))
arccosh = unary("arccosh", lambda xp, x: xp.acosh(x), "ge1",
                lambda g, out, x: g / F.sqrt(x * x - 1))
arctanh = unary("arctanh", lambda xp, x: xp.atanh(x), "unit", lambda g, out, x: g / (1 - x * x))
degrees = unary("degrees", lambda xp, x: x * (180 / math.pi),
                vjp=lambda g, out, x: g * (180 / math.pi))
radians = unary("radians", lambda xp, x: x * (math.pi / 180),
                vjp=lambda g, out, x: g * (math.pi / 180))
relu = unary("relu", lambda xp, x: xp.maximum(x, 0), "nonint", lambda g, out, x: g * (x > 0))
sigmoid = unary("sigmoid", lambda xp, x: 1 / (1 + xp.exp(-x)),
                vjp=lambda g, out, x: g * out * (1 - out))
softsign = unary("softsign", lambda xp, x: x / (1 + xp.abs(x)),
                 vjp=lambda g, out, x: g / F.square(1 + F.abs(x)))
softrelu = unary("softrelu", lambda xp, x: xp.logaddexp(x, 0 * x),
                 vjp=lambda g, out, x: g * F.sigmoid(x), aliases=("softplus",),
                 doc="``log(1 + exp(x))``, computed stably.")


def _erf_generic(xp, x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): for namespaces without erf.
    s, a = xp.sign(x), xp.abs(x)
    t = 1 / (1 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return s * (1 - poly * xp.exp(-a * a))


erf = unary("erf", _erf_generic, vjp=lambda g, out, x: g * _2_SQRT_PI * F.exp(-x * x),
            doc="The Gauss error function.")


@erf.kernel("numpy")
def _erf_numpy(be, x):
    try:
        from scipy.special import erf as sp_erf
    except ImportError:  # exact but slower: the C library's erf, one element at a time
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return _keep(sp_erf(x), x)


@erf.kernel("cupy")
def _erf_cupy(be, x):
    from cupyx.scipy.special import erf as cp_erf  # the CUDA math library's erf, exact

    return _keep(cp_erf(x), x)


# -- erfinv ---------------------------------------------------------------------------------------
#: Giles (2010), "Approximating the erfinv function": single-precision polynomials in
#: w = -log(1 - x^2), for w < 5 (around w = 2.5) and beyond (in sqrt(w) - 3).
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coefficients, w):
    p = coefficients[0]
    for c in coefficients[1:]:
        p = c + p * w
    return p


def _erfinv_with(xp, y, erf_fn, newton_steps=2):
    """erfinv(y): Giles' approximation refined by Newton steps on ``erf_fn`` (each doubles the
    digits of an exact erf); +-inf at +-1 and NaN outside [-1, 1], as MXNet."""
    inside = xp.abs(y) < 1
    ys = xp.where(inside, y, xp.zeros_like(y))
    w = -xp.log((1 - ys) * (1 + ys))
    central = _horner(_GILES_CENTRAL, w - 2.5)
    tail = _horner(_GILES_TAIL, xp.sqrt(w) - 3)
    x = xp.where(w < 5, central, tail) * ys
    for _ in range(newton_steps):
        x = x - (erf_fn(x) - ys) / (_2_SQRT_PI * xp.exp(-x * x))
    edge = xp.where(y == 1, xp.full_like(y, math.inf), xp.full_like(y, math.nan))
    return xp.where(inside, x, xp.where(y == -1, -xp.full_like(y, math.inf), edge))


def _erfinv_generic(xp, y):
    # the namespace's exact erf where it has one (OpenCL), else the polynomial (~1e-7)
    erf_fn = getattr(xp, "erf", None) or (lambda v: _erf_generic(xp, v))
    return _erfinv_with(xp, y, erf_fn)


erfinv = unary("erfinv", _erfinv_generic, "unit",
               lambda g, out, x: g * (math.sqrt(math.pi) / 2) * F.exp(out * out),
               doc="The inverse Gauss error function (+-inf at +-1, NaN outside [-1, 1]).")


@erfinv.kernel("numpy")
def _erfinv_numpy(be, y):
    try:
        from scipy.special import erfinv as sp_erfinv
    except ImportError:  # Newton steps on the C library's exact erf
        with np.errstate(all="ignore"):
            return _keep(_erfinv_with(np, y, lambda v: _erf_numpy(be, v)), y)
    return _keep(sp_erfinv(y), y)


@erfinv.kernel("cupy")
def _erfinv_cupy(be, y):
    from cupyx.scipy.special import erfinv as cp_erfinv

    return _keep(cp_erfinv(y), y)


def _predicate(name, f):
    op = defop(
        name, ("data",), infer=I.same, differentiable=False, doc=f"Elementwise ``{name}``: 1 or 0."
    )
    op.impl(lambda xp, x: f(xp, x).astype(x.dtype))
    op.samples(lambda rng: Sample(np.array([0.0, np.inf, -np.inf, np.nan, 1.5]), fixed_dtype=True))
    return op


isnan = _predicate("isnan", lambda xp, x: xp.isnan(x))
isinf = _predicate("isinf", lambda xp, x: xp.isinf(x))
isfinite = _predicate("isfinite", lambda xp, x: xp.isfinite(x))
logical_not = _predicate("logical_not", lambda xp, x: x == 0)


# -- binary ----------------------------------------------------------------------------------------
def _binary_samples(op, positive_rhs=False, positive_lhs=False):
    lo, llo = (0.5 if positive_rhs else -2), (0.5 if positive_lhs else -2)
    op.samples(
        lambda rng: Sample(rng.uniform(llo, 2, (3, 4)), rng.uniform(lo, 2, (3, 4))),
        lambda rng: Sample(rng.uniform(llo, 2, (2, 3, 4)), rng.uniform(lo, 2, (3, 1))),
        lambda rng: Sample(rng.uniform(llo, 2, (4, 1)), rng.uniform(lo, 2, (1, 5))),
        lambda rng: Sample(rng.uniform(llo, 2, (3, 4)), 1.5),
        lambda rng: Sample(1.5, rng.uniform(0.5, 2, (3, 4))),
    )


def _result(r, a, b):
    """MXNet keeps the operands' dtype; Python scalars never widen it (NEP 50)."""
    dt = a.dtype if hasattr(a, "dtype") and not isinstance(a, (int, float, bool)) else None
    if hasattr(b, "dtype") and not isinstance(b, (int, float, bool)):
        dt = b.dtype if dt is None else np.result_type(dt, b.dtype)
    return r if dt is None or r.dtype == dt else r.astype(dt)


def _is_scalar(v):
    return isinstance(v, (int, float))


def binary(name, f, aliases=(), vjp=None, differentiable=True, positive_rhs=False,
           positive_lhs=False, doc=""):
    """Declare a broadcasting binary op ``f(xp, lhs, rhs)``; either side may be a scalar.

    ``vjp(g, out, lhs, rhs) -> (g_lhs, g_rhs)`` gives full-size gradients; they are summed back
    over broadcast axes here, and dropped for scalar operands."""
    op = defop(
        name,
        ("lhs", "rhs"),
        infer=I.binary(name),
        differentiable=differentiable,
        aliases=aliases,
        doc=doc or f"Elementwise ``{name}`` with broadcasting.",
    )
    op.impl(f)
    if vjp is not None:

        @op.vjp
        def _(g, out, a, b):
            ga, gb = vjp(g, out, a, b)
            return (None if _is_scalar(a) else unbroadcast(ga, a.shape),
                    None if _is_scalar(b) else unbroadcast(gb, b.shape))

    _binary_samples(op, positive_rhs, positive_lhs)
    return op


add = binary(
    "add",
    lambda xp, a, b: a + b,
    ("broadcast_add", "broadcast_plus", "elemwise_add", "_plus", "_add"),
    lambda g, out, a, b: (g, g),
)
subtract = binary(
    "subtract",
    lambda xp, a, b: a - b,
    ("broadcast_sub", "broadcast_minus", "elemwise_sub", "_minus", "_sub"),
    lambda g, out, a, b: (g, -g),
)
multiply = binary("multiply", lambda xp, a, b: a * b, ("broadcast_mul", "elemwise_mul", "_mul"),
                  lambda g, out, a, b: (g * b, g * a))


def _divide(xp, a, b):
    r = a / b
    if getattr(r, "dtype", None) is not None and _is_int(a) and _is_int(b):
        return _result(xp.trunc(r), a, b)  # C integer division, as MXNet
    return _result(r, a, b)


def _is_int(v):
    return isinstance(v, int) or (hasattr(v, "dtype") and np.dtype(v.dtype).kind in "iub")


divide = binary(
    "divide", _divide, ("broadcast_div", "elemwise_div", "_div", "true_divide"),
    lambda g, out, a, b: (g / b, -g * out / b), positive_rhs=True,
)


def _modulo(xp, a, b):
    """Python's ``%``; ``x % 0`` is 0, as in MXNet (NumPy: NaN or 0, with a warning, so a 0
    divisor is replaced before the remainder)."""
    if _is_scalar(b):
        return _result(xp.remainder(a, b) if b != 0 else xp.zeros_like(a), a, b)
    zero = b == 0
    r = _result(xp.remainder(a, xp.where(zero, xp.ones_like(b), b)), a, b)
    return xp.where(zero, xp.zeros_like(r), r)


modulo = binary(
    "modulo",
    _modulo,
    ("broadcast_mod", "mod", "_mod"),
    lambda g, out, a, b: (g, -g * F.floor(a / b)),
    positive_rhs=True,
    doc="Remainder with the sign of the divisor (Python's ``%``).",
)
power = binary(
    "power",
    lambda xp, a, b: _result(a**b, a, b),
    ("broadcast_power", "_power", "pow"),
    lambda g, out, a, b: (
        None if _is_scalar(a) else g * b * a ** (b - 1),
        None if _is_scalar(b) else g * out * (math.log(a) if _is_scalar(a) else F.log(a)),
    ),
    positive_rhs=True,
    positive_lhs=True,
)
power.samples(lambda rng: Sample(rng.uniform(0.5, 2, (3, 4)), rng.uniform(-2, 2, (3, 4))),
              lambda rng: Sample(rng.uniform(-2, 2, (3, 4)), 2.0))
maximum = binary("maximum", lambda xp, a, b: _result(xp.maximum(a, b), a, b),
                 ("broadcast_maximum", "_maximum"),
                 lambda g, out, a, b: (g * (a >= b), g * (a < b)))
minimum = binary("minimum", lambda xp, a, b: _result(xp.minimum(a, b), a, b),
                 ("broadcast_minimum", "_minimum"),
                 lambda g, out, a, b: (g * (a <= b), g * (a > b)))
hypot = binary("hypot", lambda xp, a, b: _result(xp.hypot(a, b), a, b), ("broadcast_hypot",),
               lambda g, out, a, b: (g * a / out, g * b / out))
# MXNet's mx.sym names of the two inputs, which code written for F = mx.sym passes by keyword
for _op in (maximum, minimum, hypot):
    _op.input_aliases = {"left": "lhs", "right": "rhs"}
power.input_aliases = {"base": "lhs", "exp": "rhs"}
arctan2 = binary("arctan2", lambda xp, a, b: _result(xp.atan2(a, b), a, b), (),
                 lambda g, out, a, b: (g * b / (a * a + b * b), -g * a / (a * a + b * b)))


def _compare(name, f, aliases):
    return binary(
        name,
        lambda xp, a, b: _result(f(a, b), a, b),
        aliases,
        differentiable=False,
        doc=f"Elementwise ``{name}``: 1 where true, 0 elsewhere, in the operands' dtype.",
    )


equal = _compare("equal", lambda a, b: a == b, ("broadcast_equal", "_equal"))
not_equal = _compare("not_equal", lambda a, b: a != b, ("broadcast_not_equal", "_not_equal"))
greater = _compare("greater", lambda a, b: a > b, ("broadcast_greater", "_greater"))
greater_equal = _compare(
    "greater_equal", lambda a, b: a >= b, ("broadcast_greater_equal", "_greater_equal")
)
lesser = _compare("lesser", lambda a, b: a < b, ("broadcast_lesser", "_lesser", "less"))
lesser_equal = _compare(
    "lesser_equal", lambda a, b: a <= b, ("broadcast_lesser_equal", "_lesser_equal", "less_equal")
)
logical_and = _compare("logical_and", lambda a, b: (a != 0) & (b != 0), ("broadcast_logical_and",))
logical_or = _compare("logical_or", lambda a, b: (a != 0) | (b != 0), ("broadcast_logical_or",))
logical_xor = _compare("logical_xor", lambda a, b: (a != 0) ^ (b != 0), ("broadcast_logical_xor",))


# -- n-ary and parametrised elementwise -----------------------------------------------------------
def _add_n_infer(*xs, **attrs):
    return I.Spec(I.broadcast_shapes("add_n", *(x.shape for x in xs)), I.result_dtype(*xs))


add_n = defop(
    "add_n",
    ("args",),
    infer=_add_n_infer,
    variadic=True,
    aliases=("ElementWiseSum", "elemwise_sum"),
    doc="Sum of all inputs.",
)


@add_n.impl
def _(xp, *xs):
    out = xs[0] + xs[1] if len(xs) > 1 else xp.asarray(xs[0], copy=True)
    for x in xs[2:]:
        out += x
    return out


add_n.vjp(lambda g, out, *xs: tuple(unbroadcast(g, x.shape) for x in xs))
add_n.samples(lambda rng: Sample(*(rng.uniform(-1, 1, (2, 3)) for _ in range(3))))

clip = defop(
    "clip",
    ("data",),
    {"a_min": 0.0, "a_max": 1.0},
    infer=I.same,
    doc="Clip values to ``[a_min, a_max]``.",
)
clip.impl(lambda xp, x, a_min, a_max: _keep(xp.clip(x, a_min, a_max), x))
clip.vjp(lambda g, out, x, a_min, a_max: (g * (x >= a_min) * (x <= a_max),))
clip.samples(lambda rng: Sample(rng.uniform(-2, 2, (3, 4)), a_min=-0.5, a_max=0.7))

hard_sigmoid = defop(
    "hard_sigmoid",
    ("data",),
    {"alpha": 0.2, "beta": 0.5},
    infer=I.same,
    doc="``clip(alpha * x + beta, 0, 1)``.",
)
hard_sigmoid.impl(lambda xp, x, alpha, beta: _keep(xp.clip(alpha * x + beta, 0, 1), x))
hard_sigmoid.vjp(lambda g, out, x, alpha, beta: (g * alpha * (out > 0) * (out < 1),))
hard_sigmoid.samples(lambda rng: Sample(rng.uniform(-4, 4, (3, 4))))


def _zero(dtype, _cache={}):  # noqa: B006  (the cache is the point)
    """A NumPy zero of ``dtype``: ufuncs take it ~200 ns faster than a Python 0."""
    z = _cache.get(dtype)
    if z is None:
        z = _cache[dtype] = dtype.type(0)
    return z


@functools.lru_cache(maxsize=16)
def _zeros(shape, dtype):
    z = np.zeros(shape, dtype)
    z.flags.writeable = False
    return z


def relu_numpy(x, out=None):
    """``max(x, 0)`` on NumPy. Against a whole array of zeros NumPy's SIMD loop runs; against a
    scalar it does not (17 us instead of 5 for 128x256 float32), so arrays past a few thousand
    elements compare with a cached zeros array of their shape."""
    if x.size >= 4096 and x.dtype.kind == "f":
        return np.maximum(x, _zeros(x.shape, x.dtype), out=out)
    return np.maximum(x, _zero(x.dtype), out=out)


# -- NumPy fast paths: a ufunc called directly saves the wrapper frames on the hottest ops --------
for _op, _fn in (
    (add, np.add),
    (subtract, np.subtract),
    (multiply, np.multiply),
    (negative, np.negative),
    (abs_, np.absolute),
    (maximum, np.maximum),
    (minimum, np.minimum),
    (relu, relu_numpy),
    (sqrt, lambda x: _keep(np.sqrt(x), x)),
):
    _op.kernel("numpy", direct=True)(_fn)
