"""MXNet 1.x's image ops (``_image_*``, ``mx.nd.image.<name>`` / ``mx.sym.image.<name>``).

Images are HWC (``(H, W, C)``), or NHWC batches where MXNet 1.9.1 takes them (to_tensor, crop,
resize); ``to_tensor`` turns them into float32 CHW/NCHW in [0, 1] and ``normalize`` works on that
layout. The colour ops take 1 or 3 channels (RGB), compute in float32 (float64 for float64
images) and cast back to the input dtype as MXNet does: uint8 results are clipped to [0, 255]
and truncated, other integer results truncated, float results not clipped.

Deterministic ops (to_tensor, normalize, flips, crop, resize, adjust_lighting) are generic bodies
over ``xp`` with gradient rules (resize's is ``_backward_image_resize``, the transposed
interpolation). ``resize`` (in :mod:`.image_resize`) reproduces OpenCV 3.4, which MXNet resizes
with, down to its uint8 fixed-point rounding (bit for bit against MXNet 1.9.1).

The random ops are composites: their numbers come from one ``random_uniform``/``random_normal``
draw (with the op's ``key``/``counter``, which the front ends fill from ``mx.random``, so
``mx.random.seed`` reproduces them) and the rest is written in differentiable mxplug ops, so
their gradients are exact and a bound graph redraws per run.

Where mxplug deliberately differs from MXNet 1.9.1 (MXNet bugs or undefined behaviour):

- gradients: MXNet gives every flip and colour op the identity gradient and its to_tensor/resize
  backward fails; here they are the true derivatives (flip the gradient, scale it, ...);
- ``random_saturation`` blends with the luma ``0.299 R + 0.587 G + 0.114 B``; MXNet's loop keeps
  only ``0.114 B`` (``gray =`` for ``gray +=``);
- one-channel images: ``random_hue``/``adjust_lighting``/``random_lighting`` return the image
  (MXNet leaves the output unwritten); ``random_color_jitter`` with nothing to jitter returns a
  copy (MXNet: uninitialised memory);
- ``random_color_jitter`` applies its adjustments in a random order like MXNet, but composes them
  in float and rounds to the dtype once (MXNet rounds after each step);
- float64 images are computed in float64 (MXNet goes through float32); ``crop`` rejects a
  negative ``x``/``y`` (MXNet reads outside the image); ``adjust_lighting`` wants exactly three
  alphas; ``normalize`` takes float data only (MXNet runs integer arithmetic on ints).
"""
from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Attr, Float, Int
from .call import F
from .registry import Sample, defop

_STATE = {"key": Int(0), "counter": Int(0)}
_LUMA = (0.299, 0.587, 0.114)
_EPS32, _DBL_EPS = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)
#: AlexNet's PCA lighting: eigenvalue-scaled eigenvectors (rows R, G, B); MXNet keeps them as
#: float32, which the float32 path does too (float64 images use the exact products).
_EIG64 = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                 [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                 [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]])
_EIG = _EIG64.astype(np.float32)


def _s(x):
    return I.Spec(tuple(x.shape), np.dtype(x.dtype))


def _required(kind):
    return Attr(None, kind)  # required, as in MXNet: the infer rule says when it is missing


def _need(op, **attrs):
    for k, v in attrs.items():
        I.expect(v is not None, op, f"the attribute {k} (it is required)", f"{k}=None")


def _hwc(op, x, batch=False, rgb=True):
    """Check an (H, W, C) image (or, with ``batch``, an (N, H, W, C) batch); ``rgb``: C in 1, 3."""
    ranks = (3, 4) if batch else (3,)
    what = "(H, W, C) or (N, H, W, C)" if batch else "(H, W, C)"
    I.expect(x.ndim in ranks, op, f"data of shape {what}", f"data.shape={tuple(x.shape)}")
    if rgb:
        I.expect(x.shape[-1] in (1, 3), op, "1 or 3 channels in the last axis of data",
                 f"data.shape={tuple(x.shape)}")


def _compute_dtype(dt):
    return "float64" if np.dtype(dt) == np.float64 else "float32"


def _const(xp, host, like):
    return xp.asarray(host, device=like.device)


def _img(rng, *shape):
    return rng.uniform(0, 255, shape)


def _u8(rng, *shape):
    return rng.integers(0, 256, shape).astype(np.uint8)


