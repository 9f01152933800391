"""DataLoader: mini-batches from a Dataset, in-process, in worker threads or worker processes.

Worker processes (``num_workers > 0``) are started with the ``fork`` context where the platform
has it (else ``spawn``, where the dataset and ``batchify_fn`` must pickle). They compute batches
as NumPy arrays on the host; the main process turns them into NDArrays on its current context,
so a worker never touches device memory. The pool belongs to the DataLoader and is reused across
epochs; it is torn down (and restarted on the next epoch) after a timeout or a dead worker.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import pickle
import queue
import random as _pyrandom
import signal
import threading
import time
import traceback
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

import numpy as np

from ... import random as _rng
from ...base import MXNetError, MXNetValueError
from ...context import cpu, cpu_pinned, current_context
from ...ndarray import NDArray, _wrap_host, array, stack
from . import sampler as _sampler

__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn",
           "DataLoaderTimeoutError", "DataLoaderWorkerError"]

_POLL_S = 0.05  # how often the main process checks worker liveness while it waits


class DataLoaderTimeoutError(MXNetError, mp.TimeoutError):
    """A batch took longer than the DataLoader's ``timeout`` (MXNet raises TimeoutError)."""


class DataLoaderWorkerError(MXNetError, RuntimeError):
    """A DataLoader worker process died (killed, crashed) before returning its batch."""


def default_batchify_fn(data):
    """Collate data into batch.

    NDArray samples are stacked with ``nd.stack``; a tuple sample gives a list with one batch
    per field; anything else goes through ``numpy.asarray`` and becomes an NDArray of the
    resulting dtype (so Python ints give int64 and NumPy float32 stays float32, as in MXNet).
    """
    if isinstance(data[0], NDArray):
        return stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(list(i)) for i in zip(*data)]
    data = np.asarray(data)
    return array(data, dtype=data.dtype)


def default_mp_batchify_fn(data):
    """Collate data into batch on the host (cpu), as the worker processes do."""
    if isinstance(data[0], NDArray):
        return _wrap_host(np.stack([d.asnumpy() for d in data]))
    if isinstance(data[0], tuple):
        return [default_mp_batchify_fn(list(i)) for i in zip(*data)]
    data = np.asarray(data)
    return array(data, dtype=data.dtype, ctx=cpu())


class _Host:
    """A NumPy batch that the main process turns into an NDArray (workers never make them)."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __reduce__(self):
        return (_Host, (self.a,))


def _host_batchify(data):
    """The default batchify of a worker process: NumPy only."""
    if isinstance(data[0], NDArray):
        return _Host(np.stack([d.asnumpy() for d in data]))
    if isinstance(data[0], tuple):
        return [_host_batchify(list(i)) for i in zip(*data)]
    return _Host(np.asarray(data))


def _to_host(obj):
    if isinstance(obj, NDArray):
        return _Host(obj.asnumpy())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_host(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_host(v) for k, v in obj.items()}
    return obj


def _from_host(obj, ctx):
    if isinstance(obj, _Host):
        if ctx.device_type == "cpu":
            return _wrap_host(obj.a)  # already a private copy: no second copy
        return array(obj.a, ctx=ctx, dtype=obj.a.dtype)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_host(o, ctx) for o in obj)
    if isinstance(obj, dict):
        return {k: _from_host(v, ctx) for k, v in obj.items()}
    return obj


def _as_in_context(data, ctx):
    """Move data into new context."""
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return type(data)(_as_in_context(d, ctx) for d in data)
    return data


def _mix64(*vals):
    """splitmix64 over a few integers: a per-batch seed from the iterator's base seed."""
    h = 0
    for v in vals:
        h = (h ^ (int(v) & _rng.MASK64)) + 0x9E3779B97F4A7C15 & _rng.MASK64
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _rng.MASK64
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _rng.MASK64
        h ^= h >> 31
    return h


class _Message(str):
    def __repr__(self):
        return str(self)


