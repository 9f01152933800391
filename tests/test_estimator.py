"""``gluon.contrib.estimator``: fit/evaluate, default handlers and their order, logging,
checkpoints (rotation, resume), early stopping, progress bar, TensorBoard events, errors."""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings

import numpy as np
import pytest

import mxplug as mx
from mxplug import gluon
from mxplug.base import MXNetError
from mxplug.gluon.contrib import estimator as est_mod
from mxplug.gluon.contrib.estimator import (
    BatchBegin,
    BatchEnd,
    CheckpointHandler,
    EarlyStoppingHandler,
    EpochEnd,
    Estimator,
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    ProgressBarHandler,
    StoppingHandler,
    TrainBegin,
    ValidationHandler,
)

from .estimator_helpers import _dense, _estimator, _linear_data, _loader


# -- helpers --------------------------------------------------------------------------------------
def _digits(n_train=400, n_val=100):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    y = y.astype(np.float32)
    return (x[:n_train], y[:n_train]), (x[n_train:n_train + n_val], y[n_train:n_train + n_val])


def _capture(est):
    stream = io.StringIO()
    est.logger.addHandler(logging.StreamHandler(stream))
    return stream


class _Recorder(TrainBegin, BatchBegin, BatchEnd, EpochEnd):
    """Records the events it sees (and can read state at its priority)."""

    def __init__(self, log, tag, priority=0, probe=None):
        self.log, self.tag, self.priority, self.probe = log, tag, priority, probe

    def train_begin(self, estimator, *args, **kwargs):
        self.log.append((self.tag, "train_begin"))

    def batch_begin(self, estimator, *args, **kwargs):
        self.log.append((self.tag, "batch_begin"))

    def batch_end(self, estimator, *args, **kwargs):
        self.log.append((self.tag, "batch_end", self.probe(estimator) if self.probe else None))
        return False

    def epoch_end(self, estimator, *args, **kwargs):
        self.log.append((self.tag, "epoch_end"))
        return False


# -- training -------------------------------------------------------------------------------------
def test_fit_learns_digits_and_validates_with_numpy_reference():
    (xt, yt), (xv, yv) = _digits()
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    net.hybridize()
    net.initialize(mx.init.Xavier())
    est = _estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), lr=0.5)
    names = [m.name for m in est.train_metrics + est.val_metrics]
    # MXNet names the loss metric after the loss block, less its instance number
    assert names == ["training accuracy", "training softmaxcrossentropyloss",
                     "validation accuracy", "validation softmaxcrossentropyloss"]
    losses = []

    class EpochLoss(EpochEnd):
        def epoch_end(self, estimator, *args, **kwargs):
            losses.append(estimator.train_metrics[1].get()[1])

    est.fit(_loader(xt, yt, 50), _loader(xv, yv, 50), epochs=6, event_handlers=[EpochLoss()])
    assert len(losses) == 6
    assert losses[-1] < 0.5 * losses[0]
    assert est.train_metrics[0].get()[1] > 0.85
    # the validation metrics, recomputed independently in NumPy from the trained weights
    w1, b1 = net[0].weight.data().asnumpy(), net[0].bias.data().asnumpy()
    w2, b2 = net[1].weight.data().asnumpy(), net[1].bias.data().asnumpy()
    logits = np.maximum(xv @ w1.T + b1, 0) @ w2.T + b2
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    acc = (logits.argmax(1) == yv).mean()
    ce = -logp[np.arange(len(yv)), yv.astype(int)].mean()
    assert est.val_metrics[0].get()[1] == pytest.approx(acc, abs=1e-6)
    assert est.val_metrics[1].get()[1] == pytest.approx(ce, rel=1e-4)


def test_fit_on_every_backend(ctx):
    x, y = _linear_data(16)
    net = _dense()
    est = _estimator(net, lr=0.2, context=ctx)
    assert est.context == [ctx]
    before = float(((x @ net.weight.data().asnumpy().T + net.bias.data().asnumpy() - y) ** 2)
                   .mean())
    est.fit(_loader(x, y, 8), epochs=3)
    w, b = net.weight.data(), net.bias.data()
    assert w.context == ctx
    pred = x @ w.asnumpy().T + b.asnumpy()
    after = float(((pred - y) ** 2).mean())
    assert after < 0.5 * before
    # the metric (mean of L2Loss = 0.5 * squared error over the last epoch) is a real number
    assert 0 < est.train_metrics[0].get()[1] < before


