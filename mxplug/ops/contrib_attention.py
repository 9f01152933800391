"""MXNet 1.x's fused multi-head attention matmuls (``mx.nd.contrib.interleaved_matmul_*``), the ops
GluonNLP's transformer/BERT cells call since MXNet 1.6:

- ``_contrib_interleaved_matmul_selfatt_qk(queries_keys_values, heads)``
- ``_contrib_interleaved_matmul_selfatt_valatt(queries_keys_values, attention, heads)``
- ``_contrib_interleaved_matmul_encdec_qk(queries, keys_values, heads)``
- ``_contrib_interleaved_matmul_encdec_valatt(keys_values, attention, heads)``

Layouts (as MXNet 1.9.1 computes them): projections are time-major, ``(seq, batch, proj)``; the
last axis of an interleaved tensor holds, per head, that head's q, k and v (or k and v) rows of
``head_dim`` each, i.e. it reads as ``(heads, 3, head_dim)`` (``(heads, 2, head_dim)``). Attention
scores are ``(batch * heads, seq_q, seq_k)`` with row ``b * heads + h``; ``qk`` scales the queries
by ``1 / sqrt(head_dim)``; ``valatt`` returns ``(seq_q, batch, heads * head_dim)``.

All four are composites of reshape / slice_axis / transpose / batch_dot, so they run and
differentiate (to any order) on every backend. Deliberate differences from MXNet 1.9.1: any float
dtype is accepted (MXNet's CPU kernels take float32 only), and shapes MXNet silently mis-reads
(a projection size not divisible by ``heads * 3``, an attention batch other than
``batch * heads``) are rejected with an error instead.
"""
from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Int
from .call import F
from .nn import _s
from .registry import Sample, defop

__all__ = ["selfatt_qk", "selfatt_valatt", "encdec_qk", "encdec_valatt"]

_PREFIX = "_contrib_interleaved_matmul_"


# -- shared checks --------------------------------------------------------------------------------
def _check_proj(op, x, name, layout):
    """``x`` is a non-empty 3-D float tensor ``(seq, batch, proj)``."""
    I.expect(x.ndim == 3, op, f"{name} of 3 dims {layout}", f"{name}.shape={tuple(x.shape)}")
    I.expect(min(x.shape) >= 1, op, f"{name} with no empty dimension (MXNet 1.x reads 0 as "
             f"unknown)", f"{name}.shape={tuple(x.shape)}")
    I.expect_float(x, op, name)


def _head_dim(op, x, name, heads, parts):
    """``head_dim`` of an interleaved projection: its last axis is ``heads * parts * head_dim``."""
    I.expect(heads >= 1, op, "heads >= 1 (a required attribute)", f"heads={heads}")
    I.expect(x.shape[2] % (heads * parts) == 0, op,
             f"{name}.shape[2] divisible by heads * {parts} = {heads * parts}",
             f"{name}.shape={tuple(x.shape)}, heads={heads}")
    return x.shape[2] // (heads * parts)


def _same_dtype(op, a, an, b, bn):
    I.expect(a.dtype == b.dtype, op, f"{an} and {bn} of one dtype",
             f"{an}.dtype={np.dtype(a.dtype).name}, {bn}.dtype={np.dtype(b.dtype).name}")


def _check_attention(op, att, kv_name, batch, heads, seq_q, seq_k):
    """attention is ``(batch * heads, seq_q, seq_k)``; ``seq_q`` None: any."""
    shape = tuple(att.shape)
    I.expect(att.ndim == 3, op, "attention of 3 dims (batch * heads, seq_q, seq_k)",
             f"attention.shape={shape}")
    want_q = att.shape[1] if seq_q is None else seq_q
    I.expect(shape == (batch * heads, want_q, seq_k) and want_q >= 1, op,
             f"attention.shape == (batch * heads, {'seq_q' if seq_q is None else seq_q}, "
             f"{kv_name}.shape[0]) == ({batch * heads}, {want_q}, {seq_k})",
             f"attention.shape={shape}")


