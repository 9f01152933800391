"""Symbol JSON: MXNet 1.x's format, read and written.

``{"nodes": [{"op": "null"|<op>, "name": ..., "attrs": {...}, "inputs": [[node, output, 0]]}],
"arg_nodes": [...], "node_row_ptr": [...], "heads": [[node, output, 0]], "attrs": {...}}``.
Attributes are strings, as MXNet writes them; loading parses them with each op's attribute
parsers (no ``eval``, no pickle) and rejects unknown ops and attributes with the node named.
Scalar operands (``x + 2``) are written as MXNet's ``_plus_scalar``-style ops, so files load in
MXNet too, and those ops are read back into the registry's binary ops.
"""

from __future__ import annotations

import json

from ..base import MXNetError, atomic_write
from ..ops import REGISTRY
from ..ops.attrs import Any
from ..ops.registry import MXPLUG_NAMES, mxnet_name
from .node import Node, hidden_key, infer_node, topo_nodes
from .symbol import Symbol

__all__ = ["to_json", "from_json", "save", "load", "load_json"]

MXNET_VERSION = 10901
#: (registry op, scalar on the right?) <-> MXNet's scalar op names.
SCALAR_OPS = {
    ("add", True): "_plus_scalar", ("add", False): "_plus_scalar",
    ("subtract", True): "_minus_scalar", ("subtract", False): "_rminus_scalar",
    ("multiply", True): "_mul_scalar", ("multiply", False): "_mul_scalar",
    ("divide", True): "_div_scalar", ("divide", False): "_rdiv_scalar",
    ("modulo", True): "_mod_scalar", ("modulo", False): "_rmod_scalar",
    ("power", True): "_power_scalar", ("power", False): "_rpower_scalar",
    ("maximum", True): "_maximum_scalar", ("minimum", True): "_minimum_scalar",
    ("equal", True): "_equal_scalar", ("not_equal", True): "_not_equal_scalar",
    ("greater", True): "_greater_scalar", ("greater_equal", True): "_greater_equal_scalar",
    ("lesser", True): "_lesser_scalar", ("lesser_equal", True): "_lesser_equal_scalar",
}
_FROM_SCALAR = {}
for (_op, _right), _name in SCALAR_OPS.items():
    _FROM_SCALAR.setdefault(_name, (_op, _right))


def op_attr_texts(node) -> dict:
    """The op parameters of ``node`` that differ from the defaults, as MXNet's strings (not a
    random op's generator state, ``key``/``counter``, nor a creation op's ``ctx``: both belong
    to the run, not the graph)."""
    op = node.op
    skip = ("key", "counter", "ctx") if op.random else ("ctx",)
    return {k: op.attrs.get(k, _UNDECLARED).text(v) for k, v in node.attrs.items()
            if v is not None and v != op.defaults.get(k) and k not in skip}


_UNDECLARED = Any()  # an attribute an op keeps without declaring it (Custom's keyword arguments)


