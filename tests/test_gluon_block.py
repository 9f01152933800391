"""Gluon Block / HybridBlock / SymbolBlock: naming, registration, hybridize, hooks, saving."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import gluon
from mxplug.gluon import nn
from mxplug.gluon.block import Block, HybridBlock
from mxplug.gluon.params_io import ParameterFileError
from mxplug.gluon.symbol_block import SymbolBlock


def _mlp(prefix=None):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
    return net


def _x(shape=(4, 5), ctx=None, seed=0):
    return mx.nd.array(np.random.RandomState(seed).uniform(-1, 1, shape), ctx=ctx)


class _Scaled(HybridBlock):
    """A plain forward() override using its own parameter and a child."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = nn.Dense(4)
            self.scale = self.params.get("scale", shape=(4,), init=mx.init.One())

    def forward(self, x):
        return mx.nd.relu(self.dense(x)) * self.scale.data()


class _Record(HybridBlock):
    """hybrid_forward that records which F it got."""

    def __init__(self, seen, **kw):
        super().__init__(**kw)
        self.seen = seen
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(3, 0), allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        self.seen.append(F)
        return F.FullyConnected(x, weight, None, no_bias=True, num_hidden=3)


# -- naming and registration ---------------------------------------------------------------------
def test_prefixes_and_collect_params():
    with mx.name.Prefix("t_"):
        d0, d1 = nn.Dense(2), nn.Dense(2)
        net = _mlp()
    assert (d0.prefix, d1.prefix, d0.name) == ("t_dense0_", "t_dense1_", "t_dense0")
    assert net.prefix == "t_hybridsequential0_"
    keys = list(net.collect_params().keys())
    assert keys == ["t_hybridsequential0_dense0_weight", "t_hybridsequential0_dense0_bias",
                    "t_hybridsequential0_dense1_weight", "t_hybridsequential0_dense1_bias"]
    assert list(net.collect_params(".*weight").keys()) == keys[0::2]
    assert list(net.collect_params("t_hybridsequential0_dense1_.*").keys()) == keys[2:]
    assert len(net.params) == 0  # a block's own dict holds its own parameters only
    assert nn.Dense(2, prefix="fc_").collect_params().keys() == {"fc_weight", "fc_bias"}


def test_registration_by_attribute():
    class Net(Block):
        def __init__(self):
            super().__init__(prefix="net_")
            with self.name_scope():
                self.body = nn.Dense(3)
                self.w = gluon.Parameter("net_extra", shape=(3,))

        def forward(self, x):
            return self.body(x) + self.w.data()

    net = Net()
    assert list(net._children) == ["body"]
    assert set(net.collect_params()) == {"net_dense0_weight", "net_dense0_bias", "net_extra"}
    assert set(net._collect_params_with_prefix()) == {"body.weight", "body.bias", "w"}
    with pytest.raises(TypeError, match="Changing attribute type"):
        net.body = 3
    with pytest.raises(ValueError, match="must also be HybridBlock"):
        nn.HybridSequential().add(Net())


def test_initialize_default_uniform_and_init_arg(ctx):
    net = nn.Dense(50, in_units=40)
    net.initialize(ctx=ctx)
    w = net.weight.data().asnumpy()
    assert np.abs(w).max() <= 0.07 and w.std() > 0.01  # Uniform(0.07)
    np.testing.assert_array_equal(net.bias.data().asnumpy(), 0)  # bias_initializer='zeros'
    net.initialize(mx.init.One(), force_reinit=True, ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), 1)


# -- hybrid_forward / forward ------------------------------------------------------------------
def test_hybrid_forward_gets_nd_or_sym(ctx):
    seen = []
    b = _Record(seen)
    b.initialize(ctx=ctx)
    y = b(_x(ctx=ctx))
    assert y.shape == (4, 3) and b.weight.shape == (3, 5)
    assert seen[-1] is mx.nd
    s = b(mx.sym.var("data"))
    assert isinstance(s, mx.sym.Symbol) and seen[-1] is mx.sym
    assert s.list_inputs() == ["data", b.weight.name]


