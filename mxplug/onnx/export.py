"""``mx.onnx.export_model``: an mxplug/MXNet Symbol (or a HybridBlock) and its parameters to ONNX.

The graph's shapes and dtypes come from the ops' own ``infer`` rules (run at ``in_shapes``);
each node is then translated by its op's entry in
:data:`~mxplug.onnx.translations.TRANSLATIONS`. Parameters become initializers, the other
variables graph inputs (in ``sym.list_inputs()`` order, as MXNet's exporter takes them), and the
model is checked with ``onnx.checker`` (full check) before it is written atomically
(:mod:`mxplug.onnx.save`).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..base import (
    SUPPORTED_DTYPES,
    MXNetError,
    MXNetNotImplementedError,
    MXNetTypeError,
    MXNetValueError,
)
from ..graph.inference import _declared_shape as _declared_variable_shape
from ..graph.inference import propagate
from ..graph.node import topo_nodes
from ..graph.symbol import Group, Symbol
from .graph import OnnxGraph, onnx_dtype
from .save import check_size, validate, write_model
from .translations import IGNORED_INPUTS, TRANSLATIONS

__all__ = ["export_model", "get_operator_support"]

log = logging.getLogger(__name__)

#: The lowest opset the translations are written for (axes as inputs, per-axis Softmax).
MIN_OPSET = 13
DEFAULT_OPSET = 13


def get_operator_support(opset_version=None):
    """Sorted names of the mxplug/MXNet ops ``export_model`` translates (aliases included)."""
    from ..ops import REGISTRY
    return sorted(name for name, op in REGISTRY.items() if op.name in TRANSLATIONS)


def export_model(sym, params=None, in_shapes=None, in_types=np.float32,
                 onnx_file_path="model.onnx", verbose=False, dynamic=False,
                 dynamic_input_shapes=None, run_shape_inference=False, input_type=None,
                 input_shape=None, large_model=False, *, opset_version=DEFAULT_OPSET):
    """Export a model to an ONNX file (MXNet 1.9's ``mx.onnx.export_model``).

    Parameters
    ----------
    sym : Symbol, str or HybridBlock
        The graph, or the path of a ``*-symbol.json`` file. mxplug extension: a ``HybridBlock``
        (initialised), traced with Symbol inputs named ``data`` (``data0``, ``data1``, ... for
        several inputs), with its own parameters.
    params : dict, list of two dicts, str or None
        ``{name: NDArray or numpy array}`` (``arg:``/``aux:`` key prefixes allowed), MXNet's
        ``[arg_params, aux_params]``, or the path of a parameter file. None for a block (its
        parameters are used).
    in_shapes : list of tuple
        One shape per graph input: the variables not in ``params``, in ``sym.list_inputs()``
        order.
    in_types : dtype or list of dtypes
        Input dtypes (default float32 for all).
    onnx_file_path : str
        Where to write the model (atomically: a temporary file renamed over it).
    verbose : bool
        Log each node as it is translated (``logging.INFO``).
    dynamic : bool
        Make input dimensions dynamic: all of them, or those that ``dynamic_input_shapes``
        gives as ``None`` (or as a name, ``'N'``). ``in_shapes`` still gives the sizes used to
        infer the graph's shapes.
    dynamic_input_shapes : list of tuple, optional
        With ``dynamic=True``: per input, its shape with ``None``/a name for dynamic dimensions.
    run_shape_inference : bool
        Annotate the model with ONNX's shape inference (kept as is if that fails, as in MXNet).
    input_type, input_shape
        MXNet's old names of ``in_types`` and ``in_shapes``.
    large_model : bool
        Write the tensors of a kilobyte or more to ``<onnx_file_path>.data`` next to the model
        (ONNX's external data), as a model of 2 GB or more needs: protobuf cannot hold it in one
        file. ``onnx.load(onnx_file_path)`` and onnxruntime find the data file themselves.
    opset_version : int, keyword-only
        The ONNX opset to target (13 by default, at least 13; MXNet uses the newest the ``onnx``
        package knows).

    Returns
    -------
    str
        ``onnx_file_path``.

    Raises
    ------
    MXNetNotImplementedError
        A node's op (or one of its attribute settings) has no ONNX translation; the message names
        the op and the node.
    MXNetValueError
        ``in_shapes`` missing, malformed or not one per input (a missing parameter shows up
        here), ``in_types`` that are not dtypes, shapes that the graph rejects, an unreadable
        ``sym``/``params``, a model that fails ``onnx.checker``'s full check (the message names
        the node), or one of 2 GB or more without ``large_model=True``.
    """
    if input_type is not None:
        in_types = input_type
    if input_shape is not None:
        in_shapes = input_shape
    import onnx.defs
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= newest:
        raise MXNetValueError(f"export_model: opset_version must be an int in [{MIN_OPSET}, "
                              f"{newest}] (the newest the installed onnx knows), got "
                              f"{opset_version!r}")
    from ..gluon.block import HybridBlock
    if isinstance(sym, HybridBlock):
        sym, block_params = _trace_block(sym, in_shapes, in_types)
        params = block_params if params is None else params
    sym = _as_symbol(sym)
    values = _as_params(params)
    inputs = _graph_inputs(sym, values)
    in_shapes = _check_shapes(sym, inputs, in_shapes, values)
    in_types = _check_types(inputs, in_types)
    model = build_model(sym, values, inputs, in_shapes, in_types, verbose, dynamic,
                        dynamic_input_shapes, opset_version, large_model)
    if run_shape_inference:
        import onnx.shape_inference
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception as e:  # noqa: BLE001  (MXNet keeps the model when inference fails)
            log.info("export_model: ONNX shape inference failed (%s); model kept as is", e)
    write_model(model, onnx_file_path, large_model)
    log.info("export_model: wrote %s (inputs %s)", onnx_file_path, dict(zip(inputs, in_shapes)))
    return onnx_file_path


# -- inputs ---------------------------------------------------------------------------------------
def _as_symbol(sym):
    if isinstance(sym, (str, os.PathLike)):
        from ..graph.serialize import load
        return load(os.fspath(sym))
    if isinstance(sym, Symbol):
        return sym
    raise MXNetTypeError(f"export_model: sym must be a Symbol, the path of a symbol JSON file or "
                         f"a HybridBlock, got {type(sym).__name__}")


def _host(key, value):
    from ..gluon.params_io import _host as host_array
    try:
        return host_array(value)
    except MXNetError:
        raise MXNetTypeError(f"export_model: parameter {key!r} is not a numeric array "
                             f"({type(value).__name__})") from None


def _as_params(params):
    """``{name: numpy array}`` with MXNet's ``arg:``/``aux:`` prefixes removed."""
    if params is None:
        return {}
    if isinstance(params, (str, os.PathLike)):
        from ..gluon import params_io
        params = params_io.load(os.fspath(params))
    if isinstance(params, (list, tuple)):
        if len(params) != 2 or not all(isinstance(p, dict) for p in params):
            raise MXNetTypeError("export_model: params as a list must be [arg_params, "
                                 "aux_params] (two dicts)")
        params = {**params[0], **params[1]}
    if not isinstance(params, dict):
        raise MXNetTypeError(f"export_model: params must be a dict, [arg_params, aux_params] or "
                             f"a file path, got {type(params).__name__}")
    out = {}
    for key, value in params.items():
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        out[name] = _host(key, value)
    return out


def _ignored_variables(sym):
    """Variables read only through slots inference ignores (SoftmaxOutput's label)."""
    used, ignored = set(), set()
    for node in sym._nodes():
        if node.op is None:
            continue
        roles = IGNORED_INPUTS.get(node.op.name, ())
        for (inp, _), role in zip(node.inputs, node.op.inputs):
            if inp.is_variable:
                (ignored if role in roles else used).add(inp.name)
    return ignored - used


def _graph_inputs(sym, values):
    skip = _ignored_variables(sym)
    return [n for n in sym.list_inputs() if n not in values and n not in skip]


def _parameter_slots(sym, names):
    """``{variable: 'slot of op node'}`` for ``names`` that feed an op's parameter slot."""
    out = {}
    for node in sym._nodes():
        if node.op is None or node.op.params_fn is None:
            continue
        for i, ((inp, _), role) in enumerate(zip(node.inputs, node.op.inputs)):
            if i > 0 and inp.is_variable and inp.name in names:
                out.setdefault(inp.name, f"the {role!r} of {node.op.name} {node.name!r}")
    return out


def _declared_shape(sym, name):
    """The ``__shape__`` a variable declares, or None when it declares none or leaves a
    dimension unknown (MXNet writes those as 0)."""
    for node in sym._nodes():
        if node.is_variable and node.name == name:
            try:
                shape = _declared_variable_shape(node)
            except (ValueError, TypeError, SyntaxError):
                raise MXNetValueError(f"export_model: variable {name!r} declares the shape "
                                      f"__shape__={node.user_attrs['__shape__']!r}, which is "
                                      f"not a tuple of ints") from None
            return shape if shape and all(d > 0 for d in shape) else None
    return None


def _is_int(d):
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))


