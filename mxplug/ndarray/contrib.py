"""``mx.nd.contrib``: MXNet 1.x's contrib namespace.

It holds the registry's ``_contrib_<name>`` ops as ``<name>`` (filled in by ``mx.nd``), and the
Python functions of MXNet's ``ndarray/contrib.py``: the control flow ``foreach``, ``while_loop``
and ``cond``, and ``boolean_mask``.

Control flow follows MXNet 1.x's semantics and return structures. On NDArrays with values it
runs as plain Python loops and branches (autograd records through them like any other code).
Where the arrays have no values — hybridize's stand-ins while a HybridBlock is traced, or Symbols
(``mx.sym.contrib`` uses the same functions) — it is **unrolled** into the graph: ``foreach``
repeats its body once per row of axis 0 (the length must be known), ``while_loop`` runs its step
``max_iterations`` times with the condition turned into masks, ``cond`` computes both branches
and selects with ``where``. The graph grows with the number of steps.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError, MXNetTypeError, MXNetValueError
from .ndarray import NDArray

__all__ = ["foreach", "while_loop", "cond", "boolean_mask", "control_flow_for",
           "symbolic_boolean_mask"]


# -- nested lists of arrays, as MXNet's _flatten / _regroup ---------------------------------------
def _flatten(args, what, is_array):
    """``args`` (an array or nested lists of arrays) as a flat list and a format to regroup."""
    if is_array(args):
        return [args], 0
    if not isinstance(args, (list, tuple)):
        raise MXNetTypeError(f"{what} must be an array or a (nested) list of arrays, got "
                             f"{type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, fmt = _flatten(a, what, is_array)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    if isinstance(fmt, int):
        return (args[0], args[1:]) if fmt == 0 else (args[:fmt], args[fmt:])
    out = []
    for f in fmt:
        res, args = _regroup(args, f)
        out.append(res)
    return out, args


# -- what the control flow needs from mx.nd or mx.sym ---------------------------------------------
class _Namespace:
    """The op namespace (``mx.nd`` or ``mx.sym``) and how to treat its arrays."""

    def __init__(self, ops, symbolic):
        self.ops, self.symbolic = ops, symbolic

    def is_array(self, x):
        return isinstance(x, self.ops.Symbol if self.symbolic else NDArray)

    def has_value(self, x):
        """True for values a Python loop or branch can read: NDArrays with data (not a traced
        stand-in, not a Symbol) and Python numbers."""
        return type(x) is NDArray or isinstance(x, (bool, int, float, np.generic))

    def truth(self, x, what):
        value = x.asscalar() if isinstance(x, NDArray) else x
        try:
            return bool(value)
        except (TypeError, ValueError):
            raise MXNetValueError(f"{what} must be a scalar, got {x!r}") from None

    def length(self, x, fn):
        """The length of axis 0, which unrolling needs."""
        try:
            return x.shape[0]
        except MXNetValueError as e:
            raise MXNetValueError(
                f"{fn}: the length of axis 0 of the data must be known to unroll the loop into "
                f"the graph; give the variables shapes (mx.sym.var('data', shape=...)) or run "
                f"the code in a hybridized Gluon block, whose inputs have shapes ({e})") from None

    def row(self, x, i):
        """``x[i]`` on axis 0 ((1,) for 1-D data, as MXNet 1.x). In a graph it is written with
        ``slice_axis`` and ``squeeze``, whose attributes survive ``tojson``/``load_json`` and
        ``export`` (``getitem``'s Python key does not); a Symbol's ``[i]`` picks an output."""
        if self.has_value(x):
            return x[i]
        return self.ops.squeeze(self.ops.slice_axis(x, axis=0, begin=i, end=i + 1), axis=0)

    def select(self, pred, a, b):
        """``a`` where the scalar ``pred`` (shape (1,)) is nonzero, else ``b``."""
        mask = self.ops.broadcast_mul(self.ops.ones_like(a), pred)
        return self.ops.where(mask, a, b)


# -- foreach --------------------------------------------------------------------------------------
def _foreach(ns, body, data, init_states):
    flat_data, _ = _flatten(data, "foreach: data", ns.is_array)
    _flatten(init_states, "foreach: init_states", ns.is_array)
    single = ns.is_array(data)
    steps = ns.length(flat_data[0], "foreach")
    if steps == 0:
        raise MXNetValueError("foreach: the data has length 0 along axis 0 (no step to run)")
    states, per_step, out_fmt = init_states, [], None
    for i in range(steps):
        rows = ns.row(data, i) if single else [ns.row(d, i) for d in data]
        outs, states = body(rows, states)
        flat, out_fmt = _flatten(outs, "foreach: the body's output", ns.is_array)
        per_step.append(flat)
    stacked = [ns.ops.stack(*items, axis=0) for items in zip(*per_step)]
    return _regroup(stacked, out_fmt)[0], states


# -- while_loop -----------------------------------------------------------------------------------
def _step(ns, func, loop_vars):
    """``func(*loop_vars)`` as (flat step outputs, their format, new loop vars)."""
    step_output, new_vars = func(*loop_vars)
    step_output = [] if step_output is None else step_output
    new_vars = [] if new_vars is None else new_vars
    new_vars = [new_vars] if ns.is_array(new_vars) else list(new_vars)
    if len(new_vars) != len(loop_vars):
        raise MXNetValueError(f"while_loop: func returned {len(new_vars)} loop variables for "
                              f"{len(loop_vars)}; their number must stay the same")
    flat, fmt = _flatten(list(step_output) if isinstance(step_output, tuple) else step_output,
                         "while_loop: func's step output", ns.is_array)
    return flat, fmt, new_vars


def _while_eager(ns, cond, func, loop_vars, max_iterations, first):
    """MXNet's NDArray while_loop: Python iterations, outputs padded with zeros to
    ``max_iterations`` rows (MXNet leaves them uninitialised; mx.nd.empty is zero-filled here)."""
    steps, outputs, out_fmt, go = 0, [], None, first
    while steps < max_iterations and ns.truth(go, "while_loop: cond's result"):
        flat, out_fmt, loop_vars = _step(ns, func, loop_vars)
        if outputs and len(flat) != len(outputs[0]):
            raise MXNetValueError("while_loop: the number of step outputs must be the same at "
                                  "every step")
        outputs.append(flat)
        steps += 1
        if steps < max_iterations:
            go = cond(*loop_vars)
    stacked = []
    for items in zip(*outputs):
        rows = [ns.ops.expand_dims(x, axis=0) for x in items]
        if steps < max_iterations:
            rows.append(ns.ops.zeros((max_iterations - steps,) + tuple(items[0].shape),
                                     ctx=items[0].context, dtype=items[0].dtype))
        stacked.append(ns.ops.concat(*rows, dim=0))
    return (stacked if out_fmt is None else _regroup(stacked, out_fmt)[0]), loop_vars


def _select_vars(ns, active, new_vars, loop_vars):
    """The loop variables after a masked step: ``new`` where ``active``, else ``old``, element
    by element of the (possibly nested) lists, in ``loop_vars``' structure."""
    flat_new, _ = _flatten(new_vars, "while_loop: func's loop variables", ns.is_array)
    flat_old, fmt = _flatten(loop_vars, "while_loop: loop_vars", ns.is_array)
    if len(flat_new) != len(flat_old):
        raise MXNetValueError(f"while_loop: func returned {len(flat_new)} arrays as loop "
                              f"variables for {len(flat_old)}; their structure must stay the "
                              f"same")
    picked = [ns.select(active, new, old) for new, old in zip(flat_new, flat_old)]
    return _regroup(picked, fmt)[0]


def _while_unrolled(ns, cond, func, loop_vars, max_iterations, first):
    """``max_iterations`` steps with the condition as a mask: once it is false the loop
    variables keep their values and the step outputs are 0, as the eager loop's padding."""
    active, per_step, out_fmt = None, [], None
    for t in range(max_iterations):
        go = (first if t == 0 else cond(*loop_vars)) != 0
        active = go if active is None else active * go
        flat, out_fmt, new_vars = _step(ns, func, loop_vars)
        loop_vars = _select_vars(ns, active, new_vars, loop_vars)
        per_step.append([ns.select(active, o, ns.ops.zeros_like(o)) for o in flat])
    stacked = [ns.ops.stack(*items, axis=0) for items in zip(*per_step)]
    return (stacked if out_fmt is None else _regroup(stacked, out_fmt)[0]), loop_vars


def _while_loop(ns, cond, func, loop_vars, max_iterations=None):
    if max_iterations is None:
        raise MXNetValueError("while_loop: max_iterations should be specified")
    if isinstance(max_iterations, NDArray):
        max_iterations = max_iterations.asscalar()
    try:
        max_iterations = int(max_iterations)
    except (TypeError, ValueError):
        raise MXNetValueError(f"while_loop: max_iterations must be an int, got "
                              f"{max_iterations!r}") from None
    single = ns.is_array(loop_vars)
    loop_vars = [loop_vars] if single else list(loop_vars)
    if not loop_vars:
        raise MXNetValueError("while_loop: loop_vars should contain at least one element")
    _flatten(loop_vars, "while_loop: loop_vars", ns.is_array)
    outputs = []
    if max_iterations > 0:
        first = cond(*loop_vars)
        run = _while_eager if ns.has_value(first) else _while_unrolled
        outputs, loop_vars = run(ns, cond, func, loop_vars, max_iterations, first)
    return outputs, (loop_vars[0] if single else loop_vars)


# -- cond -----------------------------------------------------------------------------------------
def _cond(ns, pred, then_func, else_func):
    if ns.has_value(pred):
        return then_func() if ns.truth(pred, "cond: pred") else else_func()
    then_flat, then_fmt = _flatten(then_func(), "cond: then_func's output", ns.is_array)
    else_flat, _ = _flatten(else_func(), "cond: else_func's output", ns.is_array)
    if len(then_flat) != len(else_flat):
        raise MXNetValueError(f"cond: then_func gives {len(then_flat)} outputs and else_func "
                              f"{len(else_flat)}; both branches must give the same number")
    picked = [ns.select(pred != 0, t, e) for t, e in zip(then_flat, else_flat)]
    return _regroup(picked, then_fmt)[0]


def control_flow_for(ops, symbolic):
    """``foreach``, ``while_loop`` and ``cond`` over the namespace ``ops`` (``mx.sym`` passes
    itself with ``symbolic=True``), as a dict of functions."""
    ns = _Namespace(ops, symbolic)

    def foreach(body, data, init_states, name="foreach"):
        return _foreach(ns, body, data, init_states)

    def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
        return _while_loop(ns, cond, func, loop_vars, max_iterations)

    def cond(pred, then_func, else_func, name="cond"):
        return _cond(ns, pred, then_func, else_func)

    for fn, doc in ((foreach, _FOREACH_DOC), (while_loop, _WHILE_DOC), (cond, _COND_DOC)):
        fn.__doc__ = doc
        fn.__module__ = __name__
    return {"foreach": foreach, "while_loop": while_loop, "cond": cond}


_FOREACH_DOC = """Run ``body`` over axis 0 of ``data``: ``out, states = body(data[i], states)``.

``data`` is an array or a list of arrays (``body`` then gets the list of their rows);
``init_states`` an array or nested lists of them. Returns ``(outputs, states)``: each output of
``body`` stacked over the steps (an array, or lists as ``body`` returned them) and the states of
the last step. Without values (hybridize, Symbols) the loop is unrolled: the length of axis 0
must be known, and the graph has one copy of ``body`` per step."""

_WHILE_DOC = """Run ``func`` while ``cond`` holds, at most ``max_iterations`` times.

``cond(*loop_vars)`` gives a scalar array; ``func(*loop_vars)`` gives ``(step_output,
new_loop_vars)``. Returns ``(outputs, loop_vars)``: the step outputs stacked over
``max_iterations`` rows (rows after the last step are 0; no step at all gives ``[]`` on
NDArrays, as MXNet), and the final loop variables (an array if one was given). Without values
(hybridize, Symbols) the loop is unrolled ``max_iterations`` times with ``cond`` as a mask, so
``func`` also runs (its results discarded) after ``cond`` turned false."""

_COND_DOC = """``then_func()`` if the scalar ``pred`` is nonzero, else ``else_func()``.

Without values (hybridize, Symbols) both branches are computed and each output is selected with
``where``: the branches must give the same number of outputs with matching shapes."""

_NDARRAY = None


def _nd():
    global _NDARRAY
    if _NDARRAY is None:
        from .. import ndarray
        _NDARRAY = control_flow_for(ndarray, symbolic=False)
    return _NDARRAY


def foreach(body, data, init_states, name="foreach"):
    return _nd()["foreach"](body, data, init_states)


def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
    return _nd()["while_loop"](cond, func, loop_vars, max_iterations)


def cond(pred, then_func, else_func, name="cond"):
    return _nd()["cond"](pred, then_func, else_func)


foreach.__doc__, while_loop.__doc__, cond.__doc__ = _FOREACH_DOC, _WHILE_DOC, _COND_DOC


# -- boolean_mask ---------------------------------------------------------------------------------
def boolean_mask(data, index, axis=0, out=None, name=None):
    """The slices of ``data`` along ``axis`` where the 1-D ``index`` is nonzero (MXNet's
    ``contrib.boolean_mask``); the gradient flows back to the selected slices.

    The output's length is the number of nonzero entries of ``index``, known only from its
    values, so this runs eagerly on NDArrays: not in a hybridized block nor in a Symbol graph
    (multiply by the mask, or use ``where``, there)."""
    from .. import ndarray as nd

    for what, a in (("data", data), ("index", index)):
        if type(a) is not NDArray:
            raise MXNetError(
                f"boolean_mask: {what} is a {type(a).__name__} without values; the output's "
                f"shape depends on the values of index, so boolean_mask runs only eagerly on "
                f"NDArrays, not in a hybridized block or a Symbol graph (multiply by the mask or "
                f"use where there)")
    ax = axis % max(data.ndim, 1)
    if index.ndim != 1 or data.ndim < 1 or index.shape[0] != data.shape[ax]:
        raise MXNetValueError(
            f"boolean_mask: Expect: a 1-D index of length data.shape[{axis}] / Actual: "
            f"index.shape={index.shape}, data.shape={data.shape}")
    picked = np.nonzero(index.asnumpy())[0]
    positions = nd.array(picked, ctx=data.context, dtype="int64")
    result = nd.take(data, positions, axis=ax)
    if out is not None:
        result.copyto(out)
        return out
    return result


def symbolic_boolean_mask(data, index, axis=0, name=None, **kwargs):
    """``mx.sym.contrib.boolean_mask``: a graph cannot hold it (see :func:`boolean_mask`)."""
    raise MXNetError("boolean_mask: the output's shape depends on the values of index, which a "
                     "Symbol graph does not have; run boolean_mask eagerly on NDArrays, or "
                     "multiply by the mask / use where in the graph")
