"""MXNet 1.x's ``interleaved_matmul_*`` attention ops (``mxplug/ops/contrib_attention.py``): values
and gradients MXNet 1.9.1 computed, a whole multi-head self-attention as GluonNLP builds it from
them, the symbol front end, and the shape/dtype errors; on every backend through ``ctx``."""
from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd

C = mx.nd.contrib
F32 = dict(rtol=1e-5, atol=1e-6)


def nd(x, ctx, dtype="float32"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx, dtype=dtype)


def _qkv(ctx):
    """(seq 2, batch 1, heads 2 * 3 * head_dim 2)."""
    return nd(np.arange(24.0).reshape(2, 1, 12) / 10 - 0.5, ctx)


def test_selfatt_values_and_gradients_match_mxnet(ctx):
    # every literal below was computed by MXNet 1.9.1 for the same inputs and head gradients
    qkv = _qkv(ctx)
    qkv.attach_grad()
    with autograd.record():
        out = C.interleaved_matmul_selfatt_qk(qkv, heads=2)
    out.backward(nd(np.arange(8.0).reshape(2, 2, 2) / 4, ctx))
    np.testing.assert_allclose(out.asnumpy(), [[[0.16263457, -0.60104078],
                                                [-0.26162952, 1.01116276]],
                                               [[0.07778175, 0.33234021],
                                                [0.67175144, 2.96277738]]], **F32)
    np.testing.assert_allclose(qkv.grad.asnumpy(), [
        [[0.15909901, 0.17677669, 0.24748737, 0.28284273, 0, 0,
          1.53795719, 1.69705629, 1.44956887, 1.62634552, 0, 0]],
        [[0.37123105, 0.45961937, 0.2828427, 0.35355338, 0, 0,
          2.17435336, 2.40416312, 1.69705617, 1.90918827, 0, 0]]], **F32)

    att = nd([[[0.2, 0.8], [0.6, 0.4]], [[1.0, 0.0], [0.3, 0.7]]], ctx)
    qkv = _qkv(ctx)
    qkv.attach_grad()
    att.attach_grad()
    with autograd.record():
        out = C.interleaved_matmul_selfatt_valatt(qkv, att, heads=2)
    out.backward(nd(np.arange(8.0).reshape(2, 1, 4) / 8, ctx))
    np.testing.assert_allclose(out.asnumpy(), [[[0.86, 0.96, 0.5, 0.6]],
                                               [[0.38, 0.48, 1.34, 1.44]]], **F32)
    np.testing.assert_allclose(qkv.grad.asnumpy(), [
        [[0, 0, 0, 0, 0.3, 0.4, 0, 0, 0, 0, 0.475, 0.6375]],
        [[0, 0, 0, 0, 0.2, 0.35, 0, 0, 0, 0, 0.525, 0.6125]]], **F32)
    np.testing.assert_allclose(att.grad.asnumpy(), [[[0.0, 0.15], [-0.05, 1.3]],
                                                    [[0.35, 1.1], [0.9, 2.85]]], **F32)


def test_encdec_values_match_mxnet(ctx):
    # literals computed by MXNet 1.9.1
    q = nd([[[1.0, -1.0, 0.5, 2.0]]], ctx)                       # (1, 1, heads 2 * head_dim 2)
    kv = nd(np.arange(24.0).reshape(3, 1, 8) / 8 - 1, ctx)      # (3, 1, heads 2 * 2 * 2)
    np.testing.assert_allclose(C.interleaved_matmul_encdec_qk(q, kv, heads=2).asnumpy(),
                               [[[-0.08838835, -0.08838835, -0.08838835]],
                                [[-0.70710677, 1.06066012, 2.82842708]]], **F32)
    att = nd([[[0.2, 0.3, 0.5]], [[0.0, 1.0, 0.0]]], ctx)
    np.testing.assert_allclose(C.interleaved_matmul_encdec_valatt(kv, att, heads=2).asnumpy(),
                               [[[0.55, 0.675, 0.75, 0.875]]], **F32)


