"""``mx.mon.Monitor``: statistics of a bound graph's arrays every few batches (MXNet 1.x).

A Monitor installs itself as the executors' monitor callback (``Executor.set_monitor_callback``):
between :meth:`Monitor.tic` and :meth:`Monitor.toc` of an active batch it keeps
``stat_func(array)`` of every node output whose name matches ``pattern`` (``fc1_output``; with
``monitor_all`` also the node inputs, ``fc1_data``), of the backward nodes' outputs after
``backward`` (``fc1_backward_output1``: the gradient of ``fc1``'s weight), and at ``toc`` those
of the matching arguments and auxiliary states (``fc1_weight``, ``bn_moving_mean``).

The monitored runs themselves (:class:`MonitoredRun`): while a callback wants values, an
executor runs the graph as it was built, node by node — no fusion, expansion or buffer reuse —
so that every value is reported under MXNet's node name as it was produced; gradients come from
each node's own rule, reported as MXNet's backward graph names them (see :class:`MonitoredRun`).
"""

from __future__ import annotations

import logging
import math
import numbers
import re

import numpy as np

from . import ndarray as nd
from .base import MXNetTypeError, MXNetValueError
from .graph.node import post_order
from .ndarray import NDArray

__all__ = ["Monitor"]


def _mean_norm(x):
    """``norm(x) / sqrt(x.size)``: the root mean square of ``x`` (MXNet's default statistic)."""
    return nd.norm(x) / math.sqrt(x.size)


class Monitor:
    """Monitor outputs, weights and auxiliary states of executors for debugging.

    Parameters
    ----------
    interval : int
        Collect statistics every ``interval`` batches (the batches whose :meth:`tic` finds
        ``step % interval == 0``).
    stat_func : callable, optional
        ``NDArray -> NDArray`` (or a list of NDArrays). Default: ``norm(x) / sqrt(x.size)``.
    pattern : str, default '.*'
        Regular expression; only names it matches (``re.match``, from the start) are kept,
        e.g. ``'.*weight|.*output'``.
    sort : bool, default False
        Sort the results of :meth:`toc` by name.
    monitor_all : bool, default False
        Also monitor every node's inputs, not only its outputs.

    Examples
    --------
    >>> mon = mx.mon.Monitor(1, pattern='fc.*')
    >>> mon.install(exe)
    >>> mon.tic(); exe.forward(); rows = mon.toc()   # [(1, 'fc_output', '0.73\\t'), ...]
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if isinstance(interval, bool) or not isinstance(interval, numbers.Integral) \
                or interval < 1:
            raise MXNetValueError(f"Monitor: interval must be a positive int, got {interval!r}")
        if stat_func is not None and not callable(stat_func):
            raise MXNetTypeError(f"Monitor: stat_func must be callable, got "
                                 f"{type(stat_func).__name__}")
        try:
            self.re_prog = re.compile(pattern)
        except (re.error, TypeError) as err:
            raise MXNetValueError(f"Monitor: pattern {pattern!r} is not a regular expression "
                                  f"({err})") from None
        self.interval = int(interval)
        self.stat_func = stat_func if stat_func is not None else _mean_norm
        self.sort = sort
        self.monitor_all = bool(monitor_all)
        self.activated = False
        self.queue = []  # (step, name, statistic) of the active batch
        self.step = 0
        self.exes = []

    def stat_helper(self, name, array):
        """The executor callback: keep ``stat_func(array)`` while a batch is monitored."""
        if self.activated and self.re_prog.match(name):
            self.queue.append((self.step, name, self.stat_func(array)))

    def install(self, exe):
        """Install on ``exe`` (an Executor from ``bind`` / ``simple_bind``); a Monitor can watch
        several executors. ``Module.install_monitor(mon)`` calls this for each of its own."""
        if not hasattr(exe, "set_monitor_callback"):
            raise MXNetTypeError(f"Monitor.install: expected an Executor (with "
                                 f"set_monitor_callback), got {type(exe).__name__}")
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Start a batch (call before ``forward``): collects if ``step % interval == 0``."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """End the batch (call after it is computed): ``[(step, name, statistic text)]``, where
        the text is each statistic's value followed by a tab; ``[]`` for an unmonitored batch."""
        if not self.activated:
            return []
        for exe in self.exes:
            symbol = exe._symbol
            named = list(zip(symbol.list_arguments(), exe.arg_arrays)) + \
                list(zip(symbol.list_auxiliary_states(), exe.aux_arrays))
            for name, array in named:
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda entry: entry[1])
        rows = [(step, name, self._text(name, stats)) for step, name, stats in self.queue]
        self.queue = []
        return rows

    def toc_print(self):
        """:meth:`toc`, logged at INFO level: ``Batch:       1 fc_output   0.73``."""
        for step, name, text in self.toc():
            logging.info("Batch: %7d %-30s %s", step, name, text)

    @staticmethod
    def _text(name, stats):
        stats = [stats] if isinstance(stats, NDArray) else stats
        if not isinstance(stats, (list, tuple)) or \
                not all(isinstance(s, NDArray) for s in stats):
            raise MXNetTypeError(f"Monitor: stat_func must return an NDArray or a list of them; "
                                 f"for {name!r} it returned {type(stats).__name__}")
        return "".join((str(s.asscalar()) if s.shape == (1,) else str(s.asnumpy())) + "\t"
                       for s in stats)


