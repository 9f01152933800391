"""The bind-time graph passes, each where it must fire and where it must not, plus the fused op
and the memory plan (results equal to the unoptimised graph on every backend)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.graph import fusion, passes
from mxplug.graph.cached_op import CachedOp
from mxplug.graph.memory import MemoryPlan
from mxplug.graph.node import topo_nodes
from mxplug.ops import REGISTRY, apply
from mxplug.ops.infer import Spec

sym = mx.sym


def _ops(outputs):
    return [n.op.name for n in topo_nodes(outputs) if n.op is not None]


def _feed(ctx, **arrays):
    return {k: mx.nd.array(v, ctx=ctx, dtype=v.dtype) for k, v in arrays.items()}


def _check_same(s, outs, ctx, tol=1e-5, **arrays):
    """The optimised graph (run through a MemoryPlan) equals the plain symbol's eval."""
    feed = _feed(ctx, **arrays)
    want = [o.asnumpy() for o in s.eval(ctx, **feed)]
    got = [o.asnumpy() for o in MemoryPlan(outs, ctx).run(feed)]
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def _snapshot(outputs):
    return [(n, n.op, dict(n.attrs), tuple(n.inputs), n.specs) for n in topo_nodes(outputs)]


# -- common subexpressions -------------------------------------------------------------------------
def test_cse_merges_identical_nodes():
    x = sym.var("x", shape=(2, 3))
    s = sym.exp(x) + sym.exp(x) * sym.clip(x, a_min=0.0, a_max=1.0) + sym.clip(x, a_min=0, a_max=1)
    before = _snapshot(s._outputs)
    outs = passes.eliminate_common_subexpressions(s._outputs)
    assert _ops(outs).count("exp") == 1 and _ops(outs).count("clip") == 1
    assert _snapshot(s._outputs) == before  # the input graph is untouched


def test_cse_keeps_different_nodes():
    x = sym.var("x", shape=(2, 3))
    s = sym.Group([sym.clip(x, a_min=0.0, a_max=1.0), sym.clip(x, a_min=0.0, a_max=2.0),
                   x + 1, x + 2, x + 1.5, 1 - x, x - 1])
    outs = passes.eliminate_common_subexpressions(s._outputs)
    assert len(topo_nodes(outs)) == len(topo_nodes(s._outputs))


def test_cse_never_merges_random_or_training_ops():
    x = sym.var("x", shape=(2, 3))
    r = sym.random_uniform(shape=(2, 3))
    d = sym.Dropout(x, p=0.5)
    s = sym.Group([r + sym.random_uniform(shape=(2, 3)), d + sym.Dropout(x, p=0.5)])
    outs = passes.eliminate_common_subexpressions(s._outputs)
    assert _ops(outs).count("random_uniform") == 2 and _ops(outs).count("Dropout") == 2


def test_cse_is_switched_off_by_mxnet_environment_variable(monkeypatch):
    a, b = sym.var("a"), sym.var("b")
    s = (a + b) * (a + b)

    def plus_nodes():
        e = s.simple_bind(mx.cpu(), a=(2,), b=(2,), grad_req="null")
        return [n for n in e.get_optimized_symbol().get_internals().list_outputs()
                if n.startswith("_plus")]
    assert len(plus_nodes()) == 1
    monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", "0")
    monkeypatch.setenv("MXPLUG_GRAPH_OPT", "1")  # no fusion either: the nodes stay visible
    assert len(plus_nodes()) == 2


def test_outputs_merged_by_cse_are_separate_arrays():
    a, d = sym.var("a"), sym.var("d")
    e = sym.Group([a * d, a * d]).simple_bind(mx.cpu(), a=(2,), d=(2,), grad_req="null")
    e.forward(a=mx.nd.array([1, 2]), d=mx.nd.array([3, 4]))
    e.outputs[0][:] = 0  # as MXNet's _copy node: the other output keeps its value
    np.testing.assert_array_equal(e.outputs[1].asnumpy(), [3, 8])
    e.forward(a=mx.nd.array([2, 2]), d=mx.nd.array([3, 4]))
    np.testing.assert_array_equal(e.outputs[0].asnumpy(), [6, 8])
    np.testing.assert_array_equal(e.outputs[1].asnumpy(), [6, 8])


