"""Automatic differentiation with MXNet 1.x's ``mx.autograd`` API.

Under :func:`record`, ``apply`` hands every op to this module's hook: the op runs, and when an
input needs a gradient one tape :class:`Entry` is kept on the outputs. :func:`backward` walks the
entries reachable from the heads in reverse topological order and calls each op's VJP rule. The
rules are written in mxplug ops, so with ``create_graph=True`` the backward pass is itself
recorded and can be differentiated again.
"""

from __future__ import annotations

import itertools

from .base import MXNetError, MXNetNotImplementedError, MXNetValueError
from .graph.symbol import Symbol
from .ndarray import NDArray
from .ops import REGISTRY
from .ops.dispatch import COMPOSE, apply, building_graph, eager, state

# NDArray and Symbol too: MXNet's module has no __all__, so ``from mxnet.autograd import *``
# hands them out and its tests rely on it
__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "mark_variables", "backward", "grad", "get_symbol", "Function", "set_recording",
           "set_training", "NDArray", "Symbol"]


class Leaf:
    """Autograd state of an array on which ``attach_grad`` was called."""

    __slots__ = ("grad", "grad_req", "fresh")

    def __init__(self, grad, grad_req):
        self.grad, self.grad_req = grad, grad_req
        self.fresh = False  # set by backward() when it writes .grad; gluon.Trainer clears it


_sequence = itertools.count()


class Entry:
    """One recorded op: what its VJP needs, freed after backward unless the graph is retained.

    ``vjp_into(g, out, dests, *inputs)``, when given, is a VJP that may write an input's gradient
    straight into ``dests[i]`` (a variable's ``.grad``, or None) and return ``dests[i]`` itself
    for it: :func:`backward` offers that for variables whose whole gradient comes from this one
    input slot, saving a temporary and a copy (a CachedOp's planned backward writes there)."""

    __slots__ = ("name", "vjp", "attrs", "inputs", "outputs", "seq", "vjp_into", "__weakref__")

    def __init__(self, name, vjp, attrs, inputs, outputs, vjp_into=None):
        self.name, self.vjp, self.attrs = name, vjp, attrs
        self.inputs, self.outputs = inputs, outputs
        self.vjp_into = vjp_into
        self.seq = next(_sequence)

    def free(self):
        # vjp may hold saved arrays
        self.inputs = self.outputs = self.vjp = self.vjp_into = self.attrs = None


def _needs_grad(a) -> bool:
    ag = getattr(a, "_ag", None)
    return ag is not None and (type(ag) is tuple or ag.grad_req != "null")


# -- recording -----------------------------------------------------------------------------------
def _record_hook(op, args, attrs):
    """The ``apply`` hook while recording: run the op, keep an entry when a gradient may flow."""
    needs_grad = False
    for a in args:  # scalars have no _ag
        ag = getattr(a, "_ag", None)
        if ag is None:
            continue
        if type(ag) is tuple:
            if ag[0].inputs is None:
                # made by a graph an earlier backward freed (an RNN's state carried into the
                # next batch): a constant from now on, as in MXNet
                a._ag = None
                continue
            needs_grad = True
        elif ag.grad_req != "null":
            needs_grad = True
    if not needs_grad:
        return eager(op, args, attrs)
    if op.composite is not None and (op.vjp_fn is None or _resolves_to_composite(op, args)):
        if not op.loss_gradient:
            return op.composite(*args, **attrs)  # its primitives record themselves
        prev = state.set_hook(None)  # the op's own rule is the gradient: record it alone
        try:
            out = op.composite(*args, **attrs)
        finally:
            state.set_hook(prev)
    else:
        out = eager(op, args, attrs)
    if op.differentiable:
        outs = out if type(out) is tuple else (out,)
        entry = Entry(op.name, op.vjp_fn, attrs, args, outs)
        for k, o in enumerate(outs):
            o._ag = (entry, k)
    return out


