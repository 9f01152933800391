"""The rest of MXNet 1.x's ``linalg_*`` family (``mx.nd.linalg.<name>``): ``gelqf`` (LQ), ``syrk``,
``trmm``, ``potri``, ``sumlogdiag``, ``syevd`` (symmetric eigendecomposition) and the
diagonal/triangle packers ``extractdiag``/``makediag``/``extracttrian``/``maketrian``.

Like MXNet they take float32 or float64 only and work on the trailing two axes (batch mode over
the leading ones). Ops that read one triangle of A (``trmm``, ``potri``: the ``lower`` one;
``syevd``: the lower one) ignore the other, and their gradients stay in the triangle they read
(the true derivative, as ``potrf``'s; MXNet hands ``syevd`` the symmetric gradient, whose lower
triangle doubled off the diagonal is ours).

Bodies run on every backend: ``gelqf``/``syevd`` use the namespace's ``linalg.qr``/``linalg.eigh``
where it has them (NumPy, CuPy, array-api-strict), else a Householder LQ and a cyclic Jacobi
iteration written in plain array operations (OpenCL), with the same sign conventions (LAPACK's
Householder signs for L; each eigenvector row with its largest-magnitude entry positive, as
MXNet sets it)."""
from __future__ import annotations

import functools

import numpy as np

from . import infer as I
from .attrs import Bool, Float, Int
from .call import F
from .linalg import _float_dtype, _mT, _spd, _tri_mask, mT
from .registry import Sample, defop

_FLOATS = ("float32", "float64")


# -- shared checks --------------------------------------------------------------------------------
def _check_float(op, a, name="A"):
    dt = np.dtype(a.dtype).name
    if dt not in _FLOATS:  # the message is built only when it fails
        I.expect(False, op, f"a float32 or float64 {name} (MXNet supports only these)",
                 f"{name}.dtype={dt}")


def _check_matrices(op, a, square=True):
    I.expect(a.ndim >= 2, op, "A of shape (..., m, n) with ndim >= 2", f"A.shape={a.shape}")
    if square:
        I.expect(a.shape[-1] == a.shape[-2], op, "A of shape (..., n, n) (square matrices)",
                 f"A.shape={a.shape}")
    _check_float(op, a)


def _batch(shape):
    """The batch dims of a matrix shape, or (1,) for a single matrix (MXNet has no 0-d)."""
    return tuple(shape[:-2]) or (1,)


def _tri_keep(xp, a, lower):
    """Boolean (n, n) mask of the lower (or upper) triangle, diagonal included."""
    i = xp.arange(a.shape[-1], device=a.device)
    return (i[:, None] >= i[None, :]) if lower else (i[:, None] <= i[None, :])


def _tri(xp, a, lower):
    """``a`` with the other triangle zeroed (what LAPACK/BLAS read of a triangular matrix)."""
    return xp.where(_tri_keep(xp, a, lower), a, xp.zeros_like(a))


def _sym_from(xp, a, lower=True):
    """The symmetric matrix that the ``lower`` (or upper) triangle of ``a`` stands for."""
    return xp.where(_tri_keep(xp, a, lower), a, _mT(xp, a))


def _const(xp, host, like):
    """A host index array on ``like``'s device."""
    return xp.asarray(host, device=like.device)


# -- syrk -----------------------------------------------------------------------------------------
def _syrk_infer(a, transpose=False, alpha=1.0):
    _check_matrices("linalg_syrk", a, square=False)
    k = a.shape[-1] if transpose else a.shape[-2]
    return I.Spec(a.shape[:-2] + (k, k), a.dtype)


syrk = defop("linalg_syrk", ("A",), {"transpose": Bool(False), "alpha": Float(1.0)},
             infer=_syrk_infer, aliases=("_linalg_syrk",),
             doc="``alpha * A @ A^T`` (``transpose``: ``alpha * A^T @ A``) of each matrix of A "
                 "(..., m, n); the result is exactly symmetric.")