# -- dead code -------------------------------------------------------------------------------------
def _bn(output_mean_var):
    x = sym.var("x", shape=(4, 3))
    g, b, mm, mv = (sym.var(n, shape=(3,)) for n in ("g", "b", "mm", "mv"))
    return sym.BatchNorm(x, g, b, mm, mv,
                         output_mean_var=output_mean_var, axis=-1)


def test_dce_turns_off_unused_extra_outputs():
    bn = _bn(True)
    outs = passes.eliminate_dead_code(bn[0]._outputs)
    node = outs[0][0]
    assert node.attrs["output_mean_var"] is False and node.num_outputs == 1
    assert bn._outputs[0][0].attrs["output_mean_var"] is True  # not mutated


def test_dce_keeps_read_extra_outputs():
    bn = _bn(True)
    outs = passes.eliminate_dead_code(sym.Group([bn[0], bn[1]])._outputs)
    assert outs[0][0] is bn._outputs[0][0]


def test_dce_drops_what_rewrites_leave_unreachable():
    x = sym.var("x", shape=(2, 3))
    s = sym.sin(sym.exp(x)) + sym.cos(sym.exp(x))
    outs = passes.optimize(s._outputs, level=1)
    assert _ops(outs).count("exp") == 1
    assert len(topo_nodes(outs)) == len(topo_nodes(s._outputs)) - 1


# -- constant folding ------------------------------------------------------------------------------
def test_fold_constants_fires(ctx):
    x = sym.var("x", shape=(2, 3))
    c = sym.ones(shape=(2, 3)) * 2 + sym.exp(sym.zeros(shape=(2, 3)))
    s = x * c
    outs = passes.fold_constants(s._outputs, ctx)
    ops = _ops(outs)
    assert ops == ["_constant", "multiply"], ops
    const = topo_nodes(outs)[1] if topo_nodes(outs)[0].op is None else topo_nodes(outs)[0]
    np.testing.assert_array_equal(const.attrs["value"], np.full((2, 3), 3.0, np.float32))
    _check_same(s, outs, ctx, x=np.arange(6, dtype=np.float32).reshape(2, 3))


def test_fold_constants_leaves_variables_creation_and_random_alone(ctx):
    x = sym.var("x", shape=(2, 3))
    s = sym.Group([sym.exp(x) + 1, x + sym.zeros(shape=(2, 3)),
                   x + sym.random_uniform(shape=(2, 3)) * 2])
    outs = passes.fold_constants(s._outputs, ctx)
    assert "_constant" not in _ops(outs)
    assert outs == list(s._outputs)


# -- fusion ----------------------------------------------------------------------------------------
def _chain(x, n=10):
    for i in range(n):
        x = [sym.exp, sym.tanh, lambda v: v * 0.5, sym.sigmoid, lambda v: v + 1.0][i % 5](x)
    return x


def test_drop_broadcasts_where_the_other_operand_gives_the_shape(ctx):
    x, y = sym.var("x", shape=(4, 3)), sym.var("y", shape=(1, 3))
    kept = sym.broadcast_to(y, shape=(4, 3))
    s = sym.Group([x * kept, kept + y])           # the second needs the broadcast for its shape
    outs = passes.drop_broadcasts(passes.annotate(s._outputs, {}))
    first, second = (n for n, _ in outs)
    assert [i.op is None for i, _ in first.inputs] == [True, True]   # reads y itself
    assert second.inputs[0][0].op.name == "broadcast_to"
    rng = np.random.default_rng(7)
    _check_same(s, passes.optimize(s._outputs, 2, ctx), ctx,
                x=rng.random((4, 3)).astype("f4"), y=rng.random((1, 3)).astype("f4"))


# -- identities and the fused cross-entropy --------------------------------------------------------
def test_drop_identities_fires(ctx):
    x, y = sym.var("x", shape=(4, 1)), sym.var("y", shape=(4, 3))
    s = sym.Group([
        sym.exp(sym.mean(x, axis=1)),                      # a size-1 reduction: a reshape
        sym.exp(sym.reshape(y, shape=(4, 3)) * 1 / 1 - 0),  # all identities
        sym.exp(sym.reshape(sym.reshape(y, shape=(12,)), shape=(3, 4))),  # one reshape
        sym.exp(sym.reshape(sym.sum(y, axis=0, keepdims=True), shape=(3,))),  # one reduction
    ])
    outs = passes.drop_identities(passes.annotate(s._outputs, {}))
    first, second, third, fourth = (n.inputs[0][0] for n, _ in outs)
    assert first.op.name == "reshape" and first.inputs[0][0].op is None
    assert second.op is None and second.name == "y"
    assert third.op.name == "reshape" and third.inputs[0][0].op is None
    assert fourth.op.name == "sum" and fourth.attrs["keepdims"] is False
    rng = np.random.default_rng(8)
    _check_same(s, passes.optimize(s._outputs, 1, ctx), ctx,
                x=rng.random((4, 1)).astype("f4"), y=rng.random((4, 3)).astype("f4"))


