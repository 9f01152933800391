"""The rest of MXNet 1.9's transforms: composition and random application, the random flips,
the colour ones (brightness, contrast, saturation, hue, colour jitter, lighting, gray) and
rotations (re-exported by ``transforms``; see its docstring for the host and graph paths)."""

from __future__ import annotations

import numpy as np

from ....base import MXNetTypeError, MXNetValueError
from ...block import Block, HybridBlock
from ...nn import HybridSequential, Sequential
from ..sampler import host_rng
from ._image import (
    HybridTransform,
    Transform,
    _back,
    _coin,
    _graph_colour,
    _graph_image,
    _host,
    _HostCall,
    _image_ndim,
    _known,
    _rgb,
    _truncate,
    _with_extra,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_lighting,
    adjust_saturation,
    imrotate,
)

__all__ = ["Compose", "HybridCompose", "RandomApply", "HybridRandomApply", "RandomFlipLeftRight",
           "RandomFlipTopBottom", "RandomBrightness", "RandomContrast", "RandomSaturation",
           "RandomHue", "RandomColorJitter", "RandomLighting", "RandomGray", "Rotate",
           "RandomRotation", "imrotate"]


# -- composition --------------------------------------------------------------------------------

class Compose(Sequential):
    """Sequentially composes multiple transforms.

    A ``Sequential`` as in MXNet 1.9, but it does not hybridize runs of HybridBlocks by itself:
    each transform takes its host path on samples (call ``hybridize()`` to run them as graphs).

    Parameters
    ----------
    transforms : list of transform Blocks or callables
        The list of transforms to be composed.
    """

    def __init__(self, transforms):
        super().__init__()
        self._transforms = list(transforms)
        for i, t in enumerate(self._transforms):
            if isinstance(t, Block):
                self.register_child(t, str(i))

    def forward(self, x, *args):
        for t in self._transforms:
            x = t(x)
        return _with_extra(x, args)

    def __len__(self):
        return len(self._transforms)

    def __getitem__(self, i):
        return self._transforms[i]

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {t!r}" for i, t in enumerate(self._transforms))
        return f"{type(self).__name__}(\n{inner}\n)"


class HybridCompose(_HostCall, HybridSequential):
    """Sequentially composes multiple transforms. This is the Hybrid version of Compose.

    Parameters
    ----------
    transforms : list of transform Blocks.
        The list of transforms to be composed; each must be a HybridBlock (not Compose,
        RandomApply, CenterCrop, RandomResizedCrop, Rotate or RandomRotation).
    """

    def __init__(self, transforms):
        super().__init__()
        for t in transforms:
            if not isinstance(t, HybridBlock):
                raise MXNetValueError(f"{t!r} is not a HybridBlock, try use `Compose` instead")
            self.add(t)

    def _host_forward(self, x):
        for t in self._children.values():
            x = t(x)
        return x


class RandomApply(Sequential):
    """Apply a list of transformations randomly given probability

    Parameters
    ----------
    transforms
        The transformation (a transform, a ``Compose``, or a list, composed in order).
    p : float
        Probability of applying the transformations.
    """

    def __init__(self, transforms, p=0.5):
        super().__init__()
        if isinstance(transforms, (list, tuple)):
            transforms = Compose(transforms)
        if not callable(transforms):
            raise MXNetTypeError(f"{type(self).__name__}: Expect: a transform / Actual: "
                                 f"{type(transforms).__name__}")
        self.transforms = transforms
        self.p = p

    def forward(self, x, *args):
        if host_rng().random() <= self.p:
            x = self.transforms(x)
        return _with_extra(x, args)


class HybridRandomApply(_HostCall, HybridSequential):
    """Apply a list of transformations randomly given probability

    In a graph both branches are computed and one is picked per call with ``F.where``, so the
    transforms must keep the input's shape and dtype there.

    Parameters
    ----------
    transforms
        List of transformations which must be HybridBlocks.
    p : float
        Probability of applying the transformations.
    """

    def __init__(self, transforms, p=0.5):
        super().__init__()
        if isinstance(transforms, (list, tuple)):
            transforms = HybridCompose(transforms)
        if not isinstance(transforms, HybridBlock):
            raise MXNetValueError(f"HybridRandomApply: {transforms!r} is not a HybridBlock, "
                                  f"try use `RandomApply` instead")
        self.transforms = transforms
        self.p = p

    def _host_forward(self, x):
        if host_rng().random() <= self.p:
            x = self.transforms(x)
        return x

    def hybrid_forward(self, F, x, *args):
        y = self.transforms(x)
        if _known(x) and (y.shape != x.shape or y.dtype != x.dtype):
            raise MXNetValueError(
                f"HybridRandomApply: Expect: in a graph, transforms that keep the shape and dtype "
                f"(both branches are computed) / Actual: {x.shape} {np.dtype(x.dtype).name} -> "
                f"{y.shape} {np.dtype(y.dtype).name}")
        return _with_extra(F.where(_coin(F, x, self.p), y, x), args)

    def __repr__(self):
        return f"HybridRandomApply(p={self.p}, transforms={self.transforms!r})"


