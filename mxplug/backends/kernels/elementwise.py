"""Elementwise kernels with NumPy broadcasting over arbitrary strides.

``elementwise_source(name, expr, ...)`` renders two entry points from one C expression over the
operands ``x0, x1, ...``:

- ``<name>_c``: every array operand is contiguous with the output's shape (the common case): one
  load per operand at ``offset + i``;
- ``<name>_s``: any strides (0 for a broadcast axis, negative for a flipped one): each work item
  turns its linear index into coordinates with the shape in ``meta`` and dots them with each
  operand's strides. ``meta`` is ``[ndim, shape[MAXDIM], out_strides[MAXDIM], strides of each
  array operand[MAXDIM]...]`` in elements, so one compiled kernel serves every layout.

Python scalars are passed by value (``kind 's'``) rather than as arrays.
"""

from __future__ import annotations

import numpy as np

from .dialect import ctype

MAXDIM = 8


def _params(d, kinds, in_dtypes, out_dtype, strided):
    params = ["const long n"]
    if strided:
        params.append(f"{d.const_ptr} long* meta")
    params += [f"{d.global_ptr} {ctype(out_dtype)}* out", "const long out_off"]
    for k, (kind, dt) in enumerate(zip(kinds, in_dtypes)):
        if kind == "a":
            params += [f"{d.global_ptr} const {ctype(dt)}* in{k}", f"const long off{k}"]
        else:
            params.append(f"const {ctype(dt)} s{k}")
    return ", ".join(params)


def elementwise_source(name, expr, kinds, in_dtypes, out_dtype, dialect) -> str:
    """Source of ``<name>_c`` and ``<name>_s`` computing ``out = (out_t)(expr)``."""
    d = dialect
    out_t = ctype(out_dtype)
    arrays = [k for k, kind in enumerate(kinds) if kind == "a"]

    def loads(index_of):
        lines = []
        for k, (kind, dt) in enumerate(zip(kinds, in_dtypes)):
            src = f"in{k}[{index_of(k)}]" if kind == "a" else f"s{k}"
            lines.append(f"    const {ctype(dt)} x{k} = {src};")
        return "\n".join(lines)

    contiguous = f"""
{d.kernel} {name}_c({_params(d, kinds, in_dtypes, out_dtype, False)}) {{
    const long i = {d.global_id};
    if (i >= n) return;
{loads(lambda k: f"off{k} + i")}
    out[out_off + i] = ({out_t})({expr});
}}"""
    walk = "\n".join(f"        o{k} += c * meta[{1 + MAXDIM * (2 + j)} + dim];"
                     for j, k in enumerate(arrays))
    offsets = "".join(f"    long o{k} = off{k};\n" for k in arrays)
    strided = f"""
{d.kernel} {name}_s({_params(d, kinds, in_dtypes, out_dtype, True)}) {{
    const long i = {d.global_id};
    if (i >= n) return;
    long rem = i, oo = out_off;
{offsets}    for (int dim = (int)meta[0] - 1; dim >= 0; --dim) {{
        const long c = rem % meta[1 + dim];
        rem /= meta[1 + dim];
        oo += c * meta[{1 + MAXDIM} + dim];
{walk}
    }}
{loads(lambda k: f"o{k}")}
    out[oo] = ({out_t})({expr});
}}"""
    return contiguous + strided + "\n"


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
