"""mx.io file iterators (CSVIter, LibSVMIter, MNISTIter) and PrefetchingIter (MXNet 1.x).

Expected values come from NumPy on the data written here and from the examples in MXNet's
documentation of each iterator.
"""

from __future__ import annotations

import gc
import gzip
import logging
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError

DOC_ROWS = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]], np.float32)


def _write_csv(path, rows, fmt="%.9g"):
    np.savetxt(path, np.asarray(rows).reshape(len(rows), -1), delimiter=",", fmt=fmt)
    return str(path)


def _epoch(it):
    """[(data, label, pad, index)] of one pass, then reset()."""
    out = [(b.data[0].asnumpy(), b.label[0].asnumpy(), b.pad, np.asarray(b.index))
           for b in it]
    it.reset()
    return out


# -- CSVIter --------------------------------------------------------------------------------------
def test_csv_round_batch_follows_mxnet_doc_example(tmp_path):
    # MXNet's CSVIter docs: 4 rows, batch_size 3: rows [0 1 2], [3 0 1] (pad 2); after reset()
    # the next pass starts where the wrap stopped: [2 3 0] (pad 1); then [1 2 3], then afresh.
    it = mx.io.CSVIter(data_csv=_write_csv(tmp_path / "d.csv", DOC_ROWS), data_shape=(3,),
                       batch_size=3)
    expected_epochs = [([[0, 1, 2], [3, 0, 1]], [0, 2]), ([[2, 3, 0]], [1]),
                       ([[1, 2, 3]], [0]), ([[0, 1, 2], [3, 0, 1]], [0, 2])]
    for rows, pads in expected_epochs:
        got = _epoch(it)
        assert [b[2] for b in got] == pads
        for (data, label, _, index), r in zip(got, rows):
            np.testing.assert_array_equal(data, DOC_ROWS[r])
            np.testing.assert_array_equal(index, r)
            np.testing.assert_array_equal(label, np.zeros(3, np.float32))


def test_csv_without_round_batch_pads_with_stale_rows(tmp_path):
    # MXNet's doc example: the padded tail holds the previous batch's rows; pad says how many.
    it = mx.io.CSVIter(data_csv=_write_csv(tmp_path / "d.csv", DOC_ROWS), data_shape=(3,),
                       batch_size=3, round_batch=False, dtype="int32")
    for _ in range(2):  # both passes alike
        got = _epoch(it)
        assert [b[2] for b in got] == [0, 2]
        np.testing.assert_array_equal(got[0][0], DOC_ROWS[[0, 1, 2]].astype(np.int32))
        np.testing.assert_array_equal(got[1][0], DOC_ROWS[[3, 1, 2]].astype(np.int32))
        assert got[1][0].dtype == np.int32


def test_csv_shapes_labels_and_descs(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((7, 6)).astype(np.float32)
    labels = rng.integers(0, 5, (7, 2)).astype(np.float32)
    it = mx.io.CSVIter(data_csv=_write_csv(tmp_path / "d.csv", data), data_shape=(2, 3),
                       label_csv=_write_csv(tmp_path / "l.csv", labels), label_shape=(2,),
                       batch_size=4, data_name="x", label_name="y")
    assert it.provide_data == [("x", (4, 2, 3))] and it.provide_data[0].dtype == np.float32
    assert it.provide_label == [("y", (4, 2))]
    got = _epoch(it)
    order = [0, 1, 2, 3, 4, 5, 6, 0]  # the last batch wraps to row 0
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]),
                                  data[order].reshape(8, 2, 3))
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), labels[order])
    assert [g[2] for g in got] == [0, 1]


