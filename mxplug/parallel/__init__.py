"""``mxplug.parallel``: MPI data parallelism.

The same script runs as one process (``python train.py``: a world of size 1, no mpiexec
needed) and as N ranks (``mpiexec -n N python -m mpi4py train.py`` or ``mxplug launch``).

- :func:`init` / :class:`Communicator`: rank, size, local rank, ``allreduce`` (sum, mean, max,
  min, prod), ``broadcast``, ``allgather``, ``reduce_scatter``, ``send``/``recv``, ``barrier``
  on NDArrays of every backend;
- ``gluon.Trainer(..., kvstore='dist_sync')`` (MXNet semantics: gradients summed over ranks) and
  :class:`DistributedTrainer` (Horovod semantics: averaged), both with gradients fused into
  :class:`GradientBuckets` and parameters broadcast from rank 0;
- :class:`DistributedSampler`: each rank's part of the data, equal counts on every rank;
- ``MXPLUG_CHECK_COLLECTIVES=1`` (:mod:`mxplug.parallel.check`): mismatched collectives raise,
  naming the ranks and lines, instead of hanging.

mpi4py is imported (and MPI initialised) on the first call that needs it, not on import, and
the submodules load on first use: ``mxplug launch`` imports :mod:`mxplug.parallel.launch`
without pulling in Gluon or MPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .buckets import DEFAULT_BUCKET_BYTES, GradientBuckets
    from .check import CollectiveMismatchError
    from .comm import REDUCE_OPS, Communicator, gpu_aware_mpi
    from .data import DistributedSampler
    from .pipeline import Pipeline
    from .tensor import ColumnParallelDense, RowParallelDense, ShardedParameter
    from .trainer import DistributedTrainer

_LAZY = {"GradientBuckets": "buckets", "DEFAULT_BUCKET_BYTES": "buckets",
         "CollectiveMismatchError": "check", "Communicator": "comm", "REDUCE_OPS": "comm",
         "gpu_aware_mpi": "comm", "DistributedSampler": "data", "DistributedTrainer": "trainer",
         "Pipeline": "pipeline", "ColumnParallelDense": "tensor", "RowParallelDense": "tensor",
         "ShardedParameter": "tensor"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mxplug.parallel' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["init", "world", "is_initialized", "Communicator", "rank", "size", "local_rank",
           "local_size", "allreduce", "broadcast", "allgather", "reduce_scatter", "send", "recv",
           "barrier", "GradientBuckets", "DEFAULT_BUCKET_BYTES", "DistributedSampler",
           "DistributedTrainer", "CollectiveMismatchError", "REDUCE_OPS", "gpu_aware_mpi",
           "broadcast_parameters", "Pipeline", "ColumnParallelDense", "RowParallelDense",
           "ShardedParameter"]

_world = None  # the world Communicator, once init() ran


def init() -> Communicator:
    """The world communicator (a private duplicate of ``COMM_WORLD``), created on first call.

    Also makes ``mx.random`` draw this rank's own stream of the seed (stream id = rank).
    """
    global _world
    if _world is None:
        from .. import random as _random
        from .comm import Communicator

        _world = Communicator()
        if _random.get_state()[1] != _world.rank:  # the environment did not announce the rank
            _random.set_stream(_world.rank)
    return _world


world = init


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _world is not None


def rank() -> int:
    """This process's rank in the world communicator."""
    return init().rank


def size() -> int:
    """How many ranks the world communicator has."""
    return init().size


def local_rank() -> int:
    """This process's rank among the ranks on its machine."""
    return init().local_rank


def local_size() -> int:
    """How many ranks run on this machine."""
    return init().local_size


def allreduce(x, op="sum", out=None):
    """:meth:`Communicator.allreduce` on the world communicator."""
    return init().allreduce(x, op, out)


def broadcast(x, root=0):
    """:meth:`Communicator.broadcast` on the world communicator."""
    return init().broadcast(x, root)


def allgather(x):
    """:meth:`Communicator.allgather` on the world communicator."""
    return init().allgather(x)


def reduce_scatter(x, op="sum"):
    """:meth:`Communicator.reduce_scatter` on the world communicator."""
    return init().reduce_scatter(x, op)


def send(x, dest, tag=0):
    """:meth:`Communicator.send` on the world communicator."""
    return init().send(x, dest, tag)


def recv(out=None, source=0, tag=0, shape=None, dtype="float32", ctx=None):
    """:meth:`Communicator.recv` on the world communicator."""
    return init().recv(out, source, tag, shape, dtype, ctx)


def barrier():
    """:meth:`Communicator.barrier` on the world communicator."""
    return init().barrier()


def broadcast_parameters(params, root_rank=0, comm=None):
    """Overwrite ``params`` (a ParameterDict, dict or list of Parameters) on every rank with
    ``root_rank``'s values; deferred-init parameters are broadcast when they initialise
    (Horovod's ``hvd.broadcast_parameters``)."""
    from .params import sync_parameters

    sync_parameters(params, comm or init(), root_rank)
