"""MXNet 1.x's classic layers (LRN, UpSampling, L2Normalization, Crop, SVMOutput, ROIPooling,
GridGenerator, BilinearSampler, SpatialTransformer, CTCLoss, the legacy row ops): MXNet's
documented examples, their Symbol argument lists, and the gradients that are not plain
derivatives. The generic suites (test_ops, test_grad_ops, test_graph_backward) check every sample
against tests/references/classic.py."""

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError

from .references.classic import _ctc, _lrn, svm_output_grad


def _nd(x, ctx=None):
    return mx.nd.array(np.asarray(x, dtype=np.float32), ctx=ctx)


def test_documented_row_ops(ctx):
    x = _nd([[1, 2], [3, 4], [5, 6]], ctx)
    np.testing.assert_array_equal(mx.nd.batch_take(x, _nd([0, 1, 0], ctx)).asnumpy(), [1, 4, 5])
    np.testing.assert_array_equal(
        mx.nd.argmax_channel(_nd([[0, 1, 2], [3, 4, 5]], ctx)).asnumpy(), [2, 2])
    np.testing.assert_array_equal(
        mx.nd.choose_element_0index(x, _nd([1, 0, 1], ctx)).asnumpy(), [2, 3, 6])
    np.testing.assert_array_equal(
        mx.nd.fill_element_0index(x, _nd([9, 8, 7], ctx), _nd([1, 0, 1], ctx)).asnumpy(),
        [[1, 9], [8, 4], [5, 7]])
    kr = mx.nd.khatri_rao(_nd([[1, -1], [2, -3]], ctx), _nd([[1, 4], [2, 5], [3, 6]], ctx))
    np.testing.assert_array_equal(kr.asnumpy(),
                                  [[1, -4], [2, -5], [3, -6], [2, -12], [4, -15], [6, -18]])


def test_batch_take_clips_out_of_range_indices():
    a = np.arange(6.0).reshape(3, 2)
    got = mx.nd.batch_take(_nd(a), _nd([-3, 5, 1])).asnumpy()
    np.testing.assert_array_equal(got, [0, 3, 5])


def test_lrn_alexnet_values(ctx):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (2, 6, 3, 3)).astype(np.float32)
    attrs = dict(alpha=1e-2, beta=0.75, knorm=2.0, nsize=5)
    got = mx.nd.LRN(_nd(x, ctx), **attrs).asnumpy()
    np.testing.assert_allclose(got, _lrn(x, **attrs), rtol=1e-5)
    # the first channel's window holds channels 0..2 only (zero padding past the edge)
    norm = 2.0 + 1e-2 / 5 * (x[:, :3] ** 2).sum(axis=1)
    np.testing.assert_allclose(got[:, 0], x[:, 0] / norm ** 0.75, rtol=1e-5)


def test_upsampling_nearest_documented(ctx):
    x = _nd([[[[1, 2], [3, 4]]]], ctx)
    got = mx.nd.UpSampling(x, scale=2, sample_type="nearest").asnumpy()
    np.testing.assert_array_equal(got[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
                                              [3, 3, 4, 4]])
    small = _nd([[[[5]]]], ctx)
    both = mx.nd.UpSampling(x, small, scale=2, num_args=2, multi_input_mode="sum").asnumpy()
    np.testing.assert_array_equal(both, got + 5)
    cat = mx.nd.UpSampling(x, small, scale=2, num_args=2).asnumpy()
    assert cat.shape == (1, 2, 4, 4) and np.all(cat[0, 1] == 5)


def test_upsampling_bilinear_symbol_and_initializer():
    """mx.sym makes the weight argument with its shape; Bilinear-initialised, the layer keeps a
    constant image constant away from the border and interpolates a ramp linearly."""
    data = mx.sym.var("data")
    sym = mx.sym.UpSampling(data, scale=2, sample_type="bilinear", num_filter=3, name="up")
    assert sym.list_arguments() == ["data", "up_weight"]
    arg_shapes, out_shapes, _ = sym.infer_shape(data=(1, 3, 4, 4))
    assert arg_shapes[1] == (3, 1, 4, 4) and out_shapes[0] == (1, 3, 8, 8)
    w = mx.nd.zeros((3, 1, 4, 4))
    mx.init.Bilinear()._init_weight("up_weight", w)
    ones = mx.nd.UpSampling(mx.nd.ones((1, 3, 4, 4)), w, scale=2, sample_type="bilinear",
                            num_filter=3).asnumpy()
    np.testing.assert_allclose(ones[:, :, 1:-1, 1:-1], 1.0, rtol=1e-6)
    ramp = np.tile(np.arange(4.0, dtype=np.float32), (1, 3, 4, 1))
    up = mx.nd.UpSampling(_nd(ramp), w, scale=2, sample_type="bilinear",
                          num_filter=3).asnumpy()[0, 0, 3]
    np.testing.assert_allclose(np.diff(up[1:-1]), 0.5, rtol=1e-6)


