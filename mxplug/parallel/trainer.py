"""Horovod-style data parallelism: :class:`DistributedTrainer` averages the gradients."""

from __future__ import annotations

from ..gluon.trainer import Trainer

__all__ = ["DistributedTrainer"]


class DistributedTrainer(Trainer):
    """A :class:`gluon.Trainer` for data-parallel MPI jobs that *averages* gradients over the
    ranks (Horovod's ``hvd.DistributedTrainer``); ``step`` takes the **local** batch size.

    ``gluon.Trainer(..., kvstore='dist_sync')`` instead *sums* (MXNet's semantics) and is
    stepped with the **global** batch size; both give the same update. Pick this one to port
    Horovod code or to keep the per-rank batch size in the script; pick ``dist_sync`` for
    MXNet scripts. Gradients travel in fused buckets; rank ``root_rank``'s parameters and
    optimizer state are broadcast at the start (deferred-init ones when they initialise).

    Parameters
    ----------
    params : ParameterDict or list of Parameter
        What to train (``net.collect_params()``).
    optimizer : str or Optimizer
        As for :class:`gluon.Trainer`.
    optimizer_params : dict, optional
        As for :class:`gluon.Trainer`.
    comm : Communicator, optional
        The ranks to average over; default the world (:func:`mxplug.parallel.init`).
    bucket_bytes : int, optional
        Fused bucket capacity (default ``MXPLUG_BUCKET_BYTES`` or 4 MiB).
    root_rank : int, default 0
        Whose initial parameters and optimizer state every rank takes.

    Examples
    --------
    >>> trainer = parallel.DistributedTrainer(net.collect_params(), "sgd",
    ...                                       {"learning_rate": 0.1, "momentum": 0.9})
    >>> with autograd.record():
    ...     loss = loss_fn(net(x), y)           # x: this rank's batch of 64
    >>> loss.backward()
    >>> trainer.step(64)
    """

    _dist_average = True

    def __init__(self, params, optimizer, optimizer_params=None, comm=None, bucket_bytes=None,
                 root_rank=0):
        from ..kvstore.dist import DistKVStore

        store = DistKVStore("dist_sync", comm=comm, bucket_bytes=bucket_bytes)
        store.comm._check_rank(root_rank, "root_rank")
        self._dist_root = int(root_rank)
        super().__init__(params, optimizer, optimizer_params, kvstore=store)
