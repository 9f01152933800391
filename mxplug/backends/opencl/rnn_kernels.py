"""Fused OpenCL LSTM and GRU steps for the ``RNN`` op (registered in ``ops.rnn.FUSED_CELLS``):
one launch per step each way instead of about fifteen (the kernels and what they keep are in
``kernels/rnn_cells.py``, shared with CUDA). float32 and float64 only; other dtypes keep the
generic steps.
"""

from __future__ import annotations

import functools

import numpy as np

from ...ops import rnn
from ..kernels.rnn_cells import CELL_DTYPES, rnn_cells_source
from . import xp


@functools.cache
def _source(dtype_name):
    return rnn_cells_source(dtype_name, f"rnn_{dtype_name}")


def _kernel(rt, dtype, which):
    name = np.dtype(dtype).name
    return rt.kernel(_source(name), f"rnn_{name}_{which}", [dtype])


def _dense(a):
    """``a`` as a C-contiguous array (a copy only for strided views)."""
    return a if a.is_contiguous else xp.asarray(a, copy=True)


def lstm_cell(ns, a, c, hs):
    if a.dtype not in CELL_DTYPES or c.dtype != a.dtype:
        return rnn._lstm_cell(ns, a, c, hs)
    a, c = _dense(a), _dense(c)
    n, rt = a.shape[0], a.rt
    acts = xp.empty((n, 5 * hs), a.dtype, rt)
    c_new, h_new = xp.empty((n, hs), a.dtype, rt), xp.empty((n, hs), a.dtype, rt)
    rt.launch(_kernel(rt, a.dtype, "lstm_cell"), n * hs, np.int64(n), np.int64(hs),
              a.buf, np.int64(a.offset), c.buf, np.int64(c.offset), acts.buf, c_new.buf,
              h_new.buf)
    return acts, c_new, h_new


def lstm_cell_grad(ns, acts, c_prev, dhn, dcn):
    if not hasattr(acts, "buf"):  # a generic step's tuple (a dtype the kernels leave alone)
        return rnn._lstm_cell_grad(ns, acts, c_prev, dhn, dcn)
    n, hs, rt = acts.shape[0], acts.shape[1] // 5, acts.rt
    c_prev, dhn, dcn = _dense(c_prev), _dense(dhn), _dense(dcn)
    da, dc_prev = xp.empty((n, 4 * hs), acts.dtype, rt), xp.empty((n, hs), acts.dtype, rt)
    rt.launch(_kernel(rt, acts.dtype, "lstm_grad"), n * hs, np.int64(n), np.int64(hs), acts.buf,
              c_prev.buf, np.int64(c_prev.offset), dhn.buf, np.int64(dhn.offset), dcn.buf,
              np.int64(dcn.offset), da.buf, dc_prev.buf)
    return da, dc_prev


def gru_cell(ns, a, hh, h, hs):
    if a.dtype not in CELL_DTYPES or hh.dtype != a.dtype or h.dtype != a.dtype:
        return rnn._gru_cell(ns, a, hh, h, hs)
    a, hh, h = _dense(a), _dense(hh), _dense(h)
    n, rt = a.shape[0], a.rt
    acts, h_new = xp.empty((n, 4 * hs), a.dtype, rt), xp.empty((n, hs), a.dtype, rt)
    rt.launch(_kernel(rt, a.dtype, "gru_cell"), n * hs, np.int64(n), np.int64(hs), a.buf,
              np.int64(a.offset), hh.buf, np.int64(hh.offset), h.buf, np.int64(h.offset),
              acts.buf, h_new.buf)
    return acts, h_new


def gru_cell_grad(ns, acts, h_prev, dhn):
    if not hasattr(acts, "buf"):
        return rnn._gru_cell_grad(ns, acts, h_prev, dhn)
    n, hs, rt = acts.shape[0], acts.shape[1] // 4, acts.rt
    h_prev, dhn = _dense(h_prev), _dense(dhn)
    dgx, dgh = xp.empty((n, 3 * hs), acts.dtype, rt), xp.empty((n, 3 * hs), acts.dtype, rt)
    carry = xp.empty((n, hs), acts.dtype, rt)
    rt.launch(_kernel(rt, acts.dtype, "gru_grad"), n * hs, np.int64(n), np.int64(hs), acts.buf,
              h_prev.buf, np.int64(h_prev.offset), dhn.buf, np.int64(dhn.offset), dgx.buf,
              dgh.buf, carry.buf)
    return dgx, dgh, carry


rnn.FUSED_CELLS[xp, "lstm"] = (lstm_cell, lstm_cell_grad)
rnn.FUSED_CELLS[xp, "gru"] = (gru_cell, gru_cell_grad)
