"""The communicator on NDArrays, at any size (plain pytest: a world of 1; tests/test_parallel.py
runs this module under ``mpiexec -n 2`` and ``-n 4``)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mxplug as mx

pytest.importorskip("mpi4py", reason="mxplug.parallel needs mpi4py: pip install 'mxplug[mpi]'")
from mxplug import parallel  # noqa: E402

comm = parallel.init()
R, N = comm.rank, comm.size


def _x(dtype="float32", shape=(2, 3), ctx=None):
    """This rank's contribution: (rank + 1) * [1, 2, ...]."""
    base = np.arange(1, int(np.prod(shape)) + 1).reshape(shape)
    return mx.nd.array(base * (R + 1), dtype=dtype, ctx=ctx)


def _base(shape=(2, 3)):
    return np.arange(1, int(np.prod(shape)) + 1).reshape(shape).astype(np.float64)


def test_topology_matches_the_launcher():
    assert comm.size == int(os.environ.get("PMI_SIZE", "1"))
    assert comm.rank == int(os.environ.get("PMI_RANK", "0"))
    assert parallel.rank() == R and parallel.size() == N
    assert comm.allgather_object(R) == list(range(N))
    assert 0 <= comm.local_rank < comm.local_size <= N  # one machine here: local == world
    assert comm.local_size == N and comm.local_rank == R
    assert comm.mpi_comm is not __import__("mpi4py.MPI").MPI.COMM_WORLD  # a private duplicate


def test_allreduce_every_op():
    k = N * (N + 1) / 2  # sum of (rank + 1)
    expected = {"sum": _base() * k, "mean": _base() * k / N, "max": _base() * N,
                "min": _base(), "prod": _base() ** N * float(np.prod(np.arange(1, N + 1)))}
    for op, want in expected.items():
        got = comm.allreduce(_x(), op)
        assert got.dtype == np.float32 and got.shape == (2, 3)
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-6, err_msg=op)
    for dtype in ("float64", "int32", "int64", "float16", "uint8"):
        got = comm.allreduce(_x(dtype), "sum")
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got.asnumpy(), _base() * k, err_msg=dtype)
    flags = comm.allreduce(mx.nd.array([R == 0, False], dtype="bool"), "max")
    assert flags.dtype == np.bool_ and flags.asnumpy().tolist() == [True, False]


def test_allreduce_in_place_is_zero_copy_on_numpy():
    x = _x()
    buffer = x.data
    out = comm.allreduce(x, "sum", out=x)
    assert out is x and x.data is buffer  # MPI wrote into the array's own memory
    np.testing.assert_allclose(x.asnumpy(), _base() * N * (N + 1) / 2)
    y = _x()
    z = mx.nd.zeros((2, 3))
    comm.allreduce(y, "max", out=z)
    np.testing.assert_allclose(z.asnumpy(), _base() * N)
    np.testing.assert_allclose(y.asnumpy(), _base() * (R + 1))  # the input is left alone


def test_broadcast_allgather_reduce_scatter():
    root = N - 1
    x = _x()
    assert comm.broadcast(x, root=root) is x
    np.testing.assert_allclose(x.asnumpy(), _base() * N)
    # uneven first dimension: rank r gives r + 1 rows of value r
    part = mx.nd.full((R + 1, 2), R, dtype="int32")
    gathered = comm.allgather(part)
    want = np.concatenate([np.full((r + 1, 2), r) for r in range(N)])
    assert gathered.dtype == np.int32
    np.testing.assert_array_equal(gathered.asnumpy(), want)
    np.testing.assert_array_equal(comm.allgather(mx.nd.array(float(R))).asnumpy(), np.arange(N))
    rows = 2 * N + 1
    full = _x(shape=(rows, 3))
    mine = comm.reduce_scatter(full, "sum")
    blocks = np.array_split(_base((rows, 3)) * N * (N + 1) / 2, N)
    np.testing.assert_allclose(mine.asnumpy(), blocks[R])
    np.testing.assert_allclose(comm.reduce_scatter(full, "mean").asnumpy(),
                               blocks[R] / N)


def test_send_recv_ring_and_barrier():
    right, left = (R + 1) % N, (R - 1) % N
    if N == 1:
        pytest.skip("send/recv needs a second rank (runs under mpiexec -n 2 and -n 4)")
    if R % 2 == 0:
        comm.send(mx.nd.full((3,), R), right, tag=7)
        got = comm.recv(source=left, tag=7, shape=(3,))
    else:
        got = comm.recv(source=left, tag=7, shape=(3,))
        comm.send(mx.nd.full((3,), R), right, tag=7)
    np.testing.assert_array_equal(got.asnumpy(), np.full(3, left))
    out = mx.nd.zeros((2,), dtype="float64")
    if R == 0:
        comm.send(mx.nd.array([1.5, 2.5], dtype="float64"), 1)
    elif R == 1:
        assert comm.recv(out, source=0) is out
        np.testing.assert_array_equal(out.asnumpy(), [1.5, 2.5])
    comm.barrier()
    parallel.barrier()


def test_objects_and_split():
    assert comm.broadcast_object({"r": R}, root=0) == {"r": 0}
    halves = comm.split(color=R % 2)
    assert halves.size == len(range(R % 2, N, 2)) and halves.rank == R // 2
    total = halves.allreduce(mx.nd.array([R]), "sum").asnumpy()[0]
    assert total == sum(range(R % 2, N, 2))


def test_errors_name_what_was_wrong():
    with pytest.raises(mx.MXNetError, match="op in"):
        comm.allreduce(_x(), "median")
    with pytest.raises(mx.MXNetError, match="root in"):
        comm.broadcast(_x(), root=N)
    with pytest.raises(mx.MXNetError, match="floating-point"):
        comm.allreduce(_x("int32"), "mean")
    with pytest.raises(mx.MXNetError, match="out of shape"):
        comm.allreduce(_x(), out=mx.nd.zeros((3,)))
    with pytest.raises(mx.MXNetError, match="NDArray"):
        comm.allreduce(np.ones(3))


def test_opencl_arrays_are_staged_through_the_host():
    if not any(b.name == "opencl" and b.available for b in mx.backends.list()):
        pytest.skip("no OpenCL device (pyopencl + PoCL not installed)")
    ctx = mx.opencl(0)
    x = _x(ctx=ctx)
    comm.allreduce(x, "sum", out=x)
    assert x.context == ctx
    np.testing.assert_allclose(x.asnumpy(), _base() * N * (N + 1) / 2)
    y = comm.allgather(_x(ctx=ctx))
    assert y.context == ctx and y.shape == (2 * N, 3)
    grads = [_x(ctx=ctx), _x(ctx=ctx, shape=(4,))]  # buckets pack and unpack through the host
    parallel.GradientBuckets(grads, comm).allreduce("mean")
    np.testing.assert_allclose(grads[1].asnumpy(), _base((4,)) * (N + 1) / 2)
    assert grads[0].context == ctx
