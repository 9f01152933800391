"""``TensorBoardHandler``: scalars and histograms for TensorBoard through ``tensorboardX`` (an
mxplug addition; MXNet 1.x pointed users at the separate ``mxboard`` package)."""

from __future__ import annotations

from ....base import MXNetValueError
from .handler_base import BatchEnd, EpochEnd, TrainBegin, TrainEnd
from .utils import MissingDependencyError, _check_metrics

__all__ = ["TensorBoardHandler"]


def _import_summary_writer(who="TensorBoardHandler"):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise MissingDependencyError(f"{who} needs the optional tensorboardX package: pip "
                                     f"install mxplug[tensorboard]") from None
    return SummaryWriter


def _tag(metric_name):
    # 'training accuracy' -> 'training/accuracy': TensorBoard groups tags by their first part
    return metric_name.replace(" ", "/", 1)


class TensorBoardHandler(TrainBegin, TrainEnd, EpochEnd, BatchEnd):
    """Write the metrics, the learning rate and histograms of the parameters and their
    gradients to a TensorBoard event file in ``log_dir``.

    Parameters
    ----------
    log_dir : str
        Directory of the event files (``tensorboard --logdir`` reads it).
    metrics : list of EvalMetric, optional
        Scalars to write, tagged by name (``'training accuracy'`` -> ``training/accuracy``);
        the estimator's training and validation metrics by default (its validation metrics
        when only ``evaluate`` runs).
    log_interval : int or 'epoch', default 'epoch'
        ``'epoch'``: write at each epoch end with the epoch index as the step; an int k: also
        write the training metrics every k batches, and the step is then the number of batches
        trained so far everywhere.
    histogram_period : int, optional, default 1
        Write histograms of every parameter (``weights/<name>``) and gradient
        (``gradients/<name>``) every this many epochs (None: never).
    log_learning_rate : bool, default True
        Write ``learning_rate`` with the metrics.
    priority : scalar, default 500
        After the metric and validation handlers have updated the values.
    **writer_kwargs
        Passed on to ``tensorboardX.SummaryWriter`` (``flush_secs``, ``filename_suffix``...).
    """

    def __init__(self, log_dir, metrics=None, log_interval="epoch", histogram_period=1,
                 log_learning_rate=True, priority=500, **writer_kwargs):
        self._summary_writer = _import_summary_writer()
        if log_interval != "epoch" and (not isinstance(log_interval, int)
                                        or isinstance(log_interval, bool) or log_interval < 1):
            raise MXNetValueError(f"TensorBoardHandler: log_interval must be a positive integer "
                                  f"or 'epoch', got {log_interval!r}")
        if histogram_period is not None and (not isinstance(histogram_period, int)
                                             or histogram_period < 0):
            raise MXNetValueError(f"TensorBoardHandler: histogram_period must be None or an "
                                  f"int >= 0, got {histogram_period!r}")
        self.log_dir = log_dir
        self.metrics = _check_metrics(metrics)
        self._auto_metrics = metrics is None
        self.log_interval = log_interval
        self.histogram_period = histogram_period
        self.log_learning_rate = log_learning_rate
        self.priority = priority
        self._writer_kwargs = writer_kwargs
        self.writer = None
        self.current_epoch = 0
        self.total_batches = 0  # across fit() calls, so steps keep increasing

    def _get_writer(self):
        if self.writer is None:
            self.writer = self._summary_writer(logdir=self.log_dir, **self._writer_kwargs)
        return self.writer

    def _step(self):
        return self.current_epoch if self.log_interval == "epoch" else self.total_batches

    def _write_scalars(self, estimator, metrics, step):
        writer = self._get_writer()
        for metric in metrics:
            names, values = metric.get()
            if not isinstance(names, list):
                names, values = [names], [values]
            for name, value in zip(names, values):
                writer.add_scalar(_tag(name), float(value), step)
        trainer = getattr(estimator, "trainer", None)
        if self.log_learning_rate and trainer is not None:
            writer.add_scalar("learning_rate", float(trainer.learning_rate), step)

    def _write_histograms(self, estimator, step):
        writer = self._get_writer()
        for name, param in estimator.net.collect_params().items():
            if param._data is None:  # deferred, never run
                continue
            # host copies are the point here: tensorboardX takes NumPy arrays
            writer.add_histogram(f"weights/{name}", param.list_data()[0].asnumpy(), step)
            if param.grad_req != "null":
                writer.add_histogram(f"gradients/{name}", param.list_grad()[0].asnumpy(), step)

    def train_begin(self, estimator, *args, **kwargs):
        self._get_writer()
        self.current_epoch = 0
        if self._auto_metrics:
            self.metrics = estimator.train_metrics + estimator.val_metrics

    def batch_end(self, estimator, *args, **kwargs):
        self.total_batches += 1
        if self.log_interval != "epoch" and self.total_batches % self.log_interval == 0:
            # validation values are only fresh at epoch ends
            training = [m for m in self.metrics if not m.name.startswith("validation")]
            self._write_scalars(estimator, training, self.total_batches)
        return False

    def epoch_end(self, estimator, *args, **kwargs):
        step = self._step()
        if self._auto_metrics and not self.metrics:  # evaluate() without fit()
            self.metrics = list(estimator.val_metrics)
        self._write_scalars(estimator, self.metrics, step)
        if self.histogram_period and (self.current_epoch + 1) % self.histogram_period == 0:
            self._write_histograms(estimator, step)
        self.current_epoch += 1
        self.writer.flush()
        return False

    def train_end(self, estimator, *args, **kwargs):
        self.close()

    def close(self):
        """Flush and close the event file (a later event opens a new one)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
