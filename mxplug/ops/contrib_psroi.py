"""MXNet 1.x's position-sensitive ROI pooling: ``_contrib_PSROIPooling`` (R-FCN) and
``_contrib_DeformablePSROIPooling`` (Deformable R-FCN), with their gradients
(``mx.nd.contrib.<name>``).

The generic bodies are array-API gathers: every bin's pixels (PSROIPooling) or every sample's
four bilinear corners (DeformablePSROIPooling) are flat indices into the data, read with
``take`` and reduced; the gradients scatter the same weights back (``scatter_add``). Rois go in
chunks so that the gathered arrays stay bounded. As in MXNet, float attributes are float32
(``spatial_scale`` and ``trans_std`` are rounded to float32 before use) and roi corners are
rounded to whole pixels, so the rois get no gradient.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..backends.array_api import to_numpy
from ..base import MXNetValueError
from . import infer as I
from .attrs import Attr, Bool, Float, Int
from .call import F
from .classic_spatial import _cround
from .movement_grad import scatter_add
from .nn import _s, _u
from .registry import Sample, defop

__all__ = ["psroi_pooling", "deformable_psroi_pooling"]

#: Gathered elements the bodies hold at once (rois go in chunks of at most this many).
_CHUNK_ELEMENTS = 1 << 23


def _f32(v):
    """MXNet stores float attributes as float32."""
    return float(np.float32(v))


def _chunks(r, per_roi):
    step = max(1, _CHUNK_ELEMENTS // max(1, per_roi))
    return [(a, min(a + step, r)) for a in range(0, r, step)]


def _check_common(op, x, rois, width, spatial_scale, *others):
    I.expect(spatial_scale is not None, op, "a spatial_scale (it is required)",
             "spatial_scale=None")
    I.expect(0.0 <= spatial_scale <= 1.0, op, "spatial_scale in [0, 1]",
             f"spatial_scale={spatial_scale}")
    I.expect(x.ndim == 4, op, "data of shape (N, C, H, W)", f"data.shape={tuple(x.shape)}")
    I.expect(rois.ndim == 2 and rois.shape[1] == width, op,
             f"rois of shape (R, {width})", f"rois.shape={tuple(rois.shape)}")
    for name, s in (("rois", rois),) + others:
        I.expect(np.dtype(s.dtype) == np.dtype(x.dtype), op, f"{name} of data's dtype {x.dtype}",
                 f"{name}.dtype={np.dtype(s.dtype)}")


def _batch_index(xp, op, rois, n):
    """Each roi's image (R,) int64 (MXNet truncates column 0); an index outside the batch is
    an error (MXNet would read past the data)."""
    b = xp.trunc(rois[:, 0])
    if rois.shape[0] and bool(xp.any((b < 0) | (b >= n))):
        raise MXNetValueError(f"{op}: Expect: roi batch indices in [0, {n}) / Actual: "
                              f"{sorted({int(v) for v in to_numpy(b).tolist()})}")
    return xp.astype(b, xp.int64)


def _dev(xp, host, like):
    return xp.asarray(host, device=like.device)


def _nonzero(xp, v):
    """``v`` with zeros replaced by ones (a divisor where the quotient is masked out)."""
    return xp.where(v == 0, xp.ones_like(v), v)


def _group_channels(output_dim, pooled, gs):
    """(output_dim, pooled, pooled) int64: the input channel of each output channel and bin."""
    g = np.minimum(np.arange(pooled) * gs // pooled, gs - 1)
    ct = np.arange(output_dim)
    return ((ct[:, None, None] * gs + g[None, :, None]) * gs + g[None, None, :]).astype(np.int64)


def _flat(b, c, row, col, x):
    """Flat indices into data (N, C, H, W) from broadcastable index arrays."""
    _, chans, h, w = x.shape
    return ((b * chans + c) * h + row) * w + col


# -- PSROIPooling ---------------------------------------------------------------------------------
_PS_ATTRS = {"spatial_scale": Attr(None, "float"), "output_dim": Attr(None, "int"),
             "pooled_size": Attr(None, "int"), "group_size": Int(0)}


def _ps_infer(x, rois, spatial_scale=None, output_dim=None, pooled_size=None, group_size=0):
    op = "_contrib_PSROIPooling"
    _check_common(op, x, rois, 5, spatial_scale)
    I.expect(output_dim is not None and output_dim >= 0, op, "output_dim >= 0 (it is required)",
             f"output_dim={output_dim}")
    I.expect(pooled_size is not None and pooled_size >= 1, op,
             "pooled_size >= 1 (it is required)", f"pooled_size={pooled_size}")
    I.expect(group_size >= 0, op, "group_size >= 0 (0: pooled_size)", f"group_size={group_size}")
    gs = group_size or pooled_size
    I.expect(x.shape[1] >= output_dim * gs * gs, op,
             f"data channels >= output_dim * group_size**2 = {output_dim * gs * gs}",
             f"data.shape={tuple(x.shape)}")
    return I.Spec((rois.shape[0], output_dim, pooled_size, pooled_size), x.dtype)


psroi_pooling = defop(
    "_contrib_PSROIPooling", ("data", "rois"), dict(_PS_ATTRS), infer=_ps_infer,
    doc="Position-sensitive ROI pooling (R-FCN). Each roi [batch_index, x1, y1, x2, y2] "
        "(corners rounded to whole pixels, then times ``spatial_scale``, the far ones + 1 "
        "pixel) is cut into a ``pooled_size`` x ``pooled_size`` grid of integer bins; output "
        "channel c of bin (i, j) is the mean of input channel (c * gs + gi) * gs + gj over the "
        "bin, with gs = ``group_size`` (0: pooled_size) and (gi, gj) = (i, j) * gs // "
        "pooled_size; an empty bin gives 0. Output (R, output_dim, pooled_size, pooled_size). "
        "As in MXNet it averages (the documentation says max) and the rois get no gradient. "
        "Unlike MXNet (which reads past the data), a batch index outside the data and fewer "
        "than output_dim * gs**2 data channels are errors.")
psroi_pooling.nograd("rois")


def _ps_bins(xp, x, rois, spatial_scale, pooled_size, **_):
    """Every bin's first row and height (R, P) and first column and width (R, P), int64,
    clipped into the data; and the largest bin's (height, width)."""
    _, _, h, w = x.shape
    p, scale = pooled_size, _f32(spatial_scale)
    r = xp.astype(rois, x.dtype)
    steps = xp.reshape(xp.arange(p, dtype=x.dtype, device=x.device), (1, -1))
    out = []
    for k, size in ((2, h), (1, w)):                     # rows, then columns
        start = _cround(xp, r[:, k]) * scale
        length = xp.clip((_cround(xp, r[:, k + 2]) + 1.0) * scale - start, 0.1, None) / float(p)
        start, length = xp.reshape(start, (-1, 1)), xp.reshape(length, (-1, 1))
        lo = xp.clip(xp.floor(steps * length + start), 0.0, float(size))
        hi = xp.clip(xp.ceil((steps + 1.0) * length + start), 0.0, float(size))
        out += [xp.astype(lo, xp.int64), xp.astype(hi - lo, xp.int64)]
    largest = tuple(max(1, int(xp.max(n))) if rois.shape[0] else 1 for n in out[1::2])
    return out, largest


