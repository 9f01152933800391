"""The Symbol graph: nodes, inference, serialisation and execution (``mx.sym`` builds on it)."""

from .node import AttrScope, NameManager, Prefix
from .symbol import Group, Symbol, Variable, make_node, var

__all__ = ["AttrScope", "Group", "NameManager", "Prefix", "Symbol", "Variable", "make_node",
           "var"]
