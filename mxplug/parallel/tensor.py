"""Tensor parallelism: a Dense layer's weight split across ranks (Megatron-LM's layers).

A :class:`ColumnParallelDense` splits the weight's *output* rows: rank r computes its block of
the output units from the whole input. A :class:`RowParallelDense` splits the *input*
columns: rank r multiplies its block of the input features by its columns of the weight, and an
allreduce sums the partial outputs. Put them in pairs, Column then Row, and the activation in
between needs no communication at all: one allreduce per pair in the forward pass and one in
the backward pass.

Every rank runs the same model on the same batch; what is outside the pair is *replicated*
(identical on every rank). The collectives at the seams carry custom gradients (autograd
:class:`~mxplug.autograd.Function`) such that replicated parameters get identical gradients on
every rank, so a plain :class:`gluon.Trainer` per rank keeps them equal:

============================  ===========================  =============================
seam                          forward                      backward
============================  ===========================  =============================
into a ColumnParallelDense    identity                     allreduce-sum of the gradient
out of a RowParallelDense     allreduce-sum of partials    identity
``gather_output=True``        allgather of the blocks      this rank's block of the grad
``input_is_parallel=False``   this rank's block of input   allgather of the gradient
============================  ===========================  =============================

The split follows ``numpy.array_split``: the first ``n % size`` ranks get one more row/column.
"""

from __future__ import annotations

from .. import ndarray as nd
from ..autograd import Function
from ..base import MXNetTypeError, MXNetValueError
from ..context import cpu
from ..gluon.block import Block
from ..gluon.parameter import Parameter

__all__ = ["ColumnParallelDense", "RowParallelDense", "ShardedParameter", "shard_bounds"]


def shard_bounds(n: int, size: int, rank: int) -> tuple[int, int]:
    """``[lo, hi)`` of rank ``rank``'s block of ``n`` items split over ``size`` ranks (blocks as
    ``numpy.array_split``)."""
    base, rest = divmod(int(n), int(size))
    lo = rank * base + min(rank, rest)
    return lo, lo + base + (rank < rest)


class ShardedParameter(Parameter):
    """A Parameter that holds this rank's block of a larger (*full*) weight.

    Initialisation draws the full weight with the initializer (so fan-in/fan-out based
    initializers such as Xavier see the full layer), takes rank ``root``'s draw on every rank
    (broadcast) and keeps this rank's block: the concatenated blocks equal what a plain Dense
    with the same seed and initializer gets in a single process. With ``axis=None`` the
    parameter is not split, only made identical on every rank.

    Parameters
    ----------
    name : str
        Full name.
    full_size : int or None
        Length of the full weight along ``axis`` (None when not split).
    axis : int or None
        The split axis.
    bounds : (int, int)
        This rank's ``[lo, hi)`` along ``axis``.
    comm : Communicator
        The ranks sharing the weight.
    **kwargs
        As for :class:`gluon.Parameter` (``shape`` is this rank's block).
    """

    def __init__(self, name, full_size, axis, bounds, comm, **kwargs):
        super().__init__(name, **kwargs)
        self.full_size, self.shard_axis, self.shard_bounds = full_size, axis, bounds
        self._comm = comm

    def full_shape(self) -> tuple:
        """The shape of the whole weight (this rank holds ``self.shape``)."""
        shape = list(self.shape)
        if self.shard_axis is not None:
            shape[self.shard_axis] = self.full_size
        return tuple(shape)

    def _run_initializer(self, init, default_init, data):
        full = nd.zeros(self.full_shape(), ctx=cpu(), dtype=self.dtype)
        super()._run_initializer(init, default_init, full)
        self._comm.broadcast(full, 0)  # every rank keeps a block of the *same* full weight
        if self.shard_axis is not None:
            lo, hi = self.shard_bounds
            full = nd.slice_axis(full, axis=self.shard_axis, begin=lo, end=hi)
        data[...] = full


# -- the seams: collectives with custom gradients ------------------------------------------------
class _CopyToRanks(Function):
    """Forward: identity (the input is replicated). Backward: sum the ranks' gradients, since
    each rank's block of the layer contributes a part of the input's gradient."""

    def __init__(self, comm):
        super().__init__()
        self.comm = comm

    def forward(self, x):
        return x.detach()  # a new handle on the same data: the tape entry must not land on x

    def backward(self, g):
        return self.comm.allreduce(g, "sum")


class _SumOverRanks(Function):
    """Forward: sum the ranks' partial outputs. Backward: identity, because the sum is
    replicated and every rank's loss counts it once."""

    def __init__(self, comm):
        super().__init__()
        self.comm = comm

    def forward(self, x):
        return self.comm.allreduce(x, "sum")

    def backward(self, g):
        return g