def _ps_gather(xp, x, b, bins, largest, output_dim, pooled_size, group_size, **_):
    """(flat indices (R, D, P, P, T, U) int64, valid mask, bin areas (R, 1, P, P)) of every
    bin's pixels, T x U the ``largest`` bin."""
    (hs, hn, ws, wn), p = bins, pooled_size
    rn, dev = hs.shape[0], x.device
    t = xp.reshape(xp.arange(largest[0], dtype=xp.int64, device=dev), (1, 1, 1, 1, -1, 1))
    u = xp.reshape(xp.arange(largest[1], dtype=xp.int64, device=dev), (1, 1, 1, 1, 1, -1))
    valid = (t < xp.reshape(hn, (rn, 1, p, 1, 1, 1))) & (u < xp.reshape(wn, (rn, 1, 1, p, 1, 1)))
    chans = _dev(xp, _group_channels(output_dim, p, group_size or p), x)
    flat = _flat(xp.reshape(b, (-1, 1, 1, 1, 1, 1)), xp.reshape(chans, (1, output_dim, p, p, 1, 1)),
                 xp.reshape(hs, (rn, 1, p, 1, 1, 1)) + t, xp.reshape(ws, (rn, 1, 1, p, 1, 1)) + u,
                 x)
    area = xp.astype(xp.reshape(hn, (rn, 1, p, 1)) * xp.reshape(wn, (rn, 1, 1, p)), x.dtype)
    return xp.where(valid, flat, xp.zeros_like(flat)), valid, area


