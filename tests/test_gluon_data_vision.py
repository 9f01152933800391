"""gluon.data.vision: datasets over RecordIO files, image folders and lists, CIFAR-100 (and
CIFAR-10's python version), and MXNet 1.9's remaining transforms, checked against independent
NumPy / colorsys computations."""

from __future__ import annotations

import colorsys
import os
import pickle
import warnings

import numpy as np
import pytest

import mxplug as mx
from mxplug import recordio
from mxplug.base import MXNetError
from mxplug.gluon.data import DataLoader
from mxplug.gluon.data.vision import (
    CIFAR10,
    CIFAR100,
    ImageFolderDataset,
    ImageListDataset,
    ImageRecordDataset,
)
from mxplug.gluon.data.vision import transforms as T


def _img(h=6, w=7, c=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=(h, w, c)).astype(np.uint8)


def _pillow():
    return pytest.importorskip("PIL.Image", reason="image files need Pillow "
                                                   "(pip install mxplug[image])")


def _save_png(path, rgb):
    _pillow().fromarray(rgb.squeeze() if rgb.shape[-1] == 1 else rgb).save(str(path), "PNG")


# -- datasets over image files ------------------------------------------------------------------
def test_image_record_dataset(tmp_path):
    _pillow()
    images = [_img(5 + i, 4 + i, seed=i) for i in range(6)]
    labels = [0.0, [1.0, 2.0], 3.0, [0.5], 4.0, 5.0]
    with recordio.MXIndexedRecordIO(str(tmp_path / "im.idx"), str(tmp_path / "im.rec"), "w") as w:
        for i, (im, lab) in enumerate(zip(images, labels)):
            # pack_img takes OpenCV's BGR order, the dataset gives RGB: as with MXNet.
            w.write_idx(i, recordio.pack_img(recordio.IRHeader(0, lab, i, 0), im[:, :, ::-1],
                                             img_fmt=".png"))
    ds = ImageRecordDataset(str(tmp_path / "im.rec"))
    assert len(ds) == 6
    for i in range(6):
        img, lab = ds[i]
        assert img.dtype == np.uint8 and img.context == mx.cpu()
        np.testing.assert_array_equal(img.asnumpy(), images[i])
        np.testing.assert_array_equal(np.asarray(lab, np.float32).reshape(-1),
                                      np.float32(labels[i]).reshape(-1))
    gray = ImageRecordDataset(str(tmp_path / "im.rec"), flag=0)[2][0].asnumpy()
    assert gray.shape == (7, 6, 1)
    np.testing.assert_allclose(gray[..., 0], images[2] @ [0.299, 0.587, 0.114], atol=1)
    ds = ImageRecordDataset(str(tmp_path / "im.rec"), transform=lambda d, l: (d.shape, l + 1))
    assert ds[0] == ((5, 4, 3), 1.0)
    # worker processes: the reader travels by pickle and reopens the file there
    same = ImageRecordDataset(str(tmp_path / "im.rec")).take(4).transform(
        lambda d, lab: (T.Resize((3, 3))(d), np.float32(np.ravel(lab)[0])))
    batches = list(DataLoader(same, batch_size=2, num_workers=2))
    data = np.concatenate([b[0].asnumpy() for b in batches])
    expect = np.stack([T.Resize((3, 3))(images[i]) for i in (0, 2)])
    np.testing.assert_array_equal(data[[0, 2]], expect)


@pytest.mark.filterwarnings("ignore:Ignoring")
def test_image_folder_dataset(tmp_path):
    _pillow()
    imgs = {"b_cat": [_img(seed=1), _img(seed=2)], "a_dog": [_img(4, 5, seed=3)]}
    for cls, ims in imgs.items():
        os.makedirs(tmp_path / cls)
        for j, im in enumerate(ims):
            _save_png(tmp_path / cls / f"{j}.png", im)
    _save_png(tmp_path / "a_dog" / "UPPER.PNG", _img(seed=4))
    (tmp_path / "b_cat" / "notes.txt").write_text("not an image")
    (tmp_path / "stray.png").write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ImageFolderDataset(str(tmp_path))
    messages = " ".join(str(w.message) for w in caught)
    assert "notes.txt of type .txt" in messages
    assert "stray.png, which is not a directory" in messages
    assert ds.synsets == ["a_dog", "b_cat"]
    assert [(os.path.basename(f), lab) for f, lab in ds.items] == [
        ("0.png", 0), ("UPPER.PNG", 0), ("0.png", 1), ("1.png", 1)]
    img, lab = ds[3]
    np.testing.assert_array_equal(img.asnumpy(), imgs["b_cat"][1])
    assert lab == 1
    assert ImageFolderDataset(str(tmp_path), flag=0)[0][0].shape == (4, 5, 1)
    t = ImageFolderDataset(str(tmp_path), transform=lambda d, l: (d.asnumpy().sum(), l))
    assert t[0] == (imgs["a_dog"][0].sum(), 0)
    (tmp_path / "b_cat" / "2.jpg").write_bytes(b"garbage")
    with pytest.raises(OSError, match=r"2\.jpg.*cannot decode"):
        ImageFolderDataset(str(tmp_path))[4]
    with pytest.raises(OSError, match="not a directory"):
        ImageFolderDataset(str(tmp_path / "nowhere"))


