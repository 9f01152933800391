"""Independent NumPy references for ``mxplug/ops/linalg_extra.py`` (loops over the matrices of a
batch, written from MXNet 1.x's documentation, not from the op bodies)."""
from __future__ import annotations

import numpy as np


def _each(a, f, nout=1):
    """Apply ``f`` to every matrix (or vector, for ``a`` of trailing ndim 1) of a batch."""
    lead = a.shape[:-2]
    mats = a.reshape((-1,) + a.shape[-2:])
    outs = [f(m) for m in mats]
    if nout == 1:
        outs = [(o,) for o in outs]
    res = []
    for k in range(len(outs[0])):
        part = np.array([o[k] for o in outs], dtype=a.dtype)
        res.append(part.reshape(lead + part.shape[1:]) if lead else
                   (part[0] if part.shape[1:] else part.reshape(1)))
    return res[0] if nout == 1 else tuple(res)


def _each_vec(a, f):
    lead = a.shape[:-1]
    rows = a.reshape(-1, a.shape[-1])
    outs = np.array([f(r) for r in rows], dtype=a.dtype)
    return outs.reshape(lead + outs.shape[1:])


def _lq(m):
    """LAPACK's gelq2 + orgl2 in scalar-ish loops: A = L Q."""
    a = m.astype(np.float64).copy()
    rows, cols = a.shape
    vs, taus = [], []
    for k in range(rows):
        alpha, x = a[k, k], a[k, k + 1:].copy()
        xnorm = np.sqrt(np.sum(x * x))
        if xnorm == 0:
            tau, beta, v = 0.0, alpha, np.zeros(cols)
        else:
            beta = -np.copysign(np.hypot(alpha, xnorm), alpha)
            tau = (beta - alpha) / beta
            v = np.zeros(cols)
            v[k] = 1.0
            v[k + 1:] = x / (alpha - beta)
        for i in range(k, rows):           # apply H = I - tau v v^T from the right to rows k..
            a[i] -= tau * np.dot(a[i], v) * v
        a[k, k], a[k, k + 1:] = beta, 0.0
        vs.append(v)
        taus.append(tau)
    L = np.tril(a[:, :rows])
    q = np.eye(rows, cols)
    for v, tau in zip(reversed(vs), reversed(taus)):
        q = q - tau * np.outer(q @ v, v)
    return q, L


def _gelqf(a):
    return _each(a, _lq, nout=2)


def _syrk(a, transpose=False, alpha=1.0):
    spec = "...ji,...jk->...ik" if transpose else "...ij,...kj->...ik"
    return (alpha * np.einsum(spec, a, a)).astype(a.dtype)


def _trmm(a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    t = np.tril(a) if lower else np.triu(a)
    if transpose:
        t = np.swapaxes(t, -1, -2)
    r = np.einsum("...ij,...jk->...ik", b, t) if rightside else np.einsum("...ij,...jk->...ik",
                                                                          t, b)
    return (alpha * r).astype(b.dtype)


def _potri(a, lower=True):
    def one(m):
        t = np.tril(m) if lower else np.triu(m)
        return np.linalg.inv(t @ t.T if lower else t.T @ t)
    return _each(a, one)


def _sumlogdiag(a):
    return _each(a, lambda m: sum(np.log(m[i, i]) for i in range(m.shape[0])))


def _syevd(a):
    def one(m):
        s = np.tril(m) + np.tril(m, -1).T
        w, v = np.linalg.eigh(s.astype(np.float64))
        u = v.T.copy()
        for r in range(u.shape[0]):
            best = 0
            for j in range(1, u.shape[1]):
                if abs(u[r, j]) > abs(u[r, best]):
                    best = j
            if u[r, best] < 0:
                u[r] = -u[r]
        return u, w
    return _each(a, one, nout=2)


def _extractdiag(a, offset=0):
    return np.ascontiguousarray(np.diagonal(a, offset, -2, -1))


def _makediag(a, offset=0):
    return _each_vec(a, lambda v: np.diag(v, offset))


def _trian_cells(n, offset, lower):
    """(row, col) of the triangle's entries in MXNet's order."""
    d = abs(offset)
    cells = []
    for i in range(d, n):
        for j in range(0, i - d + 1):
            cells.append((i, j))
    if offset > 0 or (offset == 0 and not lower):
        cells = [(j, i) for i, j in cells]
    return cells


def _extracttrian(a, offset=0, lower=True):
    cells = _trian_cells(a.shape[-1], offset, lower)
    return np.stack([a[..., i, j] for i, j in cells], axis=-1)


def _maketrian(a, offset=0, lower=True):
    k = a.shape[-1]
    m = 0
    while m * (m + 1) // 2 < k:
        m += 1
    n = m + abs(offset)
    out = np.zeros(a.shape[:-1] + (n, n), dtype=a.dtype)
    for t, (i, j) in enumerate(_trian_cells(n, offset, lower)):
        out[..., i, j] = a[..., t]
    return out


REFERENCES = {
    "linalg_gelqf": _gelqf,
    "linalg_syrk": _syrk,
    "linalg_trmm": _trmm,
    "linalg_potri": _potri,
    "linalg_sumlogdiag": _sumlogdiag,
    "linalg_syevd": _syevd,
    "linalg_extractdiag": _extractdiag,
    "linalg_makediag": _makediag,
    "linalg_extracttrian": _extracttrian,
    "linalg_maketrian": _maketrian,
}