def test_drop_identities_must_not_fire():
    x = sym.var("x", shape=(4, 3))
    s = sym.Group([
        sym.mean(x, axis=1),                      # a real reduction
        sym.reshape(x, shape=(4, 3)),             # an output: would alias the input variable
        x + 0,                                    # -0.0 + 0 is +0.0: not an identity
        x * 2, x / 1.5,
        sym.cast(x, dtype="float64"),             # a dtype change
    ])
    outs = passes.drop_identities(passes.annotate(s._outputs, {}))
    assert [n.op.name for n, _ in outs] == ["mean", "reshape", "add", "multiply", "divide",
                                            "cast"]
    summed = sym.sum(x, axis=0, keepdims=True)     # read twice: folding would compute it twice
    s = sym.Group([sym.reshape(summed, shape=(3,)), summed * 2])
    outs = passes.drop_identities(passes.annotate(s._outputs, {}))
    assert outs[0][0].op.name == "reshape"


def _ce(x, label, axis=-1):
    return -sym.pick(sym.log_softmax(x, axis=axis), label, axis=axis)


def test_fuse_softmax_ce_fires_and_matches(ctx):
    x, label = sym.var("x", shape=(4, 5)), sym.var("label", shape=(4,))
    for s in (sym.mean(_ce(x, label)), sym.sum(_ce(x, label, axis=1))):
        outs = passes.fuse_softmax_ce(passes.annotate(s._outputs, {}))
        ops = _ops(outs)
        assert "_softmax_ce" in ops and "log_softmax" not in ops and "pick" not in ops
        rng = np.random.default_rng(9)
        _check_same(s, outs, ctx, x=rng.normal(size=(4, 5)).astype("f4"),
                    label=rng.integers(0, 5, 4).astype("f4"))


def test_fuse_softmax_ce_must_not_fire():
    x, label = sym.var("x", shape=(4, 5)), sym.var("label", shape=(4,))
    logp = sym.log_softmax(x)
    cases = [
        sym.Group([-sym.pick(logp, label), logp]),                   # logp read elsewhere
        -sym.pick(sym.log_softmax(x, axis=0), label, axis=1),        # different axes
        -sym.pick(sym.log_softmax(x), label, mode="wrap"),           # wrap != the fused clip
        -sym.pick(sym.log_softmax(x, temperature=2.0), label),
        sym.pick(sym.log_softmax(x), label),                         # no negation
    ]
    for s in cases:
        assert "_softmax_ce" not in _ops(passes.fuse_softmax_ce(passes.annotate(s._outputs, {})))


def test_executor_trains_through_the_fused_cross_entropy(ctx):
    x, w, label = sym.var("x"), sym.var("w"), sym.var("label")
    loss = sym.mean(_ce(sym.FullyConnected(x, w, num_hidden=5, no_bias=True), label, axis=1))
    rng = np.random.default_rng(10)
    X, W = rng.normal(size=(4, 3)).astype("f4"), rng.normal(size=(5, 3)).astype("f4")
    Y = np.array([0, 4, 2, 1], "f4")
    ex = loss.simple_bind(ctx, grad_req={"x": "null", "label": "null", "w": "write"},
                          x=(4, 3), w=(5, 3), label=(4,))
    for name, v in (("x", X), ("w", W), ("label", Y)):
        ex.arg_dict[name][:] = v
    ex.forward(is_train=True)
    ex.backward()
    if ctx.device_type == "cpu":
        assert "_softmax_ce_backward" in [s.op.name for s in ex._train.bwd_steps]
    wv = mx.nd.array(W, ctx=ctx)
    wv.attach_grad()
    with autograd.record():
        h = mx.nd.FullyConnected(mx.nd.array(X, ctx=ctx), wv, num_hidden=5, no_bias=True)
        want = mx.nd.mean(-mx.nd.pick(mx.nd.log_softmax(h), mx.nd.array(Y, ctx=ctx), axis=1))
    want.backward()
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), want.asnumpy(), rtol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["w"].asnumpy(), wv.grad.asnumpy(), rtol=1e-5,
                               atol=1e-6)


