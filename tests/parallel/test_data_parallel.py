"""Data parallelism at any size: dist_sync kvstore, Trainer/DistributedTrainer equal to one
process on the combined batch, buckets, sampler, join, seeds (plain pytest: a world of 1;
tests/test_parallel.py runs it under ``mpiexec -n 2`` and a light part under ``-n 4``)."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx

pytest.importorskip("mpi4py", reason="mxplug.parallel needs mpi4py: pip install 'mxplug[mpi]'")
from mxplug import autograd, gluon, parallel  # noqa: E402

comm = parallel.init()
R, N = comm.rank, comm.size
B = 4  # per-rank batch


def _data(steps, seed=11):
    rng = np.random.default_rng(seed)  # the same on every rank
    n = steps * B * N
    return rng.normal(size=(n, 5)).astype(np.float32), rng.integers(0, 3, n).astype(np.float32)


def _net(hybridize=False, ctx=None):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="tanh"), gluon.nn.Dense(3))  # in_units deferred
    net.initialize(mx.init.Xavier(), ctx=ctx)
    if hybridize:
        net.hybridize()
    return net


def _train(net, trainer, batches, step_size, ctxs=None):
    """SGD steps; with ``ctxs`` each batch is split over those contexts (MXNet's multi-device
    data parallelism inside one rank)."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for x, y in batches:
        xs = gluon.utils.split_and_load(x, ctxs) if ctxs else [x]
        ys = gluon.utils.split_and_load(y, ctxs) if ctxs else [y]
        with autograd.record():
            losses = [loss_fn(net(a), b) for a, b in zip(xs, ys)]
        autograd.backward(losses)
        trainer.step(step_size)


def _params(net):
    """Each parameter's value (after checking its copies on every context agree)."""
    values = []
    for p in net.collect_params().values():
        copies = [d.asnumpy() for d in p.list_data()]
        for c in copies[1:]:
            np.testing.assert_array_equal(c, copies[0])
        values.append(copies[0])
    return values


def _single_process_reference(steps, seed, optimizer, opt_params, hybridize):
    """One process on the combined batch, starting from rank 0's stream of ``seed``."""
    state = mx.random.get_state()
    mx.random.seed(seed)
    mx.random.set_stream(0)
    net = _net(hybridize)
    trainer = gluon.Trainer(net.collect_params(), optimizer, dict(opt_params), kvstore="device")
    X, Y = _data(steps)
    order = parallel.DistributedSampler(len(X), num_replicas=1, rank=0, seed=5).indices(0)
    batches = [(mx.nd.array(X[order[i:i + B * N]]), mx.nd.array(Y[order[i:i + B * N]]))
               for i in range(0, len(X), B * N)]
    _train(net, trainer, batches, B * N)
    mx.random.set_state(state)
    return _params(net)


@pytest.mark.parametrize("mode", ["dist_sync", "DistributedTrainer",
                                  "dist_sync, 2 contexts per rank"])
def test_data_parallel_equals_one_process_on_the_combined_batch(mode):
    steps, seed = 3, 42
    opt_params = {"learning_rate": 0.2, "momentum": 0.9, "wd": 1e-3}
    ref = _single_process_reference(steps, seed, "sgd", opt_params, hybridize=mode != "dist_sync")
    mx.random.seed(seed)  # every rank: its own stream; rank 0's init wins by broadcast
    ctxs = [mx.cpu(0), mx.cpu(1)] if mode == "dist_sync, 2 contexts per rank" else None
    net = _net(hybridize=mode != "dist_sync", ctx=ctxs)
    if mode.startswith("dist_sync"):
        trainer = gluon.Trainer(net.collect_params(), "sgd", dict(opt_params),
                                kvstore="dist_sync")
        step_size = B * N  # MXNet: sums over ranks, step with the global batch
    else:
        trainer = parallel.DistributedTrainer(net.collect_params(), "sgd", dict(opt_params),
                                              bucket_bytes=256)  # several buckets
        step_size = B  # Horovod: averages, step with the local batch
    X, Y = _data(steps)
    sampler = parallel.DistributedSampler(len(X), seed=5)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size=B, sampler=sampler)
    assert len(loader) == steps
    _train(net, trainer, loader, step_size, ctxs)
    buckets = trainer._kvstore._buckets
    assert buckets.adopted == 0
    assert len(buckets.buckets) == (2 if mode == "DistributedTrainer" else 1)
    got = _params(net)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    everyone = comm.allgather_object(got)
    for theirs in everyone:
        for a, b in zip(theirs, got):
            np.testing.assert_array_equal(a, b)  # bit-identical on every rank


