"""A stable merge sort of many rows at once, for any dialect.

Bottom-up merge sort where every pass is fully parallel: one work item per element finds where
its element lands in the merged run by a binary search in the other run (merge by rank). An
element of the left run goes after the right run's strictly smaller elements, one of the right
run after the left run's smaller-or-equal ones, so equal keys keep their order: the sort is
stable. ``ceil(log2 n)`` launches sort every row of a ``(rows, n)`` contiguous key array, moving
int64 positions (the argsort); the last pass also writes the sorted keys.

Floats order NaN last (ascending), as NumPy does; ``desc`` reverses the comparison, which keeps
the sort stable (equal keys stay in input order).
"""

from __future__ import annotations

import numpy as np

from .dialect import ctype


def merge_source(name, dtype, dialect) -> str:
    d = dialect
    t = ctype(dtype)
    if np.dtype(dtype).kind == "f":
        lt = "((a) < (b) || (isnan(b) && !isnan(a)))"
    else:
        lt = "((a) < (b))"
    g = d.global_ptr
    return f"""
#define LT_{name}(a, b) {lt}
#define LESS_{name}(a, b) (desc ? LT_{name}(b, a) : LT_{name}(a, b))
{d.kernel} {name}(const long total, const long n, const long width, const int desc,
                  {g} const {t}* keys, {g} const long* src, {g} long* dst, {g} {t}* vals,
                  const int write_vals) {{
    const long i = {d.global_id};
    if (i >= total) return;
    const long row = i / n, p = i - row * n, base = row * n;
    const long lo = (p / (2 * width)) * (2 * width);
    const long mid = lo + width < n ? lo + width : n;
    const long hi = lo + 2 * width < n ? lo + 2 * width : n;
    const long j = src[base + p];
    const {t} key = keys[base + j];
    long a, b, q;
    if (p < mid) {{          /* left run: count right elements < key */
        a = mid; b = hi;
        while (a < b) {{
            const long m = (a + b) / 2;
            if (LESS_{name}(keys[base + src[base + m]], key)) a = m + 1; else b = m;
        }}
        q = p + (a - mid);
    }} else {{               /* right run: count left elements <= key */
        a = lo; b = mid;
        while (a < b) {{
            const long m = (a + b) / 2;
            if (LESS_{name}(key, keys[base + src[base + m]])) b = m; else a = m + 1;
        }}
        q = lo + (p - mid) + (a - lo);
    }}
    dst[base + q] = j;
    if (write_vals) vals[base + q] = key;
}}
"""