def test_sgd_steps_match_a_manual_numpy_loop():
    x, y = _linear_data(12)
    net = _dense(seed=3)
    w = net.weight.data().asnumpy().copy()
    b = net.bias.data().asnumpy().copy()
    est = _estimator(net, lr=0.1)
    est.fit(_loader(x, y, 4), epochs=2)
    for _ in range(2):  # the same SGD in NumPy: grad of 0.5*(p-y)^2 summed, / batch size
        for i in range(0, 12, 4):
            xb, yb = x[i:i + 4], y[i:i + 4]
            err = xb @ w.T + b - yb
            w -= 0.1 * (err.T @ xb) / 4
            b -= 0.1 * err.sum(0) / 4
    np.testing.assert_allclose(net.weight.data().asnumpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.bias.data().asnumpy(), b, rtol=1e-5, atol=1e-6)


def test_two_contexts_split_batches_and_match_one_context():
    x, y = _linear_data(16)
    one, two = _dense(seed=1), _dense(seed=1)
    _estimator(one, lr=0.1).fit(_loader(x, y, 8), epochs=2)
    two.reset_ctx([mx.cpu(0), mx.cpu(1)])
    est = _estimator(two, lr=0.1, context=[mx.cpu(0), mx.cpu(1)])
    est.fit(_loader(x, y, 8), epochs=2)
    for ctx in (mx.cpu(0), mx.cpu(1)):
        np.testing.assert_allclose(two.weight.data(ctx).asnumpy(), one.weight.data().asnumpy(),
                                   rtol=1e-5, atol=1e-6)


def test_epochs_versus_batches():
    x, y = _linear_data(20)
    data = _loader(x, y, 4)  # 5 batches per epoch
    for kwargs, n_batches, n_epochs in (({"epochs": 2}, 10, 2), ({"batches": 7}, 7, 2),
                                        ({"batches": 5}, 5, 1)):
        log = []
        est = _estimator(_dense())
        est.fit(data, event_handlers=[_Recorder(log, "r")], **kwargs)
        assert sum(e[1] == "batch_end" for e in log) == n_batches, kwargs
        assert sum(e[1] == "epoch_end" for e in log) == n_epochs, kwargs
    est = _estimator(_dense())
    with pytest.raises(ValueError, match="one and only one of: epochs or batches"):
        est.fit(data, epochs=2, batches=3)
    with pytest.raises(ValueError, match="one and only one"):
        est.fit(data)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        est.fit(data, epochs=1.5)


class _HangGuard(TrainBegin, EpochEnd):
    """Fails the test instead of letting a fit() that never stops hang CI."""

    def __init__(self, max_epochs=4):
        self.max_epochs, self.epochs = max_epochs, 0

    def train_begin(self, estimator, *args, **kwargs):
        self.epochs = 0

    def epoch_end(self, estimator, *args, **kwargs):
        self.epochs += 1
        if self.epochs > self.max_epochs:
            raise RuntimeError("hang guard: fit() kept running epochs without batches")
        return False


def test_fit_on_data_without_batches_raises_instead_of_hanging():
    x, y = _linear_data(12)
    est = _estimator(_dense())
    with pytest.raises(ValueError, match="yielded no batches in epoch 0 .*re-iterable"):
        est.fit([], batches=3, event_handlers=[_HangGuard()])
    with pytest.raises(ValueError, match="yielded no batches in epoch 0"):
        est.fit([], epochs=2, event_handlers=[_HangGuard()])
    # a one-shot iterator: its 3 batches go in epoch 0, then it is used up
    log = []
    with pytest.raises(ValueError, match="yielded no batches in epoch 1 \\(empty, or a one-shot"):
        est.fit(iter(_loader(x, y, 4)), batches=5,
                event_handlers=[_HangGuard(), _Recorder(log, "r")])
    assert sum(e[1] == "batch_end" for e in log) == 3
    assert sum(e[1] == "epoch_end" for e in log) == 1  # the empty epoch does not end
    with pytest.raises(MXNetError, match="in epoch 1"):
        est.fit(iter(_loader(x, y, 4)), epochs=2, event_handlers=[_HangGuard()])
    # a re-iterable list of batches is fine, and a one-shot iterator is for a single epoch
    batches = list(_loader(x, y, 4))
    est.fit(batches, batches=5, event_handlers=[_HangGuard()])
    est.fit(iter(batches), epochs=1, event_handlers=[_HangGuard()])


