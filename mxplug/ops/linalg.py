"""Linear algebra: ``dot`` (MXNet's N-D contraction), ``batch_dot``, ``matmul`` (NumPy's) and the
``linalg_*`` family (exposed as ``mx.nd.linalg.<name>``). Bodies use the array-API ``linalg``
extension (``xp.linalg.inv``/``det``/``slogdet``/``cholesky``/``solve``)."""
from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Bool, Float, Int
from .call import F, unbroadcast
from .registry import Sample, defop

_T = {"transpose_a": Bool(False), "transpose_b": Bool(False)}


def _prod(shape):
    return math.prod(shape)


def _float_dtype(op, *specs):
    """Result dtype of a matrix product; only same-dtype inputs (as MXNet)."""
    first = specs[0].dtype
    if any(s.dtype != first for s in specs[1:]):  # the message is built only when it fails
        I.expect(False, op, "inputs of one dtype",
                 " vs ".join(np.dtype(s.dtype).name for s in specs))
    return first


# -- dot ------------------------------------------------------------------------------------------
def _dot_split(a, b, transpose_a, transpose_b):
    """(lhs kept dims, lhs contracted dims, rhs contracted dims, rhs kept dims) as MXNet's dot.

    ``lhs`` is seen as a matrix (prod(shape[:-1]), shape[-1]) and ``rhs`` as (shape[0], rest);
    ``transpose_a`` makes the lhs matrix (shape[0], rest) transposed, i.e. contracts lhs's first
    axis; ``transpose_b`` contracts rhs's last axis."""
    la, ra = tuple(a), tuple(b)
    lk, lc = ((la[1:], la[:1]) if transpose_a else (la[:-1], la[-1:]))
    rc, rk = ((ra[-1:], ra[:-1]) if transpose_b else (ra[:1], ra[1:]))
    return lk, lc, rc, rk


