"""Fused OpenCL kernels for the softmax family, LayerNorm, BatchNorm, FullyConnected, the
sparse softmax cross-entropy and ``pick`` (``NN_KERNELS``).

The registry writes softmax/log_softmax/softmin and LayerNorm as composites (max, subtract, exp,
sum, divide: 5-8 launches and as many temporaries); here each is one kernel, one work-group per
row, with work-group tree reductions. A composite's backend kernel only runs outside autograd
recording (``_record_hook`` expands composites without a VJP into their recorded primitives), so
these serve inference and plain forward passes and gradients stay those of the primitives.
``_BatchNorm`` is a primitive with a VJP (which recomputes its statistics from the input), so its
fused forward is used under recording too: one work-group per channel computes the batch mean and
(biased) variance in two passes and writes the normalised output in a third.

``_softmax_ce`` and ``_softmax_ce_backward`` (primitives with VJPs, so used under recording)
are one kernel each, one work-group per row of 2-D data; ``pick`` and ``_pick_backward`` (the
gather of the composed losses) one work item per row or element; FullyConnected is one GEMM
launch that adds the bias as it stores (``xp_linalg.linear``). Each takes 2-D float32/float64
data along the last axis (``pick`` also int32/int64) and hands other layouts to the generic
body; labels are truncated toward zero and clipped (or wrapped) as ``pick`` does.

Shapes and strides travel in a ``meta`` array; the local size is a run-time choice (a power of
two up to 256), so one compiled kernel per dtype combination serves every shape and layout.
"""

from __future__ import annotations

import math

import numpy as np

from ...ops import infer as I
from ...ops.registry import REGISTRY
from ..kernels import MAXDIM, OPENCL, ctype
from ..kernels.rows import (
    LOCAL_MAX,
    PICK_DTYPES,
    _compute_type,
    _ld,
    _reduce_local,
    _st,
    labels_fit,
    pick_source,
    softmax_ce_source,
)
from . import xp
from .launch import _grid
from .xp_linalg import linear

M = MAXDIM
_SOURCES: dict = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# -- source pieces (the row kernels shared with CUDA are in kernels/rows.py) ---------------------
_ROW_HEAD = f"""    const long row = {OPENCL.group_id};
    const int lid = {OPENCL.local_id}, ls = {OPENCL.local_size};
    long rem = row, xb = off0, ob = out_off, lb = aux_off;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        xb += c * meta[{1 + M} + dim];
        ob += c * meta[{1 + 2 * M} + dim];
        lb += c * meta[{1 + 3 * M} + dim];
    }}
    const long L = meta[{1 + 4 * M}], xs = meta[{2 + 4 * M}], os = meta[{3 + 4 * M}];
"""


def _softmax_source(name, x_dt, out_dt, len_dt):
    c = _compute_type(x_dt, out_dt)
    d = OPENCL
    lt = ctype(len_dt)
    x = lambda i: _ld(x_dt, "in0", i, c)  # noqa: E731
    return f"""
{d.kernel} {name}({d.const_ptr} long* meta, {d.global_ptr} {ctype(out_dt)}* out,
        const long out_off, {d.global_ptr} const {ctype(x_dt)}* in0, const long off0,
        {d.global_ptr} const {lt}* aux, const long aux_off, const {c} sx, const int flags) {{
    {d.local_mem} {c} sh[{LOCAL_MAX}];
{_ROW_HEAD}    const int log_out = flags & 1, use_len = flags & 4;
    const {c} sgn = (flags & 2) ? ({c})-1 : ({c})1;
    const {c} lim = use_len ? ({c})aux[lb] : ({c})0;
    {c} acc = -INFINITY, res;
    for (long j = lid; j < L; j += ls)
        if (!use_len || ({c})j < lim) acc = fmax(acc, (sgn * {x("xb + j * xs")}) * sx);
{_reduce_local(c, "max")}    const {c} m = res;
    acc = 0;
    for (long j = lid; j < L; j += ls)
        if (!use_len || ({c})j < lim) acc += exp((sgn * {x("xb + j * xs")}) * sx - m);
{_reduce_local(c, "sum")}    const {c} s = res, ls_ = log(s);
    for (long j = lid; j < L; j += ls) {{
        const int ok = !use_len || ({c})j < lim;
        const {c} t = (sgn * {x("xb + j * xs")}) * sx - m;
        const {c} v = log_out ? (ok ? t - ls_ : ({c})0 * -ls_) : (ok ? exp(t) : ({c})0) / s;
        {_st(out_dt, "out", "ob + j * os", "v")}
    }}
}}
"""