def _ps_chunks(xp, x, rois, b, attrs):
    """(rois slice, its gathered bins) per chunk of rois."""
    bins, largest = _ps_bins(xp, x, rois, **attrs)
    per_roi = attrs["output_dim"] * attrs["pooled_size"] ** 2 * largest[0] * largest[1]
    for lo, hi in _chunks(rois.shape[0], per_roi):
        yield slice(lo, hi), _ps_gather(xp, x, b[lo:hi], [v[lo:hi] for v in bins], largest,
                                        **attrs)


@psroi_pooling.impl
def _(xp, x, rois, **attrs):
    out = _ps_infer(_s(x), _s(rois), **attrs)
    b = _batch_index(xp, psroi_pooling.name, rois, x.shape[0])
    if not math.prod(out.shape):
        return xp.zeros(out.shape, dtype=x.dtype, device=x.device)
    flat_x = xp.reshape(x, (-1,))
    parts = []
    for _, (flat, valid, area) in _ps_chunks(xp, x, rois, b, attrs):
        vals = xp.reshape(xp.take(flat_x, xp.reshape(flat, (-1,))), flat.shape)
        total = xp.sum(xp.where(valid, vals, xp.zeros_like(vals)), axis=(4, 5))
        parts.append(total / _nonzero(xp, area) * xp.astype(area > 0, x.dtype))  # empty: 0
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def _ps_grad_infer(g, x, rois, **attrs):
    out = _ps_infer(x, rois, **attrs)
    I.expect_output_grad(g, out, "_backward_contrib_PSROIPooling", "PSROIPooling")
    return I.Spec(x.shape, x.dtype)


psroi_pooling_grad = defop(
    "_backward_contrib_PSROIPooling", ("grad", "data", "rois"), dict(_PS_ATTRS),
    infer=_ps_grad_infer,
    doc="PSROIPooling's data gradient: each bin's gradient / its area, added over the bin's "
        "pixels of the channel it read. Linear in grad: its own gradient is PSROIPooling.")
psroi_pooling_grad.nograd("data", "rois")


@psroi_pooling_grad.impl
def _(xp, g, x, rois, **attrs):
    _ps_grad_infer(_s(g), _s(x), _s(rois), **attrs)
    b = _batch_index(xp, psroi_pooling_grad.name, rois, x.shape[0])
    n = math.prod(x.shape)
    gx = xp.zeros((n,), dtype=x.dtype, device=x.device)
    if not math.prod(g.shape) or not n:
        return xp.reshape(gx, x.shape)
    g = xp.astype(g, x.dtype)
    for part, (flat, valid, area) in _ps_chunks(xp, x, rois, b, attrs):
        share = g[part] / _nonzero(xp, area)
        vals = xp.reshape(share, tuple(share.shape) + (1, 1)) * xp.astype(valid, x.dtype)
        gx = gx + scatter_add(xp, xp.reshape(flat, (1, -1)), xp.reshape(vals, (1, -1)), n)[0]
    return xp.reshape(gx, x.shape)


