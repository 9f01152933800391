"""Conformance with MXNet 1.9's tests of the contrib ops (test_contrib_operator.py, and the
contrib ops of test_operator.py).

Translations of MXNet 1.9's unit tests: see ``mxnet_conformance_helpers.py``."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import mxplug as mx
from mxplug.test_utils import (
    assert_almost_equal,
    check_numeric_gradient,
    check_symbolic_backward,
    check_symbolic_forward,
    default_context,
    rand_shape_nd,
    same,
)

from .mxnet_conformance_helpers import seed_as_mxnet  # noqa: F401


# =================================================================================================
# test_contrib_operator.py
# =================================================================================================
def _corner_to_center(data):
    out = np.reshape(data, (-1, 6)).copy()
    out[:, 2] = (data[:, 2] + data[:, 4]) / 2.0
    out[:, 3] = (data[:, 3] + data[:, 5]) / 2.0
    out[:, 4] = data[:, 4] - data[:, 2]
    out[:, 5] = data[:, 5] - data[:, 3]
    out[np.where(data[:, 0] < 0)[0], :] = -1
    return out


def _swap_position(data, expected, coord=2, score=1, cid=0, new_col=0):
    data = np.reshape(data, (-1, 6))
    expected = np.reshape(expected, (-1, 6))
    new_coord = random.randint(0, 6 + new_col - 4)
    others = list(range(new_coord)) + list(range(new_coord + 4, 6 + new_col))
    random.shuffle(others)
    new_score, new_cid = others[0], others[1]
    new_data = np.full((data.shape[0], data.shape[1] + new_col), -1.0)
    new_expected = np.full((expected.shape[0], expected.shape[1] + new_col), -1.0)
    new_data[:, new_coord:new_coord + 4] = data[:, coord:coord + 4]
    new_data[:, new_score] = data[:, score]
    new_data[:, new_cid] = data[:, cid]
    new_expected[:, new_coord:new_coord + 4] = expected[:, coord:coord + 4]
    new_expected[:, new_score] = expected[:, score]
    new_expected[:, new_cid] = expected[:, cid]
    return new_data, new_expected, new_coord, new_score, new_cid


def _nms_forward(data, expected, thresh=0.5, valid=0, topk=-1, coord=2, score=1, cid=0, bid=-1,
                 force=False, in_format="corner", out_format="corner"):
    for dtype in ["float16", "float32", "float64"]:
        out = mx.contrib.nd.box_nms(mx.nd.array(data, dtype=dtype), overlap_thresh=thresh,
                                    valid_thresh=valid, topk=topk, coord_start=coord,
                                    score_index=score, id_index=cid, background_id=bid,
                                    force_suppress=force, in_format=in_format,
                                    out_format=out_format)
        assert_almost_equal(out.asnumpy(), expected.astype(dtype), rtol=1e-3, atol=1e-3)


def _nms_backward(data, grad, expected, thresh=0.5, valid=0, topk=-1, coord=2, score=1, cid=0,
                  bid=-1, force=False, in_format="corner", out_format="corner"):
    arr_data = mx.nd.array(data)
    arr_grad = mx.nd.empty(arr_data.shape)
    op = mx.contrib.sym.box_nms(mx.sym.Variable("data"), overlap_thresh=thresh,
                                valid_thresh=valid, topk=topk, coord_start=coord,
                                score_index=score, id_index=cid, background_id=bid,
                                force_suppress=force, in_format=in_format, out_format=out_format)
    exe = op.bind(ctx=default_context(), args=[arr_data], args_grad=[arr_grad])
    exe.forward(is_train=True)
    exe.backward(mx.nd.array(grad))
    assert_almost_equal(arr_grad.asnumpy(), expected)


_BOXES = [[0, 0.5, 0.1, 0.1, 0.2, 0.2], [1, 0.4, 0.1, 0.1, 0.2, 0.2],
          [0, 0.3, 0.1, 0.1, 0.14, 0.14], [2, 0.6, 0.5, 0.5, 0.7, 0.8]]
_NONE = [-1, -1, -1, -1, -1, -1]


def test_box_nms_op_cases_1_to_4():
    """test_contrib_operator.py: test_box_nms_op, cases 1-4 (force, batches, thresh, non-force)."""
    boxes = np.array(_BOXES)
    expected = np.array([[2, 0.6, 0.5, 0.5, 0.7, 0.8], [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                         [0, 0.3, 0.1, 0.1, 0.14, 0.14], _NONE])
    grad = np.random.rand(4, 6)
    expected_in_grad = grad[(1, 3, 2, 0), :]
    expected_in_grad[1, :] = 0
    _nms_forward(boxes, expected, force=True, thresh=0.5)
    _nms_backward(boxes, grad, expected_in_grad, force=True, thresh=0.5)

    # case2: multi batch, then another new dim
    boxes2, expected2 = np.array([_BOXES] * 3), np.array([expected.tolist()] * 3)
    grad2, in_grad2 = np.array([grad.tolist()] * 3), np.array([expected_in_grad.tolist()] * 3)
    _nms_forward(boxes2, expected2, force=True, thresh=0.5)
    _nms_backward(boxes2, grad2, in_grad2, force=True, thresh=0.5)
    boxes2, expected2 = np.array([boxes2.tolist()] * 2), np.array([expected2.tolist()] * 2)
    grad2, in_grad2 = np.array([grad2.tolist()] * 2), np.array([in_grad2.tolist()] * 2)
    _nms_forward(boxes2, expected2, force=True, thresh=0.5)
    _nms_backward(boxes2, grad2, in_grad2, force=True, thresh=0.5)

    # case3: thresh
    expected3 = np.array([[2, 0.6, 0.5, 0.5, 0.7, 0.8], [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                          _NONE, _NONE])
    grad3 = np.random.rand(4, 6)
    in_grad3 = grad3[(1, 3, 2, 0), :]
    in_grad3[(1, 2), :] = 0
    _nms_forward(boxes, expected3, force=True, thresh=0.1)
    _nms_backward(boxes, grad3, in_grad3, force=True, thresh=0.1)

    # case4: non-force
    expected4 = np.array([[2, 0.6, 0.5, 0.5, 0.7, 0.8], [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                          [1, 0.4, 0.1, 0.1, 0.2, 0.2], _NONE])
    grad4 = np.random.rand(4, 6)
    in_grad4 = grad4[(1, 2, 3, 0), :]
    in_grad4[2, :] = 0
    _nms_forward(boxes, expected4, force=False, thresh=0.1)
    _nms_backward(boxes, grad4, in_grad4, force=False, thresh=0.1)


def test_box_nms_op_cases_5_to_9():
    """test_contrib_operator.py: test_box_nms_op, cases 5-9 (formats, positions, no id, topk,
    background id)."""
    boxes4 = np.array(_BOXES)
    expected4 = np.array([[2, 0.6, 0.5, 0.5, 0.7, 0.8], [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                          [1, 0.4, 0.1, 0.1, 0.2, 0.2], _NONE])
    # case5: different coding
    boxes5 = _corner_to_center(boxes4)
    _nms_forward(boxes5, expected4, thresh=0.1, in_format="center")
    expected5 = _corner_to_center(expected4)
    _nms_forward(boxes4, expected5, thresh=0.1, out_format="center")
    _nms_forward(boxes5, expected5, thresh=0.1, in_format="center", out_format="center")

    # case6: different position
    boxes6, expected6, new_coord, new_score, new_id = _swap_position(boxes4, expected4, new_col=2)
    _nms_forward(boxes6, expected6, thresh=0.1, coord=new_coord, score=new_score, cid=new_id)

    # case7: no id, should be same with force=True
    expected = np.array([[2, 0.6, 0.5, 0.5, 0.7, 0.8], [0, 0.5, 0.1, 0.1, 0.2, 0.2],
                         [0, 0.3, 0.1, 0.1, 0.14, 0.14], _NONE])
    _nms_forward(boxes4, expected, force=False, thresh=0.5, cid=-1)

    # case8: multi-batch thresh + topk
    boxes8 = np.array([[[k, 1, 0, 0, 10, 10], [k, 0.4, 0, 0, 10, 10], [k, 0.3, 0, 0, 10, 10]]
                       for k in (1, 2, 3)])
    expected8 = np.array([[[k, 1, 0, 0, 10, 10], _NONE, _NONE] for k in (1, 2, 3)])
    grad8 = np.random.rand(3, 3, 6)
    in_grad8 = np.zeros((3, 3, 6))
    in_grad8[(0, 1, 2), (0, 0, 0), :] = grad8[(0, 1, 2), (0, 0, 0), :]
    _nms_forward(boxes8, expected8, thresh=0.5, valid=0.5, topk=2)
    _nms_backward(boxes8, grad8, in_grad8, thresh=0.5, valid=0.5, topk=2)

    # case9: background id filter out; default background id -1
    boxes9 = np.array([[0, 0.5, 0.1, 0.1, 0.2, 0.2], [0, 0.4, 0.1, 0.1, 0.2, 0.2],
                       [1, 0.3, 0.1, 0.1, 0.14, 0.14], [-1, 0.6, 0.5, 0.5, 0.7, 0.8]])
    expected9 = np.array([[0, 0.5, 0.1, 0.1, 0.2, 0.2], [1, 0.3, 0.1, 0.1, 0.14, 0.14],
                          _NONE, _NONE])
    grad9 = np.random.rand(4, 6)
    in_grad9 = grad9[(0, 2, 1, 3), :]
    in_grad9[(1, 3), :] = 0
    _nms_forward(boxes9, expected9, force=True, thresh=0.5)
    _nms_backward(boxes9, grad9, in_grad9, force=True, thresh=0.5)
    # set background id
    expected9 = np.array([[-1, 0.6, 0.5, 0.5, 0.7, 0.8], [1, 0.3, 0.1, 0.1, 0.14, 0.14],
                          _NONE, _NONE])
    grad9 = np.random.rand(4, 6)
    in_grad9 = grad9[(2, 3, 1, 0), :]
    in_grad9[(0, 1), :] = 0
    _nms_forward(boxes9, expected9, force=True, thresh=0.5, bid=0)
    _nms_backward(boxes9, grad9, in_grad9, force=True, thresh=0.5, bid=0)


def _numpy_box_iou(a, b, fmt="corner"):
    def area(left, top, right, bottom):
        return np.maximum(0, right - left) * np.maximum(0, bottom - top)

    oshape = a.shape[:-1] + b.shape[:-1]
    a, b = a.reshape((-1, 4)), b.reshape((-1, 4))
    na = a.shape[0]
    a = np.tile(a, reps=[1, b.shape[0]]).reshape((-1, 4))
    b = np.tile(b, reps=[na, 1]).reshape((-1, 4))
    if fmt == "corner":
        al, at, ar, ab = np.split(a, 4, axis=-1)
        bl, bt, br, bb = np.split(b, 4, axis=-1)
    else:
        ax, ay, aw, ah = np.split(a, 4, axis=-1)
        bx, by, bw, bh = np.split(b, 4, axis=-1)
        al, at, ar, ab = ax - aw / 2, ay - ah / 2, ax + aw / 2, ay + ah / 2
        bl, bt, br, bb = bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2
    width = np.maximum(0, np.minimum(ar, br) - np.maximum(al, bl))
    height = np.maximum(0, np.minimum(ab, bb) - np.maximum(at, bt))
    intersect = width * height
    union = area(al, at, ar, ab) + area(bl, bt, br, bb) - intersect
    union[np.where(intersect <= 0)] = 1e-12
    return (intersect / union).reshape(oshape)


def test_box_iou_op():
    """test_contrib_operator.py: test_box_iou_op."""
    def generate_boxes(dims):
        s1, off1, s2, off2 = np.random.rand(4) * 100
        xy = np.random.rand(*(dims + [2])) * s1 + off1
        wh = np.random.rand(*(dims + [2])) * s2 + off2
        return np.concatenate([xy, wh], axis=-1), np.concatenate([xy - wh / 2, xy + wh / 2], -1)

    for ndima, ndimb in itertools.product(range(1, 6), range(1, 6)):
        xywh_a, ltrb_a = generate_boxes(np.random.randint(low=1, high=3, size=ndima).tolist())
        xywh_b, ltrb_b = generate_boxes(np.random.randint(low=1, high=3, size=ndimb).tolist())
        iou_np = _numpy_box_iou(ltrb_a, ltrb_b, fmt="corner")
        iou_np2 = _numpy_box_iou(xywh_a, xywh_b, fmt="center")
        iou_mx = mx.nd.contrib.box_iou(mx.nd.array(ltrb_a), mx.nd.array(ltrb_b), format="corner")
        iou_mx2 = mx.nd.contrib.box_iou(mx.nd.array(xywh_a), mx.nd.array(xywh_b),
                                        format="center")
        assert_allclose(iou_np, iou_np2, rtol=1e-5, atol=1e-5)
        assert_allclose(iou_np, iou_mx.asnumpy(), rtol=1e-5, atol=1e-5)
        assert_allclose(iou_np, iou_mx2.asnumpy(), rtol=1e-5, atol=1e-5)


def test_bipartite_matching_op():
    """test_contrib_operator.py: test_bipartite_matching_op."""
    def assert_match(inputs, x, y, threshold, is_ascend=False):
        for dtype in ["float16", "float32", "float64"]:
            a, b = mx.nd.contrib.bipartite_matching(mx.nd.array(inputs, dtype=dtype),
                                                    threshold=threshold, is_ascend=is_ascend)
            assert_array_equal(a.asnumpy().astype("int64"), np.array(x, dtype="int64"))
            assert_array_equal(b.asnumpy().astype("int64"), np.array(y, dtype="int64"))

    assert_match([[0.5, 0.6], [0.1, 0.2], [0.3, 0.4]], [1, -1, 0], [2, 0], 1e-12, False)
    assert_match([[0.5, 0.6], [0.1, 0.2], [0.3, 0.4]], [-1, 0, 1], [1, 2], 100, True)


def test_gradient_multiplier_op():
    """test_contrib_operator.py: test_gradient_multiplier_op (with contrib.quadratic)."""
    def f(x, a, b, c):
        return a * x**2 + b * x + c

    a, b, c = np.random.random_sample(3)
    m = np.random.random_sample() - 0.5
    quad_sym = mx.sym.contrib.quadratic(data=mx.symbol.Variable("data"), a=a, b=b, c=c)
    gr_q_sym = mx.sym.contrib.gradientmultiplier(quad_sym, scalar=m)
    for dtype in [np.float16, np.float32, np.float64]:
        tol = 1e-2 if dtype is np.float16 else 1e-5
        for ndim in range(1, 6):
            data_np = np.random.randn(*rand_shape_nd(ndim, 5)).astype(dtype)
            expected = f(data_np, a, b, c)
            backward_expected = (2 * a * data_np + b) * m
            # check imperative forward
            output = mx.nd.contrib.quadratic(mx.nd.array(data_np), a=a, b=b, c=c)
            output = mx.nd.contrib.gradientmultiplier(output, scalar=m)
            assert_almost_equal(output.asnumpy(), expected, rtol=tol, atol=tol)
            check_symbolic_forward(gr_q_sym, [data_np], [expected], rtol=tol, atol=tol)
            check_symbolic_backward(gr_q_sym, [data_np], [np.ones(expected.shape)],
                                    [backward_expected], rtol=tol, atol=tol)


# =================================================================================================
# test_operator.py: the contrib ops
# =================================================================================================
def _py_adaptive_avg_pool(x, height, width):
    def frame(x, y):
        isize_h, isize_w = x.shape
        osize_h, osize_w = y.shape
        for oh in range(osize_h):
            h0 = int(np.floor(1.0 * (oh * isize_h) / osize_h))
            h1 = int(np.ceil(1.0 * (oh + 1) * isize_h / osize_h))
            for ow in range(osize_w):
                w0 = int(np.floor(1.0 * (ow * isize_w) / osize_w))
                w1 = int(np.ceil(1.0 * (ow + 1) * isize_w / osize_w))
                y[oh][ow] = x[h0:h1, w0:w1].sum() / (h1 - h0) / (w1 - w0)

    b, c = x.shape[:2]
    y = np.empty([b, c, height, width], dtype=x.dtype)
    for i, j in itertools.product(range(b), range(c)):
        frame(x[i][j], y[i][j])
    return y


def test_adaptive_avg_pool_op():
    """test_operator.py: test_adaptive_avg_pool_op."""
    shape = (2, 2, 10, 10)
    for i in range(1, 11):
        x = mx.nd.random.uniform(shape=shape)
        y = mx.nd.contrib.AdaptiveAvgPooling2D(x, output_size=i)
        assert_almost_equal(y.asnumpy(), _py_adaptive_avg_pool(x.asnumpy(), i, i))
        for j in range(1, 11):
            x = mx.nd.random.uniform(shape=shape)
            y = mx.nd.contrib.AdaptiveAvgPooling2D(x, output_size=(i, j))
            assert_almost_equal(y.asnumpy(), _py_adaptive_avg_pool(x.asnumpy(), i, j))


def _py_bilinear_resize(x, out_h, out_w):
    batch, channel, in_h, in_w = x.shape
    if out_h == in_h and out_w == in_w:
        return x
    y = np.empty([batch, channel, out_h, out_w])
    rheight = 1.0 * (in_h - 1) / (out_h - 1) if out_h > 1 else 0.0
    rwidth = 1.0 * (in_w - 1) / (out_w - 1) if out_w > 1 else 0.0
    for h2 in range(out_h):
        h1r = 1.0 * h2 * rheight
        h1 = int(np.floor(h1r))
        h1lambda = h1r - h1
        h1p = 1 if h1 < (in_h - 1) else 0
        for w2 in range(out_w):
            w1r = 1.0 * w2 * rwidth
            w1 = int(np.floor(w1r))
            w1lambda = w1r - w1
            w1p = 1 if w1 < (in_w - 1) else 0
            y[:, :, h2, w2] = (1 - h1lambda) * ((1 - w1lambda) * x[:, :, h1, w1]
                                                + w1lambda * x[:, :, h1, w1 + w1p]) \
                + h1lambda * ((1 - w1lambda) * x[:, :, h1 + h1p, w1]
                              + w1lambda * x[:, :, h1 + h1p, w1 + w1p])
    return y


def _py_bilinear_resize_backward(x, incoming_grads, mode="size"):
    data1 = np.zeros_like(x)
    data2 = incoming_grads
    height1, width1 = data1.shape[2:]
    height2, width2 = data2.shape[2:]
    rheight = float(height1 - 1) / (height2 - 1) if (height2 > 1) else 0
    rwidth = float(width1 - 1) / (width2 - 1) if (width2 > 1) else 0
    if height1 == height2 and width1 == width2:
        data1 += data2
        return [data1]
    for h2 in range(0, height2):
        for w2 in range(0, width2):
            h1r = rheight * h2
            h1 = int(h1r)
            h1p = 1 if (h1 < height1 - 1) else 0
            h1lambda = h1r - h1
            w1r = rwidth * w2
            w1 = int(w1r)
            w1p = 1 if (w1 < width1 - 1) else 0
            w1lambda = w1r - w1
            d2val = data2[:, :, h2, w2]
            data1[:, :, h1, w1] += (1 - h1lambda) * (1 - w1lambda) * d2val
            data1[:, :, h1, w1 + w1p] += (1 - h1lambda) * w1lambda * d2val
            data1[:, :, h1 + h1p, w1] += h1lambda * (1 - w1lambda) * d2val
            data1[:, :, h1 + h1p, w1 + w1p] += h1lambda * w1lambda * d2val
    if mode == "like":
        return data1, np.zeros_like(incoming_grads)
    return [data1]


def _check_bilinear_resize_modes(shape, scale_height=None, scale_width=None, shape_1=None,
                                 mode=None, numeric=True):
    x = mx.nd.random.uniform(shape=shape)
    original_h, original_w = shape[2:]
    if mode == "odd_scale":
        new_h = int(original_h * scale_height) if original_h % 2 == 0 else \
            int((original_h - 1) * scale_height) + 1
        new_w = int(original_w * scale_width) if original_w % 2 == 0 else \
            int((original_w - 1) * scale_width) + 1
        y = mx.nd.contrib.BilinearResize2D(x, scale_height=scale_height, scale_width=scale_width,
                                           mode="odd_scale")
    elif mode == "like":
        x_1 = mx.nd.random.uniform(shape=shape_1)
        new_h, new_w = x_1.shape[2:]
        y = mx.nd.contrib.BilinearResize2D(x, x_1, mode="like")
    else:
        def size(n):
            even, up = mode.startswith("to_even"), mode.endswith("up")
            if (n % 2 == 0) == even:
                return n
            return n + 1 if up else n - 1
        new_h, new_w = size(original_h), size(original_w)
        y = mx.nd.contrib.BilinearResize2D(x, mode=mode)
    data_np = x.asnumpy()
    expected = _py_bilinear_resize(data_np, new_h, new_w)
    out_grads = np.ones([shape[0], shape[1], new_h, new_w])
    expected_backward = _py_bilinear_resize_backward(data_np, out_grads, mode)
    assert_array_equal(np.array(y.shape), np.array([shape[0], shape[1], new_h, new_w]))
    assert_almost_equal(y.asnumpy(), expected, 1e-3, 0)
    data_sym = mx.sym.var("data")
    if mode != "like":
        resize_sym = mx.sym.contrib.BilinearResize2D(data_sym, None, scale_height=scale_height,
                                                     scale_width=scale_width, mode=mode)
        location = [data_np]
    else:
        resize_sym = mx.sym.contrib.BilinearResize2D(data_sym, mx.sym.var("data_like"),
                                                     mode=mode)
        location = [data_np, x_1.asnumpy()]
    check_symbolic_forward(resize_sym, location, [expected], rtol=1e-3, atol=1e-5)
    check_symbolic_backward(resize_sym, location, [out_grads], expected_backward, rtol=1e-3,
                            atol=1e-5)
    if numeric:
        check_numeric_gradient(resize_sym, location, rtol=1e-2, atol=1e-4)


def test_bilinear_resize_op():
    """test_operator.py: test_bilinear_resize_op (check_bilinear_resize_op)."""
    shape = (2, 2, 10, 10)
    for height, width in [(5, 5), (10, 10), (15, 15), (3, 7), (13, 17)]:
        x = mx.nd.random.uniform(shape=shape)
        y = mx.nd.contrib.BilinearResize2D(x, height=height, width=width)
        assert_almost_equal(y, _py_bilinear_resize(x.asnumpy(), height, width))
        y = mx.nd.contrib.BilinearResize2D(x, scale_height=height / shape[-2],
                                           scale_width=width / shape[-1])
        assert_almost_equal(y.asnumpy(), _py_bilinear_resize(x.asnumpy(), height, width))


def test_bilinear_resize_op_align_corners():
    """test_operator.py: test_bilinear_resize_op (check_bilinear_resize_align_corners_op)."""
    x_nd = mx.nd.array(np.array([64, 32, 32, 64, 50, 100], dtype=np.float32).reshape(1, 1, 3, 2))
    y0 = np.array([64.000, 56.000, 40.000, 32.000, 56.000, 52.000, 44.000, 40.000, 40.000,
                   44.000, 52.000, 56.000, 36.500, 45.625, 63.875, 73.000, 45.500, 56.875,
                   79.625, 91.000, 50.000, 62.500, 87.500, 100.000]).reshape((1, 1, 6, 4))
    y1 = np.array([64.000, 53.333, 42.667, 32.000, 51.200, 49.067, 46.933, 44.800, 38.400,
                   44.800, 51.200, 57.600, 35.600, 47.467, 59.333, 71.200, 42.800, 57.067,
                   71.333, 85.600, 50.000, 66.667, 83.333, 100.000]).reshape((1, 1, 6, 4))
    y0_nd = mx.nd.contrib.BilinearResize2D(x_nd, height=6, width=4, mode="size",
                                           align_corners=False)
    assert_almost_equal(y0, y0_nd.asnumpy(), atol=1e-3)
    y1_nd = mx.nd.contrib.BilinearResize2D(x_nd, height=6, width=4, mode="size",
                                           align_corners=True)
    assert_almost_equal(y1, y1_nd.asnumpy(), atol=1e-3)


@pytest.mark.parametrize("shape", [(2, 2, 20, 20), (2, 2, 21, 21)])
def test_bilinear_resize_op_modes(shape):
    """test_operator.py: test_bilinear_resize_op (check_bilinear_resize_modes_op).

    MXNet also runs check_numeric_gradient in each of these cases: 1600-1764 finite-difference
    forward passes each, about a minute in all here. The backward is checked exactly against
    MXNet's reference by check_symbolic_backward; the numeric check runs in the 'like' test."""
    for sh, sw in [(0.5, 0.5), (5, 10), (0.1, 0.2)]:
        _check_bilinear_resize_modes(shape, scale_height=sh, scale_width=sw, mode="odd_scale",
                                     numeric=False)
    for mode in ["to_even_down", "to_even_up", "to_odd_down", "to_odd_up"]:
        _check_bilinear_resize_modes(shape, mode=mode, numeric=False)