def test_fit_and_evaluate_reject_a_data_iter_with_mxnets_error():
    x, y = _linear_data(12)
    est = _estimator(_dense())
    before = est.net.weight.data().asnumpy().copy()
    data_iter = mx.io.NDArrayIter(x, y, batch_size=4)
    message = ("Estimator only support input as Gluon DataLoader. Alternatively, you can "
               "transform your DataIter or any NDArray into Gluon DataLoader. Refer to "
               "gluon.data.dataloader")
    with pytest.raises(ValueError) as err:
        est.fit(data_iter, epochs=1)
    assert str(err.value) == message and isinstance(err.value, MXNetError)
    with pytest.raises(ValueError, match="only support input as Gluon DataLoader"):
        est.fit(_loader(x, y, 4), val_data=data_iter, epochs=1)  # rejected before training
    with pytest.raises(ValueError, match="only support input as Gluon DataLoader"):
        est.evaluate(data_iter)
    np.testing.assert_array_equal(est.net.weight.data().asnumpy(), before)
    # other iterables of (data, label) batches are still accepted
    est.fit(_loader(x, y, 4), val_data=list(_loader(x, y, 6)), epochs=1)
    assert not np.array_equal(est.net.weight.data().asnumpy(), before)


def test_default_loss_metric_is_named_after_the_loss_block():
    for loss, name in ((gluon.loss.L2Loss(), "l2loss"), (gluon.loss.L2Loss(), "l2loss"),
                       (gluon.loss.L1Loss(prefix="mse_"), "mse")):
        est = _estimator(_dense(), loss)
        assert [m.name for m in est.train_metrics] == [f"training {name}"], loss.name
        assert [m.name for m in est.val_metrics] == [f"validation {name}"]


def test_validation_uses_val_net_and_val_loss():
    x, y = _linear_data(20)
    net = _dense()

    class Doubled(gluon.HybridBlock):  # shares net's parameters, doubles its output
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def hybrid_forward(self, F, a):
            return 2 * self.inner(a)

    est = _estimator(net, lr=0.0, val_net=Doubled(net), val_loss=gluon.loss.L1Loss(),
                     train_metrics=mx.metric.MSE(), val_metrics=[mx.metric.MAE(),
                                                                 mx.metric.Loss("l1")])
    assert [m.name for m in est.val_metrics] == ["validation mae", "validation l1"]
    est.fit(_loader(x, y, 5), _loader(x, y, 5), epochs=1)
    pred = x @ net.weight.data().asnumpy().T + net.bias.data().asnumpy()
    assert est.train_metrics[0].get()[1] == pytest.approx(((pred - y) ** 2).mean(), rel=1e-5)
    mae = np.abs(2 * pred - y).mean()
    assert est.val_metrics[0].get()[1] == pytest.approx(mae, rel=1e-5)
    assert est.val_metrics[1].get()[1] == pytest.approx(mae, rel=1e-5)  # L1Loss per sample
    # evaluate() alone resets and recomputes the same values
    est.val_metrics[0].update([mx.nd.ones((2, 1))], [mx.nd.zeros((2, 1))])
    est.evaluate(_loader(x, y, 4))  # (MAE averages per-batch means: even batches)
    assert est.val_metrics[0].get()[1] == pytest.approx(mae, rel=1e-5)


def test_custom_batch_processor():
    x, y = _linear_data(8)
    seen = []

    class Processor(est_mod.BatchProcessor):
        def fit_batch(self, estimator, train_batch, batch_axis=0):
            seen.append(train_batch[0].shape)
            return super().fit_batch(estimator, train_batch, batch_axis)

    est = _estimator(_dense(), batch_processor=Processor())
    est.fit(_loader(x, y, 4), epochs=1)
    assert seen == [(4, 3), (4, 3)]
    with pytest.raises(ValueError, match="fit_batch\\(\\) and evaluate_batch\\(\\)"):
        _estimator(_dense(), batch_processor=object())