def test_csv_single_column_label_is_one_dimensional(tmp_path):
    data = np.arange(10, dtype=np.float32).reshape(5, 2)
    it = mx.io.CSVIter(data_csv=_write_csv(tmp_path / "d.csv", data), data_shape=(2,),
                       label_csv=_write_csv(tmp_path / "l.csv", np.arange(5) * 10),
                       batch_size=5)
    assert it.provide_label[0].shape == (5,)
    assert it.iter_next()
    np.testing.assert_array_equal(it.getlabel().asnumpy(), [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(it.getdata().asnumpy(), data)
    assert it.getpad() == 0 and it.getindex().tolist() == [0, 1, 2, 3, 4]
    assert not it.iter_next()


def test_csv_int64_values_are_parsed_exactly(tmp_path):
    big = 2147483648  # MXNet's own test value: not representable in float32 + 1
    path = tmp_path / "d.csv"
    path.write_text(f"{big},{big + 1}\n{big + 2},-{big}\n")
    it = mx.io.CSVIter(data_csv=str(path), data_shape=(2,), batch_size=2, dtype="int64")
    np.testing.assert_array_equal(next(it).data[0].asnumpy(),
                                  np.array([[big, big + 1], [big + 2, -big]], np.int64))


def test_csv_directory_reads_files_in_name_order(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    _write_csv(folder / "b.csv", DOC_ROWS[2:])
    _write_csv(folder / "a.csv", DOC_ROWS[:2])
    it = mx.io.CSVIter(data_csv=str(folder), data_shape=(3,), batch_size=4)
    np.testing.assert_array_equal(next(it).data[0].asnumpy(), DOC_ROWS)


def test_csv_bad_input_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5\n")
    with pytest.raises(MXNetError, match=r"line 2 of data file .*bad\.csv.* has 2 values, but "
                                         r"data_shape \(3,\) needs 3"):
        mx.io.CSVIter(data_csv=str(bad), data_shape=(3,))
    bad.write_text("1,2,3\n4,x,6\n")
    with pytest.raises(MXNetError, match=r"line 2 .*cannot read 'x' as float64"):
        mx.io.CSVIter(data_csv=str(bad), data_shape=(3,))
    bad.write_text("1,2.5,3\n")
    with pytest.raises(MXNetError, match=r"line 1 .*cannot read '2.5' as int64"):
        mx.io.CSVIter(data_csv=str(bad), data_shape=(3,), dtype="int32")
    with pytest.raises(MXNetError, match="does not exist"):
        mx.io.CSVIter(data_csv=str(tmp_path / "missing.csv"), data_shape=(3,))
    good = _write_csv(tmp_path / "d.csv", DOC_ROWS)
    with pytest.raises(MXNetError, match=r"label_csv .* has 2 rows, fewer than the 4 rows"):
        mx.io.CSVIter(data_csv=good, data_shape=(3,),
                      label_csv=_write_csv(tmp_path / "l.csv", [[1], [2]]))
    with pytest.raises(MXNetError, match="batch_size 9 is too large for 4 rows"):
        next(mx.io.CSVIter(data_csv=good, data_shape=(3,), batch_size=9))
    with pytest.raises(MXNetError, match="data_shape must be"):
        mx.io.CSVIter(data_csv=good, data_shape=(0, 3))
    with pytest.raises(MXNetError, match="outside the range of dtype int8"):
        mx.io.CSVIter(data_csv=_write_csv(tmp_path / "big.csv", [[300]]), data_shape=(1,),
                      dtype="int8")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MXNetError, match="has no rows"):
        mx.io.CSVIter(data_csv=str(tmp_path / "empty.csv"), data_shape=(3,))


# -- LibSVMIter -----------------------------------------------------------------------------------
LIBSVM_DATA = "1.0 0:0.5 2:1.2\n-2.0\n-3.0 0:0.6 1:2.4 2:1.2\n4 2:-1.2\n"
LIBSVM_DENSE = np.array([[0.5, 0, 1.2], [0, 0, 0], [0.6, 2.4, 1.2], [0, 0, -1.2]], np.float32)


def test_libsvm_follows_mxnet_doc_example(tmp_path):
    (tmp_path / "data.t").write_text(LIBSVM_DATA)
    it = mx.io.LibSVMIter(data_libsvm=str(tmp_path / "data.t"), data_shape=(3,), batch_size=3)
    first, second = _epoch(it)
    np.testing.assert_array_equal(first[0], LIBSVM_DENSE[[0, 1, 2]])
    np.testing.assert_array_equal(first[1], [1, -2, -3])
    np.testing.assert_array_equal(second[0], LIBSVM_DENSE[[3, 0, 1]])  # wraps around
    np.testing.assert_array_equal(second[1], [4, 1, -2])
    assert (first[2], second[2]) == (0, 2)


def test_libsvm_label_file_gives_dense_labels(tmp_path):
    (tmp_path / "data.t").write_text(LIBSVM_DATA)
    (tmp_path / "label.t").write_text("1.0\n-2.0 0:0.125\n-3.0 2:1.2\n4 1:1.0 2:-1.2\n")
    it = mx.io.LibSVMIter(data_libsvm=str(tmp_path / "data.t"), data_shape=(3,),
                          label_libsvm=str(tmp_path / "label.t"), label_shape=(3,),
                          batch_size=3)
    assert it.provide_label[0].shape == (3, 3)
    batch = next(it)
    np.testing.assert_array_equal(batch.label[0].asnumpy(),
                                  np.array([[0, 0, 0], [0.125, 0, 0], [0, 0, 1.2]], np.float32))


def test_libsvm_parts_and_errors(tmp_path):
    (tmp_path / "data.t").write_text(LIBSVM_DATA)
    path = str(tmp_path / "data.t")
    part = mx.io.LibSVMIter(data_libsvm=path, data_shape=(3,), batch_size=2, num_parts=2,
                            part_index=1)
    np.testing.assert_array_equal(next(part).data[0].asnumpy(), LIBSVM_DENSE[2:])
    with pytest.raises(MXNetError, match=r"line 1 of data file .* feature index 2 outside the "
                                         r"shape \(2,\)"):
        mx.io.LibSVMIter(data_libsvm=path, data_shape=(2,))
    with pytest.raises(MXNetError, match="only round_batch=True"):
        mx.io.LibSVMIter(data_libsvm=path, data_shape=(3,), round_batch=False)
    with pytest.raises(MXNetError, match=r"without label_libsvm, label_shape must be \(1,\)"):
        mx.io.LibSVMIter(data_libsvm=path, data_shape=(3,), label_shape=(2,))
    (tmp_path / "dup.t").write_text("1 0:1 0:2\n")
    with pytest.raises(MXNetError, match="repeats a feature index"):
        mx.io.LibSVMIter(data_libsvm=str(tmp_path / "dup.t"), data_shape=(3,))


# -- MNISTIter ------------------------------------------------------------------------------------
def _write_idx(path, array, compress=False):
    raw = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                   *array.shape)
    raw += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return str(path)


@pytest.fixture
def mnist(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (10, 3, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 10, dtype=np.uint8)
    return (images, labels, _write_idx(tmp_path / "img-idx3-ubyte", images),
            _write_idx(tmp_path / "lbl-idx1-ubyte", labels))


def test_mnist_values_shapes_and_full_batches_only(mnist):
    images, labels, img_path, lbl_path = mnist
    it = mx.io.MNISTIter(image=img_path, label=lbl_path, batch_size=4, shuffle=False,
                         silent=True)
    assert it.provide_data == [("data", (4, 1, 3, 4))] and it.provide_label == [
        ("softmax_label", (4,))]
    got = _epoch(it)
    assert len(got) == 2  # 10 images: the last 2 make no full batch
    for k, (data, label, pad, index) in enumerate(got):
        rows = slice(4 * k, 4 * k + 4)
        np.testing.assert_array_equal(data, (images[rows] / 256.0).astype(np.float32)[:, None])
        np.testing.assert_array_equal(label, labels[rows].astype(np.float32))
        assert pad == 0 and index.tolist() == list(range(10))[rows]
    flat = mx.io.MNISTIter(image=img_path, label=lbl_path, batch_size=4, shuffle=False,
                           flat=True, silent=True)
    assert next(flat).data[0].shape == (4, 12)


def test_mnist_shuffle_is_seeded_and_fixed_across_epochs(mnist):
    images, labels, img_path, lbl_path = mnist

    def orders(seed):
        it = mx.io.MNISTIter(image=img_path, label=lbl_path, batch_size=5, seed=seed,
                             silent=True)
        epochs = []
        for _ in range(2):
            batches = _epoch(it)
            for data, label, _, index in batches:  # every sample still matches its label
                np.testing.assert_array_equal(data[:, 0], images[index.astype(int)] / 256.0)
                np.testing.assert_array_equal(label, labels[index.astype(int)])
            epochs.append(np.concatenate([b[3] for b in batches]).tolist())
        assert epochs[0] == epochs[1]  # MXNet shuffles once, at creation
        return epochs[0]

    first = orders(3)
    assert sorted(first) == list(range(10)) and first != list(range(10))
    assert orders(3) == first and orders(4) != first


def test_mnist_gzip_parts_and_log(mnist, tmp_path, caplog):
    images, labels, _, _ = mnist
    img_gz = _write_idx(tmp_path / "img.gz", images, compress=True)
    lbl_gz = _write_idx(tmp_path / "lbl.gz", labels, compress=True)
    with caplog.at_level(logging.INFO):
        it = mx.io.MNISTIter(image=img_gz, label=lbl_gz, batch_size=5, shuffle=False,
                             num_parts=2, part_index=1)
    assert "MNISTIter: load 5 images, shuffle=0, shape=(5, 1, 3, 4)" in caplog.text
    batch = next(it)
    np.testing.assert_array_equal(batch.label[0].asnumpy(), labels[5:])
    np.testing.assert_array_equal(batch.index, np.arange(5, 10))


def test_mnist_bad_files_are_named(mnist, tmp_path):
    images, labels, img_path, lbl_path = mnist
    with pytest.raises(MXNetError, match=r"image file .*lbl-idx1-ubyte.* is not an idx-ubyte "
                                         r"file with 3 dimension"):
        mx.io.MNISTIter(image=lbl_path, label=lbl_path, silent=True)
    cut = tmp_path / "cut-idx3-ubyte"
    cut.write_bytes(open(img_path, "rb").read()[:-7])
    with pytest.raises(MXNetError, match=r"is truncated: its header says \(10, 3, 4\)"):
        mx.io.MNISTIter(image=str(cut), label=lbl_path, silent=True)
    few = _write_idx(tmp_path / "few-idx1-ubyte", labels[:9])
    with pytest.raises(MXNetError, match="has 10 images but label file .* has 9 labels"):
        mx.io.MNISTIter(image=img_path, label=few, silent=True)
    with pytest.raises(MXNetError, match="batch_size 128 is larger than the 10 images"):
        mx.io.MNISTIter(image=img_path, label=lbl_path, silent=True)
    with pytest.raises(MXNetError, match="does not exist"):
        mx.io.MNISTIter(image=str(tmp_path / "nope"), label=lbl_path, silent=True)


# -- PrefetchingIter ------------------------------------------------------------------------------
def _ndarray_iters():
    a = np.arange(40, dtype=np.float32).reshape(10, 4)
    return [mx.io.NDArrayIter(a, np.arange(10), batch_size=3),
            mx.io.NDArrayIter({"data": -a}, {"softmax_label": np.arange(10) * 2}, batch_size=3)]


@pytest.mark.timeout(30)
def test_prefetching_equals_the_wrapped_iterators():
    direct = _ndarray_iters()
    with mx.io.PrefetchingIter(_ndarray_iters(), rename_data=[{"data": "a"}, {"data": "b"}],
                               rename_label=[{"softmax_label": "la"},
                                             {"softmax_label": "lb"}]) as piter:
        assert [d.name for d in piter.provide_data] == ["a", "b"]
        assert [d.name for d in piter.provide_label] == ["la", "lb"]
        assert piter.batch_size == 3
        for _ in range(2):
            got = list(piter)
            want = list(zip(*direct))
            assert len(got) == len(want) == 4
            for batch, parts in zip(got, want):
                assert batch.pad == parts[0].pad
                for x, y in zip(batch.data + batch.label,
                                [p.data[0] for p in parts] + [p.label[0] for p in parts]):
                    np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())
            piter.reset()
            for it in direct:
                it.reset()


@pytest.mark.timeout(30)
def test_prefetching_keeps_mxnet_round_batch_reset_rule(tmp_path):
    path = _write_csv(tmp_path / "d.csv", DOC_ROWS)
    direct = mx.io.CSVIter(data_csv=path, data_shape=(3,), batch_size=3)
    piter = mx.io.PrefetchingIter(mx.io.CSVIter(data_csv=path, data_shape=(3,), batch_size=3))
    for _ in range(3):
        got, want = _epoch(piter), _epoch(direct)
        assert [g[2] for g in got] == [w[2] for w in want]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g[0], w[0])
    assert piter.close()


