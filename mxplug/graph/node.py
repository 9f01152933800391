"""Graph nodes, naming and attribute scopes.

A :class:`Node` is one op application (or a variable: ``op is None``) with its attributes, its
inputs as ``(node, output index)`` pairs, a name, the Python ``file:line`` that created it, and —
when the input shapes are known — the output :class:`~mxplug.ops.infer.Spec` s from the op's own
``infer`` rule.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import defaultdict

from ..base import MXNetError
from ..ops.infer import Spec

__all__ = ["Node", "NameManager", "Prefix", "AttrScope", "current_attrs", "ctx_group_of",
           "source_of", "infer_node", "topo_nodes"]

_MXPLUG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_local = threading.local()


def source_of() -> str:
    """``file:line`` of the first caller frame outside mxplug (where the user made the node)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_MXPLUG_DIR):
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


# -- naming ---------------------------------------------------------------------------------------
class _ThreadCurrent(type):
    """``cls.current``: this thread's innermost scope of the class (MXNet's ``NameManager.current``
    / ``AttrScope.current``); setting it replaces that scope for this thread only."""

    @property
    def current(cls):
        return cls._stack()[-1]

    @current.setter
    def current(cls, value):
        cls._stack()[-1] = value


class NameManager(metaclass=_ThreadCurrent):
    """Automatic names (``fullyconnected0``) and prefixes (``with mx.name.Prefix('mlp_'):``)."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self._counter = defaultdict(int)

    @staticmethod
    def _stack():
        if not hasattr(_local, "names"):
            _local.names = [NameManager()]
        return _local.names

    def get(self, name, hint):
        if name is not None:
            return self.prefix + name
        n = self._counter[hint]
        self._counter[hint] += 1
        return f"{self.prefix}{hint}{n}"

    def __enter__(self):
        stack = self._stack()
        self._old = stack[-1]
        stack.append(self)
        return self

    def __exit__(self, *exc):
        self._stack().pop()


class Prefix(NameManager):
    """Prefix every automatic and explicit name made in the block."""


def _name_stack():
    return NameManager._stack()


def current_name_manager() -> NameManager:
    return NameManager._stack()[-1]


# -- attribute scopes (ctx_group, lr_mult, ...) -------------------------------------------------
#: Attributes MXNet stores as ``__key__`` (so they are never taken for op parameters);
#: ``Symbol.attr('ctx_group')`` finds them under either spelling.
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
               "profiler_scope")


def hidden_key(key: str) -> str:
    return f"__{key}__" if key in HIDDEN_KEYS else key


def ctx_group_of(node):
    """The ``ctx_group`` a node was made in (``AttrScope`` stores it as ``__ctx_group__``;
    files of older MXNet versions as ``ctx_group``), or None."""
    return node.user_attrs.get("__ctx_group__") or node.user_attrs.get("ctx_group")


class AttrScope(metaclass=_ThreadCurrent):
    """``with mx.AttrScope(ctx_group='dev1'):`` attaches attributes to every node made inside.

    Inside the block ``AttrScope.current`` is this scope with the attributes of every enclosing
    scope in its ``_attr``, as in MXNet (a copy per thread)."""

    def __init__(self, **attrs):
        self._own = {hidden_key(k): str(v) for k, v in attrs.items()}
        self._attr = dict(self._own)

    @staticmethod
    def _stack():
        if not hasattr(_local, "attrs"):
            _local.attrs = [AttrScope()]
        return _local.attrs

    def get(self, attr):
        """The scope's attributes updated with ``attr`` (a dict, or None), as a new dict."""
        return {**self._attr, **(attr or {})}

    def __enter__(self):
        # the thread's stack gets its own copy with the enclosing scopes' attributes merged:
        # one scope object entered by two threads must not mix their attributes
        stack = self._stack()
        frame = AttrScope.__new__(AttrScope)
        frame._own, frame._attr = self._own, {**stack[-1]._attr, **self._own}
        stack.append(frame)
        return self

    def __exit__(self, *exc):
        self._stack().pop()


def current_attrs() -> dict:
    """The attributes the current thread's scopes give a new node."""
    return AttrScope._stack()[-1]._attr


# -- nodes --------------------------------------------------------------------------------------
class Node:
    """``consts`` maps argument positions to Python scalars (``x + 2.0``): the op's arguments are
    the symbol inputs with the constants put back at their positions."""

    __slots__ = ("op", "attrs", "inputs", "consts", "name", "source", "specs", "user_attrs")

    def __init__(self, op, attrs, inputs, name, source, specs=None, user_attrs=None, consts=None):
        self.op, self.attrs, self.inputs = op, attrs, tuple(inputs)
        self.name, self.source, self.specs = name, source, specs
        self.user_attrs = dict(user_attrs or {})
        self.consts = dict(consts or {})

    def arguments(self, values):
        """The op's positional arguments: ``values`` (one per input) with constants put back."""
        if not self.consts:
            return list(values)
        it = iter(values)
        n = len(self.inputs) + len(self.consts)
        return [self.consts[i] if i in self.consts else next(it) for i in range(n)]

    @property
    def is_variable(self):
        return self.op is None

    @property
    def num_outputs(self):
        if self.op is None:
            return 1
        return len(self.specs) if self.specs is not None else self.op.num_outputs(self.attrs)

    def __repr__(self):
        return f"<Node {self.name} {self.op.name if self.op else 'var'} @ {self.source}>"


def infer_node(node, input_specs=None):
    """Output specs of ``node`` from its op's rule when every input spec is known, else None."""
    if input_specs is None:
        input_specs = []
        for inp, k in node.inputs:
            if inp.specs is None:
                return None
            input_specs.append(inp.specs[k])
    op, attrs, name, source = node.op, node.attrs, node.name, node.source
    try:
        out = op.infer(*node.arguments(input_specs), **attrs)
    except MXNetError as e:
        raise type(e)(f"{e} [node {name!r} ({op.name}) made at {source}]") from None
    return tuple(out) if isinstance(out, tuple) and not isinstance(out, Spec) else (out,)


# -- graph traversal ----------------------------------------------------------------------------
def post_order(roots, children):
    """Every object reachable from ``roots`` through ``children(obj)``, each after its children
    (stable order; iterative, so deep graphs do not hit the recursion limit)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        obj, done = stack.pop()
        if done:
            order.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        stack.append((obj, True))
        stack.extend((c, False) for c in reversed(children(obj)) if id(c) not in seen)
    return order


def topo_nodes(outputs):
    """Every node reachable from ``outputs``, inputs before their consumers (stable order)."""
    return post_order([node for node, _ in outputs], lambda n: [i for i, _ in n.inputs])