def _layernorm_source(name, x_dt, p_dt):
    c = _compute_type(x_dt)
    d = OPENCL
    x = lambda i: _ld(x_dt, "in0", i, c)  # noqa: E731
    return f"""
{d.kernel} {name}({d.const_ptr} long* meta, {d.global_ptr} {ctype(x_dt)}* out,
        const long out_off, {d.global_ptr} const {ctype(x_dt)}* in0, const long off0,
        {d.global_ptr} {ctype(x_dt)}* aux, const long aux_off,
        {d.global_ptr} const {ctype(p_dt)}* gamma, const long g_off,
        {d.global_ptr} const {ctype(p_dt)}* beta, const long b_off,
        {d.global_ptr} {ctype(x_dt)}* stdv, const {c} eps, const int with_stats) {{
    {d.local_mem} {c} sh[{LOCAL_MAX}];
{_ROW_HEAD}    const long gs = meta[{4 + 4 * M}], bs = meta[{5 + 4 * M}];
    {c} acc = 0, res;
    for (long j = lid; j < L; j += ls) acc += {x("xb + j * xs")};
{_reduce_local(c, "sum")}    const {c} mean = res / ({c})L;
    acc = 0;
    for (long j = lid; j < L; j += ls) {{ const {c} t = {x("xb + j * xs")} - mean; acc += t * t; }}
{_reduce_local(c, "sum")}    const {c} sd = sqrt(res / ({c})L + eps);
    for (long j = lid; j < L; j += ls) {{
        const {c} v = ({x("xb + j * xs")} - mean) / sd * {_ld(p_dt, "gamma", "g_off + j * gs", c)}
                      + {_ld(p_dt, "beta", "b_off + j * bs", c)};
        {_st(x_dt, "out", "ob + j * os", "v")}
    }}
    if (with_stats && lid == 0) {{
        {_st(x_dt, "aux", "row", "mean")}
        {_st(x_dt, "stdv", "row", "sd")}
    }}
}}
"""


def _batchnorm_source(name, x_dt, p_dt):
    c = _compute_type(x_dt)
    d = OPENCL
    x = lambda i: _ld(x_dt, "in0", i, c)  # noqa: E731
    p = lambda ptr, i: _ld(p_dt, ptr, i, c)  # noqa: E731
    walk = f"""        long r = j, xo = xb, oo = ob;
        for (int dim = nr - 1; dim >= 0; --dim) {{
            const long cc = r % meta[1 + dim];
            r /= meta[1 + dim];
            xo += cc * meta[{1 + M} + dim];
            oo += cc * meta[{1 + 2 * M} + dim];
        }}
"""
    return f"""
{d.kernel} {name}({d.const_ptr} long* meta, {d.global_ptr} {ctype(x_dt)}* out,
        {d.global_ptr} const {ctype(x_dt)}* in0, const long off0,
        {d.global_ptr} const {ctype(p_dt)}* gamma, {d.global_ptr} const {ctype(p_dt)}* beta,
        {d.global_ptr} const {ctype(p_dt)}* mmean, {d.global_ptr} const {ctype(p_dt)}* mvar,
        {d.global_ptr} {ctype(x_dt)}* mean_out, {d.global_ptr} {ctype(x_dt)}* var_out,
        const {c} eps, const int flags) {{
    {d.local_mem} {c} sh[{LOCAL_MAX}];
    const long ch = {d.group_id};
    const int lid = {d.local_id}, ls = {d.local_size};
    const int nr = (int)meta[0];
    const long nred = meta[{1 + 3 * M}];
    const long xb = off0 + ch * meta[{2 + 3 * M}], ob = ch * meta[{3 + 3 * M}];
    const long pg = ch * meta[{4 + 3 * M}], pb = ch * meta[{5 + 3 * M}];
    const long pm = ch * meta[{6 + 3 * M}], pv = ch * meta[{7 + 3 * M}];
    {c} mean, var, acc, res;
    if (flags & 1) {{        /* use_global_stats */
        mean = {p("mmean", "pm")};
        var = {p("mvar", "pv")};
    }} else {{
        acc = 0;
        for (long j = lid; j < nred; j += ls) {{
{walk}            acc += {x("xo")};
        }}
{_reduce_local(c, "sum")}        mean = res / ({c})nred;
        acc = 0;
        for (long j = lid; j < nred; j += ls) {{
{walk}            const {c} t = {x("xo")} - mean;
            acc += t * t;
        }}
{_reduce_local(c, "sum")}        var = res / ({c})nred;
    }}
    {c} scale = ({c})1 / sqrt(var + eps);
    if (!(flags & 2)) scale = scale * {p("gamma", "pg")};    /* not fix_gamma */
    const {c} shift = {p("beta", "pb")};
    for (long j = lid; j < nred; j += ls) {{
{walk}        {_st(x_dt, "out", "oo", f"({x('xo')} - mean) * scale + shift")}
    }}
    if ((flags & 4) && lid == 0) {{   /* output_mean_var */
        {_st(x_dt, "mean_out", "ch", "mean")}
        {_st(x_dt, "var_out", "ch", "(" + c + ")1 / sqrt(var + eps)")}  /* MXNet: inverse std */
    }}
}}
"""