def test_image_list_dataset(tmp_path):
    _pillow()
    os.makedirs(tmp_path / "car")
    a, b = _img(seed=5), _img(3, 3, seed=6)
    _save_png(tmp_path / "car" / "a.png", a)
    _save_png(tmp_path / "b.png", b)
    (tmp_path / "list.lst").write_text("0\t1\tcar/a.png\n5\t2\t3.5\tb.png\n\n")
    ds = ImageListDataset(str(tmp_path), "list.lst")
    assert len(ds) == 2
    img, lab = ds[1]
    np.testing.assert_array_equal(img.asnumpy(), b)
    assert lab.dtype == np.float32 and lab.asnumpy().tolist() == [2.0, 3.5]
    ds = ImageListDataset(str(tmp_path), [[7, "car/a.png"], [[1, 2], "b.png"], [1, 2, 3, "b.png"]],
                          flag=0)
    assert [lab.asnumpy().tolist() for _, lab in (ds[0], ds[1], ds[2])] == [
        [7.0], [1.0, 2.0], [1.0, 2.0, 3.0]]
    assert ds[0][0].shape == (6, 7, 1)
    assert ds.items[0][0] == os.path.join(str(tmp_path), "car/a.png")
    (tmp_path / "bad.lst").write_text("0\tcar/a.png\n")
    with pytest.raises(ValueError, match=r"bad\.lst' line 1"):
        ImageListDataset(str(tmp_path), "bad.lst")
    with pytest.raises(TypeError, match="imglist must be filename or list"):
        ImageListDataset(str(tmp_path), 3)


# -- CIFAR-100 (and CIFAR-10's python version) --------------------------------------------------
def _cifar_arrays(n, seed):
    rng = np.random.RandomState(seed)
    return (rng.randint(0, 256, (n, 3, 32, 32)).astype(np.uint8), rng.randint(0, 20, n),
            rng.randint(0, 100, n))


def test_cifar100_binary_and_python(tmp_path):
    data, coarse, fine = _cifar_arrays(5, 0)
    folder = tmp_path / "bin" / "cifar-100-binary"
    os.makedirs(folder)
    rows = np.concatenate([coarse[:, None], fine[:, None], data.reshape(5, -1)], 1)
    (folder / "test.bin").write_bytes(rows.astype(np.uint8).tobytes())
    for fine_label, labels in ((False, coarse), (True, fine)):
        ds = CIFAR100(root=str(tmp_path / "bin"), fine_label=fine_label, train=False)
        assert len(ds) == 5
        img, lab = ds[3]
        np.testing.assert_array_equal(img.asnumpy(), data[3].transpose(1, 2, 0))
        assert lab == labels[3] and ds[0][1].dtype == np.int32
    os.makedirs(tmp_path / "py" / "cifar-100-python")
    with open(tmp_path / "py" / "cifar-100-python" / "train", "wb") as f:
        pickle.dump({b"data": data.reshape(5, -1), b"fine_labels": fine.tolist(),
                     b"coarse_labels": coarse.tolist(), b"filenames": [b"x"] * 5}, f, protocol=2)
    ds = CIFAR100(root=str(tmp_path / "py"), fine_label=True, train=True)
    np.testing.assert_array_equal(ds[4][0].asnumpy(), data[4].transpose(1, 2, 0))
    assert [ds[i][1] for i in range(5)] == fine.tolist()
    with pytest.raises(OSError, match=r"cifar-100-binary/train\.bin"):
        CIFAR100(root=str(tmp_path / "bin"), train=True)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar10_python_version_and_safe_unpickling(tmp_path):
    data, labels, _ = _cifar_arrays(3, 1)
    folder = tmp_path / "cifar-10-batches-py"
    os.makedirs(folder)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": data.reshape(3, -1), "labels": labels.tolist()}, f)
    ds = CIFAR10(root=str(tmp_path), train=False)
    np.testing.assert_array_equal(ds[1][0].asnumpy(), data[1].transpose(1, 2, 0))
    assert ds[2][1] == labels[2]
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": _Evil(), "labels": []}, f)
    with pytest.raises(OSError, match="posix.system is not allowed|os.system is not allowed"):
        CIFAR10(root=str(tmp_path), train=False)


