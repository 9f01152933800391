"""The CUDA (CuPy) backend's own pieces: its CUDA C sources, rendered here on any machine, and —
on a machine with an NVIDIA GPU — its kernels against the generic bodies, DLPack with PyTorch
and mixed-precision training on the GPU. (The whole op suite runs on ``cupy`` too, through the
``ctx`` fixture; ``tests/gpu/run.sh`` runs all of it on a GPU.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.backends import cupy_kernels, registry
from mxplug.backends.kernels import CUDA
from mxplug.backends.kernels.fused import C_OPS, program_expression
from mxplug.backends.kernels.rows import pick_source, softmax_ce_source
from mxplug.ops import REGISTRY

_OPENCL_ONLY = re.compile(r"__kernel\b|__global\b|__local\b|get_(global|local|group)_id|"
                          r"barrier\(|vload_half|vstore_half|\brestrict\b")


def _gpu():
    row = next(b for b in mx.backends.list() if b.name == "cupy")
    if not row.available:
        pytest.skip(f"needs an NVIDIA GPU with CuPy: {row.reason} (tests/gpu/run.sh runs this on "
                    f"a GPU machine)")
    return mx.gpu(0)


# -- sources (any machine) ------------------------------------------------------------------------
@pytest.mark.parametrize("x_dt", ["float32", "float64"])
@pytest.mark.parametrize("lab_dt", ["int32", "int64", "float32", "uint8"])
def test_row_kernels_render_as_cuda_c(x_dt, lab_dt):
    for src in (softmax_ce_source("k", x_dt, lab_dt, False, CUDA),
                softmax_ce_source("k", x_dt, lab_dt, True, CUDA),
                pick_source("k", x_dt, lab_dt, False, CUDA),
                pick_source("k", x_dt, lab_dt, True, CUDA)):
        assert src.count("{") == src.count("}")
        assert 'extern "C" __global__ void k(' in src
        assert not _OPENCL_ONLY.search(src), _OPENCL_ONLY.search(src)


def test_every_fusible_op_renders_as_a_cuda_device_function():
    for name, (params, _) in C_OPS.items():
        args = (("i", 0), ("i", 1)) if params == "b" else (("i", 0),)
        attrs = tuple((p, 0.5) for p in params) if params != "b" else ()
        helpers, expr = program_expression(((name, args, attrs),), "double", CUDA)
        assert helpers.startswith("__device__ __forceinline__ double mxf_")
        assert expr.startswith(f"mxf_{name}(") and not _OPENCL_ONLY.search(helpers)
    # NaN / inf literals use the macros CUDA.header defines for NVRTC
    _, expr = program_expression((("add", (("i", 0), ("c", float("nan"))), ()),), "float", CUDA)
    assert "NAN" in expr and "#define NAN" in CUDA.header


def test_backend_hands_out_its_kernels_without_a_gpu():
    be = registry.load("cupy")
    for name, fn in cupy_kernels.KERNELS.items():
        assert name in REGISTRY and be.kernel(name) is fn


# -- on a GPU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("label_dtype", ["int32", "float32"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_kernels_match_the_generic_bodies_on_a_gpu(dtype, label_dtype):
    ctx = _gpu()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (37, 300)).astype(dtype)       # > one block of threads per row
    lab = rng.integers(-2, 303, 37).astype(label_dtype)  # out of range: clipped, as pick does
    g = rng.normal(0, 1, (37, 1)).astype(dtype)
    be = ctx.backend
    xs, ls, gs = (be.asarray(a, a.dtype, 0) for a in (x, lab, g))
    cases = [("_softmax_ce", (xs, ls), {}), ("_softmax_ce_backward", (gs, xs, ls), {}),
             ("pick", (xs, ls), {"keepdims": True}),
             ("_pick_backward", (gs, ls), {"shape": x.shape, "keepdims": True})]
    for name, args, attrs in cases:
        got = be.to_numpy(cupy_kernels.KERNELS[name](be, *args, **attrs))
        want = be.to_numpy(REGISTRY[name].generic(be.xp, *args, **attrs))
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12,
                                   atol=1e-6, err_msg=name)


def test_hybridized_mlp_fuses_and_matches_eager_on_a_gpu():
    ctx = _gpu()
    x = mx.nd.array(np.random.default_rng(1).normal(0, 1, (16, 20)), ctx=ctx)
    outs = []
    for hybridize in (False, True):
        mx.random.seed(3)
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(32, activation="tanh"), gluon.nn.Dense(8, activation="sigmoid"))
        net.initialize(mx.init.Xavier(), ctx=ctx)
        if hybridize:
            net.hybridize()
        with autograd.record():
            y = net(x)
        y.backward()
        outs.append((y.asnumpy(), [p.grad().asnumpy() for p in net.collect_params().values()]))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_dlpack_shares_memory_with_pytorch_on_a_gpu():
    ctx = _gpu()
    torch = pytest.importorskip("torch", reason="the DLPack peer here is PyTorch")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    t = torch.arange(6, dtype=torch.float32, device="cuda:0").reshape(2, 3)
    a = mx.nd.from_dlpack(t)
    assert a.context == ctx and a.shape == (2, 3)
    t += 1  # the same memory: mxplug sees PyTorch's write
    np.testing.assert_array_equal(a.asnumpy(), np.arange(1, 7, dtype=np.float32).reshape(2, 3))


def test_float16_training_with_loss_scaling_on_a_gpu():
    from mxplug.contrib import amp

    ctx = _gpu()
    rng = np.random.default_rng(0)
    centers = np.array([[2, 0, 0, 1], [0, 2, 1, 0], [-2, -1, 0, 0]], np.float32)
    y = rng.integers(0, 3, 64)
    x = mx.nd.array(centers[y] + rng.normal(0, 0.5, (64, 4)), ctx=ctx)
    y = mx.nd.array(y, ctx=ctx)
    amp.init("float16")
    try:
        mx.random.seed(5)
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(3))
        net.initialize(mx.init.Xavier(), ctx=ctx)
        net.cast("float16")
        net.hybridize()
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.5, "momentum": 0.5, "multi_precision": True})
        amp.init_trainer(trainer)
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        losses = []
        for _ in range(25):
            with autograd.record():
                loss = loss_fn(net(x.astype("float16")), y)
                with amp.scale_loss(loss, trainer) as scaled:
                    autograd.backward(scaled)
            trainer.step(64)
            losses.append(float(loss.mean().asscalar()))
    finally:
        amp._deinit()
    assert losses[-1] < 0.5 * losses[0], losses
    for p in net.collect_params().values():
        assert p.data().dtype == np.float16 and p.data().context == ctx


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_rnn_layers_take_the_fused_steps_and_match_the_cpu_on_a_gpu(mode):
    from mxplug.ops import rnn as rnn_op

    ctx = _gpu()
    assert rnn_op._cell_pair(ctx.backend.xp, mode)[0] is getattr(cupy_kernels, f"{mode}_cell")
    x = np.random.default_rng(4).normal(0, 1, (6, 3, 5)).astype(np.float32)
    results = []
    for c in (mx.cpu(), ctx):
        mx.random.seed(7)
        layer = (gluon.rnn.LSTM if mode == "lstm" else gluon.rnn.GRU)(8, num_layers=2,
                                                                      bidirectional=True)
        layer.initialize(mx.init.Uniform(0.3), ctx=c)
        xs = mx.nd.array(x, ctx=c)
        xs.attach_grad()
        with autograd.record():
            y = layer(xs)
        (y * y).sum().backward()
        results.append([y.asnumpy(), xs.grad.asnumpy()] +
                       [p.grad(c).asnumpy() for p in layer.collect_params().values()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["Convolution", "_backward_Convolution_weight", "Deconvolution"])
def test_gather_convolutions_match_the_numpy_kernels(name):
    """The CuPy kernels of ``conv_gather.py`` are array-namespace code: over NumPy (a stand-in
    backend) they must give what the NumPy kernels give, for every sample of the op (groups,
    strides, dilation, padding, adj, target_shape, 1-D/3-D, channel-last)."""
    op = REGISTRY[name]
    gather, numpy_kernel = op.kernels["cupy"][0], op.kernels["numpy"][0]
    stand_in = type("NumpyNamespace", (), {"xp": np})()
    numpy_be = registry.load("numpy")
    rng = np.random.default_rng(0)
    checked = 0
    for make in op.sample_fns:
        samples = make(rng)
        for s in samples if isinstance(samples, list) else [samples]:
            xs = [np.asarray(a, np.float64) if a is not None else None for a in s.inputs]
            attrs = op.parse_attrs(s.attrs)
            np.testing.assert_allclose(gather(stand_in, *xs, **attrs),
                                       numpy_kernel(numpy_be, *xs, **attrs), rtol=1e-10,
                                       atol=1e-10, err_msg=f"{name} {s.attrs}")
            checked += 1
    assert checked >= 3


def test_ops_run_on_the_gpu_of_their_arrays_when_there_are_several():
    """CuPy launches on its *current* device: with two GPUs, an op on gpu(1) arrays (or a
    creation op with ctx=gpu(1)) must run under ``cupy.cuda.Device(1)``. No machine here has
    two GPUs, so this checks ``device_scope`` against a stand-in for ``cupy``."""
    from mxplug.backends.cupy import CupyBackend

    entered = []

    class Device:
        def __init__(self, i):
            self.id = i

        def __enter__(self):
            entered.append(self.id)

        def __exit__(self, *exc):
            entered.append(None)

    class ndarray:  # noqa: N801 - stands for cupy.ndarray
        def __init__(self, dev):
            self.device = Device(dev)

    runtime = type("runtime", (), {"getDevice": staticmethod(lambda: 0)})
    cuda = type("cuda", (), {"Device": Device, "runtime": runtime})
    be = CupyBackend.__new__(CupyBackend)
    be.cp = type("cupy", (), {"cuda": cuda, "ndarray": ndarray})
    seen = []
    op_body = lambda *args, **attrs: seen.append(list(entered)) or "done"  # noqa: E731

    be._count = 1
    assert be.device_scope(op_body) is op_body  # one GPU: nothing wrapped, nothing paid
    be._count = 2
    run = be.device_scope(op_body)
    assert run(be, ndarray(0), 2.0) == "done" and entered == []      # already current
    assert run(be, ndarray(1), ndarray(1)) == "done" and seen[-1] == [1]
    assert entered == [1, None]                                      # left again
    run(shape=(2,), ctx=mx.gpu(1))                                   # creation: its ctx
    assert seen[-1] == [1, None, 1]
    run(shape=(2,), ctx=mx.gpu(0))
    assert entered == [1, None, 1, None]
