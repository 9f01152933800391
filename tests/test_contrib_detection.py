"""MXNet 1.x's detection contrib ops (``mxplug/ops/contrib_psroi.py``, ``contrib_rroi.py``,
``contrib_proposal.py``): values and gradients MXNet 1.9.1 computed, tie order and padding of the
proposal layers, the symbol API's inputs and outputs, the zero gradient of the proposals, and
errors; on every backend through ``ctx``."""
from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError

C = mx.nd.contrib
MX = dict(rtol=2e-6, atol=2e-6)   # MXNet's values, float32, printed to 7 digits


def wave(shape, step=0.7, phase=0.0):
    """Deterministic float32 inputs (the same formula made the MXNet inputs)."""
    n = int(np.prod(shape))
    return np.sin(np.arange(n) * step + phase).reshape(shape).astype(np.float32)


def nd(a, ctx):
    return mx.nd.array(np.asarray(a, dtype=np.float32), ctx=ctx, dtype="float32")


def forward_backward(fn, inputs, attrs, ctx):
    """The output and the input gradients for head gradient wave(out.shape, 0.3, 1.0)."""
    args = [nd(a, ctx) for a in inputs]
    for a in args:
        a.attach_grad()
    with autograd.record():
        y = fn(*args, **attrs)
    y.backward(nd(wave(y.shape, 0.3, 1.0), ctx))
    return y.asnumpy(), [a.grad.asnumpy() for a in args]


# -- values MXNet 1.9.1 computed for the inputs below (float32) -----------------------------------
PS_OUT = np.array([
    0.1237161, -0.1357455, -0.7548472, 0.8512057, -0.3507832, 0.03362305, 0.9927664,
    -0.9025546]).reshape((2, 1, 2, 2))
PS_GRAD = np.array([
    0.1402452, 0.1402452, 0.1402452, 0, 0.1402452, 0.9487416, 0.1402452, 0, 0, 0, 0, 0, 0,
    0, 0.2408895, 0.2408895, 0, 0, 0.8393617, 0.2408895, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0.3349881, 0, 0, 0.3331912, 0.3331912, 0.3331912, 0, 0, 0, 0, 0, 0, 0, 0.04158066, 0, 0,
    0, 0.47315, 0.47315]).reshape((1, 4, 3, 4))
DEF_OUT = np.array([
    0.2937476, 0.5885525, 0.1705627, 0.3477325, -0.4784012, 0.4110693, 0.3736064,
    0.5266832]).reshape((2, 1, 2, 2))
DEF_GRAD_DATA = np.array([
    0.6281916, 0.3892678, 0, 0, 0, 0.2936512, 0.211659, 0, 0, 0, 0.07391841, 0.05327918, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0.02143759, 0.2072787, 0.4824054, 0.3198782, 0, 0.01135478,
    0.1095143, 0.2482605, 0.1619009, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0.004980192, 0.03039178, 0.02541159, 0, 0, 0.1896546, 0.2360962, 0.1340499, 0, 0,
    0.3248512, 0.2758462, 0.11328, 0, 0, 0, 0, 0, 0, 0, 0, 0.03981818, 0.04342121,
    0.0325505, 0, 0, 0.1627083, 0.1774313, 0.1377134, 0.008533821, 0, 0.1228901, 0.13401,
    0.1105303, 0.0182736]).reshape((1, 4, 4, 5))
DEF_GRAD_TRANS = np.array([
    0.3295734, 0.1778272, 0.410567, 0.05737278, 0, -0.09171066, -0.3960038, 0.1850987,
    0.05228353, 0.2299047, -0.03663062, -0.004181048, -0.06797791, -0.2211155, 0.1028129,
    0.01480016]).reshape((2, 2, 2, 2))
RROI_OUT = np.array([
    0.3605333, -0.2387178, -0.3581868, 0.4822881, 0.05262386, 0.2145934, -0.04638915,
    -0.3801105, -0.02277134, -0.01791243, -0.01084101, 0.009754032, 0.01593505, 0.001864512,
    -0.01656114, -0.03651639]).reshape((2, 2, 2, 2))