def _shape_list(in_shapes, inputs):
    """``in_shapes`` as a list of int tuples (one bare shape accepted), else MXNetValueError
    naming ``inputs`` (a description of the graph inputs) and what was given."""
    if isinstance(in_shapes, tuple) and in_shapes and all(_is_int(d) for d in in_shapes):
        return [tuple(int(d) for d in in_shapes)]          # a single shape given bare
    problem = None
    if isinstance(in_shapes, (str, bytes, dict)) or not hasattr(in_shapes, "__iter__"):
        problem = f"it is of type {type(in_shapes).__name__}"
    else:
        in_shapes = list(in_shapes)
        for i, shape in enumerate(in_shapes):
            if not isinstance(shape, (tuple, list)) or not all(_is_int(d) for d in shape):
                problem = f"in_shapes[{i}] is {shape!r}"
                if in_shapes and all(_is_int(d) for d in in_shapes):
                    problem += f" (one shape goes in a list, [{tuple(in_shapes)}], or a tuple)"
                break
    if problem:
        raise MXNetValueError(f"export_model: in_shapes must be a list of shapes (tuples of "
                              f"ints), one per graph input {inputs}; {problem}, got "
                              f"in_shapes={in_shapes!r}")
    return [tuple(int(d) for d in shape) for shape in in_shapes]


