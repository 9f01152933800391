"""MXNet 1.x's classic layers that later APIs dropped: LRN, UpSampling, L2Normalization, Crop,
SVMOutput, and the legacy row-indexing ops (batch_take, argmax_channel, choose_element_0index,
fill_element_0index, khatri_rao).

Every op is a composite of registered primitives (Pooling, Deconvolution, pick, one_hot, ...),
so it runs on every backend and gets its gradient from theirs; only SVMOutput, a loss layer,
has a rule of its own (MXNet's hinge-loss gradient, which ignores the head gradient).
"""

from __future__ import annotations

import math

from . import infer as I
from .attrs import Bool, Enum, Float, Int, Shape
from .call import F
from .nn import _f, _s, _u
from .registry import Sample, defop

__all__ = ["lrn", "upsampling", "l2_normalization", "batch_take", "argmax_channel",
           "choose_element_0index", "fill_element_0index", "khatri_rao", "svm_output", "crop"]


def _want_4d(op, x, name="data"):
    I.expect(x.ndim == 4, op, f"{name} of shape (N, C, H, W)", f"{name}.shape={tuple(x.shape)}")


# -- LRN ------------------------------------------------------------------------------------------
def _lrn_infer(x, alpha=1e-4, beta=0.75, knorm=2.0, nsize=0):
    _want_4d("LRN", x)
    I.expect(nsize >= 1, "LRN", "nsize >= 1 (the channel window)", f"nsize={nsize}")
    return I.Spec(x.shape, x.dtype)


lrn = defop(
    "LRN", ("data",),
    {"alpha": Float(1e-4), "beta": Float(0.75), "knorm": Float(2.0), "nsize": Int(0)},
    infer=_lrn_infer, aliases=("lrn",),
    doc="Local response normalisation across channels (AlexNet): ``out = x / (knorm + alpha / "
        "nsize * sum(x[c']**2))**beta``, the sum over channels ``c - (nsize-1)//2 .. c + "
        "(nsize-1)//2`` (zeros past the edges; an even nsize sums nsize - 1 channels, as MXNet "
        "1.9.1 does).")


@lrn.compose
def _(x, alpha=1e-4, beta=0.75, knorm=2.0, nsize=0):
    _lrn_infer(_s(x), nsize=nsize)
    n, c = x.shape[:2]
    # the channel window sum is a sum-pooling along C of x**2 seen as (N, 1, C, H*W)
    sq = _f("reshape", x * x, shape=(n, 1, c, -1))
    # MXNet 1.9.1's window is c - (nsize-1)//2 .. c + (nsize-1)//2 (checked against its wheel:
    # nsize=2 reads channel c alone, nsize=4 three channels)
    half = (nsize - 1) // 2
    win = _f("Pooling", sq, kernel=(2 * half + 1, 1), pool_type="sum", pad=(half, 0))
    norm = _f("reshape", win, shape=x.shape) * (alpha / nsize) + knorm
    return x * _f("power", norm, -beta)


lrn.samples(
    lambda rng: Sample(_u(rng, 2, 5, 3, 2), nsize=3),
    lambda rng: Sample(_u(rng, 1, 4, 2, 3, lo=-2, hi=2), nsize=2, alpha=0.5, beta=0.6,
                       knorm=1.0),
)


# -- UpSampling -----------------------------------------------------------------------------------
def _bilinear_geom(scale):
    """(kernel, pad) of MXNet's bilinear UpSampling deconvolution: an output exactly ``scale``
    times the input."""
    return 2 * scale - scale % 2, math.ceil((scale - 1) / 2)


