"""Giving each rank its part of the data: :class:`DistributedSampler` (and ``Dataset.shard``)."""

from __future__ import annotations

import numpy as np

from .. import random as _rng
from ..base import MXNetValueError
from ..gluon.data.sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of ``[0, length)`` that belong to one rank, the same number on every rank.

    Every rank draws the same permutation (from ``seed`` and the epoch) and takes every
    ``num_replicas``-th index starting at its rank, so the ranks' batches at step ``t`` together
    are the ``t``-th batch of ``num_replicas * batch_size`` of that permutation: a data-parallel
    run sees the same batches as one process with the combined batch size.

    Parameters
    ----------
    length : int
        The dataset's length.
    num_replicas, rank : int, optional
        Default: the world communicator's size and rank (:func:`mxplug.parallel.init`).
    shuffle : bool, default True
        A new shared permutation per epoch; ``False`` keeps the order.
    seed : int, optional
        Seed of the permutations. Default: the seed last given to ``mx.random.seed`` (the same
        on every rank that seeded alike), so that it is reproducible but not per-rank.
    drop_last : bool, default False
        When ``length`` is not a multiple of ``num_replicas``: ``False`` pads with indices from
        the start of the permutation (some samples are seen twice per epoch, as PyTorch does);
        ``True`` drops the tail. Either way every rank gets ``len(self)`` indices, so every rank
        makes the same number of steps and no collective is left waiting.

    Examples
    --------
    >>> sampler = DistributedSampler(len(dataset))
    >>> loader = gluon.data.DataLoader(dataset, batch_size=64, sampler=sampler)
    >>> for epoch in range(epochs):
    ...     sampler.set_epoch(epoch)    # optional: epochs otherwise count up per iteration
    ...     for x, y in loader: ...
    """

    def __init__(self, length, num_replicas=None, rank=None, shuffle=True, seed=None,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from . import init

            world = init()
            num_replicas = world.size if num_replicas is None else num_replicas
            rank = world.rank if rank is None else rank
        if int(num_replicas) <= 0:
            raise MXNetValueError(f"DistributedSampler: Expect: num_replicas > 0 / Actual: "
                                  f"{num_replicas}")
        if not 0 <= int(rank) < int(num_replicas):
            raise MXNetValueError(f"DistributedSampler: Expect: 0 <= rank < num_replicas / "
                                  f"Actual: rank={rank}, num_replicas={num_replicas}")
        if int(length) < 0:
            raise MXNetValueError(f"DistributedSampler: Expect: length >= 0 / Actual: {length}")
        self._length, self._replicas, self._rank = int(length), int(num_replicas), int(rank)
        self._shuffle, self._drop_last = bool(shuffle), bool(drop_last)
        self._seed = _rng.get_state()[0] if seed is None else int(seed) & _rng.MASK64
        self._epoch = 0
        if drop_last:
            self._per_rank = self._length // self._replicas
        else:
            self._per_rank = -(-self._length // self._replicas)

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` for the next iteration."""
        self._epoch = int(epoch)

    def indices(self, epoch=None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one)."""
        epoch = self._epoch if epoch is None else int(epoch)
        if self._shuffle:
            rng = np.random.default_rng([self._seed & _rng.MASK32, self._seed >> 32, epoch])
            order = rng.permutation(self._length)
        else:
            order = np.arange(self._length)
        total = self._per_rank * self._replicas
        if total > order.size:  # pad by wrapping around (several times if length < replicas)
            order = np.resize(order, total) if order.size else order
        return order[self._rank:total:self._replicas]

    def __iter__(self):
        idx = self.indices()
        self._epoch += 1  # each pass a new permutation, identical on every rank
        return iter(idx.tolist())

    def __len__(self):
        return self._per_rank if self._length else 0