def _attention_numpy(x, wq, wk, wv, heads, mem=None):
    """Plain multi-head attention, batch-major: softmax(q k^T / sqrt(d)) v per head."""
    src = x if mem is None else mem
    q, k, v = x @ wq, src @ wk, src @ wv                      # (seq, batch, heads * d)
    d = q.shape[-1] // heads

    def split(t):
        return t.reshape(t.shape[0], t.shape[1], heads, d).transpose(1, 2, 0, 3)

    s = split(q) @ split(k).transpose(0, 1, 3, 2) / np.sqrt(d)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = p @ split(v)                                          # (batch, heads, seq, d)
    return o.transpose(2, 0, 1, 3).reshape(x.shape[0], x.shape[1], heads * d)


def _interleave(parts, heads):
    """Weights (in, heads * d) each -> (in, heads * len(parts) * d), per head part after part."""
    n, hd = parts[0].shape
    d = hd // heads
    return np.stack([p.reshape(n, heads, d) for p in parts], axis=2).reshape(n, -1)


def test_multihead_attention_as_gluonnlp_builds_it(ctx):
    """GluonNLP's cells: one projection to interleaved q/k/v, scores, softmax, weighted values;
    the same attention computed plainly in NumPy, forward and a gradient's finite difference."""
    rng = np.random.default_rng(0)
    seq, batch, heads, d, units, mem_len = 5, 2, 3, 4, 6, 4
    x = rng.normal(size=(seq, batch, units))
    mem = rng.normal(size=(mem_len, batch, units))
    wq, wk, wv = (rng.normal(size=(units, heads * d)) / 2 for _ in range(3))

    def self_att(xa):
        qkv = mx.nd.dot(xa, nd(_interleave([wq, wk, wv], heads), ctx, "float64"))
        scores = C.interleaved_matmul_selfatt_qk(qkv, heads=heads)
        return C.interleaved_matmul_selfatt_valatt(qkv, mx.nd.softmax(scores, axis=-1),
                                                   heads=heads)

    xa = nd(x, ctx, "float64")
    np.testing.assert_allclose(self_att(xa).asnumpy(), _attention_numpy(x, wq, wk, wv, heads),
                               rtol=1e-10, atol=1e-12)
    q = mx.nd.dot(xa, nd(wq, ctx, "float64"))
    kv = mx.nd.dot(nd(mem, ctx, "float64"), nd(_interleave([wk, wv], heads), ctx, "float64"))
    att = mx.nd.softmax(C.interleaved_matmul_encdec_qk(q, kv, heads=heads), axis=-1)
    np.testing.assert_allclose(C.interleaved_matmul_encdec_valatt(kv, att, heads=heads).asnumpy(),
                               _attention_numpy(x, wq, wk, wv, heads, mem),
                               rtol=1e-10, atol=1e-12)

    # d sum(out * w) / dx[0, 1, 2] against a central difference of the NumPy attention
    w = rng.normal(size=(seq, batch, heads * d))
    xa.attach_grad()
    with autograd.record():
        loss = mx.nd.sum(self_att(xa) * nd(w, ctx, "float64"))
    loss.backward()
    eps, plus, minus = 1e-6, x.copy(), x.copy()
    plus[0, 1, 2] += eps
    minus[0, 1, 2] -= eps
    fd = (np.sum(_attention_numpy(plus, wq, wk, wv, heads) * w)
          - np.sum(_attention_numpy(minus, wq, wk, wv, heads) * w)) / (2 * eps)
    np.testing.assert_allclose(xa.grad.asnumpy()[0, 1, 2], fd, rtol=1e-6)


def test_symbol_front_end(ctx):
    qkv = mx.sym.var("qkv")
    att = mx.sym.var("att")
    qk = mx.sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2)
    _, outs, _ = qk.infer_shape(qkv=(3, 4, 2 * 3 * 5))
    assert outs == [(8, 3, 3)]
    va = mx.sym.contrib.interleaved_matmul_encdec_valatt(qkv, att, heads=2)
    assert va.list_arguments() == ["qkv", "att"]
    _, outs, _ = va.infer_shape(qkv=(5, 4, 2 * 2 * 3), att=(8, 7, 5))
    assert outs == [(7, 4, 6)]
    rng = np.random.default_rng(1)
    x = nd(rng.uniform(-1, 1, (3, 2, 12)), ctx)
    got = qk.eval(ctx, qkv=x)[0]
    np.testing.assert_allclose(got.asnumpy(),
                               C.interleaved_matmul_selfatt_qk(x, heads=2).asnumpy(), **F32)


