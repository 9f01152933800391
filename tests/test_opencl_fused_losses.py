"""The OpenCL backend's fused training kernels against NumPy: the one-kernel sparse softmax
cross-entropy (``_softmax_ce``) and its data gradient, FullyConnected as one GEMM that adds the
bias as it stores (``xp_linalg.linear``), and the NaN rule of ``maximum``/``minimum`` (spelt
without ``isnan`` for PoCL). Small shapes: PoCL compiles each new kernel in about a second."""
from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.backends.opencl import OpenCLBackend

_why = OpenCLBackend().available()
if _why:
    pytest.skip(f"OpenCL backend unavailable: {_why}", allow_module_level=True)
# the registered backend, not an instance of our own: a second instance's runtime(0) would
# become the array namespace's default device, under the other tests' feet
xp = mx.opencl(0).backend.xp
rt = mx.opencl(0).backend.runtime(0)
FLOATS = ["float32"] + (["float64"] if rt.fp64 else [])
_internal = mx.nd._internal


def _tol(dt):
    return dict(rtol=2e-5, atol=2e-6) if dt == "float32" else dict(rtol=1e-12, atol=1e-13)


def _ce_reference(x, label):
    """-log_softmax(x)[row, clip(trunc(label))] and g * (softmax - onehot), in float64."""
    x = x.astype(np.float64)
    idx = np.clip(np.nan_to_num(label.reshape(-1).astype(np.float64), nan=0), 0, None)
    idx = np.minimum(np.trunc(idx), x.shape[1] - 1).astype(np.intp)
    lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) + x.max(1,
                                                                                     keepdims=True)
    loss = lse - x[np.arange(len(x)), idx][:, None]
    p = np.exp(x - lse)
    onehot = np.zeros_like(x)
    onehot[np.arange(len(x)), idx] = 1
    return loss, p - onehot


_LABELS = {
    "in range": np.array([0, 4, 2, 1, 3, 4]),
    "out of range": np.array([-3, 9, 5, -1, 100, 2]),          # clipped to 0 and 4
    "fractional": np.array([0.7, 3.99, 4.5, -0.5, 1.2, 2.0]),  # truncated toward zero
}


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("label_dt", ["float32", "int32", "int64", "float64", "uint8"])
@pytest.mark.parametrize("case", list(_LABELS))
@pytest.mark.parametrize("keep_axis", [False, True])
def test_softmax_ce_forward_and_backward(dt, label_dt, case, keep_axis):
    label = _LABELS[case]
    if label_dt == "uint8" and case != "in range":
        pytest.skip("negative labels do not fit uint8")
    if label_dt in ("int32", "int64", "uint8"):
        label = np.trunc(label)
    label = label.astype(label_dt)
    if keep_axis:
        label = label.reshape(-1, 1)
    rng = np.random.default_rng(1)
    x = rng.uniform(-4, 4, (6, 5)).astype(dt)
    g = rng.uniform(-1, 1, (6, 1)).astype(dt)
    want_loss, want_dp = _ce_reference(x, label)
    ctx = mx.opencl(0)
    xd, ld, gd = (mx.nd.array(a, ctx=ctx, dtype=a.dtype) for a in (x, label, g))
    loss = _internal._softmax_ce(xd, ld)
    grad = _internal._softmax_ce_backward(gd, xd, ld)
    assert loss.shape == (6, 1) and loss.dtype == np.dtype(dt)
    assert grad.shape == (6, 5) and grad.dtype == np.dtype(dt)
    np.testing.assert_allclose(loss.asnumpy(), want_loss, **_tol(dt))
    np.testing.assert_allclose(grad.asnumpy(), g * want_dp, **_tol(dt))
    # the NumPy backend's kernels give the same values
    cpu = [mx.nd.array(a, dtype=a.dtype) for a in (x, label, g)]
    np.testing.assert_allclose(loss.asnumpy(), _internal._softmax_ce(*cpu[:2]).asnumpy(),
                               **_tol(dt))
    np.testing.assert_allclose(grad.asnumpy(),
                               _internal._softmax_ce_backward(cpu[2], *cpu[:2]).asnumpy(),
                               **_tol(dt))


