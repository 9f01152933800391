"""MXNet 1.x's ``CTCLoss`` operator (``ctc_loss``, ``_contrib_CTCLoss``): connectionist temporal
classification, the per-sample negative log-likelihood of label sequences.

A composite: the forward (alpha) recursion runs in log space with registered ops, one step per
time step, so it runs on every backend and autograd differentiates it (what the
forward-backward algorithm computes by hand).
"""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Bool, Enum
from .nn import _f, _s, _u
from .registry import Sample, defop

__all__ = ["ctc_loss"]

#: log(0) stand-in: finite, so that no inf - inf makes a NaN in values or gradients.
_NEG = -1e30


def _split(xs, use_data_lengths, use_label_lengths):
    """(data, label, data_lengths, label_lengths) from the inputs given: as in MXNet, the
    lengths are inputs only where their ``use_*`` flag is set, in that order."""
    xs = list(xs)
    data, label = (xs + [None, None])[:2]
    rest = xs[2:]
    dl = rest.pop(0) if use_data_lengths and rest else None
    ll = rest.pop(0) if use_label_lengths and rest else None
    return data, label, dl, ll, len(rest)


def _ctc_infer(*xs, use_data_lengths=False, use_label_lengths=False, blank_label="first"):
    op = "CTCLoss"
    x, label, dl, ll, extra = _split(xs, use_data_lengths, use_label_lengths)
    want = 2 + use_data_lengths + use_label_lengths
    I.expect(label is not None and not extra, op, f"{want} inputs (data, label"
             f"{', data_lengths' * use_data_lengths}{', label_lengths' * use_label_lengths})",
             f"{len(xs)} inputs")
    I.expect(x.ndim == 3, op, "data of shape (sequence_length, batch_size, alphabet_size)",
             f"data.shape={tuple(x.shape)}")
    I.expect_float(x, op)
    n = x.shape[1]
    I.expect(label.ndim == 2 and label.shape[0] == n, op,
             f"label of shape (batch_size, label_length) with batch_size == {n}",
             f"label.shape={tuple(label.shape)}")
    for name, used, arr in (("data_lengths", use_data_lengths, dl),
                            ("label_lengths", use_label_lengths, ll)):
        if used:
            I.expect(arr is not None and tuple(arr.shape) == (n,), op,
                     f"{name} of shape ({n},) when use_{name}=True",
                     f"{name}.shape={None if arr is None else tuple(arr.shape)}")
    return I.Spec((n,), x.dtype)


ctc_loss = defop(
    "CTCLoss", ("data", "label", "data_lengths", "label_lengths"),
    {"use_data_lengths": Bool(False), "use_label_lengths": Bool(False),
     "blank_label": Enum("first", "last")},
    infer=_ctc_infer, variadic=True,
    aliases=("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"),
    doc="CTC loss of data (T, N, C) (activations before softmax) against label (N, L): the "
        "negative log-likelihood per sample, shape (N,). ``blank_label='first'``: channel 0 is "
        "the blank, labels are 1..C-1 padded with 0; ``'last'``: channel C-1 is the blank, "
        "labels 0..C-2 padded with -1. A label ends at its first padding value unless "
        "``use_label_lengths`` (then ``label_lengths`` (N,)); ``use_data_lengths`` takes each "
        "sequence's length from ``data_lengths`` (N,) instead of T. As in MXNet, the inputs are "
        "data, label, then only the lengths whose ``use_*`` flag is set.")
ctc_loss.nograd("label", "data_lengths", "label_lengths")
ctc_loss.output_names = lambda attrs: ["output0"]  # MXNet's (its hidden second output: the grad)
ctc_loss.auto_inputs = lambda attrs: (
    ("data", "label") + ("data_lengths",) * attrs["use_data_lengths"]
    + ("label_lengths",) * attrs["use_label_lengths"])


def _logsumexp(*xs):
    m = xs[0]
    for x in xs[1:]:
        m = _f("maximum", m, x)
    m = _f("stop_gradient", m)   # the result does not depend on the shift
    s = _f("exp", xs[0] - m)
    for x in xs[1:]:
        s = s + _f("exp", x - m)
    return m + _f("log", s)


def _cols(a, begin, end):
    return _f("slice_axis", a, axis=1, begin=begin, end=end)