def test_fusion_fuses_a_chain(ctx):
    x = sym.var("x", shape=(3, 4))
    s = _chain(x)
    outs = fusion.fuse_elementwise(s._outputs)
    assert _ops(outs) == ["_fused_elemwise"]
    assert len(outs[0][0].attrs["program"]) == 10
    assert outs[0][0].name == s.name
    _check_same(s, outs, ctx, x=np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype("f4"))


def test_fusion_fuses_a_tree_with_broadcast_inputs(ctx):
    x, y = sym.var("x", shape=(4, 5)), sym.var("y", shape=(1, 5))
    s = sym.relu(sym.tanh(sym.exp(x) * y + 2.0) - sym.softsign(x / 3)) * 3
    outs = fusion.fuse_elementwise(s._outputs)
    assert _ops(outs) == ["_fused_elemwise"]
    assert [n.name for n, _ in outs[0][0].inputs] == ["x", "y"]
    rng = np.random.default_rng(1)
    _check_same(s, outs, ctx, x=rng.uniform(-1, 1, (4, 5)).astype("f4"),
                y=rng.uniform(-1, 1, (1, 5)).astype("f4"))


def test_fusion_must_not_fire():
    x, y = sym.var("x", shape=(3, 4)), sym.var("y", shape=(3, 1))
    shared = sym.exp(x)
    cases = {
        "single op": sym.exp(x),
        "intermediate read twice": sym.Group([sym.sin(shared), sym.cos(shared)]),
        "intermediate is an output": sym.Group([shared, sym.sin(shared)]),
        "smaller intermediate": sym.exp(y) + x,
        "reduction between": sym.exp(sym.sum(sym.sin(x), axis=1)),
        "integer dtype": sym.negative(sym.abs(sym.var("i", shape=(3,), dtype="int32"))),
    }
    for what, s in cases.items():
        outs = fusion.fuse_elementwise(s._outputs)
        assert "_fused_elemwise" not in _ops(outs), what
    # ... though the ops around a reduction still fuse on each side
    s = sym.exp(sym.sum(sym.sin(sym.cos(x)), axis=1) * 2)
    assert _ops(fusion.fuse_elementwise(s._outputs)).count("_fused_elemwise") == 2


def test_fusion_needs_shapes_and_annotate_provides_them():
    x = sym.var("x")
    s = sym.exp(sym.sin(x))
    assert "_fused_elemwise" not in _ops(fusion.fuse_elementwise(s._outputs))
    outs = passes.optimize(s._outputs, 2, specs={"x": Spec((2, 2), np.dtype("float32"))})
    assert _ops(outs) == ["_fused_elemwise"]
    assert s._outputs[0][0].specs is None


def test_fused_gradient_equals_unfused(ctx):
    x, y = sym.var("x", shape=(3, 4)), sym.var("y", shape=(1, 4))
    s = sym.tanh(sym.exp(x) * y) - sym.sigmoid(x) * y * y
    fused = fusion.fuse_elementwise(s._outputs)[0][0]
    assert [n.name for n, _ in fused.inputs] == ["x", "y"]
    rng = np.random.default_rng(2)
    xs = [rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (1, 4))]
    grads = []
    for run in ("plain", "fused"):
        a, b = (mx.nd.array(v, ctx=ctx) for v in xs)
        a.attach_grad()
        b.attach_grad()
        with autograd.record():
            if run == "plain":
                out = mx.nd.tanh(mx.nd.exp(a) * b) - mx.nd.sigmoid(a) * b * b
            else:
                out = apply(fusion.FUSED, a, b, **fused.attrs)
        out.backward(mx.nd.ones(out.shape, ctx=ctx) * 0.7)
        grads.append((out.asnumpy(), a.grad.asnumpy(), b.grad.asnumpy()))
    for p, f in zip(*grads):
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-6)


