"""MXNet 1.x's contrib ops (``mx.nd.contrib`` / ``mx.sym.contrib``): MXNet's documented examples,
values against direct NumPy computations written here, the gradients that are not plain
derivatives, shape errors, and the namespaces. The generic suites (test_ops, test_grad_ops,
test_graph_backward) run every sample on every backend against tests/references/contrib.py and
check every VJP by finite differences."""

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.base import MXNetError, MXNetValueError


def _nd(x, ctx=None, dtype=np.float32):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx, dtype=dtype)


# -- namespaces -----------------------------------------------------------------------------------
def test_contrib_names_are_the_registry_ops():
    assert mx.nd.contrib.box_nms.op.name == "_contrib_box_nms"
    assert mx.nd.contrib.box_non_maximum_suppression.op is mx.nd.contrib.box_nms.op
    assert mx.sym.contrib.ROIAlign.op.name == "_contrib_ROIAlign"
    assert mx.nd._internal._contrib_BilinearResize2D.op is mx.nd.contrib.BilinearResize2D.op
    assert mx.nd.contrib.CTCLoss.op.name == "CTCLoss"      # an existing op with a contrib alias
    assert not hasattr(mx.nd, "box_nms")                   # contrib-only, as in MXNet
    assert mx.contrib.nd is mx.nd.contrib and mx.contrib.ndarray is mx.nd.contrib
    assert mx.contrib.sym is mx.sym.contrib and mx.contrib.symbol is mx.sym.contrib
    for name in ("foreach", "while_loop", "cond", "boolean_mask"):
        assert callable(getattr(mx.nd.contrib, name)) and callable(getattr(mx.sym.contrib, name))


def test_symbolic_contrib_infers_shapes_and_names_nodes_as_mxnet():
    data, rois = mx.sym.var("data"), mx.sym.var("rois")
    y = mx.sym.contrib.ROIAlign(data, rois, pooled_size=(2, 3), spatial_scale=0.5)
    _, out, _ = y.infer_shape(data=(2, 8, 6, 6), rois=(5, 5))
    assert out == [(5, 8, 2, 3)] and y.name.startswith("roialign")  # MXNet 1.9.1: roialign0
    z = mx.sym.contrib.BilinearResize2D(data, scale_height=2.0, scale_width=0.5)
    assert z.infer_shape(data=(1, 3, 5, 8))[1] == [(1, 3, 10, 4)]
    m = mx.sym.contrib.bipartite_matching(mx.sym.var("s"), threshold=0.1)
    assert m.infer_shape(s=(2, 3, 4))[1] == [(2, 3), (2, 4)]


# -- BilinearResize2D -----------------------------------------------------------------------------
def _ramp(shape, a=0.7, b=-1.3, c=0.25):
    """data[n, ch, h, w] = a * h + b * w + c (+ ch): bilinear interpolation is exact on it."""
    n, ch, h, w = shape
    hh, ww = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.broadcast_to(a * hh + b * ww + c, shape) + np.arange(ch).reshape(1, -1, 1, 1)


@pytest.mark.parametrize("align_corners", [True, False])
def test_bilinear_resize_is_exact_on_a_linear_ramp(ctx, align_corners):
    x = _ramp((2, 3, 4, 5))
    got = mx.nd.contrib.BilinearResize2D(_nd(x, ctx), height=7, width=3,
                                         align_corners=align_corners).asnumpy()

    def source(n_in, n_out):
        d = np.arange(n_out)
        if align_corners:
            return d * (n_in - 1) / (n_out - 1)
        return np.clip((d + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)

    sh, sw = source(4, 7), source(5, 3)
    want = 0.7 * sh[:, None] - 1.3 * sw[None, :] + 0.25
    want = want[None, None] + np.arange(3).reshape(1, -1, 1, 1)
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-5, atol=1e-5)