@pytest.mark.parametrize("make", [_mlp, _Scaled], ids=["hybrid_forward", "forward"])
def test_hybridized_equals_eager_with_gradients(ctx, make):
    net = make()
    net.initialize(ctx=ctx)
    x = _x(ctx=ctx)
    params = list(net.collect_params().values())
    outs, grads = [], []
    for active in (False, True):
        net.hybridize(active)
        with mx.autograd.record():
            y = net(x)
            loss = (y * y).sum()
        loss.backward()
        outs.append(y.asnumpy())
        grads.append([p.grad().asnumpy().copy() for p in params])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    for g0, g1 in zip(*grads):
        np.testing.assert_allclose(g0, g1, rtol=1e-5, atol=1e-6)
    assert net._cached_op is not None and net._cached_op.num_traces == 1


def test_hybridized_sees_set_data_and_reinit(ctx):
    net = nn.Dense(2, in_units=3)
    net.initialize(mx.init.One(), ctx=ctx)
    net.hybridize()
    x = mx.nd.ones((1, 3), ctx=ctx)
    np.testing.assert_array_equal(net(x).asnumpy(), [[3, 3]])
    net.weight.set_data(mx.nd.full((2, 3), 2.0))
    np.testing.assert_array_equal(net(x).asnumpy(), [[6, 6]])
    net.initialize(mx.init.Zero(), force_reinit=True, ctx=ctx)  # new arrays
    np.testing.assert_array_equal(net(x).asnumpy(), [[0, 0]])
    assert net._cached_op.num_traces == 1