@psroi_pooling.vjp
def _(g, out, x, rois, **attrs):
    return F._backward_contrib_PSROIPooling(g, x, rois, **attrs), None


@psroi_pooling_grad.vjp
def _(gg, out, g, x, rois, **attrs):
    return F._contrib_PSROIPooling(gg, rois, **attrs), None, None


#: rois [batch, x1, y1, x2, y2]: fractions away from .5 (the corners are rounded), one empty
#: (inverted) roi, one reaching past the data.
_PS_ROIS = np.array([[0, 0.3, 1.2, 5.6, 6.4], [1, 2.4, 0.6, 8.3, 3.1], [0, -3.2, -2.1, 20, 15],
                     [1, 4.1, 4, 3.7, 4], [0, 1.6, 2.2, 2.6, 9.7]])
psroi_pooling.samples(
    lambda rng: Sample(_u(rng, 2, 18, 7, 9), _PS_ROIS, spatial_scale=1.0, output_dim=2,
                       pooled_size=3),
    lambda rng: Sample(_u(rng, 2, 18, 7, 9), _PS_ROIS, spatial_scale=0.5, output_dim=2,
                       pooled_size=4, group_size=3),
    lambda rng: Sample(_u(rng, 2, 8, 6, 5), _PS_ROIS[:3], spatial_scale=0.7, output_dim=8,
                       pooled_size=2, group_size=1),
)
psroi_pooling_grad.samples(
    lambda rng: Sample(_u(rng, 5, 2, 3, 3), _u(rng, 2, 18, 7, 9), _PS_ROIS, spatial_scale=1.0,
                       output_dim=2, pooled_size=3),
    lambda rng: Sample(_u(rng, 5, 2, 4, 4), _u(rng, 2, 18, 7, 9), _PS_ROIS, spatial_scale=0.5,
                       output_dim=2, pooled_size=4, group_size=3),
)


# -- DeformablePSROIPooling -----------------------------------------------------------------------
_DEF_ATTRS = {"spatial_scale": Attr(None, "float"), "output_dim": Attr(None, "int"),
              "group_size": Attr(None, "int"), "pooled_size": Attr(None, "int"),
              "part_size": Int(0), "sample_per_part": Int(1), "trans_std": Float(0.0),
              "no_trans": Bool(False)}


