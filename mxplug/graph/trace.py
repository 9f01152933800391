"""Tracing: run Python code written for NDArrays on stand-ins and get the graph it computes.

A :class:`Tracer` is an NDArray without data: it names one output of a graph node and knows its
shape and dtype (so ``x.shape`` and ``x.reshape(...)`` work). While a :class:`Tracing` is active
its hook on ``apply`` turns every op call into a node instead of computing — ``mx.nd.<op>``,
NDArray operators and ``F.<op>`` (op bodies and gradient rules) alike. NDArrays met on the way
(parameters a function closes over, index arrays) become *constant* variables bound to those
very arrays, so the graph reads their current values on every run rather than baking them in.

:func:`trace` is hybridize's front half; :mod:`.backward` applies the gradient rules the same way.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..base import MXNetError, MXNetValueError, dtype_of
from ..context import Context, current_context
from ..ndarray import NDArray
from ..ops import REGISTRY
from ..ops.dispatch import apply, state
from ..ops.indexing import normalize_key
from ..ops.infer import Spec
from .node import NameManager, Node, _name_stack, current_attrs, infer_node, source_of
from .symbol import Symbol

__all__ = ["Tracer", "Tracing", "TracedGraph", "trace", "signature_of"]

_getitem, _cast = REGISTRY["getitem"], REGISTRY["cast"]
_SCALARS = (int, float, bool, np.generic)


class Tracer(NDArray):
    """A stand-in NDArray during tracing: output ``k`` of a graph node (``_out = (node, k)``)."""

    __slots__ = ("_out",)

    @classmethod
    def of(cls, out, ctx):
        t = object.__new__(cls)
        t._out, t._ctx = out, ctx
        return t

    @property
    def symbol(self) -> Symbol:
        return Symbol([self._out])

    def _spec(self) -> Spec:
        node, k = self._out
        if node.specs is None:
            raise MXNetValueError(f"trace: the shape of {node.name!r} (made at {node.source}) is "
                                  f"not known; give the graph's inputs shapes")
        return node.specs[k]

    @property
    def shape(self):
        return tuple(self._spec().shape)

    @property
    def dtype(self):
        return np.dtype(self._spec().dtype).type

    @property
    def size(self):
        return math.prod(self._spec().shape)

    @property
    def ndim(self):
        return len(self._spec().shape)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __getitem__(self, key):
        static, idx = normalize_key(key, _is_array, self._as_index)
        return apply(_getitem, self, *idx, key=static)

    def astype(self, dtype, copy=True):
        dt = dtype_of(dtype)
        if not copy and np.dtype(self.dtype) == dt:
            return self
        return apply(_cast, self, dtype=dt.name)

    def as_in_context(self, context):
        return self  # a graph runs on the context it is bound to

    as_in_ctx = as_in_context

    def wait_to_read(self):
        pass

    wait_to_write = wait_to_read

    def detach(self):
        return apply(REGISTRY["stop_gradient"], self)

    def _inplace(self, op, o):
        # ``x += y`` rebinds ``x`` to the result: views of ``x`` do not see it (no memory here)
        return apply(op, self, o)

    def _value_error(self, what):
        node = self._out[0]
        raise MXNetError(
            f"trace: {what} reads the value of {node.name!r}, which a traced function does not "
            f"have (at {source_of()}). Python control flow on array values cannot be recorded in "
            f"a graph: compute it with ops (mx.nd.where, ...), or do not hybridize this code")

    def asnumpy(self):
        self._value_error("asnumpy()")

    def __array__(self, dtype=None, copy=None):
        self._value_error("conversion to NumPy")

    def __bool__(self):
        self._value_error("bool()")

    def item(self):
        self._value_error("item()")

    def asscalar(self):
        self._value_error("asscalar()")

    def tolist(self):
        self._value_error("tolist()")

    def __setitem__(self, key, value):
        raise MXNetError(f"trace: assignment into a traced array ({self._out[0].name!r}, at "
                         f"{source_of()}) cannot be recorded; build the new value with ops")

    def copyto(self, other):
        if isinstance(other, Context):
            return self
        raise MXNetError(f"trace: copyto into an NDArray cannot be recorded (at {source_of()})")

    def attach_grad(self, grad_req="write", stype=None):
        raise MXNetError("trace: attach_grad on a traced array; attach it to the real inputs")

    def __dlpack__(self, *args, **kwargs):
        self._value_error("DLPack export")

    def __reduce__(self):
        raise MXNetError("trace: a traced array cannot be pickled")

    def __repr__(self):
        node, k = self._out
        spec = node.specs[k] if node.specs is not None else None
        what = f"{np.dtype(spec.dtype).name}{tuple(spec.shape)}" if spec else "unknown shape"
        return f"<Tracer {node.name}[{k}] {what}>"

    __str__ = __repr__


def _declared(spec):
    """A variable's user attributes declaring its shape and dtype (as ``mx.sym.var`` writes)."""
    return {"__shape__": str(tuple(spec.shape)), "__dtype__": np.dtype(spec.dtype).name}


