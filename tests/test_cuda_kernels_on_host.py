"""The CuPy backend's CUDA kernels without a GPU (``cuda_on_host.py``): run on the CPU with their
launch code against the generic op bodies — the fused LSTM/GRU steps of the ``RNN`` op (alone,
and through whole multi-layer, bidirectional, variable-length runs forward and backward),
``pick`` and its gradient, every op graph fusion can put in a ``_fused_elemwise`` kernel, every
optimizer update with a C body — and every CUDA source compiled by NVRTC. On a GPU,
``test_cuda_backend.py`` and the ``cupy`` runs of the suite check the same kernels through
CuPy."""

from __future__ import annotations

import types

import array_api_compat.numpy as compat_numpy
import numpy as np
import pytest

from mxplug.backends import cupy_kernels
from mxplug.backends.kernels import CUDA
from mxplug.backends.kernels.fused import C_OPS
from mxplug.backends.kernels.rnn_cells import CELL_DTYPES
from mxplug.backends.kernels.rows import PICK_DTYPES, pick_source, softmax_ce_source
from mxplug.ops import REGISTRY, rnn
from mxplug.ops.optimizer_ops import OPTIMIZER_OPS

from .cuda_on_host import HostKernel, fake_cupy, nvrtc_compile

_TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def host_cupy(monkeypatch):
    """``cupy_kernels`` launching host kernels over NumPy arrays (its caches emptied before and
    after, so no host kernel outlives the test on a machine that has a GPU)."""
    caches = (cupy_kernels._cell_module, cupy_kernels._row_kernel, cupy_kernels._fused_kernel)
    for cache in caches:
        cache.cache_clear()
    fake = fake_cupy()
    monkeypatch.setattr(cupy_kernels, "_cupy", lambda: fake)
    yield fake
    for cache in caches:
        cache.cache_clear()