def test_optimize_full_pipeline(ctx):
    x = sym.var("x", shape=(2, 3))
    c = sym.ones(shape=(2, 3)) + 1
    s = sym.Group([sym.sigmoid(sym.exp(x) * c) + sym.exp(x) * c, sym.sum(x)])
    outs = passes.optimize(s._outputs, 2, ctx)
    ops = _ops(outs)
    assert ops.count("_constant") == 1 and ops.count("exp") + ops.count("multiply") <= 1
    _check_same(s, outs, ctx, x=np.random.default_rng(3).uniform(-1, 1, (2, 3)).astype("f4"))


# -- memory planning -------------------------------------------------------------------------------
def test_memory_plan_reuses_buffers_by_liveness():
    x = sym.var("x", shape=(8, 8))
    s = _chain(x, 10)
    plan = MemoryPlan(s._outputs, mx.cpu())
    assert len(plan.buffers) == 1  # every step in place
    y = sym.var("y", shape=(8, 8))
    t = sym.exp(x) * sym.sin(y) + sym.cos(x) * sym.tanh(y)  # side branches: pooled
    plan = MemoryPlan(t._outputs, mx.cpu())
    assert len(plan.buffers) <= 3
    rng = np.random.default_rng(4)
    _check_same(t, t._outputs, mx.cpu(), x=rng.random((8, 8)).astype("f4"),
                y=rng.random((8, 8)).astype("f4"))


def test_memory_plan_keeps_views_alive(ctx):
    x = sym.var("x", shape=(4, 6))
    a = sym.exp(x)
    r = sym.reshape(a, shape=(6, 4))  # a view of a's buffer, made through apply
    b = sym.sin(x) * 2  # would take a's buffer if reshape did not keep it alive
    s = sym.Group([sym.reshape(b, shape=(6, 4)) + r, sym.tanh(b)])
    _check_same(s, s._outputs, ctx, x=np.random.default_rng(5).random((4, 6)).astype("f4"))


def test_memory_plan_outputs_are_stable_and_fresh(ctx):
    x = sym.var("x", shape=(3,))
    s = sym.exp(x) + 1
    plan = MemoryPlan(passes.optimize(s._outputs, 2, ctx), ctx)
    o1 = plan.run(_feed(ctx, x=np.zeros(3, "f4")))[0]
    v1 = o1.asnumpy()
    o2 = plan.run(_feed(ctx, x=np.ones(3, "f4")))[0]
    np.testing.assert_allclose(v1, 2.0)
    np.testing.assert_allclose(o2.asnumpy(), np.e + 1, rtol=1e-6)


def test_steady_state_allocates_nothing_on_numpy():
    x, y = sym.var("x", shape=(256, 256)), sym.var("y", shape=(256, 256))
    t = sym.tanh(sym.exp(x) * sym.sin(y) + sym.cos(x) * sym.tanh(y)) * 0.5
    feed = _feed(mx.cpu(), x=np.random.rand(256, 256).astype("f4"),
                 y=np.random.rand(256, 256).astype("f4"))
    for outs in (t._outputs, passes.optimize(t._outputs, 2, mx.cpu())):
        plan = MemoryPlan(outs, mx.cpu())
        plan.run(feed)
        tracemalloc.start()
        for _ in range(3):
            plan.run(feed)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 64 * 1024, peak  # one array is 256 KiB


def _peak_bytes(fn, repeat=3):
    fn()  # warm: plans, pools and caches are made on the first run
    tracemalloc.start()
    for _ in range(repeat):
        fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("opt", ["1", "2"])
def test_bound_executor_allocates_only_its_results(monkeypatch, opt):
    """Unfused (opt 1) and fused (opt 2): every intermediate of a 256x256 chain, FullyConnected
    included, lives in planned buffers; a run allocates its (1,)-sized output only."""
    monkeypatch.setenv("MXPLUG_GRAPH_OPT", opt)
    x, w = sym.var("x"), sym.var("w")
    h = sym.FullyConnected(_chain(x, 6), w, num_hidden=256, no_bias=True)
    s = sym.sum(sym.relu(h) * 2.0 + 1.0)
    rng = np.random.default_rng(0)
    exe = s.bind(mx.cpu(), {"x": mx.nd.array(rng.random((256, 256))),
                            "w": mx.nd.array(rng.random((256, 256)) * 0.01)})
    ref = exe.forward()[0].asnumpy()
    peak = _peak_bytes(lambda: exe.forward()[0].wait_to_read())
    assert peak < 64 * 1024, peak  # one intermediate is 256 KiB
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), ref, rtol=1e-6)


