"""``F``: call registered ops by name from op bodies and gradient rules (``F.exp(x)``).

Composites and VJP rules are written in mxplug ops on NDArrays; ``F.<name>(*inputs, **attrs)``
parses the attributes like ``mx.nd.<name>`` does and goes through ``apply``, so what they compute
is recorded, traced and dispatched like any user call.
"""

from __future__ import annotations

from .dispatch import apply
from .registry import REGISTRY

__all__ = ["F", "unbroadcast"]


class _Ops:
    def __getattr__(self, name):
        op = REGISTRY[name]
        defaults = op.defaults

        def call(*inputs, **attrs):
            return apply(op, *inputs, **(op.parse_attrs(attrs) if attrs else defaults))

        call.__name__ = name
        setattr(self, name, call)  # cache: later lookups are plain attribute reads
        return call


F = _Ops()


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = F.sum(g, axis=axes, keepdims=True)
    return F.reshape(g, shape=shape)
