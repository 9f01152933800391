"""MXNet 1.x's contrib quantization ops (``mxplug/ops/contrib_quantize.py``): outputs MXNet 1.9.1
(CPU build) computed, kept as literals, for ties, saturation, NaN/inf, zero ranges, calibration
and ``out_type='auto'``; round trips, the symbol front end, no gradient, and the errors; on every
backend through ``ctx``."""
from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd

C = mx.nd.contrib
NAN, INF = float("nan"), float("inf")
# values that land on exact ties (k + 0.5) at scale 1, saturate, or are not finite
TIES = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.5, -127.5, -129.0, 200.0, NAN, INF, -INF, 0.0]


def nd(x, ctx, dtype="float32"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx, dtype=dtype)


def rng1(v, ctx):
    return nd([v], ctx)


def check(outs, data, lo, hi, dtype):
    """(data, min, max) equal to MXNet's, with data of ``dtype`` and float32 (1,) ranges."""
    got, gmin, gmax = outs
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.asnumpy(), np.asarray(data, dtype=dtype))
    for r, want in ((gmin, lo), (gmax, hi)):
        assert r.dtype == np.float32 and r.shape == (1,)
        np.testing.assert_array_equal(r.asnumpy(), np.asarray([want], dtype=np.float32))


# every expected value in the tests below was computed by MXNet 1.9.1 for the same call
def test_quantize_matches_mxnet(ctx):
    x = nd(TIES, ctx)
    check(C.quantize(x, rng1(-127.0, ctx), rng1(127.0, ctx), out_type="int8"),
          [-2, -2, 0, 0, 2, 2, 126, 127, -128, -128, 127, 127, 127, -128, 0], -127, 127, "int8")
    check(C.quantize(x, rng1(-127.0, ctx), rng1(127.0, ctx), out_type="uint8"),
          [0, 0, 0, 1, 3, 5, 254, 255, 0, 0, 255, 0, 255, 0, 0], -127, 127, "uint8")
    y = nd([-1.0, 0.5, 1.0, 2.0, 3.0], ctx)
    # uint8 (the default) scales by max(|min|, |max|) with zero at 0 and echoes the range
    check(C.quantize(y, rng1(-3.0, ctx), rng1(2.0, ctx)), [0, 42, 85, 170, 255], -3, 2, "uint8")
    check(C.quantize(y, rng1(-3.0, ctx), rng1(2.0, ctx), out_type="int8"),
          [-42, 21, 42, 85, 127], -3, 3, "int8")
    check(C.quantize(nd([-1.0, 0.0, 0.25], ctx), rng1(0.0, ctx), rng1(0.0, ctx), out_type="int8"),
          [-128, 127, 127], -0.0, 0.0, "int8")


def test_quantize_v2_matches_mxnet(ctx):
    x = nd([-1.0, -0.5, 0.3, 0.5, 0.9999, 1.5, -2.0], ctx)
    check(C.quantize_v2(x), [-64, -32, 19, 32, 64, 96, -128], -2, 2, "int8")
    check(C.quantize_v2(x, out_type="uint8"), [0, 0, 38, 64, 128, 192, 0], -2, 1.5, "uint8")
    t = nd(TIES, ctx)
    check(C.quantize_v2(t, min_calib_range=-127.5, max_calib_range=127.5),
          [-2, -2, 0, 0, 2, 2, 126, 127, -128, -128, 127, 127, 127, -128, 0], -127.5, 127.5,
          "int8")
    check(C.quantize_v2(t, out_type="uint8", min_calib_range=-127.5, max_calib_range=127.5),
          [0, 0, 0, 1, 3, 5, 253, 255, 0, 0, 255, 0, 255, 0, 0], -127.5, 127.5, "uint8")
    y = nd([-1.0, 0.25, 0.5, 1.0], ctx)
    check(C.quantize_v2(y, out_type="auto", min_calib_range=0.0, max_calib_range=1.0),
          [0, 64, 128, 255], 0, 1, "uint8")
    check(C.quantize_v2(y, out_type="auto", min_calib_range=-0.1, max_calib_range=1.0),
          [-128, 32, 64, 127], -1, 1, "int8")
    # one end of the calibration range alone is ignored: the data's range is used
    check(C.quantize_v2(y, min_calib_range=-4.0), [-128, 32, 64, 127], -1, 1, "int8")
    check(C.quantize_v2(nd([0.0, 0.0], ctx)), [127, 127], -0.0, 0.0, "int8")
    check(C.quantize_v2(nd([1.0, NAN, -2.0], ctx)), [64, 127, -128], -2, 2, "int8")


