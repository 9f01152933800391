"""Pipeline parallelism: consecutive blocks on consecutive ranks, a batch in micro-batches.

:class:`Pipeline` runs GPipe's schedule: the forward passes of all micro-batches, then their
backward passes. Rank r runs its stages on micro-batch m as soon as it has received m from rank
r - 1, and hands the result to rank r + 1 with the differentiable :func:`~.p2p.send`, so the
ranks work on different micro-batches at the same time; the backward pass flows the same way
in reverse, driven by autograd (the receiver's backward sends each gradient back). Every
rank's parameters end up with the gradient of the whole batch, summed over its micro-batches,
as in one process; a plain :class:`gluon.Trainer` per rank then updates its own stages.
"""

from __future__ import annotations

from .. import autograd
from .. import ndarray as nd
from ..base import MXNetError, MXNetTypeError, MXNetValueError
from ..gluon.block import Block
from . import p2p
from .tensor import shard_bounds

__all__ = ["Pipeline"]


class Pipeline(Block):
    """Consecutive stages (Gluon Blocks) on consecutive ranks, run over micro-batches.

    Parameters
    ----------
    stages : list of Block, or a Sequential
        The model, in order (a ``Sequential``'s children are its stages). With as many stages
        as ranks, stage r runs on rank r; with more,
        each rank runs a consecutive group (split as ``numpy.array_split``: with one rank,
        all of them). Each rank only initialises, runs and trains its own stages, so build the
        list on every rank (cheap: parameters are allocated on initialisation) or put
        placeholders (``None``) where the other ranks' stages go.
    micro_batches : int, default 1
        How many parts the batch is split into along axis 0 (sizes as ``numpy.array_split``).
        More parts keep more ranks busy (the idle "bubble" is ``(ranks - 1) / (micro_batches +
        ranks - 1)`` of the time) but run smaller matrix products.
    comm : Communicator, optional
        The ranks of the pipeline (default: the world).

    Notes
    -----
    A call ``pipe(x)`` takes the batch on the first rank (other ranks may pass ``None``) and
    returns the output, concatenated over the micro-batches, on the last rank (``None``
    elsewhere). Under ``autograd.record()`` every rank then calls :meth:`backward`, the last
    one with its loss. ``collect_params()`` gives this rank's stages' parameters only.

    Stages see their input shapes on the first forward call, so deferred initialisation
    (``Dense(64)`` without ``in_units``) works as usual. The activations of all micro-batches
    stay alive until the backward pass (GPipe); waits sleep between polls, so ranks that
    wait for their neighbours do not take CPU from the ones that compute.

    Examples
    --------
    >>> stages = [nn.Dense(128, activation="relu"), nn.Dense(10)]
    >>> pipe = parallel.Pipeline(stages, micro_batches=4)
    >>> pipe.initialize(mx.init.Xavier())
    >>> trainer = gluon.Trainer(pipe.collect_params(), "sgd", {"learning_rate": 0.1})
    >>> with autograd.record():
    ...     out = pipe(x)                                   # on the last rank, else None
    ...     loss = loss_fn(out, y) if pipe.is_last else None
    >>> pipe.backward(loss)
    >>> trainer.step(batch_size)
    """

    def __init__(self, stages, micro_batches: int = 1, comm=None, **kwargs):
        super().__init__(**kwargs)
        if comm is None:
            from . import init

            comm = init()
        stages = list(stages)
        if len(stages) < comm.size:
            raise MXNetValueError(f"Pipeline: Expect: at least one stage per rank ({comm.size} "
                                  f"ranks) / Actual: {len(stages)} stages")
        if not (isinstance(micro_batches, int) and micro_batches >= 1):
            raise MXNetValueError(f"Pipeline: Expect: micro_batches >= 1 / Actual: "
                                  f"{micro_batches!r}")
        self._comm, self._micro = comm, micro_batches
        lo, hi = shard_bounds(len(stages), comm.size, comm.rank)
        self._stage_ids = list(range(lo, hi))
        self._local = stages[lo:hi]
        for i, stage in zip(self._stage_ids, self._local):
            if not isinstance(stage, Block):
                raise MXNetTypeError(f"Pipeline: Expect: stage {i} (on rank {comm.rank}) to be "
                                     f"a Block / Actual: {type(stage).__name__}")
            self.register_child(stage, f"stage{i}")
        self._heads = None  # this rank's backward heads from the last recorded call

    @property
    def comm(self):
        """The ranks of the pipeline."""
        return self._comm

    @property
    def stage_ids(self) -> list:
        """Indices (in ``stages``) of the stages this rank runs."""
        return list(self._stage_ids)

    @property
    def is_first(self) -> bool:
        """Whether this rank takes the input."""
        return self._comm.rank == 0

    @property
    def is_last(self) -> bool:
        """Whether this rank gives the output (and computes the loss)."""
        return self._comm.rank == self._comm.size - 1

    def _split(self, x):
        if not isinstance(x, nd.NDArray):
            raise MXNetTypeError(f"Pipeline: Expect: the batch (an NDArray) on the first rank / "
                                 f"Actual: {type(x).__name__}")
        n = x.shape[0]
        if n < self._micro:
            raise MXNetValueError(f"Pipeline: Expect: a batch of at least micro_batches="
                                  f"{self._micro} samples / Actual: {n}")
        if self._micro == 1:
            return [x]
        return [nd.slice_axis(x, axis=0, begin=lo, end=hi)
                for lo, hi in (shard_bounds(n, self._micro, m) for m in range(self._micro))]

    def forward(self, x=None):
        """Run the batch through the pipeline (GPipe forward); see the class notes."""
        comm, rank = self._comm, self._comm.rank
        parts = self._split(x) if self.is_first else [None] * self._micro
        outs, tokens = [], []
        for m, h in enumerate(parts):  # micro-batch m is tagged m between neighbours
            if not self.is_first:
                h = p2p.recv(rank - 1, tag=m, comm=comm)
            for stage in self._local:
                h = stage(h)
            if self.is_last:
                outs.append(h)
            else:
                tokens.append(p2p.send(h, rank + 1, tag=m, comm=comm))
        recorded = [t for t in tokens if type(getattr(t, "_ag", None)) is tuple]
        self._heads = recorded if autograd.is_recording() else None
        if not self.is_last:
            return None
        return outs[0] if len(outs) == 1 else nd.concat(*outs, dim=0)

    def backward(self, loss=None) -> None:
        """This rank's part of the backward pass of the last recorded call, all micro-batches.

        Parameters
        ----------
        loss : NDArray or list of NDArray, optional
            On the last rank: the loss (or losses) computed from the output; ignored
            elsewhere. The other ranks receive their gradients from their successors.
        """
        if self.is_last:
            if loss is None:
                raise MXNetError("Pipeline.backward: the last rank must pass the loss computed "
                                 "from the pipeline's output")
            autograd.backward(loss)
        else:
            if self._heads is None:
                raise MXNetError("Pipeline.backward: call the pipeline inside "
                                 "autograd.record() first")
            if self._heads:  # none when nothing on this rank needs a gradient
                autograd.backward(self._heads)
        self._heads = None

    def __repr__(self):
        stages = "\n".join(f"  (stage{i}): {s!r}" for i, s in zip(self._stage_ids, self._local))
        return (f"Pipeline(rank {self._comm.rank} of {self._comm.size}, {self._micro} "
                f"micro-batches\n{stages}\n)")
