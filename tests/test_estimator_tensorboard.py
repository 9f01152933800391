"""TensorBoard event files: the Estimator's TensorBoardHandler and the Module API's
mx.contrib.tensorboard.LogMetricsCallback (both through the optional tensorboardX)."""

from __future__ import annotations

import os
import struct
import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.gluon.contrib.estimator import EpochEnd, TensorBoardHandler

from .estimator_helpers import _dense, _estimator, _linear_data, _loader


def _read_events(log_dir):
    from tensorboardX.proto import event_pb2

    events = []
    for fname in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, fname), "rb") as f:
            blob = f.read()
        pos = 0
        while pos < len(blob):  # TFRecord: u64 length, u32 crc, payload, u32 crc
            (length,) = struct.unpack("<Q", blob[pos:pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(blob[pos + 12:pos + 12 + length])
            events.append(event)
            pos += 12 + length + 4
    scalars, histograms = {}, {}
    for event in events:
        for value in event.summary.value:
            if value.HasField("histo"):
                histograms.setdefault(value.tag, []).append((event.step, value.histo))
            else:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars, histograms


def test_tensorboard_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX", reason="TensorBoardHandler is optional (tensorboardX)")
    x, y = _linear_data(12)
    net = _dense()
    est = _estimator(net, lr=0.1)
    expected = []

    class Spy(EpochEnd):
        priority = 400  # after validation, next to the TensorBoard handler (500)

        def epoch_end(self, estimator, *args, **kwargs):
            expected.append([m.get()[1] for m in estimator.train_metrics + estimator.val_metrics])

    tb = TensorBoardHandler(str(tmp_path))
    est.fit(_loader(x, y, 4), _loader(x, y, 6), epochs=3, event_handlers=[tb, Spy()])
    scalars, histograms = _read_events(tmp_path)
    train = [v for _, v in sorted(scalars["training/l2loss"])]
    val = [v for _, v in sorted(scalars["validation/l2loss"])]
    np.testing.assert_allclose(train, [e[0] for e in expected], rtol=1e-6)
    np.testing.assert_allclose(val, [e[1] for e in expected], rtol=1e-6)
    assert [s for s, _ in sorted(scalars["learning_rate"])] == [0, 1, 2]
    assert all(v == pytest.approx(0.1) for _, v in scalars["learning_rate"])
    name = net.weight.name
    steps, histo = histograms[f"weights/{name}"][-1]
    assert steps == 2 and histo.num == 3
    assert histo.min == pytest.approx(net.weight.data().asnumpy().min(), rel=1e-6)
    assert f"gradients/{name}" in histograms


def test_tensorboard_batch_interval(tmp_path):
    pytest.importorskip("tensorboardX", reason="TensorBoardHandler is optional (tensorboardX)")
    x, y = _linear_data(12)
    est = _estimator(_dense())
    tb = TensorBoardHandler(str(tmp_path), log_interval=2, histogram_period=None)
    est.fit(_loader(x, y, 4), epochs=2, event_handlers=[tb])
    scalars, histograms = _read_events(tmp_path)
    # every 2 batches, plus each epoch end; steps count batches
    assert [s for s, _ in scalars["training/l2loss"]] == [2, 3, 4, 6, 6]
    assert not histograms


def test_tensorboard_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails as if uninstalled
    with pytest.raises(ImportError, match=r"pip install mxplug\[tensorboard\]"):
        TensorBoardHandler("unused")
    with pytest.raises(MXNetError):
        TensorBoardHandler("unused")


# -- argument errors ------------------------------------------------------------------------------


def test_contrib_tensorboard_log_metrics_callback(tmp_path):
    pytest.importorskip("tensorboardX", reason="LogMetricsCallback is optional (tensorboardX)")
    from mxplug.model import BatchEndParam

    cb = mx.contrib.tensorboard.LogMetricsCallback(str(tmp_path), prefix="train")
    metric = mx.metric.Accuracy()
    for epoch, (pred, label) in enumerate([([[0.9, 0.1], [0.2, 0.8]], [0, 0]),
                                           ([[0.9, 0.1], [0.2, 0.8]], [0, 1])]):
        metric.reset()
        metric.update([mx.nd.array(label)], [mx.nd.array(pred)])
        cb(BatchEndParam(epoch=epoch, nbatch=0, eval_metric=metric, locals=None))
    cb(BatchEndParam(epoch=2, nbatch=0, eval_metric=None, locals=None))  # nothing to log
    cb.close()
    scalars, _ = _read_events(tmp_path)
    assert sorted(scalars["train-accuracy"]) == [(0, 0.5), (1, 1.0)]
    monkey = pytest.MonkeyPatch()
    monkey.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"LogMetricsCallback needs .*mxplug\[tensorboard\]"):
        mx.contrib.tensorboard.LogMetricsCallback(str(tmp_path))
    monkey.undo()
