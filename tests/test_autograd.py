"""MXNet 1.x ``mx.autograd`` semantics, as MXNet's documentation describes them, on every backend.

Reference values are written by hand in NumPy (float64 where derivatives are compared), never
computed by mxplug itself.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError

from .autograd_helpers import ATOL, RTOL, arr, close, var  # noqa: F401


# -- record / pause / train_mode / predict_mode ---------------------------------------------------
def test_default_state_is_predict_and_not_recording(ctx):
    assert autograd.is_recording() is False
    assert autograd.is_training() is False


def test_record_pause_nesting_and_restoring(ctx):
    with autograd.record():
        assert autograd.is_recording() and autograd.is_training()
        with autograd.pause():
            assert not autograd.is_recording() and not autograd.is_training()
            with autograd.record(train_mode=False):
                assert autograd.is_recording() and not autograd.is_training()
            assert not autograd.is_recording() and not autograd.is_training()
        assert autograd.is_recording() and autograd.is_training()
        with autograd.pause(train_mode=True):
            assert not autograd.is_recording() and autograd.is_training()
        with autograd.predict_mode():
            assert autograd.is_recording() and not autograd.is_training()
            with autograd.train_mode():
                assert autograd.is_recording() and autograd.is_training()
            assert not autograd.is_training()
        assert autograd.is_recording() and autograd.is_training()
    assert not autograd.is_recording() and not autograd.is_training()


def test_train_and_predict_mode_do_not_change_recording(ctx):
    with autograd.train_mode():
        assert autograd.is_training() and not autograd.is_recording()
        with autograd.predict_mode():
            assert not autograd.is_training() and not autograd.is_recording()
        assert autograd.is_training()
    assert not autograd.is_training()
    with autograd.record(train_mode=False):
        assert autograd.is_recording() and not autograd.is_training()
        with autograd.train_mode():
            assert autograd.is_recording() and autograd.is_training()
    assert not autograd.is_recording() and not autograd.is_training()


def test_scopes_restore_state_after_an_exception(ctx):
    with pytest.raises(RuntimeError):
        with autograd.record():
            with autograd.pause():
                raise RuntimeError("boom")
    assert not autograd.is_recording() and not autograd.is_training()


def test_set_recording_and_set_training_return_previous_state(ctx):
    try:
        assert autograd.set_recording(True) is False
        assert autograd.is_recording()
        assert autograd.set_recording(False) is True
        assert not autograd.is_recording()
        assert autograd.set_training(True) is False
        assert autograd.is_training()
        assert autograd.set_training(False) is True
        assert not autograd.is_training()
    finally:
        autograd.set_recording(False)
        autograd.set_training(False)


def test_recording_state_is_thread_local(ctx):
    x = var([1.0, 2.0])
    seen = {}

    def worker():
        with ctx:
            seen["recording"] = autograd.is_recording()
            seen["training"] = autograd.is_training()
            y = x * x  # not recorded in this thread
            try:
                y.backward()
                seen["backward"] = "ok"
            except MXNetError:
                seen["backward"] = "raised"

    with autograd.record():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert autograd.is_recording()  # the worker did not change this thread's state
    assert seen == {"recording": False, "training": False, "backward": "raised"}


def test_thread_recording_does_not_leak_into_main_thread(ctx):
    inside = threading.Event()
    leave = threading.Event()
    seen = {}

    def worker():
        with autograd.record():
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    seen["recording"], seen["training"] = autograd.is_recording(), autograd.is_training()
    leave.set()
    t.join()
    assert seen == {"recording": False, "training": False}


def test_pause_inside_record_stops_gradient(ctx):
    x = var([1.0, 2.0, 3.0])
    with autograd.record():
        y = x * 2
        with autograd.pause():
            z = x * x  # a constant as far as autograd is concerned
        w = y * z
    w.backward()
    close(x.grad, 2 * np.array([1.0, 2.0, 3.0]) ** 2)


def test_ops_outside_record_are_not_recorded(ctx):
    x = var([1.0, 2.0])
    y = x * 3
    with pytest.raises(MXNetError):
        y.backward()
    close(x.grad, [0, 0])


# -- attach_grad and grad_req ---------------------------------------------------------------------
def test_doc_example_x_squared_plus_one(ctx):
    x = arr([1, 2, 3, 4], dtype="float32")
    x.attach_grad()
    with autograd.record():
        y = x * x + 1
    y.backward()
    close(x.grad, [2, 4, 6, 8])
    assert x.grad.dtype == np.float32
    assert x.grad.shape == x.shape


def test_grad_is_none_without_attach_grad_and_zeros_after(ctx):
    x = arr([[1.0, 2.0], [3.0, 4.0]])
    assert x.grad is None
    x.attach_grad()
    assert x.grad.shape == (2, 2)
    close(x.grad, np.zeros((2, 2)))


def test_grad_buffer_is_written_in_place(ctx):
    x = var([1.0, 2.0])
    g = x.grad
    with autograd.record():
        y = x * 5
    y.backward()
    close(g, [5, 5])  # the buffer obtained before backward sees the gradient
    assert x.grad is g or np.array_equal(x.grad.asnumpy(), g.asnumpy())


def test_grad_req_write_overwrites(ctx):
    x = var([1.0, 2.0, 3.0])
    for k in (2.0, 3.0):
        with autograd.record():
            y = x * k
        y.backward()
        close(x.grad, [k, k, k])


def test_grad_req_add_accumulates_across_backward_calls(ctx):
    x = var([1.0, 2.0, 3.0], grad_req="add")
    with autograd.record():
        y = x * x
    y.backward()
    close(x.grad, 2 * np.array([1.0, 2.0, 3.0]))
    with autograd.record():
        y = x * 3
    y.backward()
    close(x.grad, 2 * np.array([1.0, 2.0, 3.0]) + 3)


def test_grad_req_null_gets_no_gradient(ctx):
    x = var([1.0, 2.0], grad_req="null")
    w = var([3.0, 4.0])
    with autograd.record():
        y = x * w
    y.backward()
    close(x.grad, [0, 0])
    close(w.grad, [1, 2])


def test_attach_grad_rejects_unknown_grad_req(ctx):
    x = arr([1.0])
    with pytest.raises(MXNetError):
        x.attach_grad(grad_req="sometimes")


def test_detach_cuts_the_graph(ctx):
    xv = np.array([1.0, 2.0, 3.0])
    x = var(xv)
    with autograd.record():
        y = x * x
        z = y.detach() * x  # d/dx = y (constant), not 3x^2
    z.backward()
    close(x.grad, xv ** 2)
    close(y.detach(), xv ** 2)  # same values


def test_detached_array_alone_cannot_be_differentiated(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = (x * 2).detach() + 1
    with pytest.raises(MXNetError):
        y.backward()
    close(x.grad, [0, 0])


def test_mark_variables(ctx):
    x, w = arr([1.0, 2.0]), arr([3.0, 4.0])
    gx, gw = arr([0.0, 0.0]), arr([10.0, 10.0])
    autograd.mark_variables([x, w], [gx, gw], grad_reqs=["write", "add"])
    with autograd.record():
        y = x * w
    y.backward()
    close(gx, [3, 4])
    close(gw, [11, 12])
    close(x.grad, [3, 4])


def test_mark_variables_length_mismatch_raises(ctx):
    with pytest.raises(MXNetError):
        autograd.mark_variables([arr([1.0]), arr([2.0])], [arr([0.0])])


# -- backward --------------------------------------------------------------------------------------
def test_backward_of_non_scalar_uses_ones_head_gradient(ctx, rng):
    xv = rng.uniform(-1, 1, (2, 3))
    x = var(xv)
    with autograd.record():
        y = x * x * x
    y.backward()
    close(x.grad, 3 * xv ** 2)


def test_backward_with_out_grad(ctx, rng):
    xv, hv = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))
    x = var(xv)
    with autograd.record():
        y = x * x
    y.backward(out_grad=arr(hv))
    close(x.grad, 2 * xv * hv)


def test_backward_twice_without_retain_graph_raises(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
    y.backward()
    with pytest.raises(MXNetError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward(ctx):
    xv = np.array([1.0, 2.0])
    x = var(xv)
    with autograd.record():
        y = x * x
    y.backward(retain_graph=True)
    close(x.grad, 2 * xv)
    y.backward()
    close(x.grad, 2 * xv)  # 'write' overwrites


def test_retain_graph_with_grad_req_add_accumulates(ctx):
    xv = np.array([1.0, 2.0])
    x = var(xv, grad_req="add")
    with autograd.record():
        y = x * x
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, 3 * 2 * xv)


def test_autograd_backward_several_heads_and_head_grads(ctx, rng):
    xv = rng.uniform(-1, 1, (3,))
    h1, h2 = rng.uniform(-1, 1, (3,)), rng.uniform(-1, 1, (3,))
    x = var(xv)
    with autograd.record():
        y1 = x * 2
        y2 = x * x
    autograd.backward([y1, y2], [arr(h1), arr(h2)])
    close(x.grad, 2 * h1 + 2 * xv * h2)


def test_autograd_backward_several_heads_default_head_grads(ctx, rng):
    xv = rng.uniform(-1, 1, (3,))
    x = var(xv)
    with autograd.record():
        y1 = x * 2
        y2 = (x * x).sum()
    autograd.backward([y1, y2])
    close(x.grad, 2 + 2 * xv)


def test_head_gradient_of_wrong_shape_raises(ctx):
    x = var([1.0, 2.0, 3.0])
    with autograd.record():
        y = x * x
    with pytest.raises(MXNetError, match="shape"):
        y.backward(out_grad=arr([1.0, 1.0]))
    with pytest.raises(MXNetError):
        autograd.backward([y], [arr([[1.0, 1.0, 1.0]])])


def test_head_grads_count_mismatch_raises(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y1, y2 = x * 2, x * 3
    with pytest.raises(MXNetError):
        autograd.backward([y1, y2], [arr([1.0, 1.0])])


def test_backward_on_unrecorded_array_raises_clearly(ctx):
    x = arr([1.0, 2.0])
    with pytest.raises(MXNetError, match="record"):
        x.backward()
    w = var([1.0, 2.0])
    with autograd.record():
        y = x * 2  # no input needs a gradient
    with pytest.raises(MXNetError, match="attach_grad|record"):
        y.backward()
    close(w.grad, [0, 0])


def test_backward_of_float32_into_float32_grad(ctx):
    x = var([0.5, 1.5], dtype="float32")
    with autograd.record():
        y = mx.nd.exp(x)
    y.backward()
    assert x.grad.dtype == np.float32
    close(x.grad, np.exp([0.5, 1.5]), rtol=1e-6)


# -- autograd.grad and higher order ---------------------------------------------------------------
def test_grad_returns_gradients_without_writing_dot_grad(ctx, rng):
    xv, wv = rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (4,))
    x, w = var(xv), var(wv)
    with autograd.record():
        y = x * x * w
    gx, gw = autograd.grad(y, [x, w])
    close(gx, 2 * xv * wv)
    close(gw, xv ** 2)
    close(x.grad, np.zeros(4))
    close(w.grad, np.zeros(4))


def test_grad_of_a_single_variable_is_a_list_as_in_mxnet(ctx):
    x = var([2.0, 3.0])
    with autograd.record():
        y = x * x
    g = autograd.grad(y, x)
    assert isinstance(g, list) and len(g) == 1  # so grad(y, x)[0] is x's whole gradient
    close(g[0], [4.0, 6.0])


def test_grad_with_head_grads(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
    (g,) = autograd.grad([y], [x], head_grads=[arr([3.0, -1.0])])
    close(g, [6.0, -4.0])


def test_grad_needs_attached_variables(ctx):
    x, z = var([1.0]), arr([2.0])
    with autograd.record():
        y = x * z
    with pytest.raises(MXNetError):
        autograd.grad(y, [z])


def test_doc_example_create_graph_exp(ctx):
    # The doc example: z = exp(x) + x; dz/dx = e + 1 at x = 1; d2z/dx2 = e.
    x = var([1.0])
    with autograd.record():
        z = mx.nd.exp(x) + x
        dx = autograd.grad(z, [x], create_graph=True)[0]
    close(dx, [np.e + 1])
    dx.backward()
    close(x.grad, [np.e])


def test_second_and_third_derivative_of_cube(ctx, rng):
    xv = rng.uniform(-2, 2, (5,))
    x = var(xv)
    with autograd.record():
        y = x ** 3
        d1 = autograd.grad(y, [x], create_graph=True)[0]
        d2 = autograd.grad(d1, [x], create_graph=True)[0]
        d3 = autograd.grad(d2, [x], create_graph=True)[0]
    close(d1, 3 * xv ** 2)
    close(d2, 6 * xv)
    close(d3, np.full(5, 6.0))
    d2.backward()
    close(x.grad, np.full(5, 6.0))


def test_second_derivative_of_sin_is_minus_sin(ctx, rng):
    xv = rng.uniform(-3, 3, (2, 3))
    x = var(xv)
    with autograd.record():
        y = mx.nd.sin(x)
        d1 = autograd.grad(y, [x], create_graph=True)[0]
    close(d1, np.cos(xv))
    d1.backward()
    close(x.grad, -np.sin(xv))


def test_create_graph_mixed_partials(ctx, rng):
    xv, wv = rng.uniform(0.5, 2, (3,)), rng.uniform(0.5, 2, (3,))
    x, w = var(xv), var(wv)
    with autograd.record():
        y = x * x * w  # dy/dx = 2xw ; d2y/dxdw = 2x
        gx = autograd.grad(y, [x], create_graph=True)[0]
    gx.backward()
    close(x.grad, 2 * wv)
    close(w.grad, 2 * xv)


def test_grad_without_create_graph_is_a_plain_array(ctx):
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
        g = autograd.grad(y, [x])[0]
    with pytest.raises(MXNetError):
        g.backward()


def _hvp_check_through(f, xv, v, want_grad, want_hvp):
    x = var(xv)
    with autograd.record():
        loss = f(x)
        g = autograd.grad(loss, [x], create_graph=True)[0]
        gv = (g * arr(v)).sum()
    close(g, want_grad, rtol=1e-6, atol=1e-9)
    gv.backward()
    close(x.grad, want_hvp, rtol=1e-6, atol=1e-9)


def test_second_order_through_dot(ctx, rng):
    # L = sum((x W)^3): g = 3 (xW)^2 W^T ; Hv = (6 (xW) * (vW)) W^T
    xv, wv, v = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 5)), rng.uniform(-1, 1, (3, 4))
    W = arr(wv)
    y = xv @ wv
    _hvp_check_through(lambda x: (mx.nd.dot(x, W) ** 3).sum(), xv, v,
                       3 * y ** 2 @ wv.T, (6 * y * (v @ wv)) @ wv.T)


def test_second_order_through_fully_connected(ctx, rng):
    # FC(x) = x W^T + b ; L = sum(FC^3)
    xv, wv, bv = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (5, 4)), rng.uniform(-1, 1, (5,))
    v = rng.uniform(-1, 1, (3, 4))
    W, b = arr(wv), arr(bv)
    y = xv @ wv.T + bv
    _hvp_check_through(
        lambda x: (mx.nd.FullyConnected(x, W, b, num_hidden=5) ** 3).sum(), xv, v,
        3 * y ** 2 @ wv, (6 * y * (v @ wv.T)) @ wv)


def _np_conv2d(x, w, b=None):
    """Cross-correlation, stride 1, no padding: x (N, C, H, W), w (F, C, kh, kw)."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def test_second_order_through_convolution(ctx, rng):
    # The convolution is linear in x: y = K x + b. L = sum(y^3) -> g = K^T (3 y^2),
    # Hv = K^T (6 y * K v). K is built column by column from the NumPy reference convolution.
    xshape = (1, 2, 4, 4)
    xv, wv, bv = rng.uniform(-1, 1, xshape), rng.uniform(-1, 1, (3, 2, 3, 3)), rng.uniform(-1, 1, 3)
    v = rng.uniform(-1, 1, xshape)
    eye = np.eye(xv.size)
    K = np.stack([_np_conv2d(e.reshape(xshape), wv).ravel() for e in eye], axis=1)
    y = K @ xv.ravel() + np.repeat(bv, 4)  # output (1, 3, 2, 2), channel-major
    np.testing.assert_allclose(y, _np_conv2d(xv, wv, bv).ravel())
    W, b = arr(wv), arr(bv)
    _hvp_check_through(
        lambda x: (mx.nd.Convolution(x, W, b, kernel=(3, 3), num_filter=3) ** 3).sum(), xv, v,
        (K.T @ (3 * y ** 2)).reshape(xshape), (K.T @ (6 * y * (K @ v.ravel()))).reshape(xshape))


