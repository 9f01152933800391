"""``mx.operator``: Python custom ops (``CustomOp``/``CustomOpProp``, ``mx.nd.Custom``/``sym``).

Eager, under autograd, in Symbols and executors, JSON, hybridized Gluon, on every backend; the
expected values are computed independently with NumPy.
"""

import json

import numpy as np
import pytest

import mxplug as mx
import mxplug.operator  # noqa: F401  (mx.operator until it is in mxplug's lazy modules)
from mxplug import autograd
from mxplug.base import MXNetError

op_api = mxplug.operator


# -- the ops under test --------------------------------------------------------------------------
class Softmax(op_api.CustomOp):
    """MXNet's documented example (example/numpy-ops/custom_softmax.py): NumPy inside."""

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0].asnumpy()
        y = np.exp(x - x.max(axis=1).reshape((x.shape[0], 1)))
        y /= y.sum(axis=1).reshape((x.shape[0], 1))
        self.assign(out_data[0], req[0], mx.nd.array(y, ctx=in_data[0].context))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        label = in_data[1].asnumpy().ravel().astype(np.int64)
        y = out_data[0].asnumpy()
        y[np.arange(label.shape[0]), label] -= 1.0
        self.assign(in_grad[0], req[0], mx.nd.array(y, ctx=in_data[0].context))


@op_api.register("test_softmax")
class SoftmaxProp(op_api.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=False)

    def list_arguments(self):
        return ["data", "label"]

    def list_outputs(self):
        return ["output"]

    def infer_shape(self, in_shape):
        return [in_shape[0], (in_shape[0][0],)], [in_shape[0]], []

    def infer_type(self, in_type):
        return in_type, [in_type[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return Softmax()


class Scale(op_api.CustomOp):
    """``y = x * scale`` written with mx.nd ops; it needs the head gradient."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * self.scale)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * self.scale)


SEEN_KWARGS = []


@op_api.register("test_scale")
class ScaleProp(op_api.CustomOpProp):
    def __init__(self, scale="1.0"):
        super().__init__(need_top_grad=True)
        SEEN_KWARGS.append(scale)
        self.scale = float(scale)

    def create_operator(self, ctx, shapes, dtypes):
        return Scale(self.scale)


class SumProd(op_api.CustomOp):
    """Two arguments, two outputs: (a + b, a * b)."""

    def forward(self, is_train, req, in_data, out_data, aux):
        a, b = in_data
        self.assign(out_data[0], req[0], a + b)
        self.assign(out_data[1], req[1], a * b)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        a, b = in_data
        gs, gp = out_grad
        self.assign(in_grad[0], req[0], gs + gp * b)
        self.assign(in_grad[1], req[1], gs + gp * a)


@op_api.register("test_sumprod")
class SumProdProp(op_api.CustomOpProp):
    def list_arguments(self):
        return ["a", "b"]

    def list_outputs(self):
        return ["sum", "prod"]

    def create_operator(self, ctx, shapes, dtypes):
        return SumProd()


class Centre(op_api.CustomOp):
    """``y = x - moving_mean``; a training forward moves the auxiliary state to x's mean."""

    def forward(self, is_train, req, in_data, out_data, aux):
        x, mean = in_data[0], aux[0]
        if is_train:
            self.assign(mean, "write", mean * 0.5 + x.mean(axis=0) * 0.5)
        self.assign(out_data[0], req[0], mx.nd.broadcast_sub(x, mean.reshape((1, -1))))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0])