def test_upsampling_errors_name_the_op():
    with pytest.raises(MXNetError, match="UpSampling.*divide"):
        mx.nd.UpSampling(mx.nd.ones((1, 1, 2, 2)), mx.nd.ones((1, 1, 3, 3)), scale=2, num_args=2)
    with pytest.raises(MXNetError, match="UpSampling.*weight.shape"):
        mx.nd.UpSampling(mx.nd.ones((1, 2, 2, 2)), mx.nd.ones((2, 1, 3, 3)), scale=2,
                         sample_type="bilinear", num_filter=2)


@pytest.mark.parametrize("mode,axes", [("instance", (1, 2, 3)), ("channel", (1,)),
                                       ("spatial", (2, 3))])
def test_l2_normalization_modes(ctx, mode, axes):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3, 2, 2)).astype(np.float32)
    got = mx.nd.L2Normalization(_nd(x, ctx), mode=mode).asnumpy()
    np.testing.assert_allclose(np.sqrt((got ** 2).sum(axis=axes)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(got, x / np.sqrt((x ** 2).sum(axis=axes, keepdims=True) + 1e-10),
                               rtol=1e-5)


def test_crop_by_size_offset_centre_and_like():
    x = np.arange(2 * 1 * 5 * 6, dtype=np.float32).reshape(2, 1, 5, 6)
    got = mx.nd.Crop(_nd(x), h_w=(2, 3), offset=(1, 2)).asnumpy()
    np.testing.assert_array_equal(got, x[:, :, 1:3, 2:5])
    centre = mx.nd.Crop(_nd(x), h_w=(3, 2), center_crop=True).asnumpy()
    np.testing.assert_array_equal(centre, x[:, :, 1:4, 2:4])
    like = mx.nd.Crop(_nd(x), mx.nd.zeros((2, 4, 2, 2)), num_args=2).asnumpy()
    np.testing.assert_array_equal(like, x[:, :, :2, :2])
    sym = mx.sym.Crop(mx.sym.var("data"), mx.sym.var("like"), num_args=2, center_crop=True)
    assert sym.infer_shape(data=(2, 1, 5, 6), like=(1, 1, 3, 4))[1] == [(2, 1, 3, 4)]
    with pytest.raises(MXNetError, match="Crop.*window"):
        mx.nd.Crop(_nd(x), h_w=(4, 4), offset=(2, 0))


@pytest.mark.parametrize("attrs", [dict(), dict(use_linear=True),
                                   dict(margin=0.5, regularization_coefficient=2.0)])
def test_svm_output_gradient_ignores_head_gradient(ctx, attrs):
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (5, 4)).astype(np.float32)
    label = np.array([0, 3, 1, 1, 2], np.float32)
    xs = _nd(x, ctx)
    xs.attach_grad()
    with autograd.record():
        out = mx.nd.SVMOutput(xs, _nd(label, ctx), **attrs)
    out.backward(mx.nd.array(np.full(out.shape, 7.0), ctx=ctx))
    np.testing.assert_array_equal(out.asnumpy(), x)
    np.testing.assert_allclose(xs.grad.asnumpy(), svm_output_grad(x, label, **attrs),
                               rtol=1e-5, atol=1e-6)


def test_svm_output_trains_through_executor():
    """Symbol: the label variable comes from the data's shape and backward() needs no head
    gradient, as with SoftmaxOutput."""
    sym = mx.sym.SVMOutput(mx.sym.var("data"), name="svm")
    assert sym.list_arguments() == ["data", "svm_label"]
    x = np.random.default_rng(3).uniform(-2, 2, (3, 4)).astype(np.float32)
    label = np.array([1, 0, 3], np.float32)
    exe = sym.simple_bind(mx.cpu(), data=x.shape)
    exe.arg_dict["data"][:] = x
    exe.arg_dict["svm_label"][:] = label
    exe.forward(is_train=True)
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), svm_output_grad(x, label),
                               rtol=1e-5)