def test_hybridize_retraces_on_new_shape(ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    a, b = _x((4, 5), ctx), _x((7, 5), ctx)
    np.testing.assert_allclose(net(b).asnumpy()[:0], np.zeros((0, 3)))
    net(a)
    assert net._cached_op.num_traces == 2
    net.hybridize(False)
    np.testing.assert_allclose(net(a).asnumpy(), net.forward(a).asnumpy())


def test_deferred_init_eager_and_hybridized(ctx):
    for hybrid in (False, True):
        net = _mlp()
        net.initialize(ctx=ctx)
        if hybrid:
            net.hybridize()
        with pytest.raises(gluon.DeferredInitializationError):
            net[0].weight.data()
        assert net[0].weight.shape == (8, 0)
        net(_x((2, 6), ctx))
        assert net[0].weight.shape == (8, 6) and net[1].weight.shape == (3, 8)
        assert net[0].weight.data().context == ctx


def test_deferred_init_forward_override(ctx):
    class Own(HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.dense = nn.Dense(3)
                self.weight = self.params.get("weight", shape=(2, 0), allow_deferred_init=True)

        def forward(self, x):
            h = self.dense(x)
            return mx.nd.FullyConnected(h, self.weight.data(), None, no_bias=True,
                                        num_hidden=2)

    for hybrid in (False, True):
        net = Own()
        net.initialize(ctx=ctx)
        net.hybridize(hybrid)
        with mx.autograd.record():
            y = net(_x((4, 5), ctx))
        y.backward()
        assert y.shape == (4, 2) and net.weight.grad().shape == (2, 3)
        assert net.weight.shape == (2, 3) and net.dense.weight.shape == (3, 5)


def test_batchnorm_hybridized_updates_running_stats(ctx):
    outs = []
    for hybrid in (False, True):
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(4, in_units=5), nn.BatchNorm(in_channels=4))
        net.initialize(mx.init.One(), ctx=ctx)
        if hybrid:
            net.hybridize()
        with mx.autograd.record():
            y = net(_x(ctx=ctx))
        outs.append((y.asnumpy(), net[1].running_mean.data().asnumpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
    assert np.abs(outs[1][1]).sum() > 0


def test_several_contexts_forward_backward(ctx):
    ctxs = [mx.cpu(1), ctx]
    net = _mlp()
    net.initialize(ctx=ctxs)
    net.hybridize()
    x = _x((6, 5))
    parts = [x[:3].as_in_context(ctxs[0]), x[3:].as_in_context(ctxs[1])]
    with mx.autograd.record():
        losses = [net(p).sum() for p in parts]
    for loss in losses:
        loss.backward()
    w = net[0].weight
    assert len(w.list_grad()) == 2 and w.grad(ctxs[0]).context == ctxs[0]
    assert not np.allclose(w.grad(ctxs[0]).asnumpy(), w.grad(ctxs[1]).asnumpy())


# -- cast, hooks, apply, summary, sharing ------------------------------------------------------
def test_cast(ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    net.cast("float64")
    y = net(_x(ctx=ctx).astype("float64"))
    assert y.dtype == np.float64 and net[0].weight.dtype == np.float64


def test_hooks_and_apply(ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    calls = []
    pre = net.register_forward_pre_hook(lambda b, inp: calls.append(("pre", len(inp))))
    post = net[0].register_forward_hook(lambda b, inp, out: calls.append(("post", out.shape)))
    net(_x(ctx=ctx))
    assert calls == [("pre", 1), ("post", (4, 8))]
    pre.detach()
    with post:
        pass
    net(_x(ctx=ctx))
    assert len(calls) == 2
    names = []
    assert net.apply(lambda b: names.append(b.name)) is net
    # children first (Dense(activation=...) holds an Activation child), the block itself last
    assert names == [net[0].name + "_relu", net[0].name, net[1].name, net.name]


def test_summary(capsys, ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    net.summary(_x(ctx=ctx))
    out = capsys.readouterr().out
    assert "Activation-1" in out and "Dense-2" in out and "(4, 8)" in out
    assert "Total params: 75" in out
    assert "Sequential" not in out
    net.hybridize()
    with pytest.raises(AssertionError, match="must not be hybridized"):
        net.summary(_x(ctx=ctx))


def test_shared_parameters(ctx):
    d0 = nn.Dense(3, in_units=2)
    d1 = nn.Dense(3, in_units=2, params=d0.collect_params())
    assert d1.weight is d0.weight
    d0.initialize(ctx=ctx)
    x = _x((1, 2), ctx)
    np.testing.assert_array_equal(d0(x).asnumpy(), d1(x).asnumpy())
    a, b = _mlp(), _mlp()
    a.initialize(ctx=ctx)
    b.share_parameters(a.collect_params())
    assert b[1].bias is a[1].bias
    np.testing.assert_array_equal(a(_x(ctx=ctx)).asnumpy(), b(_x(ctx=ctx)).asnumpy())


def test_zero_grad(ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    with mx.autograd.record():
        y = net(_x(ctx=ctx)).sum()
    y.backward()
    assert np.abs(net[0].weight.grad().asnumpy()).sum() > 0
    net.collect_params().zero_grad()
    assert np.abs(net[0].weight.grad().asnumpy()).sum() == 0


# -- saving and loading ------------------------------------------------------------------------
def test_save_load_parameters_roundtrip(tmp_path, ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    x = _x(ctx=ctx)
    y = net(x).asnumpy()
    fname = str(tmp_path / "net.params")
    net.save_parameters(fname)
    with np.load(fname, allow_pickle=False) as z:  # plain .npz, no pickle needed
        assert sorted(z.files) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert os.listdir(tmp_path) == ["net.params"]  # the temporary file was renamed
    other = _mlp()  # different prefix, deferred shapes: structural names still match
    other.load_parameters(fname, ctx=ctx)
    np.testing.assert_allclose(other(x).asnumpy(), y, rtol=1e-6)
    legacy = str(tmp_path / "legacy.params")
    net.collect_params().save(legacy, strip_prefix=net.prefix)
    third = _mlp()
    third.load_parameters(legacy, ctx=ctx)
    np.testing.assert_allclose(third(x).asnumpy(), y, rtol=1e-6)


def test_load_reports_every_mismatch(tmp_path):
    net = _mlp()
    net.initialize()
    net(_x())
    fname = str(tmp_path / "net.params")
    net.save_parameters(fname)
    bigger = nn.HybridSequential()
    with bigger.name_scope():
        bigger.add(nn.Dense(8, in_units=6), nn.Dense(3), nn.Dense(2))
    with pytest.raises(ValueError) as info:
        bigger.load_parameters(fname)
    msg = str(info.value)
    assert fname in msg and "nothing was loaded" in msg
    assert "0.weight" in msg and "shape" in msg and "(8, 6)" in msg and "(8, 5)" in msg
    assert "2.weight" in msg and "missing" in msg and "allow_missing=True" in msg
    assert isinstance(info.value, AssertionError)  # MXNet asserts here
    smaller = nn.HybridSequential()
    with smaller.name_scope():
        smaller.add(nn.Dense(8))
    with pytest.raises(ValueError, match="unexpected"):
        smaller.load_parameters(fname)
    smaller.load_parameters(fname, ignore_extra=True)
    assert smaller[0].weight.shape == (8, 5)
    part = _mlp()
    part.add(nn.Dense(2))
    part.initialize()
    part.load_parameters(fname, allow_missing=True)


def test_load_bad_files(tmp_path):
    net = _mlp()
    net.initialize()
    net(_x())
    good = str(tmp_path / "good.params")
    net.save_parameters(good)
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.params"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParameterFileError, match="truncated.params"):
        net.load_parameters(str(truncated))
    corrupt = bytearray(data)
    corrupt[len(data) // 3] ^= 0xFF  # inside the first member's data: CRC fails
    bad = tmp_path / "corrupt.params"
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(mx.MXNetError, match="corrupt.params"):
        net.load_parameters(str(bad))
    mxnet_file = tmp_path / "mxnet.params"
    mxnet_file.write_bytes((0x112).to_bytes(8, "little") + b"\0" * 32)
    with pytest.raises(ParameterFileError, match="MXNet's binary"):
        net.load_parameters(str(mxnet_file))
    with pytest.raises(ParameterFileError, match="cannot read"):
        net.load_parameters(str(tmp_path / "absent.params"))
    pickled = tmp_path / "pickled.params"
    np.savez(open(pickled, "wb"), w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ParameterFileError, match="no pickle"):
        net.load_parameters(str(pickled))


def test_cast_dtype_on_load(tmp_path):
    net = nn.Dense(2, in_units=2)
    net.initialize()
    fname = str(tmp_path / "d.params")
    net.save_parameters(fname)
    wide = nn.Dense(2, in_units=2, dtype="float64")
    with pytest.raises(ValueError, match="dtype"):
        wide.load_parameters(fname)
    wide.load_parameters(fname, cast_dtype=True)
    assert wide.weight.data().dtype == np.float64


# -- export / SymbolBlock ---------------------------------------------------------------------
def test_export_and_imports(tmp_path, ctx):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(6, activation="tanh"), nn.BatchNorm(), nn.Dense(2))
    net.initialize(ctx=ctx)
    x = _x(ctx=ctx)
    with pytest.raises(RuntimeError, match="hybridize"):
        net.export(str(tmp_path / "m"))
    net.hybridize()
    y = net(x).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "m"), epoch=3)
    assert params_file.endswith("m-0003.params") and os.path.exists(sym_file)
    keys = set(mx.nd.load(params_file))  # MXNet's binary format, as MXNet's export writes
    assert f"arg:{net[0].weight.name}" in keys and f"aux:{net[1].running_mean.name}" in keys
    back = SymbolBlock.imports(sym_file, ["data"], params_file, ctx=ctx)
    np.testing.assert_allclose(back(x).asnumpy(), y, rtol=1e-5, atol=1e-6)
    assert back(_x((9, 5), ctx)).shape == (9, 2)  # the batch size is not baked in
    assert back.collect_params()[net[1].running_mean.name].grad_req == "null"
    fresh = SymbolBlock.imports(sym_file, "data")  # parameters left to initialize
    fresh.initialize(ctx=ctx)
    assert fresh(x).shape == (4, 2)


def test_symbol_block_from_symbol(ctx):
    net = _mlp()
    net.initialize(ctx=ctx)
    x = _x(ctx=ctx)
    data = mx.sym.var("data")
    sb = SymbolBlock(net(data), data, params=net.collect_params())
    np.testing.assert_allclose(sb(x).asnumpy(), net(x).asnumpy(), rtol=1e-6)
    with mx.autograd.record():
        loss = sb(x).sum()
    loss.backward()
    assert np.abs(net[0].weight.grad().asnumpy()).sum() > 0
    composed = sb(mx.sym.var("other"))
    assert "other" in composed.list_inputs()
    outer = nn.HybridSequential()
    outer.add(sb)
    outer.hybridize()
    np.testing.assert_allclose(outer(x).asnumpy(), net(x).asnumpy(), rtol=1e-5)


def test_hybridized_repeat_calls_see_every_change(ctx):
    """The repeat-call fast path (HybridBlock._fast_call) must notice re-initialised and set
    parameters, hooks added later and another context."""
    net = nn.HybridSequential()
    net.add(nn.Dense(3, in_units=4))
    net.initialize(ctx=ctx)
    net.hybridize()
    x = mx.nd.ones((2, 4), ctx=ctx)
    net(x)
    net(x)
    net.initialize(mx.init.Constant(0.5), ctx=ctx, force_reinit=True)
    np.testing.assert_allclose(net(x).asnumpy(), np.full((2, 3), 2.0), rtol=1e-6)
    net[0].weight.set_data(mx.nd.ones((3, 4), ctx=ctx))
    np.testing.assert_allclose(net(x).asnumpy(), np.full((2, 3), 4.0), rtol=1e-6)
    seen = []
    net.register_forward_hook(lambda block, inputs, out: seen.append(out.shape))
    net(x)
    assert seen == [(2, 3)]
    if ctx.device_type != "cpu":
        net.reset_ctx(mx.cpu())
        np.testing.assert_allclose(net(x.as_in_context(mx.cpu())).asnumpy(),
                                   np.full((2, 3), 4.0), rtol=1e-6)


def test_symbol_block_refuses_sparse_parameters_as_mxnet():
    d, w, b = mx.sym.var("data"), mx.sym.var("weight", stype="row_sparse"), mx.sym.var("bias")
    out = mx.sym.broadcast_add(mx.sym.dot(d, w), b)
    with pytest.raises(AssertionError, match="doesn't support Parameter 'weight' because its "
                                             "storage type"):
        mx.gluon.SymbolBlock(out, d)


def test_a_hybridized_block_pickles_and_deepcopies():
    """Without its compiled graph (closures), which the copy rebuilds on its first call; the
    copy's parameters are its own. (MXNet 1.9.1 cannot pickle a hybridized block at all.)"""
    import copy
    import pickle
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = mx.nd.ones((1, 3))
    y = net(x).asnumpy()
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_allclose(clone(x).asnumpy(), y, rtol=1e-6)
        clone[1].weight.data()[:] = 0
        np.testing.assert_array_equal(clone(x).asnumpy(), np.zeros((1, 2)))  # (zero bias)
        np.testing.assert_allclose(net(x).asnumpy(), y, rtol=1e-6)  # the original is untouched


class _Chain(nn.Block):
    """Children keyed by name, as MXNet's test_gluon_save builds them: keys depend on the
    global name counters, so a second model gets other keys until ``load`` restores them."""

    def add(self, block):
        self._children[block.name + str(len(self._children))] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


def _two_level():
    inner = _Chain()
    inner.add(nn.Dense(4))
    net = _Chain()
    net.add(inner)
    net.add(nn.Dense(3))
    return net


def test_block_save_and_load_restore_names_children_and_hybridization(tmp_path):
    net = _two_level()
    net.initialize()
    net.hybridize()
    x = mx.nd.random.uniform(shape=(2, 5))
    want = net(x).asnumpy()
    prefix = str(tmp_path / "model")
    net.save(prefix)
    assert sorted(os.listdir(tmp_path)) == ["model-model.json", "model-model.params"]
    other = _two_level()  # new names (dense2, ...): its children keys differ from the saved
    assert list(other._children) != list(net._children)
    with open(prefix + "-model.json") as f:
        tree = json.load(f)
    del tree["_chain0"]["hybridized"]  # MXNet writes the flag for HybridBlocks only
    with open(prefix + "-model.json", "w") as f:
        json.dump(tree, f)
    other.load(prefix)
    assert list(other._children) == list(net._children)
    assert [b.name for b in other._children.values()] == [b.name for b in net._children.values()]
    assert all(d._active for d in other._children.values() if isinstance(d, nn.Dense))
    np.testing.assert_allclose(other(x).asnumpy(), want, rtol=1e-6)


def test_block_load_names_what_does_not_match(tmp_path):
    net = _two_level()
    net.initialize()
    net(mx.nd.ones((1, 5)))
    net.save(str(tmp_path / "m"))
    wrong = _Chain()
    wrong.add(nn.Dense(3))  # a Dense where a _Chain was saved
    with pytest.raises(mx.MXNetError, match=r"no entry 'dense1' .* same order"):
        wrong.load(str(tmp_path / "m"))
    with pytest.raises(mx.MXNetError, match=r"cannot read .*nothere-model\.json"):
        net.load(str(tmp_path / "nothere"))


def test_autograd_scopes_inside_a_hybridized_forward_leave_the_graph_alone():
    # GluonCV decodes boxes under autograd.pause() in hybrid_forward: in MXNet's symbolic
    # trace the scope changes nothing; tracing must not run the ops eagerly on stand-ins
    class Paused(HybridBlock):
        def hybrid_forward(self, F, x, y):
            with mx.autograd.pause():
                z = x + y
            with mx.autograd.record():
                return z * 2

    net = Paused()
    net.hybridize()
    x = mx.nd.ones((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        out = net(x, mx.nd.ones((2, 3)))
    out.backward()
    assert out.asnumpy().tolist() == [[4.0] * 3] * 2
    assert x.grad.asnumpy().tolist() == [[2.0] * 3] * 2  # the graph's gradient, as MXNet's
    assert net(mx.sym.var("a"), mx.sym.var("b")).list_arguments() == ["a", "b"]
