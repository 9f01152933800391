"""mx.image's iterators: ImageIter (RecordIO files, .lst lists, Python lists), ImageRecordIter
and ImageDetIter, checked against independent NumPy / Pillow computations."""

from __future__ import annotations

import colorsys
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import image as mximg
from mxplug import recordio
from mxplug.base import MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError

from .image_helpers import Image, chw, img, png, write_rec  # noqa: F401


# -- ImageIter ------------------------------------------------------------------------------------
@pytest.fixture
def rec5(tmp_path):
    images = [img(6, 8, seed=i) for i in range(5)]
    rec, idx = write_rec(tmp_path, images, [float(i) for i in range(5)])
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
        np.testing.assert_array_equal(row, chw(images[i]))
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
    images = [img(4, 4, seed=i) for i in range(7)]
    labels = [[i, 10.0 * i] for i in range(7)]
    rec, idx = write_rec(tmp_path, images, labels)
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
        np.testing.assert_array_equal(row, chw(images[i]))
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
    images = [img(5, 5, seed=i) for i in range(3)]
    os.makedirs(tmp_path / "imgs")
    for i, im in enumerate(images):
        (tmp_path / "imgs" / f"{i}.png").write_bytes(png(im))
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
        np.testing.assert_array_equal(row, chw(images[i]))
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
        np.testing.assert_allclose(row, (chw(images[i]) - mean) * 0.5 / std, rtol=1e-5)
    it.reset()  # the next epoch carries on after the image the last batch borrowed
    assert [b[1].tolist() for b in _epoch(it)] == [[1, 2], [3, 4]]
    it.reset()
    no_round = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=2,
                                        round_batch=False, dtype="uint8")
    last = _epoch(no_round)[-1]
    assert last[2] == 1 and last[0].dtype == np.uint8 and last[1].tolist() == [4, 0]
    np.testing.assert_array_equal(last[0][0], chw(images[4]))
    assert not last[0][1].any()  # the missing image is zeros


def test_image_record_iter_mirror_crop_and_seeds(rec5):
    images, rec, idx = rec5
    it = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 4, 6), batch_size=5,
                                  mirror=True)
    data = it.next().data[0].asnumpy()
    for row, im in zip(data, images):  # centre crop (offsets 1, 1), then mirrored
        np.testing.assert_array_equal(row, chw(im[1:5, 1:7][:, ::-1]))

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
        crops = [chw(images[i][y:y + 4, x:x + 6][:, ::f]) for y in range(3) for x in range(3)
                 for f in (1, -1)]
        assert any(np.array_equal(row, c) for c in crops)
    mx.random.seed(1)
    c = run()
    mx.random.seed(1)
    d = run()
    np.testing.assert_array_equal(c.data[0].asnumpy(), d.data[0].asnumpy())


def test_image_record_iter_partition_without_index_and_imglist(tmp_path):
    images = [img(4, 4, seed=i) for i in range(5)]
    rec, _ = write_rec(tmp_path, images, [0.0] * 5, with_idx=False, ids=[10, 11, 12, 13, 14])
    lst = tmp_path / "l.lst"
    lst.write_text("".join(f"{10 + i}\t{i}\t{7 * i}\tx.png\n" for i in range(5)))
    parts = [mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 4, 4), batch_size=3,
                                      label_width=2, path_imglist=str(lst), num_parts=2,
                                      part_index=p, round_batch=False) for p in range(2)]
    got = [np.concatenate([b[1] for b in _epoch(p)]) for p in parts]
    np.testing.assert_array_equal(got[0], [[0, 0], [1, 7], [2, 14]])  # ceil(5 / 2) = 3 images
    np.testing.assert_array_equal(got[1][:2], [[3, 21], [4, 28]])
    with pytest.raises(MXNetValueError, match="2-dimensional label but label_width is set to 1"):
        rec2, _ = write_rec(tmp_path, images[:2], [[1.0, 2.0]] * 2, name="two")
        mximg.ImageRecordIter(path_imgrec=rec2, data_shape=(3, 4, 4), batch_size=2).next()


