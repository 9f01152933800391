"""Batched GEMM ``C = A @ B`` over any element strides, rendered for OpenCL C or CUDA C.

One program holds three entry points over ``(M, K) @ (K, N)`` matrices, each work item computing a
register block of ``RM x RN`` outputs (``RN = NV * VW``, kept in ``NV`` vectors of width ``VW``):

- ``<name>_nn``: B's rows are contiguous (``sbn == 1``): per k one vector load of B per ``VW``
  columns and one scalar of A per row, broadcast into fused multiply-adds (the BLIS micro-kernel
  shape; PoCL turns the OpenCL vectors into AVX/NEON registers). A may have any strides.
- ``<name>_nt``: A's and B's k axes are contiguous (``A @ B.T``, the fully-connected layer):
  ``TM x TN`` dot products accumulated ``VW`` lanes at a time, then summed across lanes.
- ``<name>_any``: any strides and any size (operands gathered element by element, bounds checked).

``gemm_source(..., bias=True)`` renders the same three as ``<name>_nn_bias`` etc., which add
``bias[boff + row * bsm + col * bsn]`` to each output as they store it (a fully-connected
layer's bias: one launch instead of a GEMM and a broadcast add).

The fast kernels need ``M >= RM`` and ``N >= RN`` (``nt``: ``TM``, ``TN``): the last block of
rows or columns is shifted back to end at the matrix edge, so it recomputes a few outputs that the
previous block also writes, with identical values, and no load or store needs a bounds check.
The launch is one-dimensional (row blocks fastest, then column blocks, then the batch), so
neighbouring work items share a panel of B in cache. ``meta`` describes the batch:
``[nbd, bshape[MAXDIM], a_bstrides[MAXDIM], b_bstrides[MAXDIM], c_bstrides[MAXDIM]]``.
"""

from __future__ import annotations

import math

import numpy as np

from .dialect import ctype
from .elementwise import MAXDIM

_HEX = "0123456789abcdef"


class _Vec:
    """Spellings of a short vector of ``w`` elements of C type ``t``: an OpenCL vector type, or
    (CUDA, which has no 8-wide vectors) ``w`` scalars named ``<name>_<lane>``."""

    def __init__(self, dialect, t, w):
        self.cl = dialect.name == "opencl"
        self.t, self.w = t, w
        self.vt = f"{t}{w}" if w > 1 else t

    def lane(self, name, v):
        if not self.cl:
            return f"{name}_{v}"
        return name if self.w == 1 else f"{name}.s{_HEX[v]}"

    def zero(self, name):
        if self.cl:
            return f"{self.vt} {name} = ({self.vt})(0);"
        return " ".join(f"{self.t} {name}_{v} = 0;" for v in range(self.w))

    def load(self, name, ptr):
        """``name = ptr[0:w]`` (contiguous). Built from scalars: PoCL 3.0 calls ``vload8`` as an
        out-of-line function (5x slower), while LLVM merges these loads into one vector load."""
        return self.gather(name, [f"({ptr})[{v}]" for v in range(self.w)])

    def gather(self, name, exprs):
        if self.cl:
            return f"const {self.vt} {name} = ({self.vt})({', '.join(exprs)});"
        return " ".join(f"const {self.t} {name}_{v} = {e};" for v, e in enumerate(exprs))

    def fma(self, acc, a, b, scalar_a=True):
        """``acc += a * b`` lane-wise (``a`` a scalar broadcast to every lane, or a vector).
        Operators, not ``mad()``: PoCL 3.0 does not inline builtins; with FP_CONTRACT the
        compiler still fuses the multiply-add."""
        if self.cl:
            av = f"({self.vt})({a})" if scalar_a else a
            return f"{acc} = {av} * {b} + {acc};"
        return " ".join(f"{acc}_{v} += {a if scalar_a else f'{a}_{v}'} * {b}_{v};"
                        for v in range(self.w))

    def hsum(self, name):
        return "(" + " + ".join(self.lane(name, v) for v in range(self.w)) + ")"