def test_bilinear_resize_op_like():
    """test_operator.py: test_bilinear_resize_op (mode='like')."""
    _check_bilinear_resize_modes((2, 2, 21, 21), shape_1=(2, 2, 10, 10), mode="like")
    _check_bilinear_resize_modes((2, 2, 10, 10), shape_1=(2, 2, 21, 21), mode="like")


def _roialign_forward_backward(data, rois, pooled_size, spatial_scale, sampling_ratio,
                               position_sensitive, dy):
    """MXNet's Python reference of test_op_roi_align (float32 throughout)."""
    t = np.float32

    def bilinear_interpolate(bottom, height, width, y, x):
        if y < -1.0 or y > height or x < -1.0 or x > width:
            return t(0.0), []
        x, y = t(max(0.0, x)), t(max(0.0, y))
        x_low, y_low = int(x), int(y)
        if x_low >= width - 1:
            x_low = x_high = width - 1
            x = t(x_low)
        else:
            x_high = x_low + 1
        if y_low >= height - 1:
            y_low = y_high = height - 1
            y = t(y_low)
        else:
            y_high = y_low + 1
        ly, lx = y - t(y_low), x - t(x_low)
        hy, hx = t(1.0) - ly, t(1.0) - lx
        w = [hy * hx, hy * lx, ly * hx, ly * lx]
        val = w[0] * bottom[y_low, x_low] + w[1] * bottom[y_low, x_high] \
            + w[2] * bottom[y_high, x_low] + w[3] * bottom[y_high, x_high]
        return val, [(y_low, x_low, w[0]), (y_low, x_high, w[1]), (y_high, x_low, w[2]),
                     (y_high, x_high, w[3])]

    _, c, h, w = data.shape
    ph_n, pw_n = pooled_size
    c_out = c // ph_n // pw_n if position_sensitive else c
    out = np.zeros((rois.shape[0], c_out, ph_n, pw_n), dtype=t)
    dx = np.zeros_like(data)
    for r in range(rois.shape[0]):
        batch_ind = int(rois[r, 0])
        sw, sh, ew, eh = rois[r, 1:5] * t(spatial_scale)
        roi_w, roi_h = t(max(ew - sw, 1.0)), t(max(eh - sh, 1.0))
        bin_h, bin_w = roi_h / t(ph_n), roi_w / t(pw_n)
        if sampling_ratio > 0:
            grid_h = grid_w = sampling_ratio
        else:
            grid_h, grid_w = int(np.ceil(roi_h / t(ph_n))), int(np.ceil(roi_w / t(pw_n)))
        count = t(grid_h * grid_w)
        for ch, ph, pw in itertools.product(range(c_out), range(ph_n), range(pw_n)):
            val = t(0.0)
            c_in = ch * ph_n * pw_n + ph * pw_n + pw if position_sensitive else ch
            for iy in range(grid_h):
                y = sh + t(ph) * bin_h + (t(iy) + t(0.5)) * bin_h / t(grid_h)
                for ix in range(grid_w):
                    x = sw + t(pw) * bin_w + (t(ix) + t(0.5)) * bin_w / t(grid_w)
                    v, g = bilinear_interpolate(data[batch_ind, c_in], h, w, y, x)
                    val += v
                    for qy, qx, qw in g:
                        dx[batch_ind, c_in, qy, qx] += dy[r, ch, ph, pw] * qw / count
            out[r, ch, ph, pw] = val / count
    return out, [dx, np.zeros_like(rois)]