@syrk.impl
def _(xp, a, transpose=False, alpha=1.0):
    _syrk_infer(I.Spec(a.shape, a.dtype))
    r = xp.matmul(_mT(xp, a), a) if transpose else xp.matmul(a, _mT(xp, a))
    r = _sym_from(xp, r)     # MXNet computes the lower triangle and copies it up
    return r * alpha if alpha != 1 else r


@syrk.vjp
def _(g, out, a, transpose=False, alpha=1.0):
    gs = g + mT(g)
    return ((F.matmul(a, gs) if transpose else F.matmul(gs, a)) * alpha,)


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


syrk.samples(lambda rng: Sample(_u(rng, 3, 4)),
             lambda rng: Sample(_u(rng, 2, 3, 4), transpose=True, alpha=0.5),
             lambda rng: Sample(_u(rng, 2, 1, 2, 3), alpha=-2.0))


# -- trmm -----------------------------------------------------------------------------------------
_TRI_ATTRS = {"transpose": Bool(False), "rightside": Bool(False), "lower": Bool(True),
              "alpha": Float(1.0)}


def _trmm_infer(a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    op = "linalg_trmm"
    _check_matrices(op, a)
    I.expect(b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2], op,
             "A and B with equal batch dims", f"A.shape={a.shape}, B.shape={b.shape}")
    side = -1 if rightside else -2
    I.expect(b.shape[side] == a.shape[-1], op,
             f"B.shape[{side}] == A.shape[-1] (rightside={rightside})",
             f"{b.shape[side]} != {a.shape[-1]} (A.shape={a.shape}, B.shape={b.shape})")
    return I.Spec(b.shape, _float_dtype(op, a, b))


trmm = defop("linalg_trmm", ("A", "B"), _TRI_ATTRS, infer=_trmm_infer, aliases=("_linalg_trmm",),
             doc="``alpha * op(A) @ B`` (``rightside``: ``alpha * B @ op(A)``) for triangular A, "
                 "``op`` the identity or (``transpose``) the transpose; only the ``lower`` (or "
                 "upper) triangle of A is read.")


