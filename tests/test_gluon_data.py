"""gluon.data: datasets, samplers, DataLoader (in-process, threads, worker processes),
vision transforms and datasets."""

from __future__ import annotations

import gzip
import os
import signal
import struct
import time

import numpy as np
import pytest

import mxplug as mx
from mxplug import gluon
from mxplug.gluon.data import (
    ArrayDataset,
    BatchSampler,
    DataLoader,
    DataLoaderTimeoutError,
    DataLoaderWorkerError,
    IntervalSampler,
    RandomSampler,
    SequentialSampler,
    SimpleDataset,
)
from mxplug.gluon.data.vision import transforms as T

MAIN_PID = os.getpid()


def _batches_np(loader):
    out = []
    for b in loader:
        out.append([x.asnumpy() for x in b] if isinstance(b, (list, tuple)) else b.asnumpy())
    return out


# -- datasets -----------------------------------------------------------------------------------
def test_array_dataset_and_simple():
    x = mx.nd.arange(12).reshape(6, 2)
    y = mx.nd.arange(6)
    ds = ArrayDataset(x, y, list(range(6)))
    assert len(ds) == 6
    a, b, c = ds[2]
    assert isinstance(a, mx.nd.NDArray) and a.asnumpy().tolist() == [4.0, 5.0]
    assert isinstance(b, np.float32) and b == 2.0  # 1-D NDArrays become NumPy, as in MXNet
    assert c == 2
    single = ArrayDataset(np.arange(3))
    assert single[1] == 1
    assert SimpleDataset([5, 6])[1] == 6 and len(SimpleDataset([5, 6])) == 2


def test_array_dataset_length_mismatch():
    with pytest.raises(mx.MXNetError, match=r"same length.*array\[1\] has 4"):
        ArrayDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least 1 array"):
        ArrayDataset()


def test_transform_filter_shard_take_sample():
    ds = SimpleDataset(list(range(10)))
    assert [ds.transform(lambda v: v * 2)[i] for i in range(3)] == [0, 2, 4]
    eager = ds.transform(lambda v: v + 1, lazy=False)
    assert isinstance(eager, SimpleDataset) and eager[9] == 10
    pairs = ArrayDataset(np.arange(4), np.arange(4) * 10)
    first = pairs.transform_first(lambda v: -v)
    assert first[3] == (-3, 30)
    assert pairs.transform(lambda a, b: a + b)[2] == 22
    odd = ds.filter(lambda v: v % 2 == 1)
    assert [odd[i] for i in range(len(odd))] == [1, 3, 5, 7, 9]
    shards = [ds.shard(3, i) for i in range(3)]
    assert [len(s) for s in shards] == [4, 3, 3]
    assert [s[i] for s in shards for i in range(len(s))] == list(range(10))
    with pytest.raises(ValueError, match="index"):
        ds.shard(3, 3)
    assert len(ds.take(4)) == 4 and ds.take(4)[3] == 3 and len(ds.take(None)) == 10
    assert len(ds.take(100)) == 10
    s = ds.sample(IntervalSampler(10, 3, rollover=False))
    assert [s[i] for i in range(len(s))] == [0, 3, 6, 9]


