"""Event handlers of the Estimator (MXNet 1.x ``gluon.contrib.estimator.event_handler``).

The default handlers (stopping, gradient update, metrics, validation, logging) are here;
:class:`CheckpointHandler`, :class:`ProgressBarHandler` and :class:`TensorBoardHandler` live in
their own modules and are re-exported from this one.
"""

from __future__ import annotations

import math
import time
import warnings

from ....base import MXNetValueError
from ....metric import CompositeEvalMetric, EvalMetric
from ....metric import Loss as MetricLoss
from .checkpoint import CheckpointHandler
from .handler_base import (
    BatchBegin,
    BatchEnd,
    EpochBegin,
    EpochEnd,
    EventHandler,
    TrainBegin,
    TrainEnd,
)
from .progress import ProgressBarHandler
from .tensorboard import TensorBoardHandler
from .utils import _check_metrics, _Monitor

__all__ = ["EventHandler", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin",
           "BatchEnd", "StoppingHandler", "MetricHandler", "ValidationHandler", "LoggingHandler",
           "CheckpointHandler", "EarlyStoppingHandler", "GradientUpdateHandler",
           "ProgressBarHandler", "TensorBoardHandler"]


class StoppingHandler(TrainBegin, BatchEnd, EpochEnd):
    """Stop training when ``max_epoch`` epochs or ``max_batch`` batches are done.

    Parameters
    ----------
    max_epoch : int, optional
        Number of epochs to train (read from ``estimator.max_epoch`` at train begin).
    max_batch : int, optional
        Number of batches to train (read from ``estimator.max_batch`` at train begin).
    """

    def __init__(self, max_epoch=None, max_batch=None):
        self.max_epoch = max_epoch
        self.max_batch = max_batch
        self.current_batch = 0
        self.current_epoch = 0
        self.stop_training = False

    def train_begin(self, estimator, *args, **kwargs):
        self.max_epoch = estimator.max_epoch
        self.max_batch = estimator.max_batch
        self.current_batch = 0
        self.current_epoch = 0
        self.stop_training = False

    def batch_end(self, estimator, *args, **kwargs):
        self.current_batch += 1
        if self.current_batch == self.max_batch:
            self.stop_training = True
        return self.stop_training

    def epoch_end(self, estimator, *args, **kwargs):
        self.current_epoch += 1
        if self.current_epoch == self.max_epoch:
            self.stop_training = True
        return self.stop_training


class MetricHandler(EpochBegin, BatchEnd):
    """Reset ``metrics`` at epoch begin and update them at batch end: a ``metric.Loss`` gets
    the loss values, every other metric gets ``(label, pred)``.

    Parameters
    ----------
    metrics : list of EvalMetric
        The metrics to update (``estimator.train_metrics`` by default).
    priority : scalar, default -1000
        Runs before the handlers that read the metrics.
    """

    def __init__(self, metrics, priority=-1000):
        self.metrics = _check_metrics(metrics)
        self.priority = priority

    def epoch_begin(self, estimator, *args, **kwargs):
        for metric in self.metrics:
            metric.reset()

    def batch_end(self, estimator, *args, **kwargs):
        pred, label, loss = kwargs["pred"], kwargs["label"], kwargs["loss"]
        for metric in self.metrics:
            if isinstance(metric, MetricLoss):
                metric.update(0, loss)
            else:
                metric.update(label, pred)


