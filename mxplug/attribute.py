"""``mx.attribute``: MXNet's module of :class:`AttrScope` (``from mxnet.attribute import
AttrScope`` works unchanged)."""

from .graph.node import AttrScope

__all__ = ["AttrScope"]