# -- monitored runs (Executor.set_monitor_callback) ------------------------------------------------
def collecting(callback) -> bool:
    """Whether ``callback`` wants the values of this run: a Monitor's only between ``tic`` and
    ``toc`` of a batch it collects (other runs take the executor's fast path); any other
    callback always."""
    owner = getattr(callback, "__self__", None)
    return owner.activated if isinstance(owner, Monitor) else True


#: MXNet ops (by MXNet's name) whose first input MXNet's monitor calls ``data`` also where it is
#: the only one; other single-input ops name it ``input0`` (they declare no input names).
_DATA_INPUT = frozenset({
    "Pooling", "Dropout", "LRN", "SoftmaxActivation", "softmax", "log_softmax", "softmin",
    "LeakyReLU", "SwapAxis", "Pad", "SliceChannel", "L2Normalization", "MakeLoss", "UpSampling",
    "Crop", "IdentityAttachKLSparseReg", "SoftmaxOutput", "LinearRegressionOutput",
    "LogisticRegressionOutput", "MAERegressionOutput", "BatchNorm", "LayerNorm",
    "FullyConnected", "Convolution", "Deconvolution", "Embedding", "InstanceNorm", "GroupNorm",
})
#: elementwise functions whose MXNet gradient reads the output (``_backward_relu(g, out)``);
#: the other ones read the input
_USE_OUT = frozenset({"relu", "sigmoid", "tanh", "exp", "sqrt", "cbrt"})
#: ops whose MXNet backward node reads the output gradient only
_GRAD_ONLY = frozenset({
    "_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
    "broadcast_add", "broadcast_sub", "elemwise_sub", "_minus", "sum", "mean", "nansum",
    "Flatten", "flatten", "Reshape", "reshape", "transpose", "expand_dims", "squeeze", "Dropout",
    "_copy", "identity", "negative", "SwapAxis", "swapaxes", "broadcast_to", "broadcast_axis",
    "broadcast_like", "slice", "slice_axis", "Cast", "cast",
})
_LOSS_LABEL_FIRST = frozenset({"LinearRegressionOutput", "LogisticRegressionOutput",
                               "MAERegressionOutput"})


def _mxnet_op(node):
    """MXNet's op name of ``node`` (``_plus_scalar`` for a node with a scalar operand)."""
    from .graph.serialize import SCALAR_OPS
    from .ops.registry import mxnet_name
    if node.consts:
        (pos, _), = node.consts.items()
        return SCALAR_OPS.get((node.op.name, pos == 1), mxnet_name(node.op))
    return mxnet_name(node.op)


def _output_names(node, n):
    """MXNet's names of ``node``'s ``n`` outputs: ``fc_output``, ``split0_output1``, ``bn_mean``."""
    if node.op.output_names is not None:
        return [f"{node.name}_{r}" for r in node.op.output_names(node.attrs)[:n]]
    return [f"{node.name}_output"] if n == 1 else [f"{node.name}_output{k}" for k in range(n)]