def _check_setitem(target, value):
    if getattr(target, "_ag", None) is not None or _needs_grad(value):
        raise MXNetError(
            "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with "
            "autograd: assigning to (or from) an array that is part of a recorded graph would "
            "make its gradients wrong; call backward() first, or write outside autograd.record()")


_record_hook.check_setitem = _check_setitem


def _resolves_to_composite(op, args):
    ctx = next(a._ctx for a in args if isinstance(a, NDArray))
    return op.resolve(ctx.backend) is COMPOSE


class _Scope:
    """Sets recording and/or training for a ``with`` block and restores both after it."""

    def __init__(self, recording, training):
        self._rec, self._train, self._saved = recording, training, []

    def __enter__(self):
        self._saved.append((state.hook, state.training))
        # while a hybridized block is traced, the graph's hook stays: ``with autograd.pause():``
        # in a hybrid_forward (GluonCV's box decoders) changes nothing in the graph, as in MXNet
        if self._rec is not None and not building_graph():
            state.set_hook(_record_hook if self._rec else None)
        if self._train is not None:
            state.training = self._train
        return self

    def __exit__(self, *exc):
        hook, training = self._saved.pop()
        state.set_hook(hook)
        state.training = training


def record(train_mode: bool = True) -> _Scope:
    """Record ops for differentiation in this ``with`` block (training mode by default)."""
    return _Scope(True, train_mode)


def pause(train_mode: bool = False) -> _Scope:
    """Stop recording inside a ``record`` block (prediction mode by default)."""
    return _Scope(False, train_mode)


def train_mode() -> _Scope:
    """Training behaviour (Dropout on, BatchNorm batch statistics); recording is unchanged."""
    return _Scope(None, True)


def predict_mode() -> _Scope:
    """Inference behaviour without changing recording."""
    return _Scope(None, False)


def is_recording() -> bool:
    return state.hook is _record_hook


def is_training() -> bool:
    return bool(state.training)


def set_recording(is_recording: bool) -> bool:
    """Turn recording on or off; returns the previous state (MXNet's low-level API)."""
    prev = state.hook is _record_hook
    state.set_hook(_record_hook if is_recording else None)
    return prev


def set_training(train_mode: bool) -> bool:
    prev, state.training = bool(state.training), bool(train_mode)
    return prev


def mark_variables(variables, gradients, grad_reqs="write") -> None:
    """Attach the given gradient buffers to ``variables`` (MXNet's low-level ``attach_grad``)."""
    variables = [variables] if isinstance(variables, NDArray) else list(variables)
    gradients = [gradients] if isinstance(gradients, NDArray) else list(gradients)
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if not len(variables) == len(gradients) == len(reqs):
        raise MXNetValueError(f"mark_variables: {len(variables)} variables, {len(gradients)} "
                              f"gradients and {len(reqs)} grad_reqs must be as many")
    for v, g, r in zip(variables, gradients, reqs):
        if r not in ("write", "add", "null"):
            raise MXNetValueError(f"mark_variables: grad_req must be write, add or null, got {r!r}")
        v._ag = Leaf(g, r)


# -- backward ------------------------------------------------------------------------------------
def _as_list(x):
    return [x] if isinstance(x, NDArray) else list(x)


def _topo_order(heads):
    """Entries reachable from ``heads``, newest first: an entry is created after the entries that
    made its inputs, so reverse creation order visits every consumer before its producers."""
    seen = {}
    stack = [h._ag[0] for h in heads]
    while stack:  # iterative: deep graphs (long RNN unrolls) must not hit the recursion limit
        entry = stack.pop()
        if entry.seq in seen:
            continue
        if entry.inputs is None:
            raise _freed_error(entry)
        seen[entry.seq] = entry
        for a in entry.inputs:
            ag = getattr(a, "_ag", None)
            if type(ag) is tuple and ag[0].seq not in seen:
                stack.append(ag[0])
    return [seen[k] for k in sorted(seen, reverse=True)]


def _freed_error(entry):
    return MXNetError(f"backward: the graph through {entry.name} was already freed by an earlier "
                      f"backward; pass retain_graph=True to that backward to go through it again")


