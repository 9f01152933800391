"""``ProgressBarHandler``: a tqdm bar per epoch showing the running metrics (an mxplug addition;
MXNet 1.x only logs)."""

from __future__ import annotations

import logging
import sys
import time

from .handler_base import BatchEnd, EpochBegin, EpochEnd, TrainBegin, TrainEnd
from .utils import MissingDependencyError, _check_metrics

__all__ = ["ProgressBarHandler"]


def _import_tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        raise MissingDependencyError("ProgressBarHandler needs the tqdm package: pip install "
                                     "tqdm (or pip install mxplug[bench])") from None
    return tqdm


def progress_bar_available(stream=None) -> bool:
    """Whether the Estimator shows a bar by default: tqdm installed and ``stream`` (stderr) a
    terminal, so that logs and CI output stay free of carriage-return noise."""
    stream = sys.stderr if stream is None else stream
    try:
        _import_tqdm()
    except MissingDependencyError:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _TqdmWriteHandler(logging.Handler):
    """Stands in for a console StreamHandler while bars are drawn: ``tqdm.write`` clears the
    bars, prints the record on the handler's stream and redraws them, so log lines and bars do
    not overwrite each other."""

    def __init__(self, inner, tqdm_class):
        super().__init__(inner.level)
        self.inner, self.tqdm_class = inner, tqdm_class
        for log_filter in inner.filters:
            self.addFilter(log_filter)

    def emit(self, record):
        try:
            self.tqdm_class.write(self.inner.format(record), file=self.inner.stream)
        except Exception:  # logging's contract: report, never raise
            self.handleError(record)


def _short(name):
    return name.replace("training ", "").replace("validation ", "val ")


class ProgressBarHandler(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchEnd):
    """Show a tqdm progress bar for each epoch (or evaluation) with the running ``metrics``.

    During ``fit`` the bar of epoch k reads ``Epoch k/N`` and stays on screen with the final
    training and validation values; during a stand-alone ``evaluate`` it reads ``Validation`` and
    disappears when done.

    Parameters
    ----------
    metrics : list of EvalMetric, optional
        The metrics to show; default: the estimator's training and validation metrics in
        ``fit``, its validation metrics in ``evaluate``.
    file : file-like, optional
        Where to draw the bar (default ``sys.stderr``).
    mininterval : float, default 0.1
        Least seconds between redraws; metric values are only read (a device sync) on redraws.
    priority : scalar, default 1000
        After the metric and validation handlers, before the logging handler.
    """

    def __init__(self, metrics=None, file=None, mininterval=0.1, priority=1000):
        self._tqdm = _import_tqdm()
        self.metrics = _check_metrics(metrics)
        self._auto_metrics = metrics is None
        self.file = file
        self.mininterval = mininterval
        self.priority = priority
        self._bar = None
        self._swapped = None  # (logger, its original handlers) while log lines are redirected
        self._training = False
        self._epoch = 0
        self._last_refresh = 0.0

    def _postfix(self, final=False):
        values = {}
        for metric in self.metrics:
            if self._training and not final and metric.name.startswith("validation"):
                continue  # last epoch's values (or nan) until this epoch's validation ran
            name, value = metric.get()
            names, vals = (name, value) if isinstance(name, list) else ([name], [value])
            for n, v in zip(names, vals):
                values[_short(n)] = f"{v:.4f}"
        return values

    def _redirect_logging(self, estimator):
        logger = getattr(estimator, "logger", None)
        if logger is None or self._swapped is not None:
            return
        original = list(logger.handlers)
        logger.handlers = [
            _TqdmWriteHandler(h, self._tqdm) if isinstance(h, logging.StreamHandler)
            and not isinstance(h, logging.FileHandler) else h for h in original]
        self._swapped = (logger, original)

    def _restore_logging(self):
        if self._swapped is not None:
            logger, original = self._swapped
            logger.handlers = original
            self._swapped = None

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def train_begin(self, estimator, *args, **kwargs):
        self._training = True
        self._epoch = 0
        # evaluate() inside fit() then draws no bar of its own by default (see Estimator)
        estimator._progress_bar_active = True
        self._redirect_logging(estimator)
        if self._auto_metrics:
            self.metrics = estimator.train_metrics + estimator.val_metrics

    def epoch_begin(self, estimator, *args, **kwargs):
        self._close()
        total = getattr(estimator, "_epoch_length", None)
        if self._auto_metrics and not self._training:
            self.metrics = list(estimator.val_metrics)
        if self._training:
            max_epoch = getattr(estimator, "max_epoch", None)
            desc = f"Epoch {self._epoch + 1}" + (f"/{max_epoch}" if max_epoch else "")
        else:
            desc = "Validation"
            self._redirect_logging(estimator)
        self._bar = self._tqdm(total=total, desc=desc, file=self.file, leave=self._training,
                               mininterval=self.mininterval, dynamic_ncols=True, unit="batch")
        self._last_refresh = time.monotonic()

    def batch_end(self, estimator, *args, **kwargs):
        if self._bar is None:
            return False
        now = time.monotonic()
        if self.metrics and now - self._last_refresh >= self.mininterval:
            self._bar.set_postfix(self._postfix(), refresh=False)
            self._last_refresh = now
        self._bar.update(1)
        return False

    def epoch_end(self, estimator, *args, **kwargs):
        if self._bar is not None:
            if self.metrics:  # the epoch's final values, validation included
                self._bar.set_postfix(self._postfix(final=True), refresh=False)
            self._close()
        self._epoch += 1
        if not self._training:
            self._restore_logging()
        return False

    def train_end(self, estimator, *args, **kwargs):
        self.abort(estimator)

    def abort(self, estimator):
        """Close the bar and restore the logger (the end of training, or an error)."""
        self._close()
        self._restore_logging()
        if self._training:
            estimator._progress_bar_active = False
        self._training = False
