"""MXNet 1.x's gelqf / syrk / trmm / potri / sumlogdiag / syevd / extractdiag / makediag /
extracttrian / maketrian (``mxplug/ops/linalg_extra.py``): MXNet's documented examples and
values MXNet 1.9.1 computed, independent NumPy computations, finite-difference gradients, the
array-operation fallbacks of gelqf/syevd (what OpenCL runs), shapes, dtypes and errors; on every
backend through ``ctx``."""
from __future__ import annotations

import types

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.ops import REGISTRY, apply
from mxplug.ops import linalg_extra as LX
from mxplug.ops.infer import Spec
from mxplug.testing.checks import numeric_grad

LA = mx.nd.linalg
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _need(ctx, dtype):
    if dtype not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no {dtype}")


def nd(x, ctx, dtype="float64"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx, dtype=dtype)


def close(got, want, dtype="float64"):
    np.testing.assert_allclose(got.asnumpy() if hasattr(got, "asnumpy") else got,
                               np.asarray(want, dtype=np.float64), **TOL[dtype])


# -- MXNet's documented examples (each checked against MXNet 1.9.1) -------------------------------
def test_documented_examples(ctx):
    a = nd([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], ctx, "float32")
    q, lq = LA.gelqf(a)
    close(q, [[-0.26726124, -0.53452248, -0.80178373], [0.87287156, 0.21821789, -0.43643578]],
          "float32")
    close(lq, [[-3.74165739, 0.0], [-8.55235974, 1.96396101]], "float32")
    close(LA.syrk(a), [[14.0, 32.0], [32.0, 77.0]], "float32")
    close(LA.syrk(a, transpose=True), [[17, 22, 27], [22, 29, 36], [27, 36, 45]], "float32")
    close(LA.syrk(nd([[[1.0, 1.0]], [[0.1, 0.1]]], ctx, "float32"), alpha=2.0),
          [[[4.0]], [[0.04]]], "float32")
    close(LA.trmm(nd([[1.0, 0], [1.0, 1.0]], ctx, "float32"), nd(np.ones((2, 3)), ctx, "float32"),
                  alpha=2.0), [[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]], "float32")
    close(LA.potri(nd([[2.0, 0], [0.5, 2.0]], ctx, "float32")),
          [[0.265625, -0.0625], [-0.0625, 0.25]], "float32")
    close(LA.sumlogdiag(nd([[[1.0, 1.0], [1.0, 7.0]], [[3.0, 0], [0, 17.0]]], ctx, "float32")),
          [np.log(7.0), np.log(51.0)], "float32")
    u, lam = LA.syevd(nd([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0], [2.0, 5.0]]], ctx, "float32"))
    close(u, [[[0.89442719, -0.4472136], [0.4472136, 0.89442719]],
              [[0.92387953, -0.38268343], [0.38268343, 0.92387953]]], "float32")
    close(lam, [[0.0, 5.0], [0.17157288, 5.82842712]], "float32")
    m = nd([[1.0, 2.0], [3.0, 4.0]], ctx, "float32")
    close(LA.extractdiag(m), [1.0, 4.0], "float32")
    close(LA.extractdiag(m, offset=1), [2.0], "float32")
    close(LA.makediag(nd([1.0, 2.0], ctx, "float32"), offset=1),
          [[0, 1, 0], [0, 0, 2], [0, 0, 0]], "float32")
    close(LA.extracttrian(m), [1.0, 3.0, 4.0], "float32")
    close(LA.extracttrian(m, lower=False), [1.0, 2.0, 4.0], "float32")
    close(LA.extracttrian(m, offset=-1), [3.0], "float32")
    v = nd([1.0, 2.0, 3.0], ctx, "float32")
    close(LA.maketrian(v), [[1, 0], [2, 3]], "float32")
    close(LA.maketrian(v, lower=False), [[1, 2], [0, 3]], "float32")
    close(LA.maketrian(v, offset=1), [[0, 1, 2], [0, 0, 3], [0, 0, 0]], "float32")
    close(LA.maketrian(v, offset=-1), [[0, 0, 0], [1, 0, 0], [2, 3, 0]], "float32")


