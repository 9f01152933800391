"""``SymbolBlock``: a HybridBlock made from a Symbol graph (``SymbolBlock.imports`` reads an
``export``-ed model back)."""

from __future__ import annotations

import numpy as np

from ..base import MXNetValueError
from ..graph.inference import _declared_dtype, _declared_shape, propagate
from ..graph.node import Node, infer_node, topo_nodes
from ..graph.passes import remove_amp_casts
from ..graph.serialize import from_json, to_json
from ..graph.serialize import load as load_symbol
from ..graph.symbol import Group, Symbol, var
from ..ndarray import NDArray
from ..ndarray.mxnet_format import dump, type_flag
from ..ops.dispatch import apply
from .block import HybridBlock, _building, _is_symbolic
from .nested import _flatten, _regroup
from .parameter import DeferredInitializationError, ParameterDict

__all__ = ["SymbolBlock", "export_block"]


def _common_prefix(names):
    """The longest common prefix ending with ``_`` (keys never become empty)."""
    if len(names) < 2:
        return ""
    prefix = names[0]
    for name in names[1:]:
        i = 0
        while i < min(len(prefix), len(name)) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix[:prefix.rfind("_") + 1]


class SymbolBlock(HybridBlock):
    """A block computing ``outputs`` from the variables ``inputs``; every other variable of the
    graph is a parameter (auxiliary states get ``grad_req='null'``).

    Parameters
    ----------
    outputs : Symbol or list of Symbol
        The graph's outputs.
    inputs : Symbol or list of Symbol
        Its input variables (``mx.sym.var('data')``).
    params : ParameterDict, optional
        Parameters to use for the graph's variables of the same names.
    """

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix="", params=None)
        self._params = ParameterDict("", params)
        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._sb_in_fmt = _flatten(inputs)
        outs, self._sb_out_fmt = _flatten(outputs)
        out = Group(outs) if len(outs) > 1 else outs[0]
        input_names = []
        for s in syms:
            node = s._outputs[0][0] if isinstance(s, Symbol) and len(s._outputs) == 1 else None
            if node is None or not node.is_variable:
                raise MXNetValueError(f"Input symbols must be variable, but {s} is an output of "
                                      f"operators")
            input_names.append(node.name)
        self._input_names = input_names
        variables = {n.name: n for n in topo_nodes(out._outputs) if n.is_variable}
        aux = set(out.list_auxiliary_states())
        for name, node in variables.items():
            if name in input_names:
                continue
            if node.user_attrs.get("__storage_type__", "0") != "0":  # as MXNet's assertion
                raise AssertionError(f"SymbolBlock doesn't support Parameter '{name}' because "
                                     f"its storage type is 'row_sparse' or 'csr' (mxplug's "
                                     f"arrays are dense)")
            kwargs = {"allow_deferred_init": True}
            # MXNet writes "(32, 0)" (0: unknown until the first forward) and type codes ("0")
            shape, dtype = _declared_shape(node) or None, _declared_dtype(node)
            if shape is not None:
                kwargs["shape"] = shape
            if dtype is not None:
                kwargs["dtype"] = dtype
            if node.user_attrs.get("__init__"):
                kwargs["init"] = node.user_attrs["__init__"]
            if name in aux:
                kwargs["grad_req"] = "null"
            self._params.get(name, **kwargs)
        self._symbol = out
        self._cached_graph = syms, out
        cut = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {k[cut:]: v for k, v in self._params.items()}
        self._sym_op = None

    def __repr__(self):
        syms, out = self._cached_graph
        return f"{type(self).__name__}(\n{out} : {len(syms)} -> {len(out.list_outputs())}\n)"

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False,
                ignore_extra=False):
        """Load a model written by :meth:`HybridBlock.export` (mxplug's or MXNet 1.x's).

        Parameters
        ----------
        symbol_file : str
            ``path-symbol.json``.
        input_names : str or list of str
            Names of the input variables (``'data'``).
        param_file : str, optional
            ``path-0000.params``: MXNet's binary format (as MXNet and mxplug export) or an
            mxplug ``.npz`` file; ``arg:``/``aux:`` key prefixes are dropped. Without it the
            parameters are left to ``initialize``.
        ctx : Context or list of Context, optional
            Where to load the parameters.

        Returns
        -------
        SymbolBlock
        """
        symbol = load_symbol(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [var(n) for n in input_names]
        ret = SymbolBlock(symbol, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra,
                                      cast_dtype=True, dtype_source="saved")
        return ret

    def hybridize(self, active=True, **kwargs):
        # always a graph already; keep the flag for summary()/repr only
        self._active = False

    def forward(self, x, *args):
        return self._dispatch((x,) + args)

    def _dispatch(self, args):
        flat = _flatten(list(args))[0]
        if len(flat) != len(self._input_names):
            raise MXNetValueError(f"SymbolBlock: expected {len(self._input_names)} inputs "
                                  f"{self._input_names}, got {len(flat)}")
        if _is_symbolic(flat):
            return self._regroup_out(self._compose(flat))
        ctx = next(a.context for a in flat if isinstance(a, NDArray))
        feed = dict(zip(self._input_names, flat))
        try:
            for name, p in self._params.items():
                feed[name] = p.data(ctx)
        except DeferredInitializationError:
            self.infer_shape(*flat)
            self._finish_all_deferred()
            for name, p in self._params.items():
                feed[name] = p.data(ctx)
        names = self._symbol.list_inputs()
        if _building(flat):
            out = self._interpret(feed)
        else:
            if self._sym_op is None:
                from ..graph.cached_op import CachedOp
                self._sym_op = CachedOp(self._symbol, name="SymbolBlock")
            out = self._sym_op(*[feed[n] for n in names])
        return self._regroup_out(out)

    def _regroup_out(self, out):
        if isinstance(self._sb_out_fmt, int):
            return out
        return _regroup(list(out), self._sb_out_fmt)[0]

    def infer_shape(self, *args):
        shapes = {n: tuple(a.shape) for n, a in zip(self._input_names, args)}
        dtypes = {n: np.dtype(a.dtype) for n, a in zip(self._input_names, args)}
        for name, p in self._params.items():
            if p._data is not None:
                shapes[name], dtypes[name] = p._data[0].shape, np.dtype(p._data[0].dtype)
        var_specs = propagate(self._symbol, shapes, dtypes)[0]
        for name, p in self._params.items():
            spec = var_specs.get(name)
            if spec is not None and p._data is None:
                p.shape = spec.shape

    def _interpret(self, feed):
        """Run the graph op by op (on stand-ins while an enclosing block is traced)."""
        values = {}
        for node in topo_nodes(self._symbol._outputs):
            if node.is_variable:
                values[id(node)] = (feed[node.name],)
                continue
            ins = [values[id(i)][k] for i, k in node.inputs]
            res = apply(node.op, *node.arguments(ins), **node.attrs)
            values[id(node)] = res if isinstance(res, tuple) else (res,)
        outs = [values[id(n)][k] for n, k in self._symbol._outputs]
        return outs[0] if len(outs) == 1 else outs

    def _compose(self, flat):
        """The graph with its input variables replaced by the given Symbols."""
        given = {n: s._outputs[0] for n, s in zip(self._input_names, flat)}
        params = {name: p.var()._outputs[0] for name, p in self._params.items()}
        new = {}
        for node in topo_nodes(self._symbol._outputs):
            if node.is_variable:
                new[id(node)] = given.get(node.name) or params.get(node.name) or (node, 0)
                continue
            inputs = []
            for i, k in node.inputs:
                src = new[id(i)]
                inputs.append(src if i.is_variable else (src[0], k))
            clone = Node(node.op, node.attrs, inputs, node.name, node.source, None,
                         node.user_attrs, node.consts)
            clone.specs = infer_node(clone)
            new[id(node)] = (clone, 0)
        outs = [(new[id(n)][0], k) for n, k in self._symbol._outputs]
        out = Symbol(outs)
        return out if len(outs) == 1 else list(out)


def _name_nodes_as_mxnet(block, symbol, data_names):
    """Give the traced graph's op nodes the names MXNet's export writes (``resnetv10_conv0_fwd``,
    from the blocks' name scopes), which a trace does not record (it names nodes by op:
    ``convolution0``): the block is run once more on Symbols and, where that graph has the same
    ops in the same order, its names are copied over. Outputs, ``get_internals()`` keys and ONNX
    output names then read as MXNet's. Anything else (a forward that only traces, extra or
    missing nodes) keeps the trace's names."""
    traced = [n for n in topo_nodes(symbol._outputs) if not n.is_variable]
    try:
        inputs = [var(n) for n in data_names]
        fmt = block._in_fmt
        if len(_flatten(_regroup(list(inputs), fmt)[0])[0]) != len(inputs):
            return
        out = block(*_regroup(list(inputs), fmt)[0])
        syms = [o for o in _flatten(out)[0] if isinstance(o, Symbol)]
        named = [n for n in topo_nodes(Group(syms)._outputs) if not n.is_variable]
    except Exception:  # noqa: BLE001 - the names are a nicety; the traced graph is exported
        return
    if len(named) != len(traced) or any(a.op.name != b.op.name or a.attrs != b.attrs
                                        for a, b in zip(traced, named)):
        return
    if len({n.name for n in named}) != len(named):
        return
    for node, ref in zip(traced, named):
        node.name = ref.name


def run_op_hook(block, args):
    """``HybridBlock.register_op_hook``: replay the graph of ``block``'s call with ``args`` op
    by op, passing each op's outputs (and, with ``monitor_all``, inputs) to the callback under
    the names MXNet's graph has (``dense0_fwd_output``, ``dense0_fwd_weight``)."""
    from .. import autograd

    callback, monitor_all = block._op_hook
    bound = block._cached_op._bound(args)
    graph = bound.graph
    feed = dict(zip(bound.names, [a for a in args if isinstance(a, NDArray)] + bound.constants))
    symbol = from_json(to_json(graph.symbol))  # a copy, renamed below
    params = {p.name for p in block._cached_params}
    _name_nodes_as_mxnet(block, symbol, [n for n in graph.input_names
                                         if n is not None and n not in params])
    values = {}
    mode = autograd.train_mode if bound.training else autograd.predict_mode
    with autograd.pause(), mode():
        for node in topo_nodes(symbol._outputs):
            if node.is_variable:
                values[id(node)] = (feed[node.name],)
                continue
            ins = [values[id(i)][k] for i, k in node.inputs]
            if monitor_all:
                roles = () if node.op.variadic else node.op.inputs
                for i, a in enumerate(ins):
                    role = roles[i] if i < len(roles) else f"input{i}"
                    callback(f"{node.name}_{role}", node.op.name, a)
            res = apply(node.op, *node.arguments(ins), **node.attrs)
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            values[id(node)] = res
            for k, r in enumerate(res):
                callback(f"{node.name}_{'output' if len(res) == 1 else f'output{k}'}",
                         node.op.name, r)


def export_block(block, path, epoch=0, remove_amp_cast=True):
    """``HybridBlock.export``: the traced graph as MXNet JSON, the parameters in MXNet's binary
    ``nd.save`` format with ``arg:``/``aux:`` keys (what MXNet 1.x writes, so that MXNet's
    ``SymbolBlock.imports`` reads mxplug's exports). Returns ``(symbol file, params file)``."""
    graph = block._traced_graph()
    symbol = graph.symbol
    if remove_amp_cast:  # the float32 graph, as MXNet exports it
        symbol = Symbol(remove_amp_casts(symbol._outputs))
    symbol = from_json(to_json(symbol))  # a copy: the attributes below are edited
    by_name = {p.name: p for p in block._cached_params}
    data_names = {n for n in graph.input_names if n is not None and n not in by_name}
    _name_nodes_as_mxnet(block, symbol, [n for n in graph.input_names if n in data_names])
    for node in symbol._nodes():
        if node.is_variable and node.name in data_names:
            node.user_attrs.pop("__shape__", None)  # any batch size
            node.user_attrs.pop("__dtype__", None)
            continue
        if node.is_variable and node.name in by_name:
            init = by_name[node.name].init  # lets SymbolBlock.imports initialise afresh
            init = init.dumps() if hasattr(init, "dumps") else init
            if isinstance(init, str):
                node.user_attrs["__init__"] = init
        flag = type_flag(node.user_attrs.get("__dtype__", "")) if node.is_variable else None
        if flag is not None:  # MXNet parses __dtype__ as its integer type code ("0": float32)
            node.user_attrs["__dtype__"] = str(flag)
    sym_file, params_file = f"{path}-symbol.json", f"{path}-{epoch:04d}.params"
    symbol.save(sym_file, remove_amp_cast=False)  # the caller chose whether to remove them
    arg_names = set(symbol.list_arguments())
    aux_names = set(symbol.list_auxiliary_states())
    values = {p.name: p._reduce() for p in block._cached_params}
    values.update(graph.constants)  # arrays the forward made itself
    arrays = {}
    for name, value in values.items():
        if name in aux_names:
            arrays[f"aux:{name}"] = value
        elif name in arg_names:
            arrays[f"arg:{name}"] = value
    dump(params_file, list(arrays.values()), list(arrays))
    return sym_file, params_file