# -- flips --------------------------------------------------------------------------------------

class _RandomFlip(HybridTransform):
    _axis = 1
    _op = ""

    def __init__(self, p=0.5):
        super().__init__(p=p)
        self._p = p

    def _host_forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, type(self).__name__)
        rng = host_rng()
        if a.ndim == 4:
            flip = rng.random(a.shape[0]) < self._p
            out = a.copy()
            out[flip] = np.flip(a[flip], axis=self._axis + 1)
        else:
            out = np.flip(a, axis=self._axis).copy() if rng.random() < self._p else a.copy()
        return _back(out, ctx)

    def _graph_forward(self, F, x):
        known = _known(x)
        if self._p == 0.5 and (not known or (x.ndim == 3 and x.shape[-1] in (1, 3))):
            return getattr(F.image, self._op)(x)  # MXNet's op: an (H, W, C) image, p = 0.5
        if known:  # other p, batches (a coin per image), 2-D images: composed from F ops
            _graph_image(type(self).__name__, x, (2, 3, 4), rgb=False)
            axis = self._axis + (x.ndim == 4)
        else:
            axis = self._axis - 3  # a Symbol taken as (..., H, W, C)
        return F.where(_coin(F, x, self._p, per_image=True), F.flip(x, axis=axis), x)


class RandomFlipLeftRight(_RandomFlip):
    """Randomly flip the input image left to right with a probability of `p` (default 0.5; a
    batch draws per image). In a graph, an (H, W, C) image with ``p=0.5`` is MXNet's
    ``F.image.random_flip_left_right``; other cases are the same draw written with F ops.

    Parameters
    ----------
    p : float
        The probability of a flip (an mxplug extension: MXNet 1.9 always flips with 0.5).
    """

    _axis = 1
    _op = "random_flip_left_right"


class RandomFlipTopBottom(_RandomFlip):
    """Randomly flip the input image top to bottom with a probability of `p` (default 0.5; a
    batch draws per image). In a graph, an (H, W, C) image with ``p=0.5`` is MXNet's
    ``F.image.random_flip_top_bottom``; other cases are the same draw written with F ops.

    Parameters
    ----------
    p : float
        The probability of a flip (an mxplug extension: MXNet 1.9 always flips with 0.5).
    """

    _axis = 0
    _op = "random_flip_top_bottom"


# -- colour -------------------------------------------------------------------------------------

class _RandomAdjust(HybridTransform):
    """A colour jitter: one factor alpha uniform in ``[max(0, 1 - amount), 1 + amount]`` per
    call (MXNet's range), applied by ``_adjust`` in float32 and truncated back to an integer
    dtype as MXNet does; in a graph, MXNet's op ``F.image.<_op>``."""

    _adjust = None
    _op = ""
    _arg = ""
    _check = staticmethod(_image_ndim)

    def __init__(self, amount):
        super().__init__(**{self._arg: amount})
        if amount < 0:
            raise MXNetValueError(f"{type(self).__name__}: Expect: a non-negative {self._arg} / "
                                  f"Actual: {amount}")
        self._amount = amount

    def _host_forward(self, x):
        a, ctx = _host(x)
        self._check(a, type(self).__name__)
        alpha = host_rng().uniform(max(0.0, 1.0 - self._amount), 1.0 + self._amount)
        return _back(_truncate(self._adjust(a.astype(np.float32), alpha), a.dtype), ctx)

    def _graph_forward(self, F, x):
        lo, hi = max(0.0, 1.0 - self._amount), 1.0 + self._amount
        return _graph_colour(type(self).__name__, F, x, lambda F, y: getattr(F.image, self._op)(
            y, min_factor=lo, max_factor=hi))


class RandomBrightness(_RandomAdjust):
    """Randomly jitters image brightness with a factor chosen from
    ``[max(0, 1 - brightness), 1 + brightness]``: ``out = x * alpha``.

    Parameters
    ----------
    brightness : float
        How much to jitter brightness (non-negative).
    """

    _adjust = staticmethod(adjust_brightness)
    _op, _arg = "random_brightness", "brightness"


