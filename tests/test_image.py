"""mx.image: decoding, resizing, cropping, normalising and padding images, the augmenters,
CreateAugmenter, ImageIter (RecordIO files, .lst lists, Python lists) and ImageRecordIter,
checked against independent NumPy / Pillow / colorsys computations."""

from __future__ import annotations

import colorsys
import io
import json
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import image as mximg
from mxplug import recordio
from mxplug.base import MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError
from mxplug.gluon.data.sampler import host_rng

Image = pytest.importorskip("PIL.Image", reason="mx.image decodes and resamples with Pillow "
                                                "(pip install mxplug[image])")


def _img(h=6, w=8, c=3, seed=0, lo=0, hi=256):
    return np.random.RandomState(seed).randint(lo, hi, size=(h, w, c)).astype(np.uint8)


def _png(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb[:, :, 0] if rgb.shape[2] == 1 else rgb).save(buf, "PNG")
    return buf.getvalue()


def _write_rec(tmp_path, images, labels, name="data", with_idx=True, ids=None):
    """A .rec (+ .idx) file of PNG records; pack_img takes OpenCV's BGR order, as in MXNet."""
    rec, idx = str(tmp_path / f"{name}.rec"), str(tmp_path / f"{name}.idx")
    w = (recordio.MXIndexedRecordIO(idx, rec, "w") if with_idx
         else recordio.MXRecordIO(rec, "w"))
    for i, (im, lab) in enumerate(zip(images, labels)):
        rid = i if ids is None else ids[i]
        s = recordio.pack_img(recordio.IRHeader(0, lab, rid, 0), im[:, :, ::-1], img_fmt=".png")
        if with_idx:
            w.write_idx(i, s)
        else:
            w.write(s)
    w.close()
    return rec, idx


def _chw(a):
    return np.transpose(a, (2, 0, 1)).astype(np.float32)


# -- decoding -------------------------------------------------------------------------------------
def test_imdecode_orders_and_flags():
    rgb = _img(5, 7)
    buf = _png(rgb)
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
    rgba = np.concatenate([rgb, _img(5, 7, 1, seed=3)], axis=2)
    np.testing.assert_array_equal(mximg.imdecode(_png(rgba), flag=-1).asnumpy(), rgba)
    np.testing.assert_array_equal(mximg.imdecode(_png(rgba)).asnumpy(), rgb)
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
        mximg.imdecode(_png(_img()), flag=2)
    with pytest.raises(MXNetValueError, match="out must be"):
        mximg.imdecode(_png(_img()), out=mx.nd.zeros((2, 2, 3), dtype="uint8"))


def test_imread(tmp_path):
    rgb = _img(4, 9)
    path = tmp_path / "a.png"
    path.write_bytes(_png(rgb))
    np.testing.assert_array_equal(mximg.imread(str(path)).asnumpy(), rgb)
    np.testing.assert_array_equal(mximg.imread(path, to_rgb=0).asnumpy(), rgb[:, :, ::-1])
    with pytest.raises(MXNetFileError, match="missing.png"):
        mximg.imread(str(tmp_path / "missing.png"))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(mximg.ImageError, match="bad.jpg"):
        mximg.imread(str(tmp_path / "bad.jpg"))


# -- resizing -------------------------------------------------------------------------------------
def test_imresize_nearest_and_bilinear_follow_opencv():
    a = _img(4, 6)
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
    f = _img(9, 11, seed=5).astype(np.float32)  # float images keep float32, the same op's values
    outf = mximg.imresize(mx.nd.array(f), 5, 4, interp=interp)
    assert outf.dtype == np.float32
    np.testing.assert_allclose(outf.asnumpy(), mx.nd.image.resize(
        mx.nd.array(f), size=(5, 4), interp=interp).asnumpy(), rtol=1e-6)


def test_imresize_auto_random_and_errors():
    a = mx.nd.array(_img(6, 6), dtype="uint8")
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
    a = mx.nd.array(_img(10, 25), dtype="uint8")
    out = mximg.resize_short(a, 4)
    assert out.shape == (4, 10, 3)  # 4 * 25 // 10 = 10
    np.testing.assert_array_equal(out.asnumpy(), mximg.imresize(a, 10, 4, 2).asnumpy())
    tall = mximg.resize_short(mx.nd.array(_img(25, 10), dtype="uint8"), 7, interp=1)
    assert tall.shape == (17, 7, 3)  # 7 * 25 // 10 = 17