# -- transforms ---------------------------------------------------------------------------------
def _hls_rotate_ref(img, turn):
    """Per-pixel hue turn through colorsys (an independent HLS implementation)."""
    out = np.empty(img.shape, np.float64)
    for idx in np.ndindex(img.shape[:-1]):
        h, l, s = colorsys.rgb_to_hls(*(img[idx] / 255.0))
        out[idx] = np.array(colorsys.hls_to_rgb((h + turn) % 1.0, l, s)) * 255
    return out


def _hue_of(rgb):
    return colorsys.rgb_to_hls(*(np.asarray(rgb, np.float64) / 255.0))[0]


def test_random_hue_against_colorsys():
    img = _img(5, 6)
    img[0, 0] = (255, 0, 0)  # pure red: hue 0, so the output's hue is the turn itself
    mx.random.seed(3)
    out = T.RandomHue(0.4)(img.astype(np.float32))
    turn = _hue_of(out[0, 0])
    assert min(turn, 1 - turn) <= 0.4 + 1e-4
    np.testing.assert_allclose(out, _hls_rotate_ref(img, turn), atol=0.05)
    u8 = T.RandomHue(0.4)(img)
    turn = _hue_of(u8[0, 0])
    assert u8.dtype == np.uint8
    assert np.abs(u8 - _hls_rotate_ref(img, turn)).max() <= 2.5  # rounding of the turn too
    np.testing.assert_allclose(T.RandomHue(0.0)(img), img, atol=1)  # a full turn
    gray = _img(3, 3, 1)
    np.testing.assert_array_equal(T.RandomHue(0.5)(gray), gray)


def test_random_color_jitter():
    img = _img().astype(np.float32)
    np.testing.assert_array_equal(T.RandomColorJitter()(img), img)
    for _ in range(5):
        b = T.RandomColorJitter(brightness=0.3)(img)
        alpha = b[img > 0] / img[img > 0]
        assert np.allclose(alpha, alpha[0], rtol=1e-5) and 0.7 <= alpha[0] <= 1.3
    c = T.RandomColorJitter(contrast=0.5)(img)
    mean_gray = (img @ [0.299, 0.587, 0.114]).mean()
    far = np.abs(img - mean_gray) > 1
    alpha = (c - mean_gray)[far] / (img - mean_gray)[far]
    np.testing.assert_allclose(alpha, alpha[0], rtol=1e-3)
    s = T.RandomColorJitter(saturation=0.5)(img)
    luma = (img @ [0.299, 0.587, 0.114])[..., None]
    alpha = (s - luma) / (img - luma)
    ok = np.abs(img - luma) > 1
    np.testing.assert_allclose(alpha[ok], alpha[ok][0], rtol=1e-3)
    img[0, 0] = (255, 0, 0)
    h = T.RandomColorJitter(hue=0.2)(img)
    turn = _hue_of(h[0, 0])
    assert min(turn, 1 - turn) <= 0.2 + 1e-4
    np.testing.assert_allclose(h, _hls_rotate_ref(img, turn), atol=0.05)
    u8 = T.RandomColorJitter(0.4, 0.4, 0.4, 0.1)(_img())
    assert u8.dtype == np.uint8 and u8.shape == (6, 7, 3)
    with pytest.raises(ValueError, match="saturation >= 0"):
        T.RandomColorJitter(saturation=-1)


def test_random_lighting_statistics():
    eig = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                    [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                    [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]])
    img = _img().astype(np.float32)
    np.testing.assert_array_equal(T.RandomLighting(0.0)(img), img)
    mx.random.seed(0)
    alphas = []
    for _ in range(400):
        delta = T.RandomLighting(0.1)(img) - img
        np.testing.assert_allclose(delta, np.broadcast_to(delta[0, 0], delta.shape), atol=1e-3)
        alphas.append(np.linalg.solve(eig, delta[0, 0]))
    alphas = np.array(alphas)
    assert np.all(np.abs(alphas.mean(0)) < 0.02) and np.allclose(alphas.std(0), 0.1, rtol=0.15)
    u8 = T.RandomLighting(5.0)(_img())
    assert u8.dtype == np.uint8  # saturated, not wrapped around