# -- samplers -----------------------------------------------------------------------------------
def test_samplers():
    assert list(SequentialSampler(4)) == [0, 1, 2, 3]
    assert list(SequentialSampler(3, start=5)) == [5, 6, 7]
    assert list(IntervalSampler(13, 3)) == [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    assert len(IntervalSampler(13, 3, rollover=False)) == 5
    mx.random.seed(7)
    a = list(RandomSampler(50))
    b = list(RandomSampler(50))
    mx.random.seed(7)
    assert list(RandomSampler(50)) == a and a != b
    assert sorted(a) == list(range(50))


def test_batch_sampler_modes():
    seq = SequentialSampler(10)
    keep = BatchSampler(seq, 3, "keep")
    assert list(keep) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(keep) == 4
    discard = BatchSampler(seq, 3, "discard")
    assert list(discard) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(discard) == 3
    roll = BatchSampler(seq, 3, "rollover")
    assert list(roll) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(roll) == 3  # 1 held over + 10 = 11 -> 3 full batches
    assert list(roll)[0] == [9, 0, 1]
    assert list(roll)[0] == [8, 9, 0]
    with pytest.raises(ValueError, match="last_batch must be one of"):
        BatchSampler(seq, 3, "bogus")


# -- DataLoader ---------------------------------------------------------------------------------
def test_dataloader_default_batchify_dtypes():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int32)
    loader = DataLoader(ArrayDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    bx, by = batches[0]
    assert isinstance(bx, mx.nd.NDArray) and bx.shape == (4, 2) and bx.dtype == np.float32
    assert by.dtype == np.int32 and by.asnumpy().tolist() == [0, 1, 2, 3]
    assert batches[-1][0].shape == (2, 2)
    nd_samples = DataLoader(SimpleDataset([mx.nd.ones((2, 3)) * i for i in range(5)]),
                            batch_size=5)
    (b,) = list(nd_samples)
    np.testing.assert_array_equal(b.asnumpy(), np.arange(5)[:, None, None] * np.ones((5, 2, 3)))
    assert list(DataLoader(SimpleDataset([1, 2, 3]), 3))[0].dtype == np.int64


def test_dataloader_arguments():
    ds = SimpleDataset(list(range(10)))
    with pytest.raises(ValueError, match="batch_size must be specified"):
        DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified"):
        DataLoader(ds, 2, shuffle=True, sampler=SequentialSampler(10))
    with pytest.raises(ValueError, match="must not be specified if batch_sampler"):
        DataLoader(ds, 2, batch_sampler=BatchSampler(SequentialSampler(10), 2))
    with pytest.raises(ValueError, match="timeout must be positive"):
        DataLoader(ds, 2, timeout=0)
    bs = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(10), 4, "discard"))
    assert [b.asnumpy().tolist() for b in bs] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(ds, 3, last_batch="discard")) == 3
    custom = DataLoader(ds, 5, batchify_fn=lambda samples: sum(samples))
    assert list(custom) == [10, 35]


class _Noisy(gluon.data.Dataset):
    """Samples that use mx.random (through a random transform), to check worker seeding."""

    def __init__(self, n):
        self._x = np.arange(n * 6, dtype=np.uint8).reshape(n, 2, 3, 1)

    def __len__(self):
        return len(self._x)

    def __getitem__(self, i):
        return T.RandomFlipLeftRight()(self._x[i]), np.float32(i)


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_workers_match_in_process(shuffle):
    x = np.random.RandomState(0).rand(37, 3, 4).astype(np.float32)
    y = np.arange(37, dtype=np.int64)
    ds = ArrayDataset(mx.nd.array(x), y).transform_first(lambda v: v * 2)
    results = []
    for workers in (0, 2):
        mx.random.seed(3)
        results.append(_batches_np(DataLoader(ds, 8, shuffle=shuffle, num_workers=workers)))
    assert len(results[0]) == len(results[1]) == 5
    for b0, b1 in zip(*results):
        for a0, a1 in zip(b0, b1):
            assert a0.dtype == a1.dtype
            np.testing.assert_array_equal(a0, a1)
    assert results[0][0][0].shape == (8, 3, 4) and results[0][-1][0].shape == (5, 3, 4)


def test_dataloader_workers_reuse_pool_and_seeding():
    loader = DataLoader(_Noisy(40), 5, num_workers=2, timeout=30)
    mx.random.seed(11)
    e1 = _batches_np(loader)
    pool = loader._pool
    e2 = _batches_np(loader)  # same pool, a fresh seed draw: the flips differ
    assert loader._pool is pool
    mx.random.seed(11)
    e3 = _batches_np(loader)
    assert all((a[0] == b[0]).all() for a, b in zip(e1, e3))
    assert any((a[0] != b[0]).any() for a, b in zip(e1, e2))
    assert e1[0][0].dtype == np.uint8 and e1[0][1].dtype == np.float32


def test_dataloader_workers_custom_batchify_and_break():
    ds = SimpleDataset(list(range(20)))

    def batchify(samples):
        return {"sum": mx.nd.array([sum(samples)]), "n": len(samples)}

    loader = DataLoader(ds, 5, num_workers=2, batchify_fn=batchify)
    out = list(loader)
    assert [o["sum"].asscalar() for o in out] == [10.0, 35.0, 60.0, 85.0]
    assert out[0]["n"] == 5 and out[0]["sum"].context == mx.current_context()
    it = iter(loader)  # abandon an epoch midway: the next one still gives everything in order
    next(it)
    del it
    assert [o["sum"].asscalar() for o in loader] == [10.0, 35.0, 60.0, 85.0]