def test_triangle_layouts_match_mxnet(ctx):
    """MXNet 1.9.1's order of the packed entries: lower triangles row by row, upper ones column
    by column (values MXNet printed for A = 1..9 and A = 1..6)."""
    a = nd(np.arange(1.0, 10.0).reshape(3, 3), ctx, "float32")
    got = {(k, lo): LA.extracttrian(a, offset=k, lower=lo).asnumpy().tolist()
           for k, lo in [(0, True), (0, False), (1, True), (-1, False), (2, True), (-2, True)]}
    assert got == {(0, True): [1, 4, 5, 7, 8, 9], (0, False): [1, 2, 5, 3, 6, 9],
                   (1, True): [2, 3, 6], (-1, False): [4, 7, 8], (2, True): [3], (-2, True): [7]}
    v6 = nd(np.arange(1.0, 7.0), ctx, "float32")
    assert LA.maketrian(v6, lower=False).asnumpy().tolist() == [[1, 2, 4], [0, 3, 5], [0, 0, 6]]
    assert LA.maketrian(v6, offset=1).asnumpy().tolist() == [
        [0, 1, 2, 4], [0, 0, 3, 5], [0, 0, 0, 6], [0, 0, 0, 0]]
    assert LA.makediag(nd([1.0, 2.0, 3.0], ctx, "float32"), offset=-2).asnumpy().tolist() == [
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 3, 0, 0]]


# -- values and gradients MXNet 1.9.1 computed (float64) ------------------------------------------
_S = [[0.5, -1.2, 0.3, 0.8], [-1.2, 2.0, 0.1, -0.4], [0.3, 0.1, -1.0, 0.6], [0.8, -0.4, 0.6, 1.5]]
_HU = [[0.3, -0.1, 0.2, 0.5], [0.0, 0.4, -0.3, 0.1], [-0.2, 0.2, 0.1, 0.0], [0.1, -0.5, 0.3, 0.2]]
_HL = [0.5, -0.2, 0.3, 0.1]
_MX_U = [[-0.1683386882, -0.1167796556, 0.9616108655, -0.1825627055],
         [0.85167745, 0.3792433545, 0.1311562333, -0.3370727542],
         [0.028854162, 0.5636968697, 0.2243273454, 0.7944120584],
         [-0.4954543819, 0.7244189597, -0.0882033328, -0.4711287493]]
_MX_L = [-1.1785724366, -0.3047687052, 1.4146551083, 3.0686860335]
_MX_GS = [[0.0280238933, -0.0946604383, -0.3334682358, 0.137811769],
          [-0.0946604383, -0.0038543407, -0.1132262419, 0.1355236581],
          [-0.3334682358, -0.1132262419, 0.3729844478, -0.0009949369],
          [0.137811769, 0.1355236581, -0.0009949369, 0.3028459996]]
