"""``gluon.contrib.data.sampler`` (MXNet 1.x): :class:`IntervalSampler`."""

from __future__ import annotations

from ....base import MXNetValueError
from ...data import sampler

__all__ = ["IntervalSampler"]


class IntervalSampler(sampler.IntervalSampler):
    """Samples elements from [0, length) at fixed intervals.

    MXNet 1.9.1's contrib version of :class:`mxplug.gluon.data.IntervalSampler`: the same
    order, and ``interval`` may equal ``length`` (then only the first item, or with
    ``rollover`` every item in order). ``len()`` is the number of indices yielded (MXNet's
    says ``length`` even with ``rollover=False``).

    Parameters
    ----------
    length : int
        Length of the sequence.
    interval : int
        The number of items to skip between two samples.
    rollover : bool, default True
        Whether to start again from the first skipped item after reaching the end, until
        every item is visited; otherwise iteration stops at the end and skipped items are
        never visited.

    Examples
    --------
    >>> list(IntervalSampler(13, interval=3))
    [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    >>> list(IntervalSampler(13, interval=3, rollover=False))
    [0, 3, 6, 9, 12]
    """

    def __init__(self, length, interval, rollover=True):
        if not 0 < interval <= length:
            raise MXNetValueError(f"IntervalSampler: Expect: 0 < interval <= length / Actual: "
                                  f"interval={interval}, length={length}")
        self._length = int(length)
        self._interval = int(interval)
        self._rollover = bool(rollover)
