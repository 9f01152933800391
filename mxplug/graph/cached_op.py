"""CachedOp: a traced function or a Symbol, bound once per input signature — hybridize's engine.

A call looks up its signature (input shapes, dtypes and contexts, non-array arguments, and
``autograd.is_training()``): a known one runs its bound graph; a new one is traced (and bound)
again and cached beside the others, so a changed input never runs a stale graph. A graph that
cannot be retraced (a given :class:`~.trace.TracedGraph`, or ``retrace=False``) raises instead,
saying what changed.

Under ``autograd.record()`` a call is ONE tape entry: its gradient rule runs the bound backward
graph (built once per signature and set of inputs that need gradients) on the values that call's
forward kept. With ``create_graph=True`` the rule re-runs the graph recorded, op by op, so the
gradient can be differentiated again.
"""

from __future__ import annotations

import numpy as np

from .. import autograd
from ..autograd import _needs_grad
from ..base import MXNetError, MXNetValueError
from ..ndarray import NDArray
from ..ops import REGISTRY, apply
from ..ops.dispatch import state
from .executor import build_training, head_grad_names, optimize_bound
from .inference import fill_creation_shapes, propagate
from .program import Program
from .symbol import Symbol
from .trace import TracedGraph, signature_of, trace

__all__ = ["CachedOp"]

_copy = REGISTRY["copy"]


class _Bound:
    """One signature's graph bound on its context: the forward program and, per set of inputs
    needing gradients, the training program."""

    def __init__(self, graph: TracedGraph, ctx):
        self.graph, self.ctx = graph, ctx
        self.names = [n for n in graph.input_names if n is not None] + list(graph.constants)
        self.constants = list(graph.constants.values())  # fed after the call's arrays
        self.heads = head_grad_names(len(graph.symbol._outputs))
        self.training = graph.signature[1]
        # traced nodes carry their shapes, so the passes need no extra specs
        self.program = Program(optimize_bound(graph.symbol._outputs, {}, ctx), (), ctx)
        self._train = {}  # tuple of input names needing gradients -> Program

    def train_program(self, wrt, feed):
        prog = self._train.get(wrt)
        if prog is None:
            prog, consts = build_training(self.graph.symbol, list(wrt), feed, self.ctx,
                                          training=self.training)
            if consts:
                raise MXNetError(f"CachedOp: gradient rules captured arrays {sorted(consts)}")
            self._train[wrt] = prog
        return prog