# -- cropping -------------------------------------------------------------------------------------
def test_fixed_and_center_crop():
    a = _img(10, 12)
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
    a = _img(10, 12, seed=2)
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
    a = _img(40, 50, seed=4)
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
    a = _img(3, 4, seed=8)
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
    a = _img(2, 3, seed=1)
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
    a = _img(4, 5)
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
    f = _img(5, 6, seed=3, lo=20, hi=230).astype(np.float32)
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
    f = _img(4, 4, seed=6).astype(np.float32)
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
    x = mx.nd.array(_img(12, 14), dtype="uint8")
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


# -- ImageIter ------------------------------------------------------------------------------------
@pytest.fixture
def rec5(tmp_path):
    images = [_img(6, 8, seed=i) for i in range(5)]
    rec, idx = _write_rec(tmp_path, images, [float(i) for i in range(5)])
    return images, rec, idx


def _epoch(it):
    return [(b.data[0].asnumpy(), b.label[0].asnumpy(), b.pad) for b in it]


def test_image_iter_record_pad(rec5):
    images, rec, idx = rec5
    it = mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec, path_imgidx=idx)
    assert it.provide_data == [("data", (2, 3, 6, 8))]
    assert it.provide_label == [("softmax_label", (2,))]
    batches = _epoch(it)
    assert [b[2] for b in batches] == [0, 0, 1]
    order = [0, 1, 2, 3, 4, 0]  # the last batch is padded from the start
    data = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert data.dtype == np.float32 and data.shape == (6, 3, 6, 8)
    np.testing.assert_array_equal(labels, order)
    for row, i in zip(data, order):
        np.testing.assert_array_equal(row, _chw(images[i]))
    assert _epoch(it) == []  # until reset
    it.reset()
    assert len(_epoch(it)) == 3
    # the same without the index: records read in order from the file
    seq = mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _epoch(seq)]), order)


def test_image_iter_discard_and_roll_over(rec5):
    _, rec, idx = rec5
    it = mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec, path_imgidx=idx,
                            last_batch_handle="discard")
    assert [b[1].tolist() for b in _epoch(it)] == [[0, 1], [2, 3]]
    it.reset()
    assert len(_epoch(it)) == 2
    it = mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec, path_imgidx=idx,
                            last_batch_handle="roll_over")
    assert [b[1].tolist() for b in _epoch(it)] == [[0, 1], [2, 3]]
    it.reset()
    second = _epoch(it)
    assert [b[1].tolist() for b in second] == [[4, 0], [1, 2], [3, 4]]  # image 4 rolled over
    assert second[0][2] == 1


def test_image_iter_shuffle_partition_and_labels(tmp_path):
    images = [_img(4, 4, seed=i) for i in range(7)]
    labels = [[i, 10.0 * i] for i in range(7)]
    rec, idx = _write_rec(tmp_path, images, labels)
    mx.random.seed(9)
    it = mximg.ImageIter(7, (3, 4, 4), label_width=2, path_imgrec=rec, path_imgidx=idx,
                            shuffle=True)
    assert it.provide_label[0].shape == (7, 2)
    batch = it.next()
    lab = batch.label[0].asnumpy()
    order = lab[:, 0].astype(int)
    assert sorted(order) == list(range(7)) and order.tolist() != list(range(7))
    np.testing.assert_array_equal(lab[:, 1], 10.0 * order)
    for row, i in zip(batch.data[0].asnumpy(), order):
        np.testing.assert_array_equal(row, _chw(images[i]))
    mx.random.seed(9)
    again = mximg.ImageIter(7, (3, 4, 4), label_width=2, path_imgrec=rec, path_imgidx=idx,
                               shuffle=True)
    np.testing.assert_array_equal(again.next().label[0].asnumpy(), lab)
    parts = [mximg.ImageIter(1, (3, 4, 4), label_width=2, path_imgrec=rec, path_imgidx=idx,
                                part_index=p, num_parts=3) for p in range(3)]
    got = [[int(b[1][0, 0]) for b in _epoch(p)] for p in parts]
    assert got == [[0, 1], [2, 3], [4, 5]]  # N // num_parts each, as MXNet
    with pytest.raises(MXNetValueError, match="path_imgidx"):
        mximg.ImageIter(2, (3, 4, 4), path_imgrec=rec, shuffle=True)
    with pytest.raises(MXNetValueError, match="label_width is 1"):
        mximg.ImageIter(2, (3, 4, 4), path_imgrec=rec, path_imgidx=idx).next()