# -- to_tensor ------------------------------------------------------------------------------------
def _to_tensor_infer(x):
    _hwc("_image_to_tensor", x, batch=True, rgb=False)
    sh = tuple(x.shape)
    return I.Spec(sh[:-3] + (sh[-1],) + sh[-3:-1], np.dtype("float32"))


to_tensor = defop(
    "_image_to_tensor", ("data",), infer=_to_tensor_infer,
    doc="An image (H, W, C) or batch (N, H, W, C) with values in [0, 255] as a float32 tensor "
        "(C, H, W) / (N, C, H, W) divided by 255. Any input dtype.")


def _chw_perm(ndim):
    return (2, 0, 1) if ndim == 3 else (0, 3, 1, 2)


@to_tensor.impl
def _(xp, x):
    _to_tensor_infer(_s(x))
    return xp.permute_dims(x, _chw_perm(x.ndim)).astype(xp.float32) / 255.0


@to_tensor.vjp
def _(g, out, x):
    back = (1, 2, 0) if x.ndim == 3 else (0, 2, 3, 1)
    return (F.cast(F.transpose(g, axes=back) / 255.0, dtype=np.dtype(x.dtype).name),)


# grad=False: the output is float32 whatever the input, too coarse for the suite's float64
# finite differences; tests/test_image_ops.py checks the gradient exactly instead
to_tensor.samples(
    lambda rng: Sample(rng.integers(0, 256, (4, 5, 3)).astype(np.uint8), grad=False),
    lambda rng: Sample(rng.uniform(0, 255, (2, 3, 4, 1)), grad=False),
    lambda rng: Sample(rng.uniform(0, 255, (3, 2, 4)), grad=False))


# -- normalize ------------------------------------------------------------------------------------
def _normalize_infer(x, mean=(0.0,) * 4, std=(1.0,) * 4):
    op = "_image_normalize"
    I.expect(x.ndim in (3, 4), op, "data of shape (C, H, W) or (N, C, H, W)",
             f"data.shape={tuple(x.shape)}")
    c = x.shape[-3]
    I.expect(c in (1, 3), op, f"1 or 3 channels in axis {x.ndim - 3} of data",
             f"data.shape={tuple(x.shape)}")
    for name, v in (("mean", mean), ("std", std)):
        I.expect(len(v) in (1, c), op, f"{name} with 1 or {c} values (one per channel)",
                 f"{name}={tuple(v)}")
    I.expect_float(x, op, why="normalize follows to_tensor")
    return x


normalize = defop(
    "_image_normalize", ("data",), {"mean": Attr((0.0,) * 4, "floats"),
                                    "std": Attr((1.0,) * 4, "floats")},
    infer=_normalize_infer,
    doc="``(data[c] - mean[c]) / std[c]`` for each channel c of a (C, H, W) or (N, C, H, W) "
        "float tensor; ``mean``/``std`` hold 1 value or one per channel. The defaults (four "
        "values) fit no 1- or 3-channel input, as in MXNet 1.9.1: give mean and std.")


def _per_channel(v, c):
    return np.array(v * c if len(v) == 1 else v, dtype=np.float64).reshape(c, 1, 1)


@normalize.impl
def _(xp, x, mean=(0.0,) * 4, std=(1.0,) * 4):
    _normalize_infer(_s(x), mean, std)
    c = x.shape[-3]
    m = _const(xp, _per_channel(mean, c).astype(x.dtype), x)
    s = _const(xp, _per_channel(std, c).astype(x.dtype), x)
    return (x - m) / s


@normalize.vjp
def _(g, out, x, mean=(0.0,) * 4, std=(1.0,) * 4):
    return (F._image_normalize(g, mean=(0.0,), std=std),)   # g / std, itself differentiable


normalize.samples(
    lambda rng: Sample(rng.uniform(0, 1, (3, 4, 5)), mean=(0.485, 0.456, 0.406),
                       std=(0.229, 0.224, 0.225)),
    lambda rng: Sample(rng.uniform(0, 1, (2, 1, 3, 4)), mean=(0.5,), std=(2.0,)),
    lambda rng: Sample(rng.uniform(0, 1, (2, 3, 2, 2)), mean=(0.1, 0.2, 0.3), std=(0.5,)))