def _rng_arrays(rng, dtype, *shapes):
    return [rng.normal(0, 1.5, s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_and_gru_steps_match_the_generic_steps(host_cupy, dtype):
    rng = np.random.default_rng(0)
    n, hs = 3, 5
    a4, c, dh, dc = _rng_arrays(rng, dtype, (n, 4 * hs), (n, hs), (n, hs), (n, hs))
    acts, c_new, h_new = cupy_kernels.lstm_cell(np, a4, c, hs)
    want_acts, want_c, want_h = rnn._lstm_cell(np, a4, c, hs)
    np.testing.assert_allclose(c_new, want_c, **_TOL[dtype])
    np.testing.assert_allclose(h_new, want_h, **_TOL[dtype])
    for got, want in zip(cupy_kernels.lstm_cell_grad(np, acts, c, dh, dc),
                         rnn._lstm_cell_grad(np, want_acts, c, dh, dc)):
        np.testing.assert_allclose(got, want, **_TOL[dtype])

    a3, hh, h = _rng_arrays(rng, dtype, (n, 3 * hs), (n, 3 * hs), (n, hs))
    acts, h_new = cupy_kernels.gru_cell(np, a3, hh, h, hs)
    want_acts, want_h = rnn._gru_cell(np, a3, hh, h, hs)
    np.testing.assert_allclose(h_new, want_h, **_TOL[dtype])
    for got, want in zip(cupy_kernels.gru_cell_grad(np, acts, h, dh),
                         rnn._gru_cell_grad(np, want_acts, h, dh)):
        np.testing.assert_allclose(got, want, **_TOL[dtype])


def test_steps_read_strided_views_and_leave_other_dtypes_to_the_generic_steps(host_cupy):
    rng = np.random.default_rng(1)
    hs = 4
    wide, c = _rng_arrays(rng, np.float32, (6, 8 * hs), (3, hs))
    a = wide[::2, 2 * hs:6 * hs]  # not contiguous: copied before the launch
    np.testing.assert_allclose(cupy_kernels.lstm_cell(np, a, c, hs)[2],
                               rnn._lstm_cell(np, a, c, hs)[2], rtol=2e-5, atol=2e-6)
    half = a.astype(np.float16)
    acts, _, h_new = cupy_kernels.lstm_cell(np, half, c.astype(np.float16), hs)
    assert isinstance(acts, tuple) and h_new.dtype == np.float16  # the generic step's record
    assert len(cupy_kernels.lstm_cell_grad(np, acts, c.astype(np.float16), h_new, h_new)) == 2


def _host_namespace():
    """A namespace of its own (NumPy's functions), so registering cells for it touches no
    backend's."""
    ns = types.ModuleType("cuda_on_host_namespace")
    ns.__dict__.update({k: getattr(compat_numpy, k) for k in dir(compat_numpy)
                        if not k.startswith("__")})
    return ns


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_rnn_forward_and_backward_through_the_cuda_cells(host_cupy, monkeypatch, mode):
    """Two layers, both directions, sequences of different lengths: the output, final states
    and every gradient equal the generic steps' (the kernels see every step of the recursion)."""
    xp = _host_namespace()
    rng = np.random.default_rng(2)
    t_len, n, c_in, h, layers, dirs = 4, 3, 5, 6, 2, 2
    size = rnn.param_size(mode, h, layers, c_in, True)
    x, w = _rng_arrays(rng, np.float64, (t_len, n, c_in), (size,))
    w *= 0.4
    h0, c0 = _rng_arrays(rng, np.float64, (layers * dirs, n, h), (layers * dirs, n, h))
    c0 = c0 if mode == "lstm" else None
    lengths = np.array([4, 2, 3], np.float64)
    dy, dhy, dcy = _rng_arrays(rng, np.float64, (t_len, n, dirs * h), h0.shape, h0.shape)
    dcy = dcy if mode == "lstm" else None

    def run():
        y, hy, cy, recs = rnn._forward(xp, x, w, h0, c0, lengths, None, mode, h, layers, dirs,
                                       keep=True)
        grads = rnn._backward(xp, recs, (dy, dhy, dcy), w, h0, c0, lengths, None, mode, h,
                              layers, dirs, c_in)
        return [y, hy, cy, *grads]

    want = run()
    monkeypatch.setattr(rnn, "FUSED_CELLS", dict(rnn.FUSED_CELLS))
    cupy_kernels.register_fused_cells(xp)
    got = run()
    module = cupy_kernels._cell_module("float64")
    assert module.get_function(f"mxplug_rnn_{mode}_cell").launches == layers * dirs * t_len
    assert module.get_function(f"mxplug_rnn_{mode}_grad").launches == layers * dirs * t_len
    for g, wnt in zip(got, want):
        if wnt is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, wnt, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("mode", ["clip", "wrap"])
@pytest.mark.parametrize("index_dtype", ["int32", "float32"])
def test_pick_and_its_gradient_match_the_generic_bodies(host_cupy, mode, index_dtype):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (7, 5)).astype(np.float32)
    index = rng.integers(-7, 12, 7).astype(index_dtype)
    g = rng.normal(0, 1, (7, 1)).astype(np.float32)
    be = types.SimpleNamespace(cp=host_cupy, xp=compat_numpy)
    np.testing.assert_array_equal(
        cupy_kernels.pick(be, x, index, keepdims=True, mode=mode),
        REGISTRY["pick"].generic(compat_numpy, x, index, -1, True, mode))
    np.testing.assert_array_equal(
        cupy_kernels.pick_backward(be, g, index, shape=x.shape, keepdims=True, mode=mode),
        REGISTRY["_pick_backward"].generic(compat_numpy, g, index, x.shape, -1, True, mode))


def test_kernels_whose_threads_cooperate_are_refused():
    src = cupy_kernels.CUDA.header + cupy_kernels.softmax_ce_source(
        "k", "float32", "int32", False, cupy_kernels.CUDA)
    fake_cupy()  # skips without a compiler
    with pytest.raises(ValueError, match="barrier"):
        HostKernel(src, "k")


# -- ElementwiseKernels: graph fusion and the optimizers -------------------------------------------
def _one_op_program(name):
    params, _ = C_OPS[name]
    if params == "b":
        return ((name, (("i", 0), ("i", 1)), ()),), 2
    return ((name, (("i", 0),), tuple((p, 0.25 + 0.5 * k) for k, p in enumerate(params))),), 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_fusible_op_as_a_cuda_elementwise_kernel(host_cupy, dtype):
    """Each op graph fusion renders to C, in a chain with broadcasting and a constant, run as
    the ElementwiseKernel the CuPy backend builds, against the NumPy backend's fused kernel."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, (3, 4)).astype(dtype)
    x[0, :3] = [0.0, 1.0, 0.5]  # the edges of some domains
    y = rng.uniform(0.1, 2, (1, 4)).astype(dtype)  # broadcast along the rows
    be = types.SimpleNamespace(cp=host_cupy)
    from mxplug.graph.fusion import run_numpy  # the NumPy backend's kernel (exact erf, as CUDA's)
    for name in C_OPS:
        program, arity = _one_op_program(name)
        prog = program + (("multiply", (("t", 0), ("c", 3.0)), ()),
                          ("add", (("t", 1), ("i", 0)), ()))
        xs = (x, y)[:arity]
        got = cupy_kernels.fused_elemwise(be, *xs, program=prog)
        with np.errstate(all="ignore"):  # out of some domains: NaN, as the kernel gives
            want = run_numpy(prog, xs)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_allclose(got, want, err_msg=f"{name}: {prog}", equal_nan=True,
                                   **_TOL[dtype])


def _cupy_update(op):
    return op.kernels["cupy"][0]


@pytest.mark.parametrize("name", sorted(n for n, op in OPTIMIZER_OPS.items()
                                        if "cupy" in op.kernels))
def test_optimizer_updates_as_cuda_elementwise_kernels(host_cupy, name):
    op = OPTIMIZER_OPS[name]
    be = types.SimpleNamespace(cp=host_cupy, xp=compat_numpy, num_devices=lambda: 1)
    rng = np.random.default_rng(5)
    for make in op.sample_fns:
        s = make(rng)
        attrs = op.parse_attrs(s.attrs)
        for dtype in ("float32", "float64"):
            xs = [np.asarray(a, dtype) for a in s.inputs]
            want = op.generic(compat_numpy, *[a.copy() for a in xs], **attrs)
            got = _cupy_update(op)(be, *xs, **attrs)
            np.testing.assert_allclose(got, want, err_msg=f"{name} {s.attrs}", **_TOL[dtype])


# -- NVRTC ----------------------------------------------------------------------------------------
def test_the_row_kernels_compile_with_nvrtc():
    """Every kernel the tests above run on the host is compiled by NVRTC too (``cuda_on_host``
    does it when NVRTC is installed); the row kernels whose threads cooperate cannot run there,
    so here each of their sources is compiled as the CuPy backend renders it."""
    sources = {}
    for x_dt in PICK_DTYPES:
        for lab_dt in ("int32", "int64", "float32", "uint8"):
            for grad in (False, True):
                if x_dt in CELL_DTYPES:
                    sources[f"softmax_ce_{x_dt}_{lab_dt}_{grad}"] = CUDA.header + \
                        softmax_ce_source("k", x_dt, lab_dt, grad, CUDA)
                sources[f"pick_{x_dt}_{lab_dt}_{grad}"] = CUDA.header + pick_source(
                    "k", x_dt, lab_dt, grad, CUDA)
    assert len(sources) == 48
    for what, code in sources.items():
        assert ".entry k(" in nvrtc_compile(code, what + ".cu"), what


def test_nvrtc_rejects_what_cuda_lacks():
    with pytest.raises(AssertionError, match="undefined"):
        nvrtc_compile('extern "C" __global__ void k(float* x) { x[0] = vload_half(0, x); }')


# -- the CuPy namespace ---------------------------------------------------------------------------
def test_the_fast_namespace_keeps_the_standards_meaning():
    """``_fast_namespace`` swaps four compat wrappers for CuPy's own calls; over NumPy (which
    has the same calls) each must give what the compat function gives, dtype included."""
    from mxplug.backends.cupy import _fast_namespace

    ns = _fast_namespace(compat_numpy, np)
    x = np.array([[-2.0, 0.5], [3.0, np.nan]], np.float32)
    i = np.array([-3, 0, 7], np.int32)
    for a, lo, hi in ((x, -1.0, 1.0), (x, None, 0.0), (x, 0.25, None), (i, -1, 5), (i, None, None),
                      (i, 0.5, 2.5)):
        got, want = ns.clip(a, lo, hi), compat_numpy.clip(a, lo, hi)
        assert got.dtype == want.dtype == a.dtype
        np.testing.assert_array_equal(got, want)
    assert ns.clip(x, None, None) is not x  # a copy, as the standard's clip returns
    assert np.shares_memory(ns.reshape(x, (4,)), x)
    assert not np.shares_memory(ns.reshape(x, (4,), copy=True), x)
    assert ns.astype(x, np.float64).dtype == np.float64 and ns.astype(x, np.float32,
                                                                      copy=False) is x
    assert ns.matmul is np.matmul and ns.sum is compat_numpy.sum
