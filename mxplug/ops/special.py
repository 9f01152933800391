"""Gamma-family special functions written as plain array operations over a namespace ``xp``
(a power series about 2 and the recurrence for small arguments, Stirling's series for large
ones, reflection for negative ones), so they run on every backend, OpenCL included, whose
namespaces have no lgamma/digamma: ``_lgamma``, ``_gamma``, ``_digamma``, and trigamma in
mxplug ops for second derivatives. Used by :mod:`.math_extra`'s ``gamma``/``gammaln``."""
from __future__ import annotations

import math

import numpy as np

from .call import F

#: Arguments below this take the recurrences (lgamma/gamma: down to [1.5, 2.5); digamma and
#: trigamma: up past it) before the asymptotic series.
_SHIFT = 10
#: Stirling's series of lgamma: B_2k / (2k (2k - 1)), k = 1..7 (next term < 3e-17 at 10).
_LGAMMA_C = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
#: digamma's: B_2k / 2k; trigamma's: B_2k.
_DIGAMMA_C = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_TRIGAMMA_C = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
#: lgamma(2 + e) = e (1 - Euler's gamma) + sum_k>=2 (-1)^k (zeta(k) - 1) / k e^k: these
#: coefficients, k = 1..26 (|e| <= 1/2: the last term < 1e-17); exact zeros at 1 and 2.
_LGAMMA2_C = (
    0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
    -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261,
    0.0005096695247430425, -0.00022315475845357936, 9.945751278180853e-05,
    -4.492623673813314e-05, 2.0507212775670694e-05, -9.439488275268395e-06,
    4.374866789907487e-06, -2.039215753801366e-06, 9.55141213040742e-07,
    -4.492469198764566e-07, 2.1207184805554667e-07, -1.00432248239681e-07,
    4.769810169363981e-08, -2.2711094608943164e-08, 1.0838659214896955e-08,
    -5.183475041970047e-09, 2.4836745438024785e-09, -1.1921401405860912e-09,
    5.731367241678862e-10)
_SQRT_2PI, _HALF_LOG_2PI = math.sqrt(2 * math.pi), 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)
#: Gamma(y) overflows float64 past _GAMMA_MAX; the far branch clamps its argument at
#: _GAMMA_BIG, where 1 / Gamma(y) is below the smallest subnormal.
_GAMMA_MAX, _GAMMA_BIG = 171.625, 180.0


def _poly(z, coefs):
    """c0 + c1 z + c2 z^2 + ... by Horner's rule (arrays or NDArrays)."""
    acc = coefs[-1]
    for c in coefs[-2::-1]:
        acc = acc * z + c
    return acc


def _work(xp, x):
    """``x`` in the dtype the special functions compute in: float64, or float32 where the
    device has no float64."""
    if x.dtype == np.float64:
        return x
    try:
        return xp.astype(x, xp.float64)
    except (TypeError, NotImplementedError):
        return xp.astype(x, xp.float32)


def _reflect(xp, x):
    """(x < 0, the argument the series sees: 1 - x there, else x, and r = x - round(x) in
    [-0.5, 0.5], exact, for sin/tan(pi x) of large arguments)."""
    neg = x < 0
    return neg, xp.where(neg, 1 - x, x), x - xp.round(x)


def _near(xp, y):
    """For 0 <= y < _SHIFT: (lgamma(2 + e) by its series, and the factors ``up``, ``down``
    with Gamma(y) = Gamma(2 + e) up / down), after m = floor(y - 1.5) recurrence steps."""
    ys = xp.where(y >= _SHIFT, 2.0, y)      # (nan stays nan)
    m = xp.floor(ys - 1.5)                   # -2 .. 8
    e = ys - (m + 2)                         # exact: ys and m + 2 are close
    up, down = xp.ones_like(ys), xp.ones_like(ys)
    for i in range(1, _SHIFT - 1):           # Gamma(y) = (y-1)...(y-m) Gamma(y-m)
        up = xp.where(m >= i, up * (ys - i), up)
    for i in range(2):                       # Gamma(y) = Gamma(y+k) / (y (y+1)...(y+k-1))
        down = xp.where(m <= -1 - i, down * (ys + i), down)
    return e * _poly(e, _LGAMMA2_C), up, down


def _stirling(xp, y):
    """(y clamped to [_SHIFT, _GAMMA_BIG] where it is below, and the Stirling correction
    sum B_2k / (2k (2k-1) y^(2k-1)) at that y)."""
    yb = xp.where(y >= _SHIFT, y, float(_SHIFT))
    z = 1 / yb
    return yb, z * _poly(z * z, _LGAMMA_C)


