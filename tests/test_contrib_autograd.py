"""MXNet 1.x's deprecated ``mx.contrib.autograd``: train/test sections, ``grad_and_loss``,
``grad``, ``compute_gradient``. Expected values are derivatives worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.contrib import autograd as cag


def _f(a, b):
    return a * b + a


def test_grad_and_loss_returns_gradients_of_every_argument_and_the_loss(ctx):
    x, y = mx.nd.array([1.0, 2.0], ctx=ctx), mx.nd.array([3.0, 4.0], ctx=ctx)
    grads, loss = cag.grad_and_loss(_f)(x, y)
    np.testing.assert_allclose(grads[0].asnumpy(), [4.0, 5.0])  # d/da = b + 1
    np.testing.assert_allclose(grads[1].asnumpy(), [1.0, 2.0])  # d/db = a
    np.testing.assert_allclose(loss.asnumpy(), [4.0, 10.0])


def test_grad_with_argnum_differentiates_the_chosen_arguments(ctx):
    x, y = mx.nd.array([1.0, 2.0], ctx=ctx), mx.nd.array([3.0, 4.0], ctx=ctx)
    (gy,) = cag.grad(_f, argnum=1)(x, y)
    np.testing.assert_allclose(gy.asnumpy(), [1.0, 2.0])
    gx, gy = cag.grad(_f, argnum=[0, 1])(x, y)
    np.testing.assert_allclose(gx.asnumpy(), [4.0, 5.0])
    with pytest.raises(TypeError, match="must be NDArrays, got float"):
        cag.grad(_f, argnum=1)(x, 2.0)


def test_sections_switch_recording_and_training_together():
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()
    x = mx.nd.array([1.0, 2.0])
    dx = mx.nd.zeros_like(x)
    cag.mark_variables([x], [dx])
    with cag.train_section():
        assert mx.autograd.is_recording() and mx.autograd.is_training()
        z = x * x
        with cag.test_section():
            assert not mx.autograd.is_recording() and not mx.autograd.is_training()
        assert mx.autograd.is_recording()
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()
    cag.backward([z], [None])
    np.testing.assert_allclose(dx.asnumpy(), [2.0, 4.0])
    with pytest.raises(TypeError, match="list or tuple"):
        cag.backward(z)


def test_compute_gradient_is_backward_and_set_is_training_returns_the_previous_state():
    x = mx.nd.array([3.0])
    dx = mx.nd.zeros_like(x)
    cag.mark_variables([x], [dx])
    assert cag.set_is_training(True) is False
    try:
        y = x * 4
    finally:
        assert cag.set_is_training(False) is True
    cag.compute_gradient([y])
    np.testing.assert_allclose(dx.asnumpy(), [4.0])
    assert mx.contrib.autograd is cag
