"""Gather/scatter through index arrays, per-row scans and ``nonzero``, for any dialect.

Advanced indexing ``x[key]`` is described by one ``meta`` array, so one compiled kernel per dtype
serves every key: each result dim ``d`` has a size, a stride into ``x`` (``sst``: slices, None,
and dims that ``take_along_axis`` keeps) and a stride into the index block (``ist``: the
broadcast index dims); the ``K`` index arrays then add ``idx[k] * astr[k]`` (after wrapping
negatives into ``[0, asize[k])``) to the source offset. ``meta`` is
``[nd, shape[M], sst[M], ist[M], vst[M], K, step, asize[M], astr[M]]``; ``vst`` are the strides
of the value array of a scatter (broadcast to the result's shape), ``step`` the distance between
the K index arrays in the index buffer.

Out-of-range indices wrap around (as CuPy does): a kernel cannot raise, and a wrapped index never
reads or writes outside the buffer.
"""

from __future__ import annotations

import numpy as np

from .dialect import ctype
from .elementwise import MAXDIM

M = MAXDIM
_SST, _IST, _VST = 1 + M, 1 + 2 * M, 1 + 3 * M
_K, _STEP, _ASIZE, _ASTR = 1 + 4 * M, 2 + 4 * M, 3 + 4 * M, 3 + 5 * M
META_LEN = 3 + 6 * M


def index_meta(shape, sst, ist, vst, step, asizes, astrs) -> np.ndarray:
    nd, k = len(shape), len(asizes)
    if nd > M or k > M:
        raise ValueError(f"indexing kernels support up to {M} result dims and {M} index arrays")
    meta = np.zeros(META_LEN, dtype=np.int64)
    meta[0] = nd
    for base, vals in ((1, shape), (_SST, sst), (_IST, ist), (_VST, vst)):
        meta[base:base + nd] = vals
    meta[_K], meta[_STEP] = k, step
    meta[_ASIZE:_ASIZE + k] = asizes
    meta[_ASTR:_ASTR + k] = astrs
    return meta


def _locate(d):
    """C statements: from the linear result index ``i``, the source offset ``src`` in x and the
    value offset ``vo``."""
    return f"""
    long rem = i, src = x_off, ip = idx_off, vo = v_off;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        src += c * meta[{_SST} + dim];
        ip += c * meta[{_IST} + dim];
        vo += c * meta[{_VST} + dim];
    }}
    const int nk = (int)meta[{_K}];
    for (int k = 0; k < nk; ++k) {{
        const long sz = meta[{_ASIZE} + k];
        long j = idx[ip + k * meta[{_STEP}]] % sz;
        if (j < 0) j += sz;
        src += j * meta[{_ASTR} + k];
    }}"""


def _atomic_add(d, dtype):
    """C statement adding ``val`` to ``x[src]`` atomically, or None where the dtype has none."""
    dt = np.dtype(dtype)
    if d.name == "cuda":
        if dt.name in ("float32", "float64", "int32", "uint32"):
            return "atomicAdd(x + src, val);"
        if dt.name in ("int64", "uint64"):  # two's complement: unsigned add is the same bits
            return "atomicAdd((unsigned long long*)(x + src), (unsigned long long)val);"
        return None
    if dt.name in ("int32", "uint32"):
        return f"atomic_add((volatile __global {ctype(dt)}*)(x + src), val);"
    if dt.name in ("int64", "uint64"):
        return f"atom_add((volatile __global {ctype(dt)}*)(x + src), val);"
    if dt.name in ("float32", "float64"):  # no float atomics in OpenCL 1.2: CAS on the bits
        bits, cas = ("uint", "atomic_cmpxchg") if dt.itemsize == 4 else ("ulong", "atom_cmpxchg")
        t = ctype(dt)
        return (f"volatile __global {bits}* p = (volatile __global {bits}*)(x + src);\n"
                f"        {bits} old = *p, seen;\n"
                f"        do {{ seen = old; old = {cas}(p, seen, as_{bits}(as_{t}(seen) + val)); }}"
                f" while (old != seen);")
    return None


def needs_int64_atomics(dtype) -> bool:
    return np.dtype(dtype).itemsize == 8


def index_source(name, x_dtype, v_dtype, dialect, atomics=True) -> str:
    """``<name>_gather``, ``<name>_set``, ``<name>_add`` (atomic, where the dtype has atomics)
    and ``<name>_add_serial`` (one work item, in order: deterministic, needs no atomics)."""
    d = dialect
    t, v = ctype(x_dtype), ctype(v_dtype)
    g, cp = d.global_ptr, d.const_ptr
    common = f"const long n, {cp} long* meta"
    idx = f"{g} const long* idx, const long idx_off"
    atomic = _atomic_add(d, x_dtype) if atomics else None
    pragma = ("#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable\n"
              if d.name == "opencl" and atomic and needs_int64_atomics(x_dtype) else "")
    src = pragma + f"""
{d.kernel} {name}_gather({common}, {g} {t}* out, const long out_off, {g} const {t}* x,
                         const long x_off, {idx}) {{
    const long i = {d.global_id};
    if (i >= n) return;
    const long v_off = 0;{_locate(d)}
    out[out_off + i] = x[src];
}}

{d.kernel} {name}_set({common}, {g} {t}* x, const long x_off, {g} const {v}* v,
                      const long v_off, {idx}) {{
    const long i = {d.global_id};
    if (i >= n) return;{_locate(d)}
    x[src] = ({t})v[vo];
}}

{d.kernel} {name}_add_serial({common}, {g} {t}* x, const long x_off, {g} const {v}* v,
                             const long v_off, {idx}) {{
    if ({d.global_id} != 0) return;
    for (long i = 0; i < n; ++i) {{{_locate(d)}
        x[src] = ({t})(x[src] + ({t})v[vo]);
    }}
}}
"""
    if atomic:
        src += f"""
{d.kernel} {name}_add({common}, {g} {t}* x, const long x_off, {g} const {v}* v,
                      const long v_off, {idx}) {{
    const long i = {d.global_id};
    if (i >= n) return;{_locate(d)}
    {{
        const {t} val = ({t})v[vo];
        {atomic}
    }}
}}
"""
    return src


