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


# -- MXNet 1.9.1's plug-in interface: KVStoreBase, its registry, 'teststore' ----------------------
def test_kvstore_base_interface():
    base = mx.kv.KVStoreBase
    assert base.OPTIMIZER == "optimizer" and mx.kvstore.KVStoreBase is base
    kv = base()
    for call in (lambda: kv.broadcast(0, mx.nd.ones((1,)), out=mx.nd.ones((1,))),
                 lambda: kv.pushpull(0, mx.nd.ones((1,))), lambda: kv.set_optimizer(None),
                 lambda: kv.is_capable(base.OPTIMIZER), lambda: kv.save_optimizer_states("f"),
                 lambda: kv.load_optimizer_states("f"), lambda: kv.type, lambda: kv.rank,
                 lambda: kv.num_workers):
        with pytest.raises(NotImplementedError):
            call()
    for kind in ("local", "device"):  # mxplug's own stores are KVStoreBase stores
        store = mx.kv.create(kind)
        assert isinstance(store, base) and store.is_capable(base.OPTIMIZER)
        with pytest.raises(ValueError, match="Unknown capability"):
            store.is_capable("sparse")
    from mxplug.kvstore.dist import DistKVStore

    assert issubclass(DistKVStore, base)
    assert mx.kv.create("LOCAL").type == "local"  # names are case-insensitive, as in 1.9.1
    with pytest.raises(TypeError):
        mx.kv.create(3)


def test_teststore():
    kv = mx.kv.create("teststore")
    assert type(kv) is mx.kv.TestStore and mx.kv.KVStoreBase.kv_registry["teststore"] is type(kv)
    assert type(mx.kv.create("TestStore")) is mx.kv.TestStore
    assert kv.type == "teststore" and kv.rank == 0 and kv.num_workers == 1
    assert kv.is_capable("optimizer") is False and kv.is_capable("OPTIMIZER") is False
    with pytest.raises(ValueError, match="Unknown capability"):
        kv.is_capable("compression")
    outs = [mx.nd.zeros((2,)), mx.nd.zeros((2,), ctx=mx.cpu(1))]
    kv.broadcast(0, mx.nd.array([1.0, 2.0]), out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), [1.0, 2.0])
    vals = [mx.nd.array([1.0, 2.0]), mx.nd.array([3.0, 4.0], ctx=mx.cpu(1))]
    kv.pushpull(0, vals)  # no out: the sum goes into the values
    for v in vals:
        np.testing.assert_array_equal(v.asnumpy(), [4.0, 6.0])
    out = mx.nd.zeros((2,))
    kv.pushpull(0, [mx.nd.ones((2,)), mx.nd.ones((2,))], out=out)
    np.testing.assert_array_equal(out.asnumpy(), [2.0, 2.0])
    kv.pushpull(0, mx.nd.array([5.0, 5.0]), out=[out])
    np.testing.assert_array_equal(out.asnumpy(), [5.0, 5.0])


def test_register_a_plugin_store():
    registry = mx.kv.KVStoreBase.kv_registry
    try:
        @mx.kv.KVStoreBase.register
        class MyStore(mx.kv.KVStoreBase):
            @property
            def type(self):
                return "mystore"

        assert registry["mystore"] is MyStore
        kv = mx.kv.create("MyStore")  # the registry is looked up first
        assert type(kv) is MyStore and kv.type == "mystore"

        with pytest.warns(UserWarning, match="overriding existing kvstore"):
            @mx.kv.KVStoreBase.register
            class mystore(MyStore):  # noqa: N801 - the same lower-cased name
                pass
        assert type(mx.kv.create("mystore")) is mystore

        @mx.kv.KVStoreBase.register
        class Local(mx.kv.KVStoreBase):  # a registered name wins over the built-in one
            pass
        assert type(mx.kv.create("local")) is Local
    finally:
        registry.pop("mystore", None)
        registry.pop("local", None)
    assert type(mx.kv.create("local")) is mx.kv.KVStore
    with pytest.raises(TypeError):
        mx.kv.KVStoreBase.register("not a class")


def test_module_with_a_store_that_cannot_optimize_updates_on_the_devices():
    from mxplug.module.module import _create_kvstore
    kv, update_on_kvstore = _create_kvstore("teststore", 2, {"w": mx.nd.ones((2,))})
    assert kv.type == "teststore" and update_on_kvstore is False  # as MXNet 1.9.1's
    assert _create_kvstore("local", 2, {"w": mx.nd.ones((2,))})[1] is True
    assert _create_kvstore("local", 1, {"w": mx.nd.ones((2,))}) == (None, False)


def test_keys_of_one_kind_per_store_and_the_local_updater_hook():
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.ones((2,)))
    with pytest.raises(ValueError, match="'a' is a str, but this store uses int keys"):
        kv.init("a", mx.nd.ones((2,)))
    kv._set_updater(lambda key, grad, stored: stored.__setitem__(slice(None), stored + 2 * grad))
    kv.push(3, mx.nd.ones((2,)))
    out = mx.nd.zeros((2,))
    kv.pull(3, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [3.0, 3.0])