@pytest.mark.parametrize("sampling_ratio,position_sensitive", [(0, False), (2, False),
                                                               (0, True)])
def test_op_roi_align_value(sampling_ratio, position_sensitive):
    """test_operator.py: test_op_roi_align (test_roi_align_value)."""
    dlen, n, c, h, w, r = 224, 5, 3, 16, 16, 7
    pooled_size = (3, 4)
    c = c * pooled_size[0] * pooled_size[1] if position_sensitive else c
    spatial_scale = h * 1.0 / dlen
    data = mx.nd.array(np.arange(n * c * w * h).reshape((n, c, h, w)), dtype=np.float32)
    center_xy = mx.nd.random.uniform(0, dlen, (r, 2), dtype=np.float32)
    wh = mx.nd.random.uniform(0, dlen, (r, 2), dtype=np.float32)
    batch_ind = mx.nd.array(np.random.randint(0, n, size=(r, 1)))
    pos = mx.nd.concat(center_xy - wh / 2, center_xy + wh / 2, dim=1)
    rois = mx.nd.concat(batch_ind, pos, dim=1)
    data.attach_grad()
    rois.attach_grad()
    with mx.autograd.record():
        output = mx.nd.contrib.ROIAlign(data, rois, pooled_size=pooled_size,
                                        spatial_scale=spatial_scale, sample_ratio=sampling_ratio,
                                        position_sensitive=position_sensitive)
    c_out = c // pooled_size[0] // pooled_size[1] if position_sensitive else c
    dy = mx.nd.random.uniform(-1, 1, (r, c_out) + pooled_size, dtype=np.float32)
    output.backward(dy)
    real_output, [dx, drois] = _roialign_forward_backward(
        data.asnumpy(), rois.asnumpy(), pooled_size, spatial_scale, sampling_ratio,
        position_sensitive, dy.asnumpy())
    assert_almost_equal(output, real_output, atol=1e-3)
    assert_almost_equal(data.grad, dx, atol=1e-3)
    assert_almost_equal(rois.grad, drois, atol=1e-3)


