"""Independent NumPy references for ``mxplug/ops/contrib_attention.py``: the interleaved projections
viewed as (seq, batch, heads, parts, head_dim) and contracted with einsum, per the layouts of MXNet
1.x's documentation (checked against MXNet 1.9.1)."""
from __future__ import annotations

import numpy as np

_P = "_contrib_interleaved_matmul_"


def _split(x, heads, parts):
    """(seq, batch, heads * parts * d) -> (seq, batch, heads, parts, d)."""
    s, b, e = x.shape
    return x.reshape(s, b, heads, parts, e // (heads * parts))


def _qk(q, k):
    """q (sq, b, h, d), k (sk, b, h, d) -> (b * h, sq, sk), queries scaled by 1/sqrt(d)."""
    sq, b, h, d = q.shape
    scores = np.einsum("qbhd,kbhd->bhqk", q / np.sqrt(d).astype(q.dtype), k)
    return scores.reshape(b * h, sq, k.shape[0])


def _valatt(v, att, heads):
    """v (sk, b, h, d), att (b * h, sq, sk) -> (sq, b, h * d)."""
    sk, b, h, d = v.shape
    out = np.einsum("bhqk,kbhd->qbhd", att.reshape(b, h, att.shape[1], sk), v)
    return out.reshape(att.shape[1], b, h * d)


def selfatt_qk(qkv, heads):
    t = _split(qkv, heads, 3)
    return _qk(t[:, :, :, 0], t[:, :, :, 1])


def selfatt_valatt(qkv, att, heads):
    return _valatt(_split(qkv, heads, 3)[:, :, :, 2], att, heads)


def encdec_qk(q, kv, heads):
    return _qk(_split(q, heads, 1)[:, :, :, 0], _split(kv, heads, 2)[:, :, :, 0])


def encdec_valatt(kv, att, heads):
    return _valatt(_split(kv, heads, 2)[:, :, :, 1], att, heads)


REFERENCES = {
    _P + "selfatt_qk": selfatt_qk,
    _P + "selfatt_valatt": selfatt_valatt,
    _P + "encdec_qk": encdec_qk,
    _P + "encdec_valatt": encdec_valatt,
}