def test_bilinear_resize_output_size_modes():
    x = _nd(np.random.default_rng(0).uniform(size=(1, 2, 5, 6)))
    r = mx.nd.contrib.BilinearResize2D
    assert r(x, height=3, width=9).shape == (1, 2, 3, 9)
    assert r(x, scale_height=0.5, scale_width=1.5).shape == (1, 2, 2, 9)   # int(5*.5), int(6*1.5)
    assert r(x, mode="odd_scale", scale_height=2.0, scale_width=2.0).shape == (1, 2, 9, 12)
    assert r(x, mode="to_even_down").shape == (1, 2, 4, 6)
    assert r(x, mode="to_even_up").shape == (1, 2, 6, 6)
    assert r(x, mode="to_odd_down").shape == (1, 2, 5, 5)
    assert r(x, mode="to_odd_up").shape == (1, 2, 5, 7)
    assert r(x, _nd(np.zeros((1, 1, 2, 3))), mode="like").shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(r(x, height=5, width=6).asnumpy(), x.asnumpy())  # same size


def test_bilinear_resize_gradient_sums_to_the_output_gradient():
    # each output pixel's weights sum to 1, so the data gradient of sum(out) totals oh * ow
    x = _nd(np.random.default_rng(1).uniform(size=(1, 1, 4, 5)))
    x.attach_grad()
    with autograd.record():
        y = mx.nd.contrib.BilinearResize2D(x, height=9, width=2, align_corners=False)
    y.backward()
    assert abs(float(x.grad.sum().asscalar()) - 18.0) < 1e-4
    assert (x.grad.asnumpy() >= 0).all()


def test_bilinear_resize_errors_name_the_op_and_shapes():
    with pytest.raises(MXNetValueError, match=r"_contrib_BilinearResize2D.*\(N, C, H, W\).*"
                                              r"\(2, 3, 4\)"):
        mx.nd.contrib.BilinearResize2D(_nd(np.zeros((2, 3, 4))), height=2, width=2)
    with pytest.raises(MXNetValueError, match="mode='like'"):
        mx.nd.contrib.BilinearResize2D(_nd(np.zeros((1, 1, 2, 2))), mode="like")
    with pytest.raises(MXNetValueError, match=">= 1"):
        mx.nd.contrib.BilinearResize2D(_nd(np.zeros((1, 1, 2, 2))), scale_height=0.1,
                                       scale_width=1.0)


# -- AdaptiveAvgPooling2D -------------------------------------------------------------------------
@pytest.mark.parametrize("output_size", [(3, 2), 4, ()])
def test_adaptive_avg_pooling_is_the_mean_of_each_window(ctx, output_size):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, 7, 5))
    got = mx.nd.contrib.AdaptiveAvgPooling2D(_nd(x, ctx, np.float64), output_size=output_size)
    size = {(3, 2): (3, 2), 4: (4, 4), (): (1, 1)}[output_size]
    assert got.shape == (2, 3) + size
    want = np.zeros((2, 3) + size)
    for i in range(size[0]):
        r0, r1 = (i * 7) // size[0], -(-(i + 1) * 7 // size[0])
        for j in range(size[1]):
            c0, c1 = (j * 5) // size[1], -(-(j + 1) * 5 // size[1])
            want[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-12, atol=1e-12)


def test_adaptive_avg_pooling_matches_global_pooling():
    x = _nd(np.random.default_rng(3).uniform(size=(2, 4, 6, 6)))
    np.testing.assert_allclose(mx.nd.contrib.AdaptiveAvgPooling2D(x, output_size=1).asnumpy(),
                               mx.nd.mean(x, axis=(2, 3), keepdims=True).asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetValueError, match="output_size"):
        mx.nd.contrib.AdaptiveAvgPooling2D(x, output_size=(1, 2, 3))


