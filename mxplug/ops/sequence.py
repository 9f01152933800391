"""MXNet's ``SequenceMask``, ``SequenceLast`` and ``SequenceReverse``: what ``gluon.rnn``'s
``unroll(valid_length=...)`` runs on, as composites of other ops (one-hot selections built from
the lengths), so gradients, graphs and every backend come with them."""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Bool, Float, Int
from .dispatch import apply
from .registry import REGISTRY, Sample, defop

__all__ = ["sequence_mask", "sequence_last", "sequence_reverse"]

# -- SequenceMask / SequenceLast / SequenceReverse ------------------------------------------------
# Composites in mxplug ops (one-hot selections built from the lengths), so gradients, graphs and
# every backend come with them. ``sequence_length`` (batch,) takes ints or floats.
_SEQ_ATTRS = {"use_sequence_length": Bool(False), "axis": Int(0)}


def _seq_check(op, x, lengths, use_sequence_length, axis, axes=(0, 1)):
    I.expect(x.ndim >= 2, op, "data of ndim >= 2 (time and batch axes)",
             f"data.shape={tuple(x.shape)}")
    I.expect(axis in axes, op, f"axis in {axes}", f"axis={axis}")
    if use_sequence_length:
        I.expect(lengths is not None, op, "a sequence_length input when use_sequence_length",
                 "none given")
        batch = x.shape[1 - axis]
        I.expect(tuple(lengths.shape) == (batch,), op, f"sequence_length.shape == ({batch},)",
                 f"sequence_length.shape={tuple(lengths.shape)}")


def _mask_infer(x, lengths=None, use_sequence_length=False, value=0.0, axis=0):
    _seq_check("SequenceMask", x, lengths, use_sequence_length, axis)
    return x


def _last_infer(x, lengths=None, use_sequence_length=False, axis=0):
    _seq_check("SequenceLast", x, lengths, use_sequence_length, axis)
    return I.Spec(tuple(s for i, s in enumerate(x.shape) if i != axis), x.dtype)


def _reverse_infer(x, lengths=None, use_sequence_length=False, axis=0):
    _seq_check("SequenceReverse", x, lengths, use_sequence_length, axis, axes=(0,))
    return x


sequence_mask = defop(
    "SequenceMask", ("data", "sequence_length"), {**_SEQ_ATTRS, "value": Float(0.0)},
    infer=_mask_infer,
    doc="Set the steps at or past each sequence's length to ``value``: ``data`` is (time, "
        "batch, ...) for ``axis=0`` or (batch, time, ...) for ``axis=1``; without "
        "``use_sequence_length`` an identity.")
sequence_last = defop(
    "SequenceLast", ("data", "sequence_length"), _SEQ_ATTRS, infer=_last_infer,
    doc="The step at each sequence's last valid position (``sequence_length - 1``; the last "
        "step without ``use_sequence_length``); the time ``axis`` is removed.")
sequence_reverse = defop(
    "SequenceReverse", ("data", "sequence_length"), _SEQ_ATTRS, infer=_reverse_infer,
    doc="Reverse each sequence along the time axis 0 within its length (the padding stays "
        "where it is); all steps without ``use_sequence_length``.")
for _op in (sequence_mask, sequence_last, sequence_reverse):
    _op.nograd("sequence_length")


def _f(name, *args, **attrs):
    op = REGISTRY[name]
    return apply(op, *args, **op.parse_attrs(attrs))


def _time_onehot(x, lengths, axis, offset):
    """(T, N) float in ``x``'s dtype: 1 where ``step < length`` (``offset=None``) or where
    ``step == length - offset``; moved to (N, T) for ``axis=1`` and given ``x``'s trailing
    dims as 1s, ready to broadcast."""
    dt = np.dtype(x.dtype).name
    steps = _f("reshape", _f("arange", start=0, stop=x.shape[axis], dtype=dt, ctx=x.context),
               shape=(-1, 1))
    lens = _f("reshape", _f("cast", lengths, dtype=dt), shape=(1, -1))
    if offset is None:
        sel = _f("broadcast_lesser", steps, lens)
    else:
        sel = _f("broadcast_equal", steps, lens - offset)
    if axis == 1:
        sel = _f("transpose", sel)
    return _f("reshape", sel, shape=tuple(sel.shape) + (1,) * (x.ndim - 2))


@sequence_mask.compose
def _(x, lengths=None, use_sequence_length=False, value=0.0, axis=0):
    _mask_infer(x, lengths, use_sequence_length, value, axis)
    if not use_sequence_length:
        return _f("copy", x)
    keep = _f("broadcast_like", _time_onehot(x, lengths, axis, None), x)
    return _f("where", keep, x, _f("ones_like", x) * value)


@sequence_last.compose
def _(x, lengths=None, use_sequence_length=False, axis=0):
    _last_infer(x, lengths, use_sequence_length, axis)
    if not use_sequence_length:
        t = x.shape[axis]
        return _f("squeeze", _f("slice_axis", x, axis=axis, begin=t - 1, end=t), axis=axis)
    return _f("sum", _f("broadcast_mul", x, _time_onehot(x, lengths, axis, 1.0)), axis=axis)


@sequence_reverse.compose
def _(x, lengths=None, use_sequence_length=False, axis=0):
    _reverse_infer(x, lengths, use_sequence_length, axis)
    if not use_sequence_length:
        return _f("reverse", x, axis=0)
    t, n = x.shape[0], x.shape[1]
    dt = np.dtype(x.dtype).name
    rows = _f("reshape", _f("arange", start=0, stop=t, dtype=dt, ctx=x.context), shape=(1, -1, 1))
    cols = _f("reshape", rows, shape=(1, 1, -1))
    v = _f("reshape", _f("cast", lengths, dtype=dt), shape=(-1, 1, 1))
    inside = _f("broadcast_lesser", rows, v)                                  # (N, T, 1)
    source = inside * _f("broadcast_sub", v - 1.0, rows) + \
        _f("broadcast_mul", 1.0 - inside, rows)
    perm = _f("broadcast_equal", source, cols)                               # (N, T, T)
    flat = _f("transpose", _f("reshape", x, shape=(t, n, -1)), axes=(1, 0, 2))  # (N, T, R)
    out = _f("transpose", _f("batch_dot", perm, flat), axes=(1, 0, 2))
    return _f("reshape", out, shape=tuple(x.shape))


def _seq_sample(rng, shape, lengths, **attrs):
    if lengths is None:
        return Sample(rng.uniform(-1, 1, shape), **attrs)
    return Sample(rng.uniform(-1, 1, shape), np.array(lengths, dtype=np.int32),
                  use_sequence_length=True, **attrs)


sequence_mask.samples(
    lambda rng: _seq_sample(rng, (4, 3, 2), [4, 1, 2]),
    lambda rng: _seq_sample(rng, (2, 5, 3), [3, 5], axis=1, value=-1.5),
    lambda rng: _seq_sample(rng, (3, 2), None),
)
sequence_last.samples(
    lambda rng: _seq_sample(rng, (4, 3, 2), [4, 1, 2]),
    lambda rng: _seq_sample(rng, (2, 5, 3), [3, 5], axis=1),
    lambda rng: _seq_sample(rng, (3, 2, 2), None),
)
sequence_reverse.samples(
    lambda rng: _seq_sample(rng, (4, 3, 2), [4, 1, 2]),
    lambda rng: _seq_sample(rng, (3, 2), [2, 3]),
    lambda rng: _seq_sample(rng, (3, 2, 2), None),
)