def test_dataloader_thread_pool():
    x = np.arange(30, dtype=np.float32).reshape(15, 2)
    ref = _batches_np(DataLoader(ArrayDataset(x), 4))
    got = _batches_np(DataLoader(ArrayDataset(x), 4, num_workers=3, thread_pool=True))
    assert len(ref) == len(got) == 4
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_dataloader_workers_with_dataset_on_device(ctx):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = ArrayDataset(mx.nd.array(x), np.arange(6))
    if ctx.device_type == "cpu":
        got = _batches_np(DataLoader(ds, 4, num_workers=2))
    else:  # forked processes cannot use device handles: threads instead, with a warning
        with pytest.warns(UserWarning, match="threads are used instead"):
            got = _batches_np(DataLoader(ds, 4, num_workers=2, timeout=20))
    np.testing.assert_array_equal(got[0][0], x[:4])
    np.testing.assert_array_equal(got[1][1], [4, 5])


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_auto_reload_starts_each_epoch_ahead(num_workers):
    loads = []

    class Logged(gluon.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            loads.append(i)
            return float(i)

    dl = DataLoader(Logged(), 2, num_workers=num_workers, thread_pool=True, auto_reload=True)
    assert dl._iter is not None  # started at construction, as MXNet 1.9's
    for _ in range(2):
        assert [b.asnumpy().tolist() for b in dl] == [[0, 1], [2, 3], [4]]
        assert dl._iter is not None  # the next epoch was started when this one ended
    dl.clean()
    assert dl._iter is None
    assert [b.asnumpy().tolist() for b in dl] == [[0, 1], [2, 3], [4]]
    plain = DataLoader(Logged(), 2)
    assert plain._iter is None and len(list(plain)) == 3 and plain._iter is None
    plain.refresh()
    assert len(list(plain)) == 3


def test_dataloader_pin_memory():
    (b,) = list(DataLoader(SimpleDataset([1.0, 2.0]), 2, pin_memory=True))
    assert b.context == mx.cpu_pinned(0)


class _Raising(gluon.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"sample {i} is broken")
        return np.float32(i)


class _Killing(gluon.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 6 and os.getpid() != MAIN_PID:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.float32(i)


class _Slow(gluon.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i >= 2:
            time.sleep(30)
        return np.float32(i)


def test_worker_exception_propagates_with_traceback():
    loader = DataLoader(_Raising(), 2, num_workers=2)
    with pytest.raises(KeyError) as info:
        list(loader)
    text = str(info.value)
    assert "DataLoader worker process" in text and "Traceback" in text
    assert "sample 5 is broken" in text and "__getitem__" in text
    with pytest.raises(KeyError):  # the next epoch hits the same sample again
        list(loader)


def test_worker_killed_gives_clear_error():
    loader = DataLoader(_Killing(), 2, num_workers=2, timeout=20)
    t0 = time.monotonic()
    with pytest.raises(DataLoaderWorkerError, match=r"worker process \d \(pid \d+\) killed by "
                                                    r"signal SIGKILL.*batch\(es\) \[(1, )?3\]"):
        list(loader)
    assert time.monotonic() - t0 < 10  # noticed at once, not at the timeout
    assert loader._pool is None  # torn down; a new epoch starts fresh workers
    ok = DataLoader(SimpleDataset([1.0, 2.0, 3.0]), 2, num_workers=2)
    assert len(list(ok)) == 2


def test_worker_timeout():
    loader = DataLoader(_Slow(), 1, num_workers=2, timeout=0.5)
    t0 = time.monotonic()
    got = []
    with pytest.raises(DataLoaderTimeoutError, match="timed out after 0.5 seconds"):
        for b in loader:
            got.append(b.asscalar())
    assert got == [0.0, 1.0]
    assert time.monotonic() - t0 < 10
    assert loader._pool is None


def test_thread_pool_timeout():
    loader = DataLoader(_Slow().take(3), 1, num_workers=1, thread_pool=True, timeout=0.3)
    with pytest.raises(DataLoaderTimeoutError):
        list(DataLoader(SimpleDataset([0]), 1, num_workers=1, thread_pool=True,
                        batchify_fn=lambda s: time.sleep(2), timeout=0.3))
    assert len(loader) == 3


# -- transforms ---------------------------------------------------------------------------------
def _img(h=5, w=7, c=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=(h, w, c)).astype(np.uint8)


def test_to_tensor_normalize_cast(ctx):
    img = _img()
    t = T.ToTensor()(mx.nd.array(img, dtype=np.uint8))
    assert t.context == ctx and t.dtype == np.float32 and t.shape == (3, 5, 7)
    np.testing.assert_allclose(t.asnumpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    batch = T.ToTensor()(np.stack([img, img]))
    assert batch.shape == (2, 3, 5, 7)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    n = T.Normalize(mean, std)(t)
    expect = (img.transpose(2, 0, 1) / 255.0 - np.reshape(mean, (3, 1, 1))) / np.reshape(
        std, (3, 1, 1))
    np.testing.assert_allclose(n.asnumpy(), expect, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="1 or 3 values"):
        T.Normalize((0.1, 0.2), 1.0)(t)
    c = T.Cast("float64")(mx.nd.array(img, dtype=np.uint8))
    assert c.dtype == np.float64
    composed = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])
    np.testing.assert_allclose(composed(img), (img.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5,
                               rtol=1e-5, atol=1e-6)


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


def test_resize_and_crops():
    img = _img(6, 8)
    r = T.Resize((5, 9))(img)  # size is (width, height)
    assert r.shape == (9, 5, 3) and r.dtype == np.uint8
    ref = _bilinear_ref(img.astype(np.float64), 9, 5)  # OpenCV's (MXNet's) uint8 bilinear:
    assert np.abs(r.astype(np.float64) - ref).max() <= 1.0  # 11-bit weights, within one level
    near = T.Resize(4, interpolation=0)(img)
    np.testing.assert_array_equal(near, img[[0, 1, 3, 4]][:, [0, 2, 4, 6]])
    keep = T.Resize(3, keep_ratio=True)(img)
    assert keep.shape == (3, 4, 3)
    f = T.Resize(12)(img.astype(np.float32))
    np.testing.assert_allclose(f, _bilinear_ref(img.astype(np.float64), 12, 12), rtol=1e-5)
    cc = T.CenterCrop((4, 2))(mx.nd.array(img, dtype=np.uint8))
    np.testing.assert_array_equal(cc.asnumpy(), img[2:4, 2:6])
    up = T.CenterCrop(10)(img)  # larger than the image: crop what fits, then resize
    assert up.shape == (10, 10, 3)
    mx.random.seed(0)
    rrc = T.RandomResizedCrop(4)(img)
    assert rrc.shape == (4, 4, 3) and rrc.dtype == np.uint8
    mx.random.seed(0)
    np.testing.assert_array_equal(T.RandomResizedCrop(4)(img), rrc)
    full = T.RandomResizedCrop((8, 6), scale=(1.0, 1.0), ratio=(8 / 6, 8 / 6))(img)
    np.testing.assert_array_equal(full, img)


def test_random_flips_and_color():
    img = _img()
    seen = set()
    for _ in range(20):
        out = T.RandomFlipLeftRight()(img)
        assert (out == img).all() or (out == img[:, ::-1]).all()
        seen.add((out == img).all())
    assert seen == {True, False}
    np.testing.assert_array_equal(T.RandomFlipTopBottom(p=1.0)(img), img[::-1])
    batch = T.RandomFlipLeftRight(p=1.0)(mx.nd.array(np.stack([img, img]), dtype=np.uint8))
    np.testing.assert_array_equal(batch.asnumpy()[1], img[:, ::-1])
    f = img.astype(np.float32)
    assert (T.RandomBrightness(0.0)(f) == f).all()
    b = T.RandomBrightness(0.5)(f)
    ratio = b / np.maximum(f, 1)
    assert 0.5 <= ratio[f > 0].min() and np.allclose(ratio[f > 0], ratio[f > 0].flat[0])
    c = T.RandomContrast(0.5)(f)
    gray = (f * [0.299, 0.587, 0.114]).sum(-1).mean()
    alpha = (c - gray) / (f - gray)
    np.testing.assert_allclose(alpha, alpha.flat[0], rtol=1e-3)
    assert T.RandomSaturation(0.3)(img).dtype == np.uint8


# -- vision datasets ----------------------------------------------------------------------------
def _write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("cls", [gluon.data.vision.MNIST, gluon.data.vision.FashionMNIST])
def test_mnist_from_idx_files(tmp_path, cls):
    rs = np.random.RandomState(1)
    imgs, labels = rs.randint(0, 256, (5, 28, 28)), rs.randint(0, 10, 5)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    ds = cls(root=str(tmp_path), train=False)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.shape == (28, 28, 1) and x.dtype == np.uint8 and x.context == mx.cpu()
    np.testing.assert_array_equal(x.asnumpy()[..., 0], imgs[3])
    assert y == labels[3] and isinstance(y, np.int32)
    t = cls(root=str(tmp_path), train=False, transform=lambda d, lab: (d.shape, lab + 1))
    assert t[0] == ((28, 28, 1), labels[0] + 1)
    with pytest.raises(FileNotFoundError) as info:
        cls(root=str(tmp_path), train=True)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert str(tmp_path) in msg and "Downloading is not available" in msg


def test_mnist_corrupted(tmp_path):
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(3))
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 3, 28, 28) + b"\0" * 100)
    with pytest.raises(ValueError, match="truncated"):
        gluon.data.vision.MNIST(root=str(tmp_path), train=False)