def test_image_iter_list_file_and_python_list(tmp_path):
    images = [_img(5, 5, seed=i) for i in range(3)]
    os.makedirs(tmp_path / "imgs")
    for i, im in enumerate(images):
        (tmp_path / "imgs" / f"{i}.png").write_bytes(_png(im))
    lst = tmp_path / "data.lst"
    lst.write_text("".join(f"{i}\t{i + 0.5}\t{2 * i}\timgs/{i}.png\n" for i in range(3)))
    it = mximg.ImageIter(2, (3, 5, 5), label_width=2, path_imglist=str(lst),
                            path_root=str(tmp_path))
    batches = _epoch(it)
    assert [b[2] for b in batches] == [0, 1]
    labels = np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(labels, [[0.5, 0], [1.5, 2], [2.5, 4], [0.5, 0]])
    data = np.concatenate([b[0] for b in batches])
    for row, i in zip(data, [0, 1, 2, 0]):
        np.testing.assert_array_equal(row, _chw(images[i]))
    pylist = [[float(i), f"imgs/{i}.png"] for i in range(3)]
    it = mximg.ImageIter(3, (1, 5, 5), imglist=pylist, path_root=str(tmp_path),
                            dtype="int32")
    b = it.next()
    assert b.label[0].dtype == np.int32 and b.label[0].asnumpy().tolist() == [0, 1, 2]
    gray = b.data[0].asnumpy()[:, 0]
    assert b.data[0].shape == (3, 1, 5, 5)
    np.testing.assert_allclose(gray[1], images[1] @ [0.299, 0.587, 0.114], atol=1)
    bad = tmp_path / "bad.lst"
    bad.write_text("0\tx\timgs/0.png\n")
    with pytest.raises(MXNetValueError, match=r"bad.lst.*line 1"):
        mximg.ImageIter(1, (3, 5, 5), path_imglist=str(bad))
    missing = tmp_path / "missing.lst"
    missing.write_text("0\t1\timgs/none.png\n")
    with pytest.raises(MXNetFileError, match="none.png"):
        mximg.ImageIter(1, (3, 5, 5), path_imglist=str(missing), path_root=str(tmp_path)).next()


def test_image_iter_augments_with_seed(rec5):
    _, rec, idx = rec5

    def run():
        mx.random.seed(21)
        it = mximg.ImageIter(5, (3, 4, 4), path_imgrec=rec, path_imgidx=idx, rand_crop=True,
                                rand_mirror=True, brightness=0.3, mean=True, std=True)
        return it.next().data[0].asnumpy()

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)
    assert first.shape == (5, 3, 4, 4) and abs(first.mean()) < 3  # normalised


def test_image_iter_errors(tmp_path, rec5):
    _, rec, idx = rec5
    with pytest.raises(MXNetValueError, match="path_imgrec, path_imglist or imglist"):
        mximg.ImageIter(2, (3, 4, 4))
    with pytest.raises(MXNetValueError, match="4 channels"):
        mximg.ImageIter(2, (4, 6, 8), path_imgrec=rec)
    with pytest.raises(MXNetValueError, match="last_batch_handle"):
        mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec, last_batch_handle="keep")
    with pytest.raises(MXNetValueError, match="part_index"):
        mximg.ImageIter(2, (3, 6, 8), path_imgrec=rec, path_imgidx=idx, num_parts=2,
                           part_index=2)
    with pytest.raises(MXNetValueError, match=r"shape \(3, 6, 8\).*data_shape is \(3, 4, 4\)"):
        mximg.ImageIter(2, (3, 4, 4), path_imgrec=rec, aug_list=[]).next()
    broken = str(tmp_path / "broken.rec")
    with recordio.MXIndexedRecordIO(str(tmp_path / "broken.idx"), broken, "w") as w:
        w.write_idx(7, recordio.pack(recordio.IRHeader(0, 1.0, 7, 0), b"junk"))
    it = mximg.ImageIter(1, (3, 4, 4), path_imgrec=broken,
                            path_imgidx=str(tmp_path / "broken.idx"))
    with pytest.raises(mximg.ImageError, match=r"Broken image index: 7"):
        it.next()