def test_quantize_v2_passes_quantized_data_through(ctx):
    check(C.quantize_v2(nd([1, -2, 127], ctx, "int8")), [1, -2, 127], -127.5, 127.5, "int8")
    check(C.quantize_v2(nd([1, -2, 127], ctx, "int8"), min_calib_range=-1.0,
                        max_calib_range=1.0), [1, -2, 127], -1, 1, "int8")
    check(C.quantize_v2(nd([1, 2, 255], ctx, "uint8"), out_type="uint8"), [1, 2, 255], 0, 255.5,
          "uint8")
    # 'auto' keeps uint8 data uint8 (MXNet reinterprets its bits as int8)
    check(C.quantize_v2(nd([1, 2, 255], ctx, "uint8"), out_type="auto"), [1, 2, 255], 0, 255.5,
          "uint8")


def test_dequantize_matches_mxnet(ctx):
    got = C.dequantize(nd([-128, -1, 0, 1, 127], ctx, "int8"), rng1(-1.0, ctx), rng1(2.0, ctx))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.asnumpy(), np.float32(
        [-2.007843255996704, -0.01568627543747425, 0.0, 0.01568627543747425, 1.992156982421875]))
    got = C.dequantize(nd([0, 1, 128, 255], ctx, "uint8"), rng1(-3.0, ctx), rng1(2.0, ctx))
    np.testing.assert_array_equal(got.asnumpy(), np.float32(
        [0.0, 0.011741682887077332, 1.5029354095458984, 2.994129180908203]))


def test_requantize_matches_mxnet(ctx):
    lo, hi = rng1(-3.0, ctx), rng1(2.0, ctx)
    check(C.requantize(nd([0, 1000000000, -2000000000], ctx, "int32"), lo, hi),
          [0, 63, -127], -2.7939677238464355, 2.7939677238464355, "int8")
    small = nd([0, 100, -200, 50], ctx, "int32")
    r = 2.7939677238464355e-07
    check(C.requantize(small, lo, hi), [0, 64, -127, 32], -r, r, "int8")
    check(C.requantize(small, lo, hi, out_type="uint8"), [0, 128, 0, 64], 0, r, "uint8")
    check(C.requantize(small, lo, hi, min_calib_range=-1e-7, max_calib_range=1e-7),
          [0, 127, -128, 89], -1e-7, 1e-7, "int8")
    check(C.requantize(nd([8421504, 16843009, 25264514, -8421504], ctx, "int32"), rng1(-1.0, ctx),
                       rng1(1.0, ctx), out_type="auto", min_calib_range=0.0, max_calib_range=0.5),
          [2, 4, 6, 0], 0, 0.5, "uint8")
    check(C.requantize(nd([0, 0], ctx, "int32"), lo, hi), [127, 127], -0.0, 0.0, "int8")


def test_requantize_takes_the_largest_magnitude_exactly(ctx):
    """MXNet 1.9.1 overflows converting a magnitude >= 2**31 - 64 to int32 and returns
    int8 [0, -127] with range (1, -1) here; the true range is (-1, 1)."""
    check(C.requantize(nd([0, 2**31 - 1], ctx, "int32"), rng1(-1.0, ctx), rng1(1.0, ctx)),
          [0, 127], -1.0, 1.0, "int8")


def test_round_trip_is_within_half_a_step(ctx):
    x = np.random.default_rng(3).uniform(-3, 2, (4, 50)).astype(np.float32)
    for out_type, q in (("int8", 127.5), ("uint8", 255.5)):
        data = nd(np.abs(x) if out_type == "uint8" else x, ctx)
        back = C.dequantize(*C.quantize_v2(data, out_type=out_type)).asnumpy()
        step = np.abs(data.asnumpy()).max() / q
        assert np.abs(back - data.asnumpy()).max() <= 0.5 * step * (1 + 1e-5)


