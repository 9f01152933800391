"""Single-process model parallelism: node groups placed on different contexts with ``group2ctx``
(copies inserted between them), forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.backends import registry


def _contexts():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    be = registry.load("opencl")
    if not isinstance(be, str) and be.available() is None:
        ctxs[1] = mx.opencl(0)
    return ctxs


def test_groups_run_on_their_contexts_with_gradients():
    first, second = _contexts()
    with mx.AttrScope(ctx_group="stage1"):
        a = mx.sym.var("a")
        h = mx.sym.exp(a)
    with mx.AttrScope(ctx_group="stage2"):
        out = mx.sym.sum(h * 2)
    assert h.attr("ctx_group") == "stage1"
    x = np.array([1.0, 2.0], np.float32)
    ex = out.bind(mx.cpu(), {"a": mx.nd.array(x)}, args_grad={"a": mx.nd.zeros(2)},
                  group2ctx={"stage1": first, "stage2": second})
    (y,) = ex.forward(is_train=True)
    assert y.context == second
    np.testing.assert_allclose(y.asnumpy(), [2 * np.exp(x).sum()], rtol=1e-6)
    ex.backward()
    assert ex.grad_dict["a"].context == mx.cpu()
    np.testing.assert_allclose(ex.grad_dict["a"].asnumpy(), 2 * np.exp(x), rtol=1e-6)


def test_unknown_group_runs_on_the_bind_context():
    with mx.AttrScope(ctx_group="nowhere"):
        a = mx.sym.var("a")
        out = a * 3
    ex = out.bind(mx.cpu(), {"a": mx.nd.ones((2,))}, group2ctx={"elsewhere": _contexts()[1]})
    (y,) = ex.forward()
    assert y.context == mx.cpu()
    np.testing.assert_array_equal(y.asnumpy(), [3.0, 3.0])


@pytest.mark.parametrize("level", ["0", "2"])
def test_graph_passes_keep_results(monkeypatch, level):
    """The bind-time passes (MXPLUG_GRAPH_OPT) never change what a graph computes."""
    monkeypatch.setenv("MXPLUG_GRAPH_OPT", level)
    a, b = mx.sym.var("a"), mx.sym.var("b")
    out = mx.sym.tanh(a * b + 1) * mx.sym.exp(a) - (a * b + 1)
    xa, xb = np.linspace(-1, 1, 6).astype(np.float32), np.linspace(0, 2, 6).astype(np.float32)
    ex = out.bind(mx.cpu(), {"a": mx.nd.array(xa), "b": mx.nd.array(xb)})
    (y,) = ex.forward()
    np.testing.assert_allclose(y.asnumpy(), np.tanh(xa * xb + 1) * np.exp(xa) - (xa * xb + 1),
                               rtol=1e-5, atol=1e-6)


def test_simple_bind_places_arrays_and_expanded_layers_on_their_groups():
    first, second = _contexts()
    with mx.AttrScope(ctx_group="g1"):
        x = mx.sym.var("x")
        y = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    with mx.AttrScope(ctx_group="g2"):
        z = mx.sym.BatchNorm(y, name="bn")  # a composite: expanded in training mode
    ex = z.simple_bind(mx.cpu(), group2ctx={"g1": first, "g2": second}, x=(3, 4))
    # MXNet 1.9.1: each variable on its group's context, gradients beside it
    assert [a.context for a in ex.arg_arrays] == [first] * 3 + [second] * 2
    assert [g.context for g in ex.grad_arrays] == [first] * 3 + [second] * 2
    assert [a.context for a in ex.aux_arrays] == [second] * 2
    ex.arg_dict["x"][:] = np.arange(12, dtype=np.float32).reshape(3, 4)
    ex.arg_dict["fc_weight"][:] = 0.1
    ex.arg_dict["bn_gamma"][:] = 1
    for is_train in (False, True):
        assert ex.forward(is_train=is_train)[0].context == second
    ex.backward(mx.nd.ones((3, 2), ctx=second))
    assert ex.grad_dict["fc_weight"].context == first
    assert np.isfinite(ex.grad_dict["fc_weight"].asnumpy()).all()
