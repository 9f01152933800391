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


def _adam_states(shape=(2, 2)):
    return mx.nd.ones(shape), mx.nd.ones(shape), mx.nd.zeros(shape), mx.nd.zeros(shape)


def test_adamw_update_takes_a_number_or_an_array_as_rescale_grad():
    # MXNet 1.9.1: one step from w = g = 1, zero moments, lr 0.1, eta 1 gives 0.68377024
    for scale in (1.0, mx.nd.array([1.0])):
        w, g, m, v = _adam_states()
        mx.nd.contrib.adamw_update(w, g, m, v, scale, out=w, lr=0.1, eta=1.0)
        np.testing.assert_allclose(w.asnumpy(), 0.68377024, rtol=1e-5)
    w, g, m, v = _adam_states()
    mx.nd.contrib.adamw_update(w, g, m, v, float("nan"), out=w, lr=0.1, eta=1.0)
    assert (w.asnumpy() == 1).all() and (m.asnumpy() == 0).all()  # a NaN scale skips the step
    sym = mx.sym.contrib.adamw_update(*(mx.sym.var(n) for n in "wgmv"), 0.5, lr=0.1, eta=1.0)
    assert sym.list_arguments() == ["w", "g"]  # the number became a constant node


def test_multi_tensor_adamw_and_lamb_match_one_tensor_at_a_time():
    rng = np.random.RandomState(0)
    shapes = [(3, 4), (5,)]

    def states():
        return [[mx.nd.array(rng.uniform(lo, hi, s)) for lo, hi in
                 ((-1, 1), (-2, 2), (-0.5, 0.8), (0.1, 0.8))] for s in shapes]

    def copies(groups):
        return [[a.copy() for a in g] for g in groups]

    # AdamW: one call over both tensors = adamw_update per tensor, states updated alike
    multi = states()
    single = copies(multi)
    outs = mx.nd.contrib.multi_adamw_update(*[[g[k] for g in multi] for k in range(4)], 0.5,
                                            lrs=(0.1, 0.05), wds=(0.01, 0.0), etas=(1.0, 0.5))
    for (w, g, m, v), lr, wd, eta, out in zip(single, (0.1, 0.05), (0.01, 0.0), (1.0, 0.5),
                                              outs):
        want = mx.nd.contrib.adamw_update(w, g, m, v, 0.5, lr=lr, eta=eta, wd=wd)
        np.testing.assert_allclose(out.asnumpy(), want.asnumpy(), rtol=1e-6)
    for a, b in zip(multi, single):
        np.testing.assert_allclose(a[2].asnumpy(), b[2].asnumpy(), rtol=1e-6)
    # LAMB: phase 1, the norms, phase 2 per tensor; out= writes the weights in place
    multi = states()
    single = copies(multi)
    weights = [g[0] for g in multi]
    mx.nd.contrib.multi_lamb_update(*[[g[k] for g in multi] for k in range(4)],
                                    step_count=(3, 5), lrs=(0.1, 0.05), wds=(0.01, 0.0),
                                    out=weights, upper_bound=2.0)
    for (w, g, m, v), t, lr, wd, got in zip(single, (3, 5), (0.1, 0.05), (0.01, 0.0), weights):
        d = mx.nd.lamb_update_phase1(w, g, m, v, t=t, wd=wd)
        want = mx.nd.lamb_update_phase2(w, d, w.norm(), d.norm(), lr=lr, upper_bound=2.0)
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5)


def test_multi_tensor_updates_name_a_wrong_count():
    w, g, m, v = _adam_states()
    with pytest.raises(mx.MXNetError, match=r"_multi_adamw_update.*len\(lrs\)"):
        mx.nd.contrib.multi_adamw_update([w], [g], [m], [v], 1.0, lrs=(0.1, 0.2), wds=(0,),
                                         etas=(1,))
    with pytest.raises(mx.MXNetError, match=r"_multi_lamb_update.*every array of a tensor"):
        mx.nd.contrib.multi_lamb_update([w], [mx.nd.ones((3,))], [m], [v], step_count=(1,),
                                        lrs=(0.1,), wds=(0.0,))
    with pytest.raises(mx.MXNetError, match=r"multi_sgd_update.*len\(lrs\)"):
        mx.nd.multi_sgd_update(w, g, w, g, lrs=(0.1,), wds=(0.0,), num_weights=2)
    with pytest.raises(mx.MXNetError, match=r"sgd_update.*grad.shape == weight.shape"):
        mx.nd.sgd_update(w, mx.nd.ones((1,)), lr=0.1)  # not broadcast, as MXNet refuses it


def test_mxnet_module_level_names_libraries_check():
    # GluonCV checks 1.4 <= mxnet.__version__ < 2.0 and imports these from mxnet.base
    assert mx.__version__ == "1.9.1" and mx.__mxplug_version__
    assert isinstance(np.float32(1), mx.base.numeric_types) and isinstance(3, mx.base.numeric_types)
    assert mx.base.string_types == (str,)


def test_contrib_sync_batch_norm_is_batch_norm_on_one_device():
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.uniform(-1, 1, (4, 3, 2, 2)))
    stats = [mx.nd.ones(3), mx.nd.zeros(3), mx.nd.zeros(3), mx.nd.ones(3)]
    got = mx.nd.contrib.SyncBatchNorm(x, *stats, key="bn0")
    want = mx.nd.BatchNorm(x, *stats, eps=1e-3)  # MXNet's default eps for SyncBatchNorm
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6)
    sym = mx.sym.contrib.SyncBatchNorm(mx.sym.var("x"), key="bn0", name="bn0")
    assert sym.list_auxiliary_states() == ["bn0_moving_mean", "bn0_moving_var"]
    with pytest.raises(mx.MXNetError, match="ndev=2 is not supported"):
        mx.nd.contrib.SyncBatchNorm(x, *stats, ndev=2, key="bn0")