# -- handlers: defaults, order, logging -----------------------------------------------------------
def test_default_handlers_and_priorities():
    x, y = _linear_data(8)
    est = _estimator(_dense())
    est.max_epoch, est.max_batch = 1, None
    handlers = est._prepare_default_handlers(_loader(x, y, 4), None, progress_bar=False)
    assert [type(h) for h in handlers] == [GradientUpdateHandler, MetricHandler,
                                           ValidationHandler, StoppingHandler, LoggingHandler]
    # a handler of a default type that the user gives replaces the default one
    mine = LoggingHandler(log_interval=1, metrics=est.train_metrics)
    handlers = est._prepare_default_handlers(None, [mine], progress_bar=False)
    assert [h for h in handlers if isinstance(h, LoggingHandler)] == [mine]
    assert not any(isinstance(h, ValidationHandler) for h in handlers)  # no val_data


def test_custom_handler_order_relative_to_defaults():
    x, y = _linear_data(8)
    net = _dense()
    est = _estimator(net, lr=0.1)
    log = []
    weight_now = lambda e: float(net.weight.data().asnumpy()[0, 0])  # noqa: E731
    count = lambda e: e.train_metrics[0].num_inst  # noqa: E731
    handlers = [_Recorder(log, "late", priority=10, probe=count),
                _Recorder(log, "before_update", priority=-3000, probe=weight_now),
                _Recorder(log, "after_update", priority=-1500, probe=weight_now),
                _Recorder(log, "before_metrics", priority=-1500, probe=count),
                _Recorder(log, "after_metrics", priority=-500, probe=count)]
    est.fit(_loader(x, y, 4), epochs=1, event_handlers=handlers)
    ends = [e for e in log if e[1] == "batch_end"]
    assert [e[0] for e in ends[:5]] == ["before_update", "after_update", "before_metrics",
                                       "after_metrics", "late"]  # equal priorities keep order
    assert ends[0][2] != ends[1][2]  # the GradientUpdateHandler (-2000) ran in between
    assert (ends[2][2], ends[3][2], ends[4][2]) == (0, 4, 4)  # MetricHandler at -1000


def test_logging_output():
    (xt, yt), _ = _digits(40, 0)
    net = gluon.nn.Dense(10)
    est = _estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), lr=0.1, initializer=mx.init.One())
    stream = _capture(est)
    est.fit(_loader(xt, yt, 10), epochs=2,
            event_handlers=[LoggingHandler(log_interval=2, metrics=est.train_metrics)])
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Training begin: using optimizer SGD with current learning rate 0.1000 "
    assert lines[1] == "Train for 2 epochs."
    assert lines[2] == "[Epoch 0] Begin, current learning rate: 0.1000"
    assert lines[3].startswith("[Epoch 0][Batch 0][Samples 10] time/interval: ")
    assert lines[4].startswith("[Epoch 0][Batch 2][Samples 30] time/interval: ")
    acc, loss = (m.get()[1] for m in est.train_metrics)
    assert lines[-1].startswith("Train finished using total ")
    assert lines[-1].endswith(f"with 2 epochs. training accuracy: {acc:.4f}, "
                              f"training softmaxcrossentropyloss: {loss:.4f}")
    assert lines[-2].startswith("[Epoch 1] Finished in ")
    with pytest.raises(ValueError, match="log_interval"):
        LoggingHandler(log_interval="batch")


def test_default_logger_writes_to_stdout(capsys):
    x, y = _linear_data(8)
    net = _dense()
    est = Estimator(net, gluon.loss.L2Loss(),
                    trainer=gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1}))
    est.fit(_loader(x, y, 4), epochs=1, progress_bar=False)
    out = capsys.readouterr().out
    assert "Train for 1 epochs." in out and "training l2loss: " in out


def test_handler_with_foreign_metric_is_rejected():
    x, y = _linear_data(8)
    est = _estimator(_dense())
    foreign = mx.metric.MSE()
    with pytest.raises(ValueError, match="LoggingHandler refers to a metric instance"):
        est.fit(_loader(x, y, 4), epochs=1, event_handlers=[LoggingHandler(metrics=[foreign])])


# -- checkpoints ----------------------------------------------------------------------------------
def _files(path):
    """Every name in ``path``, dot-files too: a leftover ``.tmp-*`` of a save shows up."""
    return sorted(os.listdir(path))