# -- ImageRecordIter ------------------------------------------------------------------------------
def test_image_record_iter_normalisation_and_round_batch(rec5):
    images, rec, _ = rec5
    it = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                                  mean_r=10, mean_g=20, mean_b=30, std_r=2, std_g=4, std_b=5,
                                  scale=0.5)
    assert it.provide_data == [("data", (2, 3, 6, 8))]
    first = _epoch(it)
    assert [b[1].tolist() for b in first] == [[0, 1], [2, 3], [4, 0]]
    assert [b[2] for b in first] == [0, 0, 1]
    mean, std = np.array([10, 20, 30]).reshape(3, 1, 1), np.array([2, 4, 5]).reshape(3, 1, 1)
    for row, i in zip(first[2][0], [4, 0]):
        np.testing.assert_allclose(row, (_chw(images[i]) - mean) * 0.5 / std, rtol=1e-5)
    it.reset()  # the next epoch carries on after the image the last batch borrowed
    assert [b[1].tolist() for b in _epoch(it)] == [[1, 2], [3, 4]]
    it.reset()
    no_round = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                                        round_batch=False, dtype="uint8")
    last = _epoch(no_round)[-1]
    assert last[2] == 1 and last[0].dtype == np.uint8 and last[1].tolist() == [4, 0]
    np.testing.assert_array_equal(last[0][0], _chw(images[4]))
    assert not last[0][1].any()  # the missing image is zeros


def test_image_record_iter_mirror_crop_and_seeds(rec5):
    images, rec, idx = rec5
    it = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 4, 6), batch_size=5,
                                  mirror=True)
    data = it.next().data[0].asnumpy()
    for row, im in zip(data, images):  # centre crop (offsets 1, 1), then mirrored
        np.testing.assert_array_equal(row, _chw(im[1:5, 1:7][:, ::-1]))

    def run(**kw):
        r = mximg.ImageRecordIter(path_imgrec=rec, path_imgidx=idx, data_shape=(3, 4, 6),
                                     batch_size=5, rand_crop=True, rand_mirror=True,
                                     shuffle=True, seed=3, **kw)
        return r.next()

    mx.random.seed(1)
    a = run(seed_aug=5)
    mx.random.seed(2)
    b = run(seed_aug=5)  # seed_aug: independent of mx.random
    np.testing.assert_array_equal(a.data[0].asnumpy(), b.data[0].asnumpy())
    order = a.label[0].asnumpy().astype(int)
    assert sorted(order) == list(range(5)) and order.tolist() != list(range(5))
    for row, i in zip(a.data[0].asnumpy(), order):  # every output is a crop of its image
        crops = [_chw(images[i][y:y + 4, x:x + 6][:, ::f]) for y in range(3) for x in range(3)
                 for f in (1, -1)]
        assert any(np.array_equal(row, c) for c in crops)
    mx.random.seed(1)
    c = run()
    mx.random.seed(1)
    d = run()
    np.testing.assert_array_equal(c.data[0].asnumpy(), d.data[0].asnumpy())


def test_image_record_iter_partition_without_index_and_imglist(tmp_path):
    images = [_img(4, 4, seed=i) for i in range(5)]
    rec, _ = _write_rec(tmp_path, images, [0.0] * 5, with_idx=False, ids=[10, 11, 12, 13, 14])
    lst = tmp_path / "l.lst"
    lst.write_text("".join(f"{10 + i}\t{i}\t{7 * i}\tx.png\n" for i in range(5)))
    parts = [mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 4, 4), batch_size=3,
                                      label_width=2, path_imglist=str(lst), num_parts=2,
                                      part_index=p, round_batch=False) for p in range(2)]
    got = [np.concatenate([b[1] for b in _epoch(p)]) for p in parts]
    np.testing.assert_array_equal(got[0], [[0, 0], [1, 7], [2, 14]])  # ceil(5 / 2) = 3 images
    np.testing.assert_array_equal(got[1][:2], [[3, 21], [4, 28]])
    with pytest.raises(MXNetValueError, match="2-dimensional label but label_width is set to 1"):
        rec2, _ = _write_rec(tmp_path, images[:2], [[1.0, 2.0]] * 2, name="two")
        mximg.ImageRecordIter(path_imgrec=rec2, data_shape=(3, 4, 4), batch_size=2).next()