PROP_ROIS = np.array([
    0, 7.269629, 17.21844, 46.92461, 39, 0, 8.871073, 8.656847, 42.02384, 28.26496, 0,
    15.53278, 4.692856, 51.25365, 28.18166, 0, 0, 11.20449, 26.53379, 39, 0, 0, 0.2603369,
    37.72853, 26.16848, 0, 3.8375, 3.913183, 58.74664, 25.46584, 0, 30.39156, 19.55115, 59,
    39, 0, 21.73066, 0, 44.09393, 39, 0, 12.44428, 0, 47.58551, 23.82347, 0, -10, -10,
    25.13308, 24.13579, 0, 10.63533, -10, 49.52189, 40.69506, 0, 19.10649, -5.505579, 69,
    32.81181]).reshape((12, 5))
PROP_SCORES = np.array([
    0.9918738, 0.9495486, 0.8989761, 0.8031232, 0.75, 0.75, 0.6431009, 0.3316693,
    0.0001224279, -1, -1, -1]).reshape((12, 1))
MULTI_ROIS = np.array([
    0, 0, 0, 15.27948, 28.30639, 0, 32.75904, 14.07106, 47, 26.70876, 0, 4.195588, 0,
    30.41647, 30.89972, 0, 17.74011, 13.57147, 35.49252, 27.17234, 0, 21.9818, 0, 47, 31, 1,
    0, 0, 28.65522, 19, 1, 12.57443, 0, 39, 17.29547, 1, 0, 0, 17.90634, 11.19634, 1,
    14.54663, 0.1943793, 32.07694, 12.41545, 1, 29.83407, 1.299538, 39, 14.13059]).reshape((10, 5))
MULTI_SCORES = np.array([
    0.9828289, 0.9295809, 0.7431993, 0.6157549, 0.3560483, 0.9088831, 0.5784343, 0.2491054,
    0.01494715, -1]).reshape((10, 1))

ROIS = np.array([[0, 0.3, 0.4, 3.6, 2.7], [0, 1, 1, 2, 1.2]])
DEF_ROIS = np.array([[0, 0.3, 0.4, 3.6, 2.7], [0, 1.2, 0.8, 4.1, 3.3]])
RROIS = np.array([[0, 2.5, 2.2, 3, 2, 30], [0, 3.1, 1.9, 4, 1.5, -100]])


def test_psroi_pooling_matches_mxnet(ctx):
    y, (gx, groi) = forward_backward(C.PSROIPooling, [wave((1, 4, 3, 4)), ROIS],
                                     dict(spatial_scale=1.0, output_dim=1, pooled_size=2), ctx)
    np.testing.assert_allclose(y, PS_OUT, **MX)
    np.testing.assert_allclose(gx, PS_GRAD, **MX)
    assert not groi.any()


def test_deformable_psroi_pooling_matches_mxnet(ctx):
    attrs = dict(spatial_scale=1.0, output_dim=1, group_size=2, pooled_size=2,
                 sample_per_part=2, trans_std=0.2)
    y, (gx, groi, gt) = forward_backward(
        C.DeformablePSROIPooling, [wave((1, 4, 4, 5), 0.9), DEF_ROIS, wave((2, 2, 2, 2), 1.3)],
        attrs, ctx)
    np.testing.assert_allclose(y, DEF_OUT, **MX)
    np.testing.assert_allclose(gx, DEF_GRAD_DATA, **MX)
    np.testing.assert_allclose(gt, DEF_GRAD_TRANS, **MX)
    assert not groi.any()
    # no_trans: two inputs, the same as a zero trans
    x, rois = nd(wave((1, 4, 4, 5), 0.9), ctx), nd(DEF_ROIS, ctx)
    plain = C.DeformablePSROIPooling(x, rois, no_trans=True, **attrs)
    zero = C.DeformablePSROIPooling(x, rois, nd(np.zeros((2, 2, 2, 2)), ctx), **attrs)
    np.testing.assert_allclose(plain.asnumpy(), zero.asnumpy(), rtol=1e-6, atol=1e-7)


