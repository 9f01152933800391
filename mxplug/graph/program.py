"""Program: a graph compiled once into a flat list of steps over numbered value slots.

Running it calls ``apply`` per node — the same dispatch, kernels and backends as ``mx.nd`` — or,
for the steps memory planning gave a buffer, the op's ``out=`` body straight into that buffer.
``forward`` runs the steps the outputs need; ``backward`` (a second phase on the same values)
the rest: an executor's or a CachedOp's gradient steps.
"""

from __future__ import annotations

import operator
import os

import numpy as np

from .. import random as _random
from ..base import MXNetError, MXNetValueError
from ..context import Context
from ..ndarray import NDArray
from ..ops import apply, registry
from ..ops.dispatch import state
from .memory import out_body, plan_buffers
from .node import ctx_group_of, topo_nodes

__all__ = ["Program", "Run", "graph_opt_level"]


def graph_opt_level() -> int:
    """``MXPLUG_GRAPH_OPT``: 2 (default) all passes, 1 without constant folding and fusion, 0
    none, and no memory planning either (the plain reference execution)."""
    return int(os.environ.get("MXPLUG_GRAPH_OPT", "2"))


class _Step:
    __slots__ = ("node", "op", "attrs", "ins", "outs", "template", "ctx", "random", "buf", "body",
                 "fn", "pinned")

    def __init__(self, node, ins, outs, ctx):
        self.node, self.op, self.ins, self.outs, self.ctx = node, node.op, ins, outs, ctx
        attrs = node.attrs
        if "ctx" in attrs:  # creation ops run where the graph is bound, not where it was built
            attrs = {**attrs, "ctx": ctx}
        self.attrs = attrs
        self.random = node.op.random
        # constants put back among the inputs: None marks a slot to fill
        self.template = node.arguments([None] * len(ins)) if node.consts else None
        self.buf = self.body = None  # a planned output buffer, and what writes into it
        self.fn = None  # fn(values, bufs, draws): the step, compiled by _compile
        self.pinned = None  # the array a pinned step writes into (Program.pin)


def _compile(step, copies, pinned=None):
    """``_compile_plain``, through the registry's kernel wrapper (the profiler) if one is
    installed: planned bodies call no op, so the wrapper times them as steps."""
    step.pinned = pinned  # what a recompile (Program._exec) passes again
    fn = _compile_plain(step, copies, pinned)
    wrapper = registry.kernel_wrapper()
    if wrapper is None:
        return fn
    return wrapper.step(step, fn, step.buf is not None or pinned is not None)


def _compile_plain(step, copies, pinned=None):
    """``fn(values, bufs, draws)`` running ``step``: the common cases (a planned buffer, or a
    ``pinned`` array the result goes to; one output from one or two inputs) as closures with
    nothing left to decide per run."""
    op, attrs, ins, outs, ctx = step.op, step.attrs, step.ins, step.outs, step.ctx
    template, out0 = step.template, outs[0]

    def gather(values):
        xs = [values[i] for i in ins]
        if copies:
            xs = [v.as_in_context(ctx) if isinstance(v, NDArray) and v.context != ctx else v
                  for v in xs]
        if template is not None:
            it = iter(xs)
            xs = [next(it) if a is None else a for a in template]
        return xs

    def general(values, bufs, draws):
        xs, a = gather(values), attrs
        if step.random:
            key = draws.get(id(step))
            if key is None:
                key = draws[id(step)] = _random.next_state()
            a = {**attrs, "key": key[0], "counter": key[1]}
        out = apply(op, *xs, **a)
        if len(outs) == 1:
            values[out0] = out[0] if type(out) is tuple else out
        else:
            for s, o in zip(outs, out):
                values[s] = o
        if op.aux_update is not None and state.training:
            op.aux_update(xs, a)  # BatchNorm's moving statistics

    if step.buf is not None or pinned is not None:
        buf, body, key, wrap = step.buf, step.body, id(step), NDArray._wrap
        if not copies and template is None and ins:
            return _compile_planned_direct(step, general, pinned)

        def planned(values, bufs, draws):
            if bufs is None:  # a run that records (create_graph) or has no buffer set
                return general(values, bufs, draws)
            o = pinned if pinned is not None else bufs[0][buf]
            body(o, *[v._data if isinstance(v, NDArray) else v for v in gather(values)],
                 scratch=bufs[1][key], **attrs)
            values[out0] = wrap(o, ctx)
        return planned
    if copies or template is not None or step.random or op.aux_update is not None \
            or len(outs) != 1:
        return general
    if op is _RESHAPE and len(ins) == 1 and getattr(ctx.backend, "host_buffers", False):
        return _compile_host_reshape(step, general)
    if len(ins) == 1:
        i0 = ins[0]

        def unary(values, bufs, draws):
            out = apply(op, values[i0], **attrs)
            values[out0] = out[0] if type(out) is tuple else out
        return unary
    if len(ins) == 2:
        i0, i1 = ins

        def binary(values, bufs, draws):
            out = apply(op, values[i0], values[i1], **attrs)
            values[out0] = out[0] if type(out) is tuple else out
        return binary

    def nary(values, bufs, draws):
        out = apply(op, *[values[i] for i in ins], **attrs)
        values[out0] = out[0] if type(out) is tuple else out
    return nary