def _def_infer(*xs, spatial_scale=None, output_dim=None, group_size=None, pooled_size=None,
               part_size=0, sample_per_part=1, trans_std=0.0, no_trans=False):
    op = "_contrib_DeformablePSROIPooling"
    want = 2 if no_trans else 3
    I.expect(len(xs) == want, op, f"{want} inputs (data, rois{'' if no_trans else ', trans'})"
             f" for no_trans={no_trans}", f"{len(xs)} inputs")
    x, rois = xs[:2]
    trans = xs[2:]
    _check_common(op, x, rois, 5, spatial_scale, *(("trans", t) for t in trans))
    for name, v, low in (("output_dim", output_dim, 0), ("group_size", group_size, 1),
                         ("pooled_size", pooled_size, 1)):
        I.expect(v is not None and v >= low, op, f"{name} >= {low} (it is required)",
                 f"{name}={v}")
    I.expect(part_size >= 0, op, "part_size >= 0 (0: pooled_size)", f"part_size={part_size}")
    I.expect(0.0 <= trans_std <= 1.0, op, "trans_std in [0, 1]", f"trans_std={trans_std}")
    I.expect(x.shape[1] >= output_dim * group_size ** 2, op,
             f"data channels >= output_dim * group_size**2 = {output_dim * group_size ** 2}",
             f"data.shape={tuple(x.shape)}")
    if trans:
        part, t = part_size or pooled_size, trans[0]
        ok = t.ndim == 4 and t.shape[0] == rois.shape[0] and t.shape[1] >= 2 and \
            t.shape[1] % 2 == 0 and tuple(t.shape[2:]) == (part, part)
        I.expect(ok and output_dim % (t.shape[1] // 2) == 0, op,
                 f"trans of shape ({rois.shape[0]}, 2 * classes, {part}, {part}) with classes "
                 f"dividing output_dim={output_dim}", f"trans.shape={tuple(t.shape)}")
    return I.Spec((rois.shape[0], output_dim, pooled_size, pooled_size), x.dtype)


deformable_psroi_pooling = defop(
    "_contrib_DeformablePSROIPooling", ("data", "rois", "trans"), dict(_DEF_ATTRS),
    infer=_def_infer, variadic=True,
    doc="Deformable position-sensitive ROI pooling (https://arxiv.org/abs/1703.06211). Rois "
        "[batch_index, x1, y1, x2, y2] (corners rounded, times ``spatial_scale``, shifted by "
        "-0.5) are cut into ``pooled_size``**2 bins; bin (i, j) of output channel c is shifted "
        "by ``trans_std`` * trans[r, 2k:2k+2, pi, pj] (x, y) times the roi's width and height, "
        "with k = c // (output_dim / classes) and (pi, pj) = (i, j) * part_size / pooled_size "
        "(``part_size`` 0: pooled_size), and averages ``sample_per_part``**2 bilinear samples "
        "of input channel (c * gs + gi) * gs + gj (gs = ``group_size``; samples beyond half a "
        "pixel outside the data are skipped, a bin without samples gives 0). Inputs: data, "
        "rois, and trans (R, 2 * classes, part, part) unless ``no_trans``. Gradients flow to "
        "data and trans (MXNet's: the interpolation's slope at each sample), none to rois. "
        "Unlike MXNet (which reads past the data), a batch index outside the data, fewer than "
        "output_dim * group_size**2 data channels and a trans of another shape are errors.")
deformable_psroi_pooling.nograd("rois")
deformable_psroi_pooling.auto_inputs = lambda attrs: ("data", "rois") + (
    () if attrs["no_trans"] else ("trans",))


class _Samples(NamedTuple):
    """Every sample of a chunk of rois, bins (R, D, P, P) and samples (S, S) first."""

    flat: object    # (.., S, S, 2, 2) int64: flat data indices of the four bilinear corners
    wy: object      # (.., S, 1, 2, 1): row weights (0 for skipped samples)
    wx: object      # (.., 1, S, 1, 2): column weights (0 for skipped samples)
    used: tuple     # (rows (.., S, 1, 1, 1), columns (.., 1, S, 1, 1)): 1 where not skipped
    count: object   # (R, D, P, P): samples used per bin
    size: tuple     # roi (width (R,), height (R,))
    cells: object   # (R, K, P, P) int64: flat trans index of each bin's x offset (y: + part**2)


def _def_cells(rn, classes, p, part, dtype):
    """Each (roi, class, bin)'s x offset in trans (R, 2K, part, part), flattened; bin i maps to
    cell floor(i / P * part), computed in the data's dtype as MXNet does."""
    name = np.dtype(dtype).name
    cell = np.floor(np.arange(p, dtype=name) / np.asarray(p, dtype=name)
                    * np.asarray(part, dtype=name)).astype(np.int64)
    base = (np.arange(rn)[:, None] * classes + np.arange(classes)[None, :]) * 2 * part * part
    return base[:, :, None, None] + cell[:, None] * part + cell[None, :]


def _def_axis(xp, lo, length, shift, p, s, extent, is_y):
    """One axis' samples (R, K, P, P, S): (corners (.., 2) int64, their weights (.., 2) (0 for
    skipped samples), used (..) 0/1)."""
    dt, dev = lo.dtype, lo.device
    binsz = xp.reshape(length / float(p), (-1, 1, 1, 1))
    pos = xp.reshape(xp.arange(p, dtype=dt, device=dev), (1, 1, p, 1) if is_y else (1, 1, 1, p))
    first = pos * binsz + xp.reshape(lo, (-1, 1, 1, 1)) + shift                # (R, K, P, P)
    step = xp.reshape(xp.arange(s, dtype=dt, device=dev), (1, 1, 1, 1, -1))
    v = _last(xp, first) + step * _last(xp, binsz / float(s))
    used = xp.astype((v >= -0.5) & (v <= extent - 0.5), dt)   # within half a pixel of the data
    v = xp.clip(v, 0.0, float(extent - 1))
    low = xp.floor(v)
    frac = v - low
    return (xp.astype(xp.stack([low, xp.ceil(v)], axis=-1), xp.int64),
            xp.stack([1.0 - frac, frac], axis=-1) * _last(xp, used), used)


def _def_samples(xp, x, rois, trans, b, spatial_scale, output_dim, group_size, pooled_size,
                 part_size, sample_per_part, trans_std, no_trans):
    dt = x.dtype
    _, _, h, w = x.shape
    rn, p, s = rois.shape[0], pooled_size, sample_per_part
    part = part_size or p
    classes = 1 if no_trans else trans.shape[1] // 2
    scale = _f32(spatial_scale)
    r = xp.astype(rois, dt)
    start = [_cround(xp, r[:, k]) * scale - 0.5 for k in (1, 2)]
    size = [xp.clip((_cround(xp, r[:, k]) + 1.0) * scale - 0.5 - lo, 0.1, None)
            for k, lo in zip((3, 4), start)]
    cells = _dev(xp, _def_cells(rn, classes, p, part, dt), x)
    axes = []
    for a, (lo, length, extent) in enumerate(zip(start, size, (w, h))):   # x, then y
        if no_trans:
            shift = xp.zeros((rn, classes, p, p), dtype=dt, device=x.device)
        else:
            t = xp.take(xp.reshape(trans, (-1,)), xp.reshape(cells + a * part * part, (-1,)))
            shift = xp.reshape(t, (rn, classes, p, p)) * _f32(trans_std) * \
                xp.reshape(length, (-1, 1, 1, 1))
        axes.append(_def_axis(xp, lo, length, shift, p, s, extent, a == 1))
    (col, wx, used_x), (row, wy, used_y) = axes
    klass = _dev(xp, np.arange(output_dim) // (output_dim // classes), x)

    def spread(v, is_y):   # (R, K, P, P, S, c) -> (R, D, P, P, S, 1, c, 1) or (.., 1, S, 1, c)
        v, c = xp.take(v, klass, axis=1), v.shape[-1]
        return xp.reshape(v, (rn, output_dim, p, p) + ((s, 1, c, 1) if is_y else (1, s, 1, c)))

    chans = _dev(xp, _group_channels(output_dim, p, group_size), x)
    flat = _flat(xp.reshape(b, (-1, 1, 1, 1, 1, 1, 1, 1)),
                 xp.reshape(chans, (1, output_dim, p, p, 1, 1, 1, 1)),
                 spread(row, True), spread(col, False), x)
    return _Samples(
        flat=xp.broadcast_to(flat, (rn, output_dim, p, p, s, s, 2, 2)),
        wy=spread(wy, True), wx=spread(wx, False),
        used=(spread(_last(xp, used_y), True), spread(_last(xp, used_x), False)),
        count=xp.take(xp.sum(used_y, axis=4) * xp.sum(used_x, axis=4), klass, axis=1),
        size=tuple(size), cells=cells)


def _last(xp, v):
    """``v`` with a new last axis of length 1."""
    return xp.reshape(v, tuple(v.shape) + (1,))


def _def_split(xs, no_trans):
    return xs[0], xs[1], (None if no_trans else xs[2])


@deformable_psroi_pooling.impl
def _(xp, *xs, **attrs):
    out = _def_infer(*(_s(a) for a in xs), **attrs)
    x, rois, trans = _def_split(xs, attrs["no_trans"])
    b = _batch_index(xp, deformable_psroi_pooling.name, rois, x.shape[0])
    if not math.prod(out.shape) or attrs["sample_per_part"] < 1:   # no samples: zeros
        return xp.zeros(out.shape, dtype=x.dtype, device=x.device)
    flat_x = xp.reshape(x, (-1,))
    parts = []
    for lo, hi in _chunks(rois.shape[0], math.prod(out.shape[1:]) * 4 *
                          attrs["sample_per_part"] ** 2):
        sm = _def_samples(xp, x, rois[lo:hi], None if trans is None else trans[lo:hi],
                          b[lo:hi], **attrs)
        vals = xp.reshape(xp.take(flat_x, xp.reshape(sm.flat, (-1,))), sm.flat.shape)
        total = xp.sum(vals * (sm.wy * sm.wx), axis=(4, 5, 6, 7))
        parts.append(total / _nonzero(xp, sm.count))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def _def_grad_infer(g, *xs, **attrs):
    out = _def_infer(*xs, **attrs)
    I.expect_output_grad(g, out, "_backward_contrib_DeformablePSROIPooling",
                         "DeformablePSROIPooling")
    return tuple(I.Spec(a.shape, a.dtype) for a in xs[:1] + xs[2:])


deformable_psroi_pooling_grad = defop(
    "_backward_contrib_DeformablePSROIPooling", ("grad", "data", "rois", "trans"),
    dict(_DEF_ATTRS), infer=_def_grad_infer, variadic=True, differentiable=False,
    nout=lambda attrs: 1 if attrs.get("no_trans") else 2,
    doc="DeformablePSROIPooling's gradients: (data, trans), or data alone with ``no_trans``. "
        "Each bin's gradient / its sample count goes to its samples' bilinear corners; trans "
        "gets the interpolation's slope at each sample times trans_std and the roi's size.")


@deformable_psroi_pooling_grad.impl
def _(xp, g, *xs, **attrs):
    _def_grad_infer(_s(g), *(_s(a) for a in xs), **attrs)
    x, rois, trans = _def_split(xs, attrs["no_trans"])
    b = _batch_index(xp, deformable_psroi_pooling_grad.name, rois, x.shape[0])
    n = math.prod(x.shape)
    gx = xp.zeros((n,), dtype=x.dtype, device=x.device)
    gt = None if trans is None else xp.zeros(trans.shape, dtype=x.dtype, device=x.device)
    if math.prod(g.shape) and n and attrs["sample_per_part"] >= 1:
        gts = []
        g = xp.astype(g, x.dtype)
        flat_x = xp.reshape(x, (-1,))
        for lo, hi in _chunks(rois.shape[0], math.prod(g.shape[1:]) * 4 *
                              attrs["sample_per_part"] ** 2):
            sm = _def_samples(xp, x, rois[lo:hi], None if trans is None else trans[lo:hi],
                              b[lo:hi], **attrs)
            share = g[lo:hi] / _nonzero(xp, sm.count)                  # (r, D, P, P)
            each = xp.reshape(share, tuple(share.shape) + (1, 1, 1, 1))
            gx = gx + scatter_add(xp, xp.reshape(sm.flat, (1, -1)),
                                  xp.reshape(each * (sm.wy * sm.wx), (1, -1)), n)[0]
            if gt is not None:
                gts.append(_trans_grad(xp, flat_x, sm, share, trans[lo:hi].shape, **attrs))
        if gt is not None:
            gt = gts[0] if len(gts) == 1 else xp.concat(gts, axis=0)
    gx = xp.reshape(gx, x.shape)
    return gx if gt is None else (gx, gt)


def _trans_grad(xp, flat_x, sm, share, shape, output_dim, trans_std, **_):
    """The trans gradient (``shape``) of one chunk of rois (MXNet's): per used sample, the
    interpolation's slope along x (y) at the clamped sample times trans_std * grad / count *
    the roi's width (height), summed per trans cell."""
    u = xp.reshape(xp.take(flat_x, xp.reshape(sm.flat, (-1,))), sm.flat.shape)
    slopes = (xp.sum((u[..., 1:] - u[..., :1]) * sm.wy, axis=(6, 7)) * sm.used[1][..., 0, 0],
              xp.sum((u[..., 1:, :] - u[..., :1, :]) * sm.wx, axis=(6, 7)) * sm.used[0][..., 0, 0])
    rn, k = sm.cells.shape[:2]
    idx, vals = [], []
    for a, (slope, length) in enumerate(zip(slopes, sm.size)):      # (r, D, P, P, S, S)
        d = xp.sum(slope, axis=(4, 5)) * share * _f32(trans_std) * xp.reshape(length,
                                                                             (-1, 1, 1, 1))
        d = xp.sum(xp.reshape(d, (rn, k, output_dim // k) + tuple(d.shape[2:])), axis=2)
        idx.append(xp.reshape(sm.cells + a * shape[2] * shape[3], (-1,)))
        vals.append(xp.reshape(d, (-1,)))
    flat = scatter_add(xp, xp.reshape(xp.concat(idx), (1, -1)),
                       xp.reshape(xp.concat(vals), (1, -1)), math.prod(shape))
    return xp.reshape(flat, shape)


@deformable_psroi_pooling.vjp
def _(g, out, *xs, **attrs):
    grads = F._backward_contrib_DeformablePSROIPooling(g, *xs, **attrs)
    if attrs["no_trans"]:
        return grads, None
    return grads[0], None, grads[1]


#: The gradient check differentiates every float input of a variadic op, rois too: their batch
#: indices are 0 (truncation keeps 0 +- eps at 0) and their corners away from .5 (rounded).
_DEF_ROIS = np.array([[0, 0.3, 1.2, 5.6, 6.4], [0, 2.4, 0.6, 8.3, 3.1], [0, -3.2, -2.1, 11, 9],
                      [0, 4.1, 4, 3.7, 4]])
_DEF_ROIS_B = _DEF_ROIS + np.array([[0], [1], [0], [1]]) * np.eye(5)[0]


def _def_sample(rng, x_shape, classes, part, no_trans=False, **attrs):
    rois = _DEF_ROIS
    ins = [_u(rng, *x_shape), rois] + ([] if no_trans else [_u(rng, len(rois), 2 * classes,
                                                                part, part)])
    return Sample(*ins, no_trans=no_trans, **attrs)


deformable_psroi_pooling.samples(
    lambda rng: _def_sample(rng, (2, 18, 7, 9), 1, 3, spatial_scale=1.0, output_dim=2,
                            group_size=3, pooled_size=3, sample_per_part=2, trans_std=0.1),
    lambda rng: _def_sample(rng, (2, 8, 6, 7), 2, 2, spatial_scale=0.5, output_dim=2,
                            group_size=2, pooled_size=4, part_size=2, sample_per_part=3,
                            trans_std=0.3),
    lambda rng: _def_sample(rng, (2, 18, 5, 6), 1, 3, no_trans=True, spatial_scale=0.8,
                            output_dim=2, group_size=3, pooled_size=3, sample_per_part=2),
)
deformable_psroi_pooling_grad.samples(
    lambda rng: Sample(_u(rng, 4, 2, 3, 3), _u(rng, 2, 18, 7, 9), _DEF_ROIS_B,
                       _u(rng, 4, 2, 3, 3), spatial_scale=1.0, output_dim=2, group_size=3,
                       pooled_size=3, sample_per_part=2, trans_std=0.1),
    lambda rng: Sample(_u(rng, 4, 2, 4, 4), _u(rng, 2, 8, 6, 7), _DEF_ROIS_B,
                       _u(rng, 4, 4, 2, 2), spatial_scale=0.5, output_dim=2, group_size=2,
                       pooled_size=4, part_size=2, sample_per_part=3, trans_std=0.3),
    lambda rng: Sample(_u(rng, 4, 2, 3, 3), _u(rng, 2, 18, 5, 6), _DEF_ROIS, no_trans=True,
                       spatial_scale=0.8, output_dim=2, group_size=3, pooled_size=3,
                       sample_per_part=2),
)