def _input_names(node, mxop):
    """MXNet's names of ``node``'s inputs for ``monitor_all`` (``fc_data``, ``_plus0_lhs``,
    ``act_input0``, ``concat0_arg1``)."""
    op, n = node.op, len(node.inputs)
    if op.variadic:
        roles = op.auto_inputs(node.attrs) if op.auto_inputs is not None else ()
        return [roles[i] if i < len(roles) else f"arg{i}" for i in range(n)]
    if node.consts or (n == 1 and mxop not in _DATA_INPUT):
        return [f"input{i}" for i in range(n)]
    return [op.inputs[i] if i < len(op.inputs) else f"input{i}" for i in range(n)]


def _backward_layout(node, mxop, shapes):
    """What MXNet's backward node of ``node`` reads, as ``(tokens, input names or None)``:
    tokens ``("g", k)`` (the gradient of output ``k``), ``("i", k)`` (input ``k``), ``("o", k)``
    (output ``k``), ``("h", name)`` (a hidden output: BatchNorm's ``mean``); names None are
    ``input<k>``. None: MXNet makes no node, the output gradient passes to every input
    (``a + b`` of one shape, ``add_n``)."""
    n = len(node.inputs)
    ins = [("i", k) for k in range(n)]
    g, o = ("g", 0), ("o", 0)
    if mxop in ("add_n", "ElementWiseSum") or (
            mxop in ("broadcast_add", "elemwise_add") and not node.consts and n == 2
            and shapes[0] == shapes[1] == shapes[2]):
        return None
    if mxop == "Activation":
        return ([g, o] if node.attrs.get("act_type") == "relu" else [g, o, ("i", 0)]), None
    if mxop in ("softmax", "log_softmax", "softmin"):
        return [g, o], ("ograd", "output")
    if mxop == "SoftmaxOutput":
        return [o] + ins[1:], None
    if mxop in _LOSS_LABEL_FIRST:
        return ins[1:] + [o], None
    if mxop == "BatchNorm":
        stats = [("o", 1), ("o", 2)] if node.attrs.get("output_mean_var") else [
            ("h", "mean"), ("h", "var")]
        return [g] + stats + ins, None
    if mxop == "LayerNorm":
        return [g] + ins[:2] + [("h", "mean"), ("h", "std")], None
    if mxop == "FullyConnected":
        return [g] + ins[:2], None
    if mxop in ("Pooling", "LeakyReLU"):
        return [g, ("i", 0), o], None
    if mxop in _GRAD_ONLY:
        return [g], None
    if n == 1 and not node.consts and node.op.name in _fusible_ops():
        return [g, o if node.op.name in _USE_OUT else ("i", 0)], ("lhs", "rhs")
    return [g] + ins, None


def _fusible_ops():
    from .graph.fusion import FUSIBLE
    return FUSIBLE


def _hidden_outputs(node, args, outs, training):
    """The outputs MXNet's node has and mxplug's does not return, as ``[(role, NDArray)]``:
    BatchNorm's ``mean`` and ``var`` (the inverse standard deviation, as MXNet's), LayerNorm's
    ``mean`` and ``std``."""
    attrs, name = node.attrs, node.op.name
    if name in ("BatchNorm", "_BatchNorm") and len(outs) == 1:
        x = args[0]
        axis = attrs.get("axis", 1) % x.ndim
        red = tuple(i for i in range(x.ndim) if i != axis)
        if training and not attrs.get("use_global_stats"):
            mean = nd.mean(x, axis=red)
            shape = tuple(x.shape[i] if i == axis else 1 for i in range(x.ndim))
            var = nd.mean(nd.square(x - nd.reshape(mean, shape=shape)), axis=red)
        else:
            mean, var = args[3].copy(), args[4]
        return [("mean", mean), ("var", 1 / nd.sqrt(var + attrs.get("eps", 1e-3)))]
    if name == "LayerNorm" and len(outs) == 1:
        x, axis = args[0], attrs.get("axis", -1)
        mean = nd.mean(x, axis=axis, keepdims=True)
        var = nd.mean(nd.square(x - mean), axis=axis, keepdims=True)
        return [("mean", mean), ("std", nd.sqrt(var + attrs.get("eps", 1e-5)))]
    return []