class ValidationHandler(TrainBegin, BatchEnd, EpochEnd):
    """Run ``eval_fn(val_data=..., batch_axis=..., event_handlers=...)`` every
    ``epoch_period`` epochs and/or every ``batch_period`` batches.

    Parameters
    ----------
    val_data : iterable
        The validation batches.
    eval_fn : callable
        Usually ``estimator.evaluate``.
    epoch_period : int, default 1
        Validate every this many epochs (None: never at epoch end).
    batch_period : int, optional
        Validate every this many batches (None: never at batch end).
    priority : scalar, default -1000
        Runs before the handlers that read the validation metrics.
    event_handlers : EventHandler or list of EventHandler, optional
        Handlers passed on to ``eval_fn``.
    """

    def __init__(self, val_data, eval_fn, epoch_period=1, batch_period=None, priority=-1000,
                 event_handlers=None):
        self.val_data = val_data
        self.eval_fn = eval_fn
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.current_batch = 0
        self.current_epoch = 0
        self.priority = priority
        self.event_handlers = event_handlers

    def train_begin(self, estimator, *args, **kwargs):
        self.current_batch = 0
        self.current_epoch = 0

    def batch_end(self, estimator, *args, **kwargs):
        self.current_batch += 1
        if self.batch_period and self.current_batch % self.batch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis,
                         event_handlers=self.event_handlers)

    def epoch_end(self, estimator, *args, **kwargs):
        self.current_epoch += 1
        if self.epoch_period and self.current_epoch % self.epoch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis,
                         event_handlers=self.event_handlers)


class LoggingHandler(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchBegin, BatchEnd):
    """Log the optimizer, learning rate, times and ``metrics`` to ``estimator.logger``.

    Parameters
    ----------
    log_interval : int or 'epoch', default 'epoch'
        ``'epoch'``: log at each epoch's begin and end; an int k: also log every k batches.
    metrics : list of EvalMetric, optional
        The metrics to log.
    priority : scalar, default inf
        Runs last, when every other handler has updated its state.
    """

    def __init__(self, log_interval="epoch", metrics=None, priority=math.inf):
        if log_interval != "epoch" and (not isinstance(log_interval, int)
                                        or isinstance(log_interval, bool) or log_interval < 1):
            raise MXNetValueError(f"LoggingHandler: log_interval must be either a positive "
                                  f"integer or the string 'epoch', got {log_interval!r}")
        self.metrics = _check_metrics(metrics)
        self.batch_index = 0
        self.current_epoch = 0
        self.processed_samples = 0
        self.priority = priority
        self.log_interval = log_interval
        self.log_interval_time = 0
        self.train_start = self.epoch_start = self.batch_start = time.time()

    def train_begin(self, estimator, *args, **kwargs):
        self.train_start = time.time()
        trainer = estimator.trainer
        estimator.logger.info("Training begin: using optimizer %s with current learning rate "
                              "%.4f ", type(trainer.optimizer).__name__, trainer.learning_rate)
        if estimator.max_epoch:
            estimator.logger.info("Train for %d epochs.", estimator.max_epoch)
        else:
            estimator.logger.info("Train for %d batches.", estimator.max_batch)
        self.current_epoch = 0
        self.batch_index = 0
        self.processed_samples = 0
        self.log_interval_time = 0

    def train_end(self, estimator, *args, **kwargs):
        train_time = time.time() - self.train_start
        msg = f"Train finished using total {int(train_time)}s with {self.current_epoch} epochs. "
        estimator.logger.info(self._append_metrics(msg))

    def batch_begin(self, estimator, *args, **kwargs):
        if isinstance(self.log_interval, int):
            self.batch_start = time.time()

    def batch_end(self, estimator, *args, **kwargs):
        if isinstance(self.log_interval, int):
            self.log_interval_time += time.time() - self.batch_start
            self.processed_samples += _batch_size(kwargs["batch"])
            if self.batch_index % self.log_interval == 0:
                msg = (f"[Epoch {self.current_epoch}][Batch {self.batch_index}][Samples "
                       f"{self.processed_samples}] time/interval: {self.log_interval_time:.3f}s ")
                self.log_interval_time = 0
                estimator.logger.info(self._append_metrics(msg))
        self.batch_index += 1

    def epoch_begin(self, estimator, *args, **kwargs):
        self.epoch_start = time.time()
        # the estimator names its metrics 'training ...' / 'validation ...' (MXNet's convention)
        if any("training" in metric.name for metric in self.metrics):
            estimator.logger.info("[Epoch %d] Begin, current learning rate: %.4f",
                                  self.current_epoch, estimator.trainer.learning_rate)
        else:
            estimator.logger.info("Validation Begin")

    def epoch_end(self, estimator, *args, **kwargs):
        epoch_time = time.time() - self.epoch_start
        msg = f"[Epoch {self.current_epoch}] Finished in {epoch_time:.3f}s, "
        estimator.logger.info(self._append_metrics(msg))
        self.current_epoch += 1
        self.batch_index = 0

    def _append_metrics(self, msg):
        for metric in self.metrics:
            name, value = metric.get()
            msg += f"{name}: {value:.4f}, "
        return msg.rstrip(", ")