def _lgamma_pos(xp, y):
    s2, up, down = _near(xp, y)
    near = s2 + xp.log(up / down)
    yb, w = _stirling(xp, y)
    # (y - 1/2) log(y) - y, written so that y = inf gives inf rather than inf - inf
    far = (yb - 0.5) * (xp.log(yb) - 1) - 0.5 + _HALF_LOG_2PI + w
    return xp.where(y >= _SHIFT, far, near)


def _lgamma(xp, x):
    neg, y, r = _reflect(xp, x)
    lg = _lgamma_pos(xp, y)
    # x < 0: log|Gamma(x)| = log(pi / |sin(pi x)|) - lgamma(1 - x): +inf at the poles
    s = xp.abs(xp.sin(math.pi * xp.where(neg, r, 0.5)))
    out = xp.where(neg, _LOG_PI - xp.log(s) - lg, lg)
    return xp.where(x == -math.inf, math.inf, out)


def _gamma(xp, x):
    neg, y, r = _reflect(xp, x)
    # Gamma(y) = a * b: near, exp(series) up / down and 1; far, Cephes' split of Stirling's
    # formula sqrt(2 pi) v (v e^-y) e^w, v = y^(y/2 - 1/4), whose product overflows only where
    # Gamma does and whose quotients give the reflection's tiny values without underflow
    s2, up, down = _near(xp, y)
    yb, w = _stirling(xp, y)
    yb = xp.minimum(yb, _GAMMA_BIG)
    v = xp.pow(yb, 0.5 * yb - 0.25)
    far = y >= _SHIFT
    a = xp.where(far, _SQRT_2PI * v * xp.exp(w), xp.exp(s2) * up / down)
    b = xp.where(far, v * xp.exp(-yb), 1.0)
    over = y > _GAMMA_MAX
    pos = xp.where(over, math.inf, xp.where(over, 1.0, a) * b)      # (no overflow warning)
    # x < 0: Gamma(x) = pi / (sin(pi x) Gamma(1 - x)), sin(pi x) = (-1)^round(x) sin(pi r)
    k = xp.round(x)
    odd = xp.astype(k - 2 * xp.floor(k * 0.5) == 1, x.dtype)
    sin_px = xp.sin(math.pi * r) * (1 - 2 * odd)
    sin_px = xp.where(neg, sin_px, 1.0)
    refl = xp.where(y > _GAMMA_BIG, 0.0 * sin_px, math.pi / sin_px / a / b)
    g = xp.where(neg, refl, pos)
    # poles: nan at the negative integers (and -inf); +-inf at +-0, as C's tgamma
    g = xp.where(neg & (r == 0), math.nan, g)
    zero = x == 0
    return xp.where(zero, 1 / xp.where(zero, x, 1.0), g)


def _digamma(xp, x):
    neg, y, r = _reflect(xp, x)
    acc, n = xp.zeros_like(y), xp.zeros_like(y)
    for k in range(_SHIFT):                  # psi(y) = psi(y + n) - sum 1 / (y + k)
        t = y + k
        small = t < _SHIFT
        acc = acc + xp.where(small, 1 / xp.where(small, t, 1.0), 0.0)
        n = n + xp.astype(small, y.dtype)
    y0 = y + n
    z = 1 / y0
    z2 = z * z
    psi = xp.log(y0) - 0.5 * z - z2 * _poly(z2, _DIGAMMA_C) - acc
    # x < 0: psi(x) = psi(1 - x) - pi / tan(pi x)
    t = xp.tan(math.pi * xp.where(neg, r, 0.25))
    return xp.where(neg, psi - math.pi / t, psi)


def _trigamma_nd(x):
    """trigamma(x) in mxplug ops on NDArrays, so that the gradient rules using it can be
    differentiated again."""
    neg = x < 0
    y = F.where(neg, 1 - x, x)
    acc, n = F.zeros_like(x), F.zeros_like(x)
    for k in range(_SHIFT):                  # psi1(y) = psi1(y + n) + sum 1 / (y + k)^2
        t = y + k
        small = t < _SHIFT
        ts = F.where(small, t, F.ones_like(t))
        acc = acc + small / (ts * ts)
        n = n + small
    z = 1 / (y + n)
    z2 = z * z
    psi1 = acc + z + 0.5 * z2 + z * z2 * _poly(z2, _TRIGAMMA_C)
    # x < 0: psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
    s = F.sin(F.where(neg, x - F.round(x), F.ones_like(x) * 0.5) * math.pi)
    return F.where(neg, math.pi ** 2 / (s * s) - psi1, psi1)