def test_checkpoints_written_rotated_and_resumed(tmp_path):
    x, y = _linear_data(12)
    data = _loader(x, y, 4)  # 3 batches per epoch
    straight = _dense(seed=5)
    _estimator(straight, lr=0.05, momentum=0.9).fit(data, epochs=4)

    first = _dense(seed=5)
    est = _estimator(first, lr=0.05, momentum=0.9)
    est.fit(data, epochs=2, event_handlers=[CheckpointHandler(str(tmp_path), max_checkpoints=1)])
    assert _files(tmp_path) == ["model-epoch1batch6.params", "model-epoch1batch6.states"]

    resumed = _dense(seed=99)  # different weights: the checkpoint must replace them
    est = _estimator(resumed, lr=0.05, momentum=0.9)
    stream = _capture(est)
    ck = CheckpointHandler(str(tmp_path), max_checkpoints=2, resume_from_checkpoint=True)
    log = []
    est.fit(data, epochs=4, event_handlers=[ck, _Recorder(log, "r")])
    assert "Checkpoint resumed from epoch 1 batch 6, continue to train for 2 epochs" in \
        stream.getvalue()
    assert sum(e[1] == "epoch_end" for e in log) == 2
    assert _files(tmp_path) == ["model-epoch2batch9.params", "model-epoch2batch9.states",
                                "model-epoch3batch12.params", "model-epoch3batch12.states"]
    # momentum states came back too: the result equals four uninterrupted epochs
    np.testing.assert_allclose(resumed.weight.data().asnumpy(),
                               straight.weight.data().asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(resumed.bias.data().asnumpy(), straight.bias.data().asnumpy(),
                               rtol=1e-5, atol=1e-6)
    est = _estimator(_dense())
    with pytest.raises(ValueError, match="maximum number of epochs 4 reached"):
        est.fit(data, epochs=4, event_handlers=[
            CheckpointHandler(str(tmp_path), resume_from_checkpoint=True)])


def test_batch_period_checkpoints_and_resume(tmp_path):
    x, y = _linear_data(12)
    data = _loader(x, y, 4)  # 3 batches per epoch
    straight = _dense(seed=2)
    _estimator(straight, lr=0.05).fit(data, batches=9)
    est = _estimator(_dense(seed=2), lr=0.05)
    est.fit(data, batches=7, event_handlers=[
        CheckpointHandler(str(tmp_path), "run", epoch_period=None, batch_period=3)])
    assert _files(tmp_path) == ["run-epoch0batch2.params", "run-epoch0batch2.states",
                                "run-epoch1batch5.params", "run-epoch1batch5.states"]
    os.remove(tmp_path / "run-epoch1batch5.params")  # resume from the first one
    os.remove(tmp_path / "run-epoch1batch5.states")
    resumed = _dense(seed=7)
    est = _estimator(resumed, lr=0.05)
    log = []
    est.fit(data, batches=9, event_handlers=[
        CheckpointHandler(str(tmp_path), "run", epoch_period=None, batch_period=3,
                          resume_from_checkpoint=True), _Recorder(log, "r")])
    assert sum(e[1] == "batch_end" for e in log) == 6  # batches 3..8; the data restarts
    assert _files(tmp_path) == ["run-epoch0batch2.params", "run-epoch0batch2.states",
                                "run-epoch1batch5.params", "run-epoch1batch5.states",
                                "run-epoch2batch8.params", "run-epoch2batch8.states"]
    np.testing.assert_allclose(resumed.weight.data().asnumpy(),
                               straight.weight.data().asnumpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="same kind of period"):
        _estimator(_dense()).fit(data, epochs=2, event_handlers=[
            CheckpointHandler(str(tmp_path), "run", resume_from_checkpoint=True,
                              batch_period=2)])


def test_checkpoint_save_best_and_symbol(tmp_path):
    x, y = _linear_data(12)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(1, in_units=3))
    net.initialize()
    net.hybridize()
    est = _estimator(net, lr=0.05)
    monitor = est.val_metrics[0]
    values = []

    class Spy(EpochEnd):
        priority = -900  # after validation, before the checkpoint (0)

        def epoch_end(self, estimator, *args, **kwargs):
            values.append(monitor.get()[1])

    ck = CheckpointHandler(str(tmp_path), monitor=monitor, save_best=True, mode="min",
                           max_checkpoints=10)
    est.fit(_loader(x, y, 4), _loader(x, y, 6), epochs=3, event_handlers=[ck, Spy()])
    assert ck.best == pytest.approx(min(values))
    files = _files(tmp_path)
    assert not [f for f in files if f.startswith(".tmp-")]
    assert "model-best.params" in files and "model-best.states" in files
    assert "model-symbol.json" in files
    best = gluon.nn.HybridSequential()
    best.add(gluon.nn.Dense(1, in_units=3))
    best.load_parameters(str(tmp_path / "model-best.params"))
    np.testing.assert_allclose(best[0].weight.data().asnumpy(), net[0].weight.data().asnumpy())
    sym = mx.sym.load(str(tmp_path / "model-symbol.json"))
    assert any("weight" in n for n in sym.list_arguments())
    with pytest.raises(ValueError, match="to save the best model"):
        CheckpointHandler(str(tmp_path), save_best=True)


