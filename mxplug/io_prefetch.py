"""``PrefetchingIter``: MXNet 1.x's wrapper that reads the next batch of each wrapped iterator on
a background thread (re-exported by ``mx.io``)."""

from __future__ import annotations

import threading

import numpy as np

from .base import MXNetError, MXNetValueError
from .io import DataBatch, DataDesc, _HoldsBatch

__all__ = ["PrefetchingIter"]


class _Fetcher:
    """A daemon thread that calls ``it.next()`` when asked and keeps the outcome: a batch, the
    end of the epoch, or the exception, which the consumer re-raises in its own thread."""

    _POLL_S = 0.5  # how often a waiting consumer checks that the thread is still alive

    def __init__(self, it, number):
        self.it = it
        self.pending = False  # asked, and the result not taken yet
        self._cond = threading.Condition()
        self._asked = self._closed = False
        self._result = None
        self._thread = threading.Thread(target=self._run, name=f"mxplug-prefetch-{number}",
                                        daemon=True)
        self._thread.start()

    def _run(self):
        cond = self._cond
        while True:
            with cond:
                while not (self._asked or self._closed):
                    cond.wait()
                if self._closed:
                    return
                self._asked = False
            try:
                result = ("batch", self.it.next())
            except StopIteration:
                result = ("end", None)
            except BaseException as err:  # noqa: B036 - everything goes to the consumer
                result = ("error", err)
            with cond:
                self._result = result
                cond.notify_all()

    def ask(self):
        with self._cond:
            self._asked = self.pending = True
            self._cond.notify_all()

    def take(self):
        """The outcome of the last :meth:`ask`, waiting for it."""
        with self._cond:
            while self._result is None:
                if not self._thread.is_alive():
                    raise MXNetError("PrefetchingIter: a prefetch thread stopped without a "
                                     "result (was the iterator closed?)")
                self._cond.wait(self._POLL_S)
            result, self._result = self._result, None
            self.pending = False
        return result

    def close(self, timeout):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if timeout is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()


class PrefetchingIter(_HoldsBatch):
    """Read the next batch of each iterator on a background thread (MXNet 1.x
    ``mx.io.PrefetchingIter``), one batch ahead of the consumer.

    A batch joins the data and labels of one batch of every iterator, in order; their ``pad``
    must agree, ``index`` is the first one's. An exception raised by an iterator is raised again
    by the ``next()`` that would have returned its batch (call ``reset()`` before iterating on).
    :meth:`close` (or leaving a ``with`` block) stops the threads; an unreferenced
    PrefetchingIter stops them too.

    Parameters
    ----------
    iters : DataIter or list of DataIter
        Iterators with the same number of batches per epoch. Each is used by its own thread
        while the PrefetchingIter is alive: do not call them directly.
    rename_data, rename_label : list of dict, optional
        Per iterator, ``{old name: new name}`` for every entry of its ``provide_data`` /
        ``provide_label``.
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        iters = list(iters) if isinstance(iters, (list, tuple)) else [iters]
        if not iters:
            raise MXNetValueError("PrefetchingIter: iters must hold at least one iterator")
        for what, renames in (("rename_data", rename_data), ("rename_label", rename_label)):
            if renames is not None and len(renames) != len(iters):
                raise MXNetValueError(f"PrefetchingIter: {what} needs one dict per iterator: "
                                      f"{len(renames)} for {len(iters)}")
        self.iters, self.n_iter = iters, len(iters)
        self.rename_data, self.rename_label = rename_data, rename_label
        self.provide_data = self._renamed("provide_data", rename_data)
        self.provide_label = self._renamed("provide_label", rename_label)
        self.batch_size = self.provide_data[0].shape[0]
        self.current_batch = None
        self._closed = False
        self._fetchers = [_Fetcher(it, i) for i, it in enumerate(iters)]
        for fetcher in self._fetchers:
            fetcher.ask()

    def _renamed(self, attr, renames):
        descs = []
        for i, it in enumerate(self.iters):
            for desc in getattr(it, attr):
                desc = desc if isinstance(desc, DataDesc) else DataDesc(*desc)
                if renames is not None:
                    if desc.name not in renames[i]:
                        raise MXNetValueError(f"PrefetchingIter: {attr} {desc.name!r} of "
                                              f"iterator {i} has no entry in its rename dict "
                                              f"{renames[i]}")
                    desc = DataDesc(renames[i][desc.name], desc.shape,
                                    getattr(desc, "dtype", np.float32),
                                    getattr(desc, "layout", "NCHW"))
                descs.append(desc)
        return descs

    def _check_open(self):
        if self._closed:
            raise MXNetError("PrefetchingIter: the iterator is closed")

    def reset(self):
        self._check_open()
        for fetcher in self._fetchers:
            if fetcher.pending:
                fetcher.take()  # a batch (or error) of the abandoned epoch: dropped
        for it in self.iters:
            it.reset()
        self.current_batch = None
        for fetcher in self._fetchers:
            fetcher.ask()

    def iter_next(self):
        self._check_open()
        for fetcher in self._fetchers:
            if not fetcher.pending:
                fetcher.ask()
        results = [fetcher.take() for fetcher in self._fetchers]
        for kind, value in results:
            if kind == "error":
                raise value
        ended = [i for i, (kind, _) in enumerate(results) if kind == "end"]
        if ended:
            if len(ended) != self.n_iter:
                raise MXNetValueError(
                    f"PrefetchingIter: iterator(s) {ended} ended while the others still have "
                    f"batches; the iterators must yield the same number of batches")
            self.current_batch = None
            return False
        batches = [batch for _, batch in results]
        pads = [batch.pad for batch in batches]
        if any(p != pads[0] for p in pads):
            raise MXNetValueError(f"PrefetchingIter: the iterators' batches have different pad "
                                  f"{pads}; their batch counts or sizes do not match")
        self.current_batch = DataBatch(
            sum((list(b.data) for b in batches), []),
            sum((list(b.label or []) for b in batches), []), pads[0], batches[0].index,
            provide_data=self.provide_data, provide_label=self.provide_label)
        for fetcher in self._fetchers:
            fetcher.ask()
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def close(self, timeout=10.0):
        """Stop the prefetch threads, waiting up to ``timeout`` seconds each for a batch being
        read. Returns whether every thread has stopped."""
        self._closed = True
        return all([f.close(timeout) for f in getattr(self, "_fetchers", ())])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close(timeout=None)  # signal only: never block the garbage collector
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