def _up_infer(*xs, scale=1, num_filter=0, sample_type="nearest", multi_input_mode="concat",
              num_args=1, workspace=512):
    op = "UpSampling"
    I.expect(scale >= 1, op, "scale >= 1", f"scale={scale}")
    I.expect(len(xs) >= 1, op, "at least one input", "none")
    x = xs[0]
    _want_4d(op, x, "data[0]")
    if sample_type == "bilinear":
        I.expect(len(xs) == 2, op, "two inputs (data, weight) for sample_type='bilinear'",
                 f"{len(xs)} inputs")
        k = _bilinear_geom(scale)[0]
        want = (x.shape[1], 1, k, k)
        I.expect(tuple(xs[1].shape) == want, op, f"weight.shape == (C, 1, 2*scale - scale%2, "
                 f"...) == {want}", f"weight.shape={tuple(xs[1].shape)}")
        I.expect(num_filter in (0, x.shape[1]), op, f"num_filter == C == {x.shape[1]}",
                 f"num_filter={num_filter}")
        return I.Spec((x.shape[0], x.shape[1], x.shape[2] * scale, x.shape[3] * scale), x.dtype)
    # num_args is implied by the inputs given (the front ends drop it for variadic ops)
    oh, ow = x.shape[2] * scale, x.shape[3] * scale
    chans = 0
    for i, xi in enumerate(xs):
        _want_4d(op, xi, f"data[{i}]")
        I.expect(xi.shape[0] == x.shape[0] and oh % xi.shape[2] == 0 and ow % xi.shape[3] == 0,
                 op, f"data[{i}] of batch {x.shape[0]} whose height and width divide the output's "
                 f"({oh}, {ow})", f"data[{i}].shape={tuple(xi.shape)}")
        if multi_input_mode == "sum":
            I.expect(xi.shape[1] == x.shape[1], op, f"data[{i}].shape[1] == {x.shape[1]} "
                     f"(multi_input_mode='sum')", f"data[{i}].shape={tuple(xi.shape)}")
        chans += xi.shape[1]
    c = chans if multi_input_mode == "concat" else x.shape[1]
    return I.Spec((x.shape[0], c, oh, ow), I.result_dtype(*xs))


upsampling = defop(
    "UpSampling", ("data",),
    {"scale": Int(1), "num_filter": Int(0), "sample_type": Enum("nearest", "bilinear"),
     "multi_input_mode": Enum("concat", "sum"), "num_args": Int(1), "workspace": Int(512)},
    infer=_up_infer, variadic=True, aliases=("upsampling",),
    doc="Upsample (N, C, H, W) inputs to (H * scale, W * scale). ``nearest``: each input is "
        "repeated up to the first input's output size, and several inputs are joined along the "
        "channels (``multi_input_mode='concat'``) or summed (``'sum'``). ``bilinear``: a "
        "grouped Deconvolution of ``data`` with the ``weight`` input (C, 1, 2*scale - scale%2, "
        "same), stride ``scale``, pad ``ceil((scale - 1) / 2)`` (initialise the weight with "
        "``mx.init.Bilinear``).")


def _up_inputs(attrs):
    """mx.sym.UpSampling creates the bilinear weight variable, as MXNet does."""
    return ("data", "weight") if attrs["sample_type"] == "bilinear" else ()


upsampling.auto_inputs = _up_inputs


@upsampling.params
def _(*xs, scale=1, sample_type="nearest", **_):
    if sample_type != "bilinear" or not xs or xs[0] is None:
        return {}
    k = _bilinear_geom(scale)[0]
    return {1: (xs[0].shape[1], 1, k, k)}


@upsampling.compose
def _(*xs, **attrs):
    out = _up_infer(*(_s(x) for x in xs), **attrs)
    scale = attrs["scale"]
    if attrs["sample_type"] == "bilinear":
        x, w = xs
        k, pad = _bilinear_geom(scale)
        c = x.shape[1]
        return _f("Deconvolution", x, w, kernel=(k, k), stride=(scale, scale), pad=(pad, pad),
                  num_filter=c, num_group=c, no_bias=True)
    ups = []
    for x in xs:
        for axis in (2, 3):
            r = out.shape[axis] // x.shape[axis]
            x = x if r == 1 else _f("repeat", x, repeats=r, axis=axis)
        ups.append(x)
    if len(ups) == 1:
        return ups[0]
    if attrs["multi_input_mode"] == "sum":
        return _f("add_n", *ups)
    return _f("concat", *ups, dim=1)


upsampling.samples(
    lambda rng: Sample(_u(rng, 2, 3, 2, 3), scale=2),
    lambda rng: Sample(_u(rng, 1, 2, 4, 4), _u(rng, 1, 3, 2, 2), scale=2, num_args=2),
    lambda rng: Sample(_u(rng, 1, 2, 2, 2), _u(rng, 1, 2, 1, 1), scale=3, num_args=2,
                       multi_input_mode="sum"),
    lambda rng: Sample(_u(rng, 1, 2, 3, 2), _u(rng, 2, 1, 4, 4), scale=2, num_filter=2,
                       sample_type="bilinear"),
    lambda rng: Sample(_u(rng, 1, 2, 2, 2), _u(rng, 2, 1, 5, 5), scale=3, num_filter=2,
                       sample_type="bilinear"),
)