def test_reused_checkpoint_handler_keeps_its_second_run(tmp_path):
    x, y = _linear_data(12)
    data = _loader(x, y, 4)  # 3 batches per epoch
    est = _estimator(_dense())
    ck = CheckpointHandler(str(tmp_path), max_checkpoints=2)
    expected = ["model-epoch0batch3.params", "model-epoch0batch3.states",
                "model-epoch1batch6.params", "model-epoch1batch6.states"]
    for _ in range(2):  # the second fit() rewrites the same names: rotation must keep them
        est.fit(data, epochs=2, event_handlers=[ck])
        assert _files(tmp_path) == expected
        assert ck.saved_checkpoints == ["model-epoch0batch3", "model-epoch1batch6"]
    est.fit(data, epochs=3, event_handlers=[ck])  # one more epoch: the oldest one goes
    assert _files(tmp_path) == expected[2:] + ["model-epoch2batch9.params",
                                               "model-epoch2batch9.states"]


def test_checkpoint_writes_states_before_params(tmp_path, monkeypatch):
    x, y = _linear_data(8)
    renamed = []
    real_replace = os.replace

    def spy(src, dst):
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    _estimator(_dense()).fit(_loader(x, y, 4), epochs=2, event_handlers=[
        CheckpointHandler(str(tmp_path), max_checkpoints=1)])
    # a .params on disk (what resuming looks for) means its .states is already complete
    assert renamed == ["model-epoch0batch2.states", "model-epoch0batch2.params",
                       "model-epoch1batch4.states", "model-epoch1batch4.params"]
    monkeypatch.undo()

    # a crash inside the .params save leaves the old pair intact and no temporary file
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    net = _dense()
    monkeypatch.setattr(net, "save_parameters", crash)
    with pytest.raises(KeyboardInterrupt):
        _estimator(net).fit(_loader(x, y, 4), epochs=3, event_handlers=[
            CheckpointHandler(str(tmp_path), max_checkpoints=1)])
    assert _files(tmp_path) == ["model-epoch0batch2.states", "model-epoch1batch4.params",
                                "model-epoch1batch4.states"]


def test_resume_skips_a_checkpoint_without_states(tmp_path):
    x, y = _linear_data(12)
    data = _loader(x, y, 4)  # 3 batches per epoch
    straight = _dense(seed=4)
    _estimator(straight, lr=0.05, momentum=0.9).fit(data, epochs=4)
    _estimator(_dense(seed=4), lr=0.05, momentum=0.9).fit(
        data, epochs=2, event_handlers=[CheckpointHandler(str(tmp_path))])
    os.remove(tmp_path / "model-epoch1batch6.states")
    resumed = _dense(seed=8)
    est = _estimator(resumed, lr=0.05, momentum=0.9)
    stream = _capture(est)
    with pytest.warns(RuntimeWarning, match="skipping checkpoint model-epoch1batch6 .*"
                                            "model-epoch1batch6.states is missing"):
        est.fit(data, epochs=4, event_handlers=[
            CheckpointHandler(str(tmp_path), resume_from_checkpoint=True)])
    assert "resumed from epoch 0 batch 3, continue to train for 3 epochs" in stream.getvalue()
    # epoch 1 was retrained and saved again, complete this time
    assert _files(tmp_path) == [f"model-epoch{e}batch{3 * (e + 1)}.{ext}"
                                for e in range(4) for ext in ("params", "states")]
    np.testing.assert_allclose(resumed.weight.data().asnumpy(),
                               straight.weight.data().asnumpy(), rtol=1e-5, atol=1e-6)