def _check_heads(heads, head_grads):
    for h in heads:
        ag = getattr(h, "_ag", None)
        if type(ag) is not tuple:
            raise MXNetError("backward: this array was not computed by recorded ops that need "
                             "gradients; compute it inside `with autograd.record():` from arrays "
                             "on which attach_grad() was called")
        if ag[0].inputs is None:
            raise _freed_error(ag[0])
    if head_grads is None:
        return [None] * len(heads)
    head_grads = _as_list(head_grads) if not isinstance(head_grads, NDArray) else [head_grads]
    if len(head_grads) != len(heads):
        raise MXNetValueError(f"backward: {len(heads)} heads but {len(head_grads)} head gradients")
    for h, g in zip(heads, head_grads):
        if g is not None and g.shape != h.shape:
            raise MXNetValueError(f"backward: head gradient shape {g.shape} does not match the "
                                  f"head's shape {h.shape}")
    return head_grads


def _direct_sinks(entries, heads):
    """ids of the ``write`` variables whose gradient comes from exactly one input slot of
    ``entries`` and which are no head: that slot's gradient may go straight into their ``.grad``."""
    seen: dict = {}
    for a in heads:
        ag = getattr(a, "_ag", None)
        if type(ag) is Leaf:
            seen[id(ag)] = 2
    for entry in entries:
        for a in entry.inputs:
            ag = getattr(a, "_ag", None)
            if type(ag) is Leaf:
                seen[id(ag)] = seen.get(id(ag), 0) + 1
    return {k for k, n in seen.items() if n == 1}


def _into_targets(entry, sinks):
    """The ``dests`` argument of ``entry.vjp_into``: a sink variable's ``.grad`` per input."""
    dests, found = [None] * len(entry.inputs), False
    for i, a in enumerate(entry.inputs):
        ag = getattr(a, "_ag", None)
        if type(ag) is Leaf and id(ag) in sinks and ag.grad_req == "write":
            g = ag.grad
            if type(g) is NDArray and g._data.dtype == a._data.dtype:
                dests[i], found = g, True
    return tuple(dests) if found else None


def _run_backward(heads, head_grads, retain_graph, create_graph, train_mode, direct=False):
    """Propagate from the heads. Returns ``grads`` keyed by each array's autograd state — a
    ``(entry, k)`` tuple for recorded outputs, the :class:`Leaf` for variables — and the leaves.

    ``direct``: entries with a ``vjp_into`` may write a variable's gradient into its ``.grad``
    themselves (see :class:`Entry`); such variables are then neither in ``grads`` nor leaves."""
    grads: dict = {}
    leaves: dict = {}
    order = _topo_order(heads)
    # only a graph with a CachedOp entry can write gradients directly: eager tapes skip the count
    sinks = _direct_sinks(order, heads) if direct and not create_graph and \
        any(e.vjp_into is not None for e in order) else None

    def accumulate(arr, g):
        ag = getattr(arr, "_ag", None)
        if ag is None:
            return
        if type(ag) is not tuple:
            if ag.grad_req == "null":
                return
            leaves[ag] = arr
        prev = grads.get(ag)
        grads[ag] = g if prev is None else prev + g

    for h, g in zip(heads, head_grads):
        if g is None:  # backward() only copies gradients out: a shared ones array is safe there;
            # grad() hands them to the caller, who may write into them (a view of the head's)
            g = _ones_like(h) if direct else apply(REGISTRY["ones_like"], h)
        accumulate(h, g)
    with _Scope(bool(create_graph), train_mode):
        for entry in order:
            outs = entry.outputs
            if len(outs) == 1:
                g = grads.pop((entry, 0), None)
                if g is None:
                    continue
                out = outs[0]
            else:
                gs = [grads.pop((entry, k), None) for k in range(len(outs))]
                if all(g is None for g in gs):
                    continue
                g = tuple(apply(REGISTRY["zeros_like"], o) if g is None else g
                          for g, o in zip(gs, outs))
                out = outs
            dests = _into_targets(entry, sinks) if sinks and entry.vjp_into else None
            if dests is None:
                in_grads = _call_vjp(entry, g, out)
            else:
                in_grads = entry.vjp_into(g, out, dests, *entry.inputs)
            for i, (a, g) in enumerate(zip(entry.inputs, in_grads)):
                if dests is not None and g is not None and g is dests[i]:
                    a._ag.fresh = True
                    continue  # written into the variable's .grad already
                if g is not None and type(a) is NDArray:
                    if g._data.shape != a._data.shape:
                        raise MXNetError(f"backward: the gradient rule of {entry.name} returned "
                                         f"shape {g.shape} for an input of shape {a.shape}")
                    accumulate(a, g)
            if not retain_graph:
                entry.free()
    return grads, leaves