def _kernel(rt, family, *dtypes):
    key = (family, *(np.dtype(d).name for d in dtypes))
    src = _SOURCES.get(key)
    if src is None:
        name = "_".join(("nn",) + key)
        render = {"softmax": _softmax_source, "layernorm": _layernorm_source,
                  "batchnorm": _batchnorm_source,
                  "softmax_ce": lambda n, x, lab: softmax_ce_source(n, x, lab, False),
                  "softmax_ce_bwd": lambda n, x, lab: softmax_ce_source(n, x, lab, True),
                  "pick": lambda n, x, lab: pick_source(n, x, lab, False),
                  "pick_bwd": lambda n, x, lab: pick_source(n, x, lab, True)}[family]
        src = _SOURCES[key] = ("#pragma OPENCL FP_CONTRACT OFF\n" + render(name, *dtypes), name)
    return rt.kernel(src[0], src[1], dtypes)


def _local_size(rt, n):
    """A power of two >= min(n, LOCAL_MAX), within the device's work-group limit."""
    cap = min(LOCAL_MAX, rt.device.max_work_group_size)
    ls = 1
    while ls < n and ls * 2 <= cap:
        ls *= 2
    return ls


def _launch(rt, kernel, groups, ls, *args):
    if groups:
        kernel(rt.queue, (groups * ls,), (ls,), *args)


def _check_float(op, *arrays):
    for a in arrays:
        if a.dtype == np.float64 and not a.rt.fp64:
            raise TypeError(f"{op}: this OpenCL device has no float64")


def _row_meta(x, axis, out, aux_strides=None, extra=(0, 0)):
    """``[nk, kshape, x kept strides, out kept strides, aux kept strides, L, xs, os, extra]``."""
    kept = [i for i in range(x.ndim) if i != axis]
    meta = np.zeros(6 + 4 * M, dtype=np.int64)
    meta[0] = len(kept)
    for j, i in enumerate(kept):
        meta[1 + j] = x.shape[i]
        meta[1 + M + j] = x._strides[i]
        meta[1 + 2 * M + j] = out._strides[i]
        meta[1 + 3 * M + j] = aux_strides[j] if aux_strides is not None else 0
    meta[1 + 4 * M:6 + 4 * M] = [x.shape[axis], x._strides[axis], out._strides[axis], *extra]
    return meta


def _rows(x, axis):
    return x.size // x.shape[axis] if x.shape[axis] else 0