def test_random_gray():
    img = _img()
    g = T.RandomGray(p=1.0)(img)
    assert g.dtype == np.float32
    expect = img.astype(np.float64) @ [0.2989, 0.5870, 0.1140]
    np.testing.assert_allclose(g, np.stack([expect] * 3, -1), rtol=1e-5)
    np.testing.assert_array_equal(T.RandomGray(p=0.0)(img), img.astype(np.float32))
    with pytest.raises(ValueError, match="RGB"):
        T.RandomGray()(_img(c=1))


def _bilinear_ref(a, oh, ow):
    h, w = a.shape[:2]
    out = np.zeros((oh, ow) + a.shape[2:])
    for i in range(oh):
        for j in range(ow):
            fy = min(max((i + 0.5) * h / oh - 0.5, 0), h - 1)
            fx = min(max((j + 0.5) * w / ow - 0.5, 0), w - 1)
            y0, x0 = int(fy), int(fx)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = fy - y0, fx - x0
            out[i, j] = ((1 - dy) * (1 - dx) * a[y0, x0] + (1 - dy) * dx * a[y0, x1]
                         + dy * (1 - dx) * a[y1, x0] + dy * dx * a[y1, x1])
    return out


def test_crop_resize(ctx):
    img = _img(8, 9)
    out = T.CropResize(2, 1, 4, 5)(mx.nd.array(img, dtype=np.uint8))
    assert out.context == ctx
    np.testing.assert_array_equal(out.asnumpy(), img[1:6, 2:6])
    resized = T.CropResize(2, 1, 4, 5, size=(3, 7))(img.astype(np.float32))
    np.testing.assert_allclose(resized, _bilinear_ref(img[1:6, 2:6].astype(np.float64), 7, 3),
                               rtol=1e-5)
    batch = T.CropResize(0, 0, 2, 3)(np.stack([img, img[::-1]]))
    np.testing.assert_array_equal(batch[1], img[::-1][:3, :2])
    with pytest.raises(ValueError, match="does not fit"):
        T.CropResize(6, 0, 4, 2)(img)


@pytest.mark.parametrize("size", [-150, 0, (200, 0)])
def test_resize_refuses_sizes_that_are_not_positive(size):
    t = T.Resize(size, keep_ratio=isinstance(size, int))  # MXNet 1.9.1: the constructor accepts it
    with pytest.raises(ValueError, match="Input size should be greater than 0, but got"):
        t(_img(4, 5))


def test_random_crop():
    img = _img(6, 8)
    for pad in (None, 2, (1, 0, 3, 2)):
        padded = img
        if pad is not None:
            p = (pad,) * 4 if isinstance(pad, int) else pad
            padded = np.pad(img, ((p[0], p[1]), (p[2], p[3]), (0, 0)), constant_values=7)
        for _ in range(5):
            out = T.RandomCrop((5, 4), pad=pad, pad_value=7)(img)
            assert out.shape == (4, 5, 3)
            windows = [padded[y:y + 4, x:x + 5] for y in range(padded.shape[0] - 3)
                       for x in range(padded.shape[1] - 4)]
            assert any((out == win).all() for win in windows)
    up = T.RandomCrop(10)(img)  # larger than the image: the largest square fits, upsampled
    assert up.shape == (10, 10, 3)
    batch = T.RandomCrop(3)(np.stack([img, img]))
    np.testing.assert_array_equal(batch[0], batch[1])


def _rotate_ref(img, deg, scale=1.0):
    """Rotation about the centre by inverse mapping with zero-padded bilinear sampling."""
    c, h, w = img.shape
    out = np.zeros_like(img, dtype=np.float64)
    t = np.deg2rad(deg)
    for y in range(h):
        for x in range(w):
            dx, dy = x - (w - 1) / 2, y - (h - 1) / 2
            sx = (dx * np.cos(t) - dy * np.sin(t)) * scale + (w - 1) / 2
            sy = (dx * np.sin(t) + dy * np.cos(t)) * scale + (h - 1) / 2
            x0, y0 = int(np.floor(sx)), int(np.floor(sy))
            for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                if 0 <= yy < h and 0 <= xx < w:
                    out[:, y, x] += img[:, yy, xx] * (1 - abs(sx - xx)) * (1 - abs(sy - yy))
    return out