class RandomContrast(_RandomAdjust):
    """Randomly jitters image contrast with a factor chosen from
    ``[max(0, 1 - contrast), 1 + contrast]``: ``out = x * alpha + mean_gray * (1 - alpha)``.

    Parameters
    ----------
    contrast : float
        How much to jitter contrast (non-negative).
    """

    _adjust = staticmethod(adjust_contrast)
    _op, _arg = "random_contrast", "contrast"


class RandomSaturation(_RandomAdjust):
    """Randomly jitters image saturation with a factor chosen from
    ``[max(0, 1 - saturation), 1 + saturation]``: ``out = x * alpha + gray * (1 - alpha)``
    with the per-pixel gray value (ITU-R 601 luma).

    Parameters
    ----------
    saturation : float
        How much to jitter saturation (non-negative).
    """

    _adjust = staticmethod(adjust_saturation)
    _op, _arg = "random_saturation", "saturation"


class RandomHue(_RandomAdjust):
    """Randomly jitters image hue with a factor chosen from ``[max(0, 1 - hue), 1 + hue]``.

    As in MXNet's ``image.random_hue``, each pixel's hue (HLS) turns by ``factor * 360``
    degrees, i.e. by ``(factor - 1) * 360`` degrees: up to ``hue * 360`` either way.

    Parameters
    ----------
    hue : float
        How much to jitter hue.
    """

    _adjust = staticmethod(adjust_hue)
    _op, _arg = "random_hue", "hue"
    _check = staticmethod(_rgb)