def test_second_order_wrt_weight_through_dot(ctx, rng):
    # L = sum(tanh(x W)); dL/dW = x^T (1 - t^2); d/dW sum(dL/dW * V) = x^T (-2 t (1 - t^2) * (x V))
    xv, wv, V = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 2)), rng.uniform(-1, 1, (4, 2))
    x, W = arr(xv), var(wv)
    with autograd.record():
        g = autograd.grad(mx.nd.tanh(mx.nd.dot(x, W)).sum(), [W], create_graph=True)[0]
        gv = (g * arr(V)).sum()
    gv.backward()
    t = np.tanh(xv @ wv)
    close(g, xv.T @ (1 - t ** 2))
    close(W.grad, xv.T @ (-2 * t * (1 - t ** 2) * (xv @ V)))


def test_an_output_of_a_freed_graph_is_a_constant_in_the_next_recording():
    # truncated BPTT as the 1.x books write it: the state from the last batch enters the next
    # recording without detach(); MXNet treats it as a constant (its graph was freed)
    w = mx.nd.ones((2, 2))
    w.attach_grad()
    h = mx.nd.ones((1, 2))
    grads = []
    for _ in range(2):
        with autograd.record():
            h = mx.nd.tanh(mx.nd.dot(h, w))
            loss = h.sum()
        loss.backward()
        grads.append(w.grad.asnumpy().ravel().tolist())
    np.testing.assert_allclose(grads, [[0.07065082] * 4, [0.07821371] * 4], rtol=1e-6)
    # a second backward through the freed graph itself still says so
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
        z1, z2 = y.sum(), (y * 2).sum()
    z1.backward()
    with pytest.raises(mx.MXNetError, match="already freed"):
        z2.backward()