# -- L2Normalization ------------------------------------------------------------------------------
def _l2n_axes(ndim, mode):
    return {"instance": tuple(range(1, ndim)), "channel": (1,),
            "spatial": tuple(range(2, ndim))}[mode]


def _l2n_infer(x, eps=1e-10, mode="instance"):
    least = 3 if mode == "spatial" else 2
    I.expect(x.ndim >= least, "L2Normalization", f"data of ndim >= {least} for mode={mode!r}",
             f"data.shape={tuple(x.shape)}")
    return I.Spec(x.shape, x.dtype)


l2_normalization = defop(
    "L2Normalization", ("data",),
    {"eps": Float(1e-10), "mode": Enum("instance", "channel", "spatial")},
    infer=_l2n_infer, aliases=("l2_normalization",),
    doc="``x / sqrt(sum(x**2) + eps)``, the sum over all axes but the batch (``instance``), "
        "over the channel axis 1 (``channel``), or over the spatial axes 2.. (``spatial``).")


@l2_normalization.compose
def _(x, eps=1e-10, mode="instance"):
    _l2n_infer(_s(x), eps, mode)
    ss = _f("sum", x * x, axis=_l2n_axes(x.ndim, mode), keepdims=True)
    return _f("broadcast_div", x, _f("sqrt", ss + eps))


l2_normalization.samples(
    lambda rng: Sample(_u(rng, 3, 4)),
    lambda rng: Sample(_u(rng, 2, 3, 2, 2), mode="channel", eps=1e-3),
    lambda rng: Sample(_u(rng, 2, 3, 2, 3), mode="spatial"),
)


# -- row indexing ---------------------------------------------------------------------------------
def _batch_take_infer(a, indices):
    I.expect(a.ndim >= 1 and indices.size == a.shape[0], "batch_take",
             f"indices with a.shape[0] == {a.shape[0] if a.ndim else '?'} elements",
             f"a.shape={tuple(a.shape)}, indices.shape={tuple(indices.shape)}")
    return I.Spec(indices.shape, a.dtype)


batch_take = defop(
    "batch_take", ("a", "indices"), infer=_batch_take_infer,
    doc="``out[i] = a[i, indices[i]]`` with ``a`` seen as (N, M) (its trailing axes flattened); "
        "indices are clipped into [0, M).")
batch_take.nograd("indices")


@batch_take.compose
def _(a, indices):
    out = _batch_take_infer(_s(a), _s(indices))
    rows = _f("reshape", a, shape=(a.shape[0], -1))
    picked = _f("pick", rows, _f("reshape", indices, shape=(-1,)), axis=1, mode="clip")
    return _f("reshape", picked, shape=out.shape)


batch_take.samples(
    lambda rng: Sample(_u(rng, 4, 3), rng.integers(0, 3, (4,))),
    lambda rng: Sample(_u(rng, 3, 2, 2), rng.integers(-1, 6, (3,))),
)


def _argmax_channel_infer(x):
    I.expect(x.ndim >= 2, "argmax_channel", "data of ndim >= 2 (N, C, ...)",
             f"data.shape={tuple(x.shape)}")
    return I.Spec(I.reduce_shape(x.shape, 1, False, op="argmax_channel"), x.dtype)


argmax_channel = defop(
    "argmax_channel", ("data",), infer=_argmax_channel_infer, differentiable=False,
    doc="Index (as data's dtype) of the maximum along the channel axis 1, the first one on "
        "ties (MXNet 1.9.1's: (2, 3, 4) gives (2, 4)).")


@argmax_channel.compose
def _(x):
    _argmax_channel_infer(_s(x))
    return _f("argmax", x, axis=1)


argmax_channel.samples(lambda rng: Sample(_u(rng, 3, 5)), lambda rng: Sample(_u(rng, 2, 3, 4)))


def _rows_infer(op, lhs, rhs):
    I.expect(lhs.ndim == 2, op, "lhs of shape (N, M)", f"lhs.shape={tuple(lhs.shape)}")
    I.expect(tuple(rhs.shape) == lhs.shape[:1], op, f"rhs.shape == (N,) == ({lhs.shape[0]},)",
             f"rhs.shape={tuple(rhs.shape)}")


def _choose_infer(lhs, rhs):
    _rows_infer("choose_element_0index", lhs, rhs)
    return I.Spec(lhs.shape[:1], lhs.dtype)


choose_element_0index = defop(
    "choose_element_0index", ("lhs", "rhs"), infer=_choose_infer,
    doc="``out[i] = lhs[i, rhs[i]]`` for lhs (N, M) and 0-based indices rhs (N,) (clipped).")