class _Graph:
    """An executor's graph prepared for monitored runs: built on the first one, kept after."""

    def __init__(self, exe):
        from .graph.inference import fill_creation_shapes
        from .graph.node import topo_nodes
        arrays = {**exe.arg_dict, **exe.aux_dict}
        symbol = fill_creation_shapes(exe._symbol, {n: a.shape for n, a in arrays.items()},
                                      {n: np.dtype(a.dtype) for n, a in arrays.items()})
        self.outputs = list(symbol._outputs)
        self.nodes = topo_nodes(self.outputs)
        wrt = set(exe._wrt)
        self.dep = set()  # ids of the nodes whose value depends on an argument with a gradient
        for n in self.nodes:
            if (n.name in wrt) if n.is_variable else any(id(i) in self.dep for i, _ in n.inputs):
                self.dep.add(id(n))
        self.variables = {}
        for n in self.nodes:
            if n.is_variable:
                self.variables.setdefault(n.name, []).append(n)
        self.mxop = {id(n): _mxnet_op(n) for n in self.nodes if not n.is_variable}


class _VNode:
    """A node of MXNet's backward graph, as the monitor reports it: ``inputs`` are ``(name,
    array, variable name or None)``, ``outputs`` ``(name, array)``; ``deps`` the nodes that
    made the gradients it reads (its place in MXNet's execution order follows from them)."""

    __slots__ = ("name", "inputs", "outputs", "deps")

    def __init__(self, name, inputs, outputs, deps):
        self.name, self.inputs, self.outputs, self.deps = name, inputs, outputs, deps


