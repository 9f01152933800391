"""``mx.engine``: MXNet 1.x's bulk-execution settings, kept so scripts that tune them run.

MXNet's threaded engine can bundle up to ``size`` consecutive operators into one scheduled job
("bulk execution"). mxplug has no asynchronous engine: every op runs eagerly when called, and
bound graphs already run as one compiled program. So :func:`set_bulk_size` and :func:`bulk`
only record the size (per thread, default 0, as in MXNet's engine) and return or restore it;
they change no results and no timings.
"""

from __future__ import annotations

import numbers
import threading

from .base import MXNetValueError

__all__ = ["set_bulk_size", "bulk"]

_state = threading.local()  # MXNet keeps the bulk size per thread too


def _current():
    return getattr(_state, "size", 0)


def _checked(size, caller):
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
        raise MXNetValueError(f"{caller}: size must be a non-negative int, got {size!r}")
    return int(size)


def set_bulk_size(size):
    """Set the maximum number of operators bundled in a bulk; returns the previous size.

    Parameters
    ----------
    size : int
        A non-negative int (0: no bulking).
    """
    size = _checked(size, "set_bulk_size")
    previous = _current()
    _state.size = size
    return previous


class _BulkScope:
    """``with mx.engine.bulk(size):`` sets the bulk size and restores the previous one."""

    def __init__(self, size):
        self._size = _checked(size, "bulk")
        self._old_size = None

    def __enter__(self):
        self._old_size = set_bulk_size(self._size)
        return self

    def __exit__(self, *exc):
        set_bulk_size(self._old_size)
        return False


def bulk(size):
    """A scope with bulk size ``size``::

        with mx.engine.bulk(10):
            x = mx.nd.zeros((1,))
            for i in range(100):
                x += 1
    """
    return _BulkScope(size)
