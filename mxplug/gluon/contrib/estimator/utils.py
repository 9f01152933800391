"""Helpers of the Estimator: metric checks, the metric suggested for a loss, the comparison of
a monitored metric with its best value, typed errors."""

from __future__ import annotations

import math
import warnings

from ....base import MXNetError, MXNetValueError
from ....metric import Accuracy, CompositeEvalMetric, EvalMetric

__all__ = ["EstimatorError", "MissingDependencyError"]


class EstimatorError(MXNetValueError, AssertionError):
    """A bad Estimator setup that MXNet reports with ``assert`` (an AssertionError there);
    also a ValueError, so either ``except`` clause catches it."""


class MissingDependencyError(MXNetError, ImportError):
    """An optional package an event handler needs is not installed."""


def _check_metrics(metrics):
    """``metrics`` as a flat list of EvalMetric (a CompositeEvalMetric is unpacked)."""
    if isinstance(metrics, CompositeEvalMetric):
        return [m for metric in metrics.metrics for m in _check_metrics(metric)]
    if isinstance(metrics, EvalMetric):
        return [metrics]
    if isinstance(metrics, str):
        raise MXNetValueError(f"metrics must be an EvalMetric or a list of EvalMetric (see "
                              f"mxplug.metric), got the string {metrics!r}: use "
                              f"mx.metric.create({metrics!r})")
    metrics = list(metrics or [])
    bad = [m for m in metrics if not isinstance(m, EvalMetric)]
    if bad:
        raise MXNetValueError(f"metrics must be an EvalMetric or a list of EvalMetric (see "
                              f"mxplug.metric), got {type(bad[0]).__name__}: {bad[0]!r}")
    return metrics


def _suggest_metric_for_loss(loss):
    """Accuracy for a softmax cross-entropy loss, as MXNet suggests; else nothing."""
    from ...loss import SoftmaxCrossEntropyLoss

    return Accuracy() if isinstance(loss, SoftmaxCrossEntropyLoss) else None


def _check_handler_metric_ref(handler, known_metrics):
    """Every metric a handler holds in an attribute named ``*metric*`` must be one of the
    estimator's: a copy would never be updated, so the handler would report stale values."""
    for attribute in dir(handler):
        if "metric" not in attribute or attribute.startswith("__"):
            continue
        reference = getattr(handler, attribute, None)
        if not reference or callable(reference):
            continue
        refs = reference if isinstance(reference, (list, tuple)) else [reference]
        for metric in refs:
            if isinstance(metric, EvalMetric) and not any(metric is m for m in known_metrics):
                raise MXNetValueError(
                    f"Event handler {type(handler).__name__} refers to a metric instance "
                    f"{metric.name!r} outside of the known training and validation metrics. "
                    f"Please use the metrics from estimator.train_metrics and "
                    f"estimator.val_metrics instead.")


class _Monitor:
    """Which way a monitored metric improves: ``mode`` is ``'min'`` or ``'max'``.

    Shared by the handlers that track a best value (early stopping, save-best checkpoints).
    """

    def __init__(self, mode):
        if mode not in ("min", "max"):
            raise MXNetValueError(f"_Monitor: mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode

    @classmethod
    def for_metric(cls, monitor, mode, owner):
        """``mode`` resolved for ``monitor``: an unknown mode warns and becomes ``'auto'``;
        ``'auto'`` is ``'max'`` for accuracy- and F1-like names, ``'min'`` otherwise."""
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{owner}: mode {mode!r} is unknown, falling back to 'auto' (max for "
                          f"accuracy and f1 metrics, min otherwise)", RuntimeWarning, stacklevel=3)
            mode = "auto"
        if mode == "auto":
            name = monitor.get()[0].lower()
            # MXNet wrote ``'acc' or 'f1' in name`` (always true); this is what its docs describe
            mode = "max" if ("acc" in name or "f1" in name) else "min"
        return cls(mode)

    @property
    def worst(self):
        """The starting best value, which every real value improves on."""
        return -math.inf if self.mode == "max" else math.inf

    def improved(self, value, best, min_delta=0):
        """Whether ``value`` beats ``best`` by more than ``min_delta`` (a magnitude)."""
        if self.mode == "max":
            return value - abs(min_delta) > best
        return value + abs(min_delta) < best