def test_dist_kvstore_sums_over_ranks_and_contexts():
    kv = mx.kv.create("dist_sync")
    assert kv.type == "dist_sync" and kv.rank == R and kv.num_workers == N
    ctxs = [mx.cpu(0), mx.cpu(1)]
    kv.init("w", mx.nd.full((2, 3), 10.0 + R))  # rank 0's value is stored
    out = [mx.nd.zeros((2, 3), ctx=c) for c in ctxs]
    kv.pull("w", out=out)
    for o in out:
        np.testing.assert_array_equal(o.asnumpy(), np.full((2, 3), 10.0))
    kv.push("w", [mx.nd.full((2, 3), R + 1, ctx=c) for c in ctxs])
    kv.pull("w", out=out)
    for o in out:
        np.testing.assert_array_equal(o.asnumpy(), np.full((2, 3), N * (N + 1)))
    kv.init(["k3", "k4"], [mx.nd.zeros((2,)), mx.nd.zeros((1,))])
    vals = [[mx.nd.ones((2,)) * (R + 1)], [mx.nd.ones((1,))]]
    kv.pushpull(["k3", "k4"], vals)
    np.testing.assert_array_equal(vals[0][0].asnumpy(), [N * (N + 1) / 2] * 2)
    np.testing.assert_array_equal(vals[1][0].asnumpy(), [N])
    dst = [mx.nd.zeros((3,))]
    kv.broadcast("b", mx.nd.full((3,), R + 5), out=dst)
    np.testing.assert_array_equal(dst[0].asnumpy(), [5, 5, 5])
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.5))
    kv.init("p", mx.nd.ones((2,)))
    kv.push("p", mx.nd.ones((2,)))  # summed gradient N, one SGD step on every rank
    p = mx.nd.zeros((2,))
    kv.pull("p", out=p)
    np.testing.assert_allclose(p.asnumpy(), [1 - 0.5 * N] * 2)
    kv.barrier()
    for alias in ("dist_sync_device", "dist_device_sync", "dist"):
        assert mx.kv.create(alias).num_workers == N


def test_buckets_fuse_arrays_and_reduce_in_place():
    arrays = [mx.nd.full((5, 7), R + 1), mx.nd.full((300,), 2.0 * (R + 1)),
              mx.nd.full((3,), R + 1, dtype="float64"), mx.nd.full((2, 2), 1.0),
              mx.nd.full((2,), R + 1, dtype="float16")]
    buffers = [a.data for a in arrays]
    buckets = parallel.GradientBuckets(arrays, comm, bucket_bytes=1024)
    # float32: 35 elements | 300 (1200 bytes > 1024: a bucket of its own) | 4; float64: 3
    assert buckets.layout == [(35, "float32"), (300, "float32"), (4, "float32"),
                              (3, "float64"), (2, "float16")]
    assert all(a.data.base is not None for a in arrays[:4])  # views of the flat buffers
    assert arrays[4].data.base is None  # float16 is reduced in a float32 copy instead
    np.testing.assert_array_equal(arrays[0].asnumpy(), np.full((5, 7), R + 1))  # values kept
    control = buckets.allreduce("sum", control=np.array([1.0, R]))
    k = N * (N + 1) / 2
    np.testing.assert_array_equal(control, [N, N * (N - 1) / 2])
    np.testing.assert_array_equal(arrays[0].asnumpy(), np.full((5, 7), k))
    np.testing.assert_array_equal(arrays[1].asnumpy(), np.full(300, 2 * k))
    np.testing.assert_array_equal(arrays[2].asnumpy(), np.full(3, k))
    assert arrays[4].dtype == np.float16
    np.testing.assert_array_equal(arrays[4].asnumpy(), np.full(2, k))
    arrays[3][:] = R  # autograd writes gradients in place: the bucket sees them
    buckets.allreduce("mean")
    np.testing.assert_allclose(arrays[3].asnumpy(), np.full((2, 2), (N - 1) / 2))
    assert buckets.adopted == 0
    arrays[0]._data = np.full((5, 7), 1.0, np.float32)  # a replaced buffer is adopted again
    buckets.allreduce("sum")
    assert buckets.adopted == 1
    np.testing.assert_array_equal(arrays[0].asnumpy(), np.full((5, 7), N))
    del buffers


