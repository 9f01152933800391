"""One LSTM or GRU step's gate arithmetic as one kernel each way, for the ``RNN`` op's fused
cells (``ops.rnn.FUSED_CELLS``), rendered for OpenCL C or CUDA C through a :class:`Dialect`.

The generic algorithm computes one LSTM step's gates, cell and output with about fifteen
elementwise launches (sigmoid alone is four) and as many temporaries, the backward step with
about twenty more; a GRU step with a dozen each way. Here each direction is one kernel, one
work-item (CUDA: thread) per (row, unit): forward, it reads the pre-activations (and the
previous cell or state) and writes what the backward needs side by side — LSTM (i, f, g, o,
tanh(c)), GRU (r, z, n, the recurrent candidate projection) — plus the new cell and output;
backward, it writes the pre-activation gradients. The GEMMs stay with the algorithm.

Every array is C-contiguous (rows of ``k * hs`` units); inputs come with an element offset
(OpenCL buffers have no pointer arithmetic on the host; CUDA callers pass 0).
"""

from __future__ import annotations

import numpy as np

from .dialect import OPENCL, Dialect, ctype

__all__ = ["CELL_DTYPES", "rnn_cells_source"]

#: Dtypes the cell kernels take; others keep the generic steps.
CELL_DTYPES = (np.dtype("float32"), np.dtype("float64"))


def rnn_cells_source(dtype, prefix: str, d: Dialect = OPENCL) -> str:
    """The four cell kernels for ``dtype`` (float32 or float64), named ``{prefix}_{which}`` for
    ``which`` in lstm_cell, lstm_grad, gru_cell, gru_grad."""
    t, gp = ctype(dtype), d.global_ptr
    head = (f"long k = {d.global_id};\n    if (k >= n * hs) return;\n"
            f"    long r = k / hs, j = k - r * hs;")
    return f"""
{d.device_fn} {t} {prefix}_sig({t} z) {{ return ({t})1 / (({t})1 + exp(-z)); }}

{d.kernel} {prefix}_lstm_cell(long n, long hs, {gp} const {t}* a, long ao,
                          {gp} const {t}* c, long co, {gp} {t}* acts,
                          {gp} {t}* c_new, {gp} {t}* h_new) {{
    {head}
    {gp} const {t}* ar = a + ao + r * 4 * hs;
    {t} i = {prefix}_sig(ar[j]), f = {prefix}_sig(ar[hs + j]);
    {t} g = tanh(ar[2 * hs + j]), o = {prefix}_sig(ar[3 * hs + j]);
    {t} cn = f * c[co + k] + i * g;
    {t} tc = tanh(cn);
    {gp} {t}* ac = acts + r * 5 * hs;
    ac[j] = i; ac[hs + j] = f; ac[2 * hs + j] = g; ac[3 * hs + j] = o; ac[4 * hs + j] = tc;
    c_new[k] = cn;
    h_new[k] = o * tc;
}}

{d.kernel} {prefix}_lstm_grad(long n, long hs, {gp} const {t}* acts,
                          {gp} const {t}* cp, long cpo, {gp} const {t}* dh, long dho,
                          {gp} const {t}* dc, long dco, {gp} {t}* da,
                          {gp} {t}* dc_prev) {{
    {head}
    {gp} const {t}* ac = acts + r * 5 * hs;
    {t} i = ac[j], f = ac[hs + j], g = ac[2 * hs + j], o = ac[3 * hs + j], tc = ac[4 * hs + j];
    {t} dhn = dh[dho + k];
    {t} dcn = dc[dco + k] + dhn * o * (({t})1 - tc * tc);
    {gp} {t}* dr = da + r * 4 * hs;
    dr[j] = dcn * g * i * (({t})1 - i);
    dr[hs + j] = dcn * cp[cpo + k] * f * (({t})1 - f);
    dr[2 * hs + j] = dcn * i * (({t})1 - g * g);
    dr[3 * hs + j] = dhn * tc * o * (({t})1 - o);
    dc_prev[k] = dcn * f;
}}

{d.kernel} {prefix}_gru_cell(long n, long hs, {gp} const {t}* a, long ao,
                              {gp} const {t}* hh, long hho, {gp} const {t}* h, long ho,
                              {gp} {t}* acts, {gp} {t}* h_new) {{
    {head}
    {gp} const {t}* ar = a + ao + r * 3 * hs;
    {gp} const {t}* hr = hh + hho + r * 3 * hs;
    {t} rg = {prefix}_sig(ar[j] + hr[j]), z = {prefix}_sig(ar[hs + j] + hr[hs + j]);
    {t} hn = hr[2 * hs + j];
    {t} nn = tanh(ar[2 * hs + j] + rg * hn);
    {gp} {t}* ac = acts + r * 4 * hs;
    ac[j] = rg; ac[hs + j] = z; ac[2 * hs + j] = nn; ac[3 * hs + j] = hn;
    h_new[k] = nn + z * (h[ho + k] - nn);
}}

{d.kernel} {prefix}_gru_grad(long n, long hs, {gp} const {t}* acts,
                              {gp} const {t}* hp, long hpo, {gp} const {t}* dh, long dho,
                              {gp} {t}* dgx, {gp} {t}* dgh, {gp} {t}* carry) {{
    {head}
    {gp} const {t}* ac = acts + r * 4 * hs;
    {t} rg = ac[j], z = ac[hs + j], nn = ac[2 * hs + j], hn = ac[3 * hs + j];
    {t} dhn = dh[dho + k];
    {t} dan = dhn * (({t})1 - z) * (({t})1 - nn * nn);
    {t} dar = dan * hn * rg * (({t})1 - rg);
    {t} daz = dhn * (hp[hpo + k] - nn) * z * (({t})1 - z);
    {gp} {t}* gx = dgx + r * 3 * hs;
    {gp} {t}* gh = dgh + r * 3 * hs;
    gx[j] = dar; gx[hs + j] = daz; gx[2 * hs + j] = dan;
    gh[j] = dar; gh[hs + j] = daz; gh[2 * hs + j] = dan * rg;
    carry[k] = dhn * z;
}}
"""