def _device_arrays(obj, depth=0, seen=None):
    """The contexts of non-cpu NDArrays a dataset holds (a shallow, bounded look)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 4:
        return set()
    seen.add(id(obj))
    if isinstance(obj, NDArray):
        return set() if obj.context.device_type == "cpu" else {obj.context}
    if isinstance(obj, (list, tuple)):
        items = obj[:64]
    elif isinstance(obj, dict):
        items = list(obj.values())[:64]
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = list(vars(obj).values())
    else:
        return set()
    found = set()
    for item in items:
        found |= _device_arrays(item, depth + 1, seen)
    return found


class _WorkerException:
    """An exception raised in a worker, carried back with its formatted traceback."""

    def __init__(self, worker_id, exc):
        self.worker_id = worker_id
        self.pid = os.getpid()
        self.type_name = type(exc).__name__
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            self.exc_type = pickle.loads(pickle.dumps(type(exc)))
        except Exception:  # a class defined in a function: re-raise as MXNetError
            self.exc_type = None

    def reraise(self):
        msg = (f"Caught {self.type_name} in DataLoader worker process {self.worker_id} "
               f"(pid {self.pid}).\nOriginal traceback (most recent call last) from the "
               f"worker:\n{self.text}")
        exc = None
        if self.exc_type is not None:
            try:
                # KeyError's str() is the repr of its argument: keep the traceback readable.
                exc = self.exc_type(_Message(msg) if issubclass(self.exc_type, KeyError)
                                    else msg)
            except Exception:
                exc = None
        if exc is None:
            exc = MXNetError(msg)
        raise exc


#: The worker id inside a DataLoader worker process; None in the main process.
_worker_id = None


def _worker_loop(worker_id, dataset, batchify_fn, task_q, result_q, parent_pid):
    """One worker process: take (iter_id, batch_idx, indices, seed), return a host batch."""
    global _worker_id
    _worker_id = worker_id
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    batchify = _host_batchify if batchify_fn is None else batchify_fn
    with cpu():
        while True:
            try:
                task = task_q.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent_pid:  # orphaned: the main process is gone
                    return
                continue
            if task is None:
                return
            iter_id, batch_idx, indices, seed = task
            try:
                # Reseed per batch: forked workers share the parent's generator state, and
                # per-batch seeds make random transforms independent of the scheduling.
                _rng.seed(seed)
                np.random.seed(seed & _rng.MASK32)
                _pyrandom.seed(seed)
                batch = batchify([dataset[i] for i in indices])
                payload = pickle.dumps(_to_host(batch), pickle.HIGHEST_PROTOCOL)
                result_q.put((iter_id, batch_idx, payload, None))
            except Exception as e:  # noqa: BLE001 - every error goes back to the main process
                result_q.put((iter_id, batch_idx, None, _WorkerException(worker_id, e)))


class _ProcessPool:
    """Worker processes with one task queue each, so a dead worker's batches are known."""

    def __init__(self, num_workers, dataset, batchify_fn):
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        self._mp = mp.get_context(method)
        self.result_q = self._mp.Queue()
        self.task_qs, self.procs = [], []
        self.pending = {}  # (iter_id, batch_idx) -> worker id
        self._next = 0
        for wid in range(num_workers):
            tq = self._mp.Queue()
            p = self._mp.Process(target=_worker_loop, daemon=True, name=f"DataLoaderWorker-{wid}",
                                 args=(wid, dataset, batchify_fn, tq, self.result_q, os.getpid()))
            p.start()
            self.task_qs.append(tq)
            self.procs.append(p)
        self._finalizer = weakref.finalize(self, _stop_workers, self.task_qs, self.procs,
                                           self.result_q)

    def submit(self, iter_id, batch_idx, indices, seed):
        wid = self._next
        self._next = (self._next + 1) % len(self.procs)
        self.pending[(iter_id, batch_idx)] = wid
        self.task_qs[wid].put((iter_id, batch_idx, list(indices), seed))

    def dead_worker(self):
        for wid, p in enumerate(self.procs):
            if p.exitcode is not None:
                return wid, p
        return None

    def shutdown(self):
        self._finalizer()  # once: later calls (and the one at exit) do nothing