choose_element_0index.nograd("rhs")


@choose_element_0index.compose
def _(lhs, rhs):
    _choose_infer(_s(lhs), _s(rhs))
    return _f("pick", lhs, rhs, axis=1, mode="clip")


def _fill_infer(lhs, mhs, rhs):
    op = "fill_element_0index"
    _rows_infer(op, lhs, rhs)
    I.expect(tuple(mhs.shape) == lhs.shape[:1], op, f"mhs.shape == (N,) == ({lhs.shape[0]},)",
             f"mhs.shape={tuple(mhs.shape)}")
    return I.Spec(lhs.shape, lhs.dtype)


fill_element_0index = defop(
    "fill_element_0index", ("lhs", "mhs", "rhs"), infer=_fill_infer,
    doc="lhs (N, M) with ``out[i, rhs[i]] = mhs[i]``; an index out of [0, M) changes nothing.")
fill_element_0index.nograd("rhs")


@fill_element_0index.compose
def _(lhs, mhs, rhs):
    _fill_infer(_s(lhs), _s(mhs), _s(rhs))
    hit = _f("one_hot", rhs, depth=lhs.shape[1], dtype=lhs.dtype)
    return lhs * (1.0 - hit) + _f("reshape", mhs, shape=(-1, 1)) * hit


choose_element_0index.samples(lambda rng: Sample(_u(rng, 4, 3), rng.integers(0, 3, (4,))))
fill_element_0index.samples(
    lambda rng: Sample(_u(rng, 4, 3), _u(rng, 4), rng.integers(0, 3, (4,))))


def _khatri_rao_infer(*ms):
    op = "khatri_rao"
    I.expect(len(ms) >= 1, op, "at least one matrix", "none")
    k = ms[0].shape[-1] if ms[0].ndim else None
    for i, m in enumerate(ms):
        I.expect(m.ndim == 2 and m.shape[1] == k, op, f"args[{i}] of shape (rows, {k})",
                 f"args[{i}].shape={tuple(m.shape)}")
    return I.Spec((math.prod(m.shape[0] for m in ms), k), I.result_dtype(*ms))


khatri_rao = defop(
    "khatri_rao", ("args",), infer=_khatri_rao_infer, variadic=True,
    doc="Column-wise Kronecker product of matrices (I_j, K): out (prod I_j, K), column k the "
        "Kronecker product of the inputs' columns k, the first input's row index the slowest.")


@khatri_rao.compose
def _(*ms):
    _khatri_rao_infer(*(_s(m) for m in ms))
    out = ms[0]
    for m in ms[1:]:
        k = m.shape[1]
        prod = _f("broadcast_mul", _f("reshape", out, shape=(-1, 1, k)),
                  _f("reshape", m, shape=(1, -1, k)))
        out = _f("reshape", prod, shape=(-1, k))
    return out if len(ms) > 1 else _f("identity", out)


khatri_rao.samples(
    lambda rng: Sample(_u(rng, 2, 3), _u(rng, 4, 3)),
    lambda rng: Sample(_u(rng, 3, 2), _u(rng, 1, 2), _u(rng, 2, 2)),
    lambda rng: Sample(_u(rng, 3, 2)),
)


# -- SVMOutput ------------------------------------------------------------------------------------
def _svm_infer(x, label, margin=1.0, regularization_coefficient=1.0, use_linear=False):
    I.expect(x.ndim >= 1, "SVMOutput", "data of ndim >= 1", f"data.shape={tuple(x.shape)}")
    rows = math.prod(x.shape[:-1])
    I.expect(label.size == rows, "SVMOutput",
             f"label with {rows} elements (shape {tuple(x.shape[:-1])}) for data {tuple(x.shape)}",
             f"label.shape={tuple(label.shape)}")
    return I.Spec(x.shape, x.dtype)


svm_output = defop(
    "SVMOutput", ("data", "label"),
    {"margin": Float(1.0), "regularization_coefficient": Float(1.0), "use_linear": Bool(False)},
    infer=_svm_infer, aliases=("svm_output",),
    doc="Forward: the data (class scores along the last axis). Backward ignores the head "
        "gradient: the hinge-loss gradient, L2-SVM by default (``-2 * reg * (margin - s)`` at "
        "the label where ``s < margin``, ``2 * reg * (margin + s)`` elsewhere where ``s > "
        "-margin``), or L1-SVM with ``use_linear`` (``-reg`` and ``+reg`` under the same "
        "conditions).")
