"""MXNet-specific semantics, error paths and edge cases of the nn/conv ops."""
import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.ops import REGISTRY, apply, state

E = mx.base.MXNetValueError


def run(name, *xs, **attrs):
    op = REGISTRY[name]
    return apply(op, *(mx.nd.array(x, dtype=x.dtype) for x in xs), **op.parse_attrs(attrs))


def rand(*shape):
    return np.random.default_rng(0).uniform(-1, 1, shape)


# -- Convolution / Deconvolution / Pooling --------------------------------------------------------
@pytest.mark.parametrize("attrs", [
    dict(kernel=(3, 3), num_filter=4, num_group=2, stride=(2, 1), pad=(1, 2), dilate=(1, 2)),
    dict(kernel=(3,), num_filter=4, stride=(2,), pad=(1,)),
    dict(kernel=(2, 2, 2), num_filter=2, pad=(1, 0, 0)),
])
def test_conv_numpy_kernel_matches_generic_body(attrs):
    op = REGISTRY["Convolution"]
    nsp = len(attrs["kernel"])
    x = rand(2, 4, *(5,) * nsp)
    w = rand(attrs["num_filter"], 4 // attrs.get("num_group", 1), *attrs["kernel"])
    b = rand(attrs["num_filter"])
    a = op.parse_attrs(attrs)
    fast = run("Convolution", x, w, b, **attrs).asnumpy()      # NumPy's im2col kernel
    slow = op.generic(np, x, w, b, **a)
    assert fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_conv_errors_name_op_and_shapes():
    with pytest.raises(E, match=r"Convolution: Expect: weight.shape == \(4, 3, 3, 3\).*"
                                r"\(4, 2, 3, 3\)"):
        run("Convolution", rand(1, 3, 5, 5), rand(4, 2, 3, 3), rand(4), kernel=(3, 3), num_filter=4)
    with pytest.raises(E, match=r"Convolution: Expect: data of ndim 4.*\(1, 3, 5\)"):
        run("Convolution", rand(1, 3, 5), rand(4, 3, 3, 3), rand(4), kernel=(3, 3), num_filter=4)
    with pytest.raises(E, match="Convolution.*a bias input"):
        run("Convolution", rand(1, 3, 5, 5), rand(4, 3, 3, 3), kernel=(3, 3), num_filter=4)
    with pytest.raises(E, match="Convolution.*num_group"):
        run("Convolution", rand(1, 3, 5, 5), rand(4, 1, 3, 3), kernel=(3, 3), num_filter=4,
            num_group=2, no_bias=True)
    with pytest.raises(E, match="Convolution.*fits.*output size"):
        run("Convolution", rand(1, 1, 2, 2), rand(1, 1, 3, 3), kernel=(3, 3), num_filter=1,
            no_bias=True)


def test_deconv_is_convolution_transpose():
    # <conv(x), y> == <x, deconv(y)> with the same weight: the defining adjoint identity
    x, w, y = rand(2, 3, 5, 5), rand(4, 3, 3, 3), rand(2, 4, 3, 3)
    cx = run("Convolution", x, w, kernel=(3, 3), num_filter=4, stride=(2, 2), pad=(1, 1),
             no_bias=True).asnumpy()
    dy = run("Deconvolution", y, w, kernel=(3, 3), num_filter=3, stride=(2, 2),
             pad=(1, 1)).asnumpy()
    assert dy.shape == x.shape
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x * dy))


def test_deconv_defaults_and_target_shape():
    assert REGISTRY["Deconvolution"].defaults["no_bias"] is True
    out = run("Deconvolution", rand(1, 2, 4, 4), rand(2, 3, 3, 3), kernel=(3, 3), num_filter=3,
              stride=(2, 2), target_shape=(8, 8))
    assert out.shape == (1, 3, 8, 8)
    with pytest.raises(E, match=r"Deconvolution: Expect: weight.shape == \(2, 3, 3, 3\)"):
        run("Deconvolution", rand(1, 2, 4, 4), rand(3, 2, 3, 3), kernel=(3, 3), num_filter=3)


def test_pooling_defaults_and_conventions():
    x = rand(1, 1, 5, 5)
    assert run("Pooling", x, kernel=(2, 2)).shape == (1, 1, 4, 4)          # stride defaults to 1
    assert run("Pooling", x, kernel=(2, 2), stride=(2, 2)).shape == (1, 1, 2, 2)
    assert run("Pooling", x, kernel=(2, 2), stride=(2, 2),
               pooling_convention="full").shape == (1, 1, 3, 3)
    g = run("Pooling", x, global_pool=True, pool_type="avg")
    assert g.shape == (1, 1, 1, 1) and g.asnumpy().item() == pytest.approx(x.mean())


