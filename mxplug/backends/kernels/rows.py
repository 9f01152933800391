"""Row kernels over 2-D data with one class label per row: ``_softmax_ce`` and its gradient,
``pick`` and its gradient — rendered for OpenCL C or CUDA C through a :class:`Dialect`.

One work-group (CUDA: thread block) per row reduces the row in local (shared) memory; pointers
come with element offsets and strides, so any layout of rows is read in place.
"""

from __future__ import annotations

import numpy as np

from .dialect import OPENCL, ctype
from .elementwise import _guarded, _on_axis

__all__ = ["LOCAL_MAX", "PICK_DTYPES", "labels_fit", "softmax_ce_source", "pick_source"]

#: The largest work-group a row kernel uses (the size of its local reduction array).
LOCAL_MAX = 256
#: Data dtypes the ``pick`` kernels take (softmax cross-entropy: float32 and float64).
PICK_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def labels_fit(shape, label, axis):
    """Whether a row kernel takes ``label`` for data of ``shape``: 2-D data along its last
    axis, one label per row ((N,) or (N, 1)) of an integer type or float32/float64."""
    return (len(shape) == 2 and axis % 2 == 1 and shape[1] > 0
            and label.shape in ((shape[0],), (shape[0], 1))
            and (label.dtype.kind in "iu" or label.dtype in _FLOATS))


def _ld(dt, ptr, idx, c):
    """Load ``ptr[idx]`` as compute type ``c`` (half is storage-only without cl_khr_fp16)."""
    if np.dtype(dt) == np.float16:
        return f"(({c})vload_half({idx}, {ptr}))"
    return f"(({c}){ptr}[{idx}])"


def _st(dt, ptr, idx, val):
    if np.dtype(dt) == np.float16:
        return f"vstore_half({val}, {idx}, {ptr});"
    return f"{ptr}[{idx}] = ({ctype(dt)})({val});"


def _reduce_local(c, op, d=OPENCL):
    """Tree-reduce each work item's ``acc`` over the work-group into ``res`` (all items)."""
    # the max skips NaN as fmax does, without a builtin call (PoCL 3.0 does not inline them)
    comb = {"sum": "sh[lid] + sh[lid + s]",
            "max": "(sh[lid + s] > sh[lid] ? sh[lid + s] : sh[lid])"}[op]
    return f"""    sh[lid] = acc;
    {d.barrier};
    for (int s = ls >> 1; s > 0; s >>= 1) {{
        if (lid < s) sh[lid] = {comb};
        {d.barrier};
    }}
    res = sh[0];
    {d.barrier};
"""


def _compute_type(*dtypes):
    return "double" if any(np.dtype(d) == np.float64 for d in dtypes) else "float"


def _label_index(lab_dt, lv, L, wrap):
    """C statements: ``long idx`` = the class index of label value ``lv`` in ``[0, L)`` as
    ``pick`` takes it: truncated toward zero (a NaN or out-of-range float becomes the lowest
    long, as NumPy's cast gives on x86), then clipped, or with ``wrap`` (a C expression)
    wrapped Python-style."""
    if np.dtype(lab_dt).kind == "f":
        head = (f"long idx = ({lv} == {lv} && {lv} > -9.2e18f && {lv} < 9.2e18f) ? (long){lv} "
                f": LONG_MIN;")
    else:
        head = f"long idx = (long){lv};"
    return f"""{head}
    if ({wrap}) {{ idx %= {L}; if (idx < 0) idx += {L}; }}
    else idx = idx < 0 ? 0 : (idx >= {L} ? {L} - 1 : idx);
"""