def test_image_record_iter_augmentations(tmp_path, rec5):
    images, rec, _ = rec5
    kw = dict(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=5)
    # pad then centre crop: the image comes back unchanged
    padded = mximg.ImageRecordIter(pad=2, fill_value=9, **kw).next().data[0].asnumpy()
    np.testing.assert_array_equal(padded[0], _chw(images[0]))
    small = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 10, 12), batch_size=1,
                                     pad=2, fill_value=9).next().data[0].asnumpy()[0]
    assert (small[:, :2] == 9).all() and (small[:, :, :2] == 9).all()
    np.testing.assert_array_equal(small[:, 2:8, 2:10], _chw(images[0]))
    # rotate by 180 degrees: OpenCV maps pixel x to width - x, so the image moves by one pixel
    rot = mximg.ImageRecordIter(rotate=180, fill_value=7, **kw).next().data[0].asnumpy()
    out = rot[0].transpose(1, 2, 0)
    assert (out[0] == 7).all() and (out[:, 0] == 7).all()
    np.testing.assert_array_equal(out[1:, 1:], images[0][::-1, ::-1][:-1, :-1])
    # brightness only: every pixel scaled by one factor (then rounded and saturated)
    mx.random.seed(4)
    bright = mximg.ImageRecordIter(brightness=0.5, **kw).next().data[0].asnumpy()[0]
    src = _chw(images[0])
    keep = (src > 40) & (bright < 255)  # bright pixels saturate at 255
    ratio = bright[keep] / src[keep]
    assert np.ptp(ratio) < 0.05 and 0.5 <= ratio.mean() <= 1.5
    # PCA noise: one offset per channel (truncated, clipped)
    mid = [_img(6, 8, seed=i, lo=60, hi=190) for i in range(2)]
    rec_mid, _ = _write_rec(tmp_path, mid, [0.0, 1.0], name="mid")
    noisy = mximg.ImageRecordIter(path_imgrec=rec_mid, data_shape=(3, 6, 8), batch_size=1,
                                     pca_noise=0.5).next().data[0].asnumpy()[0]
    diff = noisy - _chw(mid[0])
    assert all(np.ptp(diff[c]) <= 1 for c in range(3)) and np.abs(diff).max() > 0
    # resize the shorter edge, random resized crop, affine scale: shapes come out right
    for extra in (dict(resize=3, data_shape=(3, 3, 4)),
                  dict(random_resized_crop=True, min_random_area=0.3, max_random_area=0.9,
                       min_aspect_ratio=0.75, max_aspect_ratio=1.33, data_shape=(3, 4, 4)),
                  dict(max_random_scale=1.2, min_random_scale=0.8, max_rotate_angle=10,
                       max_shear_ratio=0.1, data_shape=(3, 4, 4), inter_method=2),
                  dict(max_crop_size=5, min_crop_size=3, rand_crop=True, data_shape=(3, 4, 4))):
        args = {**kw, **extra}
        assert mximg.ImageRecordIter(**args).next().data[0].shape == (5,) + extra["data_shape"]


def test_image_record_iter_hsl_helpers_match_colorsys():
    from mxplug.image.record_iter import _hls8_to_rgb, _rgb_to_hls8
    px = _img(1, 40, seed=12)
    hls = _rgb_to_hls8(px)
    for (r, g, b), (h, l, s) in zip(px[0], hls[0]):
        eh, el, es = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
        assert abs(h - round(eh * 180) % 180) <= 1 or s <= 1
        assert abs(l - el * 255) <= 0.51 and abs(s - es * 255) <= 0.51
    np.testing.assert_allclose(_hls8_to_rgb(hls).astype(int), px, atol=3)  # 8-bit round trip