def test_any_float_dtype_runs(ctx):
    """MXNet's CPU kernels take float32 only; here float64 works too (in float64)."""
    x = np.random.default_rng(2).uniform(-1, 1, (3, 2, 6))
    got = C.interleaved_matmul_selfatt_qk(nd(x, ctx, "float64"), heads=1)
    assert got.dtype == np.float64
    t = x.reshape(3, 2, 3, 2)
    want = np.einsum("sbd,tbd->bst", t[:, :, 0] / np.sqrt(2), t[:, :, 1])
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda c: C.interleaved_matmul_selfatt_qk(nd(np.ones((2, 6)), c), heads=1),
     r"selfatt_qk.*queries_keys_values of 3 dims.*\(2, 6\)"),
    (lambda c: C.interleaved_matmul_selfatt_qk(nd(np.ones((2, 1, 7)), c), heads=1),
     r"selfatt_qk.*divisible by heads \* 3 = 3.*\(2, 1, 7\)"),
    (lambda c: C.interleaved_matmul_selfatt_qk(nd(np.ones((2, 1, 6)), c), heads=4),
     r"selfatt_qk.*divisible by heads \* 3 = 12"),
    (lambda c: C.interleaved_matmul_selfatt_qk(nd(np.ones((2, 1, 6)), c)),
     r"selfatt_qk.*heads >= 1"),
    (lambda c: C.interleaved_matmul_selfatt_qk(nd(np.ones((2, 1, 6)), c, "int32"), heads=1),
     r"selfatt_qk.*floating-point queries_keys_values.*int32"),
    (lambda c: C.interleaved_matmul_selfatt_valatt(nd(np.ones((2, 1, 6)), c),
                                                   nd(np.ones((2, 2, 2)), c), heads=1),
     r"selfatt_valatt.*attention.shape == .*\(1, 2, 2\).*\(2, 2, 2\)"),
    (lambda c: C.interleaved_matmul_selfatt_valatt(nd(np.ones((2, 1, 6)), c),
                                                   nd(np.ones((1, 2, 3)), c), heads=1),
     r"selfatt_valatt.*attention.shape"),
    (lambda c: C.interleaved_matmul_selfatt_valatt(nd(np.ones((2, 1, 6)), c),
                                                   nd(np.ones((1, 2, 2)), c, "float64"),
                                                   heads=1),
     r"selfatt_valatt.*one dtype.*float32.*float64"),
    (lambda c: C.interleaved_matmul_encdec_qk(nd(np.ones((3, 2, 4)), c),
                                              nd(np.ones((5, 2, 12)), c), heads=2),
     r"encdec_qk.*keys_values.shape\[2\] == 2 \* queries.shape\[2\]"),
    (lambda c: C.interleaved_matmul_encdec_qk(nd(np.ones((3, 2, 4)), c),
                                              nd(np.ones((5, 3, 8)), c), heads=2),
     r"encdec_qk.*\(batch\)"),
    (lambda c: C.interleaved_matmul_encdec_qk(nd(np.ones((3, 2, 5)), c),
                                              nd(np.ones((5, 2, 10)), c), heads=2),
     r"encdec_qk.*queries.shape\[2\] divisible by heads \* 1 = 2"),
    (lambda c: C.interleaved_matmul_encdec_valatt(nd(np.ones((5, 2, 8)), c),
                                                  nd(np.ones((4, 3, 4)), c), heads=2),
     r"encdec_valatt.*attention.shape == \(batch \* heads, seq_q, keys_values.shape\[0\]\)"),
    (lambda c: C.interleaved_matmul_encdec_valatt(nd(np.ones((5, 2, 6)), c),
                                                  nd(np.ones((4, 3, 5)), c), heads=2),
     r"encdec_valatt.*divisible by heads \* 2 = 4"),
])
def test_bad_inputs_are_rejected(ctx, call, match):
    with pytest.raises(mx.base.MXNetValueError, match=match):
        call(ctx)