@trmm.impl
def _(xp, a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    _trmm_infer(I.Spec(a.shape, a.dtype), I.Spec(b.shape, b.dtype), transpose, rightside)
    t = _tri(xp, a, lower)
    if transpose:
        t = _mT(xp, t)
    r = xp.matmul(b, t) if rightside else xp.matmul(t, b)
    return r * alpha if alpha != 1 else r


@trmm.vjp
def _(g, out, a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    # M = op(tri(A)): left out = alpha M B, right out = alpha B M
    gb = F.linalg_trmm(a, g, transpose=not transpose, rightside=rightside, lower=lower,
                       alpha=alpha)
    gm = F.matmul(mT(b), g) if rightside else F.matmul(g, mT(b))
    gt = mT(gm) if transpose else gm
    return gt * (alpha * _tri_mask(a, lower)), gb


def _factor(rng, *shape):
    """A well-conditioned triangular factor: diagonal in [1, 2], entries in [-1, 1] elsewhere
    (the triangle the op must ignore holds noise too)."""
    return np.where(np.eye(shape[-1], dtype=bool), rng.uniform(1, 2, shape),
                    rng.uniform(-1, 1, shape))


trmm.samples(
    lambda rng: Sample(_u(rng, 3, 3), _u(rng, 3, 2)),
    lambda rng: Sample(_u(rng, 2, 3, 3), _u(rng, 2, 4, 3), rightside=True, lower=False,
                       transpose=True, alpha=2.0),
    lambda rng: Sample(_u(rng, 2, 3, 3), _u(rng, 2, 3, 2), transpose=True, alpha=-0.5),
    lambda rng: Sample(_u(rng, 2, 2, 2), _u(rng, 2, 3, 2), rightside=True),
)


# -- potri ----------------------------------------------------------------------------------------
def _potri_infer(a, lower=True):
    _check_matrices("linalg_potri", a)
    return a


potri = defop("linalg_potri", ("A",), {"lower": Bool(True)}, infer=_potri_infer,
              aliases=("_linalg_potri",),
              doc="Inverse of B from its Cholesky factor A (``potrf``'s output): "
                  "``A^-T A^-1`` for lower-triangular A (B = A A^T), ``A^-1 A^-T`` with "
                  "``lower=False`` (B = A^T A); only that triangle of A is read and the result "
                  "is exactly symmetric.")


@potri.impl
def _(xp, a, lower=True):
    _potri_infer(I.Spec(a.shape, a.dtype))
    ti = xp.linalg.inv(_tri(xp, a, lower))
    r = xp.matmul(_mT(xp, ti), ti) if lower else xp.matmul(ti, _mT(xp, ti))
    return _sym_from(xp, r)


@potri.vjp
def _(g, out, a, lower=True):
    # lower: X = (L L^T)^-1, dL = -tril(X (G + G^T) L^-T); upper: dU = -triu(U^-T (G + G^T) X)
    gs = g + mT(g)
    if lower:
        d = F.linalg_trsm(a, F.matmul(out, gs), rightside=True, transpose=True, alpha=-1.0)
    else:
        d = F.linalg_trsm(a, F.matmul(gs, out), transpose=True, lower=False, alpha=-1.0)
    return (d * _tri_mask(a, lower),)


potri.samples(
    lambda rng: Sample(_factor(rng, 3, 3)),
    lambda rng: Sample(_factor(rng, 2, 3, 3), lower=False),
    lambda rng: Sample(np.linalg.cholesky(_spd(rng, 2))),
)


# -- sumlogdiag -----------------------------------------------------------------------------------
def _sumlogdiag_infer(a):
    _check_matrices("linalg_sumlogdiag", a)
    return I.Spec(_batch(a.shape), a.dtype)


sumlogdiag = defop("linalg_sumlogdiag", ("A",), infer=_sumlogdiag_infer,
                   aliases=("_linalg_sumlogdiag",),
                   doc="Sum of the natural logarithms of the diagonal of each square matrix: "
                       "(..., n, n) -> (...); a single matrix gives shape (1,). A non-positive "
                       "diagonal entry gives nan/-inf (no error), as MXNet.")


def _diag_index(n, k=0):
    """Flat indices of diagonal ``k`` of an (n, n) matrix."""
    i = np.arange(n - abs(k))
    return (i + max(-k, 0)) * n + (i + max(k, 0))


def _flat(xp, a):
    return xp.reshape(a, tuple(a.shape[:-2]) + (a.shape[-2] * a.shape[-1],))


@sumlogdiag.impl
def _(xp, a):
    out = _sumlogdiag_infer(I.Spec(a.shape, a.dtype))
    d = xp.take(_flat(xp, a), _const(xp, _diag_index(a.shape[-1]), a), axis=a.ndim - 2)
    return xp.reshape(xp.sum(xp.log(d), axis=-1), out.shape)


@sumlogdiag.vjp
def _(g, out, a):
    gb = F.reshape(g, shape=a.shape[:-2] + (1,))
    return (F.linalg_makediag(gb / F.linalg_extractdiag(a)),)


sumlogdiag.samples(
    lambda rng: Sample(_u(rng, 3, 3) + np.diag(rng.uniform(1.5, 3, 3))),
    lambda rng: Sample(_u(rng, 2, 2, 4, 4) + 2 * np.eye(4)),
)


# -- gelqf ----------------------------------------------------------------------------------------
def _gelqf_infer(a):
    op = "linalg_gelqf"
    _check_matrices(op, a, square=False)
    I.expect(a.shape[-2] <= a.shape[-1], op, "A of shape (..., m, n) with m <= n",
             f"A.shape={a.shape}")
    return I.Spec(a.shape, a.dtype), I.Spec(a.shape[:-1] + (a.shape[-2],), a.dtype)


gelqf = defop("linalg_gelqf", ("A",), infer=_gelqf_infer, nout=2, aliases=("_linalg_gelqf",),
              doc="LQ factorization of each matrix of A (..., m, n), m <= n, of full rank: returns "
                  "(Q, L) with A = L Q, Q (..., m, n) with orthonormal rows and L (..., m, m) "
                  "lower triangular; the signs are LAPACK's (gelqf + orglq).")


def _lq_householder(xp, a):
    """(Q, L) of A = L Q by Householder reflections from the right, as LAPACK's gelq2 + orgl2
    (same reflector signs: L[k, k] = -sign(alpha) * norm, and no reflection where the rest of
    the row is already zero), in plain array operations for namespaces without ``linalg.qr``."""
    m, n = a.shape[-2], a.shape[-1]
    cols = xp.arange(n, device=a.device)
    zero = xp.zeros_like(a[..., :1, :1])
    one = zero + 1
    w, refl = a, []
    for k in range(m):
        row = w[..., k:k + 1, :]                               # (..., 1, n)
        alpha = row[..., k:k + 1]                              # (..., 1, 1)
        tail = xp.where(cols > k, row, xp.zeros_like(row))
        xnorm = xp.sqrt(xp.sum(tail * tail, axis=-1, keepdims=True))
        norm = xp.sqrt(alpha * alpha + xnorm * xnorm)
        moves = xnorm > 0
        beta = xp.where(moves, xp.where(alpha >= 0, -norm, norm), alpha)
        tau = xp.where(moves, (beta - alpha) / xp.where(moves, beta, one), zero)
        v = tail / xp.where(moves, alpha - beta, one) + xp.astype(cols == k, a.dtype)
        w = w - (tau * xp.sum(w * v, axis=-1, keepdims=True)) * v     # w H_k, H_k = I - tau v v^T
        refl.append((tau, v))
    L = _tri(xp, w[..., :m], True)
    q = xp.broadcast_to(xp.eye(m, n, dtype=a.dtype, device=a.device), a.shape)
    for tau, v in reversed(refl):                              # Q = [I 0] H_{m-1} ... H_0
        q = q - (tau * xp.sum(q * v, axis=-1, keepdims=True)) * v
    return q, L


@gelqf.impl
def _(xp, a):
    _gelqf_infer(I.Spec(a.shape, a.dtype))
    qr = getattr(xp.linalg, "qr", None)
    if qr is None:
        return _lq_householder(xp, a)
    q, r = qr(_mT(xp, a))          # A^T = Q' R is LAPACK's geqrf on A^T, which MXNet's gelqf runs
    return _mT(xp, q), _mT(xp, r)


def _copy_ltu(x):
    """The symmetric matrix with x's lower triangle (MXNet's copyLTU)."""
    return x * _tri_mask(x, True) + mT(x * _tri_mask(x, True, 0.0))


@gelqf.vjp
def _(g, out, a):
    # MXNet's rule: dA = L^-T (dQ + copyLTU(M) Q), M = L^T dL - dQ Q^T (only dL's lower
    # triangle enters M's lower triangle)
    gq, gl = g
    q, L = out
    m = F.matmul(mT(L), gl) - F.matmul(gq, mT(q))
    return (F.linalg_trsm(L, gq + F.matmul(_copy_ltu(m), q), transpose=True),)


gelqf.samples(
    lambda rng: Sample(_u(rng, 3, 5) + 1.5 * np.eye(3, 5)),
    lambda rng: Sample(_u(rng, 2, 3, 4) - 1.5 * np.eye(3, 4)),
    lambda rng: Sample(_u(rng, 2, 1, 3, 3) + 2 * np.eye(3)),
)


# -- syevd ----------------------------------------------------------------------------------------
def _syevd_infer(a):
    _check_matrices("linalg_syevd", a)
    return I.Spec(a.shape, a.dtype), I.Spec(a.shape[:-1], a.dtype)


syevd = defop("linalg_syevd", ("A",), infer=_syevd_infer, nout=2, aliases=("_linalg_syevd",),
              doc="Eigendecomposition of each symmetric matrix (its lower triangle is read): "
                  "returns (U, L) with U A = diag(L) U, the rows of U (..., n, n) orthonormal "
                  "eigenvectors, each with its largest-magnitude entry positive (the first one "
                  "on a tie), and L (..., n) the eigenvalues in ascending order.")


@functools.lru_cache(maxsize=64)
def _jacobi_plan(n):
    """Round-robin pairings of 0..n-1 (n even), one per round: the permutation matrix P of the
    pairing (P[i, partner(i)] = 1) and sigma (+1 where i is the pair's smaller index, else -1)."""
    others, rounds = list(range(1, n)), []
    for r in range(n - 1):
        order = [0] + others[r:] + others[:r]
        partner = np.empty(n, np.int64)
        for i in range(n // 2):
            p, q = order[i], order[n - 1 - i]
            partner[p], partner[q] = q, p
        pm = np.zeros((n, n))
        pm[np.arange(n), partner] = 1
        rounds.append((pm, np.where(np.arange(n) < partner, 1.0, -1.0)))
    return rounds


#: Jacobi skips (and stops at) off-diagonal entries below this many eps times ||S||_F.
_JACOBI_TOL = 2.0


def _eigh_jacobi(xp, s, max_sweeps=60):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric ``s`` by cyclic Jacobi
    rotations (Golub & Van Loan 8.5): each round rotates n/2 disjoint pairs at once, as one
    rotation matrix R and ``R^T S R``. Plain elementwise ops, reductions and matmuls (no gather,
    no host round trip but one convergence test per sweep), for namespaces without
    ``linalg.eigh``."""
    n = s.shape[-1]
    npad = n + n % 2                   # an odd n gets a decoupled zero row/column, dropped after
    if npad != n:
        zc = xp.zeros(tuple(s.shape[:-1]) + (1,), dtype=s.dtype, device=s.device)
        s = xp.concat([s, zc], axis=-1)
        s = xp.concat([s, xp.zeros_like(s[..., :1, :])], axis=-2)
    eye = xp.eye(npad, dtype=s.dtype, device=s.device)
    v = xp.broadcast_to(eye, s.shape)
    plan = [(xp.asarray(pm, dtype=s.dtype, device=s.device),
             xp.asarray(sg, dtype=s.dtype, device=s.device)) for pm, sg in _jacobi_plan(npad)]
    # rotations of entries below thr are skipped (R = I there, exactly), so converged matrices
    # stop changing; thr is relative to the Frobenius norm, which the rotations keep
    thr = xp.sqrt(xp.sum(_flat(xp, s * s), axis=-1, keepdims=True)) * (
        _JACOBI_TOL * float(np.finfo(np.dtype(s.dtype)).eps))
    for _ in range(max_sweeps):
        for pm, sigma in plan:
            # per index i of pair (p, q): tau = (a_qq - a_pp) / (2 a_pq), c and t = s / c, the
            # same for p and q bit for bit (a_pq from the symmetrised pair)
            d = xp.sum(s * eye, axis=-1)
            apq = xp.sum((s + _mT(xp, s)) * pm, axis=-1) * 0.5
            dpart = xp.sum(d[..., None, :] * pm, axis=-1)
            still = xp.abs(apq) > thr
            tau = sigma * (dpart - d) / (2 * xp.where(still, apq, xp.ones_like(apq)))
            t = xp.where(tau >= 0, xp.ones_like(tau), -xp.ones_like(tau)) / (
                xp.abs(tau) + xp.sqrt(1 + tau * tau))
            t = xp.where(still, t, xp.zeros_like(t))
            c = 1 / xp.sqrt(1 + t * t)
            # R[p, p] = R[q, q] = c, R[p, q] = s, R[q, p] = -s
            rot = eye * c[..., :, None] + pm * (sigma * t * c)[..., :, None]
            s = xp.matmul(xp.matmul(_mT(xp, rot), s), rot)
            v = xp.matmul(v, rot)
        off = xp.abs(_flat(xp, (s + _mT(xp, s)) * (1 - eye))) * 0.5     # as the rounds see it
        if bool(xp.all(xp.max(off, axis=-1, keepdims=True) <= thr)):
            break
    w = xp.sum(s * eye, axis=-1)[..., :n]
    v = v[..., :n, :n]
    # ascending order: a one-hot permutation, exact on every backend
    order = xp.argsort(w, axis=-1)
    perm = xp.astype(xp.arange(n, device=s.device)[:, None] == order[..., None, :], s.dtype)
    return xp.sum(w[..., :, None] * perm, axis=-2), xp.matmul(v, perm)


def _eigvec_signs(xp, u):
    """Flip each row of ``u`` so that its largest-magnitude entry (the first on a tie) is
    positive: MXNet's deterministic eigenvector signs."""
    n = u.shape[-1]
    at = xp.argmax(xp.abs(u), axis=-1, keepdims=True)                     # (..., n, 1)
    hit = xp.arange(n, device=u.device) == at
    lead = xp.sum(xp.where(hit, u, xp.zeros_like(u)), axis=-1, keepdims=True)
    return xp.where(lead < 0, -u, u)


@syevd.impl
def _(xp, a):
    _syevd_infer(I.Spec(a.shape, a.dtype))
    s = _sym_from(xp, a)                               # LAPACK's syevd reads the lower triangle
    eigh = getattr(xp.linalg, "eigh", None)
    w, v = eigh(s) if eigh is not None else _eigh_jacobi(xp, s)
    return _eigvec_signs(xp, _mT(xp, v)), w


_GAP_EPS = {"float32": 1e-30, "float64": 1e-100}


@syevd.vjp
def _(g, out, a):
    # MXNet's rule: G = U^T Y U with Y_ii = dL_i, Y_ij = (X_ij - X_ji) / (2 (L_i - L_j)), X = dU
    # U^T, the eigen gap clamped to >= eps. G is symmetric; A's upper triangle is never read, so
    # each lower entry gets the symmetric pair's sum (the diagonal once).
    gu, gl = g
    u, lam = out
    n = a.shape[-1]
    x = F.matmul(gu, mT(u))
    lr = F.reshape(lam, shape=lam.shape + (1,))
    lc = F.reshape(lam, shape=lam.shape[:-1] + (1, n))
    gap = F.maximum(F.abs(lr - lc), _GAP_EPS[np.dtype(a.dtype).name])
    sgn = _tri_mask(a, True, 0.0) - _tri_mask(a, False, 0.0)     # +1 below, -1 above the diagonal
    y = (x - mT(x)) * sgn / (gap * 2.0) + F.linalg_makediag(gl)
    gsym = F.matmul(mT(u), F.matmul(y, u))
    return (gsym * _tri_mask(a, True, 0.5) * 2.0,)


def _sym_sample(rng, *batch, n=3, spread=1.0):
    """A symmetric matrix with well-separated eigenvalues and random eigenvectors, plus noise in
    the (ignored) upper triangle."""
    q, _ = np.linalg.qr(rng.uniform(-1, 1, (*batch, n, n)))
    lam = np.arange(n) * spread - n / 3 + rng.uniform(-0.2, 0.2, (*batch, n))
    s = (q * lam[..., None, :]) @ np.swapaxes(q, -1, -2)
    return np.tril(s) + np.triu(rng.uniform(-1, 1, s.shape), 1)


syevd.samples(
    lambda rng: Sample(_sym_sample(rng)),
    lambda rng: Sample(_sym_sample(rng, 2, n=4, spread=0.7)),
    lambda rng: Sample(_sym_sample(rng, 2, 1, n=2)),
)


# -- extractdiag / makediag -----------------------------------------------------------------------
def _extract_checks(op, a, offset):
    _check_matrices(op, a)
    n = a.shape[-1]
    I.expect(abs(offset) < n, op, f"|offset| < n for matrices of size n={n}",
             f"offset={offset}")


def _extractdiag_infer(a, offset=0):
    _extract_checks("linalg_extractdiag", a, offset)
    return I.Spec(a.shape[:-2] + (a.shape[-1] - abs(offset),), a.dtype)


extractdiag = defop("linalg_extractdiag", ("A",), {"offset": Int(0)}, infer=_extractdiag_infer,
                    aliases=("_linalg_extractdiag",),
                    doc="Diagonal ``offset`` (> 0 above, < 0 below the main one) of each square "
                        "matrix: (..., n, n) -> (..., n - |offset|).")


@extractdiag.impl
def _(xp, a, offset=0):
    _extractdiag_infer(I.Spec(a.shape, a.dtype), offset)
    return xp.take(_flat(xp, a), _const(xp, _diag_index(a.shape[-1], offset), a),
                   axis=a.ndim - 2)


def _makediag_infer(a, offset=0):
    op = "linalg_makediag"
    I.expect(a.ndim >= 1, op, "A of shape (..., k) with ndim >= 1", f"A.shape={a.shape}")
    _check_float(op, a)
    n = a.shape[-1] + abs(offset)
    return I.Spec(a.shape[:-1] + (n, n), a.dtype)


makediag = defop("linalg_makediag", ("A",), {"offset": Int(0)}, infer=_makediag_infer,
                 aliases=("_linalg_makediag",),
                 doc="Square matrices with A's last axis on diagonal ``offset``, zeros elsewhere: "
                     "(..., k) -> (..., k + |offset|, k + |offset|).")


def _placed(xp, a, src, shape):
    """Gather A's entries into a new array: ``src`` holds 0 (zero) or 1 + the index in A's last
    axis for each output element (a gather, so no backend needs a scatter)."""
    zc = xp.zeros(tuple(a.shape[:-1]) + (1,), dtype=a.dtype, device=a.device)
    vals = xp.concat([zc, a], axis=-1)
    return xp.reshape(xp.take(vals, _const(xp, src, a), axis=vals.ndim - 1), shape)


@functools.lru_cache(maxsize=256)
def _makediag_src(k, offset):
    n = k + abs(offset)
    src = np.zeros(n * n, np.int64)
    src[_diag_index(n, offset)] = 1 + np.arange(k)
    return src


@makediag.impl
def _(xp, a, offset=0):
    out = _makediag_infer(I.Spec(a.shape, a.dtype), offset)
    return _placed(xp, a, _makediag_src(a.shape[-1], offset), out.shape)


extractdiag.vjp(lambda g, out, a, offset=0: (F.linalg_makediag(g, offset=offset),))
makediag.vjp(lambda g, out, a, offset=0: (F.linalg_extractdiag(g, offset=offset),))

extractdiag.samples(lambda rng: Sample(_u(rng, 4, 4)),
                    lambda rng: Sample(_u(rng, 2, 3, 3), offset=1),
                    lambda rng: Sample(_u(rng, 3, 3), offset=-2))
makediag.samples(lambda rng: Sample(_u(rng, 3)),
                 lambda rng: Sample(_u(rng, 2, 3), offset=-1),
                 lambda rng: Sample(_u(rng, 2, 1, 2), offset=2))


# -- extracttrian / maketrian ---------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _trian_index(n, offset, lower):
    """Flat indices, in MXNet's order, of the triangle of an (n, n) matrix: the lower one
    (``offset < 0``, or 0 and ``lower``) row by row from diagonal ``offset`` down; the upper one
    as the lower one of the transpose (column by column)."""
    d = abs(offset)
    rows = [(i, j) for i in range(d, n) for j in range(i - d + 1)]
    if offset > 0 or (offset == 0 and not lower):
        return np.array([j * n + i for i, j in rows], np.int64)
    return np.array([i * n + j for i, j in rows], np.int64)


def _extracttrian_infer(a, offset=0, lower=True):
    _extract_checks("linalg_extracttrian", a, offset)
    m = a.shape[-1] - abs(offset)
    return I.Spec(a.shape[:-2] + (m * (m + 1) // 2,), a.dtype)


extracttrian = defop("linalg_extracttrian", ("A",), {"offset": Int(0), "lower": Bool(True)},
                     infer=_extracttrian_infer, aliases=("_linalg_extracttrian",),
                     doc="The triangle of each square matrix as a vector: ``offset = k < 0`` the "
                         "part on or below diagonal k (row-major), ``k > 0`` on or above diagonal "
                         "k (column-major), ``k = 0`` the lower (``lower``) or upper triangle. "
                         "(..., n, n) -> (..., m (m + 1) / 2), m = n - |k|.")


@extracttrian.impl
def _(xp, a, offset=0, lower=True):
    _extracttrian_infer(I.Spec(a.shape, a.dtype), offset, lower)
    return xp.take(_flat(xp, a), _const(xp, _trian_index(a.shape[-1], offset, lower), a),
                   axis=a.ndim - 2)


def _maketrian_infer(a, offset=0, lower=True):
    op = "linalg_maketrian"
    I.expect(a.ndim >= 1, op, "A of shape (..., k) with ndim >= 1", f"A.shape={a.shape}")
    _check_float(op, a)
    k = a.shape[-1]
    m = int((np.sqrt(8 * k + 1) - 1) // 2)
    while m * (m + 1) // 2 < k:   # guard the float square root
        m += 1
    I.expect(m * (m + 1) // 2 == k, op, "a last axis of length m (m + 1) / 2 (a triangle)",
             f"A.shape={a.shape}")
    n = m + abs(offset)
    return I.Spec(a.shape[:-1] + (n, n), a.dtype)


maketrian = defop("linalg_maketrian", ("A",), {"offset": Int(0), "lower": Bool(True)},
                  infer=_maketrian_infer, aliases=("_linalg_maketrian",),
                  doc="The inverse of ``extracttrian``: square matrices (..., n, n) with A's "
                      "last axis (length m (m + 1) / 2) placed in the triangle that "
                      "``extracttrian`` with the same ``offset``/``lower`` reads "
                      "(n = m + |offset|), zeros elsewhere.")


@functools.lru_cache(maxsize=256)
def _maketrian_src(n, offset, lower):
    idx = _trian_index(n, offset, lower)
    src = np.zeros(n * n, np.int64)
    src[idx] = 1 + np.arange(idx.size)
    return src


@maketrian.impl
def _(xp, a, offset=0, lower=True):
    out = _maketrian_infer(I.Spec(a.shape, a.dtype), offset, lower)
    return _placed(xp, a, _maketrian_src(out.shape[-1], offset, lower), out.shape)


extracttrian.vjp(lambda g, out, a, offset=0, lower=True:
                 (F.linalg_maketrian(g, offset=offset, lower=lower),))
maketrian.vjp(lambda g, out, a, offset=0, lower=True:
              (F.linalg_extracttrian(g, offset=offset, lower=lower),))

extracttrian.samples(lambda rng: Sample(_u(rng, 3, 3)),
                     lambda rng: Sample(_u(rng, 2, 4, 4), lower=False),
                     lambda rng: Sample(_u(rng, 4, 4), offset=1),
                     lambda rng: Sample(_u(rng, 2, 3, 3), offset=-1, lower=False))
maketrian.samples(lambda rng: Sample(_u(rng, 6)),
                  lambda rng: Sample(_u(rng, 2, 6), lower=False),
                  lambda rng: Sample(_u(rng, 3), offset=2),
                  lambda rng: Sample(_u(rng, 2, 1, 6), offset=-1))
