"""Executor: a Symbol bound to arrays on a context (``sym.bind`` / ``sym.simple_bind``).

A :class:`Program` is a graph compiled once into a flat list of steps over numbered value slots;
running it calls ``apply`` per node — the same dispatch, kernels and backends as ``mx.nd``. With
any ``grad_req`` other than ``'null'`` the executor also builds, at bind time, the backward graph
(the ops' gradient rules applied to Symbols, :mod:`.backward`) into one training program: a
training forward keeps the values the gradient steps read, and ``backward`` runs those steps,
writing into ``grad_dict`` per ``grad_req``. No autograd tape is involved.
"""

from __future__ import annotations

import math
import operator
import os

import numpy as np

from .. import random as _random
from ..base import MXNetError, MXNetValueError
from ..context import Context
from ..ndarray import NDArray
from ..ndarray import ones as _nd_ones
from ..ndarray import zeros as _nd_zeros
from ..ops import apply, registry
from ..ops.dispatch import state
from .inference import fill_creation_shapes
from .memory import out_body, plan_buffers
from .node import topo_nodes

__all__ = ["Executor", "Program", "simple_bind", "ReshapeError", "SimpleBindError"]


class ReshapeError(MXNetValueError, AssertionError):
    """``Executor.reshape`` refused a shape change (MXNet raises an AssertionError)."""


# -- compiled graphs -----------------------------------------------------------------------------
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
            group = n.user_attrs.get("__ctx_group__") or n.user_attrs.get("ctx_group")
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
def _as_dict(names, values, what):
    if values is None:
        return {}
    if isinstance(values, dict):  # keys that name no input are ignored, as in MXNet (its
        return {k: v for k, v in values.items() if k in names}  # tutorials rely on it)
    values = list(values)
    if len(values) != len(names):
        raise MXNetValueError(f"bind: {len(values)} {what} given for {len(names)} names {names}")
    return dict(zip(names, values))


def head_grad_names(n):
    return [f"_head_grad{i}" for i in range(n)]


def build_training(symbol, wrt, arrays, ctx, group2ctx=None, training=True):
    """The training program of ``symbol``: forward outputs, then gradients of ``wrt`` (head
    gradients are the inputs ``_head_grad<i>``); returns ``(Program, constants)``."""
    from .. import autograd
    from .backward import backward_graph
    from .inference import propagate
    from .symbol import var
    shapes = {n: a.shape for n, a in arrays.items()}
    dtypes = {n: np.dtype(a.dtype) for n, a in arrays.items()}
    if graph_opt_level() >= 2 and not group2ctx:  # before differentiating: fused gradients
        symbol = _fuse_before_differentiation(symbol, arrays)
    _, specs, _ = propagate(symbol, shapes, dtypes)
    heads = []
    for name, (node, k) in zip(head_grad_names(len(symbol._outputs)), symbol._outputs):
        s = specs.get(id(node))
        heads.append(var(name, shape=s[k].shape, dtype=s[k].dtype) if s else var(name))
    # the expansion of composites such as BatchNorm and Dropout depends on the mode
    with autograd.train_mode() if training else autograd.predict_mode():
        bg = backward_graph(symbol, wrt, heads, shapes, dtypes, ctx)
    fwd, grads = bg.forward._outputs, bg.grads._outputs
    if not group2ctx:  # passes do not move nodes across contexts
        both = optimize_bound(fwd + grads, arrays, ctx, extra_specs={
            h.name: h._outputs[0][0].specs[0] for h in heads if h._outputs[0][0].specs})
        fwd, grads = both[:len(fwd)], both[len(fwd):]
    return Program(fwd, grads, ctx, group2ctx), bg.constants


def _fuse_before_differentiation(symbol, arrays):
    from ..ops.infer import Spec
    from .passes import annotate, fuse_softmax_ce
    from .symbol import Symbol
    specs = {n: Spec(tuple(a.shape), np.dtype(a.dtype)) for n, a in arrays.items()}
    outs = annotate(list(symbol._outputs), specs)
    fused = fuse_softmax_ce(outs)
    return symbol if all(a[0] is b[0] for a, b in zip(fused, outs)) else Symbol(fused)


def graph_opt_level() -> int:
    """``MXPLUG_GRAPH_OPT``: 2 (default) all passes, 1 without constant folding and fusion, 0
    none, and no memory planning either (the plain reference execution)."""
    return int(os.environ.get("MXPLUG_GRAPH_OPT", "2"))