# -- ROIAlign -------------------------------------------------------------------------------------
def _sample(img, y, x):
    """Bilinear value of img (H, W) at (y, x) with MXNet's edge rules, written directly."""
    h, w = img.shape
    if y < -1 or y > h or x < -1 or x > w:
        return 0.0
    y, x = min(max(y, 0.0), h - 1), min(max(x, 0.0), w - 1)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    fy, fx = y - y0, x - x0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_against_direct_sampling(ctx, aligned):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (2, 3, 6, 7))
    rois = np.array([[1, 0.6, 1.1, 5.3, 4.2], [0, 2.0, 0.5, 3.5, 5.5], [-1, 0, 0, 3, 3]])
    ph, pw, ratio, scale = 2, 3, 2, 0.8
    got = mx.nd.contrib.ROIAlign(_nd(x, ctx, np.float64), _nd(rois, ctx, np.float64),
                                 pooled_size=(ph, pw), spatial_scale=scale, sample_ratio=ratio,
                                 aligned=aligned).asnumpy()
    want = np.zeros((3, 3, ph, pw))
    off = 0.5 if aligned else 0.0
    for r, (b, *box) in enumerate(rois):
        if b < 0:
            continue                     # a negative batch index gives zeros
        x1, y1, x2, y2 = (v * scale - off for v in box)
        bh, bw = (y2 - y1) / ph, (x2 - x1) / pw
        if not aligned:
            bh, bw = max(y2 - y1, 1) / ph, max(x2 - x1, 1) / pw
        for i in range(ph):
            for j in range(pw):
                ys = [y1 + i * bh + (k + 0.5) * bh / ratio for k in range(ratio)]
                xs = [x1 + j * bw + (k + 0.5) * bw / ratio for k in range(ratio)]
                for c in range(3):
                    want[r, c, i, j] = np.mean([_sample(x[int(b), c], yy, xx)
                                                for yy in ys for xx in xs])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_roi_align_position_sensitive_reads_one_channel_group_per_bin():
    x = np.random.default_rng(5).uniform(size=(1, 8, 5, 5))
    rois = _nd([[0, 0.5, 0.5, 4.0, 3.5]])
    ps = mx.nd.contrib.ROIAlign(_nd(x), rois, pooled_size=(2, 2), position_sensitive=True,
                                sample_ratio=2).asnumpy()
    full = mx.nd.contrib.ROIAlign(_nd(x), rois, pooled_size=(2, 2), sample_ratio=2).asnumpy()
    assert ps.shape == (1, 2, 2, 2)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                assert ps[0, c, i, j] == pytest.approx(full[0, c * 4 + i * 2 + j, i, j],
                                                       rel=1e-6)


def test_roi_align_gradient_lands_in_the_roi_image_only():
    x = _nd(np.random.default_rng(6).uniform(size=(3, 2, 6, 6)))
    rois = _nd([[2, 1, 1, 4, 4], [-1, 0, 0, 5, 5]])
    x.attach_grad()
    with autograd.record():
        y = mx.nd.contrib.ROIAlign(x, rois, pooled_size=(2, 2))
    y.backward()
    g = x.grad.asnumpy()
    assert np.abs(g[:2]).max() == 0 and g[2].sum() == pytest.approx(2 * 4, rel=1e-5)


def test_roi_align_shape_errors():
    x = _nd(np.zeros((1, 6, 4, 4)))
    with pytest.raises(MXNetValueError, match=r"_contrib_ROIAlign.*\(R, 5\).*\(2, 4\)"):
        mx.nd.contrib.ROIAlign(x, _nd(np.zeros((2, 4))), pooled_size=(2, 2))
    with pytest.raises(MXNetValueError, match="divisible by"):
        mx.nd.contrib.ROIAlign(x, _nd(np.zeros((1, 5))), pooled_size=(2, 2),
                               position_sensitive=True)
    with pytest.raises(MXNetValueError, match="x2 > x1"):
        mx.nd.contrib.ROIAlign(x, _nd([[0, 2, 2, 2, 3]]), pooled_size=(1, 1), aligned=True)


# -- boxes ----------------------------------------------------------------------------------------
_DOC_BOXES = [[0, 0.5, 0.1, 0.1, 0.2, 0.2], [1, 0.4, 0.1, 0.1, 0.2, 0.2],
              [0, 0.3, 0.1, 0.1, 0.14, 0.14], [2, 0.6, 0.5, 0.5, 0.7, 0.8]]