class MonitoredRun:
    """One forward of an executor run node by node for its monitor callback, and its backward.

    The forward runs the bound graph as built (no bind-time passes, no planned buffers): each
    op node is applied once (``apply``, as the executor's steps are), its inputs reported first
    with ``monitor_all`` (``fc_data``; a variable also under its own name), then its outputs
    (``fc_output``; BatchNorm's also ``bn_mean``/``bn_var``). The nodes a gradient flows
    through are recorded one by one, so that :meth:`backward` can take each node's input
    gradients apart: MXNet's ``<node>_backward`` node, whose outputs are the gradients of the
    node's inputs (``fc_backward_output1``, the weight's), ``sum_grad`` where gradients of one
    value add up, and ``_head_grad_<i>_id`` for an output gradient that a backward node reads.
    They are reported in MXNet's execution order; the gradients are then written into
    ``grad_dict`` as the executor's own backward does.
    """

    monitored = True

    def __init__(self, exe, is_train):
        from . import random as _random
        from .autograd import Leaf, record
        from .graph.program import _VIEWS
        from .ops import apply
        from .ops.dispatch import state
        graph = exe._tap
        if graph is None:
            graph = exe._tap = _Graph(exe)
        self._exe, self._graph, self._is_train = exe, graph, bool(is_train)
        callback, monitor_all = exe._monitor
        values, hidden, taped = {}, {}, {}
        arrays = {**exe.arg_dict, **exe.aux_dict}
        recording = bool(exe._wrt)
        group2ctx, ctx0 = exe._group2ctx, exe._ctx
        prev_hook, prev_training = state.set_hook(None), state.training
        state.training = self._is_train
        try:
            for node in graph.nodes:
                if node.is_variable:
                    values[(id(node), 0)] = arrays[node.name]
                    continue
                op = node.op
                group = node.user_attrs.get("__ctx_group__") or node.user_attrs.get("ctx_group")
                ctx = group2ctx.get(group, ctx0) if group else ctx0
                xs = [values[(id(i), k)] for i, k in node.inputs]
                if group2ctx:
                    xs = [x.as_in_context(ctx) if x.context != ctx else x for x in xs]
                attrs = node.attrs
                if "ctx" in attrs:
                    attrs = {**attrs, "ctx": ctx}
                if op.random:
                    key = _random.next_state()
                    attrs = {**attrs, "key": key[0], "counter": key[1]}
                if monitor_all:
                    names = _input_names(node, graph.mxop[id(node)])
                    for (src, _), name, x in zip(node.inputs, names, xs):
                        if src.is_variable:
                            callback(src.name, x)
                        callback(f"{node.name}_{name}", x)
                if recording and id(node) in graph.dep and op.differentiable:
                    leaves = [x.detach() for x in xs]
                    for a in leaves:
                        a._ag = Leaf(None, "write")
                    with record(train_mode=self._is_train):
                        out = apply(op, *node.arguments(leaves), **attrs)
                    outs = out if type(out) is tuple else (out,)
                    taped[id(node)] = (leaves, outs)
                else:
                    out = apply(op, *node.arguments(xs), **attrs)
                    outs = out if type(out) is tuple else (out,)
                args = node.arguments(xs)
                extra = _hidden_outputs(node, args, outs, self._is_train)
                if op.aux_update is not None and self._is_train:
                    op.aux_update(args, attrs)  # BatchNorm's moving statistics
                for k, o in enumerate(outs):
                    values[(id(node), k)] = o
                for name, o in zip(_output_names(node, len(outs)), outs):
                    callback(name, o)
                for role, o in extra:
                    hidden[(id(node), role)] = o
                    callback(f"{node.name}_{role}", o)
        finally:
            state.set_hook(prev_hook)
            state.training = prev_training
        results = []
        for n, k in graph.outputs:
            o = values[(id(n), k)].detach()
            if n.is_variable or n.op in _VIEWS:  # an output never shares an input's memory
                o = o.copy()
            results.append(o)
        exe._set_outputs(results)
        self._values, self._hidden, self._taped = values, hidden, taped

    def backward(self, heads, is_train=True):
        """The gradients of ``outputs`` weighted by ``heads`` (one NDArray per output), reported
        and then written into the executor's ``grad_dict`` per ``grad_req``."""
        from .ops.dispatch import state
        exe, graph = self._exe, self._graph
        if not exe._wrt:  # every grad_req 'null': nothing to do, as in MXNet
            return
        values, taped = self._values, self._taped
        pending: dict = {}  # (id(node), k) -> [(gradient, the _VNode that made it)]
        for i, ((node, k), h) in enumerate(zip(graph.outputs, heads)):
            if id(node) in graph.dep:
                head = _VNode(f"_head_grad_{i}_id", [
                    ("lhs", h, f"_head_grad_{i}"), ("rhs", values[(id(node), k)], None)],
                    [("output", h)], [])
                pending.setdefault((id(node), k), []).append((h, head))
        prev_hook, prev_training = state.set_hook(None), state.training
        state.training = bool(is_train)
        try:
            for node in reversed(graph.nodes):
                if id(node) not in taped:
                    continue
                leaves, outs = taped[id(node)]
                gs = [_aggregate(pending.pop((id(node), k), None)) for k in range(len(outs))]
                if all(g is None for g in gs):
                    continue
                used = [(o, _on(g[0], o.context)) for o, g in zip(outs, gs) if g is not None]
                grads = _node_grads(used, leaves, self._is_train)
                self._backward_node(node, leaves, outs, gs, grads, pending)
            results = []
            for name in exe._wrt:
                contributions = [c for v in graph.variables.get(name, ())
                                 for c in pending.pop((id(v), 0), ())]
                results.append(_aggregate(contributions or None))
        finally:
            state.set_hook(prev_hook)
            state.training = prev_training
        self._report([r[1] for r in results if r is not None])
        for name, res in zip(exe._wrt, results):
            target = exe.grad_dict[name]
            g = res[0] if res is not None else nd.zeros(target.shape, ctx=target.context,
                                                        dtype=target.dtype)
            if g.dtype != target.dtype:
                g = g.astype(target.dtype)
            if exe._grad_req[name] == "add":
                target[:] = target + g
            else:
                target[:] = g

    def _backward_node(self, node, leaves, outs, gs, grads, pending):
        """MXNet's backward node of ``node`` (or none: a gradient that passes through), and the
        input gradients it hands on."""
        graph = self._graph
        mxop = graph.mxop[id(node)]
        shapes = [tuple(a.shape) for a in leaves] + [tuple(outs[0].shape)]
        layout = _backward_layout(node, mxop, shapes)
        op = node.op
        aux = set() if op.variadic else {k for k, r in enumerate(op.inputs)
                                          if r in op.aux_inputs}
        if layout is None:
            made = [gs[0]] * len(node.inputs)
        else:
            tokens, names = layout
            inputs = []
            for j, (kind, v) in enumerate(tokens):
                src = None
                if kind == "g":
                    arr = gs[v][0] if gs[v] is not None else nd.zeros_like(outs[v])
                elif kind == "i":
                    src, arr = node.inputs[v][0], self._values[(id(node.inputs[v][0]),
                                                                node.inputs[v][1])]
                elif kind == "o":
                    arr = self._values[(id(node), v)]
                else:
                    arr = self._hidden[(id(node), v)]
                name = names[j] if names is not None else f"input{j}"
                inputs.append((name, arr, src.name if src is not None and src.is_variable
                               else None))
            kept = [k for k in range(len(node.inputs)) if k not in aux]
            onames = ["output"] if len(kept) == 1 else [f"output{j}" for j in range(len(kept))]
            deps = [gs[v][1] for kind, v in tokens if kind == "g" and gs[v] is not None]
            vnode = _VNode(f"{node.name}_backward", inputs,
                           [(n, grads[k]) for n, k in zip(onames, kept)], deps)
            made = [(grads[k], vnode) for k in range(len(node.inputs))]
        for k, (src, sk) in enumerate(node.inputs):
            if k not in aux and id(src) in graph.dep and made[k] is not None:
                pending.setdefault((id(src), sk), []).append(made[k])

    def _report(self, roots):
        """Call the callback for the backward nodes reached from ``roots`` (what made each
        argument's gradient), in MXNet's order: each node after the ones it reads from."""
        callback, monitor_all = self._exe._monitor
        order = post_order([r for r in roots if r is not None],
                           lambda v: [d for d in v.deps if d is not None])
        for vnode in order:
            if monitor_all:
                for name, arr, var in vnode.inputs:
                    if var is not None:
                        callback(var, arr)
                    callback(f"{vnode.name}_{name}", arr)
            for name, arr in vnode.outputs:
                callback(f"{vnode.name}_{name}", arr)