def pick_source(name, x_dt, lab_dt, backward, d=OPENCL):
    """``pick`` along the last axis of 2-D ``x`` (one work item per row) or, with
    ``backward``, its gradient: zeros with ``g[row]`` at each row's picked column (one work
    item per output element, on a (columns, rows) grid)."""
    t, lt = ctype(x_dt), ctype(lab_dt)
    if backward:
        # a 2-D grid (column, row): no division, and whole groups store unconditionally
        # (``_guarded``), so PoCL vectorises along the row; ``g[row]`` is loaded whatever the
        # column and ``out`` is ``restrict``, which lets both loads leave the column loop
        body = f"""        const {lt} lv = lab[lab_off + row * lab_s];
        {_label_index(lab_dt, "lv", "L", "wrap")}        const {t} gv = g[g_off + row * gs];
        out[row * L + j] = j == idx ? gv : ({t})0;"""
        return f"""
{d.kernel} {name}(const long rows, {d.global_ptr} {t}* {d.restrict} out,
        {d.global_ptr} const {t}* g, const long g_off, const long gs,
        {d.global_ptr} const {lt}* lab, const long lab_off, const long lab_s, const long L,
        const int wrap) {{
    const long j = {d.global_id}, row = {_on_axis(d.global_id, 1)};
{_guarded(d, body, [(0, "j", "L"), (1, "row", "rows")])}
}}
"""
    return f"""
{d.kernel} {name}(const long n, {d.global_ptr} {t}* out, const long os,
        {d.global_ptr} const {t}* in0, const long off0, const long xrow, const long xc,
        {d.global_ptr} const {lt}* lab, const long lab_off, const long lab_s, const long L,
        const int wrap) {{
    const long row = {d.global_id};
    if (row >= n) return;
    const {lt} lv = lab[lab_off + row * lab_s];
    {_label_index(lab_dt, "lv", "L", "wrap")}    out[row * os] = in0[off0 + row * xrow + idx * xc];
}}
"""


def softmax_ce_source(name, x_dt, lab_dt, backward, d=OPENCL):
    """``_softmax_ce`` (``lse(x) - x[label]`` per row) or, with ``backward``, its data gradient
    ``g * (softmax(x) - onehot(label))``: one work-group per row of a 2-D ``x`` (any strides)."""
    c = _compute_type(x_dt)
    t = ctype(x_dt)
    x = lambda i: _ld(x_dt, "in0", i, c)  # noqa: E731
    grad = (f", {d.global_ptr} const {t}* g, const long g_off, const long gs"
            if backward else "")
    if backward:
        tail = f"""    const {c} gr = {_ld(x_dt, "g", "g_off + row * gs", c)}, gs_ = gr / s;
    for (long j = lid; j < L; j += ls) {{
        {c} v = exp({x("xb + j * xc")} - m) * gs_;
        if (j == idx) v -= gr;
        {_st(x_dt, "out", "ob + j * oc", "v")}
    }}
"""
    else:
        loss = f"(log(s) + m) - {x('xb + idx * xc')}"
        tail = f"""    if (lid == 0) {{ {_st(x_dt, "out", "ob", loss)} }}
"""
    return f"""
{d.kernel} {name}({d.global_ptr} {t}* out, const long out_off, const long orow,
        const long oc, {d.global_ptr} const {t}* in0, const long off0, const long xrow,
        const long xc, {d.global_ptr} const {ctype(lab_dt)}* lab, const long lab_off,
        const long lab_s{grad}, const long L) {{
    {d.local_mem} {c} sh[{LOCAL_MAX}];
    const long row = {d.group_id};
    const int lid = {d.local_id}, ls = {d.local_size};
    const long xb = off0 + row * xrow, ob = out_off + row * orow;
    const {ctype(lab_dt)} lv = lab[lab_off + row * lab_s];
    {_label_index(lab_dt, "lv", "L", "0")}    {c} acc = -INFINITY, res;
    for (long j = lid; j < L; j += ls) {{
        const {c} v = {x("xb + j * xc")};
        acc = v > acc ? v : acc;
    }}
{_reduce_local(c, "max", d)}    const {c} m = res;
    acc = 0;
    for (long j = lid; j < L; j += ls) acc += exp({x("xb + j * xc")} - m);
{_reduce_local(c, "sum", d)}    const {c} s = res;
{tail}}}
"""
