"""Matrix products and small dense linear algebra for the OpenCL array namespace.

``matmul`` has NumPy's semantics (1-D operands promoted and squeezed back, batch dims broadcast)
and reads its operands through their element strides and offsets, so transposes, slices and
broadcast views cost no copy. It picks one of the GEMM template's kernels by layout
(:mod:`mxplug.backends.kernels.gemm`). ``linalg`` holds ``inv``, ``det``, ``slogdet``,
``cholesky`` and ``solve`` for batches of small matrices: one work item per matrix, working in
place on a contiguous device copy (:mod:`mxplug.backends.kernels.smallmat`).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from ..kernels import OPENCL
from ..kernels.gemm import gemm_config, gemm_meta, gemm_source
from ..kernels.smallmat import smallmat_source
from . import xp
from .array import CLArray
from .device import drop_cache
from .launch import _broadcast_strides

_PROGRAMS: dict = {}


def _is_cpu(rt):
    return bool(rt.device.type & rt.cl.device_type.CPU)


def _gemm(rt, dtype, bias=False):
    """(source, kernel name prefix, config, local size) of the GEMM program for ``dtype``
    (``bias``: the entry points that add a bias as they store; a program of their own, so
    that plain products never compile them)."""
    key = ("gemm", np.dtype(dtype).name, _is_cpu(rt), bias)
    p = _PROGRAMS.get(key)
    if p is None:
        cfg = gemm_config(dtype, "cpu" if key[2] else "gpu")
        name = f"gemm_{key[1]}"
        # PoCL runs a work-group's items in one loop it tries to vectorise across; ours are
        # vectorised by hand, so one item per group is fastest there
        local = 1 if key[2] else 64
        p = _PROGRAMS[key] = (gemm_source(name, dtype, OPENCL, **cfg, bias=bias), name, cfg,
                              local)
    return p


def _run(rt, src, kname, dtypes, n, local, *args):
    kernel = rt.kernel(src, kname, dtypes)
    kernel(rt.queue, (-(-n // local) * local,), (local,), *args)


#: (runtime, dtype, shapes and strides of c, a, b) -> a launch plan (see _gemm_plan): a
#: training step multiplies the same few layouts every time, and deciding costs ~40 us
_PLANS: dict = {}


def _gemm_plan(c, a, b, bias_strides):
    """((source, kernel name, dtypes), global size, local size, whether A and B swap, the
    scalar arguments before A, the stride arguments of A, B and C, those of the bias) for
    ``c = a @ b (+ bias)``. The kernel itself is looked up per launch: the profiler swaps the
    runtime's lookup."""
    rt, dt = c.rt, c.dtype
    has_bias = bias_strides is not None
    src, name, cfg, local = _gemm(rt, dt, has_bias)
    bsm, bsn = bias_strides or (0, 0)
    batch = c.shape[:-2]
    m, n = c.shape[-2:]
    k = a.shape[-1]
    sam, sak = a._strides[-2:]
    sbk, sbn = b._strides[-2:]
    scm, scn = c._strides[-2:]
    # a stride of an axis of length 1 is never used: normalise it so layout tests see through it
    sam, sbn, scm, scn = (1 if m == 1 else sam), (1 if n == 1 else sbn), (1 if m == 1 else scm), \
        (1 if n == 1 else scn)
    if k == 1:
        sak = sbk = 1
    abat = _broadcast_strides(a.view(a.shape[:-2], a._strides[:-2]), batch)
    bbat = _broadcast_strides(b.view(b.shape[:-2], b._strides[:-2]), batch)
    cbat = list(c._strides[:-2])
    rm, rn, tm, tn = cfg["rm"], cfg["nv"] * cfg["vw"], cfg["tm"], cfg["tn"]
    swap = False
    if sbn == 1 and m >= rm and n >= rn:
        kind, bm, bn = "nn", rm, rn
    elif sam == 1 and n >= rm and m >= rn:       # C^T = B^T A^T, and B^T's rows are contiguous
        kind, bm, bn, swap = "nn", rm, rn, True
        m, n, abat, bbat = n, m, bbat, abat
        sam, sak, sbk, sbn, scm, scn, bsm, bsn = sbn, sbk, sak, sam, scn, scm, bsn, bsm
    elif sak == 1 and sbk == 1 and m >= tm and n >= tn:
        kind, bm, bn = "nt", tm, tn
    else:
        kind, bm, bn = "any", rm, rn
    nb = math.prod(batch)
    items = -(-m // bm) * -(-n // bn) * nb
    meta = rt.meta(gemm_meta(batch, abat, bbat, cbat))
    return ((src, f"{name}_{kind}{'_bias' if has_bias else ''}", [dt]),
            -(-items // local) * local, local, swap, (m, n, k, meta), (sam, sak), (sbk, sbn),
            (scm, scn), (bsm, bsn))


def _gemm_into(c, a, b, bias=None, bias_strides=None):
    """``c[...] = a @ b`` for (..., M, K) and (..., K, N) views whose batch dims broadcast to
    ``c``'s (..., M, N) (c is freshly allocated: it aliases neither input). With ``bias``,
    ``c[..., i, j] += bias[i * bias_strides[0] + j * bias_strides[1]]`` (the same for every
    batch entry)."""
    key = (c.rt, c.dtype, c.shape, c._strides, a.shape, a._strides, b.shape, b._strides,
           bias_strides)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 1024:
            drop_cache(_PLANS)
        plan = _PLANS[key] = _gemm_plan(c, a, b, bias_strides)
    kernel, gsize, local, swap, head, sa, sb, sc, sbias = plan
    if swap:
        a, b = b, a
    rt = c.rt
    # the scalar arguments are typed (device.Runtime.kernel): plain ints do
    if bias is None:
        rt.kernel(*kernel)(rt.queue, (gsize,), (local,), *head, a.buf, a.offset, *sa, b.buf,
                           b.offset, *sb, c.buf, c.offset, *sc)
    else:
        rt.kernel(*kernel)(rt.queue, (gsize,), (local,), *head, a.buf, a.offset, *sa, b.buf,
                           b.offset, *sb, c.buf, c.offset, *sc, bias.buf, bias.offset, *sbias)
    return c


def linear(x, w, bias=None):
    """``x @ w.T + bias`` for 2-D ``x`` (M, K) and ``w`` (N, K) and ``bias`` (N,) or None, all
    of one dtype (the caller checks shapes and dtypes): one GEMM launch that adds the bias as
    it stores, where a matmul and a broadcast add take two (the add over strides costs as
    much as the product at a fully-connected layer's sizes under PoCL)."""
    (m, k), n = x.shape, w.shape[0]
    c = xp.empty((m, n), x.dtype, x.rt)
    if not (m and n):
        return c
    if not k:
        if bias is None:
            return xp._fill(c, 0)
        return xp._elementwise_into(c, "copy", "{0}", [xp.broadcast_to(bias, (m, n))])
    if bias is None:
        return _gemm_into(c, x, w.T)
    return _gemm_into(c, x, w.T, bias, (0, 1 if n == 1 else bias._strides[0]))


def matmul(a, b):
    """NumPy's ``matmul`` on the device: (..., M, K) @ (..., K, N) with broadcast batch dims."""
    if not isinstance(a, CLArray) or not isinstance(b, CLArray):
        raise TypeError("matmul: both operands must be OpenCL arrays")
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind != "b":
        # the common case (every layer's product) without the general path's promotions
        (m, k), (k2, n) = a.shape, b.shape
        if k != k2:
            raise ValueError(f"matmul: mismatch in the contracted dimension: {a.shape} @ "
                             f"{b.shape} ({k} != {k2})")
        c = xp.empty((m, n), a.dtype, a.rt)
        if m and n:
            if k:
                _gemm_into(c, a, b)
            else:
                xp._fill(c, 0)
        return c
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension (use multiply)")
    dt = np.result_type(a.dtype, b.dtype)
    if dt == np.bool_:   # a logical product: count in integers, then compare with 0
        return xp.not_equal(matmul(xp.astype(a, np.int32), xp.astype(b, np.int32)), 0)
    a, b = xp.astype(a, dt, copy=False), xp.astype(b, dt, copy=False)
    a2 = xp.expand_dims(a, 0) if a.ndim == 1 else a
    b2 = xp.expand_dims(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: mismatch in the contracted dimension: {a.shape} @ {b.shape} "
                         f"({a2.shape[-1]} != {b2.shape[-2]})")
    batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    m, n = a2.shape[-2], b2.shape[-1]
    c = xp.empty(batch + (m, n), dt, a.rt)
    if c.size:
        if a2.shape[-1] == 0:
            xp._fill(c, 0)
        else:
            _gemm_into(c, a2, b2)
    if a.ndim == 1:
        c = xp.squeeze(c, -2)
    if b.ndim == 1:
        c = xp.squeeze(c, -1)
    return c


def vecdot(a, b, axis=-1):
    """Array-API ``vecdot``: sum of ``a * b`` over ``axis`` (real dtypes), broadcasting."""
    return xp.sum(xp.multiply(a, b), axis=axis)


# -- small dense linear algebra -----------------------------------------------------------------
def _square(fn, a):
    if not isinstance(a, CLArray) or a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.{fn}: expected a stack of square matrices (..., n, n), got "
                         f"shape {getattr(a, 'shape', None)}")
    if a.dtype.kind != "f":
        a = xp.astype(a, np.float64 if a.rt.fp64 else np.float32)
    return a


def _small(rt, dtype, kname, nitems, *args):
    key = ("small", np.dtype(dtype).name)
    src = _PROGRAMS.get(key)
    if src is None:
        src = _PROGRAMS[key] = smallmat_source(f"sm_{key[1]}", dtype, OPENCL)
    _run(rt, src, f"sm_{key[1]}_{kname}", [dtype], nitems, 1 if _is_cpu(rt) else 32,
         np.int64(nitems), *args)


def _work_copy(a):
    """A contiguous device copy of ``a`` (the kernels work in place)."""
    return xp.asarray(a, copy=True)


def _lu(a):
    """(LU factors in place on a copy, pivot sign, log|det|): for det and slogdet."""
    a = _square("det", a)
    n = a.shape[-1]
    w = _work_copy(a)
    batch = a.shape[:-2]
    sign, logabs = xp.empty(batch, a.dtype, a.rt), xp.empty(batch, a.dtype, a.rt)
    nb = sign.size
    if nb:
        _small(a.rt, a.dtype, "slogdet", nb, np.int64(n), w.buf, sign.buf, logabs.buf)
    return sign, logabs


def slogdet(a):
    """``(sign, log|det|)`` of each matrix, as NumPy's ``linalg.slogdet``."""
    return _SlogdetResult(*_lu(a))


class _SlogdetResult(tuple):
    """A (sign, logabsdet) pair with NumPy's field names."""

    def __new__(cls, sign, logabsdet):
        return super().__new__(cls, (sign, logabsdet))

    sign = property(lambda self: self[0])
    logabsdet = property(lambda self: self[1])


def det(a):
    sign, logabs = _lu(a)
    return xp.multiply(sign, xp.exp(logabs))


def inv(a):
    """Inverse of each matrix (Gauss-Jordan with partial pivoting); a singular matrix gives
    inf/nan entries rather than an error, as checking would need a host round trip."""
    a = _square("inv", a)
    n = a.shape[-1]
    w = _work_copy(a)
    out = xp.empty(a.shape, a.dtype, a.rt)
    nb = math.prod(a.shape[:-2])
    if nb and n:
        _small(a.rt, a.dtype, "solve", nb, np.int64(n), np.int64(n), w.buf, out.buf,
               np.int32(1))
    return out


def solve(a, b):
    """Solve ``a @ x = b`` for each matrix of ``a`` (..., n, n); ``b`` is (..., n, k), or (n,)
    for one right-hand side, with batch dims broadcast (the array API's rule)."""
    a = _square("solve", a)
    n = a.shape[-1]
    vec = b.ndim == 1
    b2 = xp.expand_dims(b, -1) if vec else b
    if b2.shape[-2] != n:
        raise ValueError(f"linalg.solve: b.shape {b.shape} does not match a.shape {a.shape}")
    dt = np.result_type(a.dtype, b2.dtype)
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b2.shape[:-2]))
    w = _work_copy(xp.broadcast_to(xp.astype(a, dt, copy=False), batch + (n, n)))
    x = _work_copy(xp.broadcast_to(xp.astype(b2, dt, copy=False), batch + b2.shape[-2:]))
    nb = math.prod(batch)
    if nb and n and x.shape[-1]:
        _small(a.rt, dt, "solve", nb, np.int64(n), np.int64(x.shape[-1]), w.buf, x.buf,
               np.int32(0))
    return xp.squeeze(x, -1) if vec else x


def cholesky(a, upper=False):
    """Lower Cholesky factor of each symmetric positive-definite matrix (reads the lower
    triangle); a matrix that is not positive definite gives nan entries."""
    a = _square("cholesky", a)
    n = a.shape[-1]
    out = _work_copy(a)
    nb = math.prod(a.shape[:-2])
    if nb and n:
        _small(a.rt, a.dtype, "cholesky", nb, np.int64(n), out.buf)
    return xp.matrix_transpose(out) if upper else out


linalg = SimpleNamespace(matmul=matmul, inv=inv, det=det, slogdet=slogdet, solve=solve,
                         cholesky=cholesky, vecdot=vecdot)