svm_output.nograd("label")
svm_output.loss_gradient = True
svm_output.params(lambda x, label=None, **_: {} if x is None else {1: tuple(x.shape[:-1])})


@svm_output.compose
def _(x, label, **attrs):
    _svm_infer(_s(x), _s(label), **attrs)
    return _f("identity", x)


@svm_output.vjp
def _(g, out, x, label, margin=1.0, regularization_coefficient=1.0, use_linear=False):
    k = out.shape[-1]
    s = F.reshape(out, shape=(-1, k))
    at = F.one_hot(F.reshape(label, shape=(-1,)), depth=k, dtype=out.dtype)
    # at the label the loss pushes the score above margin, elsewhere below -margin
    viol_at = F.cast(s < margin, dtype=out.dtype) * at
    viol_off = F.cast(s > -margin, dtype=out.dtype) * (1.0 - at)
    if use_linear:
        grad = (viol_off - viol_at) * regularization_coefficient
    else:
        grad = (viol_off * (s + margin) + viol_at * (s - margin)) * (
            2.0 * regularization_coefficient)
    return F.reshape(grad, shape=out.shape), None


svm_output.samples(
    lambda rng: Sample(_u(rng, 4, 3, lo=-2, hi=2), rng.integers(0, 3, (4,)).astype(float),
                       grad=False),
    lambda rng: Sample(_u(rng, 2, 3, 4, lo=-2, hi=2), rng.integers(0, 4, (2, 3)).astype(float),
                       use_linear=True, margin=0.5, grad=False),
)


# -- Crop -----------------------------------------------------------------------------------------
def _crop_geom(x, like=None, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    """(top, left, height, width) of the crop window, checked against data's shape."""
    op = "Crop"
    _want_4d(op, x)
    I.expect(num_args in (1, 2), op, "num_args 1 (crop to h_w) or 2 (crop like the 2nd input)",
             f"num_args={num_args}")
    if num_args == 2:
        I.expect(like is not None and like.ndim >= 4, op, "a crop_like input (N, C, h, w)",
                 f"crop_like.shape={None if like is None else tuple(like.shape)}")
        h, w = like.shape[2], like.shape[3]
    else:
        I.expect(like is None, op, "one input for num_args=1", "two inputs")
        I.expect(len(h_w) == 2, op, "h_w == (height, width)", f"h_w={tuple(h_w)}")
        h, w = h_w
    I.expect(len(offset) == 2, op, "offset == (y, x)", f"offset={tuple(offset)}")
    H, W = x.shape[2], x.shape[3]
    top, left = ((H - h) // 2, (W - w) // 2) if center_crop else tuple(offset)
    I.expect(h > 0 and w > 0 and 0 <= top and 0 <= left and top + h <= H and left + w <= W,
             op, f"a crop window inside data's (H, W) == ({H}, {W})",
             f"offset ({top}, {left}), size ({h}, {w})")
    return top, left, h, w


def _crop_infer(x, crop_like=None, **attrs):
    _, _, h, w = _crop_geom(x, crop_like, **attrs)
    return I.Spec(x.shape[:2] + (h, w), x.dtype)


crop = defop(
    "Crop", ("data", "crop_like"),
    {"num_args": Int(1), "offset": Shape((0, 0)), "h_w": Shape((0, 0)),
     "center_crop": Bool(False)},
    infer=_crop_infer,
    doc="Crop the H and W axes of (N, C, H, W) to ``h_w`` (``num_args=1``) or to the second "
        "input's height and width (``num_args=2``), from ``offset`` (y, x) or centred "
        "(``center_crop``). Deprecated in MXNet in favour of slice.")
crop.nograd("crop_like")


@crop.compose
def _(x, crop_like=None, **attrs):
    top, left, h, w = _crop_geom(_s(x), None if crop_like is None else _s(crop_like), **attrs)
    out = _f("slice_axis", x, axis=2, begin=top, end=top + h)
    return _f("slice_axis", out, axis=3, begin=left, end=left + w)


crop.samples(
    lambda rng: Sample(_u(rng, 2, 2, 5, 4), h_w=(3, 2), offset=(1, 2)),
    lambda rng: Sample(_u(rng, 1, 2, 5, 6), _u(rng, 1, 1, 2, 3), num_args=2, center_crop=True),
    lambda rng: Sample(_u(rng, 1, 2, 4, 4), _u(rng, 1, 3, 3, 2), num_args=2),
)
