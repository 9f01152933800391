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

    See :class:`mxplug.gluon.data.IntervalSampler` for the parameters.
    """

    @staticmethod
    def _check(length, interval):
        if not 0 < interval <= length:
            raise MXNetValueError(f"IntervalSampler: Expect: 0 < interval <= length / Actual: "
                                  f"interval={interval}, length={length}")
