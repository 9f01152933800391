"""Fused OpenCL LSTM and GRU steps for the ``RNN`` op (registered in ``ops.rnn.FUSED_CELLS``).

The generic algorithm computes one LSTM step's gates, cell and output with about fifteen
elementwise launches (sigmoid alone is four) and as many temporaries, the backward step with
about twenty more; a GRU step with a dozen each way. Here each direction is one kernel, one
work-item per (row, unit): forward, it reads the pre-activations (and the previous cell or
state) and writes what the backward needs side by side — LSTM (i, f, g, o, tanh(c)), GRU
(r, z, n, the recurrent candidate projection) — plus the new cell and output; backward, it
writes the pre-activation gradients. The GEMMs stay with the algorithm. float32 and float64
only; other dtypes keep the generic steps.
"""

from __future__ import annotations

import numpy as np

from ...ops import rnn
from ..kernels import ctype
from . import xp

_SOURCES: dict = {}
_FUSED = (np.dtype("float32"), np.dtype("float64"))


def _source(dtype):
    t = ctype(dtype)
    name = f"rnn_{np.dtype(dtype).name}"
    src = f"""
static inline {t} sig({t} z) {{ return ({t})1 / (({t})1 + exp(-z)); }}

__kernel void {name}_lstm_cell(long n, long hs, __global const {t}* a, long ao,
                          __global const {t}* c, long co, __global {t}* acts,
                          __global {t}* c_new, __global {t}* h_new) {{
    long k = get_global_id(0);
    if (k >= n * hs) return;
    long r = k / hs, j = k - r * hs;
    __global const {t}* ar = a + ao + r * 4 * hs;
    {t} i = sig(ar[j]), f = sig(ar[hs + j]), g = tanh(ar[2 * hs + j]), o = sig(ar[3 * hs + j]);
    {t} cn = f * c[co + k] + i * g;
    {t} tc = tanh(cn);
    __global {t}* ac = acts + r * 5 * hs;
    ac[j] = i; ac[hs + j] = f; ac[2 * hs + j] = g; ac[3 * hs + j] = o; ac[4 * hs + j] = tc;
    c_new[k] = cn;
    h_new[k] = o * tc;
}}

__kernel void {name}_lstm_grad(long n, long hs, __global const {t}* acts,
                          __global const {t}* cp, long cpo, __global const {t}* dh, long dho,
                          __global const {t}* dc, long dco, __global {t}* da,
                          __global {t}* dc_prev) {{
    long k = get_global_id(0);
    if (k >= n * hs) return;
    long r = k / hs, j = k - r * hs;
    __global const {t}* ac = acts + r * 5 * hs;
    {t} i = ac[j], f = ac[hs + j], g = ac[2 * hs + j], o = ac[3 * hs + j], tc = ac[4 * hs + j];
    {t} dhn = dh[dho + k];
    {t} dcn = dc[dco + k] + dhn * o * (({t})1 - tc * tc);
    __global {t}* dr = da + r * 4 * hs;
    dr[j] = dcn * g * i * (({t})1 - i);
    dr[hs + j] = dcn * cp[cpo + k] * f * (({t})1 - f);
    dr[2 * hs + j] = dcn * i * (({t})1 - g * g);
    dr[3 * hs + j] = dhn * tc * o * (({t})1 - o);
    dc_prev[k] = dcn * f;
}}

__kernel void {name}_gru_cell(long n, long hs, __global const {t}* a, long ao,
                              __global const {t}* hh, long hho, __global const {t}* h, long ho,
                              __global {t}* acts, __global {t}* h_new) {{
    long k = get_global_id(0);
    if (k >= n * hs) return;
    long r = k / hs, j = k - r * hs;
    __global const {t}* ar = a + ao + r * 3 * hs;
    __global const {t}* hr = hh + hho + r * 3 * hs;
    {t} rg = sig(ar[j] + hr[j]), z = sig(ar[hs + j] + hr[hs + j]);
    {t} hn = hr[2 * hs + j];
    {t} nn = tanh(ar[2 * hs + j] + rg * hn);
    __global {t}* ac = acts + r * 4 * hs;
    ac[j] = rg; ac[hs + j] = z; ac[2 * hs + j] = nn; ac[3 * hs + j] = hn;
    h_new[k] = nn + z * (h[ho + k] - nn);
}}

__kernel void {name}_gru_grad(long n, long hs, __global const {t}* acts,
                              __global const {t}* hp, long hpo, __global const {t}* dh, long dho,
                              __global {t}* dgx, __global {t}* dgh, __global {t}* carry) {{
    long k = get_global_id(0);
    if (k >= n * hs) return;
    long r = k / hs, j = k - r * hs;
    __global const {t}* ac = acts + r * 4 * hs;
    {t} rg = ac[j], z = ac[hs + j], nn = ac[2 * hs + j], hn = ac[3 * hs + j];
    {t} dhn = dh[dho + k];
    {t} dan = dhn * (({t})1 - z) * (({t})1 - nn * nn);
    {t} dar = dan * hn * rg * (({t})1 - rg);
    {t} daz = dhn * (hp[hpo + k] - nn) * z * (({t})1 - z);
    __global {t}* gx = dgx + r * 3 * hs;
    __global {t}* gh = dgh + r * 3 * hs;
    gx[j] = dar; gx[hs + j] = daz; gx[2 * hs + j] = dan;
    gh[j] = dar; gh[hs + j] = daz; gh[2 * hs + j] = dan * rg;
    carry[k] = dhn * z;
}}
"""
    return src, name


def _kernel(rt, dtype, which):
    key = np.dtype(dtype).name
    if key not in _SOURCES:
        _SOURCES[key] = _source(dtype)
    src, name = _SOURCES[key]
    return rt.kernel(src, f"{name}_{which}", [dtype])


def _dense(a):
    """``a`` as a C-contiguous array (a copy only for strided views)."""
    return a if a.is_contiguous else xp.asarray(a, copy=True)


def lstm_cell(ns, a, c, hs):
    if a.dtype not in _FUSED or c.dtype != a.dtype:
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
    if a.dtype not in _FUSED or hh.dtype != a.dtype or h.dtype != a.dtype:
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