class _Recording(mx.io.DataIter):
    """Batches 0..n-1; records the thread of each next() and fails at batch ``fail_at``."""

    def __init__(self, n=4, fail_at=None):
        super().__init__(batch_size=1)
        self.n, self.fail_at, self.cur, self.threads = n, fail_at, 0, []
        self.provide_data = [mx.io.DataDesc("data", (1,))]
        self.provide_label = []

    def reset(self):
        self.cur = 0

    def next(self):
        self.threads.append(threading.current_thread())
        if self.cur == self.fail_at:
            self.fail_at = None  # fails once
            raise ValueError(f"broken record {self.cur}")
        if self.cur >= self.n:
            raise StopIteration
        self.cur += 1
        return mx.io.DataBatch([mx.nd.array([self.cur - 1])], [], pad=0)


@pytest.mark.timeout(30)
def test_prefetching_reads_ahead_on_a_background_thread():
    source = _Recording()
    piter = mx.io.PrefetchingIter(source)
    assert next(piter).data[0].asscalar() == 0
    deadline = time.monotonic() + 10
    while len(source.threads) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # batch 1 is read before anyone asks for it
    assert len(source.threads) == 2
    assert all(t is not threading.main_thread() for t in source.threads)
    assert [b.data[0].asscalar() for b in piter] == [1, 2, 3]
    piter.close()
    with pytest.raises(MXNetError, match="closed"):
        next(piter)


