"""The symbolic backward graph: executor forward/backward against eager ``mx.nd`` + autograd.

For every differentiable op (one sample each), on every backend: a graph of that one op is bound,
run forward in training mode and backward with random head gradients; outputs and gradients must
equal the eager ones. Second order: a gradient graph differentiated again.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.graph.backward import backward_graph, gradient_graph
from mxplug.graph.symbol import make_node
from mxplug.ops import REGISTRY, apply

from .test_grad_ops import _float_positions
from .test_ops import OPS, as_tuple, make_sample

CASES = [op.name for op in OPS if op.differentiable and not op.random and op.sample_fns]
TOL = dict(rtol=2e-4, atol=2e-5)


def _arrays(sample, ctx):
    return [mx.nd.array(x, ctx=ctx, dtype=x.dtype if x.dtype.kind != "f" else "float32")
            if isinstance(x, np.ndarray) else x for x in sample.inputs]


def _graph(op, sample, arrays):
    names, args = [], []
    for i, (x, a) in enumerate(zip(sample.inputs, arrays)):
        if isinstance(x, np.ndarray):  # shaped: ops such as split know their output count
            names.append(f"in{i}")
            args.append(mx.sym.var(f"in{i}", shape=x.shape, dtype=a.dtype))
        else:
            args.append(x)
    return make_node(op, args, op.parse_attrs(sample.attrs)), names


def _lacks(ctx, arrays):
    return {np.dtype(a.dtype).name for a in arrays if isinstance(a, mx.nd.NDArray)} - set(
        ctx.backend.dtypes)


@pytest.mark.parametrize("op_name", CASES)
def test_executor_matches_eager(ctx, op_name):
    op = REGISTRY[op_name]
    sample = make_sample(op, 0)
    arrays = _arrays(sample, ctx)
    if _lacks(ctx, arrays):
        pytest.skip(f"{ctx} lacks {_lacks(ctx, arrays)}")
    positions = _float_positions(op, sample) if sample.grad else []
    sym, names = _graph(op, sample, arrays)
    arg_pos = [k for k, x in enumerate(sample.inputs) if isinstance(x, np.ndarray)]
    by_name = dict(zip(names, [arrays[k] for k in arg_pos]))
    reqs = {f"in{k}": ("write" if k in positions else "null") for k in arg_pos}
    aux = sym.list_auxiliary_states()
    ex = sym.bind(ctx, {n: by_name[n].copy() for n in sym.list_arguments()},
                  grad_req={n: r for n, r in reqs.items() if n not in aux},
                  aux_states={n: by_name[n].copy() for n in aux})
    outs = ex.forward(is_train=True)
    attrs = op.parse_attrs(sample.attrs)
    eager_args = [a.copy() if isinstance(a, mx.nd.NDArray) else a for a in arrays]
    for k in positions:
        eager_args[k].attach_grad()
    with autograd.record():
        expected = as_tuple(apply(op, *eager_args, **attrs))
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        assert o.shape == e.shape and o.dtype == e.dtype
        np.testing.assert_allclose(o.asnumpy(), e.asnumpy(), **TOL)
    positions = [k for k in positions if f"in{k}" not in aux]
    if not positions:
        return
    rng = np.random.default_rng(0)
    heads = [mx.nd.array(rng.uniform(-1, 1, e.shape), ctx=ctx, dtype=e.dtype) for e in expected]
    floats = [i for i, e in enumerate(expected) if np.dtype(e.dtype).kind == "f"]
    ex.backward(heads)
    grads = autograd.grad([expected[i] for i in floats], [eager_args[k] for k in positions],
                          head_grads=[heads[i] for i in floats])
    for k, g in zip(positions, grads):
        np.testing.assert_allclose(ex.grad_dict[f"in{k}"].asnumpy(), g.asnumpy(), **TOL,
                                   err_msg=f"{op_name}: gradient of input {k}")


def _eval(sym, ctx, **arrays):
    args = {n: arrays[n] for n in sym.list_arguments()}
    return sym.bind(ctx, args, grad_req="null").forward()


def test_second_order_through_symbols(ctx):
    x = mx.sym.var("x", shape=(2, 3))
    y = mx.sym.sum(mx.sym.tanh(x) * mx.sym.softmax(x, axis=1))
    (g,) = gradient_graph(y, ["x"])
    (h,) = gradient_graph(mx.sym.sum(g * g), ["x"])
    xv = mx.nd.array(np.random.default_rng(4).uniform(-1, 1, (2, 3)), ctx=ctx)
    xe = xv.copy()
    xe.attach_grad()
    with autograd.record():
        ye = mx.nd.sum(mx.nd.tanh(xe) * mx.nd.softmax(xe, axis=1))
        (ge,) = autograd.grad([ye], [xe], create_graph=True)
        he = mx.nd.sum(ge * ge)
    he.backward()
    np.testing.assert_allclose(_eval(g, ctx, x=xv)[0].asnumpy(), ge.asnumpy(), **TOL)
    np.testing.assert_allclose(_eval(h, ctx, x=xv)[0].asnumpy(), xe.grad.asnumpy(), **TOL)


def test_unused_outputs_broadcasting_and_nograd_inputs(ctx):
    a, b = mx.sym.var("a", shape=(2, 6)), mx.sym.var("b", shape=(6,))
    parts = mx.sym.split(a * b, num_outputs=3, axis=1)  # only part 1 is used: others get zeros
    lbl = mx.sym.var("label", shape=(2,))
    loss = mx.sym.softmax_cross_entropy(parts[1], lbl)
    ga, gb, gl = gradient_graph(loss, ["a", "b", "label"])
    rng = np.random.default_rng(5)
    av, bv = (mx.nd.array(rng.uniform(-1, 1, s), ctx=ctx) for s in ((2, 6), (6,)))
    lv = mx.nd.array([0, 1], ctx=ctx)
    av.attach_grad()
    bv.attach_grad()
    with autograd.record():
        le = mx.nd.softmax_cross_entropy(mx.nd.split(av * bv, num_outputs=3, axis=1)[1], lv)
    le.backward()
    for sym, want in ((ga, av.grad), (gb, bv.grad)):
        got = _eval(sym, ctx, a=av, b=bv, label=lv)[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), **TOL)
    np.testing.assert_array_equal(_eval(gl, ctx, a=av, b=bv, label=lv)[0].asnumpy(), 0)


def test_non_differentiable_ops_stop_the_gradient(ctx):
    x = mx.sym.var("x", shape=(3,))
    y = mx.sym.sum(x * mx.sym.argmax(x, axis=0) + mx.sym.stop_gradient(x * x))
    (g,) = gradient_graph(y, ["x"])
    xv = mx.nd.array([1.0, 5.0, 2.0], ctx=ctx)
    np.testing.assert_allclose(_eval(g, ctx, x=xv)[0].asnumpy(), [1, 1, 1])


def test_gradient_graph_errors():
    x = mx.sym.var("x", shape=(3,))
    with pytest.raises(MXNetError, match="not inputs"):
        gradient_graph(mx.sym.exp(x), ["y"])
    with pytest.raises(MXNetError, match="head gradients"):
        gradient_graph(mx.sym.exp(x), ["x"], head_grads=[None, None])


def test_backward_graph_shares_forward_nodes():
    x = mx.sym.var("x", shape=(2, 3))
    bg = backward_graph(mx.sym.softmax(x), ["x"])
    fwd_nodes = {id(n) for n in bg.forward._nodes()}
    recomputed = [n for n in bg.grads._nodes() if id(n) not in fwd_nodes and n.op is not None
                  and n.op.name == "softmax"]
    assert not recomputed  # the gradient rule reads the forward's softmax, never recomputes it
    assert fwd_nodes <= {id(n) for n in bg.grads._nodes()}  # the gradients reuse the forward


def test_executor_grad_req_and_default_out_grads(ctx):
    x, w = mx.sym.var("x"), mx.sym.var("w")
    y = x * w
    xv, wv = mx.nd.array([1.0, 2.0], ctx=ctx), mx.nd.array([3.0, 4.0], ctx=ctx)
    gx = mx.nd.array([10.0, 10.0], ctx=ctx)
    ex = y.bind(ctx, {"x": xv, "w": wv}, args_grad={"x": gx}, grad_req={"x": "add", "w": "null"})
    ex.forward(is_train=True)
    ex.backward()  # out_grads default to ones
    ex.backward()
    np.testing.assert_allclose(gx.asnumpy(), [16, 18])
    assert ex.grad_dict.get("w") is None
    ex2 = y.simple_bind(ctx, x=(2,), w=(2,))
    ex2.forward(is_train=True, x=xv, w=wv)
    ex2.backward(mx.nd.array([1.0, -1.0], ctx=ctx))
    np.testing.assert_allclose(ex2.grad_dict["x"].asnumpy(), [3, -4])
    np.testing.assert_allclose(ex2.grad_dict["w"].asnumpy(), [1, -2])
    ex2.forward(is_train=False)  # MXNet differentiates an inference forward too
    ex2.backward()
    np.testing.assert_allclose(ex2.grad_dict["x"].asnumpy(), [3, 4])
    fresh = y.simple_bind(ctx, x=(2,), w=(2,))  # as MXNet: backward of the bound values
    fresh.arg_dict["w"][:] = mx.nd.array([3.0, 4.0], ctx=ctx)
    fresh.backward()
    np.testing.assert_allclose(fresh.grad_dict["x"].asnumpy(), [3, 4])


def test_executor_default_head_gradients_reused_exactly(ctx):
    # a loss's mean backward reads only the head gradient: with the default ones it runs once
    # and later backward() calls reuse its values; explicit out_grads must still be honoured
    x, w = mx.sym.var("x"), mx.sym.var("w")
    loss = mx.sym.mean(mx.sym.reshape(x * w, shape=(-1,)) * 2.0)
    xv = mx.nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=ctx)
    wv = mx.nd.array([[0.5, -1.0], [2.0, 1.5]], ctx=ctx)
    ex = loss.bind(ctx, {"x": xv, "w": wv}, grad_req={"x": "null", "w": "write"})
    want = 2 * xv.asnumpy() / 4
    for out_grad, scale in ((None, 1), (None, 1), (mx.nd.array([3.0], ctx=ctx), 3), (None, 1)):
        ex.forward(is_train=True)
        ex.backward(out_grad)
        np.testing.assert_allclose(ex.grad_dict["w"].asnumpy(), scale * want, rtol=1e-6)
    assert ex._train._head_steps  # the mean's backward chain was recognised as head-only
    assert ex._train._head_values is not None


def test_executor_dropout_and_batchnorm_modes(ctx):
    x = mx.sym.var("x")
    ex = mx.sym.Dropout(x, p=0.5).simple_bind(ctx, x=(40, 50))
    ex.arg_dict["x"][:] = 1.0
    np.testing.assert_array_equal(ex.forward(is_train=False)[0].asnumpy(), 1.0)
    a = ex.forward(is_train=True)[0].asnumpy()
    ex.backward()
    np.testing.assert_array_equal(ex.grad_dict["x"].asnumpy(), a)  # the mask of that forward
    assert (ex.forward(is_train=True)[0].asnumpy() != a).any()
    bn = mx.sym.BatchNorm(x, fix_gamma=False, name="bn")
    ex = bn.simple_bind(ctx, x=(4, 3))
    rng = np.random.default_rng(6)
    ex.arg_dict["x"][:] = rng.uniform(-1, 1, (4, 3))
    ex.arg_dict["bn_gamma"][:] = 1.0
    out = ex.forward(is_train=True)[0].asnumpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)  # batch statistics
    ex.backward(mx.nd.array(rng.uniform(-1, 1, (4, 3)), ctx=ctx))
    assert np.abs(ex.grad_dict["x"].asnumpy()).sum() > 0