def to_json(sym: Symbol) -> str:
    nodes = topo_nodes(sym._outputs)
    index = {id(n): i for i, n in enumerate(nodes)}
    out, row_ptr = [], [0]
    for n in nodes:
        entry = {"op": "null" if n.is_variable else mxnet_name(n.op), "name": n.name}
        attrs = {} if n.is_variable else op_attr_texts(n)
        for k in _MXNET_REQUIRED.get(entry["op"].lstrip("_"), ()):
            if k not in attrs and n.attrs.get(k) is not None:
                attrs[k] = n.op.attrs[k].text(n.attrs[k])
        if n.consts:
            (pos, value), = n.consts.items()
            entry["op"] = SCALAR_OPS.get((n.op.name, pos == 1)) or _no_scalar(n)
            attrs["scalar"] = repr(float(value))
        attrs.update(n.user_attrs)
        if not n.is_variable and n.op.name in _NUM_ARGS_OPS:
            attrs["num_args"] = str(len(n.inputs))
        if attrs:
            entry["attrs"] = attrs
        entry["inputs"] = [[index[id(i)], k, 0] for i, k in n.inputs]
        out.append(entry)
        row_ptr.append(row_ptr[-1] + n.num_outputs)
    doc = {"nodes": out, "arg_nodes": [i for i, n in enumerate(nodes) if n.is_variable],
           "node_row_ptr": row_ptr,
           "heads": [[index[id(n)], k, 0] for n, k in sym._outputs],
           "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}
    return json.dumps(doc, indent=2)


def _no_scalar(n):
    raise MXNetError(f"tojson: node {n.name!r} applies {n.op.name} to a Python scalar, which "
                     f"MXNet's JSON cannot express; use a variable instead")


def from_json(text: str, source="<json>") -> Symbol:
    try:
        doc = json.loads(text)
        entries, heads = doc["nodes"], doc["heads"]
    except (ValueError, KeyError, TypeError) as e:
        raise MXNetError(f"{source}: not a symbol JSON document ({e})") from None
    legacy = "mxnet_version" not in (doc.get("attrs") or {})  # written before MXNet 0.9
    nodes = []
    for i, e in enumerate(entries):
        name, op_name = e.get("name", f"node{i}"), e.get("op")
        attrs = dict(e.get("attrs") or e.get("param") or {})
        old_user, input_mults = _legacy_attrs(e.get("attr") or {})
        user = {**{k: v for k, v in attrs.items() if k.startswith("__")}, **old_user}
        where = f"{source}: node {i} ({name!r})"
        try:
            inputs = [(nodes[j], k) for j, k, *_ in e.get("inputs", [])]
        except (IndexError, ValueError, TypeError):
            raise MXNetError(f"{where}: bad inputs {e.get('inputs')!r}") from None
        for (inp, _) in inputs:  # 0.8's "weight_lr_mult" on a layer: its weight's lr_mult
            for key, value in input_mults.get(inp.name[len(name) + 1:], {}).items():
                if inp.is_variable and inp.name.startswith(name + "_"):
                    inp.user_attrs[key] = value
        if op_name == "null":
            nodes.append(Node(None, {}, (), name, where, None, {**attrs, **user}))
            continue
        consts = {}
        if op_name in _FROM_SCALAR:
            op_name, right = _FROM_SCALAR[op_name]
            consts = {1 if right else 0: float(attrs.pop("scalar"))}
        op = REGISTRY.get(op_name) or REGISTRY.get(MXPLUG_NAMES.get(op_name, ""))
        if op is None:
            raise MXNetError(f"{where}: unknown op {op_name!r} (not in mxplug's registry)")
        plain = {k: v for k, v in attrs.items() if not k.startswith("__")}
        ignored = {k for k in plain if k not in op.attrs and k in _MXNET_ONLY_ATTRS}
        for k in ignored:
            plain.pop(k)
        try:
            parsed = op.parse_attrs(plain) if plain else dict(op.defaults)
        except MXNetError as e:
            raise type(e)(f"{where}: {e}") from None
        if legacy and not op.variadic:  # before 0.9, auxiliary states were not listed
            for role in op.inputs[len(inputs):]:
                if role in op.aux_inputs:
                    inputs.append((Node(None, {}, (), f"{name}_{role}", where, None, user), 0))
        node = Node(op, parsed, inputs, name, where, None, user, consts)
        if not op.variadic and len(inputs) > len(op.inputs):
            raise MXNetError(f"{where}: {op_name} takes at most {len(op.inputs)} inputs, the file "
                             f"gives {len(inputs)}")
        node.specs = infer_node(node)
        nodes.append(node)
    try:
        return Symbol([(nodes[j], k) for j, k, *_ in heads])
    except (IndexError, ValueError, TypeError):
        raise MXNetError(f"{source}: bad heads {heads!r}") from None


def _legacy_attrs(attr):
    """MXNet 0.8's ``"attr"`` (user attributes, hidden keys without underscores) as
    ``(user attributes, {input role: {"__lr_mult__": ...}})`` (``weight_lr_mult``)."""
    user, per_input = {}, {}
    for k, v in attr.items():
        for mult in ("lr_mult", "wd_mult"):
            if k.endswith("_" + mult):
                per_input.setdefault(k[:-len(mult) - 1], {})[f"__{mult}__"] = str(v)
                break
        else:
            user[hidden_key(k)] = str(v)
    return user, per_input


#: Attributes MXNet writes that change nothing in mxplug (cuDNN and workspace tuning, layouts
#: that are the default, storage types).
_MXNET_ONLY_ATTRS = {"cudnn_tune", "cudnn_off", "workspace", "layout", "__storage_type__",
                     "num_args"}
#: Ops MXNet's JSON parser wants ``num_args`` on (mxplug counts the inputs).
_NUM_ARGS_OPS = ("concat", "stack", "add_n", "UpSampling")
#: Parameters MXNet 1.9.1 marks *required* (its JSON parser rejects a node without them), by the
#: op name written to JSON (without leading underscores): written even when they equal
#: mxplug's default.
_MXNET_REQUIRED = {
    "Activation": ("act_type",), "Cast": ("dtype",), "Convolution": ("kernel", "num_filter"),
    "Convolution_v1": ("kernel", "num_filter"), "Deconvolution": ("kernel", "num_filter"),
    "Embedding": ("input_dim", "output_dim"), "FullyConnected": ("num_hidden",),
    "GridGenerator": ("transform_type",), "LRN": ("nsize",), "Pad": ("mode", "pad_width"),
    "RNN": ("state_size", "num_layers", "mode"), "ROIPooling": ("pooled_size", "spatial_scale"),
    "SliceChannel": ("num_outputs",), "SpatialTransformer": ("transform_type", "sampler_type"),
    "UpSampling": ("scale", "sample_type"), "adam_update": ("lr",), "amp_cast": ("dtype",),
    "amp_multicast": ("num_outputs",), "cast": ("dtype",), "cast_storage": ("stype",),
    "clip": ("a_min", "a_max"), "col2im": ("output_size", "kernel"), "crop": ("begin", "end"),
    "depth_to_space": ("block_size",), "expand_dims": ("axis",), "flip": ("axis",),
    "ftml_update": ("lr", "t"), "ftrl_update": ("lr",), "im2col": ("kernel",),
    "lamb_update_phase1": ("t", "wd"), "lamb_update_phase2": ("lr",),
    "mp_lamb_update_phase1": ("t", "wd"), "mp_lamb_update_phase2": ("lr",),
    "mp_nag_mom_update": ("lr",), "mp_sgd_mom_update": ("lr",), "mp_sgd_update": ("lr",),
    "multi_lars": ("eta", "eps"), "multi_mp_sgd_mom_update": ("lrs", "wds"),
    "multi_mp_sgd_update": ("lrs", "wds"), "multi_sgd_mom_update": ("lrs", "wds"),
    "multi_sgd_update": ("lrs", "wds"), "multi_sum_sq": ("num_arrays",), "nag_mom_update": ("lr",),
    "one_hot": ("depth",), "pad": ("mode", "pad_width"), "random_randint": ("low", "high"),
    "repeat": ("repeats",), "reset_arrays": ("num_arrays",), "reverse": ("axis",),
    "rmsprop_update": ("lr",), "rmspropalex_update": ("lr",), "scatter_nd": ("shape",),
    "sgd_mom_update": ("lr",), "sgd_update": ("lr",), "signsgd_update": ("lr",),
    "signum_update": ("lr",), "slice": ("begin", "end"), "slice_axis": ("axis", "begin", "end"),
    "space_to_depth": ("block_size",), "split": ("num_outputs",), "tile": ("reps",),
}


def save(sym: Symbol, fname) -> None:
    """Write ``sym`` as JSON atomically (a temporary file renamed over ``fname``)."""
    data = to_json(sym).encode()
    atomic_write(fname, lambda f: f.write(data), "symbol file")


def load(fname) -> Symbol:
    """Read a symbol JSON file (mxplug's or MXNet's)."""
    try:
        with open(fname) as f:
            text = f.read()
    except OSError as e:
        raise MXNetError(f"load: cannot read {fname}: {e}") from None
    return from_json(text, source=str(fname))


def load_json(json_str) -> Symbol:
    return from_json(json_str)
