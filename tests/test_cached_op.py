"""CachedOp and trace: hybridize's engine (signatures, retracing, training flag, one tape entry)."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.graph.cached_op import CachedOp
from mxplug.graph.trace import trace

TOL = dict(rtol=1e-5, atol=1e-6)


def _mlp(w1, b1, w2):
    def f(x):
        h = mx.nd.relu(mx.nd.dot(x, w1) + b1)
        return mx.nd.softmax(mx.nd.dot(h, w2), axis=-1)
    return f


def _params(ctx, rng):
    return [mx.nd.array(rng.uniform(-1, 1, s), ctx=ctx) for s in ((4, 5), (5,), (5, 3))]


def test_trace_records_graph_and_dependencies(ctx):
    x = mx.nd.ones((2, 4), ctx=ctx)
    params = _params(ctx, np.random.default_rng(0))
    g = trace(_mlp(*params), x)
    assert g.input_names == ["data0"]
    assert len(g.constants) == 3  # the closed-over parameters, read on every run
    assert g.signature == ((("array", (2, 4), np.dtype("float32"), ctx),), False)
    assert g.single and g.symbol.list_outputs() == ["softmax0_output"]
    assert g.symbol.infer_shape(data0=(2, 4))[1] == [(2, 3)]


def test_trace_shapes_visible_and_value_reads_raise(ctx):
    def f(x):
        assert x.shape == (3, 2) and x.ndim == 2 and x.dtype == np.float32
        return x.reshape((x.shape[1], -1)).T[0]
    g = trace(f, mx.nd.ones((3, 2), ctx=ctx))
    assert g.symbol.infer_shape(data0=(3, 2))[1] == [(2,)]
    with pytest.raises(MXNetError, match="reads the value"):
        trace(lambda x: x * 2 if x.sum().asscalar() > 0 else x, mx.nd.ones((2,), ctx=ctx))


def test_cached_op_matches_eager_and_retraces_on_new_shape(ctx):
    rng = np.random.default_rng(1)
    f = _mlp(*_params(ctx, rng))
    op = CachedOp(f)
    for batch in (2, 2, 7, 2):
        x = mx.nd.array(rng.uniform(-1, 1, (batch, 4)), ctx=ctx)
        np.testing.assert_allclose(op(x).asnumpy(), f(x).asnumpy(), **TOL)
    assert op.num_traces == 2  # (2, 4) and (7, 4); the second (2, 4) call reused its graph


def test_cached_op_sees_parameter_updates(ctx):
    w = mx.nd.ones((3,), ctx=ctx)
    op = CachedOp(lambda x: x * w)
    x = mx.nd.array([1.0, 2.0, 3.0], ctx=ctx)
    np.testing.assert_allclose(op(x).asnumpy(), [1, 2, 3])
    w[:] = 2.0
    np.testing.assert_allclose(op(x).asnumpy(), [2, 4, 6])


def test_cached_op_without_retrace_raises_with_the_change(ctx):
    op = CachedOp(lambda x: x + 1, retrace=False)
    op(mx.nd.ones((2, 3), ctx=ctx))
    with pytest.raises(MXNetError, match=r"argument 0 is an array of shape \(4, 3\)"):
        op(mx.nd.ones((4, 3), ctx=ctx))
    fixed = CachedOp(trace(lambda x: x + 1, mx.nd.ones((2,), ctx=ctx)))
    np.testing.assert_allclose(fixed(mx.nd.ones((2,), ctx=ctx)).asnumpy(), [2, 2])
    with pytest.raises(MXNetError, match="is_training"):
        with autograd.train_mode():
            fixed(mx.nd.ones((2,), ctx=ctx))


def test_cached_op_training_flag_dropout(ctx):
    op = CachedOp(lambda x: mx.nd.Dropout(x, p=0.5))
    x = mx.nd.ones((50, 40), ctx=ctx)
    np.testing.assert_array_equal(op(x).asnumpy(), 1.0)  # predict mode: identity
    with autograd.train_mode():
        a, b = op(x).asnumpy(), op(x).asnumpy()
    assert op.num_traces == 2  # the training flag is part of the signature
    assert set(np.unique(a)) <= {0.0, 2.0} and 0.3 < (a == 0).mean() < 0.7
    assert (a != b).any()  # a fresh mask each call, not one frozen at trace time
    np.testing.assert_array_equal(op(x).asnumpy(), 1.0)


def test_cached_op_dropout_gradient_uses_its_mask(ctx):
    op = CachedOp(lambda x: mx.nd.Dropout(x, p=0.5) * 3)
    x = mx.nd.ones((20, 10), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = op(x)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), y.asnumpy())  # 3 * mask / (1 - p)


def test_cached_op_gradient_equals_eager_and_is_one_tape_entry(ctx):
    rng = np.random.default_rng(2)
    params = _params(ctx, rng)
    f = _mlp(*params)
    op = CachedOp(f)
    x = mx.nd.array(rng.uniform(-1, 1, (3, 4)), ctx=ctx)
    head = mx.nd.array(rng.uniform(-1, 1, (3, 3)), ctx=ctx)
    for a in [x, *params]:
        a.attach_grad()
    results = []
    for fn in (op, f):
        with autograd.record():
            y = fn(x)
        if fn is op:
            assert len(autograd._topo_order([y])) == 1
        y.backward(head)
        results.append([a.grad.asnumpy().copy() for a in [x, *params]])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_cached_op_grad_only_for_inputs_that_need_it(ctx):
    w = mx.nd.array([1.0, 2.0], ctx=ctx)
    w.attach_grad()
    op = CachedOp(lambda x, y: mx.nd.sum(x * y * w))
    x, y = mx.nd.array([3.0, 4.0], ctx=ctx), mx.nd.array([5.0, 6.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        out = op(x, y)
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [5, 12])
    np.testing.assert_allclose(w.grad.asnumpy(), [15, 24])


def test_cached_op_second_order(ctx):
    op = CachedOp(lambda x: mx.nd.sum(x ** 3))
    x = mx.nd.array([1.0, -2.0, 0.5], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = op(x)
        (g,) = autograd.grad([y], [x], create_graph=True)
        h = mx.nd.sum(g)
    h.backward()
    np.testing.assert_allclose(g.asnumpy(), 3 * x.asnumpy() ** 2, rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), 6 * x.asnumpy(), rtol=1e-6)


def test_cached_op_multiple_outputs_and_passthrough(ctx):
    op = CachedOp(lambda x, y: (x * y, x))
    x, y = mx.nd.array([1.0, 2.0], ctx=ctx), mx.nd.array([3.0, 4.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        a, b = op(x, y)
    assert b is not x
    autograd.backward([a, b])
    np.testing.assert_allclose(x.grad.asnumpy(), [4, 5])


def test_cached_op_from_symbol(ctx):
    data = mx.sym.var("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    op = CachedOp(net)
    rng = np.random.default_rng(3)
    x, w, b = (mx.nd.array(rng.uniform(-1, 1, s), ctx=ctx) for s in ((2, 4), (3, 4), (3,)))
    w.attach_grad()
    with autograd.record():
        y = op(x, w, b)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), x.asnumpy() @ w.asnumpy().T + b.asnumpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.grad.asnumpy(), np.ones((2, 3)).T @ x.asnumpy(), rtol=1e-5)
    assert op(mx.nd.ones((5, 4), ctx=ctx), w, b).shape == (5, 3)
    with pytest.raises(MXNetError):
        op(mx.nd.ones((5, 6), ctx=ctx), w, b)


# -- gradients written straight into .grad (autograd.Entry.vjp_into) -------------------------------
def _eager_grads(f, x, params, heads=1):
    for p in params:
        p.attach_grad()
    with autograd.record():
        out = f(x)
        for _ in range(heads - 1):
            out = out + f(x)
    out.backward()
    return [p.grad.asnumpy().copy() for p in params]


def test_direct_grad_write_matches_eager_and_reuses_grad_arrays(ctx):
    rng = np.random.default_rng(3)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 4)), ctx=ctx)
    params = _params(ctx, rng)
    want = _eager_grads(_mlp(*params), x, params)
    op = CachedOp(lambda x, w1, b1, w2: _mlp(w1, b1, w2)(x))
    for p in params:
        p.attach_grad()
    grads = [p.grad for p in params]
    for _ in range(2):  # the second call runs the pinned program
        with autograd.record():
            out = op(x, *params)
        out.backward()
        for p, g, w in zip(params, grads, want):
            assert p.grad is g  # the same array, written in place
            np.testing.assert_allclose(p.grad.asnumpy(), w, **TOL)
    if ctx.device_type == "cpu":  # NumPy plans buffers: its backward wrote into the .grad arrays
        (bound,) = op._cache.values()
        (prog,) = bound._train.values()
        assert set(prog._pins) == {0, 1, 2}


def test_direct_grad_write_leaves_shared_and_add_variables_right(ctx):
    """A variable reached twice, or with grad_req='add', must get the sum — never one part."""
    rng = np.random.default_rng(4)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 4)), ctx=ctx)
    params = _params(ctx, rng)
    want = _eager_grads(_mlp(*params), x, params, heads=2)
    op = CachedOp(lambda x, w1, b1, w2: _mlp(w1, b1, w2)(x))
    for p in params:
        p.attach_grad()
    with autograd.record():  # once: pins the program to the .grad arrays
        out = op(x, *params)
    out.backward()
    with autograd.record():  # twice in one graph: the pins must not be used
        out = op(x, *params) + op(x, *params)
    out.backward()
    for p, w in zip(params, want):
        np.testing.assert_allclose(p.grad.asnumpy(), w, **TOL)
    for p in params:
        p.attach_grad(grad_req="add")
    for _ in range(2):
        with autograd.record():
            out = op(x, *params)
        out.backward()
    for p, w in zip(params, want):  # two single passes add up to the doubled graph's gradient
        np.testing.assert_allclose(p.grad.asnumpy(), w, **TOL)


def test_autograd_grad_after_direct_write_leaves_grad_untouched(ctx):
    rng = np.random.default_rng(5)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 4)), ctx=ctx)
    params = _params(ctx, rng)
    op = CachedOp(lambda x, w1, b1, w2: _mlp(w1, b1, w2)(x))
    for p in params:
        p.attach_grad()
    with autograd.record():
        out = op(x, *params)
    out.backward()
    before = [p.grad.asnumpy().copy() for p in params]
    x2 = mx.nd.array(rng.uniform(-1, 1, (2, 4)), ctx=ctx)
    with autograd.record():
        out = op(x2, *params)
    got = autograd.grad(out, params)
    for p, b, g in zip(params, before, got):
        np.testing.assert_array_equal(p.grad.asnumpy(), b)
        assert g._data is not p.grad._data


def test_tracing_draws_nothing_from_the_random_stream():
    """The graph draws a fresh state per run, so building it takes none: a hybridized block's
    first call after mx.random.seed gives what the same code gives eagerly."""
    from mxplug.gluon import nn

    class Noisy(nn.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.Dropout(x + F.random.uniform(shape=(4,)), p=0.5)

    def run(block):
        mx.random.seed(7)
        with mx.autograd.record():
            first = block(mx.nd.ones((4,))).asnumpy()
        with mx.autograd.record():
            second = block(mx.nd.ones((4,))).asnumpy()
        return first, second

    eager = run(Noisy())
    hybrid = Noisy()
    hybrid.hybridize()
    got = run(hybrid)
    np.testing.assert_allclose(got[0], eager[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], eager[1], rtol=1e-6)
    assert not np.allclose(got[0], got[1])  # and each run draws anew
