"""Dense linear algebra on batches of small matrices, one work item per matrix.

Each kernel works in place on a contiguous ``(batch, n, n)`` device copy (the host makes it with
a strided copy kernel), so it serves any input layout. Partial pivoting everywhere; the O(n^3)
loops in one work item suit the small matrices of ``linalg_*`` ops, not large factorizations.

- ``<name>_slogdet(nb, n, W, sign, logabs)``: LU of W; sign and log|det| (0 and -inf if singular).
- ``<name>_solve(nb, n, k, W, X, identity)``: X <- W^-1 X by Gaussian elimination (X starts as
  the identity when ``identity`` is nonzero: the inverse). Singular W gives inf/nan.
- ``<name>_cholesky(nb, n, W)``: W <- its lower Cholesky factor (upper triangle zeroed; reads
  the lower triangle only). A matrix that is not positive definite gives nan.
"""

from __future__ import annotations

from .dialect import ctype


def smallmat_source(name, dtype, dialect) -> str:
    d, t = dialect, ctype(dtype)
    g = d.global_ptr
    head = f"""    const long b = {d.global_id};
    if (b >= nb) return;"""
    return f"""
{d.kernel} {name}_slogdet(const long nb, const long n, {g} {t}* W, {g} {t}* sign,
                          {g} {t}* logabs) {{
{head}
    {g} {t}* a = W + b * n * n;
    {t} s = 1, l = 0;
    for (long k = 0; k < n; ++k) {{
        long p = k;
        {t} best = fabs(a[k * n + k]);
        for (long i = k + 1; i < n; ++i) {{
            const {t} v = fabs(a[i * n + k]);
            if (v > best) {{ best = v; p = i; }}
        }}
        if (best == 0) {{ s = 0; l = -INFINITY; break; }}
        if (p != k) {{
            s = -s;
            for (long j = k; j < n; ++j) {{
                const {t} tmp = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = tmp;
            }}
        }}
        const {t} piv = a[k * n + k];
        if (piv < 0) s = -s;
        l += log(fabs(piv));
        for (long i = k + 1; i < n; ++i) {{
            const {t} f = a[i * n + k] / piv;
            for (long j = k + 1; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
        }}
    }}
    sign[b] = s;
    logabs[b] = l;
}}

{d.kernel} {name}_solve(const long nb, const long n, const long m, {g} {t}* W, {g} {t}* X,
                        const int identity) {{
{head}
    {g} {t}* a = W + b * n * n;
    {g} {t}* x = X + b * n * m;
    if (identity)
        for (long i = 0; i < n; ++i)
            for (long j = 0; j < m; ++j) x[i * m + j] = (i == j);
    for (long k = 0; k < n; ++k) {{
        long p = k;
        {t} best = fabs(a[k * n + k]);
        for (long i = k + 1; i < n; ++i) {{
            const {t} v = fabs(a[i * n + k]);
            if (v > best) {{ best = v; p = i; }}
        }}
        if (p != k) {{
            for (long j = k; j < n; ++j) {{
                const {t} tmp = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = tmp;
            }}
            for (long j = 0; j < m; ++j) {{
                const {t} tmp = x[k * m + j]; x[k * m + j] = x[p * m + j]; x[p * m + j] = tmp;
            }}
        }}
        const {t} piv = a[k * n + k];
        for (long i = k + 1; i < n; ++i) {{
            const {t} f = a[i * n + k] / piv;
            for (long j = k + 1; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
            for (long j = 0; j < m; ++j) x[i * m + j] -= f * x[k * m + j];
        }}
    }}
    for (long k = n - 1; k >= 0; --k) {{
        const {t} piv = a[k * n + k];
        for (long j = 0; j < m; ++j) {{
            {t} v = x[k * m + j];
            for (long i = k + 1; i < n; ++i) v -= a[k * n + i] * x[i * m + j];
            x[k * m + j] = v / piv;
        }}
    }}
}}

{d.kernel} {name}_cholesky(const long nb, const long n, {g} {t}* W) {{
{head}
    {g} {t}* a = W + b * n * n;
    for (long j = 0; j < n; ++j) {{
        {t} s = a[j * n + j];
        for (long k = 0; k < j; ++k) s -= a[j * n + k] * a[j * n + k];
        const {t} dj = sqrt(s);
        a[j * n + j] = dj;
        for (long i = j + 1; i < n; ++i) {{
            {t} v = a[i * n + j];
            for (long k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = v / dj;
        }}
        for (long i = 0; i < j; ++i) a[i * n + j] = 0;
    }}
}}
"""