@op_api.register("test_centre")
class CentreProp(op_api.CustomOpProp):
    def list_auxiliary_states(self):
        return ["moving_mean"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [(in_shape[0][1],)]

    def create_operator(self, ctx, shapes, dtypes):
        return Centre()


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(label, k):
    return np.eye(k)[label.astype(np.int64)]


# -- eager and autograd --------------------------------------------------------------------------
def test_softmax_example_forward_and_gradient(ctx):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((4, 3)).astype(np.float32)
    label_np = np.array([0, 2, 1, 2], np.float32)
    x, label = mx.nd.array(x_np, ctx=ctx), mx.nd.array(label_np, ctx=ctx)
    y = mx.nd.Custom(x, label, op_type="test_softmax")
    assert y.context == ctx and y.shape == (4, 3)
    np.testing.assert_allclose(y.asnumpy(), _softmax(x_np), rtol=1e-5, atol=1e-6)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Custom(data=x, label=label, op_type="test_softmax")  # inputs by name
    # need_top_grad=False: a loss, its gradient ignores the head gradient
    y.backward(mx.nd.full((4, 3), 7.0, ctx=ctx))
    want = _softmax(x_np) - _onehot(label_np, 3)
    np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_softmax_example_trains():
    """The documented use: a linear classifier trained through the custom softmax loss."""
    rng = np.random.default_rng(1)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    label_np = rng.integers(0, 3, 120)
    x_np = (centres[label_np] + rng.standard_normal((120, 2)) * 0.5).astype(np.float32)
    x, label = mx.nd.array(x_np), mx.nd.array(label_np.astype(np.float32))
    w, b = mx.nd.zeros((2, 3)), mx.nd.zeros((3,))
    for p in (w, b):
        p.attach_grad()
    for _ in range(30):
        with autograd.record():
            prob = mx.nd.Custom(mx.nd.broadcast_add(mx.nd.dot(x, w), b.reshape((1, 3))), label,
                                op_type="test_softmax")
        prob.backward()
        want = x_np.T @ (prob.asnumpy() - _onehot(label_np, 3))  # softmax - onehot, chained
        np.testing.assert_allclose(w.grad.asnumpy(), want, rtol=1e-4, atol=1e-4)
        w[:] = w - 0.01 * w.grad
        b[:] = b - 0.01 * b.grad
    accuracy = (prob.asnumpy().argmax(axis=1) == label_np).mean()
    assert accuracy > 0.9


def test_need_top_grad_true_uses_the_head_gradient(ctx):
    x_np = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = mx.nd.array(x_np, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Custom(x, op_type="test_scale", scale=2.5)
        z = (y * y).sum()  # the custom op inside a larger recorded graph
    z.backward()
    np.testing.assert_allclose(y.asnumpy(), x_np * 2.5)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * (x_np * 2.5) * 2.5, rtol=1e-6)
    assert "2.5" in SEEN_KWARGS  # kwargs reach the Prop as strings, as in MXNet
    assert not any(isinstance(k, float) for k in SEEN_KWARGS)


def test_one_tape_entry_and_nothing_recorded_inside():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Custom(x, op_type="test_scale", scale=3)
    entry, k = y._ag
    assert entry.name == "Custom" and k == 0
    assert entry.inputs[0] is x  # straight from x: the ops inside forward were not recorded


def test_multiple_outputs(ctx):
    rng = np.random.default_rng(2)
    a_np, b_np = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    a, b = mx.nd.array(a_np, ctx=ctx), mx.nd.array(b_np, ctx=ctx)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        s, p = mx.nd.Custom(a, b, op_type="test_sumprod")
    np.testing.assert_allclose(s.asnumpy(), a_np + b_np, rtol=1e-6)
    np.testing.assert_allclose(p.asnumpy(), a_np * b_np, rtol=1e-6)
    gs, gp = np.full((2, 3), 2.0), rng.standard_normal((2, 3))
    autograd.backward([s, p], [mx.nd.array(gs, ctx=ctx), mx.nd.array(gp, ctx=ctx)])
    np.testing.assert_allclose(a.grad.asnumpy(), gs + gp * b_np, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad.asnumpy(), gs + gp * a_np, rtol=1e-5, atol=1e-6)
    # only one output used: the other's gradient is zeros
    with autograd.record():
        s, p = mx.nd.Custom(a, b, op_type="test_sumprod")
    p.backward()
    np.testing.assert_allclose(a.grad.asnumpy(), b_np, rtol=1e-5)


def test_auxiliary_states_update_in_place(ctx):
    x_np = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    x, mean = mx.nd.array(x_np, ctx=ctx), mx.nd.zeros((2,), ctx=ctx)
    y = mx.nd.Custom(x, mean, op_type="test_centre")  # a predicting forward leaves aux alone
    np.testing.assert_allclose(y.asnumpy(), x_np)
    x.attach_grad()
    with autograd.record():  # training: the moving mean moves, in place
        y = mx.nd.Custom(x, mean, op_type="test_centre")
    want_mean = 0.5 * x_np.mean(axis=0)
    np.testing.assert_allclose(mean.asnumpy(), want_mean, rtol=1e-6)
    np.testing.assert_allclose(y.asnumpy(), x_np - want_mean, rtol=1e-6)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.ones((2, 2)))