def test_symbol_front_end(ctx):
    x = mx.sym.var("x", shape=(2, 3))
    q = mx.sym.contrib.quantize_v2(x, out_type="auto", min_calib_range=0.0, max_calib_range=1.0)
    assert len(q.list_outputs()) == 3 and q.list_arguments() == ["x"]
    _, outs, _ = q.infer_type(x="float32")
    assert [np.dtype(t) for t in outs] == [np.uint8, np.float32, np.float32]
    _, outs, _ = q.infer_shape(x=(2, 3))
    assert outs == [(2, 3), (1,), (1,)]
    data = nd([[-1.0, 0.25, 0.5], [1.0, 0.0, 2.0]], ctx)
    check(q.eval(ctx, x=data), [[0, 64, 128], [255, 0, 255]], 0, 1, "uint8")
    qv1 = mx.sym.contrib.quantize(mx.sym.var("y"), out_type="int8")
    assert len(qv1.list_arguments()) == 3        # data, min_range, max_range
    args, outs, _ = qv1.infer_shape(y=(4,))
    assert args == [(4,), (1,), (1,)] and outs == [(4,), (1,), (1,)]
    lo, hi = (mx.sym.var(n, shape=(1,), dtype="float32") for n in ("lo", "hi"))
    r = mx.sym.contrib.requantize(mx.sym.var("d", shape=(4,), dtype="int32"), lo, hi)
    _, outs, _ = r.infer_type()
    assert [np.dtype(t) for t in outs] == [np.int8, np.float32, np.float32]
    assert len(mx.sym.contrib.dequantize(x).list_outputs()) == 1


def test_no_gradient_flows_through_quantization(ctx):
    x = nd([0.5, 1.0], ctx)
    x.attach_grad()
    with autograd.record():
        back = C.dequantize(*C.quantize_v2(x))
        loss = mx.nd.sum(back * x)
    loss.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), back.asnumpy())   # only the direct path


@pytest.mark.parametrize("call,match", [
    (lambda c: C.quantize(nd([1.0], c, "float64"), rng1(-1, c), rng1(1, c)),
     r"_contrib_quantize: .*data of dtype float32.*float64"),
    (lambda c: C.quantize(nd([1.0], c), nd([-1, -2], c), rng1(1, c)),
     r"_contrib_quantize: .*min_range of shape \(1,\).*\(2,\)"),
    (lambda c: C.quantize(nd([1.0], c), rng1(-1, c), rng1(1, c), out_type="auto"),
     r"_contrib_quantize: attribute out_type='auto'"),
    (lambda c: C.quantize_v2(nd([1.0], c, "int32")),
     r"_contrib_quantize_v2: .*float32 or int8 or uint8.*int32"),
    (lambda c: C.quantize_v2(nd([1], c, "uint8"), out_type="int8"),
     r"_contrib_quantize_v2: .*out_type 'uint8' or 'auto'"),
    (lambda c: C.quantize_v2(nd(np.zeros((0,)), c)), r"_contrib_quantize_v2: .*non-empty"),
    (lambda c: C.dequantize(nd([1], c, "int32"), rng1(-1, c), rng1(1, c)),
     r"_contrib_dequantize: .*int8 or uint8.*int32"),
    (lambda c: C.dequantize(nd([1], c, "int8"), rng1(-1, c), rng1(1, c), out_type="float64"),
     r"_contrib_dequantize: attribute out_type"),
    (lambda c: C.requantize(nd([1.0], c), rng1(-1, c), rng1(1, c)),
     r"_contrib_requantize: .*int32.*float32"),
    (lambda c: C.requantize(nd([1], c, "int32"), rng1(-1, c), nd([1.0], c, "float64")),
     r"_contrib_requantize: .*max_range of dtype float32"),
])
def test_bad_inputs_are_rejected(ctx, call, match):
    with pytest.raises(mx.base.MXNetError, match=match):
        call(ctx)