def _stop_workers(task_qs, procs, result_q):
    """Ask each worker to stop, then make sure it does. Runs at the latest from ``atexit``
    (``weakref.finalize``), before the interpreter finalizes: a ``put`` on a queue nobody has
    used yet starts its feeder thread, which hangs forever once finalization has begun."""
    for tq in task_qs:
        try:
            tq.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 0.5
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.terminate()
            p.join(1.0)
        if p.is_alive():
            p.kill()
            p.join(1.0)
    for q in task_qs + [result_q]:
        q.cancel_join_thread()  # never block exit on data nobody will read
        q.close()


def _describe_death(wid, proc):
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exited with code {code}"
    return f"DataLoader worker process {wid} (pid {proc.pid}) {how}"


class _MultiWorkerIter:
    """Iterator over a DataLoader's batches computed by its worker processes."""

    def __init__(self, loader, pool):
        self._loader, self._pool = loader, pool
        self._iter_id = loader._new_iter_id()
        self._ctx = current_context()
        batches = iter(loader._batch_sampler)
        first = next(batches, None)  # a shuffling sampler draws its order first, as in-process
        self._batches = itertools.chain([] if first is None else [first], batches)
        self._base = _rng.next_state()
        self._sent = self._rcvd = 0
        self._done = False
        for _ in range(loader._prefetch):
            self._push_next()

    def _push_next(self):
        indices = next(self._batches, None)
        if indices is None:
            return
        self._pool.submit(self._iter_id, self._sent, indices, _mix64(*self._base, self._sent))
        self._sent += 1

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader._batch_sampler)

    def __next__(self):
        if self._done:
            raise StopIteration
        self._push_next()
        if self._rcvd == self._sent:
            self._close()
            raise StopIteration
        payload = self._wait(self._rcvd)
        self._rcvd += 1
        batch = _from_host(pickle.loads(payload), self._ctx)
        if self._loader._pin_memory:
            batch = _as_in_context(batch, cpu_pinned(self._loader._pin_device_id))
        return batch

    next = __next__

    def _wait(self, batch_idx):
        loader, pool, key = self._loader, self._pool, (self._iter_id, batch_idx)
        deadline = time.monotonic() + loader._timeout
        while key not in loader._stash:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(DataLoaderTimeoutError(
                    f"DataLoader: worker timed out after {loader._timeout} seconds waiting for "
                    f"batch {batch_idx} (held by worker {pool.pending.get(key)}). This might be "
                    f"caused by a slow dataset or transform: increase `timeout`, or by a worker "
                    f"that is stuck."))
            try:
                it, bi, payload, err = pool.result_q.get(timeout=min(_POLL_S, remaining))
            except queue.Empty:
                dead = pool.dead_worker()
                if dead is not None:
                    held = sorted(bi for (it, bi), w in pool.pending.items()
                                  if w == dead[0] and it == self._iter_id)
                    self._fail(DataLoaderWorkerError(
                        f"{_describe_death(*dead)} while loading batch(es) {held}; the batches "
                        f"it held are lost. If it was killed by the system, check memory use "
                        f"(fewer num_workers or a smaller batch_size helps)."))
                continue
            pool.pending.pop((it, bi), None)
            if it in loader._live_iters:
                loader._stash[(it, bi)] = (payload, err)
        payload, err = loader._stash.pop(key)
        if err is not None:
            self._close()
            err.reraise()
        return payload

    def _fail(self, exc):
        self._close()
        self._loader._shutdown_workers()  # stuck or broken workers: start fresh next epoch
        raise exc

    def _close(self):
        self._done = True
        self._loader._live_iters.discard(self._iter_id)

    def __del__(self):
        try:
            self._close()
        except Exception:  # interpreter shutdown
            pass