# -- scans and nonzero -----------------------------------------------------------------------------
def scan_meta(kshape, kstrides, axis_stride) -> np.ndarray:
    """``[nk, kshape[M], kstrides[M], axis_stride]`` for :func:`scan_source`."""
    nk = len(kshape)
    if nk > M:
        raise ValueError(f"scans support up to {M} dimensions")
    meta = np.zeros(2 + 2 * M, dtype=np.int64)
    meta[0] = nk
    meta[1:1 + nk] = kshape
    meta[1 + M:1 + M + nk] = kstrides
    meta[1 + 2 * M] = axis_stride
    return meta


def scan_source(name, in_dtype, acc_dtype, out_dtype, op, dialect) -> str:
    """``<name>``: one work item per row writes the running ``op`` ("+" or "*") of its row into
    the contiguous ``(rows, n + init)`` output; with ``init`` the row starts with the identity.

    Long rows go in blocks of ``bl`` elements, one work item each: ``<name>_bsum`` writes each
    block's total into ``(rows, nb)``, the host scans those (exclusive), and ``<name>_bscan``
    scans each block starting from its offset."""
    d = dialect
    g, i_t, a_t, o_t = d.global_ptr, ctype(in_dtype), ctype(acc_dtype), ctype(out_dtype)
    ident = "0" if op == "+" else "1"
    row_base = f"""
    long rem = r, base = x_off;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        base += c * meta[{1 + M} + dim];
    }}
    const long st = meta[{1 + 2 * M}];"""
    blocks = f"""const long bl, const long nb, {d.const_ptr} long* meta,
                        {g} const {i_t}* x, const long x_off"""
    return f"""
{d.kernel} {name}(const long rows, const long n, const int init, {d.const_ptr} long* meta,
                  {g} {o_t}* out, {g} const {i_t}* x, const long x_off) {{
    const long r = {d.global_id};
    if (r >= rows) return;{row_base}
    long ob = r * (n + init);
    {a_t} acc = {ident};
    if (init) out[ob++] = ({o_t})acc;
    for (long j = 0; j < n; ++j) {{
        acc = acc {op} ({a_t})x[base + j * st];
        out[ob + j] = ({o_t})acc;
    }}
}}

{d.kernel} {name}_bsum(const long rows, const long n, {blocks}, {g} {a_t}* sums) {{
    const long gi = {d.global_id};
    if (gi >= rows * nb) return;
    const long r = gi / nb, b = gi - r * nb;{row_base}
    const long j1 = (b + 1) * bl < n ? (b + 1) * bl : n;
    {a_t} acc = {ident};
    for (long j = b * bl; j < j1; ++j) acc = acc {op} ({a_t})x[base + j * st];
    sums[gi] = acc;
}}

{d.kernel} {name}_bscan(const long rows, const long n, const int init, {blocks},
                        {g} const {a_t}* offs, {g} {o_t}* out) {{
    const long gi = {d.global_id};
    if (gi >= rows * nb) return;
    const long r = gi / nb, b = gi - r * nb;{row_base}
    const long j1 = (b + 1) * bl < n ? (b + 1) * bl : n;
    const long ob = r * (n + init) + init;
    {a_t} acc = offs[r * (nb + 1) + b];
    if (init && b == 0) out[ob - 1] = ({o_t})acc;
    for (long j = b * bl; j < j1; ++j) {{
        acc = acc {op} ({a_t})x[base + j * st];
        out[ob + j] = ({o_t})acc;
    }}
}}
"""


def nonzero_source(name, dtype, dialect) -> str:
    """``<name>``: element ``i`` of a contiguous array, if nonzero, writes its coordinates into
    column ``cs[i] - 1`` of the ``(ndim, count)`` output (``cs``: inclusive count of nonzeros)."""
    d = dialect
    return f"""
{d.kernel} {name}(const long n, {d.const_ptr} long* meta, {d.global_ptr} long* out,
                  const long count, {d.global_ptr} const {ctype(dtype)}* x, const long x_off,
                  {d.global_ptr} const long* cs) {{
    const long i = {d.global_id};
    if (i >= n || x[x_off + i] == 0) return;
    const long pos = cs[i] - 1;
    long rem = i;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        out[dim * count + pos] = rem % meta[1 + dim];
        rem /= meta[1 + dim];
    }}
}}
"""