def test_batchnorm_output_names():
    bn = mx.sym.BatchNorm(mx.sym.var("data"), output_mean_var=True, name="bn")
    assert bn.list_outputs() == ["bn_output", "bn_mean", "bn_var"]
    assert mx.sym.BatchNorm(mx.sym.var("data"), name="bn").list_outputs() == ["bn_output"]


def test_roi_pooling_documented(ctx):
    x = mx.nd.array(np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6), ctx=ctx)
    rois = _nd([[0, 0, 0, 4, 4]], ctx)
    got = mx.nd.ROIPooling(x, rois, pooled_size=(2, 2), spatial_scale=1.0).asnumpy()
    np.testing.assert_array_equal(got, [[[[14, 16], [26, 28]]]])
    got = mx.nd.ROIPooling(x, rois, pooled_size=(2, 2), spatial_scale=0.7).asnumpy()
    np.testing.assert_array_equal(got, [[[[7, 9], [19, 21]]]])


@pytest.mark.parametrize("ties", [False, True])
def test_roi_pooling_gradient_goes_to_each_bin_maximum(ctx, ties):
    """To the first maximum of each bin (row-major) where several tie, as MXNet's argmax."""
    rng = np.random.default_rng(4)
    x = (np.ones(36) if ties else rng.permutation(36)).astype(np.float32).reshape(1, 1, 6, 6)
    xs = _nd(x, ctx)
    xs.attach_grad()
    with autograd.record():
        out = mx.nd.ROIPooling(xs, _nd([[0, 0, 0, 5, 5]], ctx), pooled_size=(2, 3))
    out.backward()
    want = np.zeros_like(x)
    for i in range(2):
        for j in range(3):
            win = x[0, 0, 3 * i:3 * i + 3, 2 * j:2 * j + 2]
            r, c = np.unravel_index(np.argmax(win), win.shape)
            want[0, 0, 3 * i + r, 2 * j + c] = 1
    np.testing.assert_array_equal(xs.grad.asnumpy(), want)


def test_identity_transform_reproduces_the_image(ctx):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (2, 3, 4, 5)).astype(np.float32)
    loc = np.tile(np.array([1, 0, 0, 0, 1, 0], np.float32), (2, 1))
    grid = mx.nd.GridGenerator(_nd(loc, ctx), transform_type="affine", target_shape=(4, 5))
    np.testing.assert_allclose(grid.asnumpy()[0, 0, 0], np.linspace(-1, 1, 5), atol=1e-6)
    np.testing.assert_allclose(grid.asnumpy()[0, 1, :, 0], np.linspace(-1, 1, 4), atol=1e-6)
    out = mx.nd.BilinearSampler(_nd(x, ctx), grid).asnumpy()
    np.testing.assert_allclose(out, x, atol=1e-5)
    st = mx.nd.SpatialTransformer(_nd(x, ctx), _nd(loc, ctx), target_shape=(4, 5),
                                  transform_type="affine", sampler_type="bilinear")
    np.testing.assert_allclose(st.asnumpy(), x, atol=1e-5)
    # a zero flow warps to the identity grid too
    warp = mx.nd.GridGenerator(mx.nd.zeros((2, 2, 4, 5), ctx=ctx), transform_type="warp")
    np.testing.assert_allclose(warp.asnumpy(), grid.asnumpy(), atol=1e-6)


def test_bilinear_sampler_float16_reads_the_right_pixels_of_a_large_image():
    """Rows of the flattened image past 2**11 are not exact in float16: the gather indices are
    int32 (a 64x64 float16 image read pixels up to 6 levels off)."""
    h = w = 64
    x = (np.arange(h * w, dtype=np.float32) % 7).reshape(1, 1, h, w)
    ys, xs = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    grid = np.stack([xs, ys])[None].astype(np.float16)  # the same (rounded) grid for both
    want = mx.nd.BilinearSampler(mx.nd.array(x), mx.nd.array(grid, dtype="float32")).asnumpy()
    got = mx.nd.BilinearSampler(mx.nd.array(x, dtype="float16"),
                                mx.nd.array(grid, dtype="float16")).asnumpy()
    # float16 coordinate arithmetic moves the weights a little (values 0-6: up to ~0.4); a
    # wrong row reads another pixel (up to 6 off)
    np.testing.assert_allclose(got.astype(np.float32), want, atol=0.5)


