"""Elementwise kernels with NumPy broadcasting over arbitrary strides.

``elementwise_source(name, expr, ...)`` renders entry points from one C expression over the
operands ``x0, x1, ...``:

- ``<name>_c``: every array operand walks memory with the output (the common case): one load
  per operand at ``offset + i``;
- ``<name>_s1``, ``_s2``, ``_s3``: any strides (0 for a broadcast axis, negative for a flipped
  one) over a shape of that rank, launched as a 1-, 2- or 3-D grid whose axis 0 is the shape's
  last axis. A work item's coordinates are its global ids, so no index is divided. The shape and
  strides are by-value arguments (``geometry_args``), which the compiler keeps in registers
  (loading them from a ``meta`` buffer measured 1.5-2x slower);
- ``<name>_s``: the fallback for ranks 2 to ``MAXDIM``, a 3-D grid over (last axis, the one
  before, the rest flattened): only the flattened outer index is divided (a div/mod per outer
  axis). The shape and strides are in ``meta``:
  ``[ndim, shape[MAXDIM], out_strides[MAXDIM], strides of each array operand[MAXDIM]...]``.

The host collapses the shape first (``collapse_dims``), so a strided launch usually has rank 1
to 3: ``(N, C, H, W) * (1, C, 1, 1)`` runs as ``(N, C, H*W)``. All index arithmetic is 64-bit:
32-bit indices measured no faster under PoCL. Python scalars are passed by value (``kind 's'``).
"""

from __future__ import annotations

import numpy as np

from .dialect import ctype

MAXDIM = 8
#: Highest rank with a division-free kernel (a grid has at most three axes).
GRID_RANKS = 3


def _on_axis(spelling, axis) -> str:
    """A dialect's axis-0 spelling of a work-item query (global id, group id, group size) for
    grid axis ``axis``: get_global_id(0) -> get_global_id(1); blockIdx.x -> blockIdx.y."""
    return spelling if axis == 0 else (
        spelling.replace("(0)", f"({axis})").replace(".x", "." + "xyz"[axis]))


def _guarded(d, body, bounds, tail=None) -> str:
    """``body`` run only by work items inside ``bounds`` (``[(grid axis, index, size)]``).

    The grid is rounded up to whole work-groups, so only the last group along an axis has items
    outside. A plain ``if (i >= n) return;`` made every kernel ~4x slower under PoCL (a
    conditional store stops it vectorising the work-group loop); testing whether the *whole
    group* is inside is uniform across the group, so all groups but the last run the body
    unconditionally, vectorised.

    ``tail``, a ``(condition, statements)`` pair, replaces what the items of the other groups
    test and run (``index < size`` on every axis, then ``body``), for a body that needs more
    checks at the edge than inside whole groups: a Philox block that writes fewer than its
    four elements at the end of the output."""
    whole = " && ".join(f"({_on_axis(d.group_id, g)} + 1) * {_on_axis(d.local_size, g)} <= {n}"
                        for g, _, n in bounds)
    inside, last = tail or (" && ".join(f"{i} < {n}" for _, i, n in bounds), body)
    return f"""    if ({whole}) {{
{body}
    }} else if ({inside}) {{
{last}
    }}"""


def _tail_params(d, kinds, in_dtypes, out_dtype):
    params = [f"{d.global_ptr} {ctype(out_dtype)}* out", "const long out_off"]
    for k, (kind, dt) in enumerate(zip(kinds, in_dtypes)):
        if kind == "a":
            params += [f"{d.global_ptr} const {ctype(dt)}* in{k}", f"const long off{k}"]
        else:
            params.append(f"const {ctype(dt)} s{k}")
    return params