# -- flips ----------------------------------------------------------------------------------------
def _flip_op(name, axis, what):
    def infer(x):
        _hwc(name, x)
        return x

    op = defop(name, ("data",), infer=infer,
               doc=f"Flip an (H, W, C) image {what} (C in 1, 3). Its gradient is the flipped "
                   f"output gradient (MXNet 1.9.1 passes the gradient through unflipped).")

    @op.impl
    def _(xp, x):
        infer(_s(x))
        return xp.flip(x, axis=axis)

    op.vjp(lambda g, out, x: (getattr(F, name)(g),))  # a flip is its own adjoint
    op.samples(lambda rng: Sample(rng.uniform(0, 255, (3, 4, 3))),
               lambda rng: Sample(rng.integers(0, 256, (4, 2, 1)).astype(np.uint8), grad=False))
    op.view_of_input = True
    return op


flip_left_right = _flip_op("_image_flip_left_right", 1, "left to right (along W)")
flip_top_bottom = _flip_op("_image_flip_top_bottom", 0, "top to bottom (along H)")


def _uniform(x, shape, dtype="float32", low=0.0, high=1.0, key=0, counter=0):
    """The composites' draw: ``random_uniform`` with the op's generator state, on x's device."""
    return F.random_uniform(low=low, high=high, shape=shape, dtype=dtype, ctx=x.context,
                            key=key, counter=counter)


def _random_flip_op(name, flip):
    def infer(x, **_):
        _hwc(name, x)
        return x

    op = defop(name, ("data",), dict(_STATE), infer=infer, random=True,
               doc=f"Apply ``{flip}`` with probability 0.5 (one draw per call).")

    @op.compose
    def _(x, key=0, counter=0):
        infer(_s(x))
        coin = _uniform(x, (1,), key=key, counter=counter) < 0.5
        cond = F.broadcast_to(F.reshape(coin, shape=(1, 1, 1)), shape=tuple(x.shape))
        return F.where(cond, getattr(F, flip)(x), x)

    op.samples(lambda rng: Sample(rng.uniform(0, 255, (3, 4, 3)), key=3, counter=1),
               lambda rng: Sample(rng.uniform(0, 255, (2, 3, 1)), key=3, counter=2),
               lambda rng: Sample(rng.integers(0, 256, (2, 5, 3)).astype(np.uint8), key=9,
                                  counter=4))
    return op


random_flip_left_right = _random_flip_op("_image_random_flip_left_right",
                                         "_image_flip_left_right")
random_flip_top_bottom = _random_flip_op("_image_random_flip_top_bottom",
                                         "_image_flip_top_bottom")


# -- crop -----------------------------------------------------------------------------------------
_CROP = {"x": _required("int"), "y": _required("int"), "width": _required("int"),
         "height": _required("int")}


def _crop_infer(d, x=None, y=None, width=None, height=None):
    op = "_image_crop"
    _hwc(op, d, batch=True)
    _need(op, x=x, y=y, width=width, height=height)
    h, w = d.shape[-3], d.shape[-2]
    I.expect(width > 0 and height > 0, op, "width > 0 and height > 0",
             f"width={width}, height={height}")
    I.expect(x >= 0 and y >= 0, op, "x >= 0 and y >= 0", f"x={x}, y={y}")
    I.expect(x + width <= w and y + height <= h, op,
             f"the box inside the {h}x{w} image: x + width <= {w}, y + height <= {h}",
             f"x={x}, y={y}, width={width}, height={height}")
    return I.Spec(tuple(d.shape[:-3]) + (height, width, d.shape[-1]), d.dtype)


crop = defop("_image_crop", ("data",), _CROP, infer=_crop_infer,
             doc="The ``height`` x ``width`` box at column ``x``, row ``y`` of an (H, W, C) image "
                 "or (N, H, W, C) batch (C in 1, 3).")
crop.view_of_input = True


@crop.impl
def _(xp, d, x=None, y=None, width=None, height=None):
    _crop_infer(_s(d), x, y, width, height)
    return d[..., y:y + height, x:x + width, :]


@crop.vjp
def _(g, out, d, x=None, y=None, width=None, height=None):
    lead = (None,) * (d.ndim - 3)
    return (F._slice_backward(g, shape=tuple(d.shape), begin=lead + (y, x, None),
                              end=lead + (y + height, x + width, None)),)


crop.samples(lambda rng: Sample(rng.uniform(0, 255, (4, 5, 3)), x=1, y=2, width=3, height=2),
             lambda rng: Sample(rng.uniform(0, 255, (2, 4, 3, 1)), x=0, y=1, width=3, height=3),
             lambda rng: Sample(rng.integers(0, 256, (3, 3, 3)).astype(np.uint8), x=2, y=0,
                                width=1, height=3, grad=False))