def test_rroi_align_matches_mxnet(ctx):
    y = C.RROIAlign(nd(wave((1, 2, 5, 6), 0.5), ctx), nd(RROIS, ctx), pooled_size=(2, 2),
                    spatial_scale=1.0)
    np.testing.assert_allclose(y.asnumpy(), RROI_OUT, **MX)


def test_proposal_matches_mxnet(ctx):
    """36 anchors: two equal scores (0.75) in anchor order, boxes below rpn_min_size widened
    and scored -1, and fewer survivors than rpn_post_nms_top_n would repeat."""
    cls = wave((1, 6, 3, 4), 1.1) * 0.5 + 0.5
    cls[0, 3:, 0, :2] = 0.75
    rois, scores = C.Proposal(
        nd(cls, ctx), nd(wave((1, 12, 3, 4), 0.6) * 0.3, ctx), nd([[40, 60, 1.0]], ctx),
        scales=(2,), ratios=(0.5, 1, 2), feature_stride=16, rpn_min_size=20,
        rpn_pre_nms_top_n=30, rpn_post_nms_top_n=12, threshold=0.6, output_score=True)
    np.testing.assert_allclose(rois.asnumpy(), PROP_ROIS, rtol=2e-6, atol=1e-4)
    np.testing.assert_allclose(scores.asnumpy(), PROP_SCORES, **MX)


def test_multi_proposal_matches_mxnet(ctx):
    rois, scores = C.MultiProposal(
        nd(wave((2, 4, 2, 3), 0.8) * 0.5 + 0.5, ctx), nd(wave((2, 8, 2, 3), 0.45) * 0.2, ctx),
        nd([[32, 48, 1], [20, 40, 0.5]], ctx), scales=(1, 2), ratios=(1,), feature_stride=16,
        rpn_min_size=8, rpn_post_nms_top_n=5, threshold=0.5, output_score=True)
    np.testing.assert_allclose(rois.asnumpy(), MULTI_ROIS, rtol=2e-6, atol=1e-4)
    np.testing.assert_allclose(scores.asnumpy(), MULTI_SCORES, **MX)