_A = [[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [2.0, 0.5, 1.0, -1.0]]
_HQ = [[0.2, -0.1, 0.3, 0.4], [0.5, 0.0, -0.3, 0.1], [-0.2, 0.1, 0.2, 0.3]]
_H3 = [[0.1, 0.7, -0.4], [0.3, -0.2, 0.9], [0.6, 0.5, -0.1]]
_MX_Q = [[-0.2649064714, 0.5298129428, -0.1324532357, -0.7947194142],
         [0.0672212896, -0.7091846054, 0.4167719956, -0.5646588327],
         [-0.8748683526, -0.3532383818, -0.3131973851, 0.1083300938]]
_MX_LQ = [[-3.7749172176, 0.0, 0.0], [-0.6622661785, -2.6098665692, 0.0],
          [0.3973597071, 0.7612811048, -2.347883375]]
_MX_GA = [[-0.2298800052, -0.1712116268, -0.1278647182, -0.1420342037],
          [-0.5649574355, 0.167811589, -0.1696293335, -0.0490266284],
          [0.0195857771, -0.044842889, 0.0391605509, -0.7979340537]]
_F = [[2.0, 0, 0], [0.5, 1.5, 0], [-1.0, 0.25, 3.0]]
_MX_P = [[0.3103780864, -0.1211419753, 0.0601851852], [-0.1211419753, 0.4475308642, -0.0185185185],
         [0.0601851852, -0.0185185185, 0.1111111111]]
_MX_GF = [[0.0235146605, 0.0, 0.0], [-0.2097993827, 0.2873199588, 0.0],
          [-0.0078703704, -0.1461419753, 0.0215920782]]
MX = dict(rtol=0, atol=2e-10)    # the values are printed to 10 decimals


def _grads(ctx, fn, x, heads):
    x = nd(x, ctx)
    x.attach_grad()
    with autograd.record():
        outs = fn(x)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    autograd.backward(list(outs), [nd(h, ctx) for h in heads])
    return [o.asnumpy() for o in outs], x.grad.asnumpy()


def test_syevd_matches_mxnet_values_signs_and_gradient(ctx):
    _need(ctx, "float64")
    (u, lam), g = _grads(ctx, LA.syevd, _S, [_HU, _HL])
    np.testing.assert_allclose(u, _MX_U, **MX)
    np.testing.assert_allclose(lam, _MX_L, **MX)
    # ours is the derivative of what the op reads (the lower triangle); MXNet's is its
    # symmetric counterpart
    assert not np.triu(g, 1).any()
    np.testing.assert_allclose((g + g.T) / 2, _MX_GS, **MX)


def test_gelqf_matches_mxnet_values_and_gradient(ctx):
    _need(ctx, "float64")
    (q, lq), g = _grads(ctx, LA.gelqf, _A, [_HQ, _H3])
    np.testing.assert_allclose(q, _MX_Q, **MX)
    np.testing.assert_allclose(lq, _MX_LQ, **MX)
    np.testing.assert_allclose(g, _MX_GA, **MX)


def test_potri_matches_mxnet_values_and_gradient(ctx):
    _need(ctx, "float64")
    (p,), g = _grads(ctx, LA.potri, _F, [_H3])
    np.testing.assert_allclose(p, _MX_P, **MX)
    np.testing.assert_allclose(g, _MX_GF, **MX)
    np.testing.assert_allclose(LA.potri(nd(np.array(_F).T, ctx), lower=False).asnumpy(), _MX_P,
                               **MX)


def test_gelqf_lapack_signs_in_edge_cases(ctx):
    """LAPACK makes no reflection for a row whose tail is already zero (the pivot keeps its
    sign) and flips the sign of a negative pivot otherwise (MXNet 1.9.1's outputs)."""
    _need(ctx, "float64")
    q, lq = LA.gelqf(nd([[2.0, 0, 0], [1.0, -3.0, 0]], ctx))
    np.testing.assert_allclose(q.asnumpy(), [[1, 0, 0], [0, 1, 0]], atol=1e-15)
    np.testing.assert_allclose(lq.asnumpy(), [[2.0, 0], [1.0, -3.0]], atol=1e-15)
    q, lq = LA.gelqf(nd([[-2.0, 1, 0], [1.0, -3.0, 2]], ctx))
    np.testing.assert_allclose(lq.asnumpy(), [[5 ** 0.5, 0], [-(5 ** 0.5), 3.0]], atol=1e-14)
    np.testing.assert_allclose(q.asnumpy()[1], [-1 / 3, -2 / 3, 2 / 3], atol=1e-14)


def test_syevd_sign_rule_on_ties_and_diagonal_input(ctx):
    _need(ctx, "float64")
    u, lam = LA.syevd(nd([[3.0, 0, 0], [0, -1.0, 0], [0, 0, 2.0]], ctx))
    assert u.asnumpy().tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    assert lam.asnumpy().tolist() == [-1.0, 2.0, 3.0]
    u, lam = LA.syevd(nd([[2.0, 1.0], [1.0, 2.0]], ctx))     # |u0| == |u1|: the first decides
    r = 0.5 ** 0.5
    np.testing.assert_allclose(u.asnumpy(), [[r, -r], [r, r]], atol=1e-15)
    np.testing.assert_allclose(lam.asnumpy(), [1.0, 3.0], atol=1e-15)


# -- forward against independent NumPy computations -----------------------------------------------
@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelqf_factorizes_batches(ctx, rng, dtype):
    _need(ctx, dtype)
    a = rng.uniform(-1, 1, (2, 2, 3, 5)) + np.eye(3, 5)
    q, lq = (o.asnumpy() for o in LA.gelqf(nd(a, ctx, dtype)))
    assert q.shape == (2, 2, 3, 5) and lq.shape == (2, 2, 3, 3)
    assert q.dtype == lq.dtype == np.dtype(dtype)
    tol = TOL[dtype]
    assert not np.triu(lq, 1).any()
    np.testing.assert_allclose(np.einsum("...ij,...kj->...ik", q, q),
                               np.broadcast_to(np.eye(3), (2, 2, 3, 3)), **tol)
    np.testing.assert_allclose(np.einsum("...ij,...jk->...ik", lq, q), a, **tol)
    # |diag(L)| is the distance of row k from the span of rows 0..k-1 (Gram-Schmidt)
    for idx in np.ndindex(2, 2):
        m = a[idx]
        for k in range(3):
            basis = np.linalg.qr(m[:k].T)[0] if k else np.zeros((5, 0))
            resid = m[k] - basis @ (basis.T @ m[k])
            np.testing.assert_allclose(abs(lq[idx][k, k]), np.linalg.norm(resid), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_syevd_decomposes_batches(ctx, rng, dtype):
    _need(ctx, dtype)
    m = rng.uniform(-1, 1, (2, 3, 5, 5))
    a = m + np.swapaxes(m, -1, -2)
    noisy = np.tril(a) + np.triu(rng.uniform(-9, 9, a.shape), 1)    # the upper half is ignored
    u, lam = (o.asnumpy().astype(np.float64) for o in LA.syevd(nd(noisy, ctx, dtype)))
    assert u.shape == (2, 3, 5, 5) and lam.shape == (2, 3, 5)
    tol = dict(rtol=1e-3, atol=1e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(u @ a @ np.swapaxes(u, -1, -2),
                               lam[..., None] * np.eye(5), **tol)
    np.testing.assert_allclose(u @ np.swapaxes(u, -1, -2), np.broadcast_to(np.eye(5), u.shape),
                               **tol)
    assert (np.diff(lam, axis=-1) >= 0).all()
    lead = np.take_along_axis(u, np.abs(u).argmax(-1)[..., None], -1)
    assert (lead > 0).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_products_against_numpy(ctx, rng, dtype):
    _need(ctx, dtype)
    tol = TOL[dtype]
    a, b = rng.uniform(-1, 1, (2, 3, 4, 4)), rng.uniform(-1, 1, (2, 3, 4, 2))
    got = LA.trmm(nd(a, ctx, dtype), nd(b, ctx, dtype), alpha=1.5).asnumpy()
    np.testing.assert_allclose(got, 1.5 * np.tril(a) @ b, **tol)
    c = rng.uniform(-1, 1, (2, 3, 5, 4))
    got = LA.trmm(nd(a, ctx, dtype), nd(c, ctx, dtype), rightside=True, lower=False,
                  transpose=True).asnumpy()
    np.testing.assert_allclose(got, c @ np.swapaxes(np.triu(a), -1, -2), **tol)
    got = LA.syrk(nd(c, ctx, dtype), transpose=True, alpha=-0.5).asnumpy()
    assert got.shape == (2, 3, 4, 4) and np.array_equal(got, np.swapaxes(got, -1, -2))
    np.testing.assert_allclose(got, -0.5 * np.swapaxes(c, -1, -2) @ c, **tol)
    np.testing.assert_allclose(LA.syrk(nd(c, ctx, dtype)).asnumpy(),
                               c @ np.swapaxes(c, -1, -2), **tol)


@pytest.mark.parametrize("lower", [True, False])
def test_potri_inverts_the_factored_matrix(ctx, rng, lower):
    _need(ctx, "float64")
    f = rng.uniform(-1, 1, (2, 4, 4)) + 3 * np.eye(4)          # the other triangle is noise
    t = np.tril(f) if lower else np.triu(f)
    b = t @ np.swapaxes(t, -1, -2) if lower else np.swapaxes(t, -1, -2) @ t
    got = LA.potri(nd(f, ctx), lower=lower).asnumpy()
    assert np.array_equal(got, np.swapaxes(got, -1, -2))
    np.testing.assert_allclose(got @ b, np.broadcast_to(np.eye(4), b.shape), atol=1e-12)


def test_sumlogdiag_and_packers_against_numpy(ctx, rng):
    _need(ctx, "float64")
    a = rng.uniform(-1, 1, (2, 3, 4, 4)) + 3 * np.eye(4)
    np.testing.assert_allclose(LA.sumlogdiag(nd(a, ctx)).asnumpy(),
                               np.log(np.diagonal(a, 0, -2, -1)).sum(-1), rtol=1e-12)
    assert LA.sumlogdiag(nd(a[0, 0], ctx)).shape == (1,)
    for k in (-3, -1, 0, 2):
        d = LA.extractdiag(nd(a, ctx), offset=k).asnumpy()
        np.testing.assert_array_equal(d, np.diagonal(a, k, -2, -1))
        back = LA.makediag(nd(d, ctx), offset=k).asnumpy()
        want = np.zeros_like(a)
        for idx in np.ndindex(2, 3):
            want[idx] = np.diag(d[idx], k)
        np.testing.assert_array_equal(back, want)
    for k, lower in [(0, True), (0, False), (1, True), (-2, False), (3, True)]:
        tri = LA.extracttrian(nd(a, ctx), offset=k, lower=lower)
        m = 4 - abs(k)
        assert tri.shape == (2, 3, m * (m + 1) // 2)
        full = LA.maketrian(tri, offset=k, lower=lower).asnumpy()
        keep = (np.tril(np.ones((4, 4)), k) if k < 0 or (k == 0 and lower)
                else np.triu(np.ones((4, 4)), k))
        np.testing.assert_array_equal(full, a * keep)


# -- the array-operation fallbacks (what runs where the namespace has no qr/eigh: OpenCL) --------
def _numpy_without_qr_eigh():
    """NumPy as a namespace whose ``linalg`` lacks ``qr`` and ``eigh`` (as OpenCL's does)."""
    ns = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("_")})
    ns.linalg = types.SimpleNamespace(inv=np.linalg.inv, solve=np.linalg.solve)
    return ns


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 5), (2, 4, 4), (2, 1, 3, 6)])
def test_householder_fallback_matches_lapack(rng, shape):
    a = rng.uniform(-1, 1, shape) + np.eye(*shape[-2:])
    want = REGISTRY["linalg_gelqf"].generic(np, a)
    got = REGISTRY["linalg_gelqf"].generic(_numpy_without_qr_eigh(), a)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 9])
