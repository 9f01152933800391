"""ONNX export of the ops with integer or shaped side inputs (sorting, sequences, masked softmax,
gather, attention, box ops) and of edge values (a pooling window in the padding, x % 0): run in
onnxruntime and compared with mxplug."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx

onnx = pytest.importorskip("onnx", reason="ONNX export needs onnx: pip install 'mxplug[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the exported models run in onnxruntime: "
                          "pip install 'mxplug[onnx]'")
from .onnx_helpers import _export_sym_and_compare, _run  # noqa: E402  (needs onnx)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- ops with integer or shaped side inputs -------------------------------------------------------
def test_topk_argsort_ties_keep_index_order(tmp_path):
    """Equal elements come out in index order, ascending or not (MXNet's stable sort)."""
    x = mx.sym.var("x")
    sym = mx.sym.Group([mx.sym.topk(x, k=4, dtype="int64"),
                        mx.sym.topk(x, k=4, is_ascend=True, dtype="int64"),
                        mx.sym.argsort(x, is_ascend=False, dtype="int32")])
    data = np.array([[3, 1, 3, 2, 1, 3]], np.int64)
    path = _export_sym_and_compare(sym, {"x": data}, {}, tmp_path)
    got = _run(path, [data])
    assert got[0].tolist() == [[0, 2, 5, 3]] and got[1].tolist() == [[1, 4, 3, 0]]
    assert got[2].tolist() == [[0, 2, 5, 3, 1, 4]]


def test_sequence_ops(tmp_path, rng):
    d, n = mx.sym.var("data"), mx.sym.var("lens")
    sym = mx.sym.Group([
        mx.sym.SequenceMask(d, n, use_sequence_length=True, value=-2.0),
        mx.sym.SequenceLast(d, n, use_sequence_length=True), mx.sym.SequenceLast(d),
        mx.sym.SequenceReverse(d, n, use_sequence_length=True), mx.sym.SequenceReverse(d),
        mx.sym.SequenceMask(mx.sym.swapaxes(d, dim1=0, dim2=1), n, use_sequence_length=True,
                            axis=1),
        mx.sym.SequenceLast(mx.sym.swapaxes(d, dim1=0, dim2=1), n, use_sequence_length=True,
                            axis=1)])
    inputs = {"data": rng.uniform(-1, 1, (4, 3, 2)).astype(np.float32),
              "lens": np.array([4, 1, 2], np.float32)}
    path = _export_sym_and_compare(sym, inputs, {}, tmp_path)
    reversed_ = _run(path, inputs)[3]
    np.testing.assert_array_equal(reversed_[:2, 2], inputs["data"][1::-1, 2])
    np.testing.assert_array_equal(reversed_[2:, 2], inputs["data"][2:, 2])  # past the length


def test_softmax_use_length_zero_length_gives_zeros(tmp_path, rng):
    """Positions at or past the length give 0, and a length of 0 a row of 0s (MXNet 1.9.1)."""
    d, n = mx.sym.var("data"), mx.sym.var("length")
    sym = mx.sym.Group([mx.sym.softmax(d, n, use_length=True, axis=-1, temperature=2.0),
                        mx.sym.softmax(mx.sym.swapaxes(d, dim1=0, dim2=1), n, use_length=True,
                                       axis=0)])
    inputs = {"data": rng.uniform(-1, 1, (3, 4)).astype(np.float32),
              "length": np.array([0, 2, 4], np.int32)}
    path = _export_sym_and_compare(sym, inputs, {}, tmp_path)
    got = _run(path, inputs)[0]
    assert got[0].tolist() == [0, 0, 0, 0] and got[1, 2:].tolist() == [0, 0]
    np.testing.assert_allclose(got[1:].sum(axis=1), [1, 1], rtol=1e-6)


def test_max_pool_window_in_padding_is_lowest_float():
    """MXNet 1.9.1 outputs the lowest finite value (not -inf) for a max window without data."""
    x = mx.nd.array(np.arange(1, 9, dtype=np.float32).reshape(1, 1, 1, 8))
    y = mx.nd.Pooling(x, kernel=(1, 3), stride=(1, 4), pool_type="max",
                      pooling_convention="full")
    assert y.asnumpy().ravel().tolist() == [3, 7, float(np.finfo(np.float32).min)]


@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_mod_by_zero_gives_zero(tmp_path, dtype):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    sym = mx.sym.broadcast_mod(a, b)
    inputs = {"a": np.array([[5, -7, 9]], dtype), "b": np.array([[0, 3, -4]], dtype)}
    want = sym.eval(**{k: mx.nd.array(v, dtype=v.dtype) for k, v in inputs.items()})[0]
    path = mx.onnx.export_model(sym, {}, [(1, 3), (1, 3)], [dtype, dtype],
                                str(tmp_path / "mod.onnx"))
    assert _run(path, inputs)[0].tolist() == want.asnumpy().tolist() == [[0, 2, -3]]


def test_gather_nd_and_roi_align(tmp_path, rng):
    x, i, r = mx.sym.var("x"), mx.sym.var("i"), mx.sym.var("r")
    sym = mx.sym.Group([mx.sym.gather_nd(x, i),
                        mx.sym.contrib.ROIAlign(x, r, pooled_size=(2, 3), spatial_scale=0.5,
                                                sample_ratio=2)])
    rois = np.array([[0, 1, 1, 9, 7], [1, 0, 2, 5, 11.5], [0, 3, 3, 4, 4]], np.float32)
    inputs = {"x": rng.uniform(-1, 1, (2, 3, 6, 8)).astype(np.float32),
              "i": np.array([[1, -2, 0], [2, 0, -1]], np.float32), "r": rois}
    path = _export_sym_and_compare(sym, inputs, {}, tmp_path)
    np.testing.assert_array_equal(_run(path, inputs)[0][0], inputs["x"][1, 2])


def test_interleaved_attention_ops(tmp_path, rng):
    qkv, att, q, kv = (mx.sym.var(n) for n in ("qkv", "att", "q", "kv"))
    c = mx.sym.contrib
    sym = mx.sym.Group([c.interleaved_matmul_selfatt_qk(qkv, heads=2),
                        c.interleaved_matmul_selfatt_valatt(qkv, att, heads=2),
                        c.interleaved_matmul_encdec_qk(q, kv, heads=2),
                        c.interleaved_matmul_encdec_valatt(kv, att, heads=2)])
    inputs = {"qkv": rng.uniform(-1, 1, (4, 3, 2 * 3 * 5)).astype(np.float32),
              "att": rng.uniform(0, 1, (3 * 2, 4, 4)).astype(np.float32),
              "q": rng.uniform(-1, 1, (4, 3, 2 * 5)).astype(np.float32),
              "kv": rng.uniform(-1, 1, (4, 3, 2 * 2 * 5)).astype(np.float32)}
    _export_sym_and_compare(sym, inputs, {}, tmp_path)


@pytest.mark.parametrize("attrs", [
    dict(topk=-1), dict(topk=2, valid_thresh=0.15),
    dict(in_format="center", out_format="corner", overlap_thresh=0.3),
    dict(id_index=6, background_id=0, force_suppress=True)])
def test_box_nms(tmp_path, attrs):
    # rows [id?, score, x1, y1, x2, y2, class]: boxes 0 and 1 overlap (IoU 0.68), 3 is alone
    one = [[0, 0.9, 0.1, 0.1, 0.5, 0.5, 1], [0, 0.8, 0.12, 0.12, 0.52, 0.5, 1],
           [0, 0.1, 0.6, 0.6, 0.9, 0.9, 1], [0, 0.7, 0.6, 0.1, 0.9, 0.4, 0],
           [0, 0.3, 0.15, 0.1, 0.5, 0.45, 1]]
    other = [[0, 0.2, 0.1, 0.1, 0.5, 0.5, 1], [0, 0.6, 0.1, 0.1, 0.5, 0.5, 1],
             [0, 0.95, 0.0, 0.0, 0.2, 0.2, 1], [0, 0.05, 0.6, 0.6, 0.9, 0.9, 1],
             [0, 0.4, 0.6, 0.6, 0.8, 0.9, 1]]
    data = np.array([one, other], np.float32)
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), coord_start=2, score_index=1, **attrs)
    path = _export_sym_and_compare(sym, {"data": data}, {}, tmp_path)
    got = _run(path, [data])[0]
    assert (got[:, -1] == -1).all() and (got[0, 0] != -1).all()   # padding rows, a survivor


def test_contrib_onnx_is_an_importable_module():
    import mxplug.contrib.onnx as onnx_mxnet

    assert mx.contrib.onnx is onnx_mxnet and onnx_mxnet.export_model is mx.onnx.export_model
    assert onnx_mxnet.import_model is mx.onnx.import_model  # tests/test_onnx_import.py