# -- early stopping -------------------------------------------------------------------------------
class _Scripted(mx.metric.EvalMetric):
    """A metric whose value at epoch k is values[k] (reset at each epoch begin)."""

    def __init__(self, values, name="scripted loss"):
        self.values = list(values)
        super().__init__(name)
        self.epoch = -1  # the MetricHandler resets at each epoch begin

    def reset(self):
        super().reset()
        self.epoch = getattr(self, "epoch", -1) + 1

    def update(self, labels, preds):
        self.sum_metric, self.num_inst = self.values[min(self.epoch, len(self.values) - 1)], 1


@pytest.mark.parametrize("values, kwargs, stopped_epoch", [
    ([5, 4, 4.5, 4.2, 4.1, 3], {"patience": 2}, 3),
    ([5, 4, 3.9, 3.8, 3.7, 3.6], {"patience": 1, "min_delta": 0.5}, 2),
    ([0.5, 0.6, 0.7, 0.6, 0.65], {"patience": 2, "mode": "max"}, 4),  # 'scripted acc' is max
    ([5, 4, 3, 2, 1, 0], {"patience": 2, "baseline": -1.0}, 1),
])
def test_early_stopping_fires_at_the_right_epoch(values, kwargs, stopped_epoch):
    x, y = _linear_data(8)
    metric = _Scripted(values, "scripted acc" if kwargs.get("mode") == "max" else "scripted loss")
    est = _estimator(_dense(), train_metrics=[metric, mx.metric.Loss("l2")])
    stream = _capture(est)
    early = EarlyStoppingHandler(monitor=metric, **kwargs)
    log = []
    est.fit(_loader(x, y, 4), epochs=20, event_handlers=[early, _Recorder(log, "r")])
    assert early.stopped_epoch == stopped_epoch
    assert sum(e[1] == "epoch_end" for e in log) == stopped_epoch + 1
    assert f"[Epoch {stopped_epoch}] EarlyStoppingHandler: early stopping" in stream.getvalue()


def test_early_stopping_auto_mode_and_errors():
    assert EarlyStoppingHandler(mx.metric.Accuracy()).mode == "max"
    assert EarlyStoppingHandler(mx.metric.F1()).mode == "max"
    assert EarlyStoppingHandler(mx.metric.MSE()).mode == "min"
    with pytest.raises(ValueError, match="as monitor"):
        EarlyStoppingHandler("loss")
    with pytest.raises(ValueError, match="CompositeEvalMetric is not supported"):
        EarlyStoppingHandler(mx.metric.CompositeEvalMetric([mx.metric.MSE()]))


# -- progress bar and TensorBoard -----------------------------------------------------------------
def test_progress_bar_shows_running_metrics():
    pytest.importorskip("tqdm", reason="the progress bar is optional (tqdm)")
    (xt, yt), (xv, yv) = _digits(40, 20)
    est = _estimator(gluon.nn.Dense(10), gluon.loss.SoftmaxCrossEntropyLoss(),
                     initializer=mx.init.Xavier())
    out = io.StringIO()
    bar = ProgressBarHandler(file=out, mininterval=0)
    est.fit(_loader(xt, yt, 10), _loader(xv, yv, 10), epochs=2, event_handlers=[bar])
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "4/4" in text
    acc = est.val_metrics[0].get()[1]
    assert f"val accuracy={acc:.4f}" in text and "softmaxcrossentropyloss=" in text


def test_progress_bar_cleans_up_after_an_error():
    pytest.importorskip("tqdm", reason="the progress bar is optional (tqdm)")
    x, y = _linear_data(8)
    est = _estimator(_dense())
    stream = _capture(est)
    handlers_before = list(est.logger.handlers)

    class Boom(BatchEnd):
        def batch_end(self, estimator, *args, **kwargs):
            assert estimator._progress_bar_active
            assert estimator.logger.handlers != handlers_before  # lines go through tqdm.write
            estimator.logger.info("inside")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        est.fit(_loader(x, y, 4), epochs=1, event_handlers=[
            Boom(), ProgressBarHandler(file=io.StringIO())])
    assert est.logger.handlers == handlers_before and not est._progress_bar_active
    assert "inside" in stream.getvalue()