def test_box_nms_documented_example_and_its_gradient(ctx):
    x = _nd(_DOC_BOXES, ctx)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.contrib.box_nms(x, overlap_thresh=0.1, coord_start=2, score_index=1,
                                  id_index=0, force_suppress=True, in_format="corner",
                                  out_format="corner")
    np.testing.assert_allclose(y.asnumpy(), [[2, 0.6, 0.5, 0.5, 0.7, 0.8],
                                             [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                                             [-1] * 6, [-1] * 6], rtol=1e-6)
    y.backward(_nd(np.repeat([[0.1], [0.2], [0.3], [0.4]], 6, axis=1), ctx))
    np.testing.assert_allclose(x.grad.asnumpy(), [[0.2] * 6, [0] * 6, [0] * 6, [0.1] * 6],
                               rtol=1e-6)


def test_box_nms_known_survivors_per_class_topk_and_background():
    # boxes 0, 1, 2 overlap heavily; 3 and 5 overlap; 4 is apart
    boxes = np.array([[0, 0.9, 0, 0, 10, 10], [0, 0.8, 1, 1, 11, 11], [1, 0.7, 0, 1, 10, 11],
                      [1, 0.6, 20, 20, 30, 30], [2, 0.5, 50, 50, 60, 60],
                      [1, 0.4, 21, 21, 31, 31]])
    nms = mx.nd.contrib.box_nms

    def kept(**attrs):
        out = nms(_nd(boxes), **attrs).asnumpy()
        return [round(float(s), 4) for s in out[:, 1] if s >= 0], out

    assert kept(force_suppress=True)[0] == [0.9, 0.6, 0.5]
    assert kept(id_index=0)[0] == [0.9, 0.7, 0.6, 0.5]            # classes apart
    assert kept(id_index=0, background_id=1)[0] == [0.9, 0.5]     # class 1 never competes
    assert kept(topk=2)[0] == [0.9]                                # only the 2 best compete
    assert kept(valid_thresh=0.55, id_index=0)[0] == [0.9, 0.7, 0.6]
    scores, out = kept(overlap_thresh=0.99)
    assert scores == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4] and out.shape == (6, 6)
    assert (nms(_nd(np.zeros((2, 3, 6))), valid_thresh=0.1).asnumpy() == -1).all()
    np.testing.assert_array_equal(nms(_nd(boxes), topk=0).asnumpy(), boxes.astype(np.float32))


def test_box_nms_converts_formats_as_mxnet():
    box = np.array([[[0, 0.9, 1, 2, 5, 8], [0, 0.1, -2, 0, 1, 1]]])
    out = mx.nd.contrib.box_nms(_nd(box), out_format="center", overlap_thresh=0.9).asnumpy()
    np.testing.assert_allclose(out[0, 0], [0, 0.9, 3, 5, 4, 6])
    np.testing.assert_allclose(out[0, 1], box[0, 1])   # a negative first coordinate: as is
    back = mx.nd.contrib.box_nms(_nd(out), in_format="center", overlap_thresh=0.9).asnumpy()
    np.testing.assert_allclose(back[0, 0], box[0, 0])


def test_box_nms_shape_errors():
    with pytest.raises(MXNetValueError, match=r"_contrib_box_nms.*box_width >= 6"):
        mx.nd.contrib.box_nms(_nd(np.zeros((3, 5))), id_index=0)
    with pytest.raises(MXNetValueError, match="score_index"):
        mx.nd.contrib.box_nms(_nd(np.zeros((3, 6))), score_index=3)


def test_box_iou_documented_and_center_format(ctx):
    x = _nd([[0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]], ctx)
    y = _nd([[0.25, 0.25, 0.75, 0.75]], ctx)
    np.testing.assert_allclose(mx.nd.contrib.box_iou(x, y).asnumpy(), [[1 / 7], [1 / 7]],
                               rtol=1e-5)
    a = _nd([[[2, 2, 2, 2]]], ctx)                      # center format: [1, 1, 3, 3]
    b = _nd([[2, 3, 2, 2], [10, 10, 1, 1]], ctx)        # [1, 2, 3, 4]; far away
    iou = mx.nd.contrib.box_iou(a, b, format="center").asnumpy()
    assert iou.shape == (1, 1, 2)
    np.testing.assert_allclose(iou[0, 0], [2 / 6, 0], rtol=1e-6)
    with pytest.raises(MXNetValueError, match=r"_contrib_box_iou.*\(\.\.\., 4\)"):
        mx.nd.contrib.box_iou(_nd(np.zeros((2, 3))), y)