def test_avg_pool_count_include_pad():
    x = np.ones((1, 1, 3, 3))
    inc = run("Pooling", x, kernel=(3, 3), pad=(1, 1), pool_type="avg").asnumpy()
    exc = run("Pooling", x, kernel=(3, 3), pad=(1, 1), pool_type="avg",
              count_include_pad=False).asnumpy()
    assert inc[0, 0, 0, 0] == pytest.approx(4 / 9) and np.all(exc == 1)


def test_max_pool_ignores_padding():
    x = -np.ones((1, 1, 2, 2))
    assert np.all(run("Pooling", x, kernel=(3, 3), pad=(1, 1)).asnumpy() == -1)


def test_pooling_errors():
    with pytest.raises(E, match=r"Pooling: Expect: kernel \(6, 6\) <= padded input"):
        run("Pooling", rand(1, 1, 5, 5), kernel=(6, 6))
    with pytest.raises(E, match="Pooling.*p_value > 0"):
        run("Pooling", rand(1, 1, 5, 5), kernel=(2, 2), pool_type="lp")
    with pytest.raises(E, match="Pooling.*pool_type"):
        REGISTRY["Pooling"].parse_attrs({"pool_type": "median"})


# -- FullyConnected, norms, Embedding -------------------------------------------------------------
def test_fully_connected_flatten_and_errors():
    x, w = rand(2, 3, 4), rand(5, 12)
    assert run("FullyConnected", x, w, num_hidden=5, no_bias=True).shape == (2, 5)
    assert run("FullyConnected", x, rand(5, 4), num_hidden=5, no_bias=True,
               flatten=False).shape == (2, 3, 5)
    with pytest.raises(E, match=r"FullyConnected: Expect: weight.shape.*\(5, 12\).*\(5, 4\)"):
        run("FullyConnected", x, rand(5, 4), rand(5), num_hidden=5)
    with pytest.raises(E, match=r"FullyConnected: Expect: bias.shape == \(5,\)"):
        run("FullyConnected", x, w, rand(4), num_hidden=5)


def test_batchnorm_training_uses_batch_stats():
    x = rand(4, 3, 2)
    ones, zeros = np.ones(3), np.zeros(3)
    args = (x, ones, zeros, zeros + 5, ones * 9)
    prev = state.training
    state.training = True
    try:
        y, mean, var = run("BatchNorm", *args, output_mean_var=True)
        yg = run("BatchNorm", *args, use_global_stats=True).asnumpy()
    finally:
        state.training = prev
    np.testing.assert_allclose(mean.asnumpy(), x.mean(axis=(0, 2)))
    # the third output is the inverse std, as MXNet's (its doc: "Output the mean and inverse std")
    np.testing.assert_allclose(var.asnumpy(), 1 / np.sqrt(x.var(axis=(0, 2)) + 1e-3))
    np.testing.assert_allclose(y.asnumpy().mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(yg, (x - 5) / np.sqrt(9 + 1e-3))
    # inference mode (the default) uses the moving statistics
    np.testing.assert_allclose(run("BatchNorm", *args).asnumpy(), yg)


def test_batchnorm_fix_gamma_ignores_gamma():
    x, c = rand(2, 3), np.zeros(3)
    a = run("BatchNorm", x, np.full(3, 7.0), c, c, np.ones(3)).asnumpy()
    b = run("BatchNorm", x, np.ones(3), c, c, np.ones(3)).asnumpy()
    np.testing.assert_array_equal(a, b)


def test_norm_param_shape_errors():
    with pytest.raises(E, match=r"BatchNorm: Expect: moving_var.shape == \(data.shape\[1\],\)"):
        run("BatchNorm", rand(2, 3), np.ones(3), np.ones(3), np.ones(3), np.ones(4))
    with pytest.raises(E, match=r"LayerNorm: Expect: gamma.shape.*\(4,\).*\(3,\)"):
        run("LayerNorm", rand(2, 4), np.ones(3), np.ones(4))
    with pytest.raises(E, match="GroupNorm.*divisible by num_groups"):
        run("GroupNorm", rand(2, 5, 3), np.ones(2), np.ones(2), num_groups=2)
    with pytest.raises(E, match="InstanceNorm.*ndim >= 3"):
        run("InstanceNorm", rand(2, 3), np.ones(3), np.ones(3))


def test_embedding_clips_indices_and_checks_weight():
    w = rand(4, 2)
    out = run("Embedding", np.array([[-3.0, 9.0]]), w, input_dim=4, output_dim=2).asnumpy()
    np.testing.assert_array_equal(out[0], w[[0, 3]])
    with pytest.raises(E, match=r"Embedding: Expect: weight.shape == .*\(5, 2\).*\(4, 2\)"):
        run("Embedding", np.array([1.0]), w, input_dim=5, output_dim=2)


# -- activations and softmax ----------------------------------------------------------------------
def test_activation_reuses_elementwise_ops_and_rejects_unknown():
    x = rand(3, 4)
    np.testing.assert_allclose(run("Activation", x, act_type="relu").asnumpy(), np.maximum(x, 0))
    with pytest.raises(E, match="Activation.*act_type='gelu'"):
        REGISTRY["Activation"].parse_attrs({"act_type": "gelu"})


def test_prelu_needs_gamma_of_channel_length():
    with pytest.raises(E, match="LeakyReLU: Expect: a gamma input"):
        run("LeakyReLU", rand(2, 3), act_type="prelu")
    with pytest.raises(E, match=r"LeakyReLU: Expect: gamma.shape.*\(3,\).*\(2,\)"):
        run("LeakyReLU", rand(2, 3), np.ones(2), act_type="prelu")


def test_softmax_use_length_zeroes_tail_and_is_stable():
    x = np.array([[1.0, 2.0, 1000.0], [1e4, 1e4, -1e4]])
    out = run("softmax", x, np.array([2.0, 3.0]), use_length=True).asnumpy()
    assert out[0, 2] == 0 and out[0, :2].sum() == pytest.approx(1)
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0])
    with pytest.raises(E, match="softmax: Expect: a length input"):
        run("softmax", x, use_length=True)


