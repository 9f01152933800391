"""Model parallelism at any size: differentiable send/recv, Pipeline and the tensor-parallel Dense
layers give the outputs and gradients of the same model in one process (plain pytest: a world of
1, where sends go to the rank itself and every stage runs locally; tests/test_parallel.py runs
this module under ``mpiexec -n 2`` and ``-n 4``)."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx

pytest.importorskip("mpi4py", reason="mxplug.parallel needs mpi4py: pip install 'mxplug[mpi]'")
from mxplug import autograd, gluon, parallel  # noqa: E402
from mxplug.parallel import p2p  # noqa: E402
from mxplug.parallel.tensor import shard_bounds  # noqa: E402

comm = parallel.init()
R, N = comm.rank, comm.size
nn = gluon.nn


def _hop(k, h):
    """The k-th piece of a computation that is cut across ranks."""
    w = mx.nd.array(np.linspace(-1, 1, h.size).reshape(h.shape) + k, dtype=h.dtype)
    return mx.nd.tanh(h * w) + 0.5 * h


def _x(shape=(3, 4), seed=0):
    return mx.nd.array(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def _reference_grad(hops, x):
    """d/dx of ``sum(hop_{hops-1}(... hop_0(x)) ** 2)`` in one process."""
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        h = x
        for k in range(hops):
            h = _hop(k, h)
        loss = (h ** 2).sum()
    loss.backward()
    return x.grad.asnumpy(), h.asnumpy()


def test_gradient_flows_back_along_a_chain_of_ranks():
    # hop k runs on rank k % N: one hop per rank, two on one rank in a world of 1 (then the
    # transfer goes to the rank itself)
    hops = max(N, 2)
    x = _x()
    if R == 0:
        x.attach_grad()
    heads, out = [], None
    with autograd.record():
        for k in range(hops):
            if k % N != R:
                continue
            h = x if k == 0 else p2p.recv((k - 1) % N, tag=k)
            assert autograd._needs_grad(h) or k == 0
            h = _hop(k, h)
            if k < hops - 1:
                heads.append(p2p.send(h, (k + 1) % N, tag=k + 1))
            else:
                out = h
                heads.append((h ** 2).sum())
    autograd.backward(heads)
    want_grad, want_out = _reference_grad(hops, x)
    if R == (hops - 1) % N:
        np.testing.assert_allclose(out.asnumpy(), want_out, rtol=1e-6)
    if R == 0:
        np.testing.assert_allclose(x.grad.asnumpy(), want_grad, rtol=1e-5, atol=1e-6)


def test_ring_exchange_in_both_directions():
    # every rank sends to the next and receives from the previous; even ranks send first so
    # that large transfers cannot deadlock (send returns once the receiver has the data)
    x = _x(seed=R)
    x.attach_grad()
    with autograd.record():
        y = _hop(R, x)
        if R % 2 == 0:
            token = p2p.send(y, (R + 1) % N)
            z = p2p.recv((R - 1) % N)
        else:
            z = p2p.recv((R - 1) % N)
            token = p2p.send(y, (R + 1) % N)
        loss = (_hop(R + 10, z) ** 2).sum()
    assert token.shape == (1,) and float(token.asscalar()) == 0
    autograd.backward([loss, token])
    # my x goes through hop R here and hop (R + 1) + 10 on the next rank
    ref = x.copy()
    ref.attach_grad()
    with autograd.record():
        nxt = (R + 1) % N
        loss_ref = (_hop(nxt + 10, _hop(R, ref)) ** 2).sum()
    loss_ref.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), ref.grad.asnumpy(), rtol=1e-5, atol=1e-6)


def test_transfers_carry_shape_and_dtype_and_record_only_when_the_sender_does():
    dst, src = (R + 1) % N, (R - 1) % N
    ints = mx.nd.array(np.arange(24).reshape(2, 3, 4) * (R + 1), dtype="int32")
    x = _x((2, 5), seed=R)
    x.attach_grad()
    for order in ("send", "recv") if R % 2 == 0 else ("recv", "send"):
        if order == "send":
            p2p.send(ints, dst, tag=3)
            with autograd.record():
                p2p.send(x.detach(), dst, tag=4)  # no gradient needed: nothing comes back
        else:
            got = p2p.recv(src, tag=3)
            with autograd.record():
                plain = p2p.recv(src, tag=4)
    assert got.dtype == np.int32 and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got.asnumpy(), np.arange(24).reshape(2, 3, 4) * (src + 1))
    assert getattr(plain, "_ag", None) is None  # the sender did not record: neither do we
    np.testing.assert_array_equal(plain.asnumpy(), _x((2, 5), seed=src).asnumpy())


def test_send_and_recv_errors():
    with pytest.raises(mx.MXNetError, match="tag"):
        p2p.send(mx.nd.ones((2,)), R, tag=-1)
    with pytest.raises(mx.MXNetError, match="NDArray"):
        p2p.send(np.ones(2), R)
    with pytest.raises(mx.MXNetError, match="dest"):
        p2p.send(mx.nd.ones((2,)), N)
    with pytest.raises(mx.MXNetError, match="sent nothing"):
        p2p.recv(R, tag=7)
    x = mx.nd.ones((2,))
    x.attach_grad()
    with autograd.record():
        p2p.send(x * 2, R, tag=8)  # to this rank itself: the mailbox, no MPI involved
    with pytest.raises(mx.MXNetError, match="not recording"):
        p2p.recv(R, tag=8)


def test_opencl_arrays_cross_ranks_with_their_gradient():
    if not any(b.name == "opencl" and b.available for b in mx.backends.list()):
        pytest.skip("no OpenCL device (pyopencl + PoCL not installed)")
    ctx = mx.opencl(0)
    x = mx.nd.array([1.0, 2.0, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        if R % 2 == 0:
            token = p2p.send(x * (R + 1), (R + 1) % N)
            z = p2p.recv((R - 1) % N, ctx=ctx)
        else:
            z = p2p.recv((R - 1) % N, ctx=ctx)
            token = p2p.send(x * (R + 1), (R + 1) % N)
        loss = (z * z).sum()
    autograd.backward([loss, token])
    assert z.context == ctx and x.grad.context == ctx
    # d/dx of sum((x (R+1))^2) on the next rank
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * (R + 1) ** 2 * np.array([1, 2, 3.0]))


# -- Pipeline -------------------------------------------------------------------------------------
def _stages(n):
    """n stages: hybridized Dense layers with deferred input sizes."""
    stages = []
    for i in range(n):
        s = nn.HybridSequential(prefix=f"s{i}_")
        with s.name_scope():
            s.add(nn.Dense(7 + i, activation="tanh"))
            if i == n - 1:
                s.add(nn.Dense(4))
        s.hybridize()
        stages.append(s)
    return stages


def _set_params(stage, i):
    """Deterministic values, the same on every rank and for the pipeline and the reference."""
    for j, p in enumerate(stage.collect_params().values()):
        rng = np.random.default_rng([i, j])
        p.set_data(mx.nd.array(rng.normal(scale=0.5, size=p.shape).astype(np.float32)))


def test_pipeline_equals_the_sequential_model():
    n = max(N, 3)  # a world of 1 or 2 runs several stages on one rank
    batch = 10
    rng = np.random.default_rng(3)
    x = mx.nd.array(rng.normal(size=(batch, 5)).astype(np.float32))
    y = mx.nd.array(rng.integers(0, 4, batch).astype(np.float32))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    stages = _stages(n)
    pipe = parallel.Pipeline(stages, micro_batches=3)  # uneven parts: 4, 3, 3
    lo, hi = shard_bounds(n, N, R)
    assert pipe.stage_ids == list(range(lo, hi))
    assert pipe.is_first == (R == 0) and pipe.is_last == (R == N - 1)
    assert set(pipe.collect_params().keys()) == {
        k for i in range(lo, hi) for k in stages[i].collect_params().keys()}
    pipe.initialize(mx.init.Xavier())
    assert pipe(x if R == 0 else None) is None or pipe.is_last  # first call infers the shapes
    for i in pipe.stage_ids:
        _set_params(stages[i], i)

    ref = _stages(n)
    seq = nn.HybridSequential()
    seq.add(*ref)
    seq.initialize()
    seq(x)
    for i, s in enumerate(ref):
        _set_params(s, i)

    out = pipe(x if R == 0 else None)  # prediction: nothing recorded, nothing sent back
    if pipe.is_last:
        np.testing.assert_allclose(out.asnumpy(), seq(x).asnumpy(), rtol=1e-5, atol=1e-6)
    else:
        assert out is None

    opt = {"learning_rate": 0.5, "momentum": 0.9}
    trainer = gluon.Trainer(pipe.collect_params(), "sgd", dict(opt))
    ref_trainer = gluon.Trainer(seq.collect_params(), "sgd", dict(opt))
    got, want = [], []  # compared after the last transfer: a rank that fails early would
    for _ in range(2):  # leave its neighbours waiting
        with autograd.record():
            out = pipe(x if R == 0 else None)
            loss = loss_fn(out, y) if pipe.is_last else None
        pipe.backward(loss)
        trainer.step(batch)
        with autograd.record():
            ref_out = seq(x)
            ref_loss = loss_fn(ref_out, y)
        ref_loss.backward()
        ref_trainer.step(batch)
        if pipe.is_last:
            got += [out.asnumpy(), loss.asnumpy()]
            want += [ref_out.asnumpy(), ref_loss.asnumpy()]
        for i in pipe.stage_ids:  # the gradients of the whole batch, then the same update
            for p, q in zip(stages[i].collect_params().values(), ref[i].collect_params().values()):
                got += [p.grad().asnumpy(), p.data().asnumpy()]
                want += [q.grad().asnumpy(), q.data().asnumpy()]
    assert len(got) == len(want) > 0
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=f"comparison {k}")


def test_pipeline_errors():
    with pytest.raises(mx.MXNetError, match="at least one stage per rank"):
        parallel.Pipeline([])
    with pytest.raises(mx.MXNetError, match="micro_batches"):
        parallel.Pipeline([nn.Dense(2)] * N, micro_batches=0)
    with pytest.raises(mx.MXNetError, match="to be a Block"):
        parallel.Pipeline([None] * N)
    if N == 1:  # these raise on one rank only, which would leave the others waiting
        pipe = parallel.Pipeline([nn.Dense(2)], micro_batches=4)
        pipe.initialize()
        with pytest.raises(mx.MXNetError, match="at least micro_batches=4"):
            pipe(mx.nd.ones((3, 2)))
        with pytest.raises(mx.MXNetError, match="must pass the loss"):
            pipe.backward()


# -- tensor parallel ------------------------------------------------------------------------------
def _values(shape, seed):
    return np.random.default_rng(seed).normal(scale=0.4, size=shape).astype(np.float32)


@pytest.mark.parametrize("mode", ["column -> row", "gathered column -> scattering row"])
def test_tensor_parallel_pair_equals_two_dense_layers(mode):
    D, H, O = 6, 2 * N + 1, 3  # 2N+1 hidden units: an uneven split on more than one rank
    gathered = mode.startswith("gathered")
    x_np = _values((4, 2, 3), 1)  # flattened to D = 6 features
    w1, b1, w2, b2 = _values((H, D), 2), _values((H,), 3), _values((O, H), 4), _values((O,), 5)
    head = _values((4, O), 6)

    ref = nn.HybridSequential()
    ref.add(nn.Dense(H, activation="tanh", in_units=D), nn.Dense(O, in_units=H))
    ref.initialize()
    for p, v in zip(ref.collect_params().values(), (w1, b1, w2, b2)):
        p.set_data(mx.nd.array(v))

    col = parallel.ColumnParallelDense(H, in_units=0 if not gathered else D, activation="tanh",
                                       gather_output=gathered)
    row = parallel.RowParallelDense(O, in_units=H, input_is_parallel=not gathered)
    par = nn.Sequential()
    par.add(col, row)
    par.initialize()
    lo, hi = shard_bounds(H, N, R)
    assert col.local_units == row.local_in_units == hi - lo
    if not gathered:  # deferred in_units: the first forward tells the shape
        assert col.weight.shape == (hi - lo, 0)
        par(mx.nd.array(x_np))
    assert col.weight.shape == (hi - lo, D) and row.weight.shape == (O, hi - lo)
    col.weight.set_data(mx.nd.array(w1[lo:hi]))
    col.bias.set_data(mx.nd.array(b1[lo:hi]))
    row.weight.set_data(mx.nd.array(w2[:, lo:hi]))
    row.bias.set_data(mx.nd.array(b2))

    results = []
    for net in (ref, par):
        x = mx.nd.array(x_np)
        x.attach_grad()
        with autograd.record():
            out = net(x)
            loss = (out * mx.nd.array(head)).sum()
        loss.backward()
        results.append((out.asnumpy(), x.grad.asnumpy()))
    (out_ref, gx_ref), (out, gx) = results
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-5, atol=1e-6)  # summed over the ranks
    g1, gb1, g2, gb2 = (p.grad().asnumpy() for p in ref.collect_params().values())
    np.testing.assert_allclose(col.weight.grad().asnumpy(), g1[lo:hi], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(col.bias.grad().asnumpy(), gb1[lo:hi], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row.weight.grad().asnumpy(), g2[:, lo:hi], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row.bias.grad().asnumpy(), gb2, rtol=1e-5, atol=1e-6)


def test_tensor_parallel_initialisation_splits_the_single_process_weights():
    D, H, O = 5, 2 * N + 1, 3
    state = mx.random.get_state()
    mx.random.seed(7)  # each rank its own stream: rank 0's full draw is kept everywhere
    par = nn.Sequential()
    par.add(parallel.ColumnParallelDense(H, in_units=D),
            parallel.RowParallelDense(O, in_units=H, bias_initializer="normal"))
    par.initialize(mx.init.Xavier())
    mx.random.seed(7)
    mx.random.set_stream(0)  # what one process draws
    ref = nn.Sequential()
    ref.add(nn.Dense(H, in_units=D), nn.Dense(O, in_units=H, bias_initializer="normal"))
    ref.initialize(mx.init.Xavier())
    mx.random.set_state(state)
    col, row = par[0], par[1]
    full_col = comm.allgather(col.weight.data()).asnumpy()  # blocks of rows, in rank order
    full_row = comm.allgather(row.weight.data().T).asnumpy().T  # blocks of columns
    w1, b1, w2, b2 = (p.data().asnumpy() for p in ref.collect_params().values())
    np.testing.assert_array_equal(full_col, w1)
    np.testing.assert_array_equal(full_row, w2)
    np.testing.assert_array_equal(row.bias.data().asnumpy(), b2)  # replicated, from rank 0
    assert col.weight.full_shape() == (H, D) and row.weight.full_shape() == (O, H)


def test_tensor_parallel_errors():
    with pytest.raises(mx.MXNetError, match="in_units > 0"):
        parallel.RowParallelDense(3, in_units=0)
    with pytest.raises(mx.MXNetError, match="activation='relu'"):
        parallel.ColumnParallelDense(4, "relu")
    if N > 1:
        with pytest.raises(mx.MXNetError, match="at least one unit per rank"):
            parallel.ColumnParallelDense(N - 1, in_units=3)
    row = parallel.RowParallelDense(3, in_units=4 * N)
    row.initialize()
    with pytest.raises(mx.MXNetError, match=r"x.shape\[-1\] == 4"):
        row(mx.nd.ones((2, 5)))