def test_cifar10_from_binary(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rs = np.random.RandomState(2)
    chw = rs.randint(0, 256, (4, 3, 32, 32)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1], dtype=np.uint8)
    rec = np.concatenate([labels[:, None], chw.reshape(4, -1)], axis=1)
    (folder / "test_batch.bin").write_bytes(rec.tobytes())
    ds = gluon.data.vision.CIFAR10(root=str(tmp_path), train=False)
    assert len(ds) == 4
    x, y = ds[2]
    assert x.shape == (32, 32, 3) and x.dtype == np.uint8 and y == 4
    np.testing.assert_array_equal(x.asnumpy(), chw[2].transpose(1, 2, 0))
    with pytest.raises(FileNotFoundError, match=r"data_batch_1\.bin[\s\S]*data_batch_5\.bin"):
        gluon.data.vision.CIFAR10(root=str(tmp_path), train=True)
    loader = DataLoader(ds.transform_first(T.ToTensor()), 4)
    bx, by = next(iter(loader))
    assert bx.shape == (4, 3, 32, 32) and by.asnumpy().tolist() == [3, 1, 4, 1]


def test_digits_split_and_shapes():
    train = gluon.data.vision.Digits(train=True)
    test = gluon.data.vision.Digits(train=False)
    assert len(train) == 1347 and len(test) == 450
    x, y = train[0]
    assert x.shape == (8, 8, 1) and x.dtype == np.uint8 and 0 <= y <= 9
    from sklearn.datasets import load_digits

    ref = load_digits()
    order = np.random.RandomState(0).permutation(1797)
    np.testing.assert_array_equal(test._label, ref.target[order[1347:]])
    np.testing.assert_array_equal(x.asnumpy()[..., 0],
                                  np.rint(ref.images[order[0]] * 255 / 16).astype(np.uint8))
    assert set(np.unique(train._label)) == set(range(10))
    big = gluon.data.vision.Digits(train=False, size=28)
    bx, by = big[5]
    assert bx.shape == (28, 28, 1) and by == test[5][1]
    tr = T.Compose([T.ToTensor(), T.Normalize(0.13, 0.31)])
    loader = DataLoader(big.transform_first(tr), 64, shuffle=True, num_workers=2)
    xb, yb = next(iter(loader))
    assert xb.shape == (64, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int32


def test_interpreter_exits_with_idle_workers():
    """Fewer batches than workers leaves some workers' queues unused; stopping them at exit used
    to start a queue feeder thread during interpreter finalization, which hung forever."""
    import subprocess
    import sys
    script = ("import mxplug as mx\n"
              "from mxplug import gluon\n"
              "ds = gluon.data.ArrayDataset(mx.nd.ones((8, 2)), mx.nd.zeros((8,)))\n"
              "for d, l in gluon.data.DataLoader(ds, batch_size=4, num_workers=4):\n"
              "    pass\n"
              "loader = gluon.data.DataLoader(ds, batch_size=8, num_workers=3)\n"
              "batches = list(loader)\n"
              "print('done', len(batches))\n")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "done 1", res.stderr
