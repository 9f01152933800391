"""Independent references for the random ops: a pure-Python (integer loop) Philox-4x32-10 and
the conversions documented in ``mxplug/random.py``, element by element, so values are checked
bit for bit (continuous ones to libm accuracy)."""

from __future__ import annotations

import math

import numpy as np

M32 = 0xFFFFFFFF


def philox(ctr, key):
    """Philox-4x32-10 of four counter words under two key words (Python ints)."""
    x0, x1, x2, x3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        hi0, lo0 = divmod(0xD2511F53 * x0, 1 << 32)
        hi1, lo1 = divmod(0xCD9E8D57 * x2, 1 << 32)
        x0, x1, x2, x3 = hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0
    return x0, x1, x2, x3


def word(key, counter, i, rnd=0):
    """Word ``i`` of a call: output ``i % 4`` of block ``(x0=i // 4, x1=rnd)``."""
    ctr = (i // 4, rnd, counter & M32, (counter >> 32) & M32)
    return philox(ctr, (key & M32, (key >> 32) & M32))[i % 4]


def stream(key, counter, n, rnd=0):
    out = []
    for b in range((n + 3) // 4):
        out.extend(philox((b, rnd, counter & M32, counter >> 32), (key & M32, key >> 32)))
    return out[:n]


def unit(key, counter, n, dtype, open0=False, half=24):
    """``n`` uniforms in [0, 1) (or (0, 1]) at the dtype's documented precision."""
    dtype = np.dtype(dtype).name
    if dtype == "float64":
        w = stream(key, counter, 2 * n)
        ints, bits = [(w[2 * i] >> 5) * 2 ** 26 + (w[2 * i + 1] >> 6) for i in range(n)], 53
    else:
        bits = half if dtype == "float16" else 24
        ints = [u >> (32 - bits) for u in stream(key, counter, n)]
    return [(m + open0) / 2.0 ** bits for m in ints]


def _shape(shape):
    return tuple(shape) or (1,)


def _fill(vals, shape, dtype):
    return np.array(vals, dtype=np.float64).reshape(_shape(shape)).astype(dtype)


def uniform(low=0.0, high=1.0, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    n = math.prod(_shape(shape))
    return _fill([low + (high - low) * u for u in unit(key, counter, n, dtype, half=11)],
                 shape, dtype)


def std_normal(key, counter, n, dtype):
    bits_dt = "float64" if np.dtype(dtype).name == "float64" else "float32"
    u = unit(key, counter, 2 * ((n + 1) // 2), bits_dt, open0=True)
    out = []
    for k in range(0, len(u), 2):
        r, t = math.sqrt(-2.0 * math.log(u[k])), 2.0 * math.pi * u[k + 1]
        out += [r * math.cos(t), r * math.sin(t)]
    return out[:n]


def normal(loc=0.0, scale=1.0, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    n = math.prod(_shape(shape))
    return _fill([loc + scale * z for z in std_normal(key, counter, n, dtype)], shape, dtype)


def exponential(lam=1.0, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    n = math.prod(_shape(shape))
    bits_dt = "float64" if np.dtype(dtype).name == "float64" else "float32"
    return _fill([-math.log(u) / lam for u in unit(key, counter, n, bits_dt, open0=True)],
                 shape, dtype)


def _round(key, counter, i, rnd):
    """The four (0, 1] 24-bit uniforms of element ``i`` in rejection round ``rnd``."""
    w = philox((i, rnd, counter & M32, counter >> 32), (key & M32, key >> 32))
    return [((u >> 8) + 1) / 2.0 ** 24 for u in w]


def gamma1(key, counter, i, alpha):
    """Element ``i`` of a Gamma(alpha, 1) draw: Marsaglia-Tsang, rejection round r on block
    (x0=i, x1=r)."""
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    rnd = 0
    while True:          # retry in the next round until accepted
        u1, u2, u3, u4 = _round(key, counter, i, rnd)
        rnd += 1
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        v = (1.0 + c * z) ** 3
        if v > 0 and math.log(u3) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * u4 ** (1.0 / alpha) if alpha < 1.0 else d * v


def poisson1(key, counter, i, lam):
    """Element ``i`` of a Poisson(lam) draw: inversion (round 0) below 10, Hoermann's PTRS
    (rounds 1, 2, ...) above."""
    if lam < 10.0:       # inversion with the round-0 word 0 as a [0, 1) uniform
        u = _round(key, counter, i, 0)[0] - 2.0 ** -24
        k, p = 0, math.exp(-lam)
        s = p
        while u >= s:
            k += 1
            p = p * lam / k
            s += p
        return k
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    rnd = 1
    while True:          # PTRS (Hoermann 1993)
        w = _round(key, counter, i, rnd)
        rnd += 1
        uu, v = w[0] - 0.5, w[1]
        us = 0.5 - abs(uu)
        k = math.floor((2.0 * a / us + b) * uu + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1)):
            return k


def gamma(alpha=1.0, beta=1.0, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    out = [beta * gamma1(key, counter, i, alpha) for i in range(math.prod(_shape(shape)))]
    return _fill(out, shape, dtype)


def poisson(lam=1.0, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    out = [poisson1(key, counter, i, lam) for i in range(math.prod(_shape(shape)))]
    return _fill(out, shape, dtype)


def randint(low=0, high=1, shape=(), dtype="int32", key=0, counter=0, ctx=None):
    n = math.prod(_shape(shape))
    vals = [low + u % (high - low) for u in stream(key, counter, n)]
    return np.array(vals, dtype=np.int64).reshape(_shape(shape)).astype(dtype)


def bernoulli(prob=0.5, shape=(), dtype="float32", key=0, counter=0, ctx=None):
    n = math.prod(_shape(shape))
    bits_dt = "float64" if np.dtype(dtype).name == "float64" else "float32"
    return _fill([1.0 if u < prob else 0.0 for u in unit(key, counter, n, bits_dt)], shape, dtype)


def multinomial(data, shape=(), get_prob=False, dtype="int32", key=0, counter=0):
    k = data.shape[-1]
    rows = data.reshape(-1, k)
    per = math.prod(tuple(shape))
    u = unit(key, counter, rows.shape[0] * per, data.dtype)
    idx = []
    for r, row in enumerate(rows):
        for s in range(per):
            acc, j = 0.0, k - 1
            for c in range(k):           # MXNet's scan: the first j with u < cumsum[j]
                acc += float(row[c])
                if u[r * per + s] < acc:
                    j = c
                    break
            idx.append(j)
    out_shape = tuple(data.shape[:-1]) + tuple(shape) or (1,)
    res = np.array(idx).reshape(out_shape).astype(dtype)
    if not get_prob:
        return res
    lp = np.array([math.log(float(rows[i // per][j])) for i, j in enumerate(idx)])
    return res, lp.reshape(out_shape).astype(data.dtype)


def shuffle(data, key=0, counter=0):
    n = data.shape[0]
    w = stream(key, counter, 2 * n)
    order = sorted(range(n), key=lambda i: ((w[2 * i] << 32) | w[2 * i + 1], i))
    return np.stack([data[i] for i in order])


def dropout(data, p=0.5, mode="training", axes=(), key=0, counter=0, cudnn_off=False):
    if mode == "training" or p == 0.0:     # the suite runs outside train mode: an identity
        return data.copy()
    shared = {a % data.ndim for a in axes}
    mshape = tuple(1 if i in shared else s for i, s in enumerate(data.shape))
    keep = bernoulli(1.0 - p, mshape, data.dtype, key, counter)
    scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
    out = np.empty_like(data)
    for idx in np.ndindex(*data.shape):
        m = keep[tuple(0 if i in shared else j for i, j in enumerate(idx))]
        out[idx] = data[idx] * (m * np.asarray(scale, data.dtype))
    return out


REFERENCES = {
    "random_uniform": uniform,
    "random_normal": normal,
    "random_exponential": exponential,
    "random_gamma": gamma,
    "random_poisson": poisson,
    "random_randint": randint,
    "random_bernoulli": bernoulli,
    "sample_multinomial": multinomial,
    "shuffle": shuffle,
    "Dropout": dropout,
}
