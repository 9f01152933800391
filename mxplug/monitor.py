"""``mx.mon.Monitor``: statistics of a bound graph's arrays every few batches (MXNet 1.x).

A Monitor installs itself as the executors' monitor callback (``Executor.set_monitor_callback``):
between :meth:`Monitor.tic` and :meth:`Monitor.toc` of an active batch it keeps
``stat_func(array)`` of every node output whose name matches ``pattern`` (``fc1_output``; with
``monitor_all`` also the node inputs, ``fc1_data``), and at ``toc`` those of the matching
arguments and auxiliary states (``fc1_weight``, ``bn_moving_mean``).
"""

from __future__ import annotations

import logging
import math
import numbers
import re

from . import ndarray as nd
from .base import MXNetTypeError, MXNetValueError
from .ndarray import NDArray

__all__ = ["Monitor"]


def _mean_norm(x):
    """``norm(x) / sqrt(x.size)``: the root mean square of ``x`` (MXNet's default statistic)."""
    return nd.norm(x) / math.sqrt(x.size)


class Monitor:
    """Monitor outputs, weights and auxiliary states of executors for debugging.

    Parameters
    ----------
    interval : int
        Collect statistics every ``interval`` batches (the batches whose :meth:`tic` finds
        ``step % interval == 0``).
    stat_func : callable, optional
        ``NDArray -> NDArray`` (or a list of NDArrays). Default: ``norm(x) / sqrt(x.size)``.
    pattern : str, default '.*'
        Regular expression; only names it matches (``re.match``, from the start) are kept,
        e.g. ``'.*weight|.*output'``.
    sort : bool, default False
        Sort the results of :meth:`toc` by name.
    monitor_all : bool, default False
        Also monitor every node's inputs, not only its outputs.

    Examples
    --------
    >>> mon = mx.mon.Monitor(1, pattern='fc.*')
    >>> mon.install(exe)
    >>> mon.tic(); exe.forward(); rows = mon.toc()   # [(1, 'fc_output', '0.73\\t'), ...]
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if isinstance(interval, bool) or not isinstance(interval, numbers.Integral) \
                or interval < 1:
            raise MXNetValueError(f"Monitor: interval must be a positive int, got {interval!r}")
        if stat_func is not None and not callable(stat_func):
            raise MXNetTypeError(f"Monitor: stat_func must be callable, got "
                                 f"{type(stat_func).__name__}")
        try:
            self.re_prog = re.compile(pattern)
        except (re.error, TypeError) as err:
            raise MXNetValueError(f"Monitor: pattern {pattern!r} is not a regular expression "
                                  f"({err})") from None
        self.interval = int(interval)
        self.stat_func = stat_func if stat_func is not None else _mean_norm
        self.sort = sort
        self.monitor_all = bool(monitor_all)
        self.activated = False
        self.queue = []  # (step, name, statistic) of the active batch
        self.step = 0
        self.exes = []

    def stat_helper(self, name, array):
        """The executor callback: keep ``stat_func(array)`` while a batch is monitored."""
        if self.activated and self.re_prog.match(name):
            self.queue.append((self.step, name, self.stat_func(array)))

    def install(self, exe):
        """Install on ``exe`` (an Executor from ``bind`` / ``simple_bind``); a Monitor can watch
        several executors. ``Module.install_monitor(mon)`` calls this for each of its own."""
        if not hasattr(exe, "set_monitor_callback"):
            raise MXNetTypeError(f"Monitor.install: expected an Executor (with "
                                 f"set_monitor_callback), got {type(exe).__name__}")
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Start a batch (call before ``forward``): collects if ``step % interval == 0``."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """End the batch (call after it is computed): ``[(step, name, statistic text)]``, where
        the text is each statistic's value followed by a tab; ``[]`` for an unmonitored batch."""
        if not self.activated:
            return []
        for exe in self.exes:
            symbol = exe._symbol
            named = list(zip(symbol.list_arguments(), exe.arg_arrays)) + \
                list(zip(symbol.list_auxiliary_states(), exe.aux_arrays))
            for name, array in named:
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda entry: entry[1])
        rows = [(step, name, self._text(name, stats)) for step, name, stats in self.queue]
        self.queue = []
        return rows

    def toc_print(self):
        """:meth:`toc`, logged at INFO level: ``Batch:       1 fc_output   0.73``."""
        for step, name, text in self.toc():
            logging.info("Batch: %7d %-30s %s", step, name, text)

    @staticmethod
    def _text(name, stats):
        stats = [stats] if isinstance(stats, NDArray) else stats
        if not isinstance(stats, (list, tuple)) or \
                not all(isinstance(s, NDArray) for s in stats):
            raise MXNetTypeError(f"Monitor: stat_func must return an NDArray or a list of them; "
                                 f"for {name!r} it returned {type(stats).__name__}")
        return "".join((str(s.asscalar()) if s.shape == (1,) else str(s.asnumpy())) + "\t"
                       for s in stats)
