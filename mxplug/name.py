"""``mx.name``: MXNet's module of :class:`NameManager` and :class:`Prefix` (``from mxnet.name
import NameManager`` works unchanged)."""

from .graph.node import NameManager, Prefix

__all__ = ["NameManager", "Prefix"]