def test_image_record_iter_augmentations(tmp_path, rec5):
    images, rec, _ = rec5
    kw = dict(path_imgrec=rec, data_shape=(3, 6, 8), batch_size=5)
    # pad then centre crop: the image comes back unchanged
    padded = mximg.ImageRecordIter(pad=2, fill_value=9, **kw).next().data[0].asnumpy()
    np.testing.assert_array_equal(padded[0], chw(images[0]))
    small = mximg.ImageRecordIter(path_imgrec=rec, data_shape=(3, 10, 12), batch_size=1,
                                     pad=2, fill_value=9).next().data[0].asnumpy()[0]
    assert (small[:, :2] == 9).all() and (small[:, :, :2] == 9).all()
    np.testing.assert_array_equal(small[:, 2:8, 2:10], chw(images[0]))
    # rotate by 180 degrees: OpenCV maps pixel x to width - x, so the image moves by one pixel
    rot = mximg.ImageRecordIter(rotate=180, fill_value=7, **kw).next().data[0].asnumpy()
    out = rot[0].transpose(1, 2, 0)
    assert (out[0] == 7).all() and (out[:, 0] == 7).all()
    np.testing.assert_array_equal(out[1:, 1:], images[0][::-1, ::-1][:-1, :-1])
    # brightness only: every pixel scaled by one factor (then rounded and saturated)
    mx.random.seed(4)
    bright = mximg.ImageRecordIter(brightness=0.5, **kw).next().data[0].asnumpy()[0]
    src = chw(images[0])
    keep = (src > 40) & (bright < 255)  # bright pixels saturate at 255
    ratio = bright[keep] / src[keep]
    assert np.ptp(ratio) < 0.05 and 0.5 <= ratio.mean() <= 1.5
    # PCA noise: one offset per channel (truncated, clipped)
    mid = [img(6, 8, seed=i, lo=60, hi=190) for i in range(2)]
    rec_mid, _ = write_rec(tmp_path, mid, [0.0, 1.0], name="mid")
    noisy = mximg.ImageRecordIter(path_imgrec=rec_mid, data_shape=(3, 6, 8), batch_size=1,
                                     pca_noise=0.5).next().data[0].asnumpy()[0]
    diff = noisy - chw(mid[0])
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
    px = img(1, 40, seed=12)
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
    expect_mean = np.mean([chw(im) for im in images], axis=0)
    assert os.path.exists(mean_file)
    batch = it.next().data[0].asnumpy()
    np.testing.assert_allclose(batch[0], chw(images[0]) - expect_mean, rtol=1e-4, atol=1e-4)
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
    images = [img(4, 4, seed=i) for i in range(3)]
    rec, idx = write_rec(tmp_path, images, [0.0, 0.0, 0.0])
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
    a = img(20, 30, seed=7)
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
    images = [img(10, 10, seed=i) for i in range(3)]
    labels = [[2, 5] + _BOXES[0].tolist(), [2, 5] + _BOXES.ravel().tolist(),
              [2, 5] + _BOXES[1].tolist()]
    rec, idx = write_rec(tmp_path, images, labels)
    it = mximg.ImageDetIter(2, (3, 10, 10), path_imgrec=rec, path_imgidx=idx)
    assert it.label_shape == (2, 5) and it.provide_label == [("label", (2, 2, 5))]
    batches = _epoch(it)
    assert [b[2] for b in batches] == [0, 1]
    lab = np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(lab[0], [_BOXES[0], [-1] * 5])
    np.testing.assert_allclose(lab[1], _BOXES)
    np.testing.assert_allclose(lab[3], lab[0])  # padded from the start
    data = np.concatenate([b[0] for b in batches])
    np.testing.assert_array_equal(data[2], chw(images[2]))
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
    bad, _ = write_rec(tmp_path, images[:1], [[2, 5, 0, 0.5, 0.5, 0.1, 0.1]], name="bad")
    with pytest.raises(mximg.ImageError, match="no valid label"):
        mximg.ImageDetIter(1, (3, 10, 10), path_imgrec=bad)
