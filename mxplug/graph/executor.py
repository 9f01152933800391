"""Executor: a Symbol bound to arrays on a context (``sym.bind`` / ``sym.simple_bind``).

``forward`` runs the graph's nodes in order through ``apply`` — the same dispatch, kernels and
backends as ``mx.nd``. ``backward`` differentiates with the ops' VJP rules (recorded during a
training forward), writing into ``grad_dict`` per ``grad_req``. Auxiliary states (BatchNorm's
moving statistics) are updated in place by training forwards, as in MXNet.
"""

from __future__ import annotations

from .. import autograd
from ..base import MXNetError, MXNetValueError
from ..context import Context
from ..ndarray import NDArray
from ..ndarray import zeros as _nd_zeros
from .node import topo_nodes

__all__ = ["Executor", "simple_bind"]


def _as_dict(names, values, what):
    if values is None:
        return {}
    if isinstance(values, dict):
        unknown = set(values) - set(names)
        if unknown:
            raise MXNetValueError(f"bind: unknown {what} names {sorted(unknown)}; expected "
                                  f"{names}")
        return dict(values)
    values = list(values)
    if len(values) != len(names):
        raise MXNetValueError(f"bind: {len(values)} {what} given for {len(names)} names {names}")
    return dict(zip(names, values))


class Executor:
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
        self._grad_req = {n: grad_req.get(n, "null") for n in arg_names}
        self.grad_dict = _as_dict(arg_names, args_grad, "args_grad")
        for n, req in self._grad_req.items():
            if req != "null" and n not in self.grad_dict:
                if args_grad is not None:
                    self._grad_req[n] = "null"  # MXNet: no gradient array, no gradient
                else:
                    self.grad_dict[n] = _nd_zeros(self.arg_dict[n].shape, ctx=self.arg_dict[n].ctx,
                                                  dtype=self.arg_dict[n].dtype)
        self._nodes = topo_nodes(symbol._outputs)
        self.outputs = []
        self._recorded = False

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

    def _context_of(self, node):
        group = node.user_attrs.get("ctx_group")
        return self._group2ctx.get(group, self._ctx) if group else self._ctx

    def forward(self, is_train=False, **kwargs):
        """Run the graph; ``kwargs`` are copied into the bound argument arrays first."""
        for name, value in kwargs.items():
            if name not in self.arg_dict:
                raise MXNetValueError(f"forward: unknown argument {name!r}")
            self.arg_dict[name][:] = value
        needs_grad = is_train and any(r != "null" for r in self._grad_req.values())
        if needs_grad:
            variables = [self.arg_dict[n] for n, r in self._grad_req.items() if r != "null"]
            autograd.mark_variables(variables, [self.grad_dict[n] for n, r in
                                                self._grad_req.items() if r != "null"],
                                    [r for r in self._grad_req.values() if r != "null"])
        scope = autograd.record(train_mode=True) if needs_grad else (
            autograd.train_mode() if is_train else autograd.predict_mode())
        with scope:
            values = self._run()
        self.outputs = [values[(id(n), k)] for n, k in self._symbol._outputs]
        self._recorded = needs_grad
        return self.outputs

    def _run(self):
        values = {}
        for node in self._nodes:
            if node.is_variable:
                arr = self.arg_dict.get(node.name)
                if arr is None:
                    arr = self.aux_dict[node.name]
                values[(id(node), 0)] = arr
                continue
            ctx = self._context_of(node)
            ins = []
            for inp, k in node.inputs:
                v = values[(id(inp), k)]
                ins.append(v.as_in_context(ctx) if v.context != ctx else v)
            from ..ops import apply
            try:
                out = apply(node.op, *node.arguments(ins), **node.attrs)
            except MXNetError as e:
                raise type(e)(f"{e} [node {node.name!r} made at {node.source}]") from None
            outs = out if isinstance(out, tuple) else (out,)
            for k, o in enumerate(outs):
                values[(id(node), k)] = o
        return values

    def backward(self, out_grads=None, is_train=True):
        if not self._recorded:
            raise MXNetError("backward: call forward(is_train=True) first (with some grad_req "
                             "other than 'null')")
        heads = self.outputs
        if out_grads is not None:
            out_grads = [out_grads] if isinstance(out_grads, NDArray) else list(out_grads)
        autograd.backward(heads, out_grads, train_mode=is_train)
        self._recorded = False

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
        """A new executor for new input shapes, sharing the parameters that keep their shape."""
        new = simple_bind(self._symbol, self._ctx, self._grad_req, None, self._group2ctx,
                          shapes, self.arg_dict)
        return new


def simple_bind(symbol, ctx, grad_req, type_dict, group2ctx, shapes, reuse=None):
    """Allocate every argument, gradient and auxiliary array from the given input shapes."""
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    if arg_shapes is None:
        known = symbol.infer_shape_partial(**shapes)[0]
        unknown = [n for n, s in zip(symbol.list_arguments(), known) if not s]
        raise MXNetValueError(f"simple_bind: cannot infer the shapes of {unknown} from {shapes}")
    arg_types, _, aux_types = symbol.infer_type(**(type_dict or {}))
    ctx = Context(ctx)
    args = {}
    for name, shape, dtype in zip(symbol.list_arguments(), arg_shapes, arg_types):
        old = (reuse or {}).get(name)
        args[name] = old if old is not None and old.shape == tuple(shape) else _nd_zeros(
            shape, ctx=ctx, dtype=dtype)
    aux = {n: _nd_zeros(s, ctx=ctx, dtype=t)
           for n, s, t in zip(symbol.list_auxiliary_states(), aux_shapes, aux_types)}
    return Executor(symbol, ctx, args, None, grad_req, aux, group2ctx)
