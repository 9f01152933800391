"""Independent NumPy references for the linear-algebra ops (loops and einsum, not the op bodies)."""
from __future__ import annotations

import numpy as np


def _dot(a, b, transpose_a=False, transpose_b=False):
    if a.ndim == 1 and b.ndim == 1:
        return np.array([np.sum(a * b)], dtype=a.dtype)
    if transpose_a:         # contract lhs's first axis: move it last
        a = np.moveaxis(a, 0, -1)
    if transpose_b:         # contract rhs's last axis: move it first
        b = np.moveaxis(b, -1, 0)
    return np.tensordot(a, b, axes=([a.ndim - 1], [0])).astype(a.dtype)


def _batch_dot(a, b, transpose_a=False, transpose_b=False):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    out = np.zeros(a.shape[:-1] + b.shape[-1:], dtype=a.dtype)
    for i in range(a.shape[0]):
        out[i] = np.einsum("ij,jk->ik", a[i], b[i])
    return out


def _matmul(a, b):
    r = np.asarray(np.einsum("...i,i...->...", a, b)) if a.ndim == b.ndim == 1 else a @ b
    return np.reshape(r, (1,)) if np.ndim(r) == 0 else r


def _gemm2(a, b, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    a, b = np.swapaxes(a, axis, -2), np.swapaxes(b, axis, -2)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return np.swapaxes(alpha * np.einsum("...ij,...jk->...ik", a, b), axis, -2).astype(a.dtype)


def _gemm(a, b, c, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2):
    return (_gemm2(a, b, transpose_a, transpose_b, alpha, axis) + beta * c).astype(a.dtype)


def _batched(f, a, *extra):
    """Apply ``f`` to every matrix of ``a`` (..., n, n); scalar results keep shape (1,)."""
    mats = a.reshape((-1,) + a.shape[-2:])
    outs = [f(m, *(e.reshape((-1,) + e.shape[-2:])[i] for e in extra)) for i, m in enumerate(mats)]
    lead = a.shape[:-2]
    return np.array(outs, dtype=a.dtype).reshape(lead + np.shape(outs[0]) if lead else
                                                  (np.shape(outs[0]) or (1,)))


def _slogdet(a):
    return (_batched(lambda m: np.sign(np.linalg.det(m)), a),
            _batched(lambda m: np.log(np.abs(np.linalg.det(m))), a))


def _cholesky(m):
    n = m.shape[0]
    L = np.zeros_like(m)
    for j in range(n):
        L[j, j] = np.sqrt(m[j, j] - np.sum(L[j, :j] ** 2))
        for i in range(j + 1, n):
            L[i, j] = (m[i, j] - np.sum(L[i, :j] * L[j, :j])) / L[j, j]
    return L


def _potrf(a, lower=True):
    L = _batched(_cholesky, a)
    return L if lower else np.swapaxes(L, -1, -2)


def _trsm(a, b, transpose=False, rightside=False, lower=True, alpha=1.0):
    t = np.tril(a) if lower else np.triu(a)
    if transpose:
        t = np.swapaxes(t, -1, -2)
    inv = _batched(np.linalg.inv, t)
    return (alpha * (b @ inv if rightside else inv @ b)).astype(b.dtype)


REFERENCES = {
    "dot": _dot,
    "batch_dot": _batch_dot,
    "matmul": _matmul,
    "linalg_gemm": _gemm,
    "linalg_gemm2": _gemm2,
    "linalg_inverse": lambda a: _batched(np.linalg.inv, a),
    "linalg_det": lambda a: _batched(np.linalg.det, a),
    "linalg_slogdet": _slogdet,
    "linalg_potrf": _potrf,
    "linalg_trsm": _trsm,
}
