"""Images and RecordIO files for the mx.image tests (``test_image.py``, ``test_image_iter.py``)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from mxplug import recordio

Image = pytest.importorskip("PIL.Image", reason="mx.image decodes and resamples with Pillow "
                                                "(pip install mxplug[image])")


def img(h=6, w=8, c=3, seed=0, lo=0, hi=256):
    return np.random.RandomState(seed).randint(lo, hi, size=(h, w, c)).astype(np.uint8)


def png(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb[:, :, 0] if rgb.shape[2] == 1 else rgb).save(buf, "PNG")
    return buf.getvalue()


def write_rec(tmp_path, images, labels, name="data", with_idx=True, ids=None):
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


def chw(a):
    return np.transpose(a, (2, 0, 1)).astype(np.float32)