class RandomColorJitter(HybridTransform):
    """Randomly jitters the brightness, contrast, saturation, and hue of an image.

    The four adjustments run in a random order; each one whose amount is 0 is skipped. On the
    host integer images are truncated after each step, as MXNet 1.9 does; in a graph
    (``F.image.random_color_jitter``) they are composed in float and truncated once.

    Parameters
    ----------
    brightness : float
        How much to jitter brightness: factor ``1 + uniform(-brightness, brightness)``.
    contrast : float
        How much to jitter contrast: factor ``1 + uniform(-contrast, contrast)``.
    saturation : float
        How much to jitter saturation: factor ``1 + uniform(-saturation, saturation)``.
    hue : float
        How much to jitter hue: a turn of ``uniform(-hue, hue) * 360`` degrees.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__(brightness=brightness, contrast=contrast, saturation=saturation,
                         hue=hue)
        self._args = (brightness, contrast, saturation, hue)
        for name, v in zip(("brightness", "contrast", "saturation", "hue"), self._args):
            if v < 0:
                raise MXNetValueError(f"RandomColorJitter: Expect: {name} >= 0 / Actual: {v}")

    def _host_forward(self, x):
        a, ctx = _host(x)
        _rgb(a, "RandomColorJitter")
        rng = host_rng()
        steps = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
        out = a
        for k in rng.permutation(4):
            amount = self._args[k]
            if amount > 0:
                alpha = rng.uniform(-amount, amount) + (0.0 if k == 3 else 1.0)
                out = _truncate(steps[k](out.astype(np.float32), alpha), a.dtype)
        return _back(a.copy() if out is a else out, ctx)

    def _graph_forward(self, F, x):
        b, c, s, h = (float(v) for v in self._args)
        return _graph_colour("RandomColorJitter", F, x, lambda F, y: F.image.random_color_jitter(
            y, brightness=b, contrast=c, saturation=s, hue=h))


class RandomLighting(HybridTransform):
    """Add AlexNet-style PCA-based noise to an image.

    Draws ``alpha_r, alpha_g, alpha_b ~ N(0, alpha)`` and adds ``eig @ alpha_rgb`` to every
    pixel, with ``eig`` the ImageNet RGB eigenvectors scaled by their eigenvalues (MXNet's
    ``image.random_lighting``); a 1-channel image is returned unchanged.

    Parameters
    ----------
    alpha : float
        Intensity of the image (the standard deviation of the noise).
    """

    def __init__(self, alpha):
        super().__init__(alpha=alpha)
        if alpha < 0:
            raise MXNetValueError(f"RandomLighting: Expect: alpha >= 0 / Actual: {alpha}")
        self._alpha = alpha

    def _host_forward(self, x):
        a, ctx = _host(x)
        _rgb(a, "RandomLighting")
        alpha_rgb = host_rng().normal(0.0, self._alpha, size=3) if self._alpha else np.zeros(3)
        return _back(_truncate(adjust_lighting(a.astype(np.float32), alpha_rgb), a.dtype), ctx)

    def _graph_forward(self, F, x):
        alpha = float(self._alpha)
        return _graph_colour("RandomLighting", F, x,
                             lambda F, y: F.image.random_lighting(y, alpha_std=alpha))


_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


class RandomGray(HybridTransform):
    """Randomly convert to gray image.

    With probability ``p`` each of the three channels becomes the luma
    ``0.2989 R + 0.587 G + 0.114 B``; the output is float32 either way, as in MXNet 2 (the
    transform is not in MXNet 1.9; a HybridBlock as there).

    Parameters
    ----------
    p : float
        Probability to convert to grayscale
    """

    def __init__(self, p=0.5):
        super().__init__(p=p)
        self.p = p

    def _host_forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "RandomGray")
        if a.ndim == 2 or a.shape[-1] != 3:
            raise MXNetValueError(f"RandomGray: Expect: RGB images (..., 3) / Actual: shape "
                                  f"{a.shape}")
        f = a.astype(np.float32)
        if not host_rng().random() < self.p:
            return _back(f, ctx)
        gray = f @ np.array(_GRAY_WEIGHTS, dtype=np.float32)
        return _back(np.repeat(gray[..., None], 3, axis=-1), ctx)

    def _graph_forward(self, F, x):
        if _known(x) and (x.ndim not in (3, 4) or x.shape[-1] != 3):
            raise MXNetValueError(f"RandomGray: Expect: RGB images (..., 3) / Actual: shape "
                                  f"{x.shape}")
        f = F.cast(x, dtype="float32")
        r, g, b = F.split(f, num_outputs=3, axis=-1)
        gray = r * _GRAY_WEIGHTS[0] + g * _GRAY_WEIGHTS[1] + b * _GRAY_WEIGHTS[2]
        return F.where(_coin(F, f, self.p), F.concat(gray, gray, gray, dim=-1), f)


# -- rotations ----------------------------------------------------------------------------------

class Rotate(Transform):
    """Rotate the input image by a given angle. Keeps the original image shape.

    Parameters
    ----------
    rotation_degrees : float32
        Desired rotation angle in degrees.
    zoom_in : bool
        Zoom in image so that no padding is present in final output.
    zoom_out : bool
        Zoom out image so that the entire original image is present in final output.

    Inputs are float32 ``(C, H, W)`` or ``(N, C, H, W)`` tensors (after ``ToTensor``).
    """

    def __init__(self, rotation_degrees, zoom_in=False, zoom_out=False):
        super().__init__(rotation_degrees=rotation_degrees, zoom_in=zoom_in, zoom_out=zoom_out)
        if zoom_in and zoom_out:
            raise MXNetValueError("Rotate: `zoom_in` and `zoom_out` cannot be both True")
        self._args = (rotation_degrees, zoom_in, zoom_out)

    def _host_forward(self, x):
        a, ctx = _host(x)
        return _back(imrotate(a, *self._args), ctx)


class RandomRotation(Transform):
    """Random rotate the input image by a random angle. Keeps the original image shape and
    aspect ratio.

    Parameters
    ----------
    angle_limits: tuple
        Tuple of 2 elements containing the upper and lower limit for rotation angles in degree
        (each image of a batch gets its own angle).
    zoom_in : bool
        Zoom in image so that no padding is present in final output.
    zoom_out : bool
        Zoom out image so that the entire original image is present in final output.
    rotate_with_proba : float32
        Probability of rotating the input at all.
    """

    def __init__(self, angle_limits, zoom_in=False, zoom_out=False, rotate_with_proba=1.0):
        super().__init__(angle_limits=angle_limits, zoom_in=zoom_in, zoom_out=zoom_out,
                         rotate_with_proba=rotate_with_proba)
        lower, upper = angle_limits
        if lower >= upper:
            raise MXNetValueError("RandomRotation: `angle_limits` must be an ordered tuple")
        if not 0 <= rotate_with_proba <= 1:
            raise MXNetValueError("RandomRotation: Probability of rotating the image should be "
                                  "between 0 and 1")
        if zoom_in and zoom_out:
            raise MXNetValueError("RandomRotation: `zoom_in` and `zoom_out` cannot be both True")
        self._args = (tuple(angle_limits), zoom_in, zoom_out)
        self._rotate_with_proba = rotate_with_proba

    def _host_forward(self, x):
        rng = host_rng()
        if rng.random() > self._rotate_with_proba:
            return x
        a, ctx = _host(x)
        limits, zoom_in, zoom_out = self._args
        angles = rng.uniform(*limits) if a.ndim == 3 else rng.uniform(*limits, size=len(a))
        return _back(imrotate(a, angles, zoom_in, zoom_out), ctx)

