"""Samplers: the index streams a DataLoader batches (MXNet 1.x ``gluon.data.sampler``)."""

from __future__ import annotations

import numpy as np

from ... import random as _rng
from ...base import MXNetValueError

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler"]


def host_rng() -> np.random.Generator:
    """A NumPy generator drawn from ``mx.random``'s stream (one call of it).

    Host-side randomness (shuffling, random transforms) uses this, so ``mx.random.seed(s)``
    reproduces it, like every other random op.
    """
    key, counter = _rng.next_state()
    return np.random.default_rng([key & _rng.MASK32, key >> 32, counter & _rng.MASK32,
                                  counter >> 32])


class Sampler:
    """Base class for samplers.

    All samplers should subclass `Sampler` and define `__iter__` and `__len__` methods.
    """

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Samples elements from [start, start+length) sequentially.

    Parameters
    ----------
    length : int
        Length of the sequence.
    start : int, default is 0
        The start of the sequence index.
    """

    def __init__(self, length, start=0):
        self._length = int(length)
        self._start = int(start)

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """Samples elements from [0, length) randomly without replacement.

    The permutation is drawn from ``mx.random`` (a new one per epoch), so ``mx.random.seed``
    makes the order reproducible.

    Parameters
    ----------
    length : int
        Length of the sequence.
    """

    def __init__(self, length):
        self._length = int(length)

    def __iter__(self):
        return iter(host_rng().permutation(self._length).tolist())

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """Samples elements from a Dataset for which `fn` returns True.

    Parameters
    ----------
    fn : callable
        A function that takes a sample and returns a boolean.
    dataset : Dataset
        The dataset to filter.
    """

    def __init__(self, fn, dataset):
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i in range(len(dataset)) if fn(dataset[i])]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


_LAST_BATCH = ("keep", "discard", "rollover")


def _check_last_batch(last_batch):
    if last_batch not in _LAST_BATCH:
        raise MXNetValueError(
            f"last_batch must be one of 'keep', 'discard', or 'rollover', but got {last_batch!r}")


class BatchSampler(Sampler):
    """Wraps over another `Sampler` and return mini-batches of samples.

    Parameters
    ----------
    sampler : Sampler
        The source Sampler.
    batch_size : int
        Size of mini-batch.
    last_batch : {'keep', 'discard', 'rollover'}
        Specifies how the last batch is handled if batch_size does not evenly divide sequence
        length.

        If 'keep', the last batch will be returned directly, but will contain less element
        than `batch_size` requires.

        If 'discard', the last batch will be discarded.

        If 'rollover', the remaining elements will be rolled over to the next iteration.

    Examples
    --------
    >>> sampler = gluon.data.SequentialSampler(10)
    >>> batch_sampler = gluon.data.BatchSampler(sampler, 3, 'keep')
    >>> list(batch_sampler)
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        _check_last_batch(last_batch)
        if int(batch_size) <= 0:
            raise MXNetValueError(f"BatchSampler: Expect: batch_size > 0 / Actual: {batch_size}")
        self._sampler = sampler
        self._batch_size = int(batch_size)
        self._last_batch = last_batch
        self._prev = []

    def __iter__(self):
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch  # the next epoch starts with these

    def __len__(self):
        if self._last_batch == "keep":
            return (len(self._sampler) + self._batch_size - 1) // self._batch_size
        if self._last_batch == "discard":
            return len(self._sampler) // self._batch_size
        return (len(self._prev) + len(self._sampler)) // self._batch_size


class IntervalSampler(Sampler):
    """Samples elements from [0, length) at fixed intervals.

    Parameters
    ----------
    length : int
        Length of the sequence.
    interval : int
        The number of items to skip between two samples.
    rollover : bool, default True
        Whether to start again from the first skipped item after reaching the end. If true,
        this sampler would start again from the first skipped item until all items are
        visited. Otherwise, iteration stops when end is reached and skipped items are ignored.

    Examples
    --------
    >>> list(IntervalSampler(13, interval=3))
    [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    >>> list(IntervalSampler(13, interval=3, rollover=False))
    [0, 3, 6, 9, 12]
    """

    def __init__(self, length, interval, rollover=True):
        self._check(length, interval)
        self._length = int(length)
        self._interval = int(interval)
        self._rollover = bool(rollover)

    @staticmethod
    def _check(length, interval):
        if not interval < length:
            raise MXNetValueError(f"Interval {interval} must be smaller than length {length}")

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            yield from range(i, self._length, self._interval)

    def __len__(self):
        if self._rollover:
            return self._length
        return (self._length + self._interval - 1) // self._interval