@pytest.mark.timeout(30)
def test_prefetching_raises_the_iterators_exception_and_recovers():
    piter = mx.io.PrefetchingIter([_Recording(fail_at=2), _Recording()])
    assert [next(piter).data[0].asscalar() for _ in range(2)] == [0, 1]
    with pytest.raises(ValueError, match="broken record 2"):
        next(piter)
    piter.reset()
    assert [b.data[1].asscalar() for b in piter] == [0, 1, 2, 3]
    piter.close()


@pytest.mark.timeout(30)
def test_prefetching_mismatch_and_shutdown():
    piter = mx.io.PrefetchingIter([_Recording(n=2), _Recording(n=3)])
    next(piter), next(piter)
    with pytest.raises(MXNetError, match=r"iterator\(s\) \[0\] ended while the others"):
        next(piter)
    threads = [f._thread for f in piter._fetchers]
    del piter
    gc.collect()
    for t in threads:  # an unreferenced PrefetchingIter stops its threads
        t.join(10)
        assert not t.is_alive()
    with pytest.raises(MXNetError, match="rename_data needs one dict per iterator"):
        mx.io.PrefetchingIter([_Recording()], rename_data=[{}, {}])
    with pytest.raises(MXNetError, match="'data' of iterator 0 has no entry"):
        mx.io.PrefetchingIter([_Recording()], rename_data=[{"x": "y"}])