def _check_shapes(sym, inputs, in_shapes, values):
    if in_shapes is None:
        declared = [_declared_shape(sym, n) for n in inputs]
        if inputs and any(s is None for s in declared):
            raise MXNetValueError(f"export_model: in_shapes is required: one shape per graph "
                                  f"input {inputs}")
        in_shapes = declared
    in_shapes = _shape_list(in_shapes, inputs)
    if len(in_shapes) != len(inputs):
        params = _parameter_slots(sym, set(inputs))
        hint = ""
        if params:
            hint = "; missing parameters? " + ", ".join(
                f"{name!r} (no value in params; it is {where})" for name, where in params.items())
        raise MXNetValueError(f"export_model: the graph's inputs (variables not in params) are "
                              f"{inputs}, but in_shapes gives {len(in_shapes)} shape(s) "
                              f"{in_shapes}{hint}")
    for name, shape in zip(inputs, in_shapes):
        if any(d <= 0 for d in shape):
            raise MXNetValueError(f"export_model: in_shapes for {name!r} must be positive sizes, "
                                  f"got {shape} (mark dynamic axes with dynamic=True)")
    return in_shapes


def _check_types(inputs, in_types):
    """``in_types`` (one dtype, or one per input) as NumPy dtypes ONNX and mxplug both have."""
    given = in_types
    types = list(in_types) if isinstance(in_types, (list, tuple)) else [in_types] * len(inputs)
    if len(types) != len(inputs):
        raise MXNetValueError(f"export_model: in_types gives {len(types)} dtype(s) "
                              f"{given!r} for the graph inputs {inputs}")
    out = []
    for i, t in enumerate(types):
        try:
            dtype = None if t is None else np.dtype(t)
        except (TypeError, ValueError):
            dtype = None
        if dtype is None or dtype.name not in SUPPORTED_DTYPES:
            which = f"in_types[{i}]" if isinstance(given, (list, tuple)) else "in_types"
            raise MXNetValueError(f"export_model: {which} must be a dtype mxplug supports "
                                  f"({', '.join(SUPPORTED_DTYPES)}), got {t!r}, for the graph "
                                  f"inputs {inputs} (in_types={given!r})")
        onnx_dtype(dtype)
        out.append(dtype)
    return out