def _compile_planned_direct(step, general, pinned):
    """A planned step of graph inputs only (no constants, no copies: nearly every step of a
    training graph): operands read straight from the value slots. Each step of an MLP's
    backward runs ~1.5 us faster than through the general closure."""
    buf, body, key, attrs, ctx = step.buf, step.body, id(step), step.attrs, step.ctx
    out0, wrap, Arr = step.outs[0], NDArray._wrap, NDArray

    if len(step.ins) == 1:
        (i0,) = step.ins

        def planned1(values, bufs, draws):
            if bufs is None:  # a run that records (create_graph) or has no buffer set
                return general(values, bufs, draws)
            o, a = pinned if pinned is not None else bufs[0][buf], values[i0]
            body(o, a._data if isinstance(a, Arr) else a, scratch=bufs[1][key], **attrs)
            values[out0] = wrap(o, ctx)
        return planned1
    operands = operator.itemgetter(*step.ins)

    def planned(values, bufs, draws):
        if bufs is None:
            return general(values, bufs, draws)
        o = pinned if pinned is not None else bufs[0][buf]
        body(o, *[v._data if isinstance(v, Arr) else v for v in operands(values)],
             scratch=bufs[1][key], **attrs)
        values[out0] = wrap(o, ctx)
    return planned


_RESHAPE = registry.REGISTRY["reshape"]
#: ops whose result may be a view of their input (MXNet's reshape and basic indexing share
#: memory); a graph output made by one is copied, so it never aliases an input array
_VIEWS = (_RESHAPE, registry.REGISTRY["getitem"])


def _compile_host_reshape(step, general):
    """A ``reshape`` (the passes turn size-1 reductions and reshape chains into these) on host
    arrays: NumPy's own reshape to the shape inferred at bind time — the op's kernel without
    parsing MXNet's special shape codes each run (~5 us a step). Another input shape than the
    bound one takes the general path."""
    (i0,), out0, ctx, wrap = step.ins, step.outs[0], step.ctx, NDArray._wrap
    node, k = step.node.inputs[0]
    if node.specs is None or step.node.specs is None:
        return general  # shapes not inferred at bind time
    src, shape = tuple(node.specs[k].shape), tuple(step.node.specs[0].shape)

    def host_reshape(values, bufs, draws):
        x = values[i0]
        if bufs is None or type(x) is not NDArray or x._data.shape != src:
            return general(values, bufs, draws)  # recording, or not the bound shape
        values[out0] = wrap(x._data.reshape(shape), ctx)
    return host_reshape


class Run:
    """The values of one forward run (what its backward reads), and the planned buffers they
    live in: a set the Program takes back when the run is dropped."""

    __slots__ = ("values", "draws", "bufs", "_give_back")

    def __init__(self, values, draws, bufs=None, give_back=None):
        self.values, self.draws, self.bufs = values, draws, bufs
        self._give_back = give_back  # the Program's free list, which takes ``bufs`` back

    def __del__(self):  # cheaper than a weakref.finalize per run, and as prompt
        if self._give_back is not None:
            self._give_back.append(self.bufs)