def test_image_record_iter_mean_img_and_errors(tmp_path, rec5):
    images, rec, _ = rec5
    mean_file = str(tmp_path / "mean.nd")
    it = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=5,
                                  mean_img=mean_file)
    expect_mean = np.mean([_chw(im) for im in images], axis=0)
    assert os.path.exists(mean_file)
    batch = it.next().data[0].asnumpy()
    np.testing.assert_allclose(batch[0], _chw(images[0]) - expect_mean, rtol=1e-4, atol=1e-4)
    reused = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=5,
                                      mean_img=mean_file).next().data[0].asnumpy()
    np.testing.assert_allclose(reused, batch, rtol=1e-5, atol=1e-5)
    with pytest.warns(UserWarning, match="bogus_option"):  # MXNet ignores it too
        mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                              bogus_option=1)
    with pytest.raises(MXNetValueError, match="random_resized_crop to true conflicts"):
        mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                                 random_resized_crop=True, rand_crop=True)
    with pytest.raises(MXNetValueError, match="aug_seq"):
        mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                                 aug_seq="det_aug_default")
    with pytest.raises(MXNetFileError, match="nothere.rec"):
        mximg.ImageRecordIter(path_imgrec=str(tmp_path / "nothere.rec"),
                                 data_shape=(3, 6, 8), batch_size=2)
    with pytest.raises(MXNetError, match="max_crop_size"):
        mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 4, 4), batch_size=2,
                                 max_crop_size=50, min_crop_size=40).next()
    # preprocess_threads and friends are accepted (and documented as no-ops)
    mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                             preprocess_threads=8, prefetch_buffer=2, verbose=False)


def test_image_iter_labels_from_list_with_record_and_hard_reset(tmp_path):
    images = [_img(4, 4, seed=i) for i in range(3)]
    rec, idx = _write_rec(tmp_path, images, [0.0, 0.0, 0.0])
    lst = tmp_path / "l.lst"
    lst.write_text("".join(f"{i}\t{5 + i}\tignored.png\n" for i in range(3)))
    it = mximg.ImageIter(2, (3, 4, 4), path_imgrec=rec, path_imgidx=idx, path_imglist=str(lst),
                         last_batch_handle="roll_over")
    assert [b[1].tolist() for b in _epoch(it)] == [[5, 6]]
    it.hard_reset()  # forgets the rolled-over image
    assert [b[1].tolist() for b in _epoch(it)] == [[5, 6]]


# -- object detection -----------------------------------------------------------------------------
_BOXES = np.array([[0, 0.1, 0.2, 0.5, 0.6], [1, 0.6, 0.5, 0.9, 0.8]], dtype=np.float32)


def test_det_flip_crop_pad_math():
    a = _img(20, 30, seed=7)
    src = mx.nd.array(a, dtype="uint8")
    out, lab = mximg.DetHorizontalFlipAug(1)(src, _BOXES)
    np.testing.assert_array_equal(out.asnumpy(), a[:, ::-1])
    np.testing.assert_allclose(lab[:, 1], 1 - _BOXES[:, 3])
    np.testing.assert_allclose(lab[:, 3], 1 - _BOXES[:, 1])
    np.testing.assert_array_equal(lab[:, [0, 2, 4]], _BOXES[:, [0, 2, 4]])
    assert _BOXES[0, 1] == np.float32(0.1)  # the caller's label is untouched

    crop = mximg.DetRandomCropAug(min_object_covered=0.5, area_range=(0.3, 1.0))
    mx.random.seed(3)
    x, y, w, h, new = crop._random_crop_proposal(_BOXES, 20, 30)
    assert 0.3 * 600 <= w * h <= 600 and 0.75 - 0.1 <= w / h <= 1.33 + 0.1
    kept = _BOXES[(_BOXES[:, 3] * 30 > x) & (_BOXES[:, 1] * 30 < x + w)
                  & (_BOXES[:, 4] * 20 > y) & (_BOXES[:, 2] * 20 < y + h)]
    expect = kept.copy()
    expect[:, (1, 3)] = np.clip((kept[:, (1, 3)] * 30 - x) / w, 0, 1)
    expect[:, (2, 4)] = np.clip((kept[:, (2, 4)] * 20 - y) / h, 0, 1)
    np.testing.assert_allclose(new, expect[:len(new)], rtol=1e-5, atol=1e-6)
    mx.random.seed(3)
    cropped, lab = crop(src, _BOXES)
    np.testing.assert_array_equal(cropped.asnumpy(), a[y:y + h, x:x + w])

    pad = mximg.DetRandomPadAug(area_range=(1.5, 3.0), pad_val=(1, 2, 3))
    mx.random.seed(8)
    padded, lab = pad(src, _BOXES)
    p = padded.asnumpy()
    H, W = p.shape[:2]
    assert H * W >= 1.5 * 600 - 60 and (H, W) != (20, 30)
    ys, xs = np.nonzero((p != [1, 2, 3]).any(axis=2))
    y0, x0 = ys.min(), xs.min()  # the image sits where the pad colour is not
    np.testing.assert_array_equal(p[y0:y0 + 20, x0:x0 + 30], a)
    np.testing.assert_allclose(lab[:, (1, 3)] * W, _BOXES[:, (1, 3)] * 30 + x0, rtol=1e-5)
    np.testing.assert_allclose(lab[:, (2, 4)] * H, _BOXES[:, (2, 4)] * 20 + y0, rtol=1e-5)