def test_op_roi_align_autograd():
    """test_operator.py: test_op_roi_align (test_roi_align_autograd)."""
    test = mx.symbol.contrib.ROIAlign(data=mx.symbol.Variable(name="data"),
                                      rois=mx.symbol.Variable(name="rois"), pooled_size=(4, 4),
                                      spatial_scale=1, sample_ratio=0)
    x1 = np.random.rand(4, 1, 12, 12).astype("float64")
    x2 = np.array([[0, 1.1, 1.1, 6.2, 6.2], [2, 6.1, 2.1, 8.2, 11.2],
                   [1, 3.1, 1.1, 5.2, 10.2]], dtype="float64")
    for req in ("write", "add"):
        check_numeric_gradient(sym=test, location=[x1, x2],
                               grad_nodes={"data": req, "rois": "null"},
                               numeric_eps=1e-4, rtol=1e-1, atol=1e-4, ctx=default_context())


def test_quadratic_function():
    """test_operator.py: test_quadratic_function."""
    def f(x, a, b, c):
        return a * x**2 + b * x + c

    a, b, c = np.random.random_sample(3)
    quad_sym = mx.sym.contrib.quadratic(data=mx.symbol.Variable("data"), a=a, b=b, c=c)
    for dtype in [np.float16, np.float32, np.float64]:
        tol = 1e-2 if dtype is np.float16 else 1e-5
        for ndim in range(1, 6):
            data_np = np.random.randn(*rand_shape_nd(ndim, 5)).astype(dtype)
            expected = f(data_np, a, b, c)
            output = mx.nd.contrib.quadratic(mx.nd.array(data_np), a=a, b=b, c=c)
            assert_almost_equal(output, expected, rtol=tol, atol=tol)
            check_symbolic_forward(quad_sym, [data_np], [expected], rtol=tol, atol=tol)
            check_symbolic_backward(quad_sym, [data_np], [np.ones(expected.shape)],
                                    [2 * a * data_np + b], rtol=tol, atol=tol)
            check_numeric_gradient(quad_sym, [data_np], atol=0.001)


