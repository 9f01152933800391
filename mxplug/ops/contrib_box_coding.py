"""Box offsets against anchors — ``_contrib_box_encode`` and ``_contrib_box_decode`` (MXNet 1.x's
``mx.nd.contrib.box_encode``/``box_decode``, GluonCV's target coders) — and the encoding and
decoding the SSD layers (``contrib_multibox.py``) share with them.

An anchor of centre ``(ax, ay)`` and size ``(aw, ah)`` encodes a box of centre ``(gx, gy)`` and
size ``(gw, gh)`` as ``[((gx - ax) / aw - m0) / s0, ((gy - ay) / ah - m1) / s1,
(log(gw / aw) - m2) / s2, (log(gh / ah) - m3) / s3]`` (means ``m``, stds ``s``); decoding
inverts it (without means) and gives corners. Neither op has a gradient, as in MXNet.
"""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Enum, Float
from .registry import Sample, defop

__all__ = ["box_encode", "box_decode", "encode", "decode", "centre_size"]


def centre_size(xp, box, fmt="corner"):
    """``(x, y, w, h)`` of boxes ``(..., 4)`` given as corners or as ``center`` (x, y, w, h)."""
    a, b, c, d = (box[..., k] for k in range(4))
    if fmt == "center":
        return a, b, c, d
    return (a + c) / 2, (b + d) / 2, c - a, d - b


def encode(xp, anchor, box, means=(0.0, 0.0, 0.0, 0.0), stds=(1.0, 1.0, 1.0, 1.0)):
    """The offsets ``(..., 4)`` of corner boxes ``box`` against corner anchors ``anchor``."""
    ax, ay, aw, ah = centre_size(xp, anchor)
    gx, gy, gw, gh = centre_size(xp, box)
    parts = ((gx - ax) / aw, (gy - ay) / ah, xp.log(gw / aw), xp.log(gh / ah))
    return xp.stack([(p - m) / s for p, m, s in zip(parts, means, stds)], axis=-1)


def decode(xp, anchor, delta, stds=(1.0, 1.0, 1.0, 1.0), clip=-1.0, fmt="corner"):
    """Corner boxes ``(..., 4)`` from offsets ``delta`` against ``anchor`` (``fmt``); ``clip``
    > 0 caps the log-size offsets first (exp overflow)."""
    ax, ay, aw, ah = centre_size(xp, anchor, fmt)
    x, y = delta[..., 0] * stds[0] * aw + ax, delta[..., 1] * stds[1] * ah + ay
    dw, dh = delta[..., 2] * stds[2], delta[..., 3] * stds[3]
    if clip > 0:
        dw, dh = xp.minimum(dw, clip), xp.minimum(dh, clip)
    half_w, half_h = xp.exp(dw) * aw / 2, xp.exp(dh) * ah / 2
    return xp.stack([x - half_w, y - half_h, x + half_w, y + half_h], axis=-1)


# -- box_encode ------------------------------------------------------------------------------------
def _encode_infer(samples, matches, anchors, refs, means, stds):
    op = "box_encode"
    I.expect(samples.ndim == 2, op, "samples of shape (B, N)", f"samples.shape="
             f"{tuple(samples.shape)}")
    b, n = samples.shape
    I.expect(tuple(matches.shape) == (b, n), op, f"matches of shape ({b}, {n})",
             f"matches.shape={tuple(matches.shape)}")
    I.expect(tuple(anchors.shape) == (b, n, 4), op, f"anchors of shape ({b}, {n}, 4)",
             f"anchors.shape={tuple(anchors.shape)}")
    I.expect(refs.ndim == 3 and refs.shape[0] == b and refs.shape[2] == 4, op,
             f"refs of shape ({b}, M, 4)", f"refs.shape={tuple(refs.shape)}")
    for name, s in (("means", means), ("stds", stds)):
        I.expect(tuple(s.shape) == (4,), op, f"{name} of shape (4,)",
                 f"{name}.shape={tuple(s.shape)}")
    I.expect_float(anchors, op, "anchors")
    spec = I.Spec((b, n, 4), anchors.dtype)
    return spec, spec


