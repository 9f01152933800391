"""The event-handler mixins: a handler subclasses the events it reacts to.

The Estimator calls ``train_begin``, ``epoch_begin``, ``batch_begin``, ``batch_end``,
``epoch_end`` and ``train_end`` on the handlers that subclass the matching mixin, in ascending
``priority`` (0 when a handler has none). A ``batch_end`` or ``epoch_end`` that returns True asks
the Estimator to stop.
"""

from __future__ import annotations

from ....base import MXNetValueError

__all__ = ["EventHandler", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin",
           "BatchEnd"]


class EventHandler:
    """Base class of every event handler."""


class TrainBegin(EventHandler):
    """Called once before the first epoch."""

    def train_begin(self, estimator, *args, **kwargs):
        pass


class TrainEnd(EventHandler):
    """Called once after the last epoch."""

    def train_end(self, estimator, *args, **kwargs):
        pass


class EpochBegin(EventHandler):
    """Called before each pass over the data (also once per ``evaluate``)."""

    def epoch_begin(self, estimator, *args, **kwargs):
        pass


class EpochEnd(EventHandler):
    """Called after each pass over the data; return True to stop training."""

    def epoch_end(self, estimator, *args, **kwargs):
        return False


class BatchBegin(EventHandler):
    """Called before each batch with ``batch=``."""

    def batch_begin(self, estimator, *args, **kwargs):
        pass


class BatchEnd(EventHandler):
    """Called after each batch with ``batch=, pred=, label=, loss=``; return True to stop."""

    def batch_end(self, estimator, *args, **kwargs):
        return False


def _check_event_handlers(handlers):
    """``handlers`` as a fresh list of EventHandler."""
    if isinstance(handlers, EventHandler):
        return [handlers]
    handlers = list(handlers or [])
    bad = [h for h in handlers if not isinstance(h, EventHandler)]
    if bad:
        raise MXNetValueError(f"event_handlers must be an EventHandler or a list of "
                              f"EventHandler, got {type(bad[0]).__name__}: {bad[0]!r}")
    return handlers


_EVENTS = (("train_begin", TrainBegin), ("epoch_begin", EpochBegin),
           ("batch_begin", BatchBegin), ("batch_end", BatchEnd), ("epoch_end", EpochEnd),
           ("train_end", TrainEnd))


def _categorize_handlers(handlers):
    """One list per event of the handlers that subclass its mixin, keeping their order."""
    return tuple([h for h in handlers if isinstance(h, mixin)] for _, mixin in _EVENTS)


def _sort_by_priority(handlers):
    # a stable sort: handlers of equal priority keep the order given (user's first)
    handlers.sort(key=lambda handler: getattr(handler, "priority", 0))
    return handlers
