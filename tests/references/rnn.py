"""Independent NumPy references of ``RNN``, ``_RNN``, ``_backward_RNN`` (a plain loop over
layers, directions, batch rows and steps, one gate matrix at a time; complex-step gradients for
the backward) and of ``SequenceMask``/``Last``/``Reverse`` (per-row loops)."""

from __future__ import annotations

import numpy as np

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


# -- the reference ---------------------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _cell(mode, x, h, c, wi, wh, bi, bh):
    """One step for one batch row (vectors); works on complex numbers (complex-step)."""
    n = h.shape[0]
    if mode == "gru":
        xi, hh = wi @ x + bi, wh @ h + bh
        r = _sigmoid(xi[:n] + hh[:n])
        z = _sigmoid(xi[n:2 * n] + hh[n:2 * n])
        cand = np.tanh(xi[2 * n:] + r * hh[2 * n:])
        return (1 - z) * cand + z * h, c
    a = wi @ x + bi + wh @ h + bh
    if mode == "rnn_tanh":
        return np.tanh(a), c
    if mode == "rnn_relu":
        return np.where(a.real > 0, a, 0), c
    i, f = _sigmoid(a[:n]), _sigmoid(a[n:2 * n])
    g, o = np.tanh(a[2 * n:3 * n]), _sigmoid(a[3 * n:])
    c = f * c + i * g
    return o * np.tanh(c), c


def _unpack(params, mode, h, layers, dirs, c):
    g, off, w, b = GATES[mode], 0, {}, {}
    for layer in range(layers):
        width = c if layer == 0 else h * dirs
        for d in range(dirs):
            w[layer, d, 0] = params[off:off + g * h * width].reshape(g * h, width)
            off += g * h * width
            w[layer, d, 1] = params[off:off + g * h * h].reshape(g * h, h)
            off += g * h * h
    for layer in range(layers):
        for d in range(dirs):
            for k in range(2):
                b[layer, d, k] = params[off:off + g * h]
                off += g * h
    assert off == params.size, (off, params.size)
    return w, b


def reference_rnn(data, params, state, *rest, state_size, num_layers, mode,
                  bidirectional=False, state_outputs=False, use_sequence_length=False,
                  masks=False, dtype=None, **_):
    """``(out, hy[, cy])`` as MXNet's RNN defines them; ``rest`` holds state_cell,
    sequence_length and the dropout masks as the op takes them."""
    rest = list(rest)
    cell0 = rest.pop(0) if mode == "lstm" else None
    lens = rest.pop(0) if use_sequence_length else None
    mk = rest.pop(0) if masks and rest else None
    t_len, n_batch, c = data.shape
    h, dirs = state_size, 2 if bidirectional else 1
    w, b = _unpack(params, mode, h, num_layers, dirs, c)
    cplx = any(np.iscomplexobj(a) for a in (data, params, state, cell0) if a is not None)
    ft = complex if cplx else np.float64
    x = data.astype(ft)
    hy = np.zeros(state.shape, ft)
    cy = np.zeros(state.shape, ft)
    for layer in range(num_layers):
        if layer > 0 and mk is not None:
            x = x * mk[layer - 1]
        out = np.zeros((t_len, n_batch, dirs * h), ft)
        for d in range(dirs):
            k = layer * dirs + d
            for n in range(n_batch):
                hv = state[k, n].astype(ft)
                cv = cell0[k, n].astype(ft) if cell0 is not None else None
                steps = range(int(lens[n]) if lens is not None else t_len)
                for t in (reversed(steps) if d == 1 else steps):
                    hv, cv = _cell(mode, x[t, n], hv, cv, w[layer, d, 0], w[layer, d, 1],
                                   b[layer, d, 0], b[layer, d, 1])
                    out[t, n, d * h:(d + 1) * h] = hv
                hy[k, n] = hv
                if cv is not None:
                    cy[k, n] = cv
        x = out
    dt = dtype or data.dtype
    res = (x, hy, cy) if mode == "lstm" else (x, hy)
    res = tuple(r if cplx else r.astype(dt) for r in res)
    return res if state_outputs else res[0]


def _ref_public(*inputs, key=0, counter=0, **attrs):
    return reference_rnn(*inputs, **attrs)


def _ref_prim(*inputs, **attrs):
    return reference_rnn(*inputs, masks=True, **attrs)


def reference_rnn_backward(*arrays, **attrs):
    """Input gradients of ``reference_rnn`` by complex-step differentiation (exact to rounding:
    no subtraction, so a step of 1e-30 has no cancellation)."""
    nout = (3 if attrs["mode"] == "lstm" else 2) if attrs.get("state_outputs") else 1
    grads, fwd = arrays[:nout], list(arrays[nout:-1])
    ndiff = 4 if attrs["mode"] == "lstm" else 3
    result = []
    for i in range(ndiff):
        base = fwd[i].astype(np.float64)
        g = np.zeros(base.shape)
        for j in range(base.size):
            pert = base.astype(complex)
            pert.flat[j] += 1e-30j
            ins = fwd[:i] + [pert] + fwd[i + 1:]
            outs = reference_rnn(*ins, masks=True, **attrs)
            outs = outs if isinstance(outs, tuple) else (outs,)
            g.flat[j] = sum(float(np.sum(gk * o.imag)) for gk, o in zip(grads, outs)) / 1e-30
        result.append(g.astype(fwd[0].dtype))
    return tuple(result)


def _lengths(x, lengths, use_sequence_length, axis):
    t, n = x.shape[axis], x.shape[1 - axis]
    return [int(v) for v in lengths] if use_sequence_length else [t] * n


def reference_sequence_mask(x, lengths=None, use_sequence_length=False, value=0.0, axis=0):
    out = np.array(x, copy=True)
    for n, length in enumerate(_lengths(x, lengths, use_sequence_length, axis)):
        if axis == 0:
            out[length:, n] = value
        else:
            out[n, length:] = value
    return out


def reference_sequence_last(x, lengths=None, use_sequence_length=False, axis=0):
    lens = _lengths(x, lengths, use_sequence_length, axis)
    rows = [x[length - 1, n] if axis == 0 else x[n, length - 1] for n, length in enumerate(lens)]
    return np.stack(rows).astype(x.dtype)


def reference_sequence_reverse(x, lengths=None, use_sequence_length=False, axis=0):
    out = np.array(x, copy=True)
    for n, length in enumerate(_lengths(x, lengths, use_sequence_length, axis)):
        out[:length, n] = x[:length, n][::-1]
    return out


REFERENCES = {"RNN": _ref_public, "_RNN": _ref_prim, "_backward_RNN": reference_rnn_backward,
              "SequenceMask": reference_sequence_mask, "SequenceLast": reference_sequence_last,
              "SequenceReverse": reference_sequence_reverse}
