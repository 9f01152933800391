"""MXNet 1.x's smaller ``mx.nd`` APIs: DLPack capsules (``to_dlpack_for_read/write``), the
legacy helpers ``moveaxis``/``concatenate``/``onehot_encode``, the straight-through estimators'
gradients, ``mx.callback.save_checkpoint`` — values as MXNet 1.9.1 gives them."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd


def test_dlpack_capsules_round_trip_and_share_memory():
    x = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    for export in (mx.nd.to_dlpack_for_read, mx.nd.to_dlpack_for_write,
                   lambda a: a.to_dlpack_for_read()):
        cap = export(x)
        assert type(cap).__name__ == "PyCapsule"
        y = mx.nd.from_dlpack(cap)
        assert y.context == mx.cpu() and y.asnumpy().tolist() == x.asnumpy().tolist()
    with pytest.raises(ValueError):  # a capsule is consumed once
        cap = mx.nd.to_dlpack_for_read(x)
        mx.nd.from_dlpack(cap)
        mx.nd.from_dlpack(cap)


def test_dlpack_capsules_reach_pytorch():
    torch = pytest.importorskip("torch", reason="the DLPack peer here is PyTorch")
    from torch.utils import dlpack

    x = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    t = dlpack.from_dlpack(mx.nd.to_dlpack_for_write(x))
    t[0, 0] = 7.0  # the same memory
    assert x.asnumpy()[0, 0] == 7.0
    y = mx.nd.from_dlpack(dlpack.to_dlpack(torch.arange(4.0)))
    assert y.asnumpy().tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("source,destination", [(0, 2), (-1, 0), ((0, 1), (2, 0)),
                                                ((3, 0), (1, 2))])
def test_moveaxis_as_numpy(source, destination):
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    got = mx.nd.moveaxis(mx.nd.array(x), source, destination).asnumpy()
    np.testing.assert_array_equal(got, np.moveaxis(x, source, destination))


def test_moveaxis_errors_name_the_axes():
    with pytest.raises(mx.base.MXNetValueError, match=r"moveaxis: .*source=5"):
        mx.nd.moveaxis(mx.nd.zeros((2, 3)), 5, 0)
    with pytest.raises(mx.base.MXNetValueError, match=r"as many distinct"):
        mx.nd.moveaxis(mx.nd.zeros((2, 3)), (0, 0), (1, 0))


def test_concatenate_and_onehot_encode_as_mxnet():
    a, b = mx.nd.array([[1, 2]]), mx.nd.array([[3, 4], [5, 6]])
    assert mx.nd.concatenate([a, b]).asnumpy().tolist() == [[1, 2], [3, 4], [5, 6]]
    assert mx.nd.concatenate([b, b], axis=1).shape == (2, 4)
    assert mx.nd.concatenate([a], always_copy=False) is a
    assert mx.nd.concatenate([a]) is not a
    out = mx.nd.zeros((3, 4))
    assert mx.nd.onehot_encode(mx.nd.array([1, 3, 0]), out) is out
    assert out.asnumpy().tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    with pytest.raises(mx.base.MXNetValueError, match=r"onehot_encode"):
        mx.nd.onehot_encode(mx.nd.array([1, 2]), out)


@pytest.mark.parametrize("fn,want", [(mx.nd.contrib.round_ste, [1.0, 3.0, -1.0]),
                                     (mx.nd.contrib.sign_ste, [1.0, 1.0, -1.0])])
def test_straight_through_estimators_pass_the_gradient(ctx, fn, want):
    x = mx.nd.array([1.4, 2.5, -0.6], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = fn(x) * 2
    y.backward()
    assert y.asnumpy().tolist() == [2 * v for v in want]
    assert x.grad.asnumpy().tolist() == [2.0, 2.0, 2.0]  # MXNet 1.9.1's: not the derivative


def test_callback_exports_save_checkpoint(tmp_path):
    net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    args = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros(2)}
    mx.callback.save_checkpoint(str(tmp_path / "m"), 3, net, args, {})
    sym, arg, aux = mx.model.load_checkpoint(str(tmp_path / "m"), 3)
    assert sym.list_arguments() == net.list_arguments() and sorted(arg) == sorted(args)