def test_softmax_ce_wide_rows_strided_views_and_nan_label():
    """Rows longer than a work-group (the in-group loops), data and label read through
    strided views, and a NaN label (NumPy's cast gives the lowest integer: clipped to 0)."""
    rng = np.random.default_rng(2)
    big = rng.uniform(-30, 30, (600, 7)).astype(np.float32)
    lab = np.array([1.0, np.nan, 599.0])
    x_view = xp.permute_dims(xp.asarray(big), (1, 0))[::3]           # (3, 600), strided
    l_view = xp.asarray(np.repeat(lab, 2).astype(np.float32))[::2]  # stride 2
    be = mx.opencl(0).backend
    loss = be.kernel("_softmax_ce")(be, x_view, l_view)
    grad = be.kernel("_softmax_ce_backward")(be, xp.ones((3, 1), np.float32, rt), x_view,
                                             l_view)
    want_loss, want_dp = _ce_reference(big.T[::3], lab)
    np.testing.assert_allclose(xp.to_numpy(loss), want_loss, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(xp.to_numpy(grad), want_dp, rtol=1e-5, atol=1e-6)


def test_softmax_ce_other_layouts_take_the_generic_body():
    """3-D data along axis 1 (the generic body) still matches NumPy."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    label = np.array([[1, 0, 2, 2], [0, 1, 1, 2]], np.float32)
    ctx = mx.opencl(0)
    got = _internal._softmax_ce(mx.nd.array(x, ctx=ctx), mx.nd.array(label, ctx=ctx), axis=1)
    want = _internal._softmax_ce(mx.nd.array(x), mx.nd.array(label), axis=1)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)


def test_gluon_softmax_ce_loss_trains_the_same_on_opencl():
    """The loss and its gradient through autograd (the fused ops under recording)."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(8, 10)).astype(np.float32), rng.integers(0, 10, 8)
    out = {}
    for ctx in (mx.cpu(), mx.opencl(0)):
        xd = mx.nd.array(x, ctx=ctx)
        xd.attach_grad()
        with mx.autograd.record():
            loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()(xd, mx.nd.array(y, ctx=ctx))
        loss.backward()
        out[ctx.device_type] = (loss.asnumpy(), xd.grad.asnumpy())
    np.testing.assert_allclose(out["opencl"][0], out["cpu"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["opencl"][1], out["cpu"][1], rtol=1e-5, atol=1e-7)


# -- FullyConnected: one GEMM with the bias added as it stores ---------------------------------
@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("xs,hidden,flatten,no_bias", [
    ((20, 33), 17, True, False),    # nt kernel, edge blocks
    ((1, 9), 3, True, False),       # one row: the bounds-checked kernel
    ((4, 9), 1, True, False),       # one output column
    ((5, 3, 4), 7, True, False),    # flattened
    ((5, 3, 4), 2, False, False),   # along the last axis
    ((6, 10), 5, True, True),       # no bias
    ((3, 0), 4, True, False),       # nothing to contract: the bias alone
    ((0, 5), 3, True, False),       # no rows
])
def test_fully_connected_fused_bias(dt, xs, hidden, flatten, no_bias):
    rng = np.random.default_rng(5)
    x = rng.normal(size=xs).astype(dt)
    k = int(np.prod(xs[1:])) if flatten else xs[-1]
    w, b = rng.normal(size=(hidden, k)).astype(dt), rng.normal(size=hidden).astype(dt)
    ctx = mx.opencl(0)
    args = [mx.nd.array(x, ctx=ctx, dtype=dt), mx.nd.array(w, ctx=ctx, dtype=dt)]
    if not no_bias:
        args.append(mx.nd.array(b, ctx=ctx, dtype=dt))
    got = mx.nd.FullyConnected(*args, num_hidden=hidden, no_bias=no_bias, flatten=flatten)
    x2 = x.reshape(xs[0], k) if flatten else x.reshape(-1, k)
    want = x2.astype(np.float64) @ w.T + (0 if no_bias else b)
    want = want if flatten else want.reshape(xs[:-1] + (hidden,))
    assert got.shape == want.shape and got.dtype == np.dtype(dt)
    np.testing.assert_allclose(got.asnumpy(), want, **_tol(dt) if dt == "float64" else
                               dict(rtol=1e-4, atol=1e-5 * max(k, 1)))


@pytest.mark.parametrize("layout", ["contiguous", "x transposed", "w transposed", "offsets"])
def test_linear_bias_every_gemm_kernel(layout):
    """``linear`` through the GEMM entry points: nt (both k axes contiguous), nn (w stored
    transposed), the swapped nn (x stored transposed, so C^T = W x^T with the bias along C^T's
    rows), and views with offsets; the bias is a strided view. (The bounds-checked kernel
    runs in the one-row case of ``test_fully_connected_fused_bias``.)"""
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(24, 20)).astype(np.float32), rng.normal(size=(18, 20)).astype(
        np.float32)
    b2 = rng.normal(size=(18, 2)).astype(np.float32)
    from mxplug.backends.opencl.xp_linalg import linear
    xd, wd, bd = xp.asarray(x), xp.asarray(w), xp.asarray(b2)[:, 1]   # strided bias
    if layout == "x transposed":
        xd = xp.permute_dims(xp.asarray(np.ascontiguousarray(x.T)), (1, 0))
    elif layout == "w transposed":
        wd = xp.permute_dims(xp.asarray(np.ascontiguousarray(w.T)), (1, 0))
    elif layout == "offsets":
        xd = xp.asarray(np.concatenate([x, x]))[24:]
        wd = xp.asarray(np.concatenate([w, w], 1))[:, 20:]
    got = xp.to_numpy(linear(xd, wd, bd))
    np.testing.assert_allclose(got, x @ w.T + b2[:, 1], rtol=1e-4, atol=1e-4)


def test_maximum_minimum_propagate_nan_as_numpy():
    a = np.array([np.nan, 1, -2, 3, np.inf, -np.inf, 0], np.float32)
    b = np.array([0, np.nan, 0, 5, 1, 1, -0.0], np.float32)
    da, db = xp.asarray(a), xp.asarray(b)
    np.testing.assert_array_equal(xp.to_numpy(xp.maximum(da, db)), np.maximum(a, b))
    np.testing.assert_array_equal(xp.to_numpy(xp.minimum(da, db)), np.minimum(a, b))
    np.testing.assert_array_equal(xp.to_numpy(xp.max(da)), np.max(a))
    m = np.array([[1, np.nan, 3], [4, 5, -1]], np.float32)
    np.testing.assert_array_equal(xp.to_numpy(xp.argmax(xp.asarray(m), axis=1)),
                                  np.argmax(m, axis=1))
    np.testing.assert_array_equal(xp.to_numpy(xp.argmin(xp.asarray(m), axis=1)),
                                  np.argmin(m, axis=1))


# -- pick and _pick_backward along the last axis -------------------------------------------------
@pytest.mark.parametrize("x_dt", ["float32", "int64"] + (["float64"] if rt.fp64 else []))
@pytest.mark.parametrize("label_dt", ["float32", "int32", "uint8"])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_pick_and_its_gradient_match_numpy(x_dt, label_dt, mode, keepdims):
    """Against an independent NumPy gather: labels truncated toward zero, then clipped or
    wrapped Python-style (negative labels included); a NaN label picks column 0 (clip) as
    NumPy's cast to intp gives the lowest integer."""
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(7, 5)) * 10).astype(x_dt)
    if label_dt == "uint8":
        label = np.array([0, 4, 7, 1, 2, 200, 13], np.uint8)
    else:
        label = np.array([0, 4, 7, -1, 2.7, -6.5, 13]).astype(label_dt)
    as_int = np.trunc(label.astype(np.float64)).astype(np.int64)
    idx = np.clip(as_int, 0, 4) if mode == "clip" else np.remainder(as_int, 5)
    want = x[np.arange(7), idx]
    ctx = mx.opencl(0)
    xd, ld = mx.nd.array(x, ctx=ctx, dtype=x_dt), mx.nd.array(label, ctx=ctx, dtype=label_dt)
    got = mx.nd.pick(xd, ld, axis=1, keepdims=keepdims, mode=mode)
    assert got.dtype == np.dtype(x_dt)
    np.testing.assert_array_equal(got.asnumpy(), want.reshape(-1, 1) if keepdims else want)
    g = rng.normal(size=got.shape).astype(x_dt)
    grad = _internal._pick_backward(mx.nd.array(g, ctx=ctx, dtype=x_dt), ld, shape=(7, 5),
                                    axis=-1, keepdims=keepdims, mode=mode)
    want_g = np.zeros((7, 5), x_dt)
    want_g[np.arange(7), idx] = g.reshape(-1)
    np.testing.assert_array_equal(grad.asnumpy(), want_g)


