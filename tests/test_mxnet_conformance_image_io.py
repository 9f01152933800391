"""Conformance with MXNet 1.9's test_image.py and the file iterators of test_io.py.

Translations of MXNet 1.9's unit tests: see ``mxnet_conformance_helpers.py``."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.test_utils import (
    assert_almost_equal,
    same,
)

from .mxnet_conformance_helpers import seed_as_mxnet  # noqa: F401


# =================================================================================================
# test_image.py
# =================================================================================================
@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Stand-ins for MXNet's test_images.tar.gz: 16 JPEG photos-like images of varied sizes
    (16 is the number MXNet's last-batch assertions imply), and their pixels."""
    from PIL import Image
    root = tmp_path_factory.mktemp("test_images")
    rng = np.random.default_rng(7)
    paths, pixels = [], []
    for k in range(16):
        h, w = int(rng.integers(226, 260)), int(rng.integers(226, 260))
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy + 40 * k) % 256)], axis=-1)
        img = np.clip(img + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
        path = root / f"img{k:02d}.jpg"
        Image.fromarray(img).save(path, quality=95)
        paths.append(str(path))
        pixels.append(img)
    return paths


def test_imread_not_found():
    """test_image.py: TestImage.test_imread_not_found."""
    with pytest.raises(MXNetError):
        mx.img.image.imread("/139810923jadjsajlskd.___adskj/blah.jpg")


def test_imread_vs_imdecode(images):
    """test_image.py: TestImage.test_imread_vs_imdecode. MXNet calls ``same`` without asserting
    it (imdecode(to_rgb=0) is BGR, imread RGB); here the channel order is asserted."""
    for img in images:
        with open(img, "rb") as fp:
            image = mx.image.imdecode(fp.read(), to_rgb=0)
        image_read = mx.img.image.imread(img)
        assert same(image.asnumpy()[:, :, ::-1], image_read.asnumpy())


def test_imdecode_bytearray(tmp_path):
    """test_image.py: TestImage.test_imdecode and test_imdecode_bytearray. MXNet compares with
    ``cv2.imread`` (BGR); without OpenCV the reference is a lossless PNG's own pixels."""
    from PIL import Image
    rgb = np.random.randint(0, 256, (37, 53, 3)).astype(np.uint8)
    path = tmp_path / "lossless.png"
    Image.fromarray(rgb).save(path)
    data = path.read_bytes()
    for buf in (data, bytearray(data)):
        image = mx.image.imdecode(buf, to_rgb=0)
        assert_almost_equal(image.asnumpy(), rgb[:, :, ::-1])


def test_imdecode_empty_buffer():
    """test_image.py: TestImage.test_imdecode_empty_buffer."""
    with pytest.raises(MXNetError):
        mx.image.imdecode(b"", to_rgb=0)


def test_imdecode_invalid_image():
    """test_image.py: TestImage.test_imdecode_invalid_image."""
    with pytest.raises(MXNetError):
        mx.image.imdecode(b"clearly not image content")


def test_scale_down():
    """test_image.py: TestImage.test_scale_down."""
    assert mx.image.scale_down((640, 480), (720, 120)) == (640, 106)
    assert mx.image.scale_down((360, 1000), (480, 500)) == (360, 375)
    assert mx.image.scale_down((300, 400), (0, 0)) == (0, 0)


def test_resize_short(images):
    """test_image.py: TestImage.test_resize_short. MXNet compares the pixels with cv2.resize
    (interpolation 0 and 1); without OpenCV the output shape MXNet's reference has is checked
    (tests/test_image.py checks mx.image's nearest and bilinear pixels)."""
    for img in images[:4]:
        mx_img = mx.image.imread(img)
        h, w, _ = mx_img.shape
        for _ in range(3):
            new_size = np.random.randint(1, 1000)
            if h > w:
                new_h, new_w = new_size * h // w, new_size
            else:
                new_h, new_w = new_size, new_size * w // h
            for interp in range(0, 2):
                assert mx.image.resize_short(mx_img, new_size, interp).shape == (new_h, new_w, 3)


def test_imresize(images):
    """test_image.py: TestImage.test_imresize (shapes, and ``out=`` equal to the result; the
    pixels MXNet compares with cv2.resize are left to tests/test_image.py)."""
    for img in images[:4]:
        mx_img = mx.image.imread(img)
        new_h, new_w = np.random.randint(1, 1000), np.random.randint(1, 1000)
        for interp_val in range(0, 2):
            mx_resized = mx.image.imresize(mx_img, new_w, new_h, interp=interp_val)
            assert mx_resized.shape == (new_h, new_w, 3)
            out_img = mx.nd.zeros((new_h, new_w, 3), dtype=mx_img.dtype)
            mx.image.imresize(mx_img, new_w, new_h, interp=interp_val, out=out_img)
            assert_almost_equal(out_img.asnumpy(), mx_resized.asnumpy())


def test_color_normalize():
    """test_image.py: TestImage.test_color_normalize."""
    for _ in range(10):
        mean = np.random.rand(3) * 255
        std = np.random.rand(3) + 1
        width, height = np.random.randint(100, 500), np.random.randint(100, 500)
        src = np.random.rand(height, width, 3) * 255.
        mx_result = mx.image.color_normalize(mx.nd.array(src), mx.nd.array(mean),
                                             mx.nd.array(std))
        assert_almost_equal(mx_result.asnumpy(), (src - mean) / std, atol=1e-3)


def _test_imageiter_last_batch(imageiter_list, assert_data_shape):
    """test_image.py's _test_imageiter_last_batch."""
    test_iter = imageiter_list[0]
    for _ in range(3):                              # batch data shape
        for batch in test_iter:
            assert batch.data[0].shape == assert_data_shape
        test_iter.reset()
    assert sum(1 for _ in imageiter_list[1]) == 5    # last_batch_handle='discard'
    i = 0                                           # last_batch_handle='pad'
    for batch in imageiter_list[2]:
        if i == 0:
            first_three_data = batch.data[0][:2]
        if i == 5:
            last_three_data = batch.data[0][1:]
        i += 1
    assert i == 6
    assert np.array_equal(first_three_data.asnumpy(), last_three_data.asnumpy())
    test_iter = imageiter_list[3]                   # last_batch_handle='roll_over'
    i = 0
    for batch in test_iter:
        if i == 0:
            first_image = batch.data[0][0]
        i += 1
    assert i == 5
    test_iter.reset()
    first_batch_roll_over = test_iter.next()
    assert np.array_equal(first_batch_roll_over.data[0][1].asnumpy(), first_image.asnumpy())
    assert first_batch_roll_over.pad == 2
    # the iterator works after reset several times with roll_over
    for _ in test_iter:
        pass
    test_iter.reset()
    first_batch_roll_over_twice = test_iter.next()
    assert np.array_equal(first_batch_roll_over_twice.data[0][2].asnumpy(),
                          first_image.asnumpy())
    assert first_batch_roll_over_twice.pad == 1
    i = 1                                           # we've called next once
    for _ in test_iter:
        i += 1
    assert i == 6                                   # the third epoch has size 6
    for _ in imageiter_list[4]:                     # shuffle, a sanity test
        pass


def _write_list(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write("\t".join(str(k) for k in row) + "\n")


@pytest.mark.parametrize("dtype", ["int32", "float32", "int64", "float64"])
def test_imageiter(images, tmp_path, dtype):
    """test_image.py: TestImage.test_imageiter."""
    im_list = [[np.random.randint(0, 5), x] for x in images]
    fname = str(tmp_path / "test_imageiter.lst")
    _write_list(fname, [[k, np.random.randint(0, 5), x] for k, x in enumerate(images)])
    for test in ["imglist", "path_imglist"]:
        kw = dict(imglist=im_list if test == "imglist" else None,
                  path_imglist=fname if test == "path_imglist" else None, path_root="",
                  dtype=dtype, label_width=1)
        imageiter_list = [
            mx.image.ImageIter(2, (3, 224, 224), **kw),
            mx.image.ImageIter(3, (3, 224, 224), last_batch_handle="discard", **kw),
            mx.image.ImageIter(3, (3, 224, 224), last_batch_handle="pad", **kw),
            mx.image.ImageIter(3, (3, 224, 224), last_batch_handle="roll_over", **kw),
            mx.image.ImageIter(3, (3, 224, 224), shuffle=True, last_batch_handle="pad", **kw),
        ]
        _test_imageiter_last_batch(imageiter_list, (2, 3, 224, 224))


def _border_reference(img, top, bot, left, right, type_val, values):
    """OpenCV's copyMakeBorder rules (what MXNet's test compares with) in np.pad terms."""
    pad = ((top, bot), (left, right), (0, 0))
    if type_val == 0:
        return np.stack([np.pad(img[:, :, c], pad[:2], constant_values=values[c])
                         for c in range(img.shape[2])], axis=-1)
    mode = {1: "edge", 2: "symmetric", 3: "wrap", 4: "reflect"}[type_val]
    return np.pad(img, pad, mode=mode)


def test_copyMakeBorder(images):  # noqa: N802 -- MXNet's name
    """test_image.py: TestImage.test_copyMakeBorder (OpenCV's result written with np.pad)."""
    for img in images[:4]:
        mx_img = mx.image.imread(img, to_rgb=0)
        cv_img = mx_img.asnumpy()
        top, bot, left, right = np.random.randint(1, 10, size=4)
        new_h, new_w, _ = mx_img.shape
        new_h += top + bot
        new_w += left + right
        val = [np.random.randint(1, 255)] * 3
        for type_val in range(0, 5):
            cv_border = _border_reference(cv_img, top, bot, left, right, type_val, val)
            mx_border = mx.image.copyMakeBorder(mx_img, top, bot, left, right, type=type_val,
                                                values=val)
            assert_almost_equal(mx_border.asnumpy(), cv_border)
            out_img = mx.nd.zeros((new_h, new_w, 3), dtype=mx_img.dtype)
            mx.image.copyMakeBorder(mx_img, top, bot, left, right, type=type_val, values=val,
                                    out=out_img)
            assert_almost_equal(out_img.asnumpy(), cv_border)


def test_augmenters(images):
    """test_image.py: TestImage.test_augmenters."""
    # ColorNormalizeAug, with NumPy and NDArray inputs
    mean = np.random.rand(3) * 255
    std = np.random.rand(3) + 1
    width, height = np.random.randint(100, 500), np.random.randint(100, 500)
    src = np.random.rand(height, width, 3) * 255.
    color_norm_aug = mx.image.ColorNormalizeAug(mean=mx.nd.array(mean), std=std)
    out_image = color_norm_aug(mx.nd.array(src))
    assert_almost_equal(out_image.asnumpy(), (src - mean) / std, atol=1e-3)

    # only test if all augmenters will work
    im_list = [[0, x] for x in images]
    test_iter = mx.image.ImageIter(
        2, (3, 224, 224), label_width=1, imglist=im_list, resize=640, rand_crop=True,
        rand_resize=True, rand_mirror=True, mean=True, std=np.array([1.1, 1.03, 1.05]),
        brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1, pca_noise=0.1, rand_gray=0.2,
        inter_method=10, path_root="", shuffle=True)
    for _ in test_iter:
        pass


def _generate_objects():
    num = np.random.randint(1, 10)
    xy = np.random.rand(num, 2)
    wh = np.random.rand(num, 2) / 2
    left = (xy[:, 0] - wh[:, 0])[:, np.newaxis]
    right = (xy[:, 0] + wh[:, 0])[:, np.newaxis]
    top = (xy[:, 1] - wh[:, 1])[:, np.newaxis]
    bot = (xy[:, 1] + wh[:, 1])[:, np.newaxis]
    boxes = np.maximum(0., np.minimum(1., np.hstack((left, top, right, bot))))
    cid = np.random.randint(0, 20, size=num)
    label = np.hstack((cid[:, np.newaxis], boxes)).ravel().tolist()
    return [2, 5] + label


def test_image_detiter(images, tmp_path):
    """test_image.py: TestImage.test_image_detiter."""
    im_list = [_generate_objects() + [x] for x in images]
    det_iter = mx.image.ImageDetIter(2, (3, 300, 300), imglist=im_list, path_root="")
    for _ in range(3):
        for _ in det_iter:
            pass
    det_iter.reset()
    val_iter = mx.image.ImageDetIter(2, (3, 300, 300), imglist=im_list, path_root="")
    det_iter = val_iter.sync_label_shape(det_iter)
    assert det_iter.data_shape == val_iter.data_shape
    assert det_iter.label_shape == val_iter.label_shape

    # batch_size is not divisible by the number of images
    det_iter = mx.image.ImageDetIter(4, (3, 300, 300), imglist=im_list, path_root="")
    for _ in det_iter:
        pass

    # file list with last batch handle
    fname = str(tmp_path / "test_imagedetiter.lst")
    _write_list(fname, [[k] + _generate_objects() + [x] for k, x in enumerate(images)])
    kw = dict(path_imglist=fname, path_root="")
    imageiter_list = [
        mx.image.ImageDetIter(2, (3, 400, 400), **kw),
        mx.image.ImageDetIter(3, (3, 400, 400), last_batch_handle="discard", **kw),
        mx.image.ImageDetIter(3, (3, 400, 400), last_batch_handle="pad", **kw),
        mx.image.ImageDetIter(3, (3, 400, 400), last_batch_handle="roll_over", **kw),
        mx.image.ImageDetIter(3, (3, 400, 400), shuffle=True, last_batch_handle="pad", **kw),
    ]
    _test_imageiter_last_batch(imageiter_list, (2, 3, 400, 400))


def test_det_augmenters(images):
    """test_image.py: TestImage.test_det_augmenters."""
    im_list = [_generate_objects() + [x] for x in images]
    det_iter = mx.image.ImageDetIter(
        2, (3, 300, 300), imglist=im_list, path_root="", resize=640, rand_crop=1, rand_pad=1,
        rand_gray=0.1, rand_mirror=True, mean=True, std=np.array([1.1, 1.03, 1.05]),
        brightness=0.1, contrast=0.1, saturation=0.1, pca_noise=0.1, hue=0.1, inter_method=10,
        min_object_covered=0.5, aspect_ratio_range=(0.2, 5), area_range=(0.1, 4.0),
        min_eject_coverage=0.5, max_attempts=50)
    for _ in det_iter:
        pass


def test_random_size_crop():
    """test_image.py: TestImage.test_random_size_crop."""
    width, height = np.random.randint(100, 500), np.random.randint(100, 500)
    src = np.random.rand(height, width, 3) * 255.
    ratio, epsilon = (0.75, 1), 0.05
    out, (x0, y0, new_w, new_h) = mx.image.random_size_crop(mx.nd.array(src),
                                                             size=(width, height), area=0.08,
                                                             ratio=ratio)
    _, pts = mx.image.center_crop(mx.nd.array(src), size=(width, height))
    if (x0, y0, new_w, new_h) != pts:
        assert ratio[0] - epsilon <= float(new_w) / new_h <= ratio[1] + epsilon


def test_imrotate():
    """test_image.py: TestImage.test_imrotate."""
    import scipy.ndimage
    # correctness
    xlin = np.expand_dims(np.linspace(0, 0.5, 30), axis=1)
    ylin = np.expand_dims(np.linspace(0, 0.5, 60), axis=0)
    np_img = np.expand_dims(xlin + ylin, axis=2)
    nd_img = mx.nd.array(np_img.transpose((2, 0, 1)))   # to CHW
    nd_rot = mx.image.imrotate(src=nd_img, rotation_degrees=6, zoom_in=False, zoom_out=False)
    npnd_rot = nd_rot.asnumpy().transpose((1, 2, 0))
    scipy_rot = scipy.ndimage.rotate(np_img, 6, axes=(1, 0), reshape=False, order=1,
                                     mode="constant", prefilter=False)
    # the edges (where the image ends) are not compared: their behaviour differs
    assert_almost_equal(scipy_rot[10:20, 20:40, :], npnd_rot[10:20, 20:40, :])

    # no exception in any allowed mode: batch mode, then single image mode
    batch = mx.nd.random.uniform(0, 1, (5, 3, 30, 60), dtype=np.float32)
    single = mx.nd.random.uniform(0, 1, (3, 30, 60), dtype=np.float32)
    rots = mx.nd.array([1, 2, 3, 4, 5], dtype=np.float32)
    for src, deg in ((batch, rots), (single, 11)):
        for zoom_in, zoom_out in [(False, False), (False, True), (True, False)]:
            mx.image.imrotate(src=src, rotation_degrees=deg, zoom_in=zoom_in, zoom_out=zoom_out)
    # exceptions: zoom_in=zoom_out=True in batch and single image mode
    for src, deg in ((batch, rots), (single, 11)):
        with pytest.raises(ValueError):
            mx.image.imrotate(src=src, rotation_degrees=deg, zoom_in=True, zoom_out=True)
    # a batch of images with a scalar rotation
    out = mx.image.imrotate(src=mx.nd.stack(nd_img, nd_img, nd_img), rotation_degrees=6,
                            zoom_in=False, zoom_out=False)
    for img in out:
        img = img.asnumpy().transpose((1, 2, 0))
        assert_almost_equal(scipy_rot[10:20, 20:40, :], img[10:20, 20:40, :])
    # a single image with a vector of rotations
    with pytest.raises(TypeError):
        mx.image.imrotate(src=single, rotation_degrees=rots, zoom_in=False, zoom_out=False)


def test_random_rotate():
    """test_image.py: TestImage.test_random_rotate."""
    angle_limits = [-5., 5.]
    src_single_image = mx.nd.random.uniform(0, 1, (3, 30, 60), dtype=np.float32)
    out_single_image = mx.image.random_rotate(src_single_image, angle_limits)
    assert out_single_image.shape == (3, 30, 60)
    src_batch_image = mx.nd.stack(src_single_image, src_single_image, src_single_image)
    out_batch_image = mx.image.random_rotate(src_batch_image, angle_limits)
    assert out_batch_image.shape == (3, 3, 30, 60)


# =================================================================================================
# test_io.py: the file iterators
# =================================================================================================
def _write_idx(path, array, magic):
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack(">i", magic) + b"".join(struct.pack(">i", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_MNISTIter(tmp_path):  # noqa: N802 -- MXNet's name
    """test_io.py: test_MNISTIter, on a 1000-image MNIST-format file pair written here (MXNet
    downloads the 60000 training images; the expected batch count scales with it)."""
    num = 1000
    image, label = str(tmp_path / "train-images-idx3-ubyte"), \
        str(tmp_path / "train-labels-idx1-ubyte")
    _write_idx(image, np.random.randint(0, 256, (num, 28, 28)), 2051)
    _write_idx(label, np.random.randint(0, 10, (num,)), 2049)
    batch_size = 100
    train_dataiter = mx.io.MNISTIter(image=image, label=label, data_shape=(784,),
                                     batch_size=batch_size, shuffle=1, flat=1, silent=0, seed=10)
    # test_loop
    nbatch = num / batch_size
    batch_count = sum(1 for _ in train_dataiter)
    assert nbatch == batch_count
    # test_reset
    train_dataiter.reset()
    train_dataiter.iter_next()
    label_0 = train_dataiter.getlabel().asnumpy().flatten()
    for _ in range(4):
        train_dataiter.iter_next()
    train_dataiter.reset()
    train_dataiter.iter_next()
    label_1 = train_dataiter.getlabel().asnumpy().flatten()
    assert sum(label_0 - label_1) == 0


@pytest.fixture(scope="module")
def cifar_rec(tmp_path_factory):
    """Stand-in for MXNet's data/cifar/train.rec: 100 JPEG records of 32x32 images, 10 per
    class (MXNet's has 5000 per class), and where the mean image goes."""
    root = tmp_path_factory.mktemp("cifar")
    rec_path = str(root / "train.rec")
    rng = np.random.default_rng(3)
    writer = mx.recordio.MXRecordIO(rec_path, "w")
    for i in range(100):
        img = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
        header = mx.recordio.IRHeader(flag=0, label=float(i % 10), id=i, id2=0)
        writer.write(mx.recordio.pack_img(header, img, quality=95, img_fmt=".jpg"))
    writer.close()
    return rec_path, str(root / "cifar10_mean.bin")


def test_Cifar10Rec(cifar_rec):  # noqa: N802 -- MXNet's name
    """test_io.py: test_Cifar10Rec (label counts 10 instead of 5000, the size of the file).

    MXNet's test passes ``and_mirror=False``, a misspelling MXNet's C++ parameter parser
    ignores; mxplug ignores it too, with a warning naming it."""
    rec, mean_img = cifar_rec
    kwargs = dict(path_imgrec=rec, mean_img=mean_img, rand_crop=False, shuffle=False,
                  data_shape=(3, 28, 28), batch_size=100, preprocess_threads=4,
                  prefetch_buffer=1)
    with pytest.warns(UserWarning, match=r"unknown argument\(s\) \['and_mirror'\] ignored"):
        dataiter = mx.io.ImageRecordIter(and_mirror=False, **kwargs)
    labelcount = [0 for _ in range(10)]
    for batch in dataiter:
        batch.data[0].asnumpy().flatten().sum()
        for lab in batch.label[0].asnumpy():
            labelcount[int(lab)] += 1
    for i in range(10):
        assert labelcount[i] == 10


def test_inter_methods_in_augmenter(cifar_rec):
    """test_io.py: test_inter_methods_in_augmenter. MXNet's test defines its check without
    calling it; here it runs, with the data_shape and batch_size ImageRecordIter requires."""
    rec, mean_img = cifar_rec
    for inter_method in [0, 1, 2, 3, 4, 9, 10]:
        dataiter = mx.io.ImageRecordIter(path_imgrec=rec, mean_img=mean_img,
                                         max_rotate_angle=45, inter_method=inter_method,
                                         data_shape=(3, 28, 28), batch_size=50)
        for _ in dataiter:
            pass


def test_image_iter_exception(cifar_rec):
    """test_io.py: test_image_iter_exception (a 5-channel data_shape)."""
    rec, mean_img = cifar_rec

    def check_cifar10_exception():
        dataiter = mx.io.ImageRecordIter(path_imgrec=rec, mean_img=mean_img, rand_crop=False,
                                         shuffle=False, data_shape=(5, 28, 28), batch_size=100,
                                         preprocess_threads=4, prefetch_buffer=1)
        for _ in dataiter:
            pass
    with pytest.raises(MXNetError):
        check_cifar10_exception()


def _write_lines(path, lines):
    with open(path, "w") as fout:
        fout.write("".join(line + "\n" for line in lines))


def test_LibSVMIter(tmp_path):  # noqa: N802 -- MXNet's name
    """test_io.py: test_LibSVMIter (check_libSVMIter_synthetic and check_libSVMIter_exception;
    check_libSVMIter_news_data downloads news20).

    MXNet's batches are CSRNDArrays and the test calls ``data.check_format(True)``; mxplug's
    LibSVMIter gives the dense arrays of the same values (docs/data.md), so that call is left
    out."""
    data_path, label_path = str(tmp_path / "data.t"), str(tmp_path / "label.t")
    _write_lines(data_path, ["1.0 0:0.5 2:1.2", "-2.0", "-3.0 0:0.6 1:2.4 2:1.2", "4 2:-1.2"])
    _write_lines(label_path, ["1.0", "-2.0 0:0.125", "-3.0 2:1.2", "4 1:1.0 2:-1.2"])
    data_train = mx.io.LibSVMIter(data_libsvm=data_path, label_libsvm=label_path,
                                  data_shape=(3, ), label_shape=(3, ), batch_size=3)
    first = mx.nd.array([[0.5, 0., 1.2], [0., 0., 0.], [0.6, 2.4, 1.2]])
    second = mx.nd.array([[0., 0., -1.2], [0.5, 0., 1.2], [0., 0., 0.]])
    i = 0
    for _ in iter(data_train):
        expected = first.asnumpy() if i == 0 else second.asnumpy()
        assert_almost_equal(data_train.getdata().asnumpy(), expected)
        i += 1

    def check_libsvm_exception():
        # the third line has a negative index
        _write_lines(data_path, ["1.0 0:0.5 2:1.2", "-2.0", "-3.0 -1:0.6 1:2.4 2:1.2",
                                 "4 2:-1.2"])
        data_train = mx.io.LibSVMIter(data_libsvm=data_path, label_libsvm=label_path,
                                      data_shape=(3, ), label_shape=(3, ), batch_size=3)
        for _ in iter(data_train):
            data_train.get_data().asnumpy()
    with pytest.raises(MXNetError):
        check_libsvm_exception()


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_CSVIter(tmp_path, dtype):  # noqa: N802 -- MXNet's name
    """test_io.py: test_CSVIter (check_CSVIter_synthetic)."""
    data_path, label_path = str(tmp_path / "data.t"), str(tmp_path / "label.t")
    entry_str = {"int32": "200000001", "int64": "2147483648"}.get(dtype, "1")
    _write_lines(data_path, [",".join([entry_str] * (8 * 8))] * 1000)
    _write_lines(label_path, ["0"] * 1000)
    data_train = mx.io.CSVIter(data_csv=data_path, data_shape=(8, 8), label_csv=label_path,
                               batch_size=100, dtype=dtype)
    expected = mx.nd.ones((100, 8, 8), dtype=dtype) * int(entry_str)
    for _ in iter(data_train):
        data_batch = data_train.getdata()
        assert_almost_equal(data_batch.asnumpy(), expected.asnumpy())
        assert data_batch.asnumpy().dtype == expected.asnumpy().dtype


def test_ImageRecordIter_seed_augmentation(cifar_rec):  # noqa: N802 -- MXNet's name
    """test_io.py: test_ImageRecordIter_seed_augmentation."""
    rec, mean_img = cifar_rec
    if os.path.exists(mean_img):  # as MXNet's test: the first iterator computes the mean image
        os.remove(mean_img)
    seed_aug = 3
    augment = dict(rand_crop=True, rand_mirror=True, max_random_scale=1.3,
                   max_random_illumination=3, max_rotate_angle=10, random_l=50, random_s=40,
                   random_h=10, max_shear_ratio=2)

    def make(seed_aug, **kwargs):
        return mx.io.ImageRecordIter(path_imgrec=rec, mean_img=mean_img, shuffle=False,
                                     data_shape=(3, 28, 28), batch_size=3, seed_aug=seed_aug,
                                     **kwargs)

    def pairs(dataiter1, dataiter2):
        for batch1, batch2 in itertools.zip_longest(dataiter1, dataiter2):
            assert batch1 and batch2, "The iterators do not contain the same number of batches"
            assert len(batch1.data) == len(batch2.data)
            for d1, d2 in zip(batch1.data, batch2.data):
                yield d1.asnumpy().astype(np.uint8), d2.asnumpy().astype(np.uint8)

    # constant images after fixing seed_aug
    dataiter1 = make(seed_aug, **augment)
    for data1, data2 in pairs(dataiter1, make(seed_aug, **augment)):
        assert np.array_equal(data1, data2)
    # different images after changing seed_aug
    dataiter1.reset()
    assert not all(np.array_equal(d1, d2)
                   for d1, d2 in pairs(dataiter1, make(seed_aug + 1, **augment))), \
        "Expected data iterators to be different, but they are the same"
    # seed_aug without augmentation changes nothing
    for data1, data2 in pairs(make(seed_aug), make(seed_aug)):
        assert np.array_equal(data1, data2)


def test_PrefetchingIter_docstring_example():
    """MXNet 1.9's PrefetchingIter has no unit test in test_io.py; this is its docstring's
    example (python/mxnet/io/io.py), with the batches checked against the wrapped iterators."""
    iter1 = mx.io.NDArrayIter({"data": mx.nd.ones((100, 10))}, batch_size=25)
    iter2 = mx.io.NDArrayIter({"data": mx.nd.ones((100, 10)) * 2}, batch_size=25)
    piter = mx.io.PrefetchingIter([iter1, iter2],
                                  rename_data=[{"data": "data_1"}, {"data": "data_2"}])
    assert [(d.name, tuple(d.shape), d.dtype) for d in piter.provide_data] == \
        [("data_1", (25, 10), np.float32), ("data_2", (25, 10), np.float32)]
    batches = list(piter)
    assert len(batches) == 4
    for batch in batches:
        assert_almost_equal(batch.data[0].asnumpy(), np.ones((25, 10)))
        assert_almost_equal(batch.data[1].asnumpy(), np.full((25, 10), 2.0))
    piter.close()