_ONES: dict = {}  # (shape, dtype, context) -> a ones array: the default head gradients


def _ones_like(h):
    """The default head gradient of ``h`` for :func:`backward`: a cached ones array (no rule
    writes into its inputs, and backward only copies results out, so one per shape, dtype and
    context serves every call)."""
    key = (h._data.shape, h._data.dtype, h._ctx)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = apply(REGISTRY["ones_like"], h)
    return ones


def _call_vjp(entry, g, out):
    if entry.vjp is None:
        raise MXNetNotImplementedError(f"backward: op {entry.name} has no gradient rule")
    return entry.vjp(g, out, *entry.inputs, **entry.attrs)


def backward(heads, head_grads=None, retain_graph=False, train_mode=True) -> None:
    """Compute gradients of ``heads`` and write them into the ``.grad`` of marked variables."""
    heads = _as_list(heads)
    head_grads = _check_heads(heads, head_grads)
    grads, leaves = _run_backward(heads, head_grads, retain_graph, False, train_mode, direct=True)
    for leaf in leaves:
        g = grads[leaf]
        if g.dtype != leaf.grad.dtype:
            g = g.astype(leaf.grad.dtype)
        if leaf.grad_req == "add":
            leaf.grad[...] = leaf.grad + g
        else:
            leaf.grad[...] = g
        leaf.fresh = True


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False,
         train_mode=True):
    """Gradients of ``heads`` with respect to ``variables``, returned (a list, one per
    variable, also for a single variable as in MXNet) instead of written.

    With ``create_graph=True`` the gradients are recorded arrays: differentiate them again."""
    heads, variables = _as_list(heads), _as_list(variables)
    for v in variables:
        if type(getattr(v, "_ag", None)) is not Leaf:
            raise MXNetError("grad: every variable needs attach_grad() before recording")
    head_grads = _check_heads(heads, head_grads)
    retain = create_graph if retain_graph is None else retain_graph
    grads, _ = _run_backward(heads, head_grads, retain, create_graph, train_mode)
    out = []
    for v in variables:
        g = grads.get(v._ag)
        out.append(g if g is not None else apply(REGISTRY["zeros_like"], v))
    return out  # a list even for one variable, as MXNet's (grad(y, x)[0] is x's gradient)