def _last_axis_first(x):
    return x.transpose((x.ndim - 1,) + tuple(range(x.ndim - 1)))


def _last_axis_back(x):
    return x.transpose(tuple(range(1, x.ndim)) + (0,))


class _GatherLastAxis(Function):
    """Forward: concatenate the ranks' blocks along the last axis. Backward: this rank's block
    of the (replicated) gradient."""

    def __init__(self, comm, bounds):
        super().__init__()
        self.comm, self.bounds = comm, bounds

    def forward(self, x):
        return _last_axis_back(self.comm.allgather(_last_axis_first(x)))

    def backward(self, g):
        lo, hi = self.bounds
        return nd.slice_axis(g, axis=-1, begin=lo, end=hi)


class _ScatterLastAxis(Function):
    """Forward: this rank's block of the last axis. Backward: gather the blocks' gradients."""

    def __init__(self, comm, bounds):
        super().__init__()
        self.comm, self.bounds = comm, bounds

    def forward(self, x):
        lo, hi = self.bounds
        return nd.slice_axis(x, axis=-1, begin=lo, end=hi)

    def backward(self, g):
        return _last_axis_back(self.comm.allgather(_last_axis_first(g)))


# -- the layers ----------------------------------------------------------------------------------
class _ParallelDense(Block):
    """What the two layers share: the communicator, the split, the activation."""

    def __init__(self, units, in_units, activation, use_bias, flatten, dtype, comm, split,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(in_units, str):
            raise MXNetTypeError(f"{type(self).__name__}: in_units is the second argument; "
                                 f"pass the activation as activation={in_units!r}")
        if comm is None:
            from . import init

            comm = init()
        self._comm, self._units, self._in_units = comm, int(units), int(in_units)
        self._act, self._use_bias, self._flatten = activation, bool(use_bias), bool(flatten)
        self._dtype = dtype
        if split < comm.size:
            raise MXNetValueError(f"{type(self).__name__}: Expect: at least one unit per rank "
                                  f"to split / Actual: {split} units over {comm.size} ranks")
        self._bounds = shard_bounds(split, comm.size, comm.rank)

    @property
    def comm(self):
        """The ranks that share this layer."""
        return self._comm

    def _param(self, name, shape, full_size, axis, init):
        return ShardedParameter(self.prefix + name, full_size, axis, self._bounds, self._comm,
                                shape=shape, init=init, dtype=self._dtype,
                                allow_deferred_init=True)

    def _activate(self, y):
        return y if self._act is None else nd.Activation(y, act_type=self._act)

    def _flat(self, x):
        return x.reshape((x.shape[0], -1)) if self._flatten and x.ndim > 2 else x

    def _finish_init(self, x):
        """Deferred ``in_units``: the first input tells the weight's shape."""
        w = self.weight
        if w._deferred_init:
            w.shape = tuple(x.shape[-1] if s == 0 else s for s in w.shape)
            for p in (self.weight, self.bias):
                if p is not None:
                    p._finish_deferred_init()

    def __repr__(self):
        lo, hi = self._bounds
        return (f"{type(self).__name__}({self._in_units or None} -> {self._units}, "
                f"{self._act or 'linear'}, rank {self._comm.rank} holds [{lo}:{hi}])")


class ColumnParallelDense(_ParallelDense):
    """A Dense layer whose output units are split across the ranks.

    ``output = activation(dot(input, weight.T) + bias)`` with rank r holding rows
    ``[lo, hi)`` of ``weight`` (shape ``(units, in_units)``) and of ``bias``; it computes those
    output units from the whole (replicated) input. The input's gradient is summed over the
    ranks in the backward pass.

    Parameters
    ----------
    units : int
        Output units of the whole layer (at least one per rank).
    in_units : int, default 0
        Size of the input; 0 defers it to the first forward call.
    activation : str, optional
        Applied to this rank's block (elementwise, so no communication).
    use_bias : bool, default True
        Whether the layer has a bias (split like the units).
    flatten : bool, default True
        As for :class:`gluon.nn.Dense`.
    gather_output : bool, default False
        Allgather the blocks into the full ``units`` output on every rank. Leave it False to
        feed a :class:`RowParallelDense` directly (its ``input_is_parallel=True``).
    dtype : str, default 'float32'
        Data type of the parameters.
    weight_initializer, bias_initializer : str or Initializer
        As for Dense; applied to the full weight, then split.
    comm : Communicator, optional
        The ranks to split over (default: the world).

    Examples
    --------
    >>> net = gluon.nn.Sequential()
    >>> net.add(parallel.ColumnParallelDense(512, in_units=256, activation="relu"),
    ...         parallel.RowParallelDense(256, in_units=512))   # one allreduce per pass
    """

    def __init__(self, units, in_units=0, activation=None, use_bias=True, flatten=True,
                 gather_output=False, dtype="float32", weight_initializer=None,
                 bias_initializer="zeros", comm=None, **kwargs):
        super().__init__(units, in_units, activation, use_bias, flatten, dtype, comm, units,
                         **kwargs)
        self._gather = bool(gather_output)
        lo, hi = self._bounds
        self.weight = self._param("weight", (hi - lo, self._in_units), self._units, 0,
                                  weight_initializer)
        self.bias = (self._param("bias", (hi - lo,), self._units, 0, bias_initializer)
                     if use_bias else None)

    @property
    def local_units(self) -> int:
        """How many of the output units this rank computes."""
        return self._bounds[1] - self._bounds[0]

    def forward(self, x):
        x = self._flat(x)
        self._finish_init(x)
        if self._comm.size > 1:
            x = _CopyToRanks(self._comm)(x)
        b = self.bias.data() if self.bias is not None else None
        y = nd.FullyConnected(x, self.weight.data(), b, no_bias=b is None,
                              num_hidden=self.local_units, flatten=self._flatten)
        y = self._activate(y)
        if self._gather and self._comm.size > 1:
            y = _GatherLastAxis(self._comm, self._bounds)(y)
        return y


class RowParallelDense(_ParallelDense):
    """A Dense layer whose input features are split across the ranks.

    Rank r holds columns ``[lo, hi)`` of ``weight`` (shape ``(units, in_units)``), multiplies
    its block of the input features by them, and the partial outputs are summed over the ranks
    (allreduce); the bias (replicated) and the activation follow the sum.

    Parameters
    ----------
    units : int
        Output units (every rank gets the whole output).
    in_units : int
        Input features of the whole layer (at least one per rank); required, it decides the
        split.
    activation : str, optional
        Applied after the sum.
    use_bias : bool, default True
        Whether the layer has a bias (not split; identical on every rank).
    flatten : bool, default True
        As for :class:`gluon.nn.Dense`.
    input_is_parallel : bool, default True
        The input is already this rank's block of features (the output of a
        :class:`ColumnParallelDense` with ``gather_output=False``). False: the input is the
        whole (replicated) array and this layer takes its block.
    dtype, weight_initializer, bias_initializer, comm
        As for :class:`ColumnParallelDense`.
    """

    def __init__(self, units, in_units, activation=None, use_bias=True, flatten=True,
                 input_is_parallel=True, dtype="float32", weight_initializer=None,
                 bias_initializer="zeros", comm=None, **kwargs):
        if not isinstance(in_units, str) and int(in_units) <= 0:
            raise MXNetValueError(f"RowParallelDense: Expect: in_units > 0 (it decides the "
                                  f"split) / Actual: {in_units}")
        super().__init__(units, in_units, activation, use_bias, flatten, dtype, comm, in_units,
                         **kwargs)
        self._input_is_parallel = bool(input_is_parallel)
        lo, hi = self._bounds
        self.weight = self._param("weight", (self._units, hi - lo), self._in_units, 1,
                                  weight_initializer)
        self.bias = (self._param("bias", (self._units,), None, None, bias_initializer)
                     if use_bias else None)

    @property
    def local_in_units(self) -> int:
        """How many of the input features this rank multiplies."""
        return self._bounds[1] - self._bounds[0]

    def forward(self, x):
        x = self._flat(x)
        if not self._input_is_parallel and self._comm.size > 1:
            x = _ScatterLastAxis(self._comm, self._bounds)(x)
        if x.shape[-1] != self.local_in_units:
            what = "its block of" if self._input_is_parallel else "the whole"
            raise MXNetValueError(f"{self.name}: Expect: x.shape[-1] == {self.local_in_units} "
                                  f"({what} the {self._in_units} input features) / Actual: "
                                  f"{x.shape[-1]} (shape {x.shape})")
        self._finish_init(x)
        y = nd.FullyConnected(x, self.weight.data(), None, no_bias=True,
                              num_hidden=self._units, flatten=self._flatten)
        if self._comm.size > 1:
            y = _SumOverRanks(self._comm)(y)
        if self.bias is not None:
            y = nd.broadcast_add(y, self.bias.data().reshape((1,) * (y.ndim - 1) + (-1,)))
        return self._activate(y)