# -- the layout moves, in mxplug ops --------------------------------------------------------------
def _heads_first(x, heads, parts, part, d):
    """Part ``part`` of each head of interleaved ``(seq, batch, heads * parts * d)`` as
    ``(batch * heads, seq, d)``."""
    seq, batch = x.shape[0], x.shape[1]
    x = F.reshape(x, shape=(seq, batch * heads, parts * d))
    if parts > 1:
        x = F.slice_axis(x, axis=2, begin=part * d, end=(part + 1) * d)
    return F.transpose(x, axes=(1, 0, 2))


def _time_major(o, batch, heads):
    """``(batch * heads, seq, d)`` back to ``(seq, batch, heads * d)``."""
    seq, d = o.shape[1], o.shape[2]
    o = F.transpose(F.reshape(o, shape=(batch, heads, seq, d)), axes=(2, 0, 1, 3))
    return F.reshape(o, shape=(seq, batch, heads * d))


def _scores(q, k, d):
    """``q k^T / sqrt(d)`` per (batch, head); the scale is applied to q, as MXNet does."""
    return F.batch_dot(q * (1.0 / math.sqrt(d)), k, transpose_b=True)


# -- selfatt_qk -----------------------------------------------------------------------------------
def _selfatt_qk_infer(qkv, heads=0):
    op = _PREFIX + "selfatt_qk"
    _check_proj(op, qkv, "queries_keys_values", "(seq, batch, heads * 3 * head_dim)")
    _head_dim(op, qkv, "queries_keys_values", heads, 3)
    seq, batch = qkv.shape[0], qkv.shape[1]
    return I.Spec((batch * heads, seq, seq), qkv.dtype)


selfatt_qk = defop(
    _PREFIX + "selfatt_qk", ("queries_keys_values",), {"heads": Int(0)}, infer=_selfatt_qk_infer,
    doc="Self-attention scores ``q k^T / sqrt(head_dim)`` of interleaved projections "
        "``(seq, batch, heads * 3 * head_dim)`` (per head: q, k, v): shape "
        "``(batch * heads, seq, seq)``.")


@selfatt_qk.compose
def _(qkv, heads=0):
    _selfatt_qk_infer(_s(qkv), heads)
    d = qkv.shape[2] // (3 * heads)
    return _scores(_heads_first(qkv, heads, 3, 0, d), _heads_first(qkv, heads, 3, 1, d), d)


# -- selfatt_valatt -------------------------------------------------------------------------------
def _selfatt_valatt_infer(qkv, att, heads=0):
    op = _PREFIX + "selfatt_valatt"
    _check_proj(op, qkv, "queries_keys_values", "(seq, batch, heads * 3 * head_dim)")
    d = _head_dim(op, qkv, "queries_keys_values", heads, 3)
    _same_dtype(op, qkv, "queries_keys_values", att, "attention")
    seq, batch = qkv.shape[0], qkv.shape[1]
    _check_attention(op, att, "queries_keys_values", batch, heads, seq, seq)
    return I.Spec((seq, batch, heads * d), qkv.dtype)


selfatt_valatt = defop(
    _PREFIX + "selfatt_valatt", ("queries_keys_values", "attention"), {"heads": Int(0)},
    infer=_selfatt_valatt_infer,
    doc="Attention-weighted values: ``attention @ v`` per head, for interleaved projections "
        "``(seq, batch, heads * 3 * head_dim)`` and attention ``(batch * heads, seq, seq)``; "
        "shape ``(seq, batch, heads * head_dim)``.")


@selfatt_valatt.compose
def _(qkv, att, heads=0):
    _selfatt_valatt_infer(_s(qkv), _s(att), heads)
    d = qkv.shape[2] // (3 * heads)
    return _time_major(F.batch_dot(att, _heads_first(qkv, heads, 3, 2, d)), qkv.shape[1], heads)