def test_softmax_dtype_and_temperature():
    x = rand(2, 3).astype(np.float32)
    out = run("softmax", x, dtype="float64", temperature=2.0)
    assert out.dtype == np.float64
    e = np.exp(x.astype(np.float64) / 2)
    np.testing.assert_allclose(out.asnumpy(), e / e.sum(-1, keepdims=True), rtol=1e-6)


@pytest.mark.parametrize("name,extra", [("softmax", ()), ("log_softmax", ()), ("softmin", ()),
                                        ("SoftmaxActivation", ()),
                                        ("SoftmaxOutput", (np.zeros(2),))])
def test_softmax_family_wants_floats_as_mxnet(name, extra):
    # MXNet: "This operation only support floating point types, not int32" (softmin used to
    # give float64 here, softmax a NumPy casting error)
    with pytest.raises(E, match=rf"{name}: Expect: a floating-point data / Actual: "
                                r"data.dtype=int32"):
        run(name, np.array([[1, 2], [3, 4]], np.int32), *extra)
    with pytest.raises(E, match=r"softmax: Expect: a floating-point dtype"):
        run("softmax", rand(2, 2), dtype="int32")


def test_softmax_cross_entropy_total_loss_and_label_error():
    x = np.zeros((2, 4))
    out = run("softmax_cross_entropy", x, np.array([1.0, 3.0]))
    assert out.shape == (1,) and out.asnumpy()[0] == pytest.approx(2 * np.log(4))
    with pytest.raises(E, match=r"softmax_cross_entropy: Expect: label.shape == \(batch,\)"):
        run("softmax_cross_entropy", x, np.array([1.0]))


def test_softmax_output_forward_and_alias():
    x = rand(2, 3, 2)
    out = run("SoftmaxOutput", x, np.array([0.0, 1.0])).asnumpy()
    np.testing.assert_allclose(out.reshape(2, -1).sum(-1), 1)
    assert REGISTRY["Softmax"] is REGISTRY["SoftmaxOutput"]
    with pytest.raises(E, match="SoftmaxOutput.*label"):
        run("SoftmaxOutput", x, np.array([0.0, 1.0, 2.0]))


def test_smooth_l1_knee():
    x = np.array([-2.0, -0.5, 0.0, 0.2, 3.0])
    np.testing.assert_allclose(run("smooth_l1", x).asnumpy(), [1.5, 0.125, 0, 0.02, 2.5])
    np.testing.assert_allclose(run("smooth_l1", x, scalar=2.0).asnumpy()[[0, 3]], [1.875, 0.08])