class CachedOp:
    """A function (or Symbol) compiled to a graph, run as one op on NDArrays.

    Parameters
    ----------
    fn : callable, Symbol or TracedGraph
        A function of NDArrays written with ``mx.nd`` ops and operators (traced on the first call
        and on every new signature); or a Symbol, called with one array per
        ``symbol.list_inputs()``; or an already traced graph (which cannot be retraced).
    retrace : bool
        Retrace ``fn`` on a new signature (default). With ``False`` a call whose signature differs
        from the first one raises, saying what changed.
    name : str, optional
        The name of the tape entry and of error messages.
    input_names : list of str, optional
        Variable names of ``fn``'s array arguments (``data0``, ``data1``, ... by default).

    Notes
    -----
    NDArrays the function reads without taking them as arguments (a closure's parameters) are
    captured by object: every run reads their current value, and under ``autograd.record()``
    their gradients flow like those of the arguments.
    """

    def __init__(self, fn, retrace=True, name=None, input_names=None):
        self._fn = self._symbol = self._fixed = None
        if isinstance(fn, Symbol):
            self._symbol = fn
        elif isinstance(fn, TracedGraph):
            self._fixed = fn
        elif callable(fn):
            self._fn = fn
        else:
            raise MXNetValueError(f"CachedOp: expected a function, a Symbol or a TracedGraph, "
                                  f"got {type(fn).__name__}")
        self.name = name or getattr(fn, "__name__", None) or "CachedOp"
        self._retrace = retrace
        self._input_names = input_names
        self._cache: dict = {}
        self.num_traces = 0  # how many graphs were built (traces, or Symbol bindings)

    # -- signature -> bound graph ------------------------------------------------------------
    def _bound(self, args):
        sig = signature_of(args)
        b = self._cache.get(sig)
        if b is None:
            b = self._cache[sig] = self._build(sig, args)
        return b

    def _build(self, sig, args):
        first = next(iter(self._cache.values()), None)
        if self._fixed is not None or (first is not None and not self._retrace):
            graph = self._fixed or first.graph
            if graph.signature != sig:
                why = ("it was given as a traced graph, without its function" if self._fixed
                       is not None else "retrace=False")
                raise MXNetError(f"CachedOp {self.name}: this call differs from the traced one: "
                                 f"{graph.describe_change(sig)}. The graph depended on it and "
                                 f"cannot be retraced ({why}); call with the traced signature, "
                                 f"or build the CachedOp from the function with retrace=True")
        elif self._symbol is not None:
            graph = self._bind_symbol(sig, args)
        else:
            graph = trace(self._fn, *args, names=self._input_names)
        self.num_traces += 1
        ctx = next((a.context for a in args if isinstance(a, NDArray)), None)
        return _Bound(graph, ctx)

    def _bind_symbol(self, sig, args):
        names = self._symbol.list_inputs()
        if len(args) != len(names) or not all(isinstance(a, NDArray) for a in args):
            raise MXNetValueError(f"CachedOp {self.name}: expected {len(names)} NDArrays for the "
                                  f"inputs {names}, got {len(args)} arguments")
        shapes = {n: a.shape for n, a in zip(names, args)}
        dtypes = {n: np.dtype(a.dtype) for n, a in zip(names, args)}
        symbol = fill_creation_shapes(self._symbol, shapes, dtypes)
        propagate(symbol, shapes, dtypes)
        return TracedGraph(symbol, names, {}, sig, len(symbol._outputs) == 1)

    # -- calls -----------------------------------------------------------------------------------
    def __call__(self, *args):
        b = self._bound(args)
        arrays = [a for a in args if isinstance(a, NDArray)]
        if b.constants:
            arrays += b.constants
        feed = dict(zip(b.names, arrays))
        wrt = ()
        if autograd.is_recording():
            wrt = tuple(n for n, a in zip(b.names, arrays) if _needs_grad(a))
        saved, state.training = state.training, b.training
        try:
            if wrt:
                prog = b.train_program(wrt, feed)
                run = prog.forward(feed)
                outs = _fresh(prog.outputs(run), arrays)
                self._record(b, prog, run, wrt, arrays, outs)
            else:
                outs = b.program.outputs(b.program.forward(feed))
        finally:
            state.training = saved
        return outs[0] if b.graph.single else outs

    def _record(self, b, prog, run, wrt, arrays, outs):
        """One tape entry for the whole call: its rule runs ``prog``'s backward steps."""
        names, training, heads = b.names, b.training, b.heads

        def gradients(g, inputs):
            gs = (g,) if isinstance(g, NDArray) else tuple(g)
            saved, state.training = state.training, training
            try:
                if autograd.is_recording():  # create_graph: redo it all on the tape
                    replay = prog.forward(dict(zip(names, inputs)), True, run.draws)
                    grads = prog.backward(replay, dict(zip(heads, gs)), keep_hook=True)
                else:
                    grads = prog.backward(run, dict(zip(heads, gs)))
            finally:
                state.training = saved
            by_name = dict(zip(wrt, grads))
            return tuple(by_name.get(n) for n in names)

        def vjp(g, out, *inputs):
            if prog._pins:  # gradients are returned, never written anywhere
                prog.repin({})
            return gradients(g, inputs)

        def vjp_into(g, out, dests, *inputs):
            # dests: the .grad of variables fed only here (autograd.Entry): the planned backward
            # writes their gradients there, instead of a fresh array autograd would copy
            index = {n: i for i, n in enumerate(wrt)}
            prog.repin({index[n]: d for n, d in zip(names, dests)
                        if d is not None and n in index})
            grads = gradients(g, inputs)
            return tuple(d if d is not None and r is not None and r._data is d._data else r
                         for d, r in zip(dests, grads))

        entry = autograd.Entry(self.name, vjp, {}, tuple(arrays), tuple(outs), vjp_into)
        for k, o in enumerate(outs):
            o._ag = (entry, k)

    def __repr__(self):
        what = "symbol" if self._symbol is not None else "function"
        return f"<CachedOp {self.name} ({what}, {len(self._cache)} signatures)>"


def _fresh(outs, inputs):
    """Outputs that are not inputs nor each other (each gets its own tape identity)."""
    if len(outs) == 1:  # the common case
        o = outs[0]
        if all(o is not a for a in inputs):
            return outs
    seen = {id(a) for a in inputs}
    ids = [id(o) for o in outs]
    if seen.isdisjoint(ids) and len(set(ids)) == len(ids):
        return list(outs)  # nothing to copy
    res = []
    prev = state.set_hook(None)
    try:
        for o in outs:
            if id(o) in seen:
                o = apply(_copy, o)
            seen.add(id(o))
            res.append(o)
    finally:
        state.set_hook(prev)
    return res