def test_jacobi_fallback_matches_lapack(rng, n):
    m = rng.uniform(-1, 1, (3, n, n))
    a = m + np.swapaxes(m, -1, -2)
    u, lam = REGISTRY["linalg_syevd"].generic(_numpy_without_qr_eigh(), a)
    u2, lam2 = REGISTRY["linalg_syevd"].generic(np, a)
    np.testing.assert_allclose(lam, lam2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(u, u2, rtol=1e-9, atol=1e-11)


def test_jacobi_fallback_on_degenerate_matrices():
    lam, v = LX._eigh_jacobi(np, np.zeros((3, 3)))
    assert lam.tolist() == [0, 0, 0] and v.tolist() == np.eye(3).tolist()
    lam, v = LX._eigh_jacobi(np, np.ones((2, 4, 4), np.float32))
    np.testing.assert_allclose(lam, [[0, 0, 0, 4]] * 2, atol=1e-6)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(4), v.shape),
                               atol=1e-6)


# -- gradients by finite differences --------------------------------------------------------------
GRAD_CASES = [
    ("linalg_gelqf", [(2, 3, 4)], {}),
    ("linalg_syevd", [(2, 3, 3)], {}),
    ("linalg_syrk", [(2, 3, 2)], {"transpose": True, "alpha": 0.7}),
    ("linalg_syrk", [(3, 4)], {}),
    ("linalg_trmm", [(2, 3, 3), (2, 2, 3)], {"rightside": True, "lower": False, "alpha": 2.0}),
    ("linalg_trmm", [(3, 3), (3, 2)], {"transpose": True}),
    ("linalg_potri", [(2, 3, 3)], {"lower": False}),
    ("linalg_potri", [(3, 3)], {}),
    ("linalg_sumlogdiag", [(2, 3, 3)], {}),
    ("linalg_extractdiag", [(2, 3, 3)], {"offset": -1}),
    ("linalg_makediag", [(2, 3)], {"offset": 1}),
    ("linalg_extracttrian", [(2, 4, 4)], {"offset": 1}),
    ("linalg_maketrian", [(2, 6)], {"lower": False}),
]