def test_allclose_function():
    """test_operator.py: test_allclose_function (allclose_function on the default context)."""
    def get_random(base, percent=1.):
        return base * (1 + percent * (2 * np.random.random_sample() - 1.) / 100)

    for dtype in [np.float16, np.float32, np.float64]:
        rtol = get_random(1e-2 if dtype is np.float16 else 1e-5)
        atol = get_random(1e-4 if dtype is np.float16 else 1e-7)
        for ndim in range(1, 10):
            shape = rand_shape_nd(ndim, 8)
            a_np = np.random.randn(*shape).astype(dtype)
            with np.errstate(over="ignore"):     # 1e7 overflows float16, as in MXNet's test
                b_np = (a_np + np.random.randn(*shape).astype(dtype) / 10000000).astype(dtype)
            expected = np.allclose(a_np, b_np, rtol, atol)
            output = mx.nd.contrib.allclose(mx.nd.array(a_np, dtype=dtype),
                                            mx.nd.array(b_np, dtype=dtype), rtol=rtol, atol=atol)
            assert expected == (output.asnumpy() == 1)


def test_init_arange_like():
    """test_operator.py: test_init (test_arange_like, test_arange_like_without_axis)."""
    shape_list = [(10,), (10, 20), (10, 20, 30), (10, 20, 30, 40)]
    for sh in shape_list:
        for axis in [0, -1]:
            data = mx.nd.array(np.random.rand(*sh))
            nd_out = mx.nd.contrib.arange_like(data, start=0, axis=axis)
            assert_almost_equal(nd_out.asnumpy(), np.arange(start=0, stop=sh[axis]))
    for sh in shape_list:
        val = np.random.rand(*sh)
        nd_out = mx.nd.contrib.arange_like(mx.nd.array(val), start=0)
        assert_almost_equal(nd_out.asnumpy(), np.arange(start=0, stop=val.size).reshape(sh))


