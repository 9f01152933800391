"""``mx.gluon.contrib.nn``: Concurrent, HybridConcurrent and Identity (MXNet 1.x)."""

from __future__ import annotations

from ... import ndarray as nd
from ..block import HybridBlock
from ..nn import HybridSequential, Sequential

__all__ = ["Concurrent", "HybridConcurrent", "Identity"]


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
