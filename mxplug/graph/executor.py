"""Executor: a Symbol bound to arrays on a context (``sym.bind`` / ``sym.simple_bind``).

The graph runs as a :class:`~.program.Program` (steps over numbered value slots calling ``apply``
per node — the same dispatch, kernels and backends as ``mx.nd``). With
any ``grad_req`` other than ``'null'`` the executor also builds, at bind time, the backward graph
(the ops' gradient rules applied to Symbols, :mod:`.backward`) into one training program: a
training forward keeps the values the gradient steps read, and ``backward`` runs those steps,
writing into ``grad_dict`` per ``grad_req``. No autograd tape is involved.
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError, MXNetValueError
from ..context import Context
from ..ndarray import NDArray
from ..ndarray import ones as _nd_ones
from ..ndarray import zeros as _nd_zeros
from ..ops.dispatch import state
from .inference import fill_creation_shapes
from .program import Program, graph_opt_level

__all__ = ["Executor", "Program", "simple_bind", "ReshapeError", "SimpleBindError"]


class ReshapeError(MXNetValueError, AssertionError):
    """``Executor.reshape`` refused a shape change (MXNet raises an AssertionError)."""


# -- compiled graphs -----------------------------------------------------------------------------
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
    from .inference import _fillable, infer_shape, infer_type
    inputs = set(symbol.list_inputs())  # MXNet ignores shapes and types of names not in it
    shapes = {k: v for k, v in shapes.items() if k in inputs}
    type_dict = None if type_dict is None else {k: v for k, v in type_dict.items()
                                                 if k in inputs}
    arg_shapes, _, aux_shapes = infer_shape(symbol, (), shapes, partial=False)
    if arg_shapes is None:
        known = infer_shape(symbol, (), shapes, partial=True)[0]
        unknown = [n for n, s in zip(symbol.list_arguments(), known) if not s or 0 in s] or [
            f"{n.name} (shape={tuple(n.attrs['shape'])})" for n in symbol._nodes()
            if _fillable(n)]  # every argument known: a zeros/ones node's 0 dims are left
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
    attrs = symbol.attr_dict()

    def ctx_of(name):  # as MXNet: a variable made in a ctx_group lives on the group's context
        group = attrs.get(name, {}).get("__ctx_group__")
        return Context(group2ctx[group]) if group2ctx and group in group2ctx else ctx

    args = {}
    for name, shape, dtype in zip(symbol.list_arguments(), arg_shapes, arg_types):
        old = (reuse or {}).get(name)
        args[name] = old if old is not None and old.shape == tuple(shape) else _nd_zeros(
            shape, ctx=ctx_of(name), dtype=dtype)
    aux = {n: _nd_zeros(s, ctx=ctx_of(n), dtype=t)
           for n, s, t in zip(symbol.list_auxiliary_states(), aux_shapes, aux_types)}
    return Executor(symbol, ctx, args, None, grad_req, aux, group2ctx)