def _whole(a, dtype):
    """Labels and lengths are integers: rounded (no gradient), in the data's dtype."""
    return _f("round", _f("cast", _f("stop_gradient", a), dtype=dtype))


def _label_lengths(label, pad):
    """Entries before the first ``pad`` in each row: (N, 1)."""
    run = _f("ones_like", _cols(label, 0, 1))
    total = _f("zeros_like", run)
    for j in range(label.shape[1]):
        run = run * (_cols(label, j, j + 1) != pad)
        total = total + run
    return total


@ctc_loss.compose
def _(*xs, use_data_lengths=False, use_label_lengths=False, blank_label="first"):
    _ctc_infer(*(_s(a) for a in xs), use_data_lengths=use_data_lengths,
               use_label_lengths=use_label_lengths)
    x, label, data_lengths, label_lengths, _ = _split(xs, use_data_lengths, use_label_lengths)
    t_len, n, c = x.shape
    width = label.shape[1]
    s_len = 2 * width + 1
    dt = x.dtype
    blank, pad = (0.0, 0.0) if blank_label == "first" else (float(c - 1), -1.0)
    label = _whole(label, dt)
    if use_label_lengths:
        lengths = _f("reshape", _whole(label_lengths, dt), shape=(n, 1))
    else:
        lengths = _label_lengths(label, pad)
    # the extended label: blank, l1, blank, l2, ..., blank  (N, S)
    blanks = _f("ones_like", label) * blank
    ext = _f("concat", _f("reshape", _f("stack", blanks, label, axis=2), shape=(n, 2 * width)),
             _cols(blanks, 0, 1), dim=1)
    # log-probabilities of the extended labels at every step (N, T, S)
    logp = _f("log_softmax", _f("transpose", x, axes=(1, 0, 2)), axis=-1)
    emit = _f("batch_dot", logp, _f("one_hot", ext, depth=c, dtype=dt), transpose_b=True)
    # s-2 -> s is allowed unless ext[s] repeats ext[s-2] (a blank, or a doubled label)
    skip = (_cols(ext, 2, s_len) == _cols(ext, 0, s_len - 2)) * _NEG
    zero = _f("zeros_like", ext)
    neg1, neg2 = _cols(zero, 0, 1) + _NEG, _cols(zero, 0, 2) + _NEG
    # a virtual step before t = 0 in state 0 makes the first step the usual initialisation
    alpha = _f("concat", _cols(zero, 0, 1), _cols(zero, 1, s_len) + _NEG, dim=1)
    if use_data_lengths:
        steps = _f("reshape", _whole(data_lengths, dt), shape=(n, 1))
    for t in range(t_len):
        prev1 = _f("concat", neg1, _cols(alpha, 0, s_len - 1), dim=1)
        prev2 = _f("concat", neg2, _cols(alpha, 0, s_len - 2) + skip, dim=1)
        e_t = _f("reshape", _f("slice_axis", emit, axis=1, begin=t, end=t + 1), shape=(n, s_len))
        new = _logsumexp(alpha, prev1, prev2) + e_t
        if use_data_lengths:    # past its length a sequence keeps its alpha (a select, so
            live = _f("broadcast_like", steps > t, new)  # NaN frames there stay out of it)
            new = _f("where", live, new, alpha)
        alpha = new
    lengths = _f("reshape", lengths, shape=(-1,))
    last = _f("pick", alpha, lengths * 2.0, axis=1)
    before = _f("pick", alpha, _f("maximum", lengths * 2.0 - 1.0, 0.0), axis=1)
    before = before + (lengths == 0.0) * _NEG      # an empty label ends in the blank only
    return _logsumexp(last, before) * -1.0


def _ctc_sample(rng, t, n, c, labels, **attrs):
    return Sample(_u(rng, t, n, c, lo=-2, hi=2), np.array(labels, dtype=float), **attrs)


ctc_loss.samples(
    lambda rng: _ctc_sample(rng, 5, 2, 4, [[1, 2, 2], [3, 1, 0]]),
    lambda rng: _ctc_sample(rng, 4, 3, 3, [[0, 1], [1, -1], [-1, -1]], blank_label="last"),
    lambda rng: Sample(_u(rng, 6, 2, 4, lo=-2, hi=2), np.array([[1.0, 3, 3], [2, 0, 0]]),
                       np.array([4.0, 6]), np.array([3.0, 1]), use_data_lengths=True,
                       use_label_lengths=True),
)
