"""mx.image: decoding, resizing, cropping, normalising and padding images, the augmenters and
CreateAugmenter, checked against independent NumPy / Pillow / colorsys computations (the
iterators: ``test_image_iter.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mxplug as mx
from mxplug import image as mximg
from mxplug.base import MXNetFileError, MXNetTypeError, MXNetValueError
from mxplug.gluon.data.sampler import host_rng

from .image_helpers import Image, chw, img, png, write_rec  # noqa: F401


# -- decoding -------------------------------------------------------------------------------------
def test_imdecode_orders_and_flags():
    rgb = img(5, 7)
    buf = png(rgb)
    out = mximg.imdecode(buf)
    assert isinstance(out, mx.nd.NDArray) and out.dtype == np.uint8 and out.context == mx.cpu()
    np.testing.assert_array_equal(out.asnumpy(), rgb)
    np.testing.assert_array_equal(mximg.imdecode(buf, to_rgb=0).asnumpy(), rgb[:, :, ::-1])
    np.testing.assert_array_equal(mximg.imdecode(np.frombuffer(buf, np.uint8)).asnumpy(), rgb)
    np.testing.assert_array_equal(
        mximg.imdecode(mx.nd.array(np.frombuffer(buf, np.uint8), dtype="uint8")).asnumpy(), rgb)
    gray = mximg.imdecode(buf, flag=0).asnumpy()
    assert gray.shape == (5, 7, 1)
    np.testing.assert_allclose(gray[..., 0], rgb @ [0.299, 0.587, 0.114], atol=1)
    rgba = np.concatenate([rgb, img(5, 7, 1, seed=3)], axis=2)
    np.testing.assert_array_equal(mximg.imdecode(png(rgba), flag=-1).asnumpy(), rgba)
    np.testing.assert_array_equal(mximg.imdecode(png(rgba)).asnumpy(), rgb)
    buffer = mx.nd.zeros((5, 7, 3), dtype="uint8")
    assert mximg.imdecode(buf, out=buffer) is buffer
    np.testing.assert_array_equal(buffer.asnumpy(), rgb)


def test_imdecode_errors():
    with pytest.raises(MXNetTypeError, match="str"):
        mximg.imdecode("not bytes")
    with pytest.raises(MXNetTypeError, match="uint8"):
        mximg.imdecode(np.zeros(10, dtype=np.float32))
    with pytest.raises(mximg.ImageError, match="imdecode"):
        mximg.imdecode(b"\x00garbage" * 4)
    with pytest.raises(RuntimeError):  # MXNet's ImageIter raises RuntimeError for broken images
        mximg.imdecode(b"nope")
    with pytest.raises(MXNetValueError, match="flag"):
        mximg.imdecode(png(img()), flag=2)
    with pytest.raises(MXNetValueError, match="out must be"):
        mximg.imdecode(png(img()), out=mx.nd.zeros((2, 2, 3), dtype="uint8"))


def test_imread(tmp_path):
    rgb = img(4, 9)
    path = tmp_path / "a.png"
    path.write_bytes(png(rgb))
    np.testing.assert_array_equal(mximg.imread(str(path)).asnumpy(), rgb)
    np.testing.assert_array_equal(mximg.imread(path, to_rgb=0).asnumpy(), rgb[:, :, ::-1])
    with pytest.raises(MXNetFileError, match="missing.png"):
        mximg.imread(str(tmp_path / "missing.png"))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(mximg.ImageError, match="bad.jpg"):
        mximg.imread(str(tmp_path / "bad.jpg"))


# -- resizing -------------------------------------------------------------------------------------
def test_imresize_nearest_and_bilinear_follow_opencv():
    a = img(4, 6)
    near = mximg.imresize(mx.nd.array(a, dtype="uint8"), 3, 8, interp=0).asnumpy()
    ys = np.floor(np.arange(8) * 4 / 8).astype(int)  # OpenCV: floor(dst * scale)
    xs = np.floor(np.arange(3) * 6 / 3).astype(int)
    np.testing.assert_array_equal(near, a[ys][:, xs])
    ramp = np.tile(np.arange(0, 40, 10, dtype=np.float32), (3, 1))[:, :, None]  # 3 x 4 x 1
    up = mximg.imresize(mx.nd.array(ramp), 8, 3, interp=1).asnumpy()[0, :, 0]
    src_x = np.clip((np.arange(8) + 0.5) * 0.5 - 0.5, 0, 3)  # half-pixel centres, clamped
    np.testing.assert_allclose(up, src_x * 10, rtol=1e-6)


# MXNet 1.9.1 (OpenCV) on RandomState(0).randint(0, 256, (6, 9, 1)): shrunk to 3x2, and the sum of
# the image enlarged to 13x8
_OPENCV = {2: ([[21, 87, 88], [79, 82, 177]], 13557),
           3: ([[143, 111, 121], [112, 110, 186]], 13553),
           4: ([[21, 87, 88], [79, 82, 177]], 13535)}


@pytest.mark.parametrize("interp", [2, 3, 4])
def test_imresize_bicubic_area_lanczos_are_opencvs(interp):
    a = mx.nd.array(np.random.RandomState(0).randint(0, 256, (6, 9, 1)), dtype="uint8")
    small, big_sum = _OPENCV[interp]
    out = mximg.imresize(a, 3, 2, interp=interp)
    assert out.shape == (2, 3, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out.asnumpy()[..., 0], small)
    assert int(mximg.imresize(a, 13, 8, interp=interp).asnumpy().astype(np.int64).sum()) == big_sum
    f = img(9, 11, seed=5).astype(np.float32)  # float images keep float32, the same op's values
    outf = mximg.imresize(mx.nd.array(f), 5, 4, interp=interp)
    assert outf.dtype == np.float32
    np.testing.assert_allclose(outf.asnumpy(), mx.nd.image.resize(
        mx.nd.array(f), size=(5, 4), interp=interp).asnumpy(), rtol=1e-6)


def test_imresize_auto_random_and_errors():
    a = mx.nd.array(img(6, 6), dtype="uint8")
    same = lambda x, y: np.array_equal(x.asnumpy(), y.asnumpy())  # noqa: E731
    assert same(mximg.imresize(a, 9, 9, interp=9), mximg.imresize(a, 9, 9, interp=2))
    assert same(mximg.imresize(a, 4, 4, interp=9), mximg.imresize(a, 4, 4, interp=3))
    assert same(mximg.imresize(a, 9, 4, interp=9), mximg.imresize(a, 9, 4, interp=1))
    mx.random.seed(11)
    r1 = [mximg.imresize(a, 5, 3, interp=10).asnumpy() for _ in range(4)]
    mx.random.seed(11)
    r2 = [mximg.imresize(a, 5, 3, interp=10).asnumpy() for _ in range(4)]
    assert all(np.array_equal(x, y) for x, y in zip(r1, r2))
    with pytest.raises(MXNetValueError, match="Unknown interp method 7"):
        mximg.imresize(a, 3, 3, interp=7)
    with pytest.raises(MXNetValueError, match="w must be a positive int"):
        mximg.imresize(a, 0, 3)
    with pytest.raises(MXNetValueError, match=r"imresize.*\(H, W, C\).*\(6, 6\)"):
        mximg.imresize(mx.nd.zeros((6, 6)), 3, 3)
    with pytest.raises(MXNetTypeError, match="imresize"):
        mximg.imresize([[1, 2]], 3, 3)


def test_scale_down_and_resize_short():
    assert mximg.scale_down((640, 480), (720, 120)) == (640, 106)
    assert mximg.scale_down((640, 480), (320, 960)) == (160, 480)
    assert mximg.scale_down((100, 100), (50, 60)) == (50, 60)
    a = mx.nd.array(img(10, 25), dtype="uint8")
    out = mximg.resize_short(a, 4)
    assert out.shape == (4, 10, 3)  # 4 * 25 // 10 = 10
    np.testing.assert_array_equal(out.asnumpy(), mximg.imresize(a, 10, 4, 2).asnumpy())
    tall = mximg.resize_short(mx.nd.array(img(25, 10), dtype="uint8"), 7, interp=1)
    assert tall.shape == (17, 7, 3)  # 7 * 25 // 10 = 17


# -- cropping -------------------------------------------------------------------------------------
def test_fixed_and_center_crop():
    a = img(10, 12)
    src = mx.nd.array(a, dtype="uint8")
    np.testing.assert_array_equal(mximg.fixed_crop(src, 2, 3, 5, 4).asnumpy(), a[3:7, 2:7])
    resized = mximg.fixed_crop(src, 2, 3, 5, 4, size=(8, 6), interp=1)
    expect = mximg.imresize(mx.nd.array(a[3:7, 2:7], dtype="uint8"), 8, 6, 1)
    np.testing.assert_array_equal(resized.asnumpy(), expect.asnumpy())
    with pytest.raises(MXNetValueError, match="does not fit"):
        mximg.fixed_crop(src, 10, 0, 5, 4)
    with pytest.raises(MXNetValueError, match="x0"):
        mximg.fixed_crop(src, -1, 0, 5, 4)
    out, rect = mximg.center_crop(src, (5, 3))
    assert rect == ((12 - 5) // 2, (10 - 3) // 2, 5, 3)
    np.testing.assert_array_equal(out.asnumpy(), a[3:6, 3:8])
    # MXNet's docstring example: a 2321 x 3482 image, a 1000 x 500 crop
    _, rect = mximg.center_crop(np.zeros((2321, 3482, 3), np.uint8), (1000, 500))
    assert rect == (1241, 910, 1000, 500)
    # smaller than the crop: the largest centred region of the same aspect ratio, upsampled
    big, rect = mximg.center_crop(src, (24, 24), interp=0)
    assert rect == (1, 0, 10, 10) and big.shape == (24, 24, 3)
    np.testing.assert_array_equal(big.asnumpy(), np.repeat(np.repeat(a[:, 1:11], 3, 0), 3, 1)
                                  [np.floor(np.arange(24) * 30 / 24).astype(int)]
                                  [:, np.floor(np.arange(24) * 30 / 24).astype(int)])


def test_random_crop_offsets_and_seed():
    a = img(10, 12, seed=2)
    src = mx.nd.array(a, dtype="uint8")
    mx.random.seed(5)
    got = [mximg.random_crop(src, (4, 3)) for _ in range(20)]
    rects = set()
    for out, (x0, y0, w, h) in got:
        assert (w, h) == (4, 3) and 0 <= x0 <= 8 and 0 <= y0 <= 7
        np.testing.assert_array_equal(out.asnumpy(), a[y0:y0 + 3, x0:x0 + 4])
        rects.add((x0, y0))
    assert len(rects) > 5  # the offsets do vary
    mx.random.seed(5)
    assert [mximg.random_crop(src, (4, 3))[1] for _ in range(20)] == [g[1] for g in got]
    out, rect = mximg.random_crop(src, (24, 20))  # larger: scaled down, then upsampled
    assert rect[2:] == (12, 10) and out.shape == (20, 24, 3)


def test_random_size_crop():
    a = img(40, 50, seed=4)
    src = mx.nd.array(a, dtype="uint8")
    mx.random.seed(2)
    for _ in range(10):
        out, (x0, y0, w, h) = mximg.random_size_crop(src, (8, 8), (0.2, 0.6), (0.5, 2.0),
                                                        interp=1)
        assert out.shape == (8, 8, 3)
        area = w * h / (40 * 50)
        assert 0.2 - 0.02 <= area <= 0.6 + 0.02 and 0.5 - 0.1 <= w / h <= 2.0 + 0.1
        expect = mximg.imresize(mx.nd.array(a[y0:y0 + h, x0:x0 + w], dtype="uint8"), 8, 8, 1)
        np.testing.assert_array_equal(out.asnumpy(), expect.asnumpy())
    # no crop of that area fits (every try needs more than the image): centre crop fallback
    _, rect = mximg.random_size_crop(src, (8, 8), (5.0, 6.0), (1.0, 1.0))
    assert rect == mximg.center_crop(src, (8, 8))[1]
    with pytest.warns(DeprecationWarning, match="min_area"):
        mximg.random_size_crop(src, (8, 8), None, (0.75, 1.33), min_area=0.5)
    with pytest.raises(MXNetTypeError, match="unexpected"):
        mximg.random_size_crop(src, (8, 8), 0.5, (0.75, 1.33), bogus=1)


# -- normalise, pad, rotate -----------------------------------------------------------------------
def test_color_normalize():
    a = img(3, 4, seed=8)
    mean, std = np.array([10.0, 20.0, 30.0]), np.array([2.0, 4.0, 5.0])
    src = mx.nd.array(a.astype(np.float32))
    out = mximg.color_normalize(src, mx.nd.array(mean), mx.nd.array(std)).asnumpy()
    np.testing.assert_allclose(out, (a - mean) / std, rtol=1e-6)
    np.testing.assert_array_equal(src.asnumpy(), a)  # the input is left alone
    only_mean = mximg.color_normalize(mx.nd.array(a, dtype="uint8"), mean)
    assert only_mean.dtype == np.float32  # no uint8 wrap-around
    np.testing.assert_allclose(only_mean.asnumpy(), a - mean, rtol=1e-6)
    with pytest.raises(MXNetValueError, match="broadcast"):
        mximg.color_normalize(src, np.ones(4))


def test_copy_make_border_types():
    row = np.array([1, 2, 3, 4], dtype=np.uint8).reshape(1, 4, 1)  # "abcd"
    src = mx.nd.array(row, dtype="uint8")

    def border(t, **kw):
        return mximg.copyMakeBorder(src, 0, 0, 3, 3, type=t, **kw).asnumpy()[0, :, 0].tolist()

    assert border(0, value=9) == [9, 9, 9, 1, 2, 3, 4, 9, 9, 9]
    assert border(1) == [1, 1, 1, 1, 2, 3, 4, 4, 4, 4]      # replicate: aaa|abcd|ddd
    assert border(2) == [3, 2, 1, 1, 2, 3, 4, 4, 3, 2]      # reflect:   cba|abcd|dcb
    assert border(3) == [2, 3, 4, 1, 2, 3, 4, 1, 2, 3]      # wrap:      bcd|abcd|abc
    assert border(4) == [4, 3, 2, 1, 2, 3, 4, 3, 2, 1]      # reflect_101: dcb|abcd|cba
    assert border(16 | 1) == border(1)                      # BORDER_ISOLATED changes nothing
    a = img(2, 3, seed=1)
    out = mximg.copyMakeBorder(mx.nd.array(a, dtype="uint8"), 1, 2, 3, 4,
                                  values=(5, 6, 7)).asnumpy()
    assert out.shape == (5, 10, 3)
    np.testing.assert_array_equal(out[1:3, 3:6], a)
    mask = np.ones((5, 10), bool)
    mask[1:3, 3:6] = False
    np.testing.assert_array_equal(out[mask], np.tile([5, 6, 7], (mask.sum(), 1)))
    with pytest.raises(MXNetValueError, match="border type 5"):
        mximg.copyMakeBorder(src, 1, 1, 1, 1, type=5)
    with pytest.raises(MXNetValueError, match="top"):
        mximg.copyMakeBorder(src, -1, 1, 1, 1)


def test_imrotate_quarter_turn():
    a = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)  # CHW, square
    out = mximg.imrotate(mx.nd.array(a), 90).asnumpy()  # counter-clockwise as displayed
    np.testing.assert_allclose(out, np.rot90(a, k=1, axes=(1, 2)), atol=1e-4)
    batch = mximg.imrotate(mx.nd.array(np.stack([a, a])), mx.nd.array([90, 180])).asnumpy()
    np.testing.assert_allclose(batch[1], a[:, ::-1, ::-1], atol=1e-4)
    with pytest.raises(MXNetTypeError, match="float32"):
        mximg.imrotate(mx.nd.array(a, dtype="uint8"), 90)


# -- augmenters -----------------------------------------------------------------------------------
def _draw_after_seed(seed, draw):
    """The number an augmenter draws first after mx.random.seed(seed)."""
    mx.random.seed(seed)
    return draw(host_rng())


def test_flip_cast_gray_augmenters():
    a = img(4, 5)
    src = mx.nd.array(a, dtype="uint8")
    np.testing.assert_array_equal(mximg.HorizontalFlipAug(1)(src).asnumpy(), a[:, ::-1])
    np.testing.assert_array_equal(mximg.HorizontalFlipAug(0)(src).asnumpy(), a)
    cast = mximg.CastAug()(src)
    assert cast.dtype == np.float32 and np.array_equal(cast.asnumpy(), a)
    gray = mximg.RandomGrayAug(1)(cast).asnumpy()
    g = a[..., 0] * 0.21 + a[..., 1] * 0.72 + a[..., 2] * 0.07
    np.testing.assert_allclose(gray, np.repeat(g[..., None], 3, axis=2), rtol=1e-5)
    np.testing.assert_array_equal(mximg.RandomGrayAug(0)(cast).asnumpy(), a)


def test_brightness_contrast_saturation_math():
    f = img(5, 6, seed=3, lo=20, hi=230).astype(np.float32)
    src = mx.nd.array(f)
    alpha = _draw_after_seed(7, lambda r: 1 + r.uniform(-0.4, 0.4))
    mx.random.seed(7)
    np.testing.assert_allclose(mximg.BrightnessJitterAug(0.4)(src).asnumpy(), f * alpha,
                               rtol=1e-5)
    np.testing.assert_array_equal(src.asnumpy(), f)  # not modified in place
    mx.random.seed(7)
    out = mximg.ContrastJitterAug(0.4)(src).asnumpy()
    m = (f @ np.array([0.299, 0.587, 0.114])).mean()
    np.testing.assert_allclose(out, f * alpha + m * (1 - alpha), rtol=1e-4)
    mx.random.seed(7)
    out = mximg.SaturationJitterAug(0.4)(src).asnumpy()
    g = (f @ np.array([0.299, 0.587, 0.114]))[..., None]
    np.testing.assert_allclose(out, f * alpha + g * (1 - alpha), rtol=1e-4)
    # integer images are rounded and saturated, never wrapped
    white = mx.nd.array(np.full((2, 2, 3), 250, np.uint8), dtype="uint8")
    mx.random.seed(0)
    outs = [mximg.BrightnessJitterAug(0.5)(white) for _ in range(8)]
    assert all(o.dtype == np.uint8 for o in outs)
    assert max(int(o.asnumpy().max()) for o in outs) == 255
    with pytest.raises(MXNetValueError, match="brightness must be a number >= 0"):
        mximg.BrightnessJitterAug(-1)


def test_hue_and_lighting_math():
    f = img(4, 4, seed=6).astype(np.float32)
    src = mx.nd.array(f)
    alpha = _draw_after_seed(3, lambda r: r.uniform(-0.3, 0.3))
    tyiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
    ityiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])
    u, w = np.cos(alpha * np.pi), np.sin(alpha * np.pi)
    t = (ityiq @ np.array([[1, 0, 0], [0, u, -w], [0, w, u]]) @ tyiq).T
    mx.random.seed(3)
    np.testing.assert_allclose(mximg.HueJitterAug(0.3)(src).asnumpy(), f @ t, rtol=1e-4,
                               atol=1e-3)
    eigval = np.array([55.46, 4.794, 1.148])
    eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
    noise = _draw_after_seed(4, lambda r: r.normal(0, 0.1, size=(3,)))
    mx.random.seed(4)
    out = mximg.LightingAug(0.1, eigval, eigvec)(src).asnumpy()
    np.testing.assert_allclose(out, f + (eigvec * noise) @ eigval, rtol=1e-5)
    with pytest.raises(MXNetValueError, match=r"C = 3.*\(4, 4, 1\)"):
        mximg.HueJitterAug(0.1)(mx.nd.zeros((4, 4, 1)))


def test_composition_and_dumps():
    x = mx.nd.array(np.full((1, 1, 3), 3.0, np.float32))
    add = type("AddOne", (mximg.Augmenter,), {"__call__": lambda self, s: s + 1})()
    dbl = type("Double", (mximg.Augmenter,), {"__call__": lambda self, s: s * 2})()
    assert mximg.SequentialAug([add, dbl])(x).asnumpy().item(0) == 8.0
    mx.random.seed(1)
    seen = {mximg.RandomOrderAug([add, dbl])(x).asnumpy().item(0) for _ in range(20)}
    assert seen == {8.0, 7.0}  # (3 + 1) * 2 and 3 * 2 + 1
    assert json.loads(mximg.ResizeAug(5, 1).dumps()) == ["resizeaug", {"size": 5, "interp": 1}]
    norm = mximg.ColorNormalizeAug(mx.nd.array([1, 2, 3]), np.array([4.0, 5, 6]))
    assert json.loads(norm.dumps())[1] == {"mean": [1, 2, 3], "std": [4, 5, 6]}
    jitter = mximg.ColorJitterAug(0.1, 0, 0.2)
    assert jitter.dumps()[0] == "colorjitteraug"
    assert [json.loads(d)[0] for d in jitter.dumps()[1]] == ["brightnessjitteraug",
                                                             "saturationjitteraug"]
    assert mximg.SequentialAug([add]).dumps()[0] == "sequentialaug"
    with pytest.raises(NotImplementedError):
        mximg.Augmenter()(x)
    with pytest.raises(MXNetTypeError, match="callable"):
        mximg.SequentialAug([1])


def test_create_augmenter():
    names = lambda augs: [type(a).__name__ for a in augs]  # noqa: E731
    assert names(mximg.CreateAugmenter((3, 8, 8))) == ["CenterCropAug", "CastAug"]
    augs = mximg.CreateAugmenter((3, 8, 8), resize=10, rand_crop=True, rand_resize=True,
                                    rand_mirror=True, mean=True, std=True, brightness=0.1,
                                    hue=0.1, pca_noise=0.1, rand_gray=0.2)
    assert names(augs) == ["ResizeAug", "RandomSizedCropAug", "HorizontalFlipAug", "CastAug",
                           "ColorJitterAug", "HueJitterAug", "LightingAug", "RandomGrayAug",
                           "ColorNormalizeAug"]
    np.testing.assert_allclose(augs[-1].mean, [123.68, 116.28, 103.53], rtol=1e-6)
    np.testing.assert_allclose(augs[-1].std, [58.395, 57.12, 57.375], rtol=1e-6)
    assert names(mximg.CreateAugmenter((3, 8, 8), rand_crop=True))[0] == "RandomCropAug"
    mx.random.seed(0)
    x = mx.nd.array(img(12, 14), dtype="uint8")
    for _ in range(3):
        y = x
        for aug in augs:
            y = aug(y)
        assert y.shape == (8, 8, 3) and y.dtype == np.float32
    with pytest.raises(MXNetValueError, match="rand_resize=True requires rand_crop"):
        mximg.CreateAugmenter((3, 8, 8), rand_resize=True)
    with pytest.raises(MXNetValueError, match="mean"):
        mximg.CreateAugmenter((3, 8, 8), mean=np.ones(4))
    with pytest.raises(MXNetValueError, match="data_shape"):
        mximg.CreateAugmenter((8, 8))
    with pytest.raises(MXNetValueError, match="Unknown interp"):
        mximg.CreateAugmenter((3, 8, 8), inter_method=6)
    with pytest.raises(TypeError, match="bogus"):
        mximg.CreateAugmenter((3, 8, 8), bogus=1)


def test_nearest_resize_picks_opencvs_pixels():
    # OpenCV's scale is 1 / (dst / src) in double precision: at 372 -> 848 rows, row 212 reads
    # source row 93 by n_in / n_out but 92 by OpenCV (MXNet 1.9.1: [92 92 93], row 424 -> 185)
    a = (np.arange(372) % 251).astype(np.uint8).reshape(372, 1, 1).repeat(3, 2)
    out = mx.image.imresize(mx.nd.array(a, dtype="uint8"), 1, 848, interp=0).asnumpy()
    assert out[211:214, 0, 0].tolist() == [92, 92, 93] and out[424, 0, 0] == 185
    rng = np.random.RandomState(0)
    for h, w, oh, ow in [(372, 5, 848, 7), (17, 29, 5, 61), (100, 3, 333, 2)]:
        img = rng.randint(0, 255, (h, w, 3)).astype(np.uint8)
        got = mx.image.imresize(mx.nd.array(img, dtype="uint8"), ow, oh, interp=0).asnumpy()
        want = mx.nd.image.resize(mx.nd.array(img, dtype="uint8"), size=(ow, oh),
                                  interp=0).asnumpy()
        np.testing.assert_array_equal(got, want)