def _trace_block(block, in_shapes, in_types):
    """A HybridBlock's graph (traced with Symbol inputs) and its parameter values."""
    from .. import autograd
    from ..gluon.parameter import DeferredInitializationError
    from ..graph.symbol import var
    from ..ndarray import zeros
    if in_shapes is None:
        raise MXNetValueError("export_model: in_shapes is required to export a HybridBlock")
    what = f"of {block.name} (its forward's arguments)"
    shapes = _shape_list(in_shapes, what)
    names = ["data"] if len(shapes) == 1 else [f"data{i}" for i in range(len(shapes))]
    types = _check_types(names, in_types)
    params = list(block.collect_params().values())
    try:
        values = {p.name: p.data(p.list_ctx()[0]) for p in params}
    except DeferredInitializationError:   # shapes unknown until a forward: run one
        with autograd.pause():
            block(*[zeros(s, dtype=t) for s, t in zip(shapes, types)])
        values = {p.name: p.data(p.list_ctx()[0]) for p in params}
    try:
        with autograd.pause():
            out = block(*[var(n) for n in names])
    except (AttributeError, TypeError, MXNetError) as e:
        # a forward written for NDArrays only (x.reshape, x[1:3]): take the graph hybridize
        # traced instead, when there is one
        cache = getattr(getattr(block, "_cached_op", None), "_cache", None)
        if not cache:
            raise MXNetValueError(
                f"export_model: {block.name} cannot be called with Symbols ({e}); call "
                f"block.hybridize() and run it forward once, then export") from None
        graph = block._traced_graph()
        return graph.symbol, {**values, **graph.constants}
    if isinstance(out, (list, tuple)):
        out = Group(list(out))
    if not isinstance(out, Symbol):
        raise MXNetTypeError(f"export_model: tracing {block.name} with Symbols returned "
                             f"{type(out).__name__}, not a Symbol")
    return out, values


# -- the graph ------------------------------------------------------------------------------------
def _ignored_shapes(sym, specs):
    """Shapes for the variables of ignored slots (labels), from their consumer's data shape."""
    out = {}
    for node in sym._nodes():
        rules = IGNORED_INPUTS.get(node.op.name, {}) if node.op is not None else {}
        data = specs.get(id(node.inputs[0][0])) if node.inputs else None
        for (inp, _), role in zip(node.inputs, node.op.inputs if node.op else ()):
            if role in rules and inp.is_variable and specs.get(id(inp)) is None and data:
                out[inp.name] = tuple(rules[role](data[node.inputs[0][1]].shape, node.attrs))
    return out


def _infer(sym, shapes, dtypes):
    var_specs, specs, nodes = propagate(sym, shapes, dtypes)
    labels = _ignored_shapes(sym, specs)
    if labels:
        var_specs, specs, nodes = propagate(sym, {**shapes, **labels}, dtypes)
    for node in nodes:
        if specs.get(id(node)) is None:
            what = "variable" if node.is_variable else f"{node.op.name} node"
            raise MXNetValueError(f"export_model: cannot infer the shape of {what} "
                                  f"{node.name!r} from in_shapes {shapes} (made at "
                                  f"{node.source})")
    return specs


def _dynamic_dims(in_shapes, dynamic, dynamic_input_shapes):
    """Per input, the set of dynamic axes (and their ONNX dims: None or a name)."""
    if not dynamic:
        if dynamic_input_shapes is not None:
            raise MXNetValueError("export_model: dynamic_input_shapes is given; set "
                                  "dynamic=True to use it")
        return [list(s) for s in in_shapes]
    if dynamic_input_shapes is None:
        return [[None] * len(s) for s in in_shapes]
    if len(dynamic_input_shapes) != len(in_shapes) or any(
            len(d) != len(s) for d, s in zip(dynamic_input_shapes, in_shapes)):
        raise MXNetValueError(f"export_model: dynamic_input_shapes {dynamic_input_shapes} must "
                              f"have one shape per input, each of in_shapes' ndim {in_shapes}")
    return [[d if d is None or isinstance(d, str) else int(d) for d in dims]
            for dims in dynamic_input_shapes]