def _aggregate(contributions):
    """The sum of a value's gradient contributions ``[(array, maker)]`` as ``(array, maker)``:
    one passes as it is; 2 to 7 make MXNet's ``sum_grad`` node (inputs ``arg<i>``), more a
    chain of ``sum_grad_<i>`` additions. None for none."""
    if not contributions:
        return None
    if len(contributions) == 1:
        return contributions[0]
    if len(contributions) < 8:
        total = contributions[0][0]
        for g, _ in contributions[1:]:
            total = total + _on(g, total.context)
        node = _VNode("sum_grad", [(f"arg{i}", g, None) for i, (g, _) in
                                   enumerate(contributions)], [("output", total)],
                      [m for _, m in contributions])
        return total, node
    acc = contributions[0]
    for i, (g, maker) in enumerate(contributions[1:], 1):
        total = acc[0] + _on(g, acc[0].context)
        acc = total, _VNode(f"sum_grad_{i}", [("lhs", acc[0], None), ("rhs", g, None)],
                            [("output", total)], [acc[1], maker])
    final = _VNode("sum_grad_final", [("input0", acc[0], None)], [("output", acc[0])], [acc[1]])
    return acc[0], final


def _node_grads(used, leaves, training):
    """The gradients of one recorded node's inputs ``leaves`` for its outputs' gradients
    ``used`` (``[(output, gradient)]``). An output that is not a recorded result (an op that
    returned its input itself, Dropout in prediction) hands its gradient to that input."""
    from .autograd import grad
    recorded = [(o, g) for o, g in used if type(getattr(o, "_ag", None)) is tuple]
    grads = grad([o for o, _ in recorded], leaves, [g for _, g in recorded], retain_graph=True,
                 train_mode=training) if recorded else [nd.zeros_like(a) for a in leaves]
    for o, g in used:
        if type(getattr(o, "_ag", None)) is not tuple:
            for i, a in enumerate(leaves):
                if o is a:
                    grads[i] = grads[i] + g
    return grads


def _on(array, ctx):
    """``array`` on ``ctx`` (a gradient crossing a ``group2ctx`` boundary)."""
    return array if array.context == ctx else array.as_in_context(ctx)