class DataLoader:
    """Loads data from a dataset and returns mini-batches of data.

    Parameters
    ----------
    dataset : Dataset
        Source dataset. Note that numpy and mxnet arrays can be directly used as a Dataset.
    batch_size : int
        Size of mini-batch.
    shuffle : bool
        Whether to shuffle the samples (drawn from ``mx.random``, so ``mx.random.seed``
        reproduces the order).
    sampler : Sampler
        The sampler to use. Either specify sampler or shuffle, not both.
    last_batch : {'keep', 'discard', 'rollover'}
        How to handle the last batch if batch_size does not evenly divide ``len(dataset)``.

        keep - A batch with less samples than previous batches is returned.
        discard - The last batch is discarded if its incomplete.
        rollover - The remaining samples are rolled over to the next epoch.
    batch_sampler : Sampler
        A sampler that returns mini-batches. Do not specify batch_size, shuffle, sampler, and
        last_batch if batch_sampler is specified.
    batchify_fn : callable
        Callback function to allow users to specify how to merge samples into a batch.
        Defaults to `default_batchify_fn`::

            def default_batchify_fn(data):
                if isinstance(data[0], nd.NDArray):
                    return nd.stack(*data)
                elif isinstance(data[0], tuple):
                    data = zip(*data)
                    return [default_batchify_fn(i) for i in data]
                else:
                    data = np.asarray(data)
                    return nd.array(data, dtype=data.dtype)

        With worker processes it runs in the workers (under ``mx.cpu()``); NDArrays it returns
        come back to the main process as NDArrays on the current context.
    num_workers : int, default 0
        The number of multiprocessing workers to use for data preprocessing.
    pin_memory : boolean, default False
        If ``True``, the dataloader will copy NDArrays into pinned memory before returning
        them (here cpu memory: the NumPy backend has no separate pinned memory).
    pin_device_id : int, default 0
        The device id to use for allocating pinned memory if pin_memory is ``True``.
    prefetch : int, default is `num_workers * 2`
        The number of prefetching batches only works if `num_workers` > 0.
    thread_pool : bool, default False
        If ``True``, use a pool of threads instead of processes for the workers.
    timeout : int, default is 120
        The timeout in seconds for each worker to fetch a batch; on expiry a
        ``DataLoaderTimeoutError`` (a ``multiprocessing.TimeoutError``) is raised instead of
        hanging. A worker process that dies raises ``DataLoaderWorkerError`` naming it.
    auto_reload : bool, default False
        Start the next epoch's iterator (and the workers' prefetching) as soon as one epoch
        ends, and the first one at construction, as MXNet 1.9 does. :meth:`refresh` starts one
        now, :meth:`clean` drops a started one.
    try_nopython : bool or None, default None
        Accepted for MXNet compatibility (it selects MXNet's C++ data pipeline); ignored.
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None,
                 batch_sampler=None, batchify_fn=None, num_workers=0, pin_memory=False,
                 pin_device_id=0, prefetch=None, thread_pool=False, timeout=120,
                 auto_reload=False, try_nopython=None):
        self._dataset = dataset
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._thread_pool = thread_pool
        if not timeout > 0:
            raise MXNetValueError(f"timeout must be positive, given {timeout}")
        self._timeout = timeout
        if batch_sampler is None:
            if batch_size is None:
                raise MXNetValueError("batch_size must be specified unless batch_sampler is "
                                      "specified")
            if sampler is None:
                n = len(dataset)
                sampler = (_sampler.RandomSampler(n) if shuffle
                           else _sampler.SequentialSampler(n))
            elif shuffle:
                raise MXNetValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size,
                                                  last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise MXNetValueError("batch_size, shuffle, sampler and last_batch must not be "
                                  "specified if batch_sampler is specified.")
        self._batch_sampler = batch_sampler
        self._num_workers = num_workers if num_workers >= 0 else 0
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        self._user_batchify = batchify_fn
        self._batchify_fn = batchify_fn if batchify_fn is not None else default_batchify_fn
        self._pool = None
        self._lock = threading.Lock()
        self._iter_count = 0
        self._live_iters: set = set()
        self._stash: dict = {}
        self._iter = None  # an epoch's iterator started ahead (refresh)
        self.auto_reload = auto_reload
        if auto_reload:
            self.refresh()

    def refresh(self):
        """Start the next epoch's iterator now (with workers: their prefetching)."""
        self._iter = self._new_iter()

    def clean(self):
        """Drop an iterator started by :meth:`refresh`; the next epoch starts when iterated."""
        self._iter = None

    def __iter__(self):
        it, self._iter = self._iter, None  # a started iterator serves one epoch
        if it is None:
            it = self._new_iter()
        return self._reloading(it) if self.auto_reload else it

    def _reloading(self, it):
        yield from it
        if self._iter is None:
            self.refresh()

    def _new_iter(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._thread_pool:
            return self._thread_iter()
        if self._pool is None:
            on_device = _device_arrays(self._dataset)
            if on_device:
                # A forked process cannot use the parent's device handles (it would hang).
                warnings.warn(f"DataLoader: the dataset holds NDArrays on "
                              f"{', '.join(sorted(map(str, on_device)))}; worker processes "
                              f"only touch host memory, so threads are used instead "
                              f"(thread_pool=True). Keep datasets on mx.cpu() for processes.",
                              stacklevel=2)
                self._thread_pool = True
                return self._thread_iter()
        with self._lock:
            if self._pool is not None and self._pool.dead_worker() is not None:
                self._shutdown_workers()
            if self._pool is None:
                # Ctrl-C must reach only the main process; workers ignore SIGINT themselves.
                self._pool = _ProcessPool(self._num_workers, self._dataset, self._user_batchify)
        return _MultiWorkerIter(self, self._pool)

    def _same_process_iter(self):
        take = getattr(self._dataset, "_take_batch", None) if self._user_batchify is None \
            else None
        for batch in self._batch_sampler:
            ret = take(batch) if take is not None else None
            if ret is None:
                ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            if self._pin_memory:
                ret = _as_in_context(ret, cpu_pinned(self._pin_device_id))
            yield ret

    def _thread_iter(self):
        ctx, dataset, batchify = current_context(), self._dataset, self._batchify_fn

        def work(indices):
            with ctx:  # the default context is per thread: use the caller's
                return batchify([dataset[i] for i in indices])

        batches = iter(self._batch_sampler)
        ex = ThreadPoolExecutor(self._num_workers, thread_name_prefix="DataLoader")
        futures = []
        try:
            for _ in range(max(1, self._prefetch)):
                idx = next(batches, None)
                if idx is not None:
                    futures.append(ex.submit(work, idx))
            while futures:
                fut = futures.pop(0)
                try:
                    ret = fut.result(timeout=self._timeout)
                except _FutureTimeout:
                    raise DataLoaderTimeoutError(
                        f"DataLoader: worker thread timed out after {self._timeout} "
                        f"seconds. This might be caused by a slow dataset or transform: "
                        f"increase `timeout`.") from None
                idx = next(batches, None)
                if idx is not None:
                    futures.append(ex.submit(work, idx))
                if self._pin_memory:
                    ret = _as_in_context(ret, cpu_pinned(self._pin_device_id))
                yield ret
        finally:
            # A stuck thread cannot be stopped; don't wait for it, the error is already raised.
            ex.shutdown(wait=False, cancel_futures=True)

    def _new_iter_id(self):
        self._iter_count += 1
        self._live_iters.add(self._iter_count)
        return self._iter_count

    def _shutdown_workers(self):
        pool, self._pool = self._pool, None
        self._stash.clear()
        self._live_iters.clear()
        if pool is not None:
            pool.shutdown()

    def __len__(self):
        return len(self._batch_sampler)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # interpreter shutdown: daemon workers are reaped by multiprocessing
            pass