def test_create_det_augmenter():
    names = lambda augs: [type(a).__name__ for a in augs]  # noqa: E731
    augs = mximg.CreateDetAugmenter((3, 16, 16), resize=20, rand_crop=0.5, rand_pad=0.5,
                                    rand_mirror=True, mean=True, std=True, brightness=0.1)
    assert names(augs) == ["DetBorrowAug", "DetRandomSelectAug", "DetHorizontalFlipAug",
                           "DetRandomSelectAug", "DetBorrowAug", "DetBorrowAug", "DetBorrowAug",
                           "DetBorrowAug"]
    multi = mximg.CreateMultiRandCropAugmenter(min_object_covered=[0.1, 0.5, 0.9])
    assert [a.min_object_covered for a in multi.aug_list] == [0.1, 0.5, 0.9]
    assert multi.dumps()[0] == "detrandomselectaug" and len(multi.dumps()[1]) == 3
    with pytest.raises(MXNetValueError, match="area_range has 2 values"):
        mximg.CreateMultiRandCropAugmenter(min_object_covered=[0.1, 0.5, 0.9],
                                           area_range=[(0.1, 1.0), (0.2, 1.0)])
    with pytest.raises(MXNetTypeError, match="invalid Augmenter"):
        mximg.DetBorrowAug(lambda x: x)
    with pytest.warns(UserWarning, match="Skip DetRandomCropAug"):
        assert not mximg.DetRandomCropAug(area_range=(0.9, 0.1)).enabled


def test_image_det_iter(tmp_path):
    images = [_img(10, 10, seed=i) for i in range(3)]
    labels = [[2, 5] + _BOXES[0].tolist(), [2, 5] + _BOXES.ravel().tolist(),
              [2, 5] + _BOXES[1].tolist()]
    rec, idx = _write_rec(tmp_path, images, labels)
    it = mximg.ImageDetIter(2, (3, 10, 10), path_imgrec=rec, path_imgidx=idx)
    assert it.label_shape == (2, 5) and it.provide_label == [("label", (2, 2, 5))]
    batches = _epoch(it)
    assert [b[2] for b in batches] == [0, 1]
    lab = np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(lab[0], [_BOXES[0], [-1] * 5])
    np.testing.assert_allclose(lab[1], _BOXES)
    np.testing.assert_allclose(lab[3], lab[0])  # padded from the start
    data = np.concatenate([b[0] for b in batches])
    np.testing.assert_array_equal(data[2], _chw(images[2]))
    other = mximg.ImageDetIter(1, (3, 10, 10), path_imgrec=rec, path_imgidx=idx,
                               aug_list=[], imglist=None)
    other.reshape(label_shape=(4, 5))
    assert it.sync_label_shape(other) is other and it.label_shape == (4, 5)
    it.reset()
    assert it.next().label[0].shape == (2, 4, 5)
    with pytest.raises(MXNetValueError, match="reduce label count"):
        it.reshape(label_shape=(1, 5))
    drawn = list(mximg.ImageDetIter(1, (3, 10, 10), path_imgrec=rec).draw_next(color=(255, 0, 0)))
    assert len(drawn) == 3 and drawn[0].dtype == np.uint8
    np.testing.assert_array_equal(drawn[0][2, 1:6], [[255, 0, 0]] * 5)  # the box's top edge
    bad, _ = _write_rec(tmp_path, images[:1], [[2, 5, 0, 0.5, 0.5, 0.1, 0.1]], name="bad")
    with pytest.raises(mximg.ImageError, match="no valid label"):
        mximg.ImageDetIter(1, (3, 10, 10), path_imgrec=bad)