def test_training_executor_writes_gradients_in_place():
    """A bound training step allocates nothing per step: intermediates live in planned buffers
    and each 'write' gradient is computed straight into its grad_dict array (MXNet)."""
    x, w = sym.var("x"), sym.var("w")
    s = sym.sum(sym.relu(sym.FullyConnected(_chain(x, 4), w, num_hidden=256, no_bias=True)))
    rng = np.random.default_rng(1)
    exe = s.simple_bind(mx.cpu(), grad_req={"x": "null", "w": "write"}, x=(256, 256),
                        w=(256, 256))
    exe.arg_dict["x"][:] = rng.random((256, 256))
    exe.arg_dict["w"][:] = rng.random((256, 256)) * 0.01
    grad = exe.grad_dict["w"]

    def step():
        exe.forward(is_train=True)
        exe.backward()
    step()
    ref = grad.asnumpy().copy()
    assert _peak_bytes(step) < 64 * 1024  # one array is 256 KiB
    assert exe.grad_dict["w"] is grad
    np.testing.assert_allclose(grad.asnumpy(), ref, rtol=1e-6)
    xv = exe.arg_dict["x"].asnumpy()
    h = xv
    for i in range(4):
        h = [np.exp, np.tanh, lambda v: v * 0.5, lambda v: 1 / (1 + np.exp(-v))][i](h)
    z = h @ exe.arg_dict["w"].asnumpy().T
    np.testing.assert_allclose(ref, (z > 0).astype(np.float32).T @ h, rtol=1e-4)


def test_cached_op_views_of_planned_buffers_stay_valid(ctx):
    """Views made through apply (reshape, slicing, transpose) keep their planned source alive
    through the forward and the backward: results and gradients equal eager autograd's."""
    def f(x, w):
        a = mx.nd.exp(x) * 0.5                       # planned
        v = mx.nd.reshape(a, shape=(4, 6))           # a view of a's buffer
        t = mx.nd.transpose(mx.nd.tanh(x) + 1.0)     # planned, then a transposed view
        b = mx.nd.sigmoid(x) * 2.0                   # would reuse a's buffer if v did not hold it
        h = mx.nd.FullyConnected(b, w, num_hidden=5, no_bias=True)
        return mx.nd.sum(v) + mx.nd.sum(h * h) + mx.nd.sum(t[1:3] * 3.0)

    rng = np.random.default_rng(8)
    x = mx.nd.array(rng.uniform(-1, 1, (6, 4)), ctx=ctx)
    w = mx.nd.array(rng.uniform(-1, 1, (5, 4)), ctx=ctx)
    results = []
    for fn in (f, CachedOp(f)):
        for _ in range(2):  # the second call runs on recycled buffers
            x.attach_grad()
            w.attach_grad()
            with autograd.record():
                y = fn(x, w)
            y.backward()
        results.append([y.asnumpy(), x.grad.asnumpy(), w.grad.asnumpy()])
    for eager, cached in zip(*results):
        np.testing.assert_allclose(cached, eager, rtol=1e-5, atol=1e-6)


def test_cached_op_planned_buffers_are_per_run(ctx):
    """Two recorded calls before one backward, then a second backward (retain_graph): each call
    keeps its own planned values, so the gradients equal eager autograd's."""
    def f(x, w):
        h = mx.nd.FullyConnected(mx.nd.tanh(x) * 0.5, w, num_hidden=4, no_bias=True)
        return mx.nd.sum(mx.nd.sigmoid(h) + 1.0)

    rng = np.random.default_rng(6)
    xs = [mx.nd.array(rng.uniform(-1, 1, (3, 5)), ctx=ctx) for _ in range(2)]
    w = mx.nd.array(rng.uniform(-1, 1, (4, 5)), ctx=ctx)
    grads = []
    for fn in (f, CachedOp(f)):
        w.attach_grad()
        for x in xs:
            x.attach_grad()
        with autograd.record():
            total = fn(xs[0], w) + fn(xs[1], w) * 2.0
        total.backward(retain_graph=True)
        first = [a.grad.asnumpy().copy() for a in (w, *xs)]
        total.backward()
        grads.append([first, [a.grad.asnumpy() for a in (w, *xs)]])
    for eager, cached in zip(grads[0], grads[1]):
        for a, b in zip(eager, cached):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[1][0][0], grads[1][1][0], rtol=1e-6)


