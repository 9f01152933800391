"""``mx.kv.create('local' | 'device')``: sums over contexts, init/push/pull/pushpull/broadcast."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx


def _contexts(ctx):
    return [ctx, mx.cpu(1)] if ctx != mx.cpu() else [mx.cpu(0), mx.cpu(1)]


@pytest.mark.parametrize("kind", ["local", "device"])
def test_push_sums_over_contexts_and_pull_broadcasts(ctx, kind):
    kv = mx.kv.create(kind)
    assert kv.type == kind and kv.rank == 0 and kv.num_workers == 1
    shape = (2, 3)
    kv.init(3, mx.nd.zeros(shape))
    ctxs = _contexts(ctx)
    kv.push(3, [mx.nd.ones(shape, ctx=c) * (i + 1) for i, c in enumerate(ctxs)])
    outs = [mx.nd.zeros(shape, ctx=c) for c in ctxs]
    kv.pull(3, out=outs)
    for o, c in zip(outs, ctxs):
        assert o.context == c
        np.testing.assert_array_equal(o.asnumpy(), np.full(shape, 3.0))


def test_list_keys_and_pushpull(ctx):
    kv = mx.kv.create("local")
    kv.init(["a", "b"], [mx.nd.zeros((2,)), mx.nd.zeros((3,))])
    vals = [[mx.nd.ones((2,), ctx=c) for c in _contexts(ctx)],
            [mx.nd.ones((3,), ctx=c) * 2 for c in _contexts(ctx)]]
    kv.pushpull(["a", "b"], vals)
    np.testing.assert_array_equal(vals[0][1].asnumpy(), [2.0, 2.0])
    np.testing.assert_array_equal(vals[1][0].asnumpy(), [4.0, 4.0, 4.0])


def test_broadcast_and_errors():
    kv = mx.kv.create("device")
    out = [mx.nd.zeros((2,)), mx.nd.zeros((2,), ctx=mx.cpu(1))]
    kv.broadcast("w", mx.nd.array([1.0, 2.0]), out=out)
    for o in out:
        np.testing.assert_array_equal(o.asnumpy(), [1.0, 2.0])
    with pytest.raises(mx.MXNetError, match="before init"):
        kv.push("nope", mx.nd.ones((2,)))
    with pytest.raises(mx.MXNetError, match="unknown kvstore"):
        mx.kv.create("bogus")
    with pytest.raises(mx.MXNetError, match="MPI"):
        mx.kv.create("dist_async")