# -- colour: shared pieces ------------------------------------------------------------------------
def _to_compute(x):
    """x as its compute dtype (float64 for float64 images, else float32), and that dtype."""
    cd = _compute_dtype(x.dtype)
    return (x if np.dtype(x.dtype) == np.dtype(cd) else F.cast(x, dtype=cd)), cd


def _finish(y, x):
    """``y`` back in x's dtype as MXNet does (uint8 clipped to [0, 255], ints truncated), and
    never ``x`` itself (adjustments that leave a 1-channel image alone return their input)."""
    dt = np.dtype(x.dtype)
    if y is x:
        return F.copy(x)
    if dt == np.uint8:
        y = F.clip(y, a_min=0.0, a_max=255.0)
    return y if dt == np.dtype(y.dtype) else F.cast(y, dtype=dt.name)


def _channels(y):
    return [F.slice_axis(y, axis=y.ndim - 1, begin=i, end=i + 1) for i in range(y.shape[-1])]


def _gray(y):
    """Per-pixel luma (ITU-R 601) of an RGB image, (H, W, 1); a 1-channel image is its own."""
    if y.shape[-1] == 1:
        return y
    r, g, b = _channels(y)
    return r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2]


def _scalar(a):
    return F.reshape(a, shape=(1, 1, 1))


def _brightness(y, a):
    return F.broadcast_mul(y, _scalar(a))


def _contrast(y, a):
    """``y * a + (1 - a) * mean luma`` (MXNet's contrast, one mean over the image)."""
    return F.broadcast_add(F.broadcast_mul(y, _scalar(a)), _scalar((1.0 - a) * F.mean(_gray(y))))


def _saturation(y, a):
    """``luma * (1 - a) + y * a`` per pixel (1-channel images unchanged)."""
    if y.shape[-1] == 1:
        return y
    return F.broadcast_add(F.broadcast_mul(_gray(y), _scalar(1.0 - a)),
                           F.broadcast_mul(y, _scalar(a)))


#: HLS -> RGB: per hue sector, which of (p2, p1, falling, rising) each of (b, g, r) takes.
_HLS_SECTORS = ((1, 3, 0), (1, 0, 2), (3, 0, 1), (0, 2, 1), (0, 1, 3), (2, 1, 0))


def _hue(y, a):
    """Rotate the hue of an RGB image by ``a`` turns through HLS, in MXNet's float steps (so
    uint8 results truncate alike); grey pixels stay grey. Written in differentiable ops: the
    map is piecewise linear and its gradient is exact away from the sector edges."""
    if y.shape[-1] == 1:
        return y
    r, g, b = (c / 255.0 for c in _channels(y))
    vmax, vmin = F.maximum(F.maximum(r, g), b), F.minimum(F.minimum(r, g), b)
    diff, light = vmax - vmin, (vmax + vmin) * 0.5
    colour = diff > _EPS32
    one = F.ones_like(diff)       # safe denominators: grey pixels take no branch below
    den = F.where(colour, F.where(light < 0.5, vmax + vmin, 2.0 - vmax - vmin), one)
    sat = F.where(colour, diff, one) / den
    k = 60.0 / F.where(colour, diff, one)
    h = F.where(vmax == r, (g - b) * k,
                F.where(vmax == g, (b - r) * k + 120.0, (r - g) * k + 240.0))
    h = F.broadcast_add(F.where(h < 0, h + 360.0, h), _scalar(a * 360.0))
    p2 = F.where(light <= 0.5, light * (1.0 + sat), light + sat - light * sat)
    p1 = 2.0 * light - p2
    h = h * float(np.float32(1.0) / np.float32(60.0)) if y.dtype == np.float32 else h / 60.0
    h = h - 6.0 * F.floor(h / 6.0)
    sector = F.clip(F.floor(h), a_min=0.0, a_max=5.0)
    f = h - sector
    tab = (p2, p1, p1 + (p2 - p1) * (1.0 - f), p1 + (p2 - p1) * f)
    out = []
    for ch in (2, 1, 0):                                        # r, g, b
        v = tab[_HLS_SECTORS[5][ch]]
        for s in range(4, -1, -1):
            v = F.where(sector == s, tab[_HLS_SECTORS[s][ch]], v)
        out.append(F.where(colour, v, light) * 255.0)
    return F.concat(*out, dim=y.ndim - 1)


