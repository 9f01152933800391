"""``mx.viz``: draw a Symbol graph (``plot_network``) or print its layer table (``print_summary``).

Both follow MXNet 1.x's ``mxnet.visualization``: the same labels, colours and table columns, with
shapes shown without the batch axis. ``plot_network`` needs the optional ``graphviz`` package
(``pip install graphviz``, or ``pip install mxplug[viz]``); ``print_summary`` needs nothing.

Where mxplug differs on purpose: ``#params`` counts the parameters each layer actually has, from
the inferred shapes of its weight/bias/gamma/... inputs (auxiliary states such as BatchNorm's
moving statistics excluded, as in MXNet), where MXNet estimates it from the previous layer's
channel count (and so miscounts e.g. a FullyConnected fed a 4-D input); and the rows list every
data input, where MXNet lists only the graph's first variable.
"""

from __future__ import annotations

import math
import warnings

from .graph.node import topo_nodes
from .graph.symbol import Symbol
from .ops.registry import mxnet_name

__all__ = ["plot_network", "print_summary"]

_WEIGHT_LIKE = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean",
                "_running_var", "_running_mean")
# MXNet's colour map: inputs, weighted layers, activations, batch norm, pooling, reshapes,
# softmax, everything else.
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5")


def _require_graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError("mx.viz.plot_network needs the optional graphviz package: "
                          "pip install graphviz (or pip install mxplug[viz]); rendering to a "
                          "file also needs Graphviz's `dot` program") from None
    return graphviz


def _check_symbol(symbol):
    if not isinstance(symbol, Symbol):
        raise TypeError(f"symbol must be a Symbol, got {type(symbol).__name__}")


def _internal_specs(symbol, shape=None, dtype=None):
    """``{(id(node), output index): shape / dtype}`` for every internal output."""
    internals = symbol.get_internals()
    keys = [(id(n), k) for n, k in internals._outputs]
    shapes = types = None
    if shape is not None:
        _, out_shapes, _ = internals.infer_shape(**shape)
        if out_shapes is None:
            raise ValueError(f"Input shape is incomplete: cannot infer every shape from {shape}")
        shapes = dict(zip(keys, out_shapes))
    if dtype is not None:
        _, out_types, _ = internals.infer_type(**dtype)
        if out_types is None:
            raise ValueError(f"Input type is incomplete: cannot infer every type from {dtype}")
        types = dict(zip(keys, out_types))
    return shapes, types


def _dims(shape):
    return "x".join(str(s) for s in shape[1:])


def _label_and_color(node):
    """MXNet's node label and fill colour for an op node (r"\n": Graphviz's line break)."""
    op, a = node.op.name, node.attrs
    if op == "Convolution":
        stride = "x".join(map(str, a["stride"])) if a.get("stride") else "1"
        return (rf"Convolution\n{'x'.join(map(str, a['kernel']))}/{stride}, {a['num_filter']}",
                _COLORS[1])
    if op == "FullyConnected":
        return rf"FullyConnected\n{a['num_hidden']}", _COLORS[1]
    if op == "BatchNorm":
        return node.name, _COLORS[3]
    if op in ("Activation", "LeakyReLU"):
        return rf"{op}\n{a['act_type']}", _COLORS[2]
    if op == "Pooling":
        stride = "x".join(map(str, a["stride"])) if a.get("stride") else "1"
        return (rf"Pooling\n{a['pool_type']}, {'x'.join(map(str, a['kernel']))}/{stride}",
                _COLORS[4])
    if op in ("Concat", "concat", "Flatten", "flatten", "Reshape", "reshape"):
        return node.name, _COLORS[5]
    if op in ("Softmax", "softmax", "SoftmaxOutput"):
        return node.name, _COLORS[6]
    return node.name, _COLORS[7]


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None,
                 node_attrs=None, hide_weights=True):
    """Draw the graph that computes ``symbol`` as a Graphviz digraph.

    Parameters
    ----------
    symbol : Symbol
        The graph to draw (everything needed to compute ``symbol``).
    title : str, optional
        Name of the digraph (and default file name when rendered).
    save_format : str, optional
        Output format used by ``render``/``view`` (``'pdf'``, ``'png'``, ``'svg'``...).
    shape : dict of str to tuple, optional
        Input shapes; when given, each edge is labelled with the shape it carries (without the
        batch axis).
    dtype : dict of str to dtype, optional
        Input types; when given, each edge label ends with the type it carries, e.g.
        ``(float32)``.
    node_attrs : dict, optional
        Graphviz node attributes overriding the defaults, e.g.
        ``{"shape": "oval", "fixedsize": "false"}``.
    hide_weights : bool, optional
        Leave out variables named like parameters (``*_weight``, ``*_bias``, ``*_gamma``, ...).

    Returns
    -------
    graphviz.Digraph
        Call ``.render()`` or ``.view()`` on it (those need Graphviz's ``dot`` program).

    Raises
    ------
    ImportError
        When the ``graphviz`` package is not installed (``pip install graphviz``).
    ValueError
        When ``shape`` does not determine every shape of the graph.
    """
    graphviz = _require_graphviz()
    _check_symbol(symbol)
    shapes, types = _internal_specs(symbol, shape, dtype)
    nodes = topo_nodes(symbol._outputs)
    names = [n.name for n in nodes]
    repeated = sorted({x for x in names if names.count(x) > 1})
    if repeated:
        warnings.warn("There are multiple variables with the same name in your graph, this may "
                      "result in cyclic graph. Repeated names: " + ",".join(repeated),
                      RuntimeWarning, stacklevel=2)
    base = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034",
            "style": "filled", **(node_attrs or {})}
    dot = graphviz.Digraph(name=title, format=save_format)
    hidden = set()
    for n in nodes:
        attr = dict(base)
        if n.is_variable:
            if n.name.endswith(_WEIGHT_LIKE):
                # Hidden: no node and no edge. Shown: no styled node, but the edge to it makes
                # Graphviz draw a plain oval, as MXNet does.
                if hide_weights:
                    hidden.add(id(n))
                continue
            label, attr["shape"], attr["fillcolor"] = n.name, "oval", _COLORS[0]
        else:
            label, attr["fillcolor"] = _label_and_color(n)
        dot.node(name=n.name, label=label, **attr)
    for n in nodes:
        for inp, k in n.inputs:
            if id(inp) in hidden:
                continue
            attr = {"dir": "back", "arrowtail": "open"}
            label = _dims(shapes[(id(inp), k)]) if shapes is not None else ""
            if types is not None:
                label += f"({types[(id(inp), k)].__name__})"
            if shapes is not None or types is not None:
                attr["label"] = label
            dot.edge(tail_name=n.name, head_name=inp.name, **attr)
    return dot