def test_rois_in_chunks_give_the_same_results(monkeypatch):
    """The bodies gather rois in chunks of bounded size: tiny chunks change nothing."""
    from mxplug.ops import contrib_psroi

    rng = np.random.default_rng(3)
    x, trans = rng.uniform(-1, 1, (2, 18, 7, 9)), rng.uniform(-1, 1, (3, 4, 3, 3))
    rois = np.array([[0, 0.3, 1.2, 5.6, 6.4], [1, 2.4, 0.6, 8.3, 3.1], [0, -3.2, -2.1, 11, 9]])
    rrois = np.array([[0, 3.5, 3.2, 4, 3, 30], [1, 4.1, 2.2, 6, 2.5, -75], [0, 2, 3, 9, 5, 120]])

    def run():
        args = [nd(a, mx.cpu()) for a in (x, rois, trans)]
        for a in args:
            a.attach_grad()
        with autograd.record():
            d = C.DeformablePSROIPooling(*args, spatial_scale=0.5, output_dim=2, group_size=3,
                                         pooled_size=3, sample_per_part=2, trans_std=0.2)
            p = C.PSROIPooling(args[0], args[1], spatial_scale=1.0, output_dim=2, pooled_size=3)
            loss = (d * d).sum() + (p * p * p).sum()
        loss.backward()
        r = C.RROIAlign(args[0], nd(rrois, mx.cpu()), pooled_size=(2, 3), spatial_scale=1.0)
        return [v.asnumpy() for v in (d, p, r, args[0].grad, args[2].grad)]

    whole = run()
    monkeypatch.setattr(contrib_psroi, "_CHUNK_ELEMENTS", 50)
    for a, b in zip(whole, run()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_proposal_pads_by_repeating_survivors():
    """One box survives NMS (all anchors overlap heavily): every output row repeats it (MXNet
    1.9.1 gives the same rows)."""
    cls = np.full((1, 2, 2, 2), 0.5, np.float32)
    cls[0, 1, 1, 1] = 0.9
    rois, scores = C.Proposal(nd(cls, mx.cpu()), nd(np.zeros((1, 4, 2, 2)), mx.cpu()),
                              nd([[32, 32, 1]], mx.cpu()), scales=(8,), ratios=(1,),
                              rpn_min_size=1, threshold=0.1, rpn_post_nms_top_n=4,
                              output_score=True)
    assert rois.asnumpy().tolist() == [[0, 0, 0, 31, 31]] * 4
    assert scores.asnumpy().ravel().tolist() == pytest.approx([0.9] * 4)
    empty = C.Proposal(nd(cls, mx.cpu()), nd(np.zeros((1, 4, 2, 2)), mx.cpu()),
                       nd([[32, 32, 1]], mx.cpu()), scales=(8,), ratios=(1,),
                       rpn_post_nms_top_n=0)
    assert empty.shape == (0, 5)


def test_proposal_gradient_is_zero():
    """MXNet's Proposal backward writes zeros (the outputs do move with bbox_pred)."""
    cls, bbox = nd(np.random.default_rng(0).uniform(0, 1, (1, 6, 3, 4)), mx.cpu()), \
        nd(wave((1, 12, 3, 4), 0.6) * 0.3, mx.cpu())
    for a in (cls, bbox):
        a.attach_grad()
    with autograd.record():
        rois = C.Proposal(cls, bbox, nd([[40, 60, 1]], mx.cpu()), scales=(2,),
                          rpn_post_nms_top_n=5, rpn_min_size=1)
    rois.backward()
    assert not cls.grad.asnumpy().any() and not bbox.grad.asnumpy().any()


def test_symbol_inputs_and_outputs():
    s = mx.sym.contrib.Proposal(name="p", output_score=True)
    assert s.list_arguments() == ["p_cls_prob", "p_bbox_pred", "p_im_info"]
    assert s.list_outputs() == ["p_output", "p_score"]
    assert s.infer_shape(p_cls_prob=(1, 24, 5, 5), p_bbox_pred=(1, 48, 5, 5),
                         p_im_info=(1, 3))[1] == [(300, 5), (300, 1)]
    m = mx.sym.contrib.MultiProposal(name="m")
    assert m.list_outputs() == ["m_output"]
    assert m.infer_shape(m_cls_prob=(2, 24, 5, 5), m_bbox_pred=(2, 48, 5, 5),
                         m_im_info=(2, 3))[1] == [(600, 5)]
    d = dict(spatial_scale=1, output_dim=2, pooled_size=3, group_size=3)
    s = mx.sym.contrib.DeformablePSROIPooling(name="d", **d)
    assert s.list_arguments() == ["d_data", "d_rois", "d_trans"]
    assert s.infer_shape(d_data=(2, 18, 5, 5), d_rois=(4, 5), d_trans=(4, 2, 3, 3))[1] == \
        [(4, 2, 3, 3)]
    assert mx.sym.contrib.DeformablePSROIPooling(name="d", no_trans=True, **d) \
        .list_arguments() == ["d_data", "d_rois"]
    s = mx.sym.contrib.PSROIPooling(name="ps", spatial_scale=0.5, output_dim=2, pooled_size=3)
    assert s.infer_shape(ps_data=(2, 18, 5, 5), ps_rois=(4, 5))[1] == [(4, 2, 3, 3)]
    s = mx.sym.contrib.RROIAlign(name="r", spatial_scale=1, pooled_size=(2, 3))
    assert s.infer_shape(r_data=(2, 18, 5, 5), r_rois=(4, 6))[1] == [(4, 18, 2, 3)]


def _x(*shape, dtype="float32"):
    return mx.nd.array(np.random.default_rng(1).uniform(0, 1, shape), dtype=dtype)


_PS = dict(spatial_scale=1.0, output_dim=2, pooled_size=3)
_DEF = dict(spatial_scale=1.0, output_dim=2, pooled_size=3, group_size=3)
_RPN = dict(scales=(2,), ratios=(0.5, 1, 2), rpn_post_nms_top_n=5)
_ROI = mx.nd.array([[0, 0, 0, 3, 3]])
ERRORS = [
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 18, 5, 5), _ROI, **dict(_PS, spatial_scale=2)),
     r"spatial_scale in \[0, 1\]"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 17, 5, 5), _ROI, **_PS), "channels >= .* 18"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 18, 5, 5), _x(1, 4), **_PS), r"rois of shape"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(18, 5, 5), _ROI, **_PS), r"\(N, C, H, W\)"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 18, 5, 5), _ROI, output_dim=2, pooled_size=3),
     "spatial_scale .*required"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 18, 5, 5), _ROI.astype("float64"), **_PS),
     "rois of data's dtype float32"),
    ("PSROIPooling", lambda: C.PSROIPooling(_x(1, 18, 5, 5), mx.nd.array([[1, 0, 0, 3, 3]]),
                                            **_PS), r"batch indices in \[0, 1\)"),
    ("DeformablePSROIPooling", lambda: C.DeformablePSROIPooling(_x(1, 18, 5, 5), _ROI, **_DEF),
     "3 inputs"),
    ("DeformablePSROIPooling", lambda: C.DeformablePSROIPooling(
        _x(1, 18, 5, 5), _ROI, _x(1, 2, 2, 2), **_DEF), r"trans of shape \(1, 2 \* classes, 3"),
    ("DeformablePSROIPooling", lambda: C.DeformablePSROIPooling(
        _x(1, 18, 5, 5), _ROI, _x(1, 6, 3, 3), **_DEF), "dividing output_dim"),
    ("DeformablePSROIPooling", lambda: C.DeformablePSROIPooling(
        _x(1, 18, 5, 5), _ROI, _x(1, 2, 3, 3), **dict(_DEF, trans_std=1.5)), "trans_std in"),
    ("DeformablePSROIPooling", lambda: C.DeformablePSROIPooling(
        _x(1, 18, 5, 5), _ROI, _x(1, 2, 3, 3), **dict(_DEF, group_size=0)), "group_size >= 1"),
    ("RROIAlign", lambda: C.RROIAlign(_x(1, 2, 5, 5), _x(1, 5), pooled_size=(2, 2),
                                      spatial_scale=1.0), r"rois of shape \(R, 6\)"),
    ("RROIAlign", lambda: C.RROIAlign(_x(1, 2, 5, 5), _x(1, 6), pooled_size=(0, 2),
                                      spatial_scale=1.0), "pooled_size"),
    ("Proposal", lambda: C.Proposal(_x(2, 6, 4, 4), _x(2, 12, 4, 4), _x(2, 3), **_RPN),
     "one image"),
    ("Proposal", lambda: C.Proposal(_x(1, 6, 4, 4), _x(1, 8, 4, 4), _x(1, 3), **_RPN),
     r"bbox_pred of shape \(1, 12, 4, 4\)"),
    ("Proposal", lambda: C.Proposal(_x(1, 6, 4, 4), _x(1, 12, 4, 4), _x(1, 3),
                                    scales=(2, 3), ratios=(0.5, 1, 2)), r"2 \* len\(scales\)"),
    ("Proposal", lambda: C.Proposal(_x(1, 6, 4, 4, dtype="float64"), _x(1, 12, 4, 4),
                                    _x(1, 3), **_RPN), "float32"),
    ("Proposal", lambda: C.Proposal(_x(1, 6, 4, 4), _x(1, 12, 4, 4),
                                    mx.nd.array([[100, 64, 1]]), **_RPN), "im_info heights"),
    ("MultiProposal", lambda: C.MultiProposal(_x(2, 6, 4, 4), _x(2, 12, 4, 4), _x(1, 3), **_RPN),
     r"im_info of shape \(2, 3\)"),
]


@pytest.mark.parametrize("name,call,match", ERRORS, ids=[f"{e[0]}-{i}" for i, e in
                                                          enumerate(ERRORS)])
def test_errors_name_the_op_and_argument(name, call, match):
    with pytest.raises(MXNetError, match=f"_contrib_{name}: .*{match}"):
        call()