def test_pick_nan_label_and_strided_views():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    label = np.array([np.nan, 3, 1], np.float32)
    be = mx.opencl(0).backend
    x_view = xp.asarray(x)[::2, :]                                   # row stride 8
    l_view = xp.asarray(np.repeat(label, 2))[::2]
    got = be.kernel("pick")(be, x_view, l_view, axis=1, mode="clip")
    np.testing.assert_array_equal(xp.to_numpy(got), x[::2][np.arange(3), [0, 3, 1]])


def test_fully_connected_reads_strided_data_and_weight_views():
    """Transposed and sliced data/weight views go to the fused GEMM as they are."""
    rng = np.random.default_rng(8)
    xt = rng.normal(size=(12, 30)).astype(np.float32)      # data is xt.T: (30, 12), strided
    w2 = rng.normal(size=(9, 24)).astype(np.float32)       # weight is w2[:, ::2]: (9, 12)
    b = rng.normal(size=9).astype(np.float32)
    be = mx.opencl(0).backend
    x_view = xp.permute_dims(xp.asarray(xt), (1, 0))
    w_view = xp.asarray(w2)[:, ::2]
    got = be.kernel("FullyConnected")(be, x_view, w_view, xp.asarray(b), num_hidden=9)
    np.testing.assert_allclose(xp.to_numpy(got), xt.T @ w2[:, ::2].T + b, rtol=1e-4,
                               atol=1e-4)
