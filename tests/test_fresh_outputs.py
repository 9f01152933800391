"""Results own their memory, as MXNet's do: only ``reshape`` and basic indexing hand out views
of their input, so writing into any other op's result never changes the input. NumPy and
PyOpenCL kernels return views for transposes, squeezes and identities; those ops copy."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.ops import REGISTRY, apply

#: MXNet documents these as sharing memory with their input
_SHARING = {"reshape", "getitem"}


def _eager_samples():
    rng = np.random.default_rng(0)
    seen = set()
    for op in REGISTRY.values():
        if id(op) in seen or op.name in _SHARING:
            continue
        seen.add(id(op))
        for fn in op.sample_fns:
            yield op, fn(rng)


def test_no_op_result_shares_memory_with_its_inputs():
    checked, sharing = 0, []
    for op, sample in _eager_samples():
        args = [mx.nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a
                for a in sample.inputs]
        try:
            res = apply(op, *args, **sample.attrs)
        except Exception:  # samples that need a training scope or attrs filled by front ends
            continue
        for out in res if isinstance(res, (tuple, list)) else (res,):
            checked += 1
            if any(isinstance(a, mx.nd.NDArray) and np.shares_memory(out._data, a._data)
                   for a in args):
                sharing.append(op.name)
    assert checked > 400
    assert sharing == []


@pytest.mark.parametrize("make", [
    lambda a: a.squeeze(), lambda a: a.expand_dims(0), lambda a: a.flatten(),
    lambda a: mx.nd.Flatten(a), lambda a: a.T, lambda a: a.transpose((1, 0, 2)),
    lambda a: mx.nd.stop_gradient(a), lambda a: mx.nd.BlockGrad(a),
    lambda a: a.reshape_like(mx.nd.zeros((3, 2), ctx=a.context)),
    lambda a: mx.nd.space_to_depth(a.reshape((1, 1, 2, 3)), block_size=1),
], ids=["squeeze", "expand_dims", "flatten", "Flatten", "T", "transpose", "stop_gradient",
        "BlockGrad", "reshape_like", "space_to_depth"])
def test_writing_a_result_leaves_the_input_alone(ctx, make):
    a = mx.nd.array(np.arange(6).reshape(2, 3, 1), ctx=ctx)
    b = make(a)
    b[:] = 99
    np.testing.assert_array_equal(a.asnumpy().ravel(), np.arange(6))


def test_reshape_and_basic_indexing_share_memory_as_in_mxnet(ctx):
    a = mx.nd.zeros((2, 3), ctx=ctx)
    a.reshape((3, 2))[:] = 1
    a[1][:] = 2
    np.testing.assert_array_equal(a.asnumpy(), [[1, 1, 1], [2, 2, 2]])


def test_squeeze_inplace_is_a_view_and_accepted_by_symbols(ctx):
    a = mx.nd.ones((2, 3, 1), ctx=ctx)
    view = a.squeeze(inplace=True)
    assert view.shape == (2, 3)
    view[0, 0] = 5
    assert a[0, 0, 0].asscalar() == 5
    copy = a.squeeze(axis=2)
    copy[0, 0] = 7
    assert a[0, 0, 0].asscalar() == 5
    assert mx.sym.var("x").squeeze(inplace=True).infer_shape(x=(2, 1, 3))[1] == [(2, 3)]


def test_batchnorm_mean_var_outputs_are_copies_of_the_moving_statistics():
    x = mx.nd.ones((2, 3))
    gamma, beta = mx.nd.ones((3,)), mx.nd.zeros((3,))
    mean, var = mx.nd.zeros((3,)), mx.nd.ones((3,))
    out = mx.nd.BatchNorm(x, gamma, beta, mean, var, axis=-1, output_mean_var=True,
                          use_global_stats=True)
    out[1][:] = 5
    out[2][:] = 5
    np.testing.assert_array_equal(mean.asnumpy(), 0)
    np.testing.assert_array_equal(var.asnumpy(), 1)



@pytest.mark.parametrize("make", [lambda x: mx.sym.reshape(x, shape=(-1,)),
                                  lambda x: mx.sym.Group([x, x * 2])],
                         ids=["reshape", "variable"])
def test_executor_outputs_never_alias_its_arguments(ctx, make):
    e = make(mx.sym.var("x")).simple_bind(ctx, x=(2, 2), grad_req="null")
    e.forward(x=mx.nd.ones((2, 2), ctx=ctx))
    e.arg_dict["x"][:] = 5
    assert e.outputs[0].asnumpy().ravel().tolist() == [1.0] * 4


def test_hybridized_block_output_never_aliases_its_input(ctx):
    class Flat(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return x.reshape((-1,))

    net = Flat()
    net.hybridize()
    a = mx.nd.ones((2, 2), ctx=ctx)
    out = net(a)
    a[:] = 5
    assert out.asnumpy().tolist() == [1.0] * 4