# -- softmax family -----------------------------------------------------------------------------
def _softmax_kernel(name, log, negate):
    op = REGISTRY[name]

    def kernel(be, x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
        spec = op.infer(I.Spec(x.shape, x.dtype), None if length is None else
                        I.Spec(length.shape, length.dtype), axis=axis, temperature=temperature,
                        dtype=dtype, use_length=use_length)
        _check_float(name, x)
        rt, axis = x.rt, axis % x.ndim
        out = xp.empty(x.shape, spec.dtype, rt)
        use_len = bool(use_length)
        if use_len:
            aux, aux_off, aux_st = length, length.offset, length._strides
        else:
            aux, aux_off, aux_st = out, 0, None     # never read
        if out.size:
            k = _kernel(rt, "softmax", x.dtype, out.dtype, aux.dtype)
            c = np.float64 if _compute_type(x.dtype, out.dtype) == "double" else np.float32
            inv_t = 1.0 if temperature is None else 1.0 / temperature
            ls = _local_size(rt, x.shape[axis])
            _launch(rt, k, _rows(x, axis), ls, rt.meta(_row_meta(x, axis, out, aux_st)), out.buf,
                    np.int64(0), x.buf, np.int64(x.offset), aux.buf, np.int64(aux_off),
                    c(inv_t), np.int32(log | (negate << 1) | (use_len << 2)))
        return out

    kernel.__name__ = f"_{name}"
    return kernel


# -- LayerNorm ----------------------------------------------------------------------------------
def _layer_norm(be, x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    REGISTRY["LayerNorm"].infer(I.Spec(x.shape, x.dtype), I.Spec(gamma.shape, gamma.dtype),
                                I.Spec(beta.shape, beta.dtype), axis=axis)
    _check_float("LayerNorm", x, gamma)
    rt, axis = x.rt, axis % x.ndim
    out = xp.empty(x.shape, x.dtype, rt)
    st_shape = tuple(1 if i == axis else s for i, s in enumerate(x.shape))
    mean, std = xp.empty(st_shape, x.dtype, rt), xp.empty(st_shape, x.dtype, rt)
    if out.size:
        k = _kernel(rt, "layernorm", x.dtype, gamma.dtype)
        c = np.float64 if _compute_type(x.dtype) == "double" else np.float32
        meta = _row_meta(x, axis, out, extra=(gamma._strides[0], beta._strides[0]))
        _launch(rt, k, _rows(x, axis), _local_size(rt, x.shape[axis]), rt.meta(meta), out.buf,
                np.int64(0), x.buf, np.int64(x.offset), mean.buf, np.int64(0), gamma.buf,
                np.int64(gamma.offset), beta.buf, np.int64(beta.offset), std.buf, c(eps),
                np.int32(output_mean_var))
    return (out, mean, std) if output_mean_var else out


# -- BatchNorm ----------------------------------------------------------------------------------
def _collapse2(shape, s1, s2):
    """Drop size-1 dims and merge neighbours that are contiguous in both stride lists."""
    out = []
    for n, a, b in zip(shape, s1, s2):
        if n == 1:
            continue
        if out and out[-1][1] == a * n and out[-1][2] == b * n:
            out[-1] = [out[-1][0] * n, a, b]
        else:
            out.append([n, a, b])
    return out


def _batch_norm(be, x, gamma, beta, mmean, mvar, eps=1e-3, momentum=0.9, fix_gamma=True,
                use_global_stats=False, output_mean_var=False, axis=1, cudnn_off=False):
    spec = I.Spec(x.shape, x.dtype)
    REGISTRY["_BatchNorm"].infer(spec, *(I.Spec(p.shape, p.dtype) for p in
                                         (gamma, beta, mmean, mvar)), axis=axis)
    _check_float("BatchNorm", x, gamma)
    rt, axis = x.rt, axis % x.ndim
    out = xp.empty(x.shape, x.dtype, rt)
    nch = x.shape[axis]
    mean, var = xp.empty((nch,), x.dtype, rt), xp.empty((nch,), x.dtype, rt)
    red = [i for i in range(x.ndim) if i != axis]
    dims = _collapse2([x.shape[i] for i in red], [x._strides[i] for i in red],
                      [out._strides[i] for i in red])
    if len(dims) > M:
        raise ValueError(f"BatchNorm: at most {M} reduced dimensions after merging")
    meta = np.zeros(8 + 3 * M, dtype=np.int64)
    meta[0] = len(dims)
    for j, (n, a, b) in enumerate(dims):
        meta[1 + j], meta[1 + M + j], meta[1 + 2 * M + j] = n, a, b
    # the kernel takes no parameter offsets: an offset view is copied first
    params = [p if p.offset == 0 else xp.asarray(p, copy=True) for p in (gamma, beta, mmean, mvar)]
    meta[1 + 3 * M:8 + 3 * M] = [out.size // max(nch, 1), x._strides[axis], out._strides[axis],
                                 *(p._strides[0] for p in params)]
    if out.size:
        k = _kernel(rt, "batchnorm", x.dtype, gamma.dtype)
        c = np.float64 if _compute_type(x.dtype) == "double" else np.float32
        flags = bool(use_global_stats) | (bool(fix_gamma) << 1) | (bool(output_mean_var) << 2)
        _launch(rt, k, nch, _local_size(rt, meta[1 + 3 * M]), rt.meta(meta), out.buf, x.buf,
                np.int64(x.offset), *(p.buf for p in params), mean.buf, var.buf, c(eps),
                np.int32(flags))
    return (out, mean, var) if output_mean_var else out


# -- FullyConnected -----------------------------------------------------------------------------
def _fully_connected(be, x, w, b=None, num_hidden=0, no_bias=False, flatten=True):
    """``x @ w.T + b`` as one GEMM launch that adds the bias as it stores (the generic body
    launches a GEMM and then a broadcast add over strides, which costs as much as the GEMM
    at an MLP's sizes under PoCL). Other layouts and dtypes take the generic body."""
    k = w.shape[-1]
    if (x.ndim >= 2 and w.ndim == 2 and x.dtype == w.dtype and x.dtype in _FLOATS
            and (x.dtype == np.float32 or x.rt.fp64) and w.shape[0] == num_hidden
            and (math.prod(x.shape[1:]) if flatten else x.shape[-1]) == k
            and (b is None if no_bias else
                 b is not None and b.shape == (num_hidden,) and b.dtype == x.dtype)):
        lead = x.shape[:1] if flatten else x.shape[:-1]
        # 2-D data goes in as it is (any strides: the GEMM reads views without a copy)
        out = linear(x if x.ndim == 2 else xp.reshape(x, (math.prod(lead), k)), w, b)
        return out if len(lead) == 1 else xp.reshape(out, lead + (num_hidden,))
    return REGISTRY["FullyConnected"].generic(be.xp, x, w, b, num_hidden, no_bias, flatten)


# -- rows with a class label: softmax cross-entropy, pick --------------------------------------
def _ce_fits(x, label, axis):
    """Whether the fused kernels take these operands: float32/float64 data (see
    ``labels_fit``)."""
    return (x.dtype in _FLOATS and (x.dtype == np.float32 or x.rt.fp64)
            and labels_fit(x.shape, label, axis))


def _ce_launch(family, x, label, out, *grad):
    rt, n, L = x.rt, x.shape[0], x.shape[1]
    if n:  # by-value arguments are typed (device.Runtime.kernel): plain ints do
        _launch(rt, _kernel(rt, family, x.dtype, label.dtype), n, _local_size(rt, L), out.buf,
                out.offset, out._strides[0], out._strides[1], x.buf, x.offset, x._strides[0],
                x._strides[1], label.buf, label.offset, label._strides[0], *grad, L)
    return out


def _softmax_ce(be, x, label, axis=-1):
    if not _ce_fits(x, label, axis):
        return REGISTRY["_softmax_ce"].generic(be.xp, x, label, axis)
    return _ce_launch("softmax_ce", x, label, xp.empty((x.shape[0], 1), x.dtype, x.rt))


def _softmax_ce_backward(be, g, x, label, axis=-1):
    if not (_ce_fits(x, label, axis) and g.shape == (x.shape[0], 1) and g.dtype == x.dtype):
        return REGISTRY["_softmax_ce_backward"].generic(be.xp, g, x, label, axis)
    out = xp.empty(x.shape, x.dtype, x.rt)
    return _ce_launch("softmax_ce_bwd", x, label, out, g.buf, g.offset, g._strides[0])


def _pick(be, x, index, axis=-1, keepdims=False, mode="clip"):
    """``x[row, index[row]]`` of 2-D ``x``: one launch (the generic body's index arithmetic
    and gather take six)."""
    if not (x.dtype in PICK_DTYPES and labels_fit(x.shape, index, axis)):
        return REGISTRY["pick"].generic(be.xp, x, index, axis, keepdims, mode)
    n = x.shape[0]
    out = xp.empty((n, 1) if keepdims else (n,), x.dtype, x.rt)
    if n:
        x.rt.launch(_kernel(x.rt, "pick", x.dtype, index.dtype), n, n, out.buf, 1, x.buf,
                    x.offset, x._strides[0], x._strides[1], index.buf, index.offset,
                    index._strides[0], x.shape[1], int(mode == "wrap"))
    return out


def _pick_backward(be, g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    """Zeros of ``shape`` (2-D) with ``g[row]`` at each row's picked column, in one launch."""
    shape = tuple(shape)
    if not (g.dtype in PICK_DTYPES and labels_fit(shape, index, axis)
            and g.shape == ((shape[0], 1) if keepdims else (shape[0],))):
        return REGISTRY["_pick_backward"].generic(be.xp, g, index, shape, axis, keepdims, mode)
    out = xp.empty(shape, g.dtype, g.rt)
    if out.size:
        glob, local = _grid(g.rt, shape)
        _kernel(g.rt, "pick_bwd", g.dtype, index.dtype)(
            g.rt.queue, glob, local, shape[0], out.buf, g.buf, g.offset, g._strides[0],
            index.buf, index.offset, index._strides[0], shape[1], int(mode == "wrap"))
    return out


NN_KERNELS = {"softmax": _softmax_kernel("softmax", False, False),
              "log_softmax": _softmax_kernel("log_softmax", True, False),
              "softmin": _softmax_kernel("softmin", False, True),
              "LayerNorm": _layer_norm, "_BatchNorm": _batch_norm,
              "_softmax_ce": _softmax_ce, "_softmax_ce_backward": _softmax_ce_backward,
              "FullyConnected": _fully_connected, "pick": _pick,
              "_pick_backward": _pick_backward}
