"""MXNet 1.x ``mx.autograd`` semantics, part 2: gradient bookkeeping, Function, in-place writes,
train/predict behaviour, an MLP end to end, memory. On every backend.

Reference values are written by hand in NumPy (float64 where derivatives are compared), never
computed by mxplug itself.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError

from .autograd_helpers import ATOL, RTOL, arr, close, var  # noqa: F401


# -- gradient bookkeeping: broadcasting, reuse, indexing, non-differentiable ops ------------------
def test_broadcast_add_gradient_reduced_to_input_shape(ctx, rng):
    a, b = var(rng.uniform(-1, 1, (3, 1))), var(rng.uniform(-1, 1, (1, 4)))
    with autograd.record():
        c = a + b
    assert c.shape == (3, 4)
    c.backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4)
    close(a.grad, np.full((3, 1), 4.0))
    close(b.grad, np.full((1, 4), 3.0))


def test_broadcast_mul_gradient_reduced_to_input_shape(ctx, rng):
    av, bv = rng.uniform(-1, 1, (3, 1)), rng.uniform(-1, 1, (1, 4))
    hv = rng.uniform(-1, 1, (3, 4))
    a, b = var(av), var(bv)
    with autograd.record():
        c = mx.nd.broadcast_mul(a, b)
    c.backward(arr(hv))
    close(a.grad, (hv * bv).sum(axis=1, keepdims=True))
    close(b.grad, (hv * av).sum(axis=0, keepdims=True))


def test_variable_used_twice_accumulates(ctx, rng):
    xv = rng.uniform(-1, 1, (4,))
    x = var(xv)
    with autograd.record():
        y = x * x + x          # x appears three times
        z = mx.nd.sin(x) * y   # and in two branches
    z.backward()
    close(x.grad, np.cos(xv) * (xv ** 2 + xv) + np.sin(xv) * (2 * xv + 1))


def test_same_input_twice_in_one_op(ctx):
    x = var([3.0, -2.0])
    with autograd.record():
        y = mx.nd.elemwise_mul(x, x)
    y.backward()
    close(x.grad, [6.0, -4.0])


def test_getitem_basic_slice_gradient(ctx, rng):
    xv = rng.uniform(-1, 1, (4, 3))
    x = var(xv)
    with autograd.record():
        y = x[1:3] * 2
        z = x[0] * x[0]  # integer index
    autograd.backward([y, z])
    want = np.zeros((4, 3))
    want[1:3] = 2
    want[0] = 2 * xv[0]
    close(x.grad, want)


def test_getitem_strided_slice_gradient(ctx):
    x = var(np.arange(6.0))
    with autograd.record():
        y = x[::2]
    y.backward(arr([1.0, 2.0, 3.0]))
    close(x.grad, [1, 0, 2, 0, 3, 0])


def test_getitem_integer_array_with_repeats_accumulates(ctx, rng):
    xv = rng.uniform(-1, 1, (4, 3))
    x = var(xv)
    idx = mx.nd.array([0, 2, 0, 0], dtype="int64")
    with autograd.record():
        y = x[idx]
    assert y.shape == (4, 3)
    y.backward()
    want = np.zeros((4, 3))
    want[0], want[2] = 3, 1
    close(x.grad, want)


def test_getitem_integer_array_1d_with_head_grad(ctx):
    x = var([10.0, 20.0, 30.0])
    idx = mx.nd.array([2, 2, 1], dtype="int64")
    with autograd.record():
        y = x[idx]
    y.backward(arr([1.0, 2.0, 5.0]))
    close(x.grad, [0.0, 5.0, 3.0])


def test_comparisons_and_argmax_give_no_gradient(ctx, rng):
    xv = rng.uniform(-1, 1, (3, 4))
    x = var(xv)
    with autograd.record():
        relu = (x > 0) * x  # the mask is a constant
        y = relu.sum() + mx.nd.argmax(x, axis=1).sum() * 0 + (x * x).sum()
    y.backward()
    close(x.grad, (xv > 0) + 2 * xv)


def test_head_that_is_only_non_differentiable_gets_zero_or_raises(ctx):
    # MXNet gives comparisons zero gradients; an array that only depends on x through one carries
    # no gradient to x: either backward refuses (no graph) or it writes zeros. Never nonzero.
    x = var([1.0, -1.0])
    with autograd.record():
        y = x > 0
    try:
        y.backward()
    except MXNetError:
        pass
    close(x.grad, [0.0, 0.0])


# -- autograd.Function ----------------------------------------------------------------------------
class Sigmoid(autograd.Function):
    def forward(self, x):
        y = 1 / (1 + mx.nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        (y,) = self.saved_tensors
        return dy * y * (1 - y)


def test_function_custom_sigmoid_matches_builtin(ctx, rng):
    xv, hv = rng.uniform(-3, 3, (2, 5)), rng.uniform(-1, 1, (2, 5))
    x1, x2 = var(xv), var(xv)
    with autograd.record():
        y1 = Sigmoid()(x1)
        y2 = mx.nd.sigmoid(x2)
    close(y1, 1 / (1 + np.exp(-xv)))
    close(y1, y2.asnumpy())
    y1.backward(arr(hv))
    y2.backward(arr(hv))
    s = 1 / (1 + np.exp(-xv))
    close(x1.grad, hv * s * (1 - s))
    close(x1.grad, x2.grad.asnumpy())


def test_function_backward_is_used_instead_of_chain_rule(ctx):
    class StraightThroughRound(autograd.Function):
        def forward(self, x):
            return mx.nd.round(x)

        def backward(self, dy):
            return dy * 1  # identity: the true derivative of round is 0

    x = var([0.2, 1.7, -2.6])
    with autograd.record():
        y = StraightThroughRound()(x) * 3
    close(y, [0.0, 6.0, -9.0])
    y.backward()
    close(x.grad, [3.0, 3.0, 3.0])


def test_function_with_two_inputs_inside_a_graph(ctx, rng):
    class Mul(autograd.Function):
        def forward(self, a, b):
            assert not autograd.is_recording()  # forward runs unrecorded
            self.save_for_backward(a, b)
            return a * b

        def backward(self, dy):
            a, b = self.saved_tensors
            return dy * b, dy * a

    av, bv = rng.uniform(-1, 1, (3,)), rng.uniform(-1, 1, (3,))
    a, b = var(av), var(bv)
    with autograd.record():
        y = mx.nd.exp(Mul()(a * 2, b))
    y.backward()
    e = np.exp(2 * av * bv)
    close(a.grad, e * 2 * bv)
    close(b.grad, e * 2 * av)


def test_function_returning_wrong_number_of_gradients_raises(ctx):
    class Bad(autograd.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, dy):
            return dy

    a, b = var([1.0]), var([2.0])
    with autograd.record():
        y = Bad()(a, b)
    with pytest.raises(MXNetError):
        y.backward()


# -- in-place writes ------------------------------------------------------------------------------
def test_setitem_on_recorded_variable_inside_record_raises(ctx):
    x = var([1.0, 2.0, 3.0])
    with autograd.record():
        with pytest.raises(MXNetError, match="record|gradient|graph"):
            x[:] = 1
    close(x, [1.0, 2.0, 3.0])  # unchanged


def test_inplace_add_on_recorded_variable_inside_record_raises(ctx):
    x = var([1.0, 2.0, 3.0])
    with autograd.record():
        with pytest.raises(MXNetError, match="record|gradient|graph"):
            x += 1
    close(x, [1.0, 2.0, 3.0])


def test_setitem_on_recorded_intermediate_raises(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
        with pytest.raises(MXNetError):
            y[0] = 5
        with pytest.raises(MXNetError):
            y *= 2
    y.backward()
    close(x.grad, [2.0, 4.0])  # the graph is intact


def test_inplace_writes_outside_record_work(ctx):
    x = var([1.0, 2.0, 3.0])
    x[:] = 1
    close(x, [1.0, 1.0, 1.0])
    x += 1
    close(x, [2.0, 2.0, 2.0])
    x[1] = 7
    close(x, [2.0, 7.0, 2.0])
    with autograd.record():
        y = x * x
    y.backward()
    close(x.grad, [4.0, 14.0, 4.0])


def test_setitem_on_plain_array_inside_record_works(ctx):
    z = arr([1.0, 2.0])
    with autograd.record():
        z[:] = 4
        z += 1
    close(z, [5.0, 5.0])


# -- train / predict behaviour: Dropout and BatchNorm ---------------------------------------------
def test_dropout_is_identity_in_predict_mode(ctx, rng):
    xv = rng.uniform(1, 2, (10, 10))
    x = arr(xv)
    close(mx.nd.Dropout(x, p=0.5), xv)
    with autograd.record(train_mode=False):
        close(mx.nd.Dropout(x, p=0.5), xv)
    with autograd.record():
        with autograd.predict_mode():
            close(mx.nd.Dropout(x, p=0.5), xv)


def test_dropout_is_active_in_train_mode_without_recording(ctx, rng):
    xv = rng.uniform(1, 2, (20, 20))
    with autograd.train_mode():
        y = mx.nd.Dropout(arr(xv), p=0.5).asnumpy()
    assert (y == 0).any() and (y != 0).any()
    np.testing.assert_allclose(y[y != 0], 2 * xv[y != 0])


def test_dropout_in_record_scales_and_gradient_matches_mask(ctx, rng):
    p = 0.3
    xv = rng.uniform(1, 2, (40, 50))
    x = var(xv)
    with autograd.record():
        y = mx.nd.Dropout(x, p=p)
    yv = y.asnumpy()
    kept = yv != 0
    frac_dropped = 1 - kept.mean()
    assert 0.2 < frac_dropped < 0.4, frac_dropped
    np.testing.assert_allclose(yv[kept], xv[kept] / (1 - p), rtol=1e-6)
    hv = rng.uniform(-1, 1, xv.shape)
    y.backward(arr(hv))
    close(x.grad, kept * hv / (1 - p))


def test_batchnorm_batch_stats_in_train_and_moving_stats_in_predict(ctx, rng):
    xv = rng.uniform(-2, 3, (6, 3))
    gv, bv = rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    mmv, mvv = rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3)
    eps = 1e-5
    x = var(xv)
    args = [arr(gv), arr(bv), arr(mmv), arr(mvv)]
    kw = dict(eps=eps, fix_gamma=False)
    mean, vari = xv.mean(axis=0), xv.var(axis=0)
    xhat = (xv - mean) / np.sqrt(vari + eps)
    want_train = xhat * gv + bv
    want_pred = (xv - mmv) / np.sqrt(mvv + eps) * gv + bv

    with autograd.record(train_mode=True):
        y = mx.nd.BatchNorm(x, *args, **kw)
    close(y, want_train)
    close(mx.nd.BatchNorm(x, *args, **kw), want_pred)  # default: predict mode
    with autograd.record(train_mode=False):
        close(mx.nd.BatchNorm(x, *args, **kw), want_pred)
    with autograd.train_mode():
        close(mx.nd.BatchNorm(x, *args, **kw), want_train)
    with autograd.record():
        close(mx.nd.BatchNorm(x, *args, use_global_stats=True, **kw), want_pred)

    # training-mode gradient: dx = gamma / sqrt(var + eps) * (h - mean(h) - xhat * mean(h * xhat))
    hv = rng.uniform(-1, 1, xv.shape)
    y.backward(arr(hv))
    want = gv / np.sqrt(vari + eps) * (hv - hv.mean(0) - xhat * (hv * xhat).mean(0))
    close(x.grad, want, rtol=1e-5, atol=1e-8)


def test_batchnorm_predict_mode_gradient_is_affine(ctx, rng):
    xv = rng.uniform(-2, 3, (4, 3, 2))
    gv, bv = rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    mmv, mvv = rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3)
    x = var(xv)
    with autograd.record(train_mode=False):
        y = mx.nd.BatchNorm(x, arr(gv), arr(bv), arr(mmv), arr(mvv), eps=1e-3, fix_gamma=True)
    close(y, (xv - mmv[:, None]) / np.sqrt(mvv[:, None] + 1e-3) + bv[:, None])
    y.backward(train_mode=False)
    close(x.grad, np.broadcast_to(1 / np.sqrt(mvv[:, None] + 1e-3), xv.shape))


# -- end to end: a two-layer MLP against hand-written NumPy backprop ------------------------------
def _np_mlp(xv, w1, b1, w2, b2, labels):
    h = xv @ w1.T + b1
    a = np.maximum(h, 0)
    o = a @ w2.T + b2
    e = np.exp(o - o.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(o.shape[1])[labels]
    loss = -np.sum(np.log(p) * onehot)
    do = p - onehot
    dw2, db2 = do.T @ a, do.sum(axis=0)
    da = do @ w2
    dh = da * (h > 0)
    dw1, db1 = dh.T @ xv, dh.sum(axis=0)
    dx = dh @ w1
    return loss, dict(x=dx, w1=dw1, b1=db1, w2=dw2, b2=db2)


@pytest.mark.parametrize("loss_kind", ["softmax_cross_entropy", "log_softmax"])
def test_two_layer_mlp_matches_numpy_backprop(ctx, rng, loss_kind):
    n, d, hdim, k = 5, 4, 6, 3
    vals = dict(x=rng.uniform(-1, 1, (n, d)), w1=rng.uniform(-1, 1, (hdim, d)),
                b1=rng.uniform(-0.5, 0.5, hdim), w2=rng.uniform(-1, 1, (k, hdim)),
                b2=rng.uniform(-0.5, 0.5, k))
    labels = rng.integers(0, k, n)
    want_loss, want = _np_mlp(vals["x"], vals["w1"], vals["b1"], vals["w2"], vals["b2"], labels)
    p = {name: var(v) for name, v in vals.items()}
    label = arr(labels.astype(np.float64))
    with autograd.record():
        h = mx.nd.FullyConnected(p["x"], p["w1"], p["b1"], num_hidden=hdim)
        a = mx.nd.relu(h)
        o = mx.nd.FullyConnected(a, p["w2"], p["b2"], num_hidden=k)
        if loss_kind == "softmax_cross_entropy":
            loss = mx.nd.softmax_cross_entropy(o, label)
        else:
            loss = -(mx.nd.log_softmax(o, axis=-1) * mx.nd.one_hot(label, k, dtype="float64")).sum()
    close(loss, np.reshape(want_loss, loss.shape), rtol=1e-10)
    loss.backward()
    for name in vals:
        close(p[name].grad, want[name], rtol=1e-8, atol=1e-10)


# -- memory ---------------------------------------------------------------------------------------
def test_backward_frees_the_tape(ctx):
    x = var(np.ones((8, 8)))
    with autograd.record():
        y = x * 2
        z = mx.nd.exp(y).sum()
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is not None  # the recorded graph keeps it alive for backward
    z.backward()
    gc.collect()
    assert ref() is None
    close(x.grad, 2 * np.exp(2) * np.ones((8, 8)))


def test_backward_frees_the_tape_even_if_head_is_dropped(ctx):
    x = var(np.ones((4,)))
    with autograd.record():
        y = mx.nd.sin(x)
        z = y * y
    refs = [weakref.ref(y), weakref.ref(z)]
    del y
    z.backward()
    del z
    gc.collect()
    assert all(r() is None for r in refs)


def test_retain_graph_keeps_the_tape_until_last_backward(ctx):
    x = var(np.ones((4,)))
    with autograd.record():
        y = x * 3
        z = (y * y).sum()
    ref = weakref.ref(y)
    del y
    z.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    z.backward()
    gc.collect()
    assert ref() is None
    close(x.grad, np.full(4, 18.0))


def test_grad_without_create_graph_frees_the_tape(ctx):
    x = var(np.ones((4,)))
    with autograd.record():
        y = x * 3
        z = (y * y).sum()
    ref = weakref.ref(y)
    del y
    autograd.grad(z, [x])
    gc.collect()
    assert ref() is None


# -- further MXNet usage patterns -----------------------------------------------------------------
def test_backward_inside_record_scope(ctx):
    # MXNet tutorials call loss.backward() inside the record block.
    x = var([1.0, 2.0])
    with autograd.record():
        y = (x * x).sum()
        y.backward()
        assert autograd.is_recording() and autograd.is_training()
        z = (x * 3).sum()  # still recorded after backward
    close(x.grad, [2.0, 4.0])
    z.backward()
    close(x.grad, [3.0, 3.0])


def test_attach_grad_again_resets_gradient(ctx):
    x = var([1.0, 2.0], grad_req="add")
    with autograd.record():
        y = x * 4
    y.backward()
    close(x.grad, [4.0, 4.0])
    x.attach_grad()
    close(x.grad, [0.0, 0.0])


def test_dropout_under_record_is_active_for_plain_arrays(ctx, rng):
    xv = rng.uniform(1, 2, (20, 20))
    with autograd.record():
        y = mx.nd.Dropout(arr(xv), p=0.5).asnumpy()
    assert (y == 0).any() and (y != 0).any()
    np.testing.assert_allclose(y[y != 0], 2 * xv[y != 0])


def test_grad_of_non_scalar_uses_ones_head_gradient(ctx, rng):
    xv = rng.uniform(-1, 1, (2, 3))
    x = var(xv)
    with autograd.record():
        y = mx.nd.exp(x)
    close(autograd.grad(y, x)[0], np.exp(xv))


def test_function_output_not_recorded_when_inputs_need_no_gradient(ctx):
    x = arr([1.0, 2.0])
    with autograd.record():
        y = Sigmoid()(x)
    with pytest.raises(MXNetError):
        y.backward()


def test_backward_of_second_head_after_shared_graph_was_freed_raises_mxnet_error(ctx):
    # z1.backward() frees the graph of y, which z2 also needs: MXNet refuses with a message
    # that points at retain_graph.
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * 2
        z1, z2 = y * 3, y * 4
    z1.backward()
    close(x.grad, [6.0, 6.0])
    with pytest.raises(MXNetError, match="retain_graph"):
        z2.backward()


def test_shared_graph_with_retain_graph_serves_two_heads(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * 2
        z1, z2 = y * 3, y * 4
    z1.backward(retain_graph=True)
    close(x.grad, [6.0, 6.0])
    z2.backward()
    close(x.grad, [8.0, 8.0])


def test_function_with_two_outputs_backward_through_one(ctx):
    class TwoOut(autograd.Function):
        def forward(self, a):
            return a * 2, a * 3

        def backward(self, d2, d3):
            return d2 * 2 + d3 * 3

    x = var([1.0, -1.0])
    with autograd.record():
        p, q = TwoOut()(x)
    p.backward(retain_graph=True)
    close(x.grad, [2.0, 2.0])  # the unused output contributes a zero gradient
    autograd.backward([p, q], [arr([1.0, 1.0]), arr([10.0, 0.0])])
    close(x.grad, [32.0, 2.0])


def test_detach_shares_memory(ctx):
    x = var([1.0, 2.0])
    d = x.detach()
    assert d.grad is None
    d[:] = 5
    close(x, [5.0, 5.0])


def test_function_saved_tensors_are_freed_after_backward(ctx):
    class ExpTimes(autograd.Function):
        def forward(self, x):
            t = mx.nd.exp(x)
            self.save_for_backward(t)
            return t * 2

        def backward(self, dy):
            (t,) = self.saved_tensors
            return dy * t * 2

    x = var([0.0, 1.0])
    with autograd.record():
        f = ExpTimes()
        y = f(x)
    ref = weakref.ref(f.saved_tensors[0])
    del f
    y.backward()
    close(x.grad, 2 * np.exp([0.0, 1.0]))
    gc.collect()
    assert ref() is None  # y is still alive, but its tape entry (and what it saved) is freed


def test_failed_backward_restores_recording_and_training_state(ctx):
    class Bad(autograd.Function):
        def forward(self, a):
            return a * 1

        def backward(self, dy):
            raise RuntimeError("user bug")

    a = var([1.0])
    with autograd.record():
        y = Bad()(a)
    with pytest.raises(RuntimeError):
        y.backward()
    assert not autograd.is_recording() and not autograd.is_training()


def test_head_grads_may_contain_none_for_ones(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y1, y2 = x * 2, x * x
    autograd.backward([y1, y2], [None, arr([3.0, 5.0])])
    close(x.grad, [2.0 + 6.0, 2.0 + 20.0])


def test_default_head_gradients_are_never_shared_with_the_caller():
    """backward() reuses one ones array as the default head gradient; grad() must not hand it
    (or a view of it, as reshape's rule gives) to the caller, who may write into it."""
    x = mx.nd.ones((2, 2))
    x.attach_grad()
    for _ in range(2):
        with autograd.record():
            y = x.reshape((4,))
        y.backward()
        np.testing.assert_array_equal(x.grad.asnumpy(), np.ones((2, 2)))
        with autograd.record():
            y = x.reshape((4,))
        g = autograd.grad(y, [x])[0]
        g[:] = 5.0  # the caller's array: must not change the next backward's head gradient


# -- MXNet's inspection helpers: get_symbol, _fresh_grad, the star-import --------------------------
def test_get_symbol_names_and_evaluates_the_recorded_graph_as_mxnet(ctx):
    x = mx.nd.array([2.0], ctx=ctx)
    x.attach_grad()
    c = mx.nd.array([3.0], ctx=ctx)
    with autograd.record():
        y = x * x + 2 * x - 1 + c
    s = autograd.get_symbol(y)
    # MXNet 1.9.1: marked variables var<k>, other inputs null<k>, ops node_<k>
    assert s.list_arguments() == ["var0", "null1"]
    assert s.list_outputs() == ["node_4_output"]
    out = s.eval(ctx, var0=mx.nd.array([5.0], ctx=ctx), null1=mx.nd.array([1.0], ctx=ctx))
    assert out[0].asnumpy().tolist() == [25 + 10 - 1 + 1]
    z = mx.nd.array([1.0], ctx=ctx)
    z.attach_grad()
    with autograd.record():
        y = x * x + 2 * z - 1
    assert autograd.get_symbol(y).list_arguments() == ["var0", "var1"]


def test_get_symbol_of_one_output_of_a_multi_output_op(ctx):
    x = mx.nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        a, b = mx.nd.split(x * 2, num_outputs=2, axis=0)
    s = autograd.get_symbol(b)
    assert len(s.list_outputs()) == 1
    got = s.eval(ctx, var0=mx.nd.array([[1.0, 1.0], [5.0, 6.0]], ctx=ctx))[0].asnumpy()
    np.testing.assert_array_equal(got, [[10.0, 12.0]])


def test_get_symbol_errors_name_the_problem():
    with pytest.raises(MXNetError, match="not computed by recorded ops"):
        autograd.get_symbol(mx.nd.ones((2,)))
    net = mx.gluon.nn.Dense(2)
    net.initialize()
    net.hybridize()
    x = mx.nd.ones((1, 3))
    x.attach_grad()
    with autograd.record():
        out = net(x)
    with pytest.raises(NotImplementedError, match=r"'dense\d+', which is no registry op"):
        autograd.get_symbol(out)


def test_fresh_grad_flag_as_mxnet():
    x = mx.nd.ones((2, 2))
    dx = mx.nd.zeros_like(x)
    autograd.mark_variables([x], [dx])
    assert x._fresh_grad is False
    with autograd.record():
        y = x + 2
    y.backward()
    assert x._fresh_grad is True
    x._fresh_grad = False
    assert x._fresh_grad is False
    assert mx.nd.ones((1,))._fresh_grad is False  # not a variable
    with pytest.raises(MXNetError, match="not a variable"):
        mx.nd.ones((1,))._fresh_grad = True


def test_star_import_gives_what_mxnets_does():
    ns: dict = {}
    exec("from mxplug.autograd import *", ns)
    for name in ("record", "backward", "grad", "get_symbol", "mark_variables", "Function",
                 "NDArray", "Symbol"):
        assert name in ns
