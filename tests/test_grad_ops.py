"""Every differentiable op's VJP against central finite differences, in float64, on every backend.

The scalar checked is ``L = sum_k sum(out_k * w_k)`` with fixed random weights ``w_k``; its
gradient from autograd must match finite differences of ``L`` computed on the NumPy backend.
Second-order: the same check applied to ``sum(dL/dx * v)`` built with ``create_graph=True``.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.ops import REGISTRY, apply
from mxplug.testing.checks import numeric_grad

from .test_ops import OPS, as_tuple, make_sample

EPS = 1e-6
GRAD_CASES = [(op.name, i) for op in OPS if op.differentiable and not op.random
              for i in range(len(op.sample_fns))]
#: Ops whose second derivative is checked as well (where it matters, as the issue lists).
SECOND_ORDER = {"exp", "log", "sin", "tanh", "sigmoid", "sqrt", "square", "power", "multiply",
                "divide", "erf", "softrelu", "reciprocal", "arctan", "dot", "batch_dot", "matmul",
                "FullyConnected", "Convolution", "softmax", "log_softmax", "LayerNorm",
                "softmax_cross_entropy", "mean", "sum", "norm", "maximum", "hypot"}


def _float_positions(op, sample):
    """Inputs to differentiate: float arrays, except those the op declares gradient-free."""
    names = [op.inputs[0]] * len(sample.inputs) if op.variadic else op.inputs
    return [k for k, x in enumerate(sample.inputs)
            if isinstance(x, np.ndarray) and x.dtype.kind == "f"
            and names[k] not in op.nograd_inputs]


def _loss_fn(op, sample, weights):
    """NumPy-backend evaluation of L for given float64 inputs (finite differences)."""
    attrs = op.parse_attrs(sample.attrs)

    def loss(inputs):
        with mx.cpu(), autograd.train_mode():  # as recorded: record() means training mode
            args = [mx.nd.array(x, dtype=x.dtype) if isinstance(x, np.ndarray) else x
                    for x in inputs]
            outs = as_tuple(apply(op, *args, **attrs))
        return sum(float(np.sum(o.asnumpy().astype(np.float64) * w))
                   for o, w in zip(outs, weights) if w is not None)
    return loss


def _setup(op_name, index):
    op = REGISTRY[op_name]
    sample = make_sample(op, index)
    if not sample.grad:
        pytest.skip(f"{op_name} sample {index} is marked non-differentiable at its inputs")
    inputs = [x.astype(np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
              for x in sample.inputs]
    sample.inputs = inputs
    return op, sample, inputs, _float_positions(op, sample)


def _recorded(op, sample, inputs, positions, ctx):
    args = [mx.nd.array(x, ctx=ctx, dtype=x.dtype) if isinstance(x, np.ndarray) else x
            for x in inputs]
    for k in positions:
        args[k].attach_grad()
    attrs = op.parse_attrs(sample.attrs)
    with autograd.record():
        outs = as_tuple(apply(op, *args, **attrs))
    return args, outs


def _weights(outs, rng):
    return [rng.uniform(-1, 1, o.shape) if np.dtype(o.dtype).kind == "f" else None for o in outs]


@pytest.mark.parametrize("op_name,index", GRAD_CASES, ids=[f"{n}-{i}" for n, i in GRAD_CASES])
def test_vjp_matches_finite_differences(ctx, op_name, index):
    op, sample, inputs, positions = _setup(op_name, index)
    if not positions:
        pytest.skip(f"{op_name} sample {index} has no float inputs to differentiate")
    args, outs = _recorded(op, sample, inputs, positions, ctx)
    weights = _weights(outs, np.random.default_rng(index))
    heads = [o for o, w in zip(outs, weights) if w is not None]
    head_grads = [mx.nd.array(w, ctx=ctx, dtype=o.dtype) for o, w in zip(outs, weights)
                  if w is not None]
    grads = autograd.grad(heads, [args[k] for k in positions], head_grads=head_grads)
    loss = _loss_fn(op, sample, weights)
    for k, g in zip(positions, grads):
        expected = numeric_grad(loss, inputs, k, EPS)
        np.testing.assert_allclose(g.asnumpy(), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{op_name}: gradient of input {k}")


SECOND_CASES = [(n, i) for n, i in GRAD_CASES if n in SECOND_ORDER]


@pytest.mark.parametrize("op_name,index", SECOND_CASES, ids=[f"{n}-{i}" for n, i in SECOND_CASES])
def test_second_order_matches_finite_differences(ctx, op_name, index):
    op, sample, inputs, positions = _setup(op_name, index)
    if not positions:
        pytest.skip(f"{op_name} sample {index} has no float inputs to differentiate")
    k0 = positions[0]
    rng = np.random.default_rng(100 + index)
    weights = None
    v = None

    def first_grad_dot_v(x_values, ctx_, record_outer):
        """h = sum(dL/dx_k0 * v) as a recorded array (L with fixed weights)."""
        nonlocal weights, v
        trial = list(inputs)
        trial[k0] = x_values
        args, outs = _recorded(op, sample, trial, positions, ctx_)
        if weights is None:
            weights = _weights(outs, rng)
            v = rng.uniform(-1, 1, inputs[k0].shape)
        loss = None
        with autograd.record():
            for o, w in zip(outs, weights):
                if w is not None:
                    term = mx.nd.sum(o * mx.nd.array(w, ctx=ctx_, dtype=o.dtype))
                    loss = term if loss is None else loss + term
        with autograd.record():
            (g,) = autograd.grad([loss], [args[k0]], create_graph=True)
            h = mx.nd.sum(g * mx.nd.array(v, ctx=ctx_, dtype=g.dtype))
        return args, h

    args, h = first_grad_dot_v(inputs[k0], ctx, True)
    if getattr(h, "_ag", None) is None:  # dL/dx does not depend on x: the op is linear in it
        analytic = np.zeros(inputs[k0].shape)
    else:
        h.backward()
        analytic = args[k0].grad.asnumpy()

    def scalar_h(values):
        _, hv = first_grad_dot_v(values, mx.cpu(), False)
        return float(hv.asscalar())

    x = inputs[k0].copy()
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += EPS
        down[idx] -= EPS
        numeric[idx] = (scalar_h(up) - scalar_h(down)) / (2 * EPS)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-5,
                               err_msg=f"{op_name}: second derivative")