def test_distributed_sampler_partitions_and_pads():
    for length, drop_last in ((10, False), (10, True), (3, False)):
        s = parallel.DistributedSampler(length, shuffle=True, seed=3, drop_last=drop_last)
        mine = list(s)
        everyone = comm.allgather_object(mine)
        assert all(len(e) == len(s) == len(mine) for e in everyone)
        flat = [i for step in zip(*everyone) for i in step]
        order = parallel.DistributedSampler(length, 1, 0, seed=3).indices(0)
        if drop_last:
            assert flat == order[:length // N * N].tolist()
        else:
            assert set(flat) == set(range(length))
            assert flat == np.resize(order, len(flat)).tolist()
        assert list(s) != mine or length < 4 or N == length  # the next epoch reshuffles
    seq = parallel.DistributedSampler(7, shuffle=False)
    padded = np.resize(np.arange(7), 7 + (-7) % N)  # wraps around to the first indices
    assert list(seq) == padded[R::N].tolist() and len(seq) == -(-7 // N)
    with pytest.raises(mx.MXNetError, match="rank"):
        parallel.DistributedSampler(4, num_replicas=2, rank=2)


@pytest.mark.parametrize("mode", ["dist_sync", "DistributedTrainer"])
def test_uneven_batches_join_instead_of_hanging(mode):
    """Rank r makes 2 + r steps, then joins: everyone ends where one process ends that, at
    each step, trains on the batches of the ranks still going (dist_sync: summed, step with B;
    DistributedTrainer: averaged over the ranks still going)."""
    seed, lr = 9, 0.3
    steps = [2 + r for r in range(N)]
    X, Y = _data(max(steps) * N, seed=2)
    chunks = {(t, r): slice((t * N + r) * B, (t * N + r + 1) * B)
              for t in range(max(steps)) for r in range(N)}
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    state = mx.random.get_state()
    mx.random.seed(seed)
    mx.random.set_stream(0)
    ref = _net()
    ref_trainer = gluon.Trainer(ref.collect_params(), "sgd", {"learning_rate": lr}, "device")
    for t in range(max(steps)):
        active = [r for r in range(N) if t < steps[r]]
        rows = np.concatenate([np.arange(len(X))[chunks[t, r]] for r in active])
        with autograd.record():
            loss = loss_fn(ref(mx.nd.array(X[rows])), mx.nd.array(Y[rows]))
        loss.backward()
        ref_trainer.step(B if mode == "dist_sync" else B * len(active))
    mx.random.set_state(state)

    mx.random.seed(seed)
    net = _net()
    if mode == "dist_sync":
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr}, "dist_sync")
    else:
        trainer = parallel.DistributedTrainer(net.collect_params(), "sgd", {"learning_rate": lr})
    mine = [(mx.nd.array(X[chunks[t, R]]), mx.nd.array(Y[chunks[t, R]]))
            for t in range(steps[R])]
    _train(net, trainer, mine, B)
    trainer.join()
    for a, b in zip(_params(net), _params(ref)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_optimizer_state_comes_from_rank_0(tmp_path_factory):
    mx.random.seed(1)
    net = _net()
    net(mx.nd.ones((1, 5)))  # finish the deferred init (broadcast happens in the Trainer)
    trainer = parallel.DistributedTrainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    if R == 0:  # only rank 0 has a state (say, resumed from a checkpoint)
        local = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01}, "device")
        with autograd.record():
            net(mx.nd.ones((2, 5))).sum().backward()
        local.update(2)  # moves rank 0's weights: broadcast them again below
        path = str(tmp_path_factory.mktemp("states") / "adam.states")
        local.save_states(path)
        trainer.load_states(path)
    parallel.broadcast_parameters(net.collect_params())
    with autograd.record():
        loss = net(mx.nd.ones((2, 5)) * (R + 1)).sum()
    loss.backward()
    trainer.step(2)
    counts = comm.allgather_object(trainer.optimizer.num_update)
    assert counts == [2] * N  # rank 0's count of 1, plus this step
    everyone = comm.allgather_object(_params(net))
    for theirs in everyone:
        for a, b in zip(theirs, _params(net)):
            np.testing.assert_array_equal(a, b)


def test_dropout_masks_reproduce_from_the_seed():
    def masks():
        mx.random.seed(123)
        drop = gluon.nn.Dropout(0.5)
        with autograd.record():
            return [drop(mx.nd.ones((4, 8))).asnumpy() for _ in range(3)]

    first, again = masks(), masks()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    everyone = comm.allgather_object(first[0])
    for r in range(1, N):
        assert not np.array_equal(everyone[r], everyone[0])  # each rank its own stream
    assert mx.random.get_state()[1] == R