def test_index_copy():
    """test_operator.py: test_index_copy."""
    x = mx.nd.zeros((5, 3))
    t = mx.nd.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    index = mx.nd.array([0, 4, 2], dtype=np.int64)
    tensor = mx.nd.array([[1, 2, 3], [0, 0, 0], [7, 8, 9], [0, 0, 0], [4, 5, 6]])
    x_grad = mx.nd.array([[0, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]])
    t_grad = mx.nd.array([[1, 1, 1], [1, 1, 1], [1, 1, 1]])

    t.attach_grad()
    with mx.autograd.record():
        out = mx.nd.contrib.index_copy(x, index, t)
    out.backward()
    assert same(out.asnumpy(), tensor.asnumpy())
    assert same(t.grad.asnumpy(), t_grad.asnumpy())

    x.attach_grad()
    t.attach_grad()
    with mx.autograd.record():
        out = mx.nd.contrib.index_copy(x, index, t)
    out.backward()
    assert same(out.asnumpy(), tensor.asnumpy())
    assert same(x.grad.asnumpy(), x_grad.asnumpy())
    assert same(t.grad.asnumpy(), t_grad.asnumpy())


def test_boolean_mask():
    """test_operator.py: test_boolean_mask."""
    data = mx.nd.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    index = mx.nd.array([0, 1, 0])
    data.attach_grad()
    with mx.autograd.record():
        out = mx.nd.contrib.boolean_mask(data, index)
    out.backward()
    data.grad.wait_to_read()
    assert same(out.asnumpy(), np.array([[4, 5, 6]]))
    assert same(data.grad.asnumpy(), np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]))

    # test 0-size output. MXNet needs mx.set_np_shape(True) for a (0, 3) array; mxplug has
    # zero-size arrays without it (and refuses set_np_shape(True), see mxplug.util).
    data = mx.nd.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    index = mx.nd.array([0, 0, 0])
    data.attach_grad()
    with mx.autograd.record():
        out = mx.nd.contrib.boolean_mask(data, index)
    out.backward()
    data.grad.wait_to_read()
    assert same(out.asnumpy(), np.zeros((0, 3)))
    assert same(data.grad.asnumpy(), np.zeros((3, 3)))

    # test gradient
    shape = (100, 30)
    a = mx.nd.random.randint(0, 100, shape=shape)
    a.attach_grad()
    bi = mx.nd.random.randint(0, 100, shape=shape[0:1]) > 50
    ci = mx.nd.random.randint(0, 100, shape=shape[0:1]) < 50
    mx_grad = mx.nd.zeros_like(a)
    mx.autograd.mark_variables([a], [mx_grad], grad_reqs="add")
    big_t = 3
    for _ in range(big_t):
        with mx.autograd.record():
            b = mx.nd.contrib.boolean_mask(a, bi)
            c = mx.nd.contrib.boolean_mask(a, ci)
            su = b.sum() + c.sum()
            su.backward()
    grad = (bi + ci).asnumpy().reshape((-1,) + (1,) * (len(shape) - 1))
    grad = np.tile(grad, (1,) + shape[1:]) * big_t
    assert_allclose(a.grad.asnumpy(), grad)
    a_np = a.asnumpy()
    assert same(b.asnumpy(), a_np[bi.asnumpy().astype("bool")])
    assert same(c.asnumpy(), a_np[ci.asnumpy().astype("bool")])