def _alt_specs(sym, inputs, in_shapes, onnx_dims, shapes, dtypes):
    """Specs with the dynamic input sizes doubled (or only the batch axis when the graph
    admits no other change); None when the graph takes no other size."""
    def perturbed(batch_only):
        alt = dict(shapes)
        for name, shape, dims in zip(inputs, in_shapes, onnx_dims):
            alt[name] = tuple(2 * n if not isinstance(d, int) and (i == 0 or not batch_only)
                              else n for i, (n, d) in enumerate(zip(shape, dims)))
        return alt
    for batch_only in (False, True):
        try:
            return _infer(sym, perturbed(batch_only), dtypes)
        except MXNetError:
            continue
    return None


def build_model(sym, values, inputs, in_shapes, in_types, verbose=False, dynamic=False,
                dynamic_input_shapes=None, opset_version=DEFAULT_OPSET, large_model=False):
    """The checked ``onnx.ModelProto`` of ``sym`` (no file written)."""
    from onnx import helper, numpy_helper

    from .. import __mxplug_version__

    shapes = {**dict(zip(inputs, in_shapes)), **{k: v.shape for k, v in values.items()}}
    dtypes = {**dict(zip(inputs, in_types)), **{k: v.dtype for k, v in values.items()}}
    variables = {n.name for n in sym._nodes() if n.is_variable}
    shapes = {k: v for k, v in shapes.items() if k in variables}
    dtypes = {k: v for k, v in dtypes.items() if k in variables}
    try:
        specs = _infer(sym, shapes, dtypes)
    except MXNetError as e:
        raise type(e)(f"export_model: the graph rejects in_shapes "
                      f"{dict(zip(inputs, in_shapes))} with the given params: {e}") from None
    onnx_dims = _dynamic_dims(in_shapes, dynamic, dynamic_input_shapes)
    alt = _alt_specs(sym, inputs, in_shapes, onnx_dims, shapes, dtypes) if dynamic else None
    g = OnnxGraph(opset_version, specs, alt)

    names = {}                       # (id(node), k) -> ONNX value name
    graph_inputs = []
    for node in topo_nodes(sym._outputs):
        if node.is_variable:
            names[(id(node), 0)] = g.claim(node.name)
    for name, dims, dt in zip(inputs, onnx_dims, in_types):
        graph_inputs.append(helper.make_tensor_value_info(name, onnx_dtype(dt), dims))
    for node in topo_nodes(sym._outputs):
        if node.is_variable:
            continue
        _translate(g, node, names, verbose)
    outputs = []
    for node, k in sym._outputs:
        name, spec = names[(id(node), k)], g.spec(node, k)
        g.current = None if node.is_variable else node
        if node.is_variable or name in {o.name for o in outputs}:
            name = g.add("Identity", [name], [g.claim(f"{node.name}_out")], node.name)
        dims = [None] * spec.ndim if dynamic else list(spec.shape)
        outputs.append(helper.make_tensor_value_info(name, onnx_dtype(spec.dtype), dims))
    used = {i for n in g.nodes for i in n.input}
    initializers = [numpy_helper.from_array(np.ascontiguousarray(values[name]), name)
                    for name in values if name in used and name in variables]
    graph = helper.make_graph(g.nodes, sym.name or "mxplug", graph_inputs, outputs,
                              initializer=initializers + g.initializers)
    opsets = [helper.make_opsetid("", opset_version)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="mxplug",
                              producer_version=__mxplug_version__)
    model.ir_version = max(7, helper.find_min_ir_version_for(opsets))
    size = model.ByteSize()          # a pass over every tensor: taken once
    if not large_model:              # the size error first: it is what the user must fix
        check_size(size)
    validate(model, g.origin, f" (inputs {dict(zip(inputs, in_shapes))}, in_types "
                              f"{[str(t) for t in in_types]})", size)
    return model


def _translate(g, node, names, verbose):
    fn = TRANSLATIONS.get(node.op.name)
    if fn is None:
        raise MXNetNotImplementedError(
            f"export_model: no ONNX translation for op {node.op.name!r} (node {node.name!r}, "
            f"made at {node.source}); supported ops: mx.onnx.get_operator_support()")
    n_out = len(g.spec_tuple(node))
    out = [g.claim(node.name if n_out == 1 else f"{node.name}{k}") for k in range(n_out)]
    args = node.arguments([names[(id(i), k)] for i, k in node.inputs])
    if verbose:
        log.info("export_model: %s (%s) <- %s", node.name, node.op.name, args)
    g.current = node
    fn(g, node, args, out)
    g.current = None
    for k, name in enumerate(out):
        names[(id(node), k)] = name

