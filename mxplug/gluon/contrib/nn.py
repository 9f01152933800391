"""``mx.gluon.contrib.nn`` (MXNet 1.x): Concurrent, HybridConcurrent, Identity,
PixelShuffle1D/2D/3D and SyncBatchNorm."""

from __future__ import annotations

from ... import ndarray as nd
from ...base import MXNetNotImplementedError
from ..block import HybridBlock
from ..nn import BatchNorm, HybridSequential, Sequential

__all__ = ["Concurrent", "HybridConcurrent", "Identity", "PixelShuffle1D", "PixelShuffle2D",
           "PixelShuffle3D", "SyncBatchNorm"]


class Concurrent(Sequential):
    """Lays Blocks concurrently: every child gets the same input and their outputs are
    concatenated along ``axis``.

    Parameters
    ----------
    axis : int, default -1
        The axis on which to concatenate the outputs.

    Examples
    --------
    >>> net = Concurrent()
    >>> with net.name_scope():
    ...     net.add(nn.Dense(10, activation='relu'))
    ...     net.add(nn.Dense(20))
    ...     net.add(Identity())
    """

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        out = [block(x) for block in self._children.values()]
        return nd.concat(*out, dim=self.axis)


class HybridConcurrent(HybridSequential):
    """Lays HybridBlocks concurrently: every child gets the same input and their outputs are
    concatenated along ``axis``.

    Parameters
    ----------
    axis : int, default -1
        The axis on which to concatenate the outputs.
    """

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        out = [block(x) for block in self._children.values()]
        return F.concat(*out, dim=self.axis)


class Identity(HybridBlock):
    """Block that passes its input through unchanged (useful in Concurrent and residuals)."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return x


def _factors(factor, n):
    try:
        factors = (int(factor),) * n
    except TypeError:
        factors = tuple(int(f) for f in factor)
    if len(factors) != n:
        raise ValueError(f"wrong length {len(factors)} of factor {factor!r}: expected {n}")
    return factors


class _PixelShuffle(HybridBlock):
    """Moves channel blocks into the spatial axes: (N, C*f1*...*fn, X1, ..., Xn) ->
    (N, C, X1*f1, ..., Xn*fn); channel ``c*f1*...*fn + k`` lands at the position whose offsets
    within its block are ``k`` in row-major order of (f1, ..., fn)."""

    _ndim = 0

    def __init__(self, factor):
        super().__init__()
        self._factors = _factors(factor, self._ndim)

    def hybrid_forward(self, F, x):
        n, fs = self._ndim, self._factors
        size = 1
        for f in fs:
            size *= f
        x = F.reshape(x, (0, -4, -1, size) + (0,) * n)  # (N, C, f1*...*fn, X1..Xn)
        for i in range(n - 1):  # split off f1, f2, ...: (N, C, f1, ..., fn, X1, ..., Xn)
            x = F.reshape(x, (0,) * (2 + i) + (-4, fs[i], -1) + (0,) * n)
        # interleave: (N, C, X1, f1, X2, f2, ...)
        axes = (0, 1) + sum(((2 + n + i, 2 + i) for i in range(n)), ())
        x = F.transpose(x, axes)
        return F.reshape(x, (0, 0) + (-3,) * n)

    def __repr__(self):
        return f"{type(self).__name__}({self._factors if self._ndim > 1 else self._factors[0]})"


class PixelShuffle1D(_PixelShuffle):
    """Pixel-shuffle upsampling along one axis: (N, f*C, W) -> (N, C, W*f).

    Parameters
    ----------
    factor : int or 1-tuple of int
        Upsampling factor.
    """

    _ndim = 1


class PixelShuffle2D(_PixelShuffle):
    """Pixel-shuffle upsampling (Shi et al., 2016): (N, f1*f2*C, H, W) -> (N, C, H*f1, W*f2).

    Parameters
    ----------
    factor : int or 2-tuple of int
        Upsampling factors along height and width.
    """

    _ndim = 2


class PixelShuffle3D(_PixelShuffle):
    """Pixel-shuffle upsampling in 3-D: (N, f1*f2*f3*C, D, H, W) -> (N, C, D*f1, H*f2, W*f3).

    Parameters
    ----------
    factor : int or 3-tuple of int
        Upsampling factors along depth, height and width.
    """

    _ndim = 3


class SyncBatchNorm(BatchNorm):
    """MXNet's cross-device BatchNorm. On one device it is :class:`~mxplug.gluon.nn.BatchNorm`
    (channel axis 1). Synchronising the statistics of several devices inside one process would
    need every device's forward to wait for the others, which eager calls made one after the
    other cannot do: ``num_devices > 1`` raises (use ``kvstore='dist_sync'`` data parallelism
    over MPI ranks, one device each, or plain BatchNorm per device).

    Parameters
    ----------
    in_channels : int, default 0
        Number of channels; 0 defers it to the first forward call.
    num_devices : int, optional
        Number of devices whose batches are normalised together (only 1 is supported).
    momentum, epsilon, center, scale, use_global_stats, *_initializer
        As for :class:`~mxplug.gluon.nn.BatchNorm`.
    """

    def __init__(self, in_channels=0, num_devices=None, momentum=0.9, epsilon=1e-5, center=True,
                 scale=True, use_global_stats=False, beta_initializer="zeros",
                 gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", **kwargs):
        if num_devices is not None and int(num_devices) > 1:
            raise MXNetNotImplementedError(
                f"SyncBatchNorm: num_devices={num_devices} is not supported (statistics are not "
                f"synchronised across devices in one process); use num_devices=1, BatchNorm, "
                f"or MPI data parallelism (kvstore='dist_sync')")
        super().__init__(1, momentum, epsilon, center, scale, use_global_stats,
                         beta_initializer, gamma_initializer, running_mean_initializer,
                         running_variance_initializer, in_channels, **kwargs)
        self._num_devices = 1