# -- lighting -------------------------------------------------------------------------------------
def _lighting_infer(x, alpha=None):
    op = "_image_adjust_lighting"
    _hwc(op, x)
    _need(op, alpha=alpha)
    I.expect(len(alpha) == 3, op, "alpha with 3 values (R, G, B)", f"alpha={tuple(alpha)}")
    return x


adjust_lighting = defop(
    "_image_adjust_lighting", ("data",), {"alpha": _required("floats")}, infer=_lighting_infer,
    doc="AlexNet-style PCA lighting of an (H, W, C) RGB image: add ``eig @ alpha`` (ImageNet's "
        "eigenvectors scaled by their eigenvalues) to every pixel; 1-channel images are "
        "returned unchanged.")


def _eig(cd):
    return _EIG64 if np.dtype(cd) == np.float64 else _EIG


def _pca(alpha, cd):
    """``eig @ alpha``, term by term as MXNet sums it (in float32 unless ``cd`` is float64)."""
    e, a = _eig(cd), np.asarray(alpha, dtype=cd)
    return [e[i, 0] * a[0] + e[i, 1] * a[1] + e[i, 2] * a[2] for i in range(3)]


@adjust_lighting.impl
def _(xp, x, alpha=None):
    _lighting_infer(_s(x), alpha)
    if x.shape[-1] == 1:
        return xp.asarray(x, copy=True)
    cd = _compute_dtype(x.dtype)
    y = x.astype(cd) + _const(xp, np.array(_pca(alpha, cd), dtype=cd), x)
    if np.dtype(x.dtype) == np.uint8:
        y = xp.clip(y, 0, 255)
    return y.astype(x.dtype)


adjust_lighting.vjp(lambda g, out, x, alpha=None: (g,))   # a shift per channel
adjust_lighting.samples(
    lambda rng: Sample(_img(rng, 3, 4, 3), alpha=(0.1, -0.2, 0.3)),
    lambda rng: Sample(_img(rng, 2, 2, 1), alpha=(1.0, 2.0, 3.0)),
    lambda rng: Sample(_u8(rng, 3, 2, 3), alpha=(-1.0, 0.5, 2.0), grad=False))


def _random_infer(name):
    def infer(x, **_):
        _hwc(name, x)
        return x
    return infer


random_lighting = defop(
    "_image_random_lighting", ("data",), {"alpha_std": Float(0.05), **_STATE},
    infer=_random_infer("_image_random_lighting"), random=True,
    doc="``adjust_lighting`` with ``alpha`` drawn from N(0, alpha_std**2) per channel and call.")


@random_lighting.compose
def _(x, alpha_std=0.05, key=0, counter=0):
    _hwc("_image_random_lighting", x)
    if x.shape[-1] == 1:
        return F.copy(x)
    y, cd = _to_compute(x)
    a = F.split(F.random_normal(loc=0.0, scale=abs(alpha_std), shape=(3,), dtype=cd,
                                ctx=x.context, key=key, counter=counter), num_outputs=3, axis=0)
    e = _eig(cd)
    pca = [a[0] * float(e[i, 0]) + a[1] * float(e[i, 1]) + a[2] * float(e[i, 2]) for i in range(3)]
    return _finish(F.broadcast_add(y, F.reshape(F.concat(*pca, dim=0), shape=(1, 1, 3))), x)


_COLOUR_SAMPLES = (
    lambda rng, **kw: Sample(_img(rng, 3, 4, 3), key=5, counter=2, **kw),
    lambda rng, **kw: Sample(_img(rng, 2, 3, 1), key=1, counter=7, **kw),
    lambda rng, **kw: Sample(_img(rng, 4, 2, 3), key=2 ** 40 + 3, counter=11, **kw))
random_lighting.samples(*[lambda rng, f=f: f(rng, alpha_std=0.5) for f in _COLOUR_SAMPLES])


# -- random brightness / contrast / saturation / hue, colour jitter --------------------------------
_FACTORS = {"min_factor": _required("float"), "max_factor": _required("float"), **_STATE}