def get_symbol(x):
    """The recorded computation of ``x`` as a Symbol, as MXNet names it: the variables that
    ``attach_grad``/``mark_variables`` marked are ``var<k>``, other arrays ``null<k>``, the ops
    ``node_<k>`` (both counters in recording order). Recorded hybridized calls are one CachedOp
    each, not registry ops: they have no Symbol here."""
    from .graph.symbol import Group, make_node, var
    ag = getattr(x, "_ag", None)
    if type(ag) is not tuple:
        raise MXNetError("get_symbol: this array was not computed by recorded ops; compute it "
                         "inside `with autograd.record():` from arrays with attach_grad()")
    entries = _topo_order([x])[::-1]  # oldest first
    made: dict = {}  # (entry seq, k) for op outputs, id(array) for the other inputs -> Symbol
    keep = []  # the arrays keyed by id stay alive while their ids are keys
    nvars = 0

    def symbol_of(a):
        nonlocal nvars
        if not isinstance(a, NDArray):
            return a  # a Python scalar argument
        src = getattr(a, "_ag", None)
        if type(src) is tuple:
            return made[(src[0].seq, src[1])]
        s = made.get(id(a))
        if s is None:
            s = made[id(a)] = var(f"{'var' if type(src) is Leaf else 'null'}{nvars}")
            keep.append(a)
            nvars += 1
        return s

    for k, entry in enumerate(entries):
        op = REGISTRY.get(entry.name)
        if op is None:
            raise MXNetNotImplementedError(
                f"get_symbol: the recorded graph contains {entry.name!r}, which is no registry "
                f"op (a hybridized block's call); record the block without hybridize() to get "
                f"its Symbol, or use the block's export()")
        out = make_node(op, [symbol_of(a) for a in entry.inputs], dict(entry.attrs),
                        name=f"node_{k}", resolved=True)
        for i in range(len(entry.outputs)):
            made[(entry.seq, i)] = out[i] if len(entry.outputs) > 1 else out
    result = made[(ag[0].seq, ag[1])]
    return result if len(result._outputs) == 1 else Group([result])


# -- user-defined ops ------------------------------------------------------------------------------
class Function:
    """A custom differentiable op: subclass and define ``forward`` and ``backward``.

    ``forward(*inputs)`` computes outputs from NDArrays (not recorded); ``backward(*out_grads)``
    returns one gradient per input. Use ``self.save_for_backward(*arrays)`` and
    ``self.saved_tensors`` to pass arrays between the two."""

    def __init__(self):
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError

    def __call__(self, *inputs):
        recording = is_recording()
        with pause(train_mode=is_training()):
            outputs = self.forward(*inputs)
        outs = (outputs,) if isinstance(outputs, NDArray) else tuple(outputs)
        if recording and any(_needs_grad(a) for a in inputs if isinstance(a, NDArray)):
            entry = Entry(type(self).__name__, self._vjp, {}, inputs, outs)
            for k, o in enumerate(outs):
                o._ag = (entry, k)
        return outputs

    def _vjp(self, g, out, *inputs):
        gs = (g,) if isinstance(g, NDArray) else tuple(g)
        with pause():
            res = self.backward(*gs)
        res = (res,) if isinstance(res, NDArray) else tuple(res)
        if len(res) != len(inputs):
            raise MXNetError(f"{type(self).__name__}.backward returned {len(res)} gradients for "
                             f"{len(inputs)} inputs")
        return res


def _attach_grad(self, grad_req="write", stype=None):
    """Allocate ``self.grad`` (zeros) and mark the array as a variable to differentiate."""
    if grad_req not in ("write", "add", "null"):
        raise MXNetValueError(f"attach_grad: grad_req must be write, add or null, got {grad_req!r}")
    self._ag = Leaf(apply(REGISTRY["zeros_like"], self), grad_req)


def _grad(self):
    ag = getattr(self, "_ag", None)
    return ag.grad if type(ag) is Leaf else None


def _get_fresh_grad(self):
    ag = getattr(self, "_ag", None)
    return type(ag) is Leaf and ag.fresh


def _set_fresh_grad(self, value):
    ag = getattr(self, "_ag", None)
    if type(ag) is not Leaf:
        raise MXNetError("_fresh_grad: this array is not a variable (call attach_grad() first)")
    ag.fresh = bool(value)


def _detach(self):
    """The same data, cut from the graph."""
    return NDArray._wrap(self._data, self._ctx)


def _backward(self, out_grad=None, retain_graph=False, train_mode=True):
    backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)


NDArray.attach_grad = _attach_grad
NDArray.grad = property(_grad)
# whether a backward wrote .grad since the flag was last cleared (gluon.Trainer's stale check)
NDArray._fresh_grad = property(_get_fresh_grad, _set_fresh_grad)
NDArray.detach = _detach
NDArray.backward = _backward