# -- encdec_qk ------------------------------------------------------------------------------------
def _encdec_qk_infer(q, kv, heads=0):
    op = _PREFIX + "encdec_qk"
    _check_proj(op, q, "queries", "(seq_q, batch, heads * head_dim)")
    _check_proj(op, kv, "keys_values", "(seq_k, batch, heads * 2 * head_dim)")
    _same_dtype(op, q, "queries", kv, "keys_values")
    _head_dim(op, q, "queries", heads, 1)
    I.expect(kv.shape[1] == q.shape[1], op, "queries.shape[1] == keys_values.shape[1] (batch)",
             f"queries.shape={tuple(q.shape)}, keys_values.shape={tuple(kv.shape)}")
    I.expect(kv.shape[2] == 2 * q.shape[2], op, "keys_values.shape[2] == 2 * queries.shape[2]",
             f"queries.shape={tuple(q.shape)}, keys_values.shape={tuple(kv.shape)}")
    return I.Spec((q.shape[1] * heads, q.shape[0], kv.shape[0]), q.dtype)


encdec_qk = defop(
    _PREFIX + "encdec_qk", ("queries", "keys_values"), {"heads": Int(0)}, infer=_encdec_qk_infer,
    doc="Encoder-decoder attention scores ``q k^T / sqrt(head_dim)``: queries "
        "``(seq_q, batch, heads * head_dim)``, interleaved keys_values "
        "``(seq_k, batch, heads * 2 * head_dim)`` (per head: k, v); shape "
        "``(batch * heads, seq_q, seq_k)``.")


@encdec_qk.compose
def _(q, kv, heads=0):
    _encdec_qk_infer(_s(q), _s(kv), heads)
    d = q.shape[2] // heads
    return _scores(_heads_first(q, heads, 1, 0, d), _heads_first(kv, heads, 2, 0, d), d)


# -- encdec_valatt --------------------------------------------------------------------------------
def _encdec_valatt_infer(kv, att, heads=0):
    op = _PREFIX + "encdec_valatt"
    _check_proj(op, kv, "keys_values", "(seq_k, batch, heads * 2 * head_dim)")
    d = _head_dim(op, kv, "keys_values", heads, 2)
    _same_dtype(op, kv, "keys_values", att, "attention")
    _check_attention(op, att, "keys_values", kv.shape[1], heads, None, kv.shape[0])
    return I.Spec((att.shape[1], kv.shape[1], heads * d), kv.dtype)


encdec_valatt = defop(
    _PREFIX + "encdec_valatt", ("keys_values", "attention"), {"heads": Int(0)},
    infer=_encdec_valatt_infer,
    doc="Encoder-decoder attention-weighted values: ``attention @ v`` per head, for interleaved "
        "keys_values ``(seq_k, batch, heads * 2 * head_dim)`` and attention "
        "``(batch * heads, seq_q, seq_k)``; shape ``(seq_q, batch, heads * head_dim)``.")


@encdec_valatt.compose
def _(kv, att, heads=0):
    _encdec_valatt_infer(_s(kv), _s(att), heads)
    d = kv.shape[2] // (2 * heads)
    return _time_major(F.batch_dot(att, _heads_first(kv, heads, 2, 1, d)), kv.shape[1], heads)


# -- samples --------------------------------------------------------------------------------------
def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


selfatt_qk.samples(lambda rng: Sample(_u(rng, 4, 2, 3 * 3 * 2), heads=3),
                   lambda rng: Sample(_u(rng, 3, 1, 3 * 4), heads=1))
selfatt_valatt.samples(lambda rng: Sample(_u(rng, 4, 2, 3 * 3 * 2), _u(rng, 6, 4, 4), heads=3),
                       lambda rng: Sample(_u(rng, 2, 3, 2 * 3 * 3), _u(rng, 6, 2, 2), heads=2))
encdec_qk.samples(lambda rng: Sample(_u(rng, 3, 2, 3 * 2), _u(rng, 5, 2, 3 * 2 * 2), heads=3),
                  lambda rng: Sample(_u(rng, 2, 1, 4), _u(rng, 3, 1, 8), heads=1))
encdec_valatt.samples(lambda rng: Sample(_u(rng, 5, 2, 3 * 2 * 2), _u(rng, 6, 3, 5), heads=3),
                      lambda rng: Sample(_u(rng, 3, 1, 2 * 2 * 3), _u(rng, 2, 4, 3), heads=2))