def _param_inputs(node):
    """Indices of ``node``'s inputs that are its parameters (weight, bias, gamma, ...)."""
    if node.op is None or node.op.params_fn is None:
        return []
    roles = node.op.inputs
    return [i for i, (inp, _) in enumerate(node.inputs)
            if i > 0 and inp.is_variable and i < len(roles) and roles[i] not in node.op.aux_inputs]


def print_summary(symbol, shape=None, line_length=120, positions=(.44, .64, .74, 1.)):
    """Print the layer table of ``symbol``: layer name (type), output shape, #params, previous
    layer, then the total parameter count (MXNet's ``mx.viz.print_summary``).

    Parameters
    ----------
    symbol : Symbol
        The graph to summarise.
    shape : dict of str to tuple, optional
        Input shapes; without them the shape column is empty and only parameters whose shapes
        were declared (``mx.sym.var(..., shape=...)``) are counted.
    line_length : int, optional
        Total width of the printed lines.
    positions : sequence of float or int, optional
        Right edges of the four columns, as fractions of ``line_length`` (when the last is
        <= 1) or as character positions.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        When ``shape`` does not determine every shape of the graph.
    """
    _check_symbol(symbol)
    shapes, _ = _internal_specs(symbol, shape)
    internals = symbol.get_internals()
    arg_shapes = dict(zip(internals.list_arguments(),
                          (internals.infer_shape(**shape) if shape is not None else
                           internals.infer_shape_partial())[0]))
    positions = list(positions)
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def row(fields):
        line = ""
        for field, end in zip(fields, positions):
            line = (line + str(field))[:end]
            line += " " * (end - len(line))
        print(line)

    nodes = topo_nodes(symbol._outputs)
    # MXNet lists the ops and, of the variables, only the graph's first node (the data input
    # in its JSON order, which is this order): not labels, weights or states
    shown = [n for i, n in enumerate(nodes) if not n.is_variable or i == 0]
    shown_ids = {id(n) for n in shown}
    print("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    print("=" * line_length)
    total, counted = 0, set()
    for i, n in enumerate(shown):
        count = 0
        for j in _param_inputs(n):
            inp = n.inputs[j][0]
            s = arg_shapes.get(inp.name)
            if s and id(inp) not in counted:
                counted.add(id(inp))
                count += math.prod(s)
        total += count
        prev = [inp.name for inp, _ in n.inputs if id(inp) in shown_ids]
        out = _dims(shapes[(id(n), 0)]) if shapes is not None else ""
        kind = "null" if n.is_variable else mxnet_name(n.op)  # MXNet's op name: SliceChannel
        row([f"{n.name}({kind})", out, count, prev[0] if prev else ""])
        for p in prev[1:]:
            row(["", "", "", p])
        print(("=" if i == len(shown) - 1 else "_") * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)