def test_bipartite_matching_documented_and_topk():
    s = _nd([[0.5, 0.6], [0.1, 0.2], [0.3, 0.4]])
    rows, cols = mx.nd.contrib.bipartite_matching(s, threshold=1e-12, is_ascend=False)
    np.testing.assert_array_equal(rows.asnumpy(), [1, -1, 0])
    np.testing.assert_array_equal(cols.asnumpy(), [2, 0])
    rows, cols = mx.nd.contrib.bipartite_matching(s, threshold=0.45, is_ascend=True)
    np.testing.assert_array_equal(rows.asnumpy(), [-1, 0, 1])   # 0.1, then 0.4 (0.2, 0.3 taken)
    np.testing.assert_array_equal(cols.asnumpy(), [1, 2])
    rows, _ = mx.nd.contrib.bipartite_matching(s, threshold=0.35, is_ascend=True)
    np.testing.assert_array_equal(rows.asnumpy(), [-1, 0, -1])  # 0.4 is not below 0.35: stop
    big = _nd(np.arange(16).reshape(4, 4)[::-1] / 16.0)
    rows, _ = mx.nd.contrib.bipartite_matching(big, threshold=0.0, topk=1)
    assert (rows.asnumpy() >= 0).sum() == 2                     # MXNet's topk + 1 matches