def _dot_infer(a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    I.expect(a.ndim >= 1 and b.ndim >= 1, "dot", "inputs with ndim >= 1",
             f"lhs.shape={a.shape}, rhs.shape={b.shape}")
    lk, lc, rc, rk = _dot_split(a.shape, b.shape, transpose_a, transpose_b)
    I.expect(_prod(lc) == _prod(rc), "dot",
             f"contracted dims of lhs {a.shape} and rhs {b.shape} equal "
             f"(transpose_a={transpose_a}, transpose_b={transpose_b})",
             f"{_prod(lc)} != {_prod(rc)}")
    return I.Spec((lk + rk) or (1,), _float_dtype("dot", a, b))


dot = defop("dot", ("lhs", "rhs"), {**_T, "forward_stype": None}, infer=_dot_infer,
            doc="MXNet's dot: contracts the last axis of ``lhs`` with the FIRST axis of ``rhs`` "
                "(out shape lhs.shape[:-1] + rhs.shape[1:]); ``transpose_a`` contracts lhs's first "
                "axis instead, ``transpose_b`` rhs's last axis. 1-D . 1-D gives shape (1,).")


def _dot_matrices(a, b, transpose_a, transpose_b):
    """The two matrices of a matrix . matrix ``dot`` (transposed views), or None for any other
    call (the generic body then checks and reshapes)."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype:
        a2 = a.T if transpose_a else a
        b2 = b.T if transpose_b else b
        if a2.shape[1] == b2.shape[0]:
            return a2, b2
    return None


@dot.impl
def _(xp, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    mats = _dot_matrices(a, b, transpose_a, transpose_b)
    if mats is not None:  # matrix . matrix: no checks or reshapes beyond the GEMM's own
        return xp.matmul(*mats)
    out = _dot_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype), transpose_a, transpose_b)
    lk, lc, rc, rk = _dot_split(a.shape, b.shape, transpose_a, transpose_b)
    if transpose_a:
        a2 = xp.permute_dims(xp.reshape(a, (_prod(lc), _prod(lk))), (1, 0))
    else:
        a2 = xp.reshape(a, (_prod(lk), _prod(lc)))
    if transpose_b:
        b2 = xp.permute_dims(xp.reshape(b, (_prod(rk), _prod(rc))), (1, 0))
    else:
        b2 = xp.reshape(b, (_prod(rc), _prod(rk)))
    return xp.reshape(xp.matmul(a2, b2), out.shape)


dot.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 5))),
    lambda rng: Sample(rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (4,))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), rng.uniform(-1, 1, (4, 2, 5))),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (5, 4)), transpose_a=True,
                       transpose_b=True),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 2, 3)), rng.uniform(-1, 1, (4, 5)), transpose_a=True),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4,))),
)


@dot.vjp
def _(g, out, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    # as 2-D matrices a2 (raw layout of lhs), b2, g2 = op(a2) @ op(b2); every case is one dot
    lk, lc, rc, rk = _dot_split(a.shape, b.shape, transpose_a, transpose_b)
    m, k, n = _prod(lk), _prod(lc), _prod(rk)
    a2 = F.reshape(a, shape=(k, m) if transpose_a else (m, k))
    b2 = F.reshape(b, shape=(n, k) if transpose_b else (k, n))
    g2 = F.reshape(g, shape=(m, n))
    if transpose_a:
        ga = F.dot(b2, g2, transpose_a=transpose_b, transpose_b=True)
    else:
        ga = F.dot(g2, b2, transpose_b=not transpose_b)
    if transpose_b:
        gb = F.dot(g2, a2, transpose_a=True, transpose_b=transpose_a)
    else:
        gb = F.dot(a2, g2, transpose_a=not transpose_a)
    return F.reshape(ga, shape=a.shape), F.reshape(gb, shape=b.shape)


# -- batch_dot ------------------------------------------------------------------------------------
def _mT(xp, x):
    """Swap the last two axes."""
    nd = x.ndim
    return xp.permute_dims(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _batch_dot_infer(a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    I.expect(a.ndim >= 3 and a.ndim == b.ndim, "batch_dot", "lhs and rhs of one ndim >= 3",
             f"lhs.shape={a.shape}, rhs.shape={b.shape}")
    I.expect(a.shape[:-2] == b.shape[:-2], "batch_dot", "equal batch dims",
             f"{a.shape[:-2]} != {b.shape[:-2]}")
    m, k = a.shape[-1:-3:-1] if transpose_a else a.shape[-2:]
    k2, n = b.shape[-1:-3:-1] if transpose_b else b.shape[-2:]
    I.expect(k == k2, "batch_dot", f"matching inner dims of lhs {a.shape} and rhs {b.shape} "
             f"(transpose_a={transpose_a}, transpose_b={transpose_b})", f"{k} != {k2}")
    return I.Spec(a.shape[:-2] + (m, n), _float_dtype("batch_dot", a, b))


batch_dot = defop("batch_dot", ("lhs", "rhs"), {**_T, "forward_stype": None},
                  infer=_batch_dot_infer,
                  doc="Batched matrix product of (B, M, K) and (B, K, N) -> (B, M, N); the "
                      "transpose flags swap the last two axes of an input first.")


@batch_dot.impl
def _(xp, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    _batch_dot_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype), transpose_a, transpose_b)
    return xp.matmul(_mT(xp, a) if transpose_a else a, _mT(xp, b) if transpose_b else b)


batch_dot.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), rng.uniform(-1, 1, (2, 4, 5))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 4, 3)), rng.uniform(-1, 1, (2, 5, 4)),
                       transpose_a=True, transpose_b=True),
)


@batch_dot.vjp
def _(g, out, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    ga = (F.batch_dot(b, g, transpose_a=transpose_b, transpose_b=True) if transpose_a
          else F.batch_dot(g, b, transpose_b=not transpose_b))
    gb = (F.batch_dot(g, a, transpose_a=True, transpose_b=transpose_a) if transpose_b
          else F.batch_dot(a, g, transpose_a=not transpose_a))
    return ga, gb


# -- matmul (NumPy semantics) ---------------------------------------------------------------------
def _matmul_infer(a, b):
    I.expect(a.ndim >= 1 and b.ndim >= 1, "matmul", "inputs with ndim >= 1",
             f"a.shape={a.shape}, b.shape={b.shape}")
    sa = (1,) + a.shape if a.ndim == 1 else a.shape
    sb = b.shape + (1,) if b.ndim == 1 else b.shape
    I.expect(sa[-1] == sb[-2], "matmul", f"a.shape[-1] == b.shape[-2] for {a.shape} @ {b.shape}",
             f"{sa[-1]} != {sb[-2]}")
    batch = I.broadcast_shapes("matmul", sa[:-2], sb[:-2])
    out = batch + (sa[-2] if a.ndim > 1 else None, sb[-1] if b.ndim > 1 else None)
    return I.Spec(tuple(d for d in out if d is not None) or (1,), _float_dtype("matmul", a, b))


matmul = defop("matmul", ("a", "b"), infer=_matmul_infer,
               doc="NumPy's matmul (broadcast batch dims; 1-D operands are promoted and the added "
                   "axis removed); a scalar result has shape (1,).")


@matmul.impl
def _(xp, a, b):
    _matmul_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype))
    r = xp.matmul(a, b)
    return xp.reshape(r, (1,)) if r.ndim == 0 else r


matmul.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 2))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3, 4)), rng.uniform(-1, 1, (3, 4, 2))),
    lambda rng: Sample(rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (2, 4, 3))),
    lambda rng: Sample(rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (4,))),
)


def mT(x):
    """Swap the last two axes of an NDArray (differentiable: a ``transpose``)."""
    nd = x.ndim
    return F.transpose(x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


@matmul.vjp
def _(g, out, a, b):
    # promote 1-D operands as matmul does, so g is (..., M, N); unbroadcast sums the batch dims
    ap = F.reshape(a, shape=(1,) + a.shape) if a.ndim == 1 else a
    bp = F.reshape(b, shape=b.shape + (1,)) if b.ndim == 1 else b
    gshape = I.broadcast_shapes("matmul", ap.shape[:-2], bp.shape[:-2]) + (ap.shape[-2],
                                                                           bp.shape[-1])
    gp = F.reshape(g, shape=gshape)
    ga = unbroadcast(F.matmul(gp, mT(bp)), ap.shape)
    gb = unbroadcast(F.matmul(mT(ap), gp), bp.shape)
    return F.reshape(ga, shape=a.shape), F.reshape(gb, shape=b.shape)


# -- linalg.gemm / gemm2 --------------------------------------------------------------------------
def _to_rows(xp, x, axis):
    """Swap the row axis ``axis`` with ndim-2 (MXNet's swapaxes/gemm/swapaxes equivalence)."""
    ax = axis % x.ndim
    if ax == x.ndim - 2:
        return x
    perm = list(range(x.ndim))
    perm[ax], perm[-2] = perm[-2], perm[ax]
    return xp.permute_dims(x, tuple(perm))


def _swap_shape(shape, axis):
    s = list(shape)
    ax = axis % len(s)
    s[ax], s[-2] = s[-2], s[ax]
    return tuple(s)


def _gemm_infer_ab(op, a, b, transpose_a, transpose_b, axis):
    I.expect(a.ndim >= 2 and a.ndim == b.ndim, op, "A and B of one ndim >= 2",
             f"A.shape={a.shape}, B.shape={b.shape}")
    I.expect(-a.ndim <= axis < a.ndim - 1 and axis % a.ndim != a.ndim - 1, op,
             f"axis in [-{a.ndim}, {a.ndim - 2}] (not the column axis)", f"axis={axis}")
    sa, sb = _swap_shape(a.shape, axis), _swap_shape(b.shape, axis)
    I.expect(sa[:-2] == sb[:-2], op, "equal batch dims of A and B", f"{a.shape} vs {b.shape}")
    m, k = (sa[-1], sa[-2]) if transpose_a else sa[-2:]
    k2, n = (sb[-1], sb[-2]) if transpose_b else sb[-2:]
    I.expect(k == k2, op, f"inner dims of op(A) {a.shape} and op(B) {b.shape} equal "
             f"(transpose_a={transpose_a}, transpose_b={transpose_b}, axis={axis})", f"{k} != {k2}")
    return I.Spec(_swap_shape(sa[:-2] + (m, n), axis), _float_dtype(op, a, b))


def _gemm_ab(xp, a, b, transpose_a, transpose_b, alpha, axis):
    a, b = _to_rows(xp, a, axis), _to_rows(xp, b, axis)
    r = xp.matmul(_mT(xp, a) if transpose_a else a, _mT(xp, b) if transpose_b else b)
    return r * alpha if alpha != 1 else r


_GEMM_ATTRS = {**_T, "alpha": Float(1.0), "axis": Int(-2)}


def _gemm2_infer(a, b, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    return _gemm_infer_ab("linalg_gemm2", a, b, transpose_a, transpose_b, axis)


gemm2 = defop("linalg_gemm2", ("A", "B"), _GEMM_ATTRS, infer=_gemm2_infer,
              aliases=("_linalg_gemm2",),
              doc="``alpha * op(A) @ op(B)`` over batches of matrices; rows are at ``axis``, "
                  "columns at the last axis.")


@gemm2.impl
def _(xp, a, b, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    _gemm2_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype), transpose_a, transpose_b,
                 alpha, axis)
    return _to_rows(xp, _gemm_ab(xp, a, b, transpose_a, transpose_b, alpha, axis), axis)


def _gemm_infer(a, b, c, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2):
    out = _gemm_infer_ab("linalg_gemm", a, b, transpose_a, transpose_b, axis)
    I.expect(c.shape == out.shape, "linalg_gemm", f"C.shape == op(A) op(B) shape {out.shape}",
             f"{c.shape}")
    return out


gemm = defop("linalg_gemm", ("A", "B", "C"), {**_GEMM_ATTRS, "beta": Float(1.0)},
             infer=_gemm_infer, aliases=("_linalg_gemm",),
             doc="``alpha * op(A) @ op(B) + beta * C`` over batches of matrices (see gemm2).")


@gemm.impl
def _(xp, a, b, c, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2):
    _gemm_infer(*(I.Spec(x.shape, x.dtype) for x in (a, b, c)), transpose_a, transpose_b,
                alpha, beta, axis)
    r = _to_rows(xp, _gemm_ab(xp, a, b, transpose_a, transpose_b, alpha, axis), axis)
    return r + beta * c


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _gemm_grads(g, a, b, transpose_a, transpose_b, alpha, axis):
    """Gradients of ``alpha * op(A) @ op(B)`` (rows at ``axis``), each one gemm2."""
    kw = dict(alpha=alpha, axis=axis)
    ga = (F.linalg_gemm2(b, g, transpose_a=transpose_b, transpose_b=True, **kw) if transpose_a
          else F.linalg_gemm2(g, b, transpose_b=not transpose_b, **kw))
    gb = (F.linalg_gemm2(g, a, transpose_a=True, transpose_b=transpose_a, **kw) if transpose_b
          else F.linalg_gemm2(a, g, transpose_a=not transpose_a, **kw))
    return ga, gb


gemm2.vjp(lambda g, out, a, b, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2:
          _gemm_grads(g, a, b, transpose_a, transpose_b, alpha, axis))
gemm.vjp(lambda g, out, a, b, c, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0,
         axis=-2: _gemm_grads(g, a, b, transpose_a, transpose_b, alpha, axis) + (g * beta,))

gemm2.samples(
    lambda rng: Sample(_u(rng, 3, 4), _u(rng, 4, 2)),
    lambda rng: Sample(_u(rng, 2, 4, 3), _u(rng, 2, 5, 4), transpose_a=True, transpose_b=True,
                       alpha=2.0),
    lambda rng: Sample(_u(rng, 3, 2, 4), _u(rng, 4, 2, 5), axis=0),
)
gemm.samples(
    lambda rng: Sample(_u(rng, 3, 4), _u(rng, 4, 2), _u(rng, 3, 2)),
    lambda rng: Sample(_u(rng, 2, 4, 3), _u(rng, 2, 5, 4), _u(rng, 2, 3, 5), transpose_a=True,
                       transpose_b=True, alpha=2.0, beta=0.5),
    lambda rng: Sample(_u(rng, 3, 2, 4), _u(rng, 4, 2, 5), _u(rng, 3, 2, 5), axis=0),
)


# -- square-matrix functions ----------------------------------------------------------------------
def _square_infer(op):
    def check(a):
        I.expect(a.ndim >= 2 and a.shape[-1] == a.shape[-2], op,
                 "A of shape (..., n, n)", f"A.shape={a.shape}")
        I.expect_float(a, op, "A")
    return check


def _batch_shape(a):
    return a.shape[:-2] or (1,)


def _sq(name, doc, out):
    check = _square_infer(name)

    def rule(a, **attrs):
        check(a)
        return out(a)
    return defop(name, ("A",), infer=rule, aliases=("_" + name,), doc=doc), check


def _spd(rng, *batch, n=3):
    m = rng.uniform(-1, 1, (*batch, n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


inverse, _chk_inv = _sq("linalg_inverse", "Inverse of each square matrix in A (..., n, n).",
                        lambda a: a)


@inverse.impl
def _(xp, a):
    _chk_inv(I.Spec(a.shape, a.dtype))
    return xp.linalg.inv(a)


det, _chk_det = _sq("linalg_det", "Determinant of each square matrix: (..., n, n) -> (...); a "
                                  "single matrix gives shape (1,).",
                    lambda a: I.Spec(_batch_shape(a), a.dtype))


@det.impl
def _(xp, a):
    _chk_det(I.Spec(a.shape, a.dtype))
    return xp.reshape(xp.linalg.det(a), _batch_shape(a))


def _slogdet_out(a):
    s = I.Spec(_batch_shape(a), a.dtype)
    return s, s


slogdet, _chk_slogdet = _sq("linalg_slogdet", "Sign and log|det| of each square matrix: returns "
                                              "(sign, logabsdet), each of shape (...) or (1,).",
                            _slogdet_out)
slogdet.nout = 2      # (sign, logabsdet)


@slogdet.impl
def _(xp, a):
    _chk_slogdet(I.Spec(a.shape, a.dtype))
    sign, logabs = xp.linalg.slogdet(a)
    return xp.reshape(sign, _batch_shape(a)), xp.reshape(logabs, _batch_shape(a))


def _det_scale(g, a):
    """``g`` (shape (...) or (1,)) reshaped to broadcast over the matrices of ``a``."""
    return F.reshape(g, shape=a.shape[:-2] + (1, 1))


inverse.vjp(lambda g, out, a: (F.linalg_gemm2(out, F.linalg_gemm2(g, out, transpose_b=True),
                                               transpose_a=True, alpha=-1.0),))
det.vjp(lambda g, out, a: (_det_scale(g * out, a) * mT(F.linalg_inverse(a)),))
slogdet.vjp(lambda g, out, a: (_det_scale(g[1], a) * mT(F.linalg_inverse(a)),))

for _op in (inverse, det, slogdet):
    _op.samples(lambda rng: Sample(_spd(rng) - 2 * np.eye(3)),
                lambda rng: Sample(rng.uniform(-1, 1, (2, 4, 4)) + 2 * np.eye(4)))


def _potrf_infer(a, lower=True):
    _square_infer("linalg_potrf")(a)
    return a


potrf = defop("linalg_potrf", ("A",), {"lower": Bool(True)}, infer=_potrf_infer,
              aliases=("_linalg_potrf",),
              doc="Cholesky factor of each symmetric positive-definite matrix: L with A = L L^T "
                  "(``lower=False``: U with A = U^T U).")


@potrf.impl
def _(xp, a, lower=True):
    _potrf_infer(I.Spec(a.shape, a.dtype))
    L = xp.linalg.cholesky(a)
    return L if lower else _mT(xp, L)


potrf.samples(lambda rng: Sample(_spd(rng)), lambda rng: Sample(_spd(rng, 2), lower=False))


def _tri_mask(x, lower=True, diag=1.0):
    """(n, n) mask of the lower (or upper) triangle of a matrix, ``diag`` on its diagonal."""
    n = x.shape[-1]
    i = F.arange(start=0.0, stop=float(n), ctx=x.context, dtype=x.dtype)
    r, c = F.reshape(i, shape=(n, 1)), F.reshape(i, shape=(1, n))
    m = F.greater(r, c) if lower else F.lesser(r, c)
    return m + F.equal(r, c) * diag


@potrf.vjp
def _(g, out, a, lower=True):
    # Murray (2016): S = L^-T Phi(L^T Lbar) L^-1 with Phi = lower triangle, halved diagonal. A's
    # upper triangle is never read, so each lower entry gets the symmetric pair's sum: Phi(S+S^T)
    L, gl = (out, g) if lower else (mT(out), mT(g))
    phi = _tri_mask(a, True, 0.5)
    p = F.matmul(mT(L), gl) * phi
    s = F.linalg_trsm(L, F.linalg_trsm(L, p, transpose=True), rightside=True)
    return ((s + mT(s)) * phi,)


def _trsm_infer(a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    _square_infer("linalg_trsm")(a)
    I.expect(b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2], "linalg_trsm",
             "A and B with equal batch dims", f"A.shape={a.shape}, B.shape={b.shape}")
    side = -1 if rightside else -2
    I.expect(b.shape[side] == a.shape[-1], "linalg_trsm",
             f"B.shape[{side}] == A.shape[-1] (rightside={rightside})",
             f"{b.shape[side]} != {a.shape[-1]}")
    return I.Spec(b.shape, _float_dtype("linalg_trsm", a, b))


trsm = defop("linalg_trsm", ("A", "B"), {"transpose": Bool(False), "rightside": Bool(False),
                                         "lower": Bool(True), "alpha": Float(1.0)},
             infer=_trsm_infer, aliases=("_linalg_trsm",),
             doc="Solve ``op(A) X = alpha B`` (or ``X op(A) = alpha B`` when ``rightside``) for "
                 "triangular A; only the ``lower`` (or upper) triangle of A is read.")


@trsm.impl
def _(xp, a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    _trsm_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype), transpose, rightside, lower)
    n = a.shape[-1]
    i = xp.arange(n, device=a.device)
    keep = (i[:, None] >= i[None, :]) if lower else (i[:, None] <= i[None, :])
    t = xp.where(keep, a, xp.zeros_like(a))          # ignore the other triangle, as LAPACK does
    if transpose:
        t = _mT(xp, t)
    if rightside:      # X t = B  <=>  t^T X^T = B^T
        return _mT(xp, xp.linalg.solve(_mT(xp, t), _mT(xp, b))) * alpha
    return xp.linalg.solve(t, b) * alpha


@trsm.vjp
def _(g, out, a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    # M = op(tri(A)); left: M X = alpha B, right: X M = alpha B. Y solves with M^T instead.
    y = F.linalg_trsm(a, g, transpose=not transpose, rightside=rightside, lower=lower)
    gm = F.matmul(mT(out), y) if rightside else F.matmul(y, mT(out))
    gt = mT(gm) if transpose else gm
    return gt * (-1.0) * _tri_mask(a, lower), y * alpha


trsm.samples(
    lambda rng: Sample(np.tril(rng.uniform(0.5, 1, (3, 3))) + np.eye(3),
                       rng.uniform(-1, 1, (3, 2))),
    lambda rng: Sample(np.triu(rng.uniform(0.5, 1, (2, 3, 3))) + np.eye(3),
                       rng.uniform(-1, 1, (2, 4, 3)), rightside=True, lower=False, transpose=True,
                       alpha=2.0),
)


@dot.kernel("numpy")
def _dot_numpy(be, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    """Matrix . matrix straight to BLAS: the shape checks in the generic body cost more than a
    small GEMM (64x64: 25 us vs 8 us)."""
    mats = _dot_matrices(a, b, transpose_a, transpose_b)
    if mats is not None:
        return np.matmul(*mats)
    return dot.generic(np, a, b, transpose_a, transpose_b, forward_stype)


@dot.kernel_out("numpy")
def _(be, out, a, b, transpose_a=False, transpose_b=False, forward_stype=None):
    if a.ndim == 2 and b.ndim == 2:
        np.matmul(a.T if transpose_a else a, b.T if transpose_b else b, out=out)
    else:
        np.copyto(out, dot.generic(np, a, b, transpose_a, transpose_b, forward_stype))