def test_assign_honours_req():
    o = op_api.CustomOp()
    dst = mx.nd.array([1.0, 2.0])
    o.assign(dst, "add", mx.nd.array([10.0, 20.0]))
    np.testing.assert_allclose(dst.asnumpy(), [11.0, 22.0])
    o.assign(dst, "write", mx.nd.array([5.0, 6.0]))
    np.testing.assert_allclose(dst.asnumpy(), [5.0, 6.0])
    o.assign(dst, "null", mx.nd.array([0.0, 0.0]))
    np.testing.assert_allclose(dst.asnumpy(), [5.0, 6.0])
    with pytest.raises(MXNetError, match="req"):
        o.assign(dst, "sometimes", dst)


def test_grad_req_add_accumulates():
    x_np = np.array([1.0, -2.0, 3.0], np.float32)
    x = mx.nd.array(x_np)
    x.attach_grad(grad_req="add")
    for _ in range(2):
        with autograd.record():
            y = mx.nd.Custom(x, op_type="test_scale", scale="4")
        y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.full(3, 8.0))


# -- symbols and executors -----------------------------------------------------------------------
def test_symbol_infers_through_the_prop_and_trains_in_an_executor():
    data = mx.sym.var("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    out = mx.sym.Custom(data=net, op_type="test_softmax", name="softmax")
    assert out.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]
    assert out.list_outputs() == ["softmax_output"]
    args, outs, aux = out.infer_shape(data=(5, 4))  # the label's shape from the Prop
    assert args == [(5, 4), (3, 4), (3,), (5,)] and outs == [(5, 3)] and aux == []
    _, types, _ = out.infer_type(data="float64")
    assert types == [np.float64]
    rng = np.random.default_rng(3)
    x_np, w_np = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    label_np = np.array([0, 1, 2, 1, 0])
    exe = out.simple_bind(mx.cpu(), data=(5, 4))
    exe.arg_dict["data"][:] = x_np
    exe.arg_dict["fc_weight"][:] = w_np
    exe.arg_dict["fc_bias"][:] = 0
    exe.arg_dict["softmax_label"][:] = label_np
    exe.forward(is_train=True)
    prob = _softmax(x_np @ w_np.T)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), prob, rtol=1e-5, atol=1e-6)
    exe.backward()  # a loss: no head gradient needed
    dlogits = prob - _onehot(label_np, 3)
    np.testing.assert_allclose(exe.grad_dict["fc_weight"].asnumpy(), dlogits.T @ x_np,
                               rtol=1e-4, atol=1e-5)


def test_softmax_example_trains_with_module():
    """MXNet's example as it runs there: a Symbol ending in the custom softmax, Module.fit."""
    rng = np.random.default_rng(5)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    label = rng.integers(0, 3, 120)
    x = (centres[label] + rng.standard_normal((120, 2)) * 0.5).astype(np.float32)
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    net = mx.sym.Custom(data=fc, op_type="test_softmax", name="softmax")
    it = mx.io.NDArrayIter(x, label.astype(np.float32), batch_size=30,
                           label_name="softmax_label")
    mod = mx.mod.Module(net, data_names=["data"], label_names=["softmax_label"])
    mod.fit(it, num_epoch=4, optimizer="sgd", optimizer_params={"learning_rate": 0.1},
            eval_metric="acc")
    assert dict(mod.score(it, "acc"))["accuracy"] > 0.9


def test_symbol_multiple_outputs_named_by_the_prop():
    s = mx.sym.Custom(mx.sym.var("a"), mx.sym.var("b"), op_type="test_sumprod", name="sp")
    assert s.list_outputs() == ["sp_sum", "sp_prod"]
    a_np, b_np = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    exe = s.bind(mx.cpu(), {"a": mx.nd.array(a_np), "b": mx.nd.array(b_np)},
                 args_grad={"a": mx.nd.zeros((1, 2)), "b": mx.nd.zeros((1, 2))})
    exe.forward(is_train=True)
    np.testing.assert_allclose(exe.outputs[1].asnumpy(), a_np * b_np)
    exe.backward([mx.nd.ones((1, 2)), mx.nd.array([[2.0, 2.0]])])
    np.testing.assert_allclose(exe.grad_dict["a"].asnumpy(), 1 + 2 * b_np)


def test_symbol_grad_req_add():
    s = mx.sym.Custom(mx.sym.var("x"), op_type="test_scale", scale=2)
    exe = s.simple_bind(mx.cpu(), x=(3,), grad_req="add")
    exe.arg_dict["x"][:] = 1.0
    for _ in range(3):
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones((3,)))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), np.full(3, 6.0))