def _is_array(k):
    return isinstance(k, NDArray)


class Tracing:
    """An active trace: installs the ``apply`` hook that builds nodes (``with Tracing() as t:``).

    ``expand`` inlines composite ops that have no gradient rule (their bodies run on the tracers),
    as gradient graphs need. ``constants`` maps the names of captured NDArrays to the arrays."""

    _ids = itertools.count()

    def __init__(self, ctx=None, expand=False, prefix=""):
        self.ctx = Context(ctx) if ctx is not None else current_context()
        self.expand = expand
        self.constants: dict[str, NDArray] = {}
        self._const_nodes: dict[int, Node] = {}  # id(array) -> its variable node
        self.names = NameManager(prefix)
        self.source = None  # when set, the source of every node made (gradient rules)
        self._tag = next(self._ids)

    # -- scope -----------------------------------------------------------------------------------
    def __enter__(self):
        self._prev = state.set_hook(self.hook)
        _name_stack().append(self.names)
        return self

    def __exit__(self, *exc):
        _name_stack().pop()
        state.set_hook(self._prev)

    def wrap(self, out) -> Tracer:
        return Tracer.of(out, self.ctx)

    def variable(self, name, spec=None, user_attrs=None, source=None) -> Tracer:
        node = Node(None, {}, (), name, source or source_of(), (spec,) if spec else None,
                    user_attrs)
        return self.wrap((node, 0))

    def constant(self, arr: NDArray):
        """The variable standing for a captured NDArray (one per array object)."""
        node = self._const_nodes.get(id(arr))
        if node is None:
            name = f"_const{self._tag}_{len(self.constants)}"
            self.constants[name] = arr  # also keeps the array alive, so its id stays unique
            spec = Spec(tuple(arr.shape), np.dtype(arr.dtype))
            node = Node(None, {}, (), name, source_of(), (spec,), _declared(spec))
            self._const_nodes[id(arr)] = node
        return (node, 0)

    # -- the hook --------------------------------------------------------------------------------
    def hook(self, op, args, attrs):
        """``apply`` while tracing: record ``op(*args)`` as a node, return Tracer(s)."""
        if self.expand and op.composite is not None and op.vjp_fn is None:
            return op.composite(*args, **attrs)  # its primitives come back through this hook
        inputs, consts = [], {}
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                inputs.append(a._out)
            elif isinstance(a, NDArray):
                inputs.append(self.constant(a))
            elif isinstance(a, _SCALARS):
                consts[i] = a.item() if isinstance(a, np.generic) else a
            else:
                raise MXNetValueError(f"trace: {op.name} got a {type(a).__name__} as input {i}; "
                                      f"a traced op takes arrays or numbers (at {source_of()})")
        source = self.source or source_of()
        name = self.names.get(None, op.name.lower().lstrip("_"))
        node = Node(op, attrs, inputs, name, source, None, current_attrs(), consts)
        node.specs = infer_node(node)
        n = node.num_outputs
        if n == 1:
            return Tracer.of((node, 0), self.ctx)
        return tuple(Tracer.of((node, k), self.ctx) for k in range(n))