def test_frontends_exist():
    for name in ("Convolution", "Deconvolution", "Pooling", "FullyConnected", "BatchNorm",
                 "LayerNorm", "softmax", "log_softmax", "LeakyReLU", "SoftmaxOutput"):
        assert callable(getattr(mx.nd, name))
    y = mx.nd.FullyConnected(mx.nd.ones((2, 3)), mx.nd.ones((4, 3)), num_hidden=4, no_bias=True)
    assert y.shape == (2, 4) and float(y.asnumpy()[0, 0]) == 3.0


# -- gradients (values are checked against finite differences in test_grad_ops) -----------------
def _grads(name, *xs, train=True, **attrs):
    op = REGISTRY[name]
    args = [mx.nd.array(x, dtype=x.dtype) for x in xs]
    for a in args:
        a.attach_grad()
    with mx.autograd.record(train_mode=train):
        out = apply(op, *args, **op.parse_attrs(attrs))
    out = out[0] if isinstance(out, tuple) else out
    out.backward(mx.nd.array(rand(*out.shape)))
    return [a.grad.asnumpy() for a in args]


def test_conv_weight_grad_numpy_kernel_matches_generic_body():
    op = REGISTRY["_backward_Convolution_weight"]
    attrs = op.parse_attrs(dict(kernel=(3, 2), num_filter=4, num_group=2, stride=(2, 1),
                                pad=(1, 0), dilate=(1, 2)))
    x, g = rand(2, 4, 6, 5), rand(2, 4, 3, 3)
    generic = op.generic(np, x, g, **attrs)
    np.testing.assert_allclose(run("_backward_Convolution_weight", x, g, **attrs).asnumpy(),
                               generic, rtol=1e-12)


def test_batchnorm_gradient_follows_the_forward_mode():
    x, c = rand(4, 3, 2), np.ones(3)
    args = (x, c, np.zeros(3), np.zeros(3), np.ones(3))
    gx_train, ggamma, _, gmm, gmv = _grads("BatchNorm", *args, fix_gamma=True)
    assert abs(gx_train.sum(axis=(0, 2))).max() < 1e-6        # batch statistics: sums cancel
    assert not ggamma.any() and not gmm.any() and not gmv.any()   # fix_gamma; stats unused
    gx_pred, *_, gmm, gmv = _grads("BatchNorm", *args, train=False, fix_gamma=True)
    assert abs(gx_train - gx_pred).max() > 1e-3 and gmm.any()     # moving statistics used


def test_embedding_gradient_accumulates_repeated_rows():
    w = rand(4, 2)
    _, gw = _grads("Embedding", np.array([1, 1, 3, 9]), w, input_dim=4, output_dim=2)
    assert not gw[0].any() and not gw[2].any() and gw[1].any() and gw[3].any()


def test_max_pool_gradient_goes_to_first_maximum():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    (gx,) = _grads("Pooling", x, kernel=(2, 2), pool_type="max")
    assert gx.reshape(-1).tolist()[1:] == [0.0, 0.0, 0.0] and gx.reshape(-1)[0] != 0


def test_fully_connected_treats_1d_data_as_rows_of_one_feature_as_mxnet():
    x = mx.nd.arange(5)
    out = mx.nd.FullyConnected(x, mx.nd.ones((4, 1)), mx.nd.zeros(4), num_hidden=4)
    np.testing.assert_array_equal(out.asnumpy(), np.repeat(np.arange(5.0)[:, None], 4, axis=1))
    s = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, name="fc")
    assert s.infer_shape(x=(5,)) == ([(5,), (4, 1), (4,)], [(5, 4)], [])


def test_prelu_gamma_may_cover_the_leading_dims_of_data_as_mxnet():
    x = mx.nd.array([[-1.0, 2.0], [3.0, -4.0]])
    g = mx.nd.array([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_allclose(mx.nd.LeakyReLU(x, g, act_type="prelu").asnumpy(),
                               [[-0.1, 2.0], [3.0, -1.6]], rtol=1e-6)
    x4 = -mx.nd.ones((2, 2, 3, 3))
    out = mx.nd.LeakyReLU(x4, g, act_type="prelu").asnumpy()  # gamma (N, C) over (N, C, H, W)
    np.testing.assert_allclose(out[1, 1], np.full((3, 3), -0.4), rtol=1e-6)
    with pytest.raises(MXNetError, match="prefix of data.shape"):
        mx.nd.LeakyReLU(x4, mx.nd.ones((3, 3)), act_type="prelu")