box_encode = defop(
    "_contrib_box_encode", ("samples", "matches", "anchors", "refs", "means", "stds"),
    infer=_encode_infer, nout=2, differentiable=False,
    doc="Training targets (B, N, 4) of anchors (B, N, 4) for the reference boxes refs (B, M, 4) "
        "they match (matches (B, N), indices into M) where samples (B, N) is positive (> 0.5), "
        "encoded as the module says with means (4,) and stds (4,); and masks (B, N, 4), 1 where "
        "positive. Corner boxes. Elsewhere both are 0.")
box_encode.output_names = lambda attrs: ["output0", "output1"]


@box_encode.impl
def _(xp, samples, matches, anchors, refs, means, stds):
    _encode_infer(*(I.Spec(v.shape, v.dtype) for v in (samples, matches, anchors, refs, means,
                                                        stds)))
    m = refs.shape[1]
    index = xp.clip(xp.astype(matches, xp.int64), 0, max(m - 1, 0))
    index = xp.broadcast_to(index[..., None], index.shape + (4,))
    ref = xp.take_along_axis(refs, index, axis=1) if m else xp.zeros_like(anchors)
    dt = anchors.dtype
    mu, sd = xp.astype(means, dt), xp.astype(stds, dt)
    target = encode(xp, anchors, xp.astype(ref, dt), tuple(mu[k] for k in range(4)),
                    tuple(sd[k] for k in range(4)))
    positive = xp.broadcast_to((samples > 0.5)[..., None], target.shape)
    zero = xp.zeros_like(target)
    return xp.where(positive, target, zero), xp.astype(positive, dt)


def _box_sample(rng, b=2, n=5, m=3):
    lo = rng.uniform(0, 0.5, (b, n + m, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0.1, 0.5, (b, n + m, 2))], axis=2)
    return boxes[:, :n], boxes[:, n:]


box_encode.samples(
    lambda rng: Sample(rng.choice([-1.0, 0.0, 1.0], (2, 5)), rng.integers(0, 3, (2, 5)),
                       *_box_sample(rng), np.array([0.0, 0.1, 0.0, -0.1]),
                       np.array([0.1, 0.1, 0.2, 0.2]), grad=False),
)


# -- box_decode ------------------------------------------------------------------------------------
def _decode_infer(data, anchors, std0=1.0, std1=1.0, std2=1.0, std3=1.0, clip=-1.0,
                  format="center"):  # noqa: A002 (MXNet's attribute name)
    op = "box_decode"
    I.expect(data.ndim == 3 and data.shape[2] == 4, op, "data of shape (B, N, 4)",
             f"data.shape={tuple(data.shape)}")
    n = data.shape[1]
    I.expect(tuple(anchors.shape) == (1, n, 4), op, f"anchors of shape (1, {n}, 4)",
             f"anchors.shape={tuple(anchors.shape)}")
    I.expect_float(data, op)
    return I.Spec(data.shape, data.dtype)


box_decode = defop(
    "_contrib_box_decode", ("data", "anchors"),
    {"std0": Float(1.0), "std1": Float(1.0), "std2": Float(1.0), "std3": Float(1.0),
     "clip": Float(-1.0), "format": Enum("center", "center", "corner")},
    infer=_decode_infer, differentiable=False,
    doc="Corner boxes (B, N, 4) from offsets data (B, N, 4) against anchors (1, N, 4) given as "
        "``format`` (``center``: x, y, w, h — the default, as in MXNet — or ``corner``), the "
        "offsets scaled by ``std0..3``; ``clip`` > 0 caps the log-size offsets.")


@box_decode.impl
def _(xp, data, anchors, std0=1.0, std1=1.0, std2=1.0, std3=1.0, clip=-1.0,
      format="center"):  # noqa: A002
    _decode_infer(I.Spec(data.shape, data.dtype), I.Spec(anchors.shape, anchors.dtype))
    out = decode(xp, xp.astype(anchors, data.dtype), data, (std0, std1, std2, std3),
                 clip if clip > 0 else -1.0, format)
    return out if out.dtype == data.dtype else xp.astype(out, data.dtype)


box_decode.samples(
    lambda rng: Sample(rng.normal(0, 1, (2, 5, 4)), _box_sample(rng, 1)[0], format="corner",
                       std0=0.1, std1=0.1, std2=0.2, std3=0.2, grad=False),
    lambda rng: Sample(rng.normal(0, 2, (1, 5, 4)), _box_sample(rng, 1)[0], clip=math.log(2),
                       grad=False),
)