# -- trace(fn) ---------------------------------------------------------------------------------
def signature_of(args, training=None):
    """What a trace depends on: each argument's (shape, dtype, context) — or its value when it
    is not an array — and the training flag."""
    sig = []
    for a in args:
        if type(a) is NDArray:  # dtype and (interned) Context objects: cheap to hash
            d = a._data
            sig.append(("array", tuple(d.shape), np.dtype(d.dtype), a._ctx))
        elif isinstance(a, NDArray):
            sig.append(("array", tuple(a.shape), np.dtype(a.dtype), a.context))
        else:
            try:
                hash(a)
            except TypeError:
                raise MXNetValueError(f"trace: argument {a!r} is neither an NDArray nor "
                                      f"hashable; pass arrays, numbers or tuples") from None
            sig.append(("value", type(a).__name__, a))
    return (tuple(sig), bool(state.training if training is None else training))


@dataclass
class TracedGraph:
    """A traced function: its graph and what the trace depended on."""

    symbol: Symbol
    #: Variable names of the array arguments, in argument order (``None`` for non-array ones).
    input_names: list
    #: Captured NDArrays by variable name: inputs of the graph the caller did not pass.
    constants: dict = field(default_factory=dict)
    #: ``signature_of(args)`` at trace time: input shapes/dtypes/contexts, static values, training.
    signature: tuple = ()
    #: The function returned one array (not a tuple or list).
    single: bool = True

    def describe_change(self, other_signature) -> str:
        """Why a call with ``other_signature`` cannot reuse this trace, in words."""
        (mine, train), (theirs, train2) = self.signature, other_signature
        if len(mine) != len(theirs):
            return f"{len(theirs)} arguments instead of {len(mine)}"
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if a != b:
                return f"argument {i} is {_describe(b)} instead of {_describe(a)}"
        if train != train2:
            return (f"autograd.is_training() is {train2} instead of {train} (ops such as Dropout "
                    f"and BatchNorm behave differently)")
        return "nothing (same signature)"


def _describe(s):
    if s[0] == "array":
        return f"an array of shape {s[1]}, {np.dtype(s[2]).name} on {s[3]}"
    return f"the {s[1]} {s[2]!r}"


#: the hook builds nodes: random front ends draw no state for it (ops.dispatch.building_graph)
Tracing.hook.builds_graph = True


def trace(fn, *example_args, names=None, ctx=None, prefix="") -> TracedGraph:
    """Run ``fn`` on stand-ins for ``example_args`` and return the graph it computes.

    Parameters
    ----------
    fn : callable
        Code written with ``mx.nd`` ops, NDArray operators or ``F.<op>``; returns an NDArray or
        a tuple/list of them.
    *example_args : NDArray or hashable value
        Arrays give their shape, dtype and context to the stand-ins; other values are passed to
        ``fn`` unchanged and become part of the signature.
    names : list of str, optional
        Variable names of the array arguments (default ``data0``, ``data1``, ...).
    ctx : Context, optional
        Context the stand-ins report (default: the first array argument's).
    prefix : str
        Prefix of the automatic node names.

    Returns
    -------
    TracedGraph
        The graph as a Symbol, the input names, captured constants and the trace's dependencies.
    """
    signature = signature_of(example_args)
    arrays = [a for a in example_args if isinstance(a, NDArray)]
    if ctx is None:
        ctx = arrays[0].context if arrays else current_context()
    names = list(names) if names is not None else [f"data{i}" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise MXNetValueError(f"trace: {len(names)} names for {len(arrays)} array arguments")
    source = source_of()
    with Tracing(ctx, prefix=prefix) as t:
        it = iter(names)
        stand_ins, input_names = [], []
        for a in example_args:
            if isinstance(a, NDArray):
                name = next(it)
                spec = Spec(tuple(a.shape), np.dtype(a.dtype))
                stand_ins.append(t.variable(name, spec, _declared(spec), source))
                input_names.append(name)
            else:
                stand_ins.append(a)
                input_names.append(None)
        result = fn(*stand_ins)
        single = not isinstance(result, (tuple, list))
        outs = []
        for k, r in enumerate([result] if single else result):
            if isinstance(r, Tracer):
                outs.append(r._out)
            elif isinstance(r, NDArray):  # an array computed without the inputs: keep reading it
                outs.append(t.constant(r))
            else:
                raise MXNetValueError(f"trace: output {k} of {getattr(fn, '__name__', fn)} is a "
                                      f"{type(r).__name__}; a traced function returns NDArrays")
    return TracedGraph(Symbol(outs), input_names, dict(t.constants), signature, single)