def _batch_size(batch):
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return first.shape[0] if hasattr(first, "shape") else len(first)


class EarlyStoppingHandler(TrainBegin, EpochEnd, TrainEnd):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : EvalMetric
        One of ``estimator.train_metrics`` / ``estimator.val_metrics``.
    min_delta : float, default 0
        The least change that counts as an improvement.
    patience : int, default 0
        Epochs without improvement to wait before stopping.
    mode : {'auto', 'min', 'max'}, default 'auto'
        Whether smaller or larger is better; ``'auto'``: larger for accuracy/F1 names.
    baseline : float, optional
        The value to improve on at the start (default: +-inf).
    """

    def __init__(self, monitor, min_delta=0, patience=0, mode="auto", baseline=None):
        if not isinstance(monitor, EvalMetric):
            raise MXNetValueError("EarlyStoppingHandler: please provide one of the metric "
                                  "objects from estimator.train_metrics and "
                                  f"estimator.val_metrics as monitor, got {monitor!r}")
        if isinstance(monitor, CompositeEvalMetric):
            raise MXNetValueError("CompositeEvalMetric is not supported for "
                                  "EarlyStoppingHandler, please specify a simple metric instead.")
        self.monitor = monitor
        self.baseline = baseline
        self.patience = patience
        self._monitor = _Monitor.for_metric(monitor, mode, "EarlyStoppingHandler")
        self.mode = self._monitor.mode
        self.min_delta = min_delta
        self.wait = 0
        self.stopped_epoch = 0
        self.current_epoch = 0
        self.stop_training = False
        self.best = self._monitor.worst

    def train_begin(self, estimator, *args, **kwargs):
        self.wait = 0
        self.stopped_epoch = 0
        self.current_epoch = 0
        self.stop_training = False
        self.best = self.baseline if self.baseline is not None else self._monitor.worst

    def epoch_end(self, estimator, *args, **kwargs):
        name, value = self.monitor.get()
        if value is None or math.isnan(value):
            warnings.warn(f"EarlyStoppingHandler: {name} is not updated, make sure you pass one "
                          f"of the metric objects from estimator.train_metrics and "
                          f"estimator.val_metrics as monitor", RuntimeWarning, stacklevel=2)
        elif self._monitor.improved(value, self.best, self.min_delta):
            self.best = value
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = self.current_epoch
                self.stop_training = True
        self.current_epoch += 1
        return self.stop_training

    def train_end(self, estimator, *args, **kwargs):
        if self.stop_training:
            estimator.logger.info("[Epoch %d] EarlyStoppingHandler: early stopping due to %s "
                                  "not improving", self.stopped_epoch, self.monitor.get()[0])


class GradientUpdateHandler(BatchEnd):
    """Call ``estimator.trainer.step(batch_size)`` at batch end, the batch size being the sum
    of the loss arrays' lengths along ``estimator.batch_axis``.

    Parameters
    ----------
    priority : scalar, default -2000
        Runs first, so the other handlers see the updated weights.
    """

    def __init__(self, priority=-2000):
        self.priority = priority

    def batch_end(self, estimator, *args, **kwargs):
        loss = kwargs["loss"]
        losses = loss if isinstance(loss, (list, tuple)) else [loss]
        batch_size = sum(l.shape[estimator.batch_axis] if l.ndim else 1 for l in losses)
        estimator.trainer.step(batch_size)