class Program:
    """``outputs`` (forward) and ``extra`` (a second phase: gradients) compiled to steps.

    Variables are filled by name; ``forward`` runs the nodes ``outputs`` need, ``backward`` the
    remaining ones on the same values. Random ops draw a fresh generator state every run."""

    def __init__(self, outputs, extra=(), ctx=None, group2ctx=None):
        self.ctx = Context(ctx) if ctx is not None else None
        group2ctx = group2ctx or {}
        self.copies = bool(group2ctx)  # inputs may live on another context than their node
        fwd = {id(n) for n in topo_nodes(outputs)}
        slot, self.variables = {}, {}
        self.fwd_steps, self.bwd_steps = [], []
        for n in topo_nodes(list(outputs) + list(extra)):
            for k in range(n.num_outputs):
                slot[(id(n), k)] = len(slot)
            if n.is_variable:
                self.variables.setdefault(n.name, []).append(slot[(id(n), 0)])
                continue
            group = ctx_group_of(n)
            ctx = group2ctx.get(group, self.ctx) if group else self.ctx
            step = _Step(n, [slot[(id(i), k)] for i, k in n.inputs],
                         [slot[(id(n), k)] for k in range(n.num_outputs)], ctx)
            (self.fwd_steps if id(n) in fwd else self.bwd_steps).append(step)
        self.nslots = len(slot)
        self.out_slots = [slot[(id(n), k)] for n, k in outputs]
        # outputs that may alias an input: a variable itself, or a view made of one
        self._view_outs = [k for k, (n, _) in enumerate(outputs)
                           if n.is_variable or n.op in _VIEWS]
        self.extra_slots = [slot[(id(n), k)] for n, k in extra]
        self._plan, self._free = None, []
        self._pins: dict = {}  # extra index -> the array its step writes into (repin)
        self._shared_bufs = None  # the run buffers of a plan with nothing planned (_new_run)
        self._generation = registry.generation  # of the kernel wrapper the steps were made with
        self._head_steps, self._other_bwd_steps = self._split_head_only()
        self._head_values = None  # (head arrays, {slot: value}) of backward(fixed_heads=True)
        if not self.copies and self.ctx is not None and graph_opt_level() > 0:
            self._plan_memory([(id(n), k) for n, k in list(outputs) + list(extra)])
        for step in self.fwd_steps + self.bwd_steps:
            step.fn = _compile(step, self.copies)

    def _plan_memory(self, results):
        """Planned buffers for the steps that can write into one (host-buffer backends): each
        run takes a set from ``_free`` and gives it back when dropped, so steady-state runs
        allocate nothing for them. Results stay fresh arrays: the caller owns them."""
        steps = self.fwd_steps + self.bwd_steps
        if not getattr(self.ctx.backend, "host_buffers", False):
            return
        plan = plan_buffers([s.node for s in steps], results, self.ctx, own_outputs=False,
                            keep_from=len(self.fwd_steps))
        self._plan = plan  # even with nothing to plan: results may still be pinned (pin)
        for step in steps:
            step.buf = plan.assignment.get(id(step.node))
            step.body = plan.bodies.get(id(step.node))

    def pin(self, index, target):
        """Write the ``extra`` result ``index`` straight into the NDArray ``target`` (which has
        its shape and dtype) on every planned run: an executor's gradient into its
        ``grad_dict`` array, as MXNet's executors do. Returns whether it could."""
        if self._plan is None:
            return False
        slot = self.extra_slots[index]
        step = next((s for s in self.bwd_steps if s.outs == [slot]), None)
        others = self.out_slots + self.extra_slots[:index] + self.extra_slots[index + 1:]
        body = out_body(step.node, self.ctx.backend) if step is not None else None
        spec = step.node.specs[0] if body is not None else None
        if body is None or slot in others or target.context != self.ctx or \
                tuple(spec.shape) != tuple(target.shape) or np.dtype(spec.dtype) != target.dtype:
            return False
        step.body = body[0]
        step.fn = _compile(step, self.copies, pinned=target._data)
        return True

    def repin(self, targets):
        """Pin exactly the ``extra`` results ``targets`` gives (index -> NDArray; see
        :meth:`pin`), re-pinning changed targets and unpinning the rest, so that a result is
        never written into an array a later call did not offer. Returns the set of pinned
        indices. Cheap when the targets are those of the previous call."""
        pins = self._pins
        if len(pins) == len(targets) and all(
                pins.get(i) is t._data for i, t in targets.items()):
            return set(pins)
        for i in [i for i in pins if i not in targets or pins[i] is not targets[i]._data]:
            slot = self.extra_slots[i]
            step = next(s for s in self.bwd_steps if s.outs == [slot])
            step.body = self._plan.bodies.get(id(step.node))
            step.fn = _compile(step, self.copies)
            del pins[i]
        for i, t in targets.items():
            if i not in pins and self.pin(i, t):
                pins[i] = t._data
        return set(pins)

    def _new_run(self, values, draws, planned):
        if not planned or self._plan is None:
            return Run(values, draws)
        if not self._plan.specs:  # no planned buffers, only pinned results: nothing to own
            if self._shared_bufs is None:
                self._shared_bufs = ([], {id(s): [] for s in self.fwd_steps + self.bwd_steps})
            return Run(values, draws, self._shared_bufs)
        bufs = self._free.pop() if self._free else (
            self._plan.allocate(), {id(s): [] for s in self.fwd_steps + self.bwd_steps})
        return Run(values, draws, bufs, self._free)

    def _feed(self, values, arrays, what):
        for name, slots in self.variables.items():
            a = arrays.get(name)
            if a is None:
                if what == "forward" and not name.startswith("_head_grad"):
                    raise MXNetValueError(f"{what}: no array for input {name!r}")
                continue
            for s in slots:
                values[s] = a

    def _exec(self, steps, run, keep_hook=False):
        if self._generation != registry.generation:  # the profiler started or stopped
            self._generation = registry.generation
            for step in self.fwd_steps + self.bwd_steps:
                step.fn = _compile(step, self.copies, step.pinned)
        values, draws, bufs = run.values, run.draws, run.bufs
        prev = None if keep_hook else state.set_hook(None)  # one graph run, not many tape entries
        step = None
        try:
            for step in steps:
                step.fn(values, bufs, draws)
        except MXNetError as e:
            node = step.node
            raise type(e)(f"{e} [node {node.name!r} made at {node.source}]") from None
        finally:
            if not keep_hook:
                state.set_hook(prev)

    def forward(self, arrays, keep_hook=False, draws=None) -> Run:
        """Run the forward steps on ``arrays`` (name -> NDArray); ``draws`` replays the random
        states of an earlier run."""
        values = [None] * self.nslots
        self._feed(values, arrays, "forward")
        run = self._new_run(values, dict(draws or {}), not keep_hook)
        self._exec(self.fwd_steps, run, keep_hook)
        return run

    def outputs(self, run):
        outs = [run.values[s] for s in self.out_slots]
        for k in self._view_outs:  # as MXNet's: an output never shares an input's memory
            outs[k] = outs[k].copy()
        return outs

    def backward(self, run, arrays, keep_hook=False, fixed_heads=False):
        """Run the second phase after ``forward`` (``arrays``: its extra inputs, the head
        gradients); returns the ``extra`` values.

        ``fixed_heads``: the caller promises that head-gradient arrays it passed before (the
        same objects) still hold the same values — an executor's default ones. The steps that
        read nothing else (a loss's mean and reshapes backward) then run once, and later runs
        reuse copies of their values."""
        values = run.values
        self._feed(values, arrays, "backward")
        if not fixed_heads or keep_hook or not self._head_steps:
            self._exec(self.bwd_steps, run, keep_hook)
            return [values[s] for s in self.extra_slots]
        heads = [arrays.get(n) for n in sorted(arrays)]
        cached = self._head_values
        if cached is not None and len(cached[0]) == len(heads) and all(
                a is b for a, b in zip(cached[0], heads)):
            for slot, v in cached[1].items():
                values[slot] = v
            self._exec(self._other_bwd_steps, run)
        else:
            self._exec(self.bwd_steps, run)
            results = set(self.extra_slots)  # returned to the caller: never shared
            kept = {slot: values[slot].copy() for step in self._head_steps for slot in step.outs
                    if slot not in results and isinstance(values[slot], NDArray)}
            self._head_values = (heads, kept)
            if len(kept) < sum(len(step.outs) for step in self._head_steps):
                self._head_values = None  # some value could not be kept: rerun them
        return [values[s] for s in self.extra_slots]

    def _split_head_only(self):
        """The backward steps that read nothing but head gradients (and each other's results),
        and the others."""
        known = {slot for name, slots in self.variables.items()
                 if name.startswith("_head_grad") for slot in slots}
        head, other = [], []
        for step in self.bwd_steps:
            if step.ins and not step.random and step.op.aux_update is None and \
                    all(i in known for i in step.ins):  # (constants are Python scalars)
                head.append(step)
                known.update(step.outs)
            else:
                other.append(step)
        return head, other


# -- the executor --------------------------------------------------------------------------------