def gemm_config(dtype, device_kind="cpu"):
    """Register-block sizes (RM, NV, VW; TM, TN for ``nt``) for ``dtype`` on a CPU or GPU.

    CPU (measured with PoCL on AVX2, 1024^3): ``nn`` keeps 6 x 16 fp32 outputs in 12 vector
    registers (the BLIS micro-kernel shape; 8 x 16 spills), fp64 6 x 8; ``nt`` 2 x 4 fp32 and
    3 x 3 fp64 dot products. GPU: smaller blocks, untuned (no GPU was available to measure).
    """
    wide = np.dtype(dtype).itemsize >= 8
    if device_kind != "cpu":
        return {"rm": 4, "nv": 1, "vw": 4, "tm": 2, "tn": 2}
    if wide:
        return {"rm": 6, "nv": 2, "vw": 4, "tm": 3, "tn": 3}
    return {"rm": 6, "nv": 2, "vw": 8, "tm": 2, "tn": 4}


def gemm_source(name, dtype, dialect, rm=6, nv=2, vw=8, tm=2, tn=4, bias=False) -> str:
    """Source of ``<name>_nn``, ``<name>_nt`` and ``<name>_any`` for ``dtype`` operands (with
    ``bias``: ``<name>_nn_bias`` etc., taking ``bias, bias_off, bsm, bsn`` last)."""
    d = dialect
    t = ctype(dtype)
    vec = _Vec(d, t, vw)
    rn = nv * vw
    params = (f"const long M, const long N, const long K, {d.const_ptr} long* meta, "
              f"{d.global_ptr} const {t}* A, const long aoff, const long sam, const long sak, "
              f"{d.global_ptr} const {t}* B, const long boff, const long sbk, const long sbn, "
              f"{d.global_ptr} {t}* C, const long coff, const long scm, const long scn")
    sfx = ""
    if bias:
        params += (f", {d.global_ptr} const {t}* bias, const long bias_off, const long bsm, "
                   f"const long bsn")
        sfx = "_bias"

    def prologue(bm, bn, shift):
        """Decode (row block, column block, batch) from the linear id; move A, B, C there."""
        clamp = (f"    if (r0 + {bm} > M) r0 = M - {bm};\n"
                 f"    if (c0 + {bn} > N) c0 = N - {bn};\n") if shift else ""
        return f"""
    const long nrb = (M + {bm - 1}) / {bm}, ncb = (N + {bn - 1}) / {bn};
    long gid = {d.global_id};
    if (gid >= nrb * ncb * meta[{1 + MAXDIM * 4}]) return;
    long r0 = (gid % nrb) * {bm}; gid /= nrb;
    long c0 = (gid % ncb) * {bn}; gid /= ncb;
{clamp}    long ao = aoff, bo = boff, co = coff;
    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = gid % meta[1 + dim];
        gid /= meta[1 + dim];
        ao += c * meta[{1 + MAXDIM} + dim];
        bo += c * meta[{1 + 2 * MAXDIM} + dim];
        co += c * meta[{1 + 3 * MAXDIM} + dim];
    }}
"""

    def store(rows, cols, value, guard):
        out = []
        for i in range(rows):
            for j in range(cols):
                v = value(i, j)
                if bias:
                    v = f"{v} + bias[bias_off + (r0 + {i}) * bsm + (c0 + {j}) * bsn]"
                st = f"C[co + (r0 + {i}) * scm + (c0 + {j}) * scn] = {v};"
                out.append(f"if (r0 + {i} < M && c0 + {j} < N) {st}" if guard else st)
        return "\n    ".join(out)

    def acc(i, j):
        return vec.lane(f"c{i}_{j // vw}", j % vw)

    zeros = "\n    ".join(vec.zero(f"c{i}_{j}") for i in range(rm) for j in range(nv))

    def fmas(a_at):
        return "\n        ".join(
            f"{{ const {t} a = pa[{a_at(i)}]; "
            + " ".join(vec.fma(f"c{i}_{j}", "a", f"b{j}") for j in range(nv)) + " }"
            for i in range(rm))

    # nn: vector loads of B rows, broadcast scalars of A
    loads = "\n        ".join(vec.load(f"b{j}", f"pb + {j * vw}") for j in range(nv))
    nn = f"""
{d.kernel} {name}_nn{sfx}({params}) {{{prologue(rm, rn, True)}
    {zeros}
    {d.global_ptr} const {t}* pa = A + ao + r0 * sam;
    {d.global_ptr} const {t}* pb = B + bo + c0;
    for (long k = 0; k < K; ++k, pa += sak, pb += sbk) {{
        {loads}
        {fmas(lambda i: f"{i} * sam")}
    }}
    {store(rm, rn, acc, False)}
}}
"""
    # any: the same block, every load gathered and bounds checked (clamped to the last row/column)
    gathers = "\n        ".join(vec.gather(f"b{j}", [f"pb[n{j * vw + v}]" for v in range(vw)])
                               for j in range(nv))
    # clamped (so in-bounds) offsets of the block's columns and rows; no builtin min() calls
    hoist = "\n    ".join(
        [f"const long n{j} = (c0 + {j} < N ? c0 + {j} : N - 1) * sbn;" for j in range(rn)]
        + [f"const long m{i} = (r0 + {i} < M ? {i} : M - 1 - r0) * sam;" for i in range(rm)])
    any_ = f"""
{d.kernel} {name}_any{sfx}({params}) {{{prologue(rm, rn, False)}
    {hoist}
    {zeros}
    {d.global_ptr} const {t}* pa = A + ao + r0 * sam;
    {d.global_ptr} const {t}* pb = B + bo;
    for (long k = 0; k < K; ++k, pa += sak, pb += sbk) {{
        {gathers}
        {fmas(lambda i: f"m{i}")}
    }}
    {store(rm, rn, acc, True)}
}}
"""
    # nt: dot products along contiguous k, VW lanes at a time, then a scalar tail
    rows = "\n    ".join(f"{d.global_ptr} const {t}* pa{i} = A + ao + (r0 + {i}) * sam;"
                         for i in range(tm))
    cols = "\n    ".join(f"{d.global_ptr} const {t}* pb{j} = B + bo + (c0 + {j}) * sbn;"
                         for j in range(tn))
    zeros_nt = "\n    ".join(vec.zero(f"d{i}_{j}") for i in range(tm) for j in range(tn))
    body = "\n        ".join(
        [vec.load(f"x{i}", f"pa{i} + k") for i in range(tm)]
        + [vec.load(f"y{j}", f"pb{j} + k") for j in range(tn)]
        + [vec.fma(f"d{i}_{j}", f"x{i}", f"y{j}", scalar_a=False)
           for i in range(tm) for j in range(tn)])
    tail = "\n        ".join(f"s{i}_{j} += pa{i}[k] * pb{j}[k];" for i in range(tm)
                             for j in range(tn))
    sums = "\n    ".join(f"{t} s{i}_{j} = {vec.hsum(f'd{i}_{j}')};" for i in range(tm)
                         for j in range(tn))
    nt = f"""
{d.kernel} {name}_nt{sfx}({params}) {{{prologue(tm, tn, True)}
    {rows}
    {cols}
    {zeros_nt}
    long k = 0;
    for (; k + {vw} <= K; k += {vw}) {{
        {body}
    }}
    {sums}
    for (; k < K; ++k) {{
        {tail}
    }}
    {store(tm, tn, lambda i, j: f"s{i}_{j}", False)}
}}
"""
    pragma = "#pragma OPENCL FP_CONTRACT ON\n" if d.name == "opencl" else ""
    return pragma + nn + nt + any_


def gemm_meta(batch_shape, a_strides, b_strides, c_strides) -> np.ndarray:
    """The ``meta`` array: batch shape and each operand's element strides over it."""
    nd = len(batch_shape)
    if nd > MAXDIM:
        raise ValueError(f"matmul supports up to {MAXDIM} batch dimensions, got {nd}")
    meta = np.zeros(2 + 4 * MAXDIM, dtype=np.int64)
    meta[0] = nd
    meta[1:1 + nd] = batch_shape
    for j, st in enumerate((a_strides, b_strides, c_strides)):
        meta[1 + MAXDIM * (1 + j):1 + MAXDIM * (1 + j) + nd] = st
    meta[1 + 4 * MAXDIM] = math.prod(batch_shape)
    return meta