def test_progress_bar_default_needs_a_terminal(monkeypatch):
    pytest.importorskip("tqdm", reason="the progress bar is optional (tqdm)")
    from mxplug.gluon.contrib.estimator.progress import progress_bar_available

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress_bar_available(Tty()) is True
    assert progress_bar_available(io.StringIO()) is False
    est = _estimator(_dense())
    est.max_epoch = 1
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not any(isinstance(h, ProgressBarHandler)
                   for h in est._prepare_default_handlers(None, None))
    monkeypatch.setattr(sys, "stderr", Tty())
    assert any(isinstance(h, ProgressBarHandler)
               for h in est._prepare_default_handlers(None, None))
    assert not any(isinstance(h, ProgressBarHandler)
                   for h in est._prepare_default_handlers(None, None, progress_bar=False))
    assert any(isinstance(h, ProgressBarHandler)
               for h in est._prepare_default_validation_handlers(None))
    est._progress_bar_active = True  # evaluate() inside a fit() that draws bars: no nested bar
    assert not any(isinstance(h, ProgressBarHandler)
                   for h in est._prepare_default_validation_handlers(None))


def test_bad_arguments_name_what_was_wrong():
    net = _dense()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="loss must be a gluon.loss.Loss.*got str"):
        Estimator(net, "l2", trainer=trainer)
    with pytest.raises(ValueError, match="val_loss must be a gluon.loss.Loss"):
        Estimator(net, gluon.loss.L2Loss(), trainer=trainer, val_loss=mx.metric.MSE())
    with pytest.raises(ValueError, match="trainer must be a gluon.Trainer instance, got str"):
        Estimator(net, gluon.loss.L2Loss(), trainer="sgd")
    with pytest.raises(ValueError, match="has no trainable parameters"):
        Estimator(gluon.nn.Sequential(), gluon.loss.L2Loss())
    with pytest.raises(ValueError, match="the trainer has no parameters"):
        Estimator(net, gluon.loss.L2Loss(), trainer=gluon.Trainer([], "sgd"))
    with pytest.raises(ValueError, match="context must be a Context or a list of Context"):
        Estimator(net, gluon.loss.L2Loss(), trainer=trainer, context="cpu")
    with pytest.raises(ValueError, match="metrics must be an EvalMetric.*got str"):
        Estimator(net, gluon.loss.L2Loss(), trainer=trainer, train_metrics=["acc"])
    est = Estimator(net, gluon.loss.L2Loss(), trainer=trainer)
    with pytest.raises(ValueError, match="event_handlers must be an EventHandler.*got str"):
        est.fit([], epochs=1, event_handlers=["log"])
    with pytest.raises(ValueError, match="train_data must be an iterable"):
        est.fit(3, epochs=1)
    with pytest.raises(ValueError, match="each batch must be a \\(data, label\\) pair"):
        est.fit([mx.nd.ones((2, 3))], epochs=1)
    with pytest.raises(ValueError, match="max_checkpoints must be None or an int"):
        CheckpointHandler("unused-dir", max_checkpoints=-1)


def test_default_trainer_and_initializer_warnings():
    x, y = _linear_data(8)
    net = gluon.nn.Dense(1)  # not initialised: the estimator does it (deferred)
    with pytest.warns(UserWarning, match="default SGD optimizer with learning rate 0.001"):
        est = Estimator(net, gluon.loss.L2Loss(), initializer=mx.init.One())
    assert est.trainer.learning_rate == pytest.approx(0.001)
    est.logger.handlers.clear()
    est.fit(_loader(x, y, 4), batches=1)
    w = net.weight.data().asnumpy()
    assert w.shape == (1, 3) and np.all(np.abs(w - 1) < 0.01)  # One(), then a tiny step
    with pytest.warns(UserWarning, match="already fully initialized"):
        Estimator(net, gluon.loss.L2Loss(), trainer=est.trainer, initializer=mx.init.Zero())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Estimator(net, gluon.loss.L2Loss(), trainer=est.trainer)


def test_fit_names_a_dataset_given_instead_of_batches_and_a_metric_string():
    x, y = _linear_data(8)
    est = _estimator(_dense())
    with pytest.raises(mx.MXNetError,
                       match=r"train_data is a dataset of single samples \(ArrayDataset\)"):
        est.fit(mx.gluon.data.ArrayDataset(x, y), epochs=1)
    with pytest.raises(mx.MXNetError, match=r"got the string 'acc': use mx.metric.create"):
        Estimator(_dense(), mx.gluon.loss.L2Loss(), train_metrics="acc")