def test_bilinear_sampler_shift_and_outside_zero():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    # half a pixel right (x step of 2/(W-1) per pixel): the mean of neighbours, 0 past the edge
    grid = mx.nd.GridGenerator(_nd([[1, 0, 1.0 / 3, 0, 1, 0]]), transform_type="affine",
                               target_shape=(3, 4))
    out = mx.nd.BilinearSampler(_nd(x), grid).asnumpy()[0, 0]
    np.testing.assert_allclose(out[:, :3], (x[0, 0, :, :3] + x[0, 0, :, 1:]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[:, 3], x[0, 0, :, 3] / 2, rtol=1e-6)


def test_ctc_loss_counts_paths(ctx):
    """Uniform scores over C classes: the loss is -log(#paths / C**T) of each label."""
    data = mx.nd.zeros((3, 2, 4), ctx=ctx)
    got = mx.nd.ctc_loss(data, _nd([[1, 2], [1, 0]], ctx)).asnumpy()
    np.testing.assert_allclose(got, -np.log(np.array([5, 6]) / 64.0), rtol=1e-5)
    last = mx.nd.CTCLoss(data, _nd([[0, 1], [0, -1]], ctx), blank_label="last").asnumpy()
    np.testing.assert_allclose(last, got, rtol=1e-5)


def test_ctc_loss_lengths_and_symbol_arguments():
    rng = np.random.default_rng(6)
    x = rng.uniform(-2, 2, (5, 2, 3)).astype(np.float32)
    label = np.array([[1, 2, 2], [2, 1, 1]], np.float32)
    ll, dl = np.array([2, 1], np.float32), np.array([5, 3], np.float32)
    got = mx.nd.CTCLoss(_nd(x), _nd(label), label_lengths=_nd(ll),
                        use_label_lengths=True).asnumpy()
    np.testing.assert_allclose(got, _ctc(x, label, label_lengths=ll, use_label_lengths=True),
                               rtol=1e-5)
    got = mx.nd.CTCLoss(_nd(x), _nd(label), _nd(dl), _nd(ll), use_data_lengths=True,
                        use_label_lengths=True).asnumpy()
    np.testing.assert_allclose(got, _ctc(x, label, dl, ll, True, True), rtol=1e-5)
    sym = mx.sym.CTCLoss(mx.sym.var("data"), mx.sym.var("label"), use_data_lengths=True,
                         name="ctc")
    assert sym.list_arguments() == ["data", "label", "ctc_data_lengths"]


def test_ctc_loss_gradient_matches_gluon_loss():
    """The op (TNC, blank last) and Gluon's CTCLoss (NTC) are the same loss: same gradient."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, (4, 2, 3))
    label = np.array([[0, 1], [1, -1]])
    grads = []
    for fn in (lambda d: mx.nd.CTCLoss(d, mx.nd.array(label), blank_label="last"),
               lambda d: mx.gluon.loss.CTCLoss(layout="TNC")(d, mx.nd.array(label))):
        xs = mx.nd.array(x, dtype="float64")
        xs.attach_grad()
        with autograd.record():
            loss = fn(xs)
        loss.backward()
        grads.append((loss.asnumpy(), xs.grad.asnumpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-10)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-8, atol=1e-12)


def test_classic_layers_hybridize():
    """A HybridBlock of the classic layers gives the same values traced as eager."""

    class Net(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x, rois):
            y = F.LRN(x, nsize=3)
            y = F.UpSampling(y, scale=2, sample_type="nearest")
            y = F.L2Normalization(y, mode="channel")
            return F.ROIPooling(y, rois, pooled_size=(2, 2), spatial_scale=0.5)

    rng = np.random.default_rng(8)
    x, rois = _nd(rng.random((2, 3, 4, 4))), _nd([[0, 0, 0, 6, 6], [1, 2, 2, 5, 7]])
    net = Net()
    eager = net(x, rois).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x, rois).asnumpy(), eager, rtol=1e-6)
    np.testing.assert_allclose(net(x, rois).asnumpy(), eager, rtol=1e-6)


def test_ctc_loss_ignores_frames_past_the_data_lengths_even_nan():
    x = np.random.default_rng(0).random((6, 2, 4)).astype(np.float32)
    clean = mx.nd.CTCLoss(mx.nd.array(x), mx.nd.array([[1, 2], [1, 0]]), mx.nd.array([4, 6]),
                          use_data_lengths=True).asnumpy()
    x[4:, 0] = np.nan
    got = mx.nd.CTCLoss(mx.nd.array(x), mx.nd.array([[1, 2], [1, 0]]), mx.nd.array([4, 6]),
                        use_data_lengths=True).asnumpy()
    np.testing.assert_allclose(got, clean, rtol=1e-6)
