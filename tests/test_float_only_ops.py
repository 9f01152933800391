"""The ops MXNet runs on floating-point data only (``mxplug/ops/float_only.py``) refuse integers
the way MXNet does, on every path a call can take: eager (kernel, generic body or composite),
recorded, and a bound graph's shape rule; float16/bfloat16 pass."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.ops import REGISTRY
from mxplug.ops.call import F
from mxplug.ops.float_only import FLOAT_ONLY


def _sample(op):
    s = op.sample_fns[0](np.random.default_rng(0))
    return s[0] if isinstance(s, list) else s


@pytest.mark.parametrize("name", sorted(FLOAT_ONLY))
def test_integer_inputs_are_refused_naming_op_and_input(ctx, name):
    op = REGISTRY[name]
    s = _sample(op)
    checked = [op.inputs.index(n) for n in FLOAT_ONLY[name]] or range(len(s.inputs))
    k = next(i for i in checked if i < len(s.inputs) and s.inputs[i] is not None)
    arrays = [None if a is None else mx.nd.array(np.asarray(a), ctx=ctx) for a in s.inputs]
    arrays[k] = arrays[k].astype("int32")
    input_name = op.inputs[k] if k < len(op.inputs) else f"input {k}"
    with pytest.raises(mx.base.MXNetValueError,
                       match=rf"^{name}: Expect: a floating-point {input_name} / Actual: "
                             rf"{input_name}.dtype=int32"):
        with autograd.record():
            getattr(F, name)(*[a for a in arrays if a is not None], **dict(s.attrs))


def test_out_calls_are_checked_too(ctx):
    """``out=`` takes the out-kernels (the Trainer's path), not the resolved callable."""
    w = mx.nd.array([[1, 2]], ctx=ctx, dtype="int32")
    with pytest.raises(mx.base.MXNetValueError, match=r"^sgd_update: Expect: a floating-point "
                                                      r"weight"):
        mx.nd.sgd_update(w, w, lr=0.5, out=w)
    with pytest.raises(mx.base.MXNetValueError, match=r"^multi_sgd_update: Expect: a "
                                                      r"floating-point"):
        mx.nd.multi_sgd_update(w, w, lrs=(0.5,), wds=(0.0,), num_weights=1, out=[w])
    assert w.asnumpy().tolist() == [[1, 2]]


def test_a_bound_graph_names_the_node():
    x = mx.sym.var("x")
    y = mx.sym.Pooling(mx.sym.Activation(x, act_type="relu"), kernel=(2, 2))
    with pytest.raises(mx.base.MXNetError, match=r"Activation: Expect: a floating-point data "
                                                 r"/ Actual: data.dtype=int32"):
        y.simple_bind(mx.cpu(), x=(1, 1, 4, 4), type_dict={"x": "int32"})


def test_low_precision_floats_pass():
    x = mx.nd.array([[-1.0, 2.0]], dtype="float16")
    assert mx.nd.Activation(x, act_type="relu").asnumpy().tolist() == [[0.0, 2.0]]
    pytest.importorskip("ml_dtypes", reason="bfloat16 comes from ml_dtypes (mxplug[amp])")
    w, g = mx.nd.ones((2,), dtype="bfloat16"), mx.nd.ones((2,), dtype="bfloat16")
    assert mx.nd.sgd_update(w, g, lr=0.5).asnumpy().tolist() == [0.5, 0.5]


def test_exact_integer_ops_keep_taking_integers():
    a = mx.nd.array([[1, 2], [3, 4]], dtype="int32")
    assert mx.nd.dot(a, a).asnumpy().tolist() == [[7, 10], [15, 22]]
    fc = mx.nd.FullyConnected(a, a, no_bias=True, num_hidden=2)
    assert fc.dtype == np.int32 and fc.asnumpy().tolist() == [[5, 11], [11, 25]]
