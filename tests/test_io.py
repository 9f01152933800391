"""mx.io data iterators: DataDesc, DataBatch, DataIter, NDArrayIter, ResizeIter (MXNet 1.x)."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError


def _ids(n, width=2):
    """Rows whose first column is the sample id, so every batch says which samples it holds."""
    return np.stack([np.arange(n) + 0.5 * j for j in range(width)], axis=1).astype(np.float32)


def _epoch(it):
    """(data ids, label ids, pad) of every batch of one epoch, then reset."""
    out = []
    for batch in it:
        data = batch.data[0].asnumpy()
        label = batch.label[0].asnumpy() if batch.label else None
        out.append((data[:, 0].astype(int).tolist(),
                    None if label is None else label.astype(int).tolist(), batch.pad))
    it.reset()
    return out


def _reference(orders, batch_size, mode):
    """Expected batches of each epoch, given the sample order of each epoch (plain Python)."""
    epochs, leftover = [], []
    for order in orders:
        batches = []
        if mode == "pad":
            for start in range(0, len(order), batch_size):
                ids = list(order[start:start + batch_size])
                pad = batch_size - len(ids)
                # the data from its start again, as often as needed (MXNet repeats it)
                batches.append((ids + [order[k % len(order)] for k in range(pad)], pad))
        elif mode == "discard":
            for start in range(0, len(order) - batch_size + 1, batch_size):
                batches.append((list(order[start:start + batch_size]), 0))
        else:  # roll_over: one stream, the incomplete tail moves to the next epoch's front
            stream = leftover + list(order)
            n_full = len(stream) // batch_size
            for b in range(n_full):
                pad = len(leftover) if b == 0 else 0
                batches.append((stream[b * batch_size:(b + 1) * batch_size], pad))
            leftover = stream[n_full * batch_size:]
        epochs.append(batches)
    return epochs


@pytest.mark.parametrize("mode", ["pad", "discard", "roll_over"])
@pytest.mark.parametrize("n,batch_size", [(10, 3), (10, 5), (7, 4), (2, 3), (3, 8)])
def test_last_batch_handle_over_three_epochs(mode, n, batch_size):
    x, y = _ids(n), np.arange(n)
    it = mx.io.NDArrayIter(x, y, batch_size=batch_size, last_batch_handle=mode)
    got = [_epoch(it) for _ in range(3)]
    want = _reference([range(n)] * 3, batch_size, mode)
    for epoch, (got_batches, want_batches) in enumerate(zip(got, want)):
        assert [(d, p) for d, _, p in got_batches] == want_batches, (mode, epoch)
        for data_ids, label_ids, _ in got_batches:
            assert data_ids == label_ids  # data and labels stay aligned


def test_batch_values_shapes_and_dtypes():
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float64)
    y = np.arange(5, dtype=np.int64)
    it = mx.io.NDArrayIter(x, y, batch_size=2)
    batches = list(it)
    assert len(batches) == 3 and [b.pad for b in batches] == [0, 0, 1]
    # MXNet converts non-NDArray inputs with mx.nd.array, i.e. to float32
    assert all(b.data[0].dtype == np.float32 and b.label[0].dtype == np.float32 for b in batches)
    np.testing.assert_allclose(batches[0].data[0].asnumpy(), x[:2], rtol=1e-6)
    np.testing.assert_allclose(batches[2].data[0].asnumpy(), x[[4, 0]], rtol=1e-6)
    np.testing.assert_array_equal(batches[2].label[0].asnumpy(), [4, 0])
    assert batches[0].index is None
    assert str(batches[0]) == "DataBatch: data shapes: [(2, 2, 3)] label shapes: [(2,)]"
    assert it.provide_data == [("data", (2, 2, 3))]
    assert it.provide_label == [("softmax_label", (2,))]
    assert it.provide_data[0].dtype == np.float32 and it.provide_data[0].layout == "NCHW"
    assert it.num_data == 5 and it.batch_size == 2
    with pytest.raises(StopIteration):
        it.next()  # stays exhausted until reset
    it.reset()
    assert it.next().data[0].shape == (2, 2, 3)


def test_input_kinds_and_default_names():
    x = _ids(4)
    it = mx.io.NDArrayIter([x, x * 2], [np.arange(4), np.arange(4) + 10], batch_size=2)
    assert [d.name for d in it.provide_data] == ["_0_data", "_1_data"]
    assert [d.name for d in it.provide_label] == ["_0_softmax_label", "_1_softmax_label"]
    batch = it.next()
    np.testing.assert_array_equal(batch.data[1].asnumpy(), x[:2] * 2)
    np.testing.assert_array_equal(batch.label[1].asnumpy(), [10, 11])
    # dict entries are ordered by key, like MXNet
    it = mx.io.NDArrayIter({"b": x, "a": mx.nd.array(x * 3)}, {"lab": np.arange(4)},
                           batch_size=4)
    assert [d.name for d in it.provide_data] == ["a", "b"]
    batch = it.next()
    np.testing.assert_array_equal(batch.data[0].asnumpy(), x * 3)
    np.testing.assert_array_equal(batch.data[1].asnumpy(), x)
    # custom names, no label
    it = mx.io.NDArrayIter(mx.nd.array(x), batch_size=3, data_name="img",
                           label_name="lbl", last_batch_handle="discard")
    assert it.provide_data == [("img", (3, 2))] and it.provide_label == []
    batches = list(it)
    assert len(batches) == 1 and batches[0].label == []


def test_shuffle_is_reproducible_under_mx_random_seed():
    n = 12
    x, y = _ids(n), np.arange(n)

    def run():
        mx.random.seed(7)
        it = mx.io.NDArrayIter(x, y, batch_size=4, shuffle=True)
        return [_epoch(it) for _ in range(3)]

    first, second = run(), run()
    assert first == second
    orders = [sum((d for d, _, _ in epoch), []) for epoch in first]
    for order, epoch in zip(orders, first):
        assert sorted(order) == list(range(n))  # each epoch is a permutation
        assert all(d == lab for d, lab, _ in epoch)  # labels follow their samples
    assert orders[0] != orders[1] != orders[2]  # a new permutation each epoch
    assert orders[0] != list(range(n))
    mx.random.seed(8)
    other = mx.io.NDArrayIter(x, y, batch_size=4, shuffle=True)
    assert _epoch(other) != first[0]


def test_shuffle_with_roll_over_carries_samples_of_the_previous_permutation():
    n, batch_size = 7, 3
    mx.random.seed(1)
    it = mx.io.NDArrayIter(_ids(n), np.arange(n), batch_size=batch_size, shuffle=True,
                           last_batch_handle="roll_over")
    orders, got = [], []
    for _ in range(3):
        orders.append(it.idx.tolist())  # the permutation drawn for this epoch
        got.append(_epoch(it))
    want = _reference(orders, batch_size, "roll_over")
    assert [[(d, p) for d, _, p in epoch] for epoch in got] == want


def test_hard_reset_forgets_rolled_over_samples():
    it = mx.io.NDArrayIter(_ids(5), np.arange(5), batch_size=2, last_batch_handle="roll_over")
    assert [d for d, _, _ in _epoch(it)] == [[0, 1], [2, 3]]
    it.hard_reset()
    assert [(d, p) for d, _, p in _epoch(it)] == [([0, 1], 0), ([2, 3], 0)]


def test_on_every_backend(ctx):
    x = mx.nd.array(_ids(5), ctx=ctx)
    y = mx.nd.array(np.arange(5), ctx=ctx)
    mx.random.seed(0)
    it = mx.io.NDArrayIter(x, y, batch_size=2, shuffle=True)
    batches = list(it)
    assert [b.pad for b in batches] == [0, 0, 1]
    assert all(b.data[0].context == ctx for b in batches)
    order = np.concatenate([b.label[0].asnumpy() for b in batches]).astype(int)
    np.testing.assert_array_equal(order[:5], it.idx)
    np.testing.assert_array_equal(order[5], it.idx[0])
    data = np.concatenate([b.data[0].asnumpy() for b in batches])
    np.testing.assert_array_equal(data, _ids(5)[order])


def test_errors_name_what_is_wrong():
    x = _ids(6)
    with pytest.raises(MXNetError, match=r"at least as many samples.*label 'softmax_label' has "
                                         r"shape \(5,\).*\(6, 2\)"):
        mx.io.NDArrayIter(x, np.arange(5))
    with pytest.raises(ValueError, match=r"data '_1_data' has shape \(3, 2\)"):
        mx.io.NDArrayIter([x, x[:3]])
    with pytest.raises(ValueError, match="last_batch_handle must be one of.*'keep'"):
        mx.io.NDArrayIter(x, last_batch_handle="keep")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        mx.io.NDArrayIter(x, batch_size=0)
    with pytest.raises(ValueError, match="data must not be None"):
        mx.io.NDArrayIter(None)
    with pytest.raises(TypeError, match="data must be an NDArray.*got set"):
        mx.io.NDArrayIter({1, 2})
    with pytest.raises(TypeError, match="invalid type object for label 'y'.*not a rectangular"):
        mx.io.NDArrayIter(x, {"y": object()})
    with pytest.raises(TypeError, match="DataBatch: data must be a list"):
        mx.io.DataBatch(mx.nd.ones((2,)))
    it = mx.io.NDArrayIter(x, batch_size=4)
    list(it)
    with pytest.raises(ValueError, match="epoch is over; call reset"):
        it.getdata()


def test_data_desc():
    desc = mx.io.DataDesc("data", (4, 3, 8, 8))
    assert desc == ("data", (4, 3, 8, 8)) and desc.name == "data"
    assert desc.dtype == np.float32 and desc.layout == "NCHW"
    assert repr(desc) == "DataDesc[data,(4, 3, 8, 8),<class 'numpy.float32'>,NCHW]"
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis("NTC") == 0
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (1, 2)), ("b", (3,))],
                                    [("a", np.int32), ("b", np.float16)])
    assert descs == [("a", (1, 2)), ("b", (3,))]
    assert [d.dtype for d in descs] == [np.int32, np.float16]
    assert [d.dtype for d in mx.io.DataDesc.get_list([("a", (1,))], None)] == [np.float32]


def test_resize_iter():
    inner = mx.io.NDArrayIter(_ids(6), np.arange(6), batch_size=2)
    it = mx.io.ResizeIter(inner, 5)
    assert it.batch_size == 2 and it.provide_data == inner.provide_data
    assert [d for d, _, _ in _epoch(it)] == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    assert [d for d, _, _ in _epoch(it)] == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    carry_on = mx.io.ResizeIter(mx.io.NDArrayIter(_ids(6), batch_size=2), 2,
                                reset_internal=False)
    assert [b.data[0].asnumpy()[:, 0].tolist() for b in carry_on] == [[0, 1], [2, 3]]
    carry_on.reset()
    assert [b.data[0].asnumpy()[:, 0].tolist() for b in carry_on] == [[4, 5], [0, 1]]
    empty = mx.io.ResizeIter(mx.io.NDArrayIter(_ids(2), batch_size=3,
                                               last_batch_handle="discard"), 1)
    with pytest.raises(ValueError, match="yields no batches even right after reset"):
        empty.next()


def test_custom_data_iter_protocol():
    class Countdown(mx.io.DataIter):
        def __init__(self):
            super().__init__(batch_size=1)
            self.left = 3

        def reset(self):
            self.left = 3

        def iter_next(self):
            self.left -= 1
            return self.left >= 0

        def getdata(self):
            return [mx.nd.array([self.left])]

        def getlabel(self):
            return None

        def getpad(self):
            return 0

    it = Countdown()
    assert iter(it) is it
    batches = list(it)
    assert [b.data[0].asscalar() for b in batches] == [2, 1, 0]
    assert batches[0].label is None and batches[0].index is None and batches[0].pad == 0
    assert list(it) == []
    it.reset()
    assert len(list(it)) == 3


def test_labels_longer_than_the_data_are_cut_to_it_as_in_mxnet():
    it = mx.io.NDArrayIter(mx.nd.ones((10, 2)), mx.nd.arange(20), batch_size=5)
    assert [b.label[0].asnumpy().tolist() for b in it] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(ValueError, match="at least as many samples"):
        mx.io.NDArrayIter(mx.nd.ones((10, 2)), mx.nd.arange(5), batch_size=5)
