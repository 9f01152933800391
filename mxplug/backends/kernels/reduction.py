"""Reductions over any set of axes, with NumPy's keepdims layout left to the caller.

One work item computes one output element: it walks the *kept* coordinates to find its base
offset, then loops over the *reduced* elements. The host collapses adjacent dims first, so the
inner loop is usually a single strided walk. ``meta`` is
``[nk, kshape[M], kstrides[M], ostrides[M], nr, rshape[M], rstrides[M], nred]``.

A reduction is described by C snippets: ``init`` (the accumulator's start value), ``combine``
(an expression of ``acc`` and ``x``, or for arg-reductions a condition of ``x`` and ``acc`` that
says ``x`` replaces the best so far) and ``final`` (an expression of ``acc`` and ``nred``).
"""

from __future__ import annotations

import numpy as np

from .dialect import ctype
from .elementwise import MAXDIM

M = MAXDIM


def reduction_source(name, init, combine, final, in_dtype, acc_dtype, out_dtype, dialect,
                     arg=False) -> str:
    d = dialect
    in_t, acc_t, out_t = ctype(in_dtype), ctype(acc_dtype), ctype(out_dtype)
    step = (f"if ({combine}) {{ acc = x; best = j; }}" if arg else f"acc = {combine};")
    result = "best" if arg else final
    return f"""
{d.kernel} {name}(const long n, {d.const_ptr} long* meta, {d.global_ptr} {out_t}* out,
                  const long out_off, {d.global_ptr} const {in_t}* in0, const long off0) {{
    const long i = {d.global_id};
    if (i >= n) return;
    long rem = i, base = off0, ob = out_off;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        base += c * meta[{1 + M} + dim];
        ob += c * meta[{1 + 2 * M} + dim];
    }}
    const int nr = (int)meta[{1 + 3 * M}];
    const long nred = meta[{2 + 5 * M}];
    {acc_t} acc = {init};
    long best = 0;
    if (nr == 1) {{
        const long st = meta[{2 + 4 * M}];
        for (long j = 0; j < nred; ++j) {{
            const {acc_t} x = ({acc_t})in0[base + j * st];
            {step}
        }}
    }} else if (nr == 2) {{
        // two reduced axes (NCHW over N and the collapsed H*W): nested loops, no division
        const long n0 = meta[{2 + 3 * M}], n1 = meta[{3 + 3 * M}];
        const long s0 = meta[{2 + 4 * M}], s1 = meta[{3 + 4 * M}];
        long j = 0;
        for (long a = 0; a < n0; ++a) {{
            for (long b = 0; b < n1; ++b, ++j) {{
                const {acc_t} x = ({acc_t})in0[base + a * s0 + b * s1];
                {step}
            }}
        }}
    }} else {{
        for (long j = 0; j < nred; ++j) {{
            long r = j, o = base;
            for (int dim = nr - 1; dim >= 0; --dim) {{
                const long c = r % meta[{2 + 3 * M} + dim];
                r /= meta[{2 + 3 * M} + dim];
                o += c * meta[{2 + 4 * M} + dim];
            }}
            const {acc_t} x = ({acc_t})in0[o];
            {step}
        }}
    }}
    out[ob] = ({out_t})({result});
}}
"""


def reduction_meta(kshape, kstrides, ostrides, rshape, rstrides) -> np.ndarray:
    """The ``meta`` array for :func:`reduction_source` (shapes and element strides)."""
    if len(kshape) > M or len(rshape) > M:
        raise ValueError(f"reductions support up to {M} kept and {M} reduced dimensions")
    meta = np.zeros(3 + 6 * M, dtype=np.int64)
    meta[0] = len(kshape)
    meta[1:1 + len(kshape)] = kshape
    meta[1 + M:1 + M + len(kshape)] = kstrides
    meta[1 + 2 * M:1 + 2 * M + len(kshape)] = ostrides
    meta[1 + 3 * M] = len(rshape)
    meta[2 + 3 * M:2 + 3 * M + len(rshape)] = rshape
    meta[2 + 4 * M:2 + 4 * M + len(rshape)] = rstrides
    meta[2 + 5 * M] = int(np.prod(rshape, dtype=np.int64)) if len(rshape) else 1
    return meta
