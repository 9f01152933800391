"""Memory planning: output buffers assigned by liveness, so a bound graph allocates nothing per
step in steady state on NumPy.

:class:`MemoryPlan` takes an (optimised) graph and a context. On the NumPy backend every node
that can write into a given array — the elementwise ops of ``fusion.NP_OUT`` and
``_fused_elemwise`` — gets a buffer allocated once, at plan time:

- a buffer is returned to a pool keyed by (shape, dtype) after the last read of every value that
  may share its memory (a ``reshape`` or other view taken by an op run through ``apply`` keeps
  its source alive), and the next node of that shape takes it from there;
- an elementwise op whose input buffer dies at that op writes over it (in place);
- graph outputs keep their own buffers: as in MXNet, ``forward`` overwrites the previous
  outputs.

Other nodes (and every node on other backends, whose allocators already pool device memory) run
through ``apply``. ``_constant`` nodes are evaluated once, when the plan is made.
"""

from __future__ import annotations

import numpy as np

from ..ndarray import NDArray
from ..ops import apply
from .fusion import FUSED, NP_OUT, _fusible, run_numpy
from .node import topo_nodes
from .passes import CONSTANT

__all__ = ["MemoryPlan"]

_INF = float("inf")


class MemoryPlan:
    """A graph compiled into steps over slots, with planned output buffers.

    Parameters
    ----------
    outputs : list of (Node, int)
        The graph to run (usually the result of :func:`~.passes.optimize`).
    ctx : Context
        Where it runs; buffers are planned on the NumPy backend only.

    Attributes
    ----------
    buffers : list of numpy.ndarray
        The planned buffers (empty on other backends).
    assignment : dict
        ``(node name, output index) -> buffer index`` of every planned value.
    """

    def __init__(self, outputs, ctx):
        self.ctx = ctx
        self._outputs = list(outputs)
        nodes = topo_nodes(self._outputs)
        planned = getattr(ctx.backend, "host_buffers", False)
        slot = {}  # (id(node), k) -> slot index
        for node in nodes:
            for k in range(node.num_outputs):
                slot[(id(node), k)] = len(slot)
        self._nslots = len(slot)
        # -- liveness: position of each value's last read, widened over possible aliases ------
        last, roots = {}, {}
        for pos, node in enumerate(nodes):
            for inp, k in node.inputs:
                last[(id(inp), k)] = pos
            owned = planned and self._plannable(node)
            for k in range(node.num_outputs):
                v = (id(node), k)
                roots[v] = {v} if owned else set().union(*(roots[(id(i), j)]
                                                          for i, j in node.inputs))
        for node, k in self._outputs:
            last[(id(node), k)] = _INF
        life = {}
        for v, rs in roots.items():
            for r in rs:
                life[r] = max(life.get(r, -1), last.get(v, -1))
        # -- steps and buffers ---------------------------------------------------------------
        self.buffers, self.assignment = [], {}
        self._static = [None] * self._nslots
        self._vars = []  # (slot, name)
        self._steps = []
        pool: dict = {}  # (shape, dtype) -> free buffer indices
        owner = {}  # buffer index -> value using it
        dying_at: dict = {}  # position -> planned values whose life ends there
        for v, end in life.items():
            if end != _INF:
                dying_at.setdefault(end, []).append(v)
        buf_of = {}
        for pos, node in enumerate(nodes):
            ins = tuple(slot[(id(i), k)] for i, k in node.inputs)
            if node.is_variable:
                self._vars.append((slot[(id(node), 0)], node.name))
                continue
            if node.op is CONSTANT:
                with ctx:
                    self._static[slot[(id(node), 0)]] = apply(node.op, **node.attrs)._data
                continue
            v = (id(node), 0)
            if v in life and planned and self._plannable(node):
                spec = node.specs[0]
                key = (tuple(spec.shape), np.dtype(spec.dtype))
                b = None
                if node.op is not FUSED and NP_OUT[node.op.name][1]:
                    # in place: over an input buffer whose life ends here
                    for i, k in node.inputs:
                        u = (id(i), k)
                        if u in buf_of and life[u] == pos and \
                                self.buffers[buf_of[u]].shape == key[0] and \
                                self.buffers[buf_of[u]].dtype == key[1]:
                            b = buf_of[u]
                            break
                if b is None:
                    free = pool.get(key)
                    if free:
                        b = free.pop()
                    else:
                        b = len(self.buffers)
                        self.buffers.append(np.empty(key[0], key[1]))
                buf_of[v] = b
                owner[b] = v
                self.assignment[(node.name, 0)] = b
                self._static[slot[v]] = self.buffers[b]
                self._steps.append(self._planned_step(node, ins, self.buffers[b]))
            else:
                self._steps.append(self._apply_step(node, ins, slot))
            for u in dying_at.get(pos, ()):
                b = buf_of.get(u)
                if b is not None and owner.get(b) == u:
                    buf = self.buffers[b]
                    pool.setdefault((buf.shape, buf.dtype), []).append(b)
        self._out_slots = [slot[(id(n), k)] for n, k in self._outputs]
        self._out_cache = [None] * len(self._out_slots)

    @staticmethod
    def _plannable(node):
        if node.op is FUSED:
            return node.specs is not None
        return node.op is not None and _fusible(node)

    def _planned_step(self, node, ins, out):
        if node.op is FUSED:
            program, scratch = node.attrs["program"], []

            def step(vals, ins=ins):
                run_numpy(program, [vals[i] for i in ins], out, scratch)
            return step
        fn, attrs = NP_OUT[node.op.name][0], node.attrs
        if node.consts:
            def step(vals, ins=ins):
                fn(out, *node.arguments([vals[i] for i in ins]), **attrs)
        elif len(ins) == 1:
            i0 = ins[0]

            def step(vals):
                fn(out, vals[i0], **attrs)
        else:
            def step(vals, ins=ins):
                fn(out, *[vals[i] for i in ins], **attrs)
        return step

    def _apply_step(self, node, ins, slot):
        ctx, op, attrs = self.ctx, node.op, node.attrs
        outs = [slot[(id(node), k)] for k in range(node.num_outputs)]
        wrap = NDArray._wrap

        def step(vals):
            r = apply(op, *node.arguments([wrap(vals[i], ctx) for i in ins]), **attrs)
            if isinstance(r, tuple):
                for s, o in zip(outs, r):
                    vals[s] = o._data
            else:
                vals[outs[0]] = r._data
        return step

    def run(self, feed):
        """Run the graph on ``feed`` (variable name -> NDArray); returns the output NDArrays.

        Outputs held in planned buffers are the same arrays at every call."""
        vals = list(self._static)
        for s, name in self._vars:
            vals[s] = feed[name]._data
        for step in self._steps:
            step(vals)
        res = []
        for j, s in enumerate(self._out_slots):
            cached = self._out_cache[j]
            if cached is None or cached._data is not vals[s]:
                cached = NDArray._wrap(vals[s], self.ctx)
                if self._static[s] is vals[s]:
                    self._out_cache[j] = cached
            res.append(cached)
        return res