def test_div_sqrt_dim():
    """test_operator.py: test_div_sqrt_dim."""
    data_tmp = np.random.normal(0, 1, (5, 10, 8))
    test = mx.sym.contrib.div_sqrt_dim(mx.symbol.Variable("data"))
    check_numeric_gradient(test, [data_tmp], numeric_eps=1E-2)
    check_symbolic_forward(test, [data_tmp], [data_tmp / np.sqrt(data_tmp.shape[-1])])


def test_index_array():
    """test_operator.py: test_index_array (default, select_axes and the zero-size cases)."""
    def check(shape, axes=None, expected=None):
        data = mx.symbol.Variable("data")
        index_array = mx.sym.contrib.index_array(data, axes=axes) if axes is not None else \
            mx.sym.contrib.index_array(data)
        input_array = np.ones(shape)
        if expected is None:
            mgrid = np.mgrid[tuple(slice(0, x) for x in shape)]
            expected = np.stack(mgrid, axis=-1)
            if axes is not None:
                expected = expected[..., axes]
        check_symbolic_forward(index_array, [input_array], [expected])
        check_symbolic_backward(index_array, [input_array], [np.ones(expected.shape)],
                                [np.zeros_like(input_array)])

    for shape in [(10,), (7, 5, 29), (5, 7, 11, 13, 17, 19)]:
        check(shape)
    for axes in [(3,), (4, 1), (5, 1, 3), (-1,), (-5, -1, -3)]:
        check((5, 7, 11, 13, 17, 19), axes=axes)
    # MXNet runs the zero-size cases under @mx.use_np_shape; mxplug has zero-size arrays without
    # it. (MXNet writes the second expected array as np.zeros((0, 0, 2)); both are empty, and
    # the output's shape is (0, 0, 0, 0, 2).) test_index_array_default_zero_dim is left out: it
    # needs a 0-d input, which MXNet 1.x's legacy shapes (and mxplug) do not have.
    check((0, 0, 0), expected=np.zeros((0, 0, 0, 3)))
    check((0, 0, 0, 0), axes=(2, 1), expected=np.zeros((0, 0, 0, 0, 2)))