def _grad_input(name, shape, rng):
    x = rng.uniform(-1, 1, shape)
    if name == "linalg_gelqf":
        return x + 1.5 * np.eye(*shape[-2:])
    if name in ("linalg_potri", "linalg_sumlogdiag"):
        return x + 2.5 * np.eye(shape[-1])
    if name == "linalg_syevd":        # well-separated eigenvalues
        q = np.linalg.qr(x)[0]
        s = (q * np.array([-1.0, 0.2, 1.5])) @ np.swapaxes(q, -1, -2)
        return np.tril(s) + np.triu(x, 1)
    return x


@pytest.mark.parametrize("name,shapes,attrs", GRAD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradient_matches_finite_differences(ctx, rng, name, shapes, attrs):
    _need(ctx, "float64")
    op = REGISTRY[name]
    inputs = [_grad_input(name, s, rng) for s in shapes]
    with mx.cpu():
        probe = apply(op, *(nd(x, mx.cpu()) for x in inputs), **op.parse_attrs(attrs))
    probe = probe if isinstance(probe, tuple) else (probe,)
    weights = [rng.uniform(-1, 1, o.shape) for o in probe]

    def loss(xs):
        with mx.cpu():
            outs = apply(op, *(nd(x, mx.cpu()) for x in xs), **op.parse_attrs(attrs))
        outs = outs if isinstance(outs, tuple) else (outs,)
        return sum(float(np.sum(o.asnumpy() * w)) for o, w in zip(outs, weights))

    args = [nd(x, ctx) for x in inputs]
    for a in args:
        a.attach_grad()
    with autograd.record():
        outs = apply(op, *args, **op.parse_attrs(attrs))
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    autograd.backward(outs, [nd(w, ctx) for w in weights])
    for k, a in enumerate(args):
        np.testing.assert_allclose(a.grad.asnumpy(), numeric_grad(loss, inputs, k, 1e-6),
                                   rtol=1e-5, atol=1e-7, err_msg=f"{name} input {k}")


def test_gradients_stay_in_the_triangle_read(ctx, rng):
    _need(ctx, "float64")
    for name, attrs, keep in [("linalg_potri", {"lower": False}, np.triu),
                              ("linalg_trmm", {"lower": True}, np.tril),
                              ("linalg_syevd", {}, np.tril)]:
        a = nd(_grad_input("linalg_syevd" if name == "linalg_syevd" else "linalg_potri",
                           (3, 3), rng), ctx)
        extra = [nd(rng.uniform(-1, 1, (3, 2)), ctx)] if name == "linalg_trmm" else []
        a.attach_grad()
        with autograd.record():
            out = apply(REGISTRY[name], a, *extra, **REGISTRY[name].parse_attrs(attrs))
            out = out[0] * 2 + out[1].sum() if isinstance(out, tuple) else out
        out.backward()
        g = a.grad.asnumpy()
        assert np.array_equal(g, keep(g)) and keep(g).any(), name


# -- shapes, dtypes, names and errors ------------------------------------------------------------
def test_names_aliases_and_symbols():
    for short in ("gelqf", "syrk", "trmm", "potri", "sumlogdiag", "syevd", "extractdiag",
                  "makediag", "extracttrian", "maketrian"):
        op = REGISTRY["linalg_" + short]
        assert REGISTRY["_linalg_" + short] is op
        assert callable(getattr(mx.nd.linalg, short)) and callable(getattr(mx.sym.linalg, short))
    s = mx.sym.linalg.gelqf(mx.sym.var("a", shape=(2, 3, 5)), name="lq")
    assert s.list_outputs() == ["lq_output0", "lq_output1"]
    assert s[0].shape == (2, 3, 5) and s[1].shape == (2, 3, 3)
    s = mx.sym.linalg.syevd(mx.sym.var("a", shape=(4, 4)))
    assert s[0].shape == (4, 4) and s[1].shape == (4,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_output_dtypes_follow_the_input(ctx, dtype):
    _need(ctx, dtype)
    m = nd(np.eye(3) * 2, ctx, dtype)
    outs = [*LA.gelqf(m), LA.syrk(m), LA.trmm(m, m), LA.potri(m), LA.sumlogdiag(m),
            *LA.syevd(m), LA.extractdiag(m), LA.makediag(nd([1.0], ctx, dtype)),
            LA.extracttrian(m), LA.maketrian(nd([1.0], ctx, dtype))]
    assert {np.dtype(o.dtype).name for o in outs} == {dtype}


@pytest.mark.parametrize("dtype", ["float16", "int32"])
def test_only_float32_and_float64(dtype):
    m = mx.nd.array(np.eye(2), dtype=dtype)
    for fn in (LA.gelqf, LA.syrk, LA.potri, LA.sumlogdiag, LA.syevd, LA.extractdiag,
               LA.makediag, LA.extracttrian):
        with pytest.raises(mx.base.MXNetValueError, match=rf"float32 or float64.*{dtype}"):
            fn(m)
    with pytest.raises(mx.base.MXNetValueError, match="float32 or float64"):
        LA.trmm(m, m)


ERRORS = [
    ("linalg_gelqf", [(3, 2)], {}, r"linalg_gelqf: Expect: .*m <= n.*\(3, 2\)"),
    ("linalg_gelqf", [(4,)], {}, r"linalg_gelqf: .*ndim >= 2.*\(4,\)"),
    ("linalg_syrk", [(4,)], {}, r"linalg_syrk: .*ndim >= 2.*\(4,\)"),
    ("linalg_syevd", [(2, 3)], {}, r"linalg_syevd: .*square.*\(2, 3\)"),
    ("linalg_syevd", [(3,)], {}, r"linalg_syevd: .*\(3,\)"),
    ("linalg_potri", [(2, 4, 3)], {}, r"linalg_potri: .*square.*\(2, 4, 3\)"),
    ("linalg_sumlogdiag", [(2, 3)], {}, r"linalg_sumlogdiag: .*square.*\(2, 3\)"),
    ("linalg_trmm", [(2, 3), (3, 3)], {}, r"linalg_trmm: .*square.*\(2, 3\)"),
    ("linalg_trmm", [(3, 3), (2, 3)], {}, r"linalg_trmm: .*B.shape\[-2\].*2 != 3"),
    ("linalg_trmm", [(3, 3), (3, 2)], {"rightside": True}, r"linalg_trmm: .*B.shape\[-1\]"),
    ("linalg_trmm", [(2, 3, 3), (3, 3, 3)], {}, r"linalg_trmm: .*batch dims"),
    ("linalg_extractdiag", [(2, 3)], {}, r"linalg_extractdiag: .*square.*\(2, 3\)"),
    ("linalg_extractdiag", [(3,)], {}, r"linalg_extractdiag: .*\(3,\)"),
    ("linalg_extractdiag", [(3, 3)], {"offset": 3}, r"linalg_extractdiag: .*offset=3"),
    ("linalg_extracttrian", [(3, 3)], {"offset": -3}, r"linalg_extracttrian: .*offset=-3"),
    ("linalg_extracttrian", [(3, 4)], {}, r"linalg_extracttrian: .*square.*\(3, 4\)"),
    ("linalg_maketrian", [(2, 4)], {}, r"linalg_maketrian: .*m \(m \+ 1\) / 2.*\(2, 4\)"),
]


@pytest.mark.parametrize("name,shapes,attrs,match", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_name_the_op_and_shapes(ctx, name, shapes, attrs, match):
    op = REGISTRY[name]
    args = [mx.nd.array(np.ones(s), ctx=ctx) for s in shapes]
    with pytest.raises(mx.base.MXNetValueError, match=match):
        apply(op, *args, **op.parse_attrs(attrs))


@pytest.mark.parametrize("name", ["linalg_makediag", "linalg_maketrian"])
def test_packers_reject_scalars(name):
    """A 0-d input (which only a symbol's shape inference can meet) has no last axis."""
    with pytest.raises(mx.base.MXNetValueError, match=rf"{name}: .*ndim >= 1"):
        REGISTRY[name].infer(Spec((), np.dtype("float32")))


def test_trmm_dtype_mismatch():
    with pytest.raises(mx.base.MXNetValueError, match="linalg_trmm.*float32 vs float64"):
        LA.trmm(mx.nd.ones((2, 2)), mx.nd.ones((2, 2), dtype="float64"))