def optimize_bound(outputs, arrays, ctx, extra_specs=None):
    """The bind-time passes at :func:`graph_opt_level`."""
    from ..ops.infer import Spec
    from .passes import optimize
    level = graph_opt_level()
    specs = {n: Spec(tuple(a.shape), np.dtype(a.dtype)) for n, a in arrays.items()}
    specs.update(extra_specs or {})
    return optimize(list(outputs), level, ctx, specs)


class Executor:
    """A bound Symbol: ``forward(is_train)``, ``backward(out_grads)``, ``outputs``, the arrays.

    Create with ``sym.bind`` or ``sym.simple_bind``."""

    def __init__(self, symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None,
                 group2ctx=None):
        self._symbol = symbol
        self._ctx = Context(ctx)
        self._group2ctx = {k: Context(v) for k, v in (group2ctx or {}).items()}
        arg_names = symbol.list_arguments()
        aux_names = symbol.list_auxiliary_states()
        self.arg_dict = _as_dict(arg_names, args, "args")
        missing = [n for n in arg_names if n not in self.arg_dict]
        if missing:
            raise MXNetValueError(f"bind: no array for argument(s) {missing}")
        self.aux_dict = _as_dict(aux_names, aux_states, "aux_states")
        missing = [n for n in aux_names if n not in self.aux_dict]
        if missing:
            raise MXNetValueError(f"bind: no array for auxiliary state(s) {missing}")
        if isinstance(grad_req, str):
            grad_req = {n: grad_req for n in arg_names}
        elif not isinstance(grad_req, dict):
            grad_req = dict(zip(arg_names, grad_req))
        for n, r in grad_req.items():
            if r not in ("write", "add", "null"):
                raise MXNetValueError(f"bind: grad_req of {n!r} must be write, add or null, got "
                                      f"{r!r}")
        self._grad_req = {n: grad_req.get(n, "null") for n in arg_names}
        self.grad_dict = _as_dict(arg_names, args_grad, "args_grad")
        for n, req in self._grad_req.items():
            if req != "null" and self.grad_dict.get(n) is None:
                if args_grad is not None:
                    self._grad_req[n] = "null"  # MXNet: no gradient array, no gradient
                else:
                    a = self.arg_dict[n]
                    self.grad_dict[n] = _nd_zeros(a.shape, ctx=a.ctx, dtype=a.dtype)
        arrays = {**self.arg_dict, **self.aux_dict}
        # what runs: the symbol with its zeros(shape=(0, H))-style dims filled for these arrays
        symbol = fill_creation_shapes(symbol, {n: a.shape for n, a in arrays.items()},
                                      {n: np.dtype(a.dtype) for n, a in arrays.items()})
        self.outputs = _allocate_outputs(symbol, self.arg_dict, self.aux_dict, self._ctx)
        self._monitor = None
        plain = symbol._outputs if self._group2ctx else optimize_bound(
            symbol._outputs, arrays, self._ctx)
        self._optimized = plain
        self._plain = Program(plain, (), self._ctx, self._group2ctx)
        self._wrt = [n for n, r in self._grad_req.items() if r != "null"]
        self._filled = symbol
        self._train = self._consts = self._train_inference = None
        if self._wrt:
            self._train = self._build_training(True)
        for n in arg_names:  # MXNet lists every argument, None where there is no gradient
            self.grad_dict.setdefault(n, None)
        self._run = self._run_program = None
        self._forward_training = False  # the mode of the last forward (what backward follows)
        self._ones = None

    def _build_training(self, training):
        """The forward-and-gradients program in training or inference mode (the expansion of
        Dropout and BatchNorm depends on it), with 'write' gradients pinned to grad_dict."""
        program, consts = build_training(self._filled, self._wrt, self._inputs(), self._ctx,
                                         self._group2ctx, training=training)
        self._consts = {**(self._consts or {}), **consts}  # the arrays its gradient rules read
        for i, name in enumerate(self._wrt):  # 'write' gradients go straight to grad_dict
            if self._grad_req[name] == "write":
                program.pin(i, self.grad_dict[name])
        return program

    def _inputs(self):
        return {**self.arg_dict, **self.aux_dict, **(self._consts or {})}

    @property
    def arg_arrays(self):
        return [self.arg_dict[n] for n in self._symbol.list_arguments()]

    @property
    def grad_arrays(self):
        return [self.grad_dict.get(n) for n in self._symbol.list_arguments()]

    @property
    def aux_arrays(self):
        return [self.aux_dict[n] for n in self._symbol.list_auxiliary_states()]

    @property
    def output_dict(self):
        return dict(zip(self._symbol.list_outputs(), self.outputs))

    def forward(self, is_train=False, **kwargs):
        """Run the graph; ``kwargs`` are copied into the bound argument arrays first."""
        for name, value in kwargs.items():
            if name not in self.arg_dict:
                raise MXNetValueError(f"forward: unknown argument {name!r}")
            self.arg_dict[name][:] = value
        self._run = None  # its buffers go back to the program for this run
        self._forward_training = bool(is_train)
        if self._monitor is not None and self._call_monitor(is_train):
            return self.outputs
        saved, state.training = state.training, bool(is_train)
        try:
            if is_train and self._train is not None:
                program = self._run_program = self._train
                run = self._run = self._train.forward(self._inputs())
            else:
                program = self._plain
                run = self._plain.forward(self._inputs())
        finally:
            state.training = saved
        self._set_outputs(program.outputs(run))
        return self.outputs

    def _set_outputs(self, results):
        """Keep ``outputs`` the same NDArrays across runs, as MXNet does (a reference taken
        after ``bind`` sees each forward's values): each takes over its fresh result's
        storage, which nothing else holds, so nothing is copied — except a result that is
        another output's too (two heads merged as common subexpressions): that one is copied,
        as MXNet's ``_copy`` nodes do, so that writing one output leaves the other alone."""
        outs = self.outputs
        taken = set()
        for i, r in enumerate(results):
            o = outs[i] if i < len(outs) else None
            if id(r._data) in taken:
                r = r.copy()
            taken.add(id(r._data))
            if o is not None and o.shape == r.shape and o.dtype == r.dtype and \
                    o.context == r.context:
                o._data = r._data
            elif i < len(outs):
                outs[i] = r
            else:
                outs.append(r)

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the outputs (weighted by ``out_grads``, default ones) into ``grad_dict``:
        ``'write'`` overwrites, ``'add'`` accumulates, ``'null'`` leaves untouched (with every
        grad_req ``'null'`` there is nothing to do, as in MXNet).

        The gradient is that of the forward that ran: after ``forward(is_train=False)`` (or
        none) Dropout is the identity and BatchNorm uses its moving statistics, as MXNet's
        ``backward(is_train=False)`` gives; ``is_train`` does not switch the mode of a forward
        that already ran. (MXNet's Dropout follows the forward too; its BatchNorm with
        ``is_train=True`` after an inference forward mixes in stale batch statistics.)"""
        if self._train is None:
            return
        if self._monitor is not None and getattr(self._run, "monitored", False):
            # the forward ran node by node for the monitor callback: so does its backward
            return self._run.backward(self._head_grads(out_grads), is_train)
        if self._run is None:
            # differentiate a forward(is_train=False) (or one the monitor ran node by node), or
            # the bound values when no forward ran yet: rerun it in its mode keeping its values
            training = self._forward_training
            if not training and self._train_inference is None:
                self._train_inference = self._build_training(False)
            program = self._train if training else self._train_inference
            saved, state.training = state.training, training
            try:
                self._run_program, self._run = program, program.forward(self._inputs())
            finally:
                state.training = saved
        heads = self._head_grads(out_grads)
        program = self._run_program
        saved, state.training = state.training, program is self._train
        try:
            grads = program.backward(self._run, dict(zip(head_grad_names(len(heads)), heads)),
                                     fixed_heads=out_grads is None)
        finally:
            state.training = saved
        for name, g in zip(self._wrt, grads):
            target = self.grad_dict[name]
            if g._data is target._data:  # written in place by a pinned step
                continue
            if g.dtype != target.dtype:
                g = g.astype(target.dtype)
            if self._grad_req[name] == "add":
                target[:] = target + g
            else:
                target[:] = g

    def _head_grads(self, out_grads):
        if out_grads is None:
            if self._ones is None or [o.shape for o in self._ones] != [
                    o.shape for o in self.outputs]:
                self._ones = [_nd_ones(o.shape, ctx=o.context, dtype=o.dtype)
                              for o in self.outputs]
            return self._ones
        if isinstance(out_grads, dict):  # MXNet also takes them by output name
            out_grads = [out_grads[k] for k in self._symbol.list_outputs()]
        out_grads = [out_grads] if isinstance(out_grads, NDArray) else list(out_grads)
        if len(out_grads) < len(self.outputs):  # extra ones are ignored, as MXNet does
            raise MXNetValueError(f"backward: {len(out_grads)} out_grads for "
                                  f"{len(self.outputs)} outputs")
        heads = []
        for i, (g, o) in enumerate(zip(out_grads, self.outputs)):
            if tuple(g.shape) != tuple(o.shape):
                raise MXNetValueError(f"backward: out_grads[{i}] has shape {g.shape}, the output "
                                      f"has shape {o.shape}")
            heads.append(g if g.dtype == o.dtype else g.astype(o.dtype))  # MXNet's head dtype
        return heads

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        for name, value in (arg_params or {}).items():
            if name in self.arg_dict:
                self.arg_dict[name][:] = value
            elif not allow_extra_params:
                raise MXNetValueError(f"copy_params_from: {name!r} is not an argument")
        for name, value in (aux_params or {}).items():
            if name in self.aux_dict:
                self.aux_dict[name][:] = value
            elif not allow_extra_params:
                raise MXNetValueError(f"copy_params_from: {name!r} is not an auxiliary state")

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **shapes):
        """A new executor for new input shapes (MXNet's rules): an array that does not grow is
        a view of this executor's (they share memory: parameters stay shared); one that grows
        is new and needs ``allow_up_sizing``; an array not named in ``shapes`` whose shape
        changes needs ``partial_shaping``."""
        from .inference import infer_shape
        arg_shapes, _, aux_shapes = infer_shape(self._symbol, (), shapes, partial=False)
        if arg_shapes is None:
            raise MXNetValueError(f"reshape: cannot infer every shape from {shapes}")

        def resized(name, arr, shape, what):
            shape = tuple(shape)
            if not (partial_shaping or name in shapes or shape == tuple(arr.shape)):
                raise ReshapeError(
                    f"reshape: the shape of {what} {name!r}, not given, changes from "
                    f"{tuple(arr.shape)} to {shape}; pass partial_shaping=True if intended")
            if shape == tuple(arr.shape):
                return arr
            size = int(np.prod(shape))
            if size > arr.size:
                if not allow_up_sizing:
                    raise ReshapeError(
                        f"reshape: {what} {name!r} grows from {tuple(arr.shape)} to {shape}; "
                        f"pass allow_up_sizing=True (binding the large shape first and "
                        f"reshaping down is cheaper)")
                return _nd_zeros(shape, ctx=arr.context, dtype=arr.dtype)
            return arr.reshape((-1,))[0:size].reshape(shape)  # a view: memory is shared

        names = self._symbol.list_arguments()
        args = {n: resized(n, self.arg_dict[n], s, "argument") for n, s in zip(names, arg_shapes)}
        grads = {n: resized(n, self.grad_dict[n], s, "gradient")
                 for n, s in zip(names, arg_shapes) if self.grad_dict.get(n) is not None}
        aux = {n: resized(n, self.aux_dict[n], s, "auxiliary state")
               for n, s in zip(self._symbol.list_auxiliary_states(), aux_shapes)}
        return Executor(self._symbol, self._ctx, args, grads or None, self._grad_req, aux,
                        self._group2ctx)

    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, array)`` for every value of each forward and backward, as
        MXNet's monitor hook does (MXNet passes the name as bytes and a raw handle, mxplug a str
        and the NDArray): each node's outputs as they are produced (``fc1_output``; with
        ``monitor_all`` first its inputs, ``fc1_data``, and a variable input also under its
        own name), and after ``backward`` the outputs of MXNet's backward nodes
        (``fc1_backward_output1``). Names are the graph's as built: while the callback wants
        values, the executor runs the graph node by node (:class:`mxplug.monitor.MonitoredRun`:
        no fusion, expansion or buffer reuse); a Monitor's callback wants them only between
        ``tic`` and ``toc`` of a batch it collects. ``None`` removes the callback."""
        if callback is None and getattr(self._run, "monitored", False):
            self._run = None  # a later backward reruns the forward without the callback
        self._monitor = None if callback is None else (callback, bool(monitor_all))
        self._tap = None  # the graph prepared for monitored runs, made on the first one

    def _call_monitor(self, is_train):
        """Run this forward for the monitor callback if it wants values (returns whether)."""
        from ..monitor import MonitoredRun, collecting
        if not collecting(self._monitor[0]):
            return False
        self._run = MonitoredRun(self, is_train)
        return True

    def get_optimized_symbol(self):
        """The forward graph as bound, after the bind-time passes (MXNet's name)."""
        from .symbol import Symbol
        return Symbol(self._optimized)

    def debug_str(self):
        """The bound (optimized) forward graph in ``Symbol.debug_str``'s layout, then MXNet's
        ``Total N MB allocated`` line: what a step needs beyond the bound arrays (the outputs
        and the planned buffers of the program that runs: with gradients, the training one)."""
        from .symbol import Symbol
        program = self._train or self._plain
        plan = program._plan.specs if program._plan is not None else ()
        total = sum(math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in plan)
        total += sum(a.size * np.dtype(a.dtype).itemsize for a in self.outputs)
        return Symbol(self._optimized).debug_str() + f"Total {total >> 20} MB allocated\n"


def _allocate_outputs(symbol, args, aux, ctx):
    """Zero arrays of the output shapes, as MXNet's ``bind`` allocates them (``outputs`` is
    readable before the first forward); [] where shapes cannot be inferred."""
    from .inference import propagate
    arrays = {**args, **aux}
    try:
        _, specs, _ = propagate(symbol, {n: a.shape for n, a in arrays.items()},
                                {n: np.dtype(a.dtype) for n, a in arrays.items()})
    except MXNetError:
        return []
    outs = []
    for node, k in symbol._outputs:
        s = specs.get(id(node))
        if s is None or 0 in s[k].shape:
            return []
        outs.append(_nd_zeros(s[k].shape, ctx=ctx, dtype=s[k].dtype))
    return outs


class SimpleBindError(MXNetValueError, RuntimeError):
    """``simple_bind`` failed (MXNet raises a RuntimeError listing the given shapes)."""


def simple_bind(symbol, ctx, grad_req, type_dict, group2ctx, shapes, reuse=None):
    """Allocate every argument, gradient and auxiliary array from the given input shapes."""
    try:
        return _simple_bind(symbol, ctx, grad_req, type_dict, group2ctx, shapes, reuse)
    except SimpleBindError:
        raise
    except MXNetError as e:
        given = "".join(f"{k}: {v}\n" for k, v in shapes.items())
        raise SimpleBindError(f"simple_bind error. Arguments:\n{given}{e}") from None


def _simple_bind(symbol, ctx, grad_req, type_dict, group2ctx, shapes, reuse):
    from .inference import infer_shape, infer_type
    inputs = set(symbol.list_inputs())  # MXNet ignores shapes and types of names not in it
    shapes = {k: v for k, v in shapes.items() if k in inputs}
    type_dict = None if type_dict is None else {k: v for k, v in type_dict.items()
                                                 if k in inputs}
    arg_shapes, _, aux_shapes = infer_shape(symbol, (), shapes, partial=False)
    if arg_shapes is None:
        known = infer_shape(symbol, (), shapes, partial=True)[0]
        unknown = [n for n, s in zip(symbol.list_arguments(), known) if not s or 0 in s]
        raise SimpleBindError(f"simple_bind: cannot infer the shapes of {unknown} from "
                              f"{shapes}")
    if type_dict is None:  # as MXNet: arguments without a declared __dtype__ bind as float32
        attrs = symbol.attr_dict()
        type_dict = {k: "float32" for k in symbol.list_arguments()
                     if "__dtype__" not in attrs.get(k, {})}
    arg_types, _, aux_types = infer_type(symbol, (), type_dict, partial=True)
    arg_types = [t or np.float32 for t in arg_types]  # what nothing decides
    aux_types = [t or np.float32 for t in aux_types]
    ctx = Context(ctx)
    args = {}
    for name, shape, dtype in zip(symbol.list_arguments(), arg_shapes, arg_types):
        old = (reuse or {}).get(name)
        args[name] = old if old is not None and old.shape == tuple(shape) else _nd_zeros(
            shape, ctx=ctx, dtype=dtype)
    aux = {n: _nd_zeros(s, ctx=ctx, dtype=t)
           for n, s, t in zip(symbol.list_auxiliary_states(), aux_shapes, aux_types)}
    return Executor(symbol, ctx, args, None, grad_req, aux, group2ctx)