def test_json_round_trip_keeps_op_type_and_kwargs():
    s = mx.sym.Custom(mx.sym.var("x"), op_type="test_scale", scale=1.5, name="sc")
    text = s.tojson()
    node = next(n for n in json.loads(text)["nodes"] if n["op"] == "Custom")
    assert node["attrs"] == {"op_type": "test_scale", "scale": "1.5"}
    back = mx.sym.load_json(text)
    assert back.tojson() == text
    exe = back.bind(mx.cpu(), {"x": mx.nd.array([2.0, 4.0])})
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), [3.0, 6.0])


# -- Gluon ---------------------------------------------------------------------------------------
class ScaledDense(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = mx.gluon.nn.Dense(3, in_units=4)

    def hybrid_forward(self, F, x):
        return F.Custom(data=self.dense(x), op_type="test_scale", scale=0.5)  # by name, too


def test_hybridized_gluon_block(ctx):
    rng = np.random.default_rng(4)
    x = mx.nd.array(rng.standard_normal((2, 4)), ctx=ctx)
    net = ScaledDense()
    net.initialize(ctx=ctx)
    with autograd.record():
        eager = net(x)
    eager.backward()
    g_eager = net.dense.weight.grad(ctx).asnumpy().copy()
    net.hybridize()
    with autograd.record():
        hybrid = net(x)
    hybrid.backward()
    w = net.dense.weight.data(ctx).asnumpy()
    want = 0.5 * (x.asnumpy() @ w.T + net.dense.bias.data(ctx).asnumpy())
    np.testing.assert_allclose(hybrid.asnumpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager.asnumpy(), want, rtol=1e-5, atol=1e-6)
    want_g = 0.5 * np.ones((2, 3)).T @ x.asnumpy()
    np.testing.assert_allclose(g_eager, want_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.dense.weight.grad(ctx).asnumpy(), want_g, rtol=1e-5,
                               atol=1e-6)


# -- errors --------------------------------------------------------------------------------------
def test_unknown_op_type_names_the_registered_ones():
    with pytest.raises(MXNetError, match="not registered.*test_scale"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="no_such_op")


def test_wrong_number_of_shapes_names_the_op():
    @op_api.register("test_bad_shapes")
    class BadProp(op_api.CustomOpProp):
        def list_outputs(self):
            return ["a", "b"]

        def infer_shape(self, in_shape):
            return in_shape, [in_shape[0]], []  # one shape for two outputs

        def create_operator(self, ctx, shapes, dtypes):
            return op_api.CustomOp()

    with pytest.raises(MXNetError, match="test_bad_shapes.*infer_shape returned 1 output"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="test_bad_shapes")
    with pytest.raises(MXNetError, match="test_bad_shapes"):
        mx.sym.Custom(mx.sym.var("x"), op_type="test_bad_shapes").infer_shape(x=(2,))


def test_wrong_number_of_inputs_and_bad_registration():
    with pytest.raises(MXNetError, match="test_softmax.*data.*label"):
        mx.nd.Custom(mx.nd.ones((2, 3)), op_type="test_softmax")
    with pytest.raises(MXNetError, match="CustomOpProp"):
        op_api.register("x")(object)
    assert "test_softmax" in op_api.get_all_registered_operators()


# -- waiting for changes outside this feature's files (see docs/custom_op.md) ------------------
def test_symbol_lists_and_updates_auxiliary_states():
    s = mx.sym.Custom(mx.sym.var("x"), op_type="test_centre", name="c")
    assert s.list_auxiliary_states() == ["c_moving_mean"]
    assert s.list_arguments() == ["x"]
    exe = s.simple_bind(mx.cpu(), x=(2, 2))
    x_np = np.array([[1.0, 2.0], [3.0, 6.0]])
    exe.arg_dict["x"][:] = x_np
    exe.forward(is_train=True)
    np.testing.assert_allclose(exe.aux_dict["c_moving_mean"].asnumpy(), 0.5 * x_np.mean(axis=0))


CALLS = []


class Counting(op_api.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        CALLS.append(1)
        self.assign(out_data[0], req[0], in_data[0] + len(CALLS))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0])


@op_api.register("test_counting")
class CountingProp(op_api.CustomOpProp):
    def create_operator(self, ctx, shapes, dtypes):
        return Counting()


def test_equal_custom_nodes_both_run():
    x = mx.sym.var("x")
    s = mx.sym.Custom(x, op_type="test_counting") + mx.sym.Custom(x, op_type="test_counting")
    exe = s.simple_bind(mx.cpu(), x=(2,))
    exe.arg_dict["x"][:] = 0
    CALLS.clear()
    exe.forward()
    assert len(CALLS) == 2
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), [3.0, 3.0])