def _random_adjust(name, adjust, what, samples):
    def infer(x, min_factor=None, max_factor=None, **_):
        _hwc(name, x)
        _need(name, min_factor=min_factor, max_factor=max_factor)
        I.expect(min_factor >= 0 and max_factor >= 0, name, "min_factor >= 0 and max_factor >= 0",
                 f"min_factor={min_factor}, max_factor={max_factor}")
        return x

    op = defop(name, ("data",), dict(_FACTORS), infer=infer, random=True,
               doc=f"{what}, with one factor per call uniform in [min_factor, max_factor).")

    @op.compose
    def _(x, min_factor=None, max_factor=None, key=0, counter=0):
        infer(_s(x), min_factor, max_factor)
        y, cd = _to_compute(x)
        lo, hi = min(min_factor, max_factor), max(min_factor, max_factor)
        a = _uniform(x, (1,), cd, lo, hi, key, counter)
        return _finish(adjust(y, a), x)

    op.samples(*samples)
    return op


random_brightness = _random_adjust(
    "_image_random_brightness", _brightness, "``data * alpha``",
    [lambda rng, f=f: f(rng, min_factor=0.5, max_factor=1.5) for f in _COLOUR_SAMPLES])
random_contrast = _random_adjust(
    "_image_random_contrast", _contrast, "``data * alpha + (1 - alpha) * mean luma``",
    [lambda rng, f=f: f(rng, min_factor=0.3, max_factor=1.7) for f in _COLOUR_SAMPLES])
random_saturation = _random_adjust(
    "_image_random_saturation", _saturation,
    "``luma * (1 - alpha) + data * alpha`` per pixel, luma = 0.299 R + 0.587 G + 0.114 B",
    [lambda rng, f=f: f(rng, min_factor=0.0, max_factor=2.0) for f in _COLOUR_SAMPLES])
random_hue = _random_adjust(
    "_image_random_hue", _hue, "Hue rotated by ``alpha`` turns (through HLS; grey stays grey)",
    [lambda rng, f=f: f(rng, min_factor=0.1, max_factor=0.9) for f in _COLOUR_SAMPLES])

_JITTER = {"brightness": _required("float"), "contrast": _required("float"),
           "saturation": _required("float"), "hue": _required("float"), **_STATE}


def _jitter_infer(x, brightness=None, contrast=None, saturation=None, hue=None, **_):
    op = "_image_random_color_jitter"
    _hwc(op, x)
    _need(op, brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)
    return x


random_color_jitter = defop(
    "_image_random_color_jitter", ("data",), _JITTER, infer=_jitter_infer, random=True,
    doc="Brightness, contrast and saturation by factors ``1 + U(-v, v)`` and hue by ``U(-hue, "
        "hue)`` turns, in a random order, each only where its amount is > 0.")


@random_color_jitter.compose
def _(x, brightness=None, contrast=None, saturation=None, hue=None, key=0, counter=0):
    _jitter_infer(_s(x), brightness, contrast, saturation, hue)
    y, cd = _to_compute(x)
    # u[0:4]: the order keys of (brightness, contrast, saturation, hue); u[4:8]: their factors
    u = F.split(_uniform(x, (8,), cd, key=key, counter=counter), num_outputs=8, axis=0)
    steps = [(adj, 1.0 + (2.0 * u[4 + i] - 1.0) * amount, u[i])
             for i, (adj, amount) in enumerate(((_brightness, brightness), (_contrast, contrast),
                                                (_saturation, saturation))) if amount > 0]
    if hue <= 0:
        for adj, f, _ in steps:
            y = adj(y, f)
        return _finish(y, x)
    # brightness, contrast and saturation commute, so only which side of the hue step each falls
    # on matters; it runs on both sides, with factor 1 (exactly the identity) on the other one:
    # no branch on drawn values, so a graph redraws the order every run
    first = [rank < u[3] for _, _, rank in steps]
    for (adj, f, _), m in zip(steps, first):
        y = adj(y, 1.0 + (f - 1.0) * m)
    y = _hue(y, (2.0 * u[7] - 1.0) * hue)
    for (adj, f, _), m in zip(steps, first):
        y = adj(y, 1.0 + (f - 1.0) * (1.0 - m))
    return _finish(y, x)


random_color_jitter.samples(
    *[lambda rng, f=f: f(rng, brightness=0.4, contrast=0.3, saturation=0.5, hue=0.2)
      for f in _COLOUR_SAMPLES],
    lambda rng: Sample(_img(rng, 3, 3, 3), brightness=0.3, contrast=0.0, saturation=0.4,
                       hue=0.0, key=4, counter=1),
    lambda rng: Sample(_u8(rng, 3, 4, 3), brightness=0.0, contrast=0.0, saturation=0.0,
                       hue=0.0, key=4, counter=2))