# -- the fused op's kernels ------------------------------------------------------------------------
def test_run_numpy_scratch_is_reused():
    prog = fusion.SAMPLE_PROGRAMS[1]
    dest, nscratch = fusion._allocate(prog)
    assert dest[-1] == -1 and nscratch == 2  # sigmoid, and softsign (not in place)
    xs = [np.random.rand(2, 3), np.random.rand(2, 3)]
    out, scratch = np.empty((2, 3)), []
    fusion.run_numpy(prog, xs, out, scratch)
    first = list(scratch)
    fusion.run_numpy(prog, xs, out, scratch)
    assert all(a is b for a, b in zip(first, scratch))


def test_every_fusible_op_has_a_c_expression():
    pytest.importorskip("pyopencl")
    from mxplug.backends.kernels.fused import C_OPS
    assert set(C_OPS) == set(fusion.FUSIBLE)


@pytest.mark.parametrize("name", sorted(fusion.FUSIBLE))
def test_each_fusible_op_fused_matches_eager(ctx, name):
    """Each op inside a fused program (after an abs/+0.5 to keep it in its domain) matches the
    plain op, on the NumPy out= path and the OpenCL kernel."""
    op = REGISTRY[name]
    rng = np.random.default_rng(6)
    lo, hi = (1.2, 2.0) if name == "arccosh" else (0.55, 0.95)  # inside every op's domain
    x = rng.uniform(lo, hi, (3, 4))
    y = rng.uniform(0.55, 0.95, (1, 4))
    binary = op.inputs == ("lhs", "rhs")
    attrs = {"a_min": 0.6, "a_max": 0.9} if name == "clip" else {}
    attrs = op.parse_attrs(attrs)
    arg = (("t", 0), ("i", 1)) if binary else (("t", 0),)
    prog = (("abs", (("i", 0),), ()), (name, arg, tuple(sorted(attrs.items()))))
    xs = [mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)]
    got = apply(fusion.FUSED, *xs, program=prog).asnumpy()
    args = (mx.nd.abs(xs[0]), xs[1]) if binary else (mx.nd.abs(xs[0]),)
    want = apply(op, *args, **attrs).asnumpy()
    if not binary:
        want = np.broadcast_to(want, got.shape)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


def test_fusing_a_chain_deeper_than_the_recursion_limit():
    """The fusion walk keeps its own stack: 1000 x ``y * 1.001 + 0.001`` (2000 ops, twice
    Python's default recursion limit) becomes one fused node with the ops in order, which binds
    and runs (MXNet 1.9.1 gives 4.434 too, in float32)."""
    import sys
    x = sym.var("x")
    y = x
    for _ in range(1000):
        y = y * 1.001 + 0.001
    assert 2 * 1000 > sys.getrecursionlimit()
    outs = fusion.fuse_elementwise(passes.annotate(y._outputs, {"x": Spec((2, 3), np.float32)}))
    (node, _), = outs
    program = node.attrs["program"]
    assert node.op is fusion.FUSED and len(program) == 2000
    assert [p[0] for p in program[:4]] == ["multiply", "add", "multiply", "add"]
    assert program[0][1] == (("i", 0), ("c", 1.001)) and program[1][1] == (("t", 0), ("c", 0.001))
    assert program[-1][1] == (("t", 1998), ("c", 0.001))
    want = 1.0
    for _ in range(1000):
        want = want * 1.001 + 0.001
    exe = y.bind(mx.cpu(), {"x": mx.nd.ones((2, 3))})
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), np.full((2, 3), want), rtol=1e-4)
    assert exe.outputs[0].asnumpy()[0, 0] == pytest.approx(4.434, abs=1e-6)  # MXNet 1.9.1


def test_deep_chain_trains_through_simple_bind():
    """3000 elementwise ops through every pass of a training bind (grad_req='write'), forward
    and backward: d/dx of 1500 x ``y * 1.001 + 0.001`` is 1.001 ** 1500."""
    x = sym.var("x")
    y = x
    for _ in range(1500):
        y = y * 1.001 + 0.001
    exe = y.simple_bind(mx.cpu(), x=(2, 3), grad_req="write")
    exe.arg_dict["x"][:] = 1.0
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((2, 3)))
    want = 1.0
    for _ in range(1500):
        want = want * 1.001 + 0.001
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), np.full((2, 3), want), rtol=1e-4)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), np.full((2, 3), 1.001 ** 1500),
                               rtol=1e-4)