# -- small ops ------------------------------------------------------------------------------------
def test_arange_like_index_array_and_quadratic():
    x = _nd(np.zeros((2, 3)))
    np.testing.assert_array_equal(mx.nd.contrib.arange_like(x).asnumpy(),
                                  [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(mx.nd.contrib.arange_like(x, start=1, step=0.5, repeat=2,
                                                         axis=1).asnumpy(), [1, 1, 1.5])
    idx = mx.nd.contrib.index_array(_nd(np.zeros((2, 2))), axes=(1,))
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.asnumpy()[..., 0], [[0, 1], [0, 1]])
    q = mx.nd.contrib.quadratic(_nd([1, 2, 3]), a=2, b=-1, c=0.5).asnumpy()
    np.testing.assert_allclose(q, [1.5, 6.5, 15.5])
    d = mx.nd.contrib.div_sqrt_dim(_nd(np.full((2, 4), 6.0))).asnumpy()
    np.testing.assert_allclose(d, np.full((2, 4), 3.0))


def test_gradientmultiplier_is_the_identity_with_a_scaled_gradient():
    x = _nd([1.0, -2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = mx.nd.contrib.gradientmultiplier(x * x, scalar=-0.5)   # gradient reversal
    y.backward()
    np.testing.assert_array_equal(y.asnumpy(), [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(x.grad.asnumpy(), [-1.0, 2.0, -3.0])
    assert mx.nd.contrib.gradientmultiplier.op.defaults["scalar"] == 1.0   # MXNet's default


def test_index_copy_values_and_gradients():
    old = _nd(np.arange(10).reshape(5, 2))
    new = _nd([[-1, -2], [-3, -4]])
    idx = mx.nd.array([4, 1], dtype="int64")
    old.attach_grad()
    new.attach_grad()
    with autograd.record():
        y = mx.nd.contrib.index_copy(old, idx, new)
        loss = (y * _nd(np.arange(1, 11).reshape(5, 2))).sum()
    loss.backward()
    np.testing.assert_array_equal(y.asnumpy(), [[0, 1], [-3, -4], [4, 5], [6, 7], [-1, -2]])
    np.testing.assert_array_equal(old.grad.asnumpy(), [[1, 2], [0, 0], [5, 6], [7, 8], [0, 0]])
    np.testing.assert_array_equal(new.grad.asnumpy(), [[9, 10], [3, 4]])
    with pytest.raises(MXNetValueError, match=r"_contrib_index_copy.*new_tensor.shape"):
        mx.nd.contrib.index_copy(old, idx, _nd(np.zeros((3, 2))))


def test_allclose_documented():
    ac = mx.nd.contrib.allclose
    assert ac(_nd([1e10, 1e-7], dtype=np.float64),
              _nd([1.00001e10, 1e-8], dtype=np.float64)).asnumpy().tolist() == [0]
    assert ac(_nd([1e10, 1e-8], dtype=np.float64),
              _nd([1.00001e10, 1e-9], dtype=np.float64)).asnumpy().tolist() == [1]
    nan = _nd([np.nan, 1.0])
    assert ac(nan, nan).asnumpy()[0] == 1 and ac(nan, nan, equal_nan=False).asnumpy()[0] == 0
    assert ac(nan, nan).dtype == np.uint8


# -- boolean_mask ---------------------------------------------------------------------------------
def test_boolean_mask_eager_values_and_gradient(ctx):
    data = _nd(np.arange(12).reshape(4, 3), ctx)
    data.attach_grad()
    with autograd.record():
        out = mx.nd.contrib.boolean_mask(data, _nd([0, 1, 0, 1], ctx))
        out2 = mx.nd.contrib.boolean_mask(data, _nd([1, 0, 1], ctx), axis=1)
        (out.sum() + out2.sum() * 2).backward()
    np.testing.assert_array_equal(out.asnumpy(), [[3, 4, 5], [9, 10, 11]])
    np.testing.assert_array_equal(out2.asnumpy(), [[0, 2], [3, 5], [6, 8], [9, 11]])
    np.testing.assert_array_equal(data.grad.asnumpy(),
                                  [[2, 0, 2], [3, 1, 3], [2, 0, 2], [3, 1, 3]])


def test_boolean_mask_refuses_graphs_clearly():
    class Masked(gluon.HybridBlock):
        def hybrid_forward(self, F, x, m):
            return F.contrib.boolean_mask(x, m)

    net = Masked()
    x, m = _nd(np.ones((3, 2))), _nd([1, 0, 1])
    assert net(x, m).shape == (2, 2)
    net.hybridize()
    with pytest.raises(MXNetError, match="boolean_mask: .*values of index"):
        net(x, m)
    with pytest.raises(MXNetError, match="boolean_mask"):
        mx.sym.contrib.boolean_mask(mx.sym.var("x"), mx.sym.var("m"))
    with pytest.raises(MXNetValueError, match="boolean_mask: Expect: a 1-D index"):
        mx.nd.contrib.boolean_mask(x, _nd([1, 0]))


# -- hybridized blocks ----------------------------------------------------------------------------
class _Head(gluon.HybridBlock):
    """A detection-style head built from contrib ops through ``F.contrib``."""

    def hybrid_forward(self, F, x, rois):
        up = F.contrib.BilinearResize2D(x, scale_height=2.0, scale_width=2.0)
        pooled = F.contrib.AdaptiveAvgPooling2D(up, output_size=(3, 3))
        aligned = F.contrib.ROIAlign(up, rois, pooled_size=(2, 2), spatial_scale=2.0)
        return F.contrib.div_sqrt_dim(pooled), F.contrib.quadratic(aligned, a=0.5, b=1.0)


def test_contrib_ops_hybridized_equal_eager_with_gradients():
    rng = np.random.default_rng(7)
    x = _nd(rng.uniform(size=(2, 3, 4, 5)))
    rois = _nd([[0, 0.5, 0.5, 3.5, 2.5], [1, 1.0, 0.0, 4.0, 3.0]])
    grads = []
    for hybrid in (False, True):
        net = _Head()
        if hybrid:
            net.hybridize()
        xi = x.copy()
        xi.attach_grad()
        with autograd.record():
            a, b = net(xi, rois)
            (a.sum() + (b * b).sum()).backward()
        grads.append((a.asnumpy(), b.asnumpy(), xi.grad.asnumpy()))
    for eager, hybrid in zip(*grads):
        np.testing.assert_allclose(hybrid, eager, rtol=1e-5, atol=1e-6)
    assert np.abs(grads[0][2]).max() > 0