def elementwise_source(name, expr, kinds, in_dtypes, out_dtype, dialect, strided=None) -> str:
    """Source of ``<name>_c``, ``_s1`` .. ``_s3`` and ``_s`` computing ``out = (out_t)(expr)``:
    all of them, or only ``_c`` (``strided=False``) or only the strided ones (``True``). Two
    programs build faster where only one is used (PoCL: ~145 ms for ``_c`` alone, ~215 ms for
    all five), and most expressions only ever run contiguous.

    Every entry point ends with the same parameters (``out, out_off``, then per operand
    ``in_k, off_k`` or the scalar ``s_k``); ``_c`` starts with ``n``, ``_s<rank>`` with
    ``geometry_args``' values and ``_s`` with ``meta``."""
    d = dialect
    out_t = ctype(out_dtype)
    arrays = [k for k, kind in enumerate(kinds) if kind == "a"]
    tail = _tail_params(d, kinds, in_dtypes, out_dtype)

    def body(index_of, out_index, indent="        "):
        """Load each operand as ``x<k>``, store the expression."""
        lines = []
        for k, (kind, dt) in enumerate(zip(kinds, in_dtypes)):
            src = f"in{k}[{index_of(k)}]" if kind == "a" else f"s{k}"
            lines.append(f"{indent}const {ctype(dt)} x{k} = {src};")
        lines.append(f"{indent}out[{out_index}] = ({out_t})({expr});")
        return "\n".join(lines)

    contiguous = f"""
{d.kernel} {name}_c({", ".join(["const long n", *tail])}) {{
    const long i = {d.global_id};
{_guarded(d, body(lambda k: f"off{k} + i", "out_off + i"), [(0, "i", "n")])}
}}"""
    grids = "".join(_grid_kernel(d, name, rank, arrays, tail, body)
                    for rank in range(1, GRID_RANKS + 1))
    m = MAXDIM

    def stride(j, axis):  # operand j's stride (0 is the output) along ``axis``, from meta
        return f"meta[{1 + m * (1 + j)} + {axis}]"

    start = "\n".join(f"    long o{k} = off{k} + cl * {stride(1 + j, 'nd - 1')} + cp * "
                      f"{stride(1 + j, 'nd - 2')};" for j, k in enumerate(arrays))
    walk = "\n".join(f"        o{k} += c * {stride(1 + j, 'dim')};" for j, k in enumerate(arrays))
    # the fallback divides anyway, so its bounds test stays a plain return
    strided_src = f"""
{d.kernel} {name}_s({", ".join([f"{d.const_ptr} long* meta", *tail])}) {{
    const int nd = (int)meta[0];
    const long cl = {_on_axis(d.global_id, 0)}, cp = {_on_axis(d.global_id, 1)};
    const long outer = {_on_axis(d.global_id, 2)};
    const long n_last = meta[nd], n_prev = meta[nd - 1];
    long n_outer = 1;
    for (int dim = 0; dim < nd - 2; ++dim) n_outer *= meta[1 + dim];
    if (cl >= n_last || cp >= n_prev || outer >= n_outer) return;
    const long i = (outer * n_prev + cp) * n_last + cl;
    long rem = outer, oo = out_off + cl * {stride(0, 'nd - 1')} + cp * {stride(0, 'nd - 2')};
{start}
    for (int dim = nd - 3; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        oo += c * {stride(0, 'dim')};
{walk}
    }}
{body(lambda k: f"o{k}", "oo", "    ")}
}}"""
    if strided is None:
        return contiguous + grids + strided_src + "\n"
    return (grids + strided_src if strided else contiguous) + "\n"


def _grid_kernel(d, name, rank, arrays, tail, body) -> str:
    """``<name>_s<rank>``: coordinate ``c<a>`` of axis ``a`` is grid axis ``rank - 1 - a``."""
    axes = range(rank)
    geometry = ([f"const long dim{a}" for a in axes] + [f"const long ost{a}" for a in axes]
                + [f"const long ist{k}_{a}" for k in arrays for a in axes])
    coords = "\n".join(f"    const long c{a} = {_on_axis(d.global_id, rank - 1 - a)};"
                       for a in axes)
    linear = "c0"
    for a in axes[1:]:
        linear = f"({linear}) * dim{a} + c{a}"

    def at(base, prefix):
        return base + "".join(f" + c{a} * {prefix}{a}" for a in axes)

    inner = f"        const long i = {linear};\n" + body(
        lambda k: at(f"off{k}", f"ist{k}_"), at("out_off", "ost"))
    return f"""
{d.kernel} {name}_s{rank}({", ".join([*geometry, *tail])}) {{
{coords}
{_guarded(d, inner, [(rank - 1 - a, f"c{a}", f"dim{a}") for a in axes])}
}}"""


def collapse_dims(shape, strides_list):
    """(shape, [strides per operand]) with size-1 axes dropped and adjacent axes merged where
    every operand walks them as one (``st[a] == st[a + 1] * shape[a + 1]``); the row-major order
    of the elements, and so each one's linear index, is unchanged."""
    dims, sts = [], [[] for _ in strides_list]
    for a, size in enumerate(shape):
        if size == 1:
            continue
        cur = [st[a] for st in strides_list]
        if dims and all(s[-1] == c * size for s, c in zip(sts, cur)):
            dims[-1] *= size
            for s, c in zip(sts, cur):
                s[-1] = c
        else:
            dims.append(size)
            for s, c in zip(sts, cur):
                s.append(c)
    return dims, sts


def entry_point(shape, out_strides, in_strides):
    """(entry-point suffix, collapsed shape, out strides, strides per array operand) of a
    launch over these layouts (strides in elements, 0 on broadcast axes)."""
    dims, (ost, *ists) = collapse_dims(shape, [out_strides, *in_strides])
    if not dims or (len(dims) == 1 and all(st == [1] for st in (ost, *ists))):
        # a single element, or contiguous once size-1 axes are gone (a (1, n) operand of an
        # (n,) result, a contiguous slice)
        return "_c", dims, ost, ists
    return (f"_s{len(dims)}" if len(dims) <= GRID_RANKS else "_s"), dims, ost, ists


def geometry_args(shape, out_strides, in_strides) -> tuple:
    """The leading by-value arguments of a ``_s<rank>`` kernel, rank = ``len(shape)``."""
    return (*shape, *out_strides, *(s for strides in in_strides for s in strides))


def strided_meta(shape, out_strides, in_strides) -> np.ndarray:
    """The ``meta`` array of a ``_s`` kernel (shapes and element strides, padded to MAXDIM)."""
    nd = len(shape)
    if nd > MAXDIM:
        raise ValueError(f"elementwise kernels support up to {MAXDIM} dimensions, got {nd}")
    meta = np.zeros(1 + MAXDIM * (2 + len(in_strides)), dtype=np.int64)
    meta[0] = nd
    meta[1:1 + nd] = shape
    for j, strides in enumerate([out_strides, *in_strides]):
        base = 1 + MAXDIM * (1 + j)
        meta[base:base + nd] = strides
    return meta