def test_rotate():
    x = np.random.RandomState(0).rand(2, 5, 6).astype(np.float32)
    sq = x[:, :, :5]
    np.testing.assert_allclose(T.Rotate(90)(sq), np.rot90(sq, 1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(T.Rotate(30)(x), _rotate_ref(x, 30), atol=1e-5)
    ones = np.ones((1, 7, 9), np.float32)
    zin = T.Rotate(30, zoom_in=True)(ones)
    # no padding shows (MXNet's zoom uses H, W for the corners: the very corners blend a bit)
    assert zin[:, 1:-1, 1:-1].min() > 0.999 and zin.min() > 0.9
    zout = T.Rotate(30, zoom_out=True)(ones)
    assert zout[0, 0, 0] == 0 and zout.max() > 0.99
    assert zout.sum() < T.Rotate(30)(ones).sum()  # the image shrank to fit
    with pytest.raises(TypeError, match="only supports float32"):
        T.Rotate(10)(_img())
    with pytest.raises(ValueError, match="cannot be both True"):
        T.Rotate(10, zoom_in=True, zoom_out=True)
    batch = np.stack([x, x[:, ::-1]])
    mx.random.seed(5)
    out = T.RandomRotation((-40, 40))(batch)
    mx.random.seed(5)
    np.testing.assert_array_equal(T.RandomRotation((-40, 40))(batch), out)
    assert not np.allclose(out[0], x)
    np.testing.assert_array_equal(T.RandomRotation((0, 1), rotate_with_proba=0.0)(x), x)
    nearly90 = T.RandomRotation((89.999, 90.001))(sq)
    np.testing.assert_allclose(nearly90, np.rot90(sq, 1, axes=(1, 2)), atol=1e-3)
    with pytest.raises(ValueError, match="ordered tuple"):
        T.RandomRotation((10, 10))
    with pytest.raises(ValueError, match="between 0 and 1"):
        T.RandomRotation((0, 10), rotate_with_proba=2)


def test_random_apply_and_hybrid_composition(ctx):
    img = _img()
    flip = T.RandomFlipLeftRight(p=1.0)
    np.testing.assert_array_equal(T.RandomApply(flip, p=0.0)(img), img)
    np.testing.assert_array_equal(T.RandomApply([flip, T.Cast("float32")], p=1.0)(img),
                                  img[:, ::-1].astype(np.float32))
    seen = {bool((T.RandomApply(flip)(img) == img).all()) for _ in range(30)}
    assert seen == {True, False}
    out, label = T.RandomApply(flip, p=1.0)(img, 3)  # extra arguments pass through (1.9)
    assert label == 3
    np.testing.assert_array_equal(out, img[:, ::-1])
    out, label = T.Compose([T.RandomGray(1.0), T.ToTensor()])(img, "cat")
    assert label == "cat" and out.shape == (3, 6, 7)
    h = T.HybridCompose([T.Resize(4), T.ToTensor(), T.Normalize(0.5, 0.25)])
    nd = h(mx.nd.array(img, dtype=np.uint8))
    assert nd.context == ctx and nd.shape == (3, 4, 4)
    expect = T.Compose([T.Resize(4), T.ToTensor(), T.Normalize(0.5, 0.25)])(img)
    np.testing.assert_allclose(nd.asnumpy(), expect, rtol=1e-6)
    with pytest.raises(MXNetError, match="not a HybridBlock, try use `Compose`"):
        T.HybridCompose([T.ToTensor(), T.Rotate(10)])
    with pytest.raises(MXNetError, match="try use `RandomApply`"):
        T.HybridRandomApply(T.Compose([flip]))
    np.testing.assert_array_equal(T.HybridRandomApply(T.HybridCompose([flip]), p=1.0)(img),
                                  img[:, ::-1])


def test_color_factor_ranges_follow_mxnet():
    img = _img().astype(np.float32) + 1
    for _ in range(20):  # factor in [max(0, 1 - 2), 1 + 2]: never negative
        assert T.RandomBrightness(2.0)(img).min() >= 0
    lo = min(float((T.RandomBrightness(0.5)(img) / img).flat[0]) for _ in range(30))
    assert 0.5 <= lo < 0.7