# -- lazy ImageRecordIter -------------------------------------------------------------------------
def test_io_import_does_not_load_the_image_record_module():
    code = ("import sys, mxplug.io as io; assert 'ImageRecordIter' not in vars(io); "
            "print('mxplug.image.record_iter' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(AttributeError, match="no attribute 'NoSuchIter'"):
        mx.io.NoSuchIter  # noqa: B018 - the attribute access is the test


def test_uint8_variant_passes_uint8_unless_told_otherwise():
    calls = []
    variant = mx.io._uint8_variant(lambda *args, **kwargs: calls.append((args, kwargs)))
    variant("a.rec", batch_size=2)
    variant(dtype="float32")
    assert calls == [(("a.rec",), {"batch_size": 2, "dtype": "uint8"}),
                     ((), {"dtype": "float32"})]


def test_contrib_dataloader_iter_pads_the_last_batch_and_trains_a_module():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.float32)
    loader = mx.gluon.data.DataLoader(mx.gluon.data.ArrayDataset(x, y), batch_size=4)
    it = mx.contrib.io.DataLoaderIter(loader, dtype="float64")
    assert it.provide_data[0].name == "data" and it.provide_data[0].shape == (4, 3)
    assert it.provide_label[0].name == "softmax_label"
    batches = list(it)
    assert [b.pad for b in batches] == [0, 0, 2]
    last = batches[-1].data[0]
    assert last.dtype == np.float64 and last.shape == (4, 3)
    np.testing.assert_allclose(last.asnumpy()[:2], x[8:])
    assert (last.asnumpy()[2:] == 0).all()      # zeros, not uninitialised rows
    assert len(list(it)) == 0                   # an epoch ends until reset
    it.reset()
    assert len(list(it)) == 3
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.fit(mx.contrib.io.DataLoaderIter(loader), num_epoch=1)
    with pytest.raises(mx.MXNetError, match="it is empty"):
        mx.contrib.io.DataLoaderIter([])
