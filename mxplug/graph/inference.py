"""``infer_shape`` / ``infer_type`` over a graph, from the ops' own rules.

Forward, each node's output specs come from its op's ``infer`` rule. Backward, a variable that
feeds an op's parameter slot (``fc1_weight``) gets its shape from the op's ``params`` rule
(``weight = (num_hidden, in_units)``), so ``simple_bind(data=(32, 784))`` knows every shape, as
in MXNet; and an elementwise op whose inputs are partly unknown takes the known ones' shape for
the others and its output (MXNet's symbols add same-shape arrays). A 0 in a given or declared
shape is an unknown dimension: it flows through the rules (``infer_shape_partial`` reports it,
as MXNet does) while the parameter rules fill what they can.
"""

from __future__ import annotations

import ast

import numpy as np

from ..base import MXNetError, MXNetValueError, dtype_of
from ..ops.infer import Spec
from .fusion import FUSIBLE
from .node import infer_node, topo_nodes

#: Ops whose array inputs and output all have one shape (MXNet's elementwise symbols).
_SAME_SHAPE = FUSIBLE | {"Activation", "elemwise_add", "elemwise_sub", "elemwise_mul",
                         "elemwise_div", "identity", "_copy", "Dropout"}


#: Ops between a parameter variable and its layer that keep its shape (MXNet's
#: ``cast(weight)`` before a float16 convolution still gets the weight's shape).
_KEEPS_SHAPE = ("amp_cast", "cast", "copy", "stop_gradient")


def _partial(spec):
    """A spec with an unknown (0) dimension."""
    return spec is not None and 0 in spec.shape


#: Creation ops whose ``shape`` may hold unknown (0) dims that consumers fill in, as MXNet's
#: shape inference does (Gluon RNN layers export begin states as ``_zeros(shape=(1, 0, H))``).
_FILLED_CREATION = frozenset({"zeros", "ones", "full", "empty"})


def _fillable(node):
    return node.op is not None and node.op.name in _FILLED_CREATION and not node.inputs and \
        0 in tuple(node.attrs.get("shape") or ())


def _filled(shape, target):
    """``shape`` with its unknown (0) dims taken from ``target`` (None if they disagree)."""
    if len(shape) != len(target) or any(d and t and d != t for d, t in zip(shape, target)):
        return None
    return tuple(t if d == 0 else d for d, t in zip(shape, target))


def _declared_shape(node):
    text = node.user_attrs.get("__shape__")
    return tuple(int(s) for s in ast.literal_eval(text)) if text else None


def _declared_dtype(node):
    text = node.user_attrs.get("__dtype__")
    return None if text is None else declared_dtype(text, node.name)


def declared_dtype(text, name="variable"):
    """The dtype of a ``__dtype__`` attribute: MXNet's type code ("0" = float32), or a name."""
    try:
        code = int(text)
    except ValueError:
        return dtype_of(text)
    from ..ndarray.mxnet_format import TYPE_FLAGS  # only graphs loaded from JSON get here
    flag = TYPE_FLAGS.get(code)
    if flag is None:
        raise MXNetValueError(f"variable {name!r}: unknown MXNet type code __dtype__={text!r}")
    try:
        return dtype_of(flag)
    except MXNetError:
        raise MXNetValueError(f"variable {name!r}: MXNet dtype {flag} (__dtype__={text!r}) "
                              f"is not supported by mxplug") from None


def _merge(name, declared, found, node):
    """``declared`` and ``found`` made one, dimension by dimension (0 = unknown)."""
    if declared is None:
        return found
    if len(declared) != len(found) or any(d and f and d != f for d, f in zip(declared, found)):
        raise MXNetValueError(f"infer_shape: Expect: {name}.shape == {declared} (0 = any) / "
                              f"Actual: {found} (needed by {node.name!r} made at {node.source})")
    return tuple(d or f for d, f in zip(declared, found))


def _given(sym, args, kwargs):
    names = sym.list_arguments()
    if args and kwargs:
        raise MXNetValueError("infer: give the known inputs either by position or by name, "
                              "not both (as MXNet)")
    if len(args) > len(names):
        raise MXNetValueError(f"infer: {len(args)} positional inputs for {len(names)} "
                              f"arguments {names}")
    given = dict(zip(names, args))
    unknown = set(kwargs) - set(sym.list_inputs())
    if unknown:
        raise MXNetValueError(f"infer: unknown input names {sorted(unknown)}; inputs are "
                              f"{sym.list_inputs()}")
    given.update(kwargs)
    return {k: v for k, v in given.items() if v is not None}


def propagate(sym, shapes=None, dtypes=None):
    """Fill ``node.specs`` of every node it can; returns ``{variable name: Spec or None}``.

    Works on copies of the specs (the graph's own specs are left as built). Variables are
    nodes: two of one name (two layers both named ``fc``) get their own shapes, as in MXNet;
    ``shapes`` and ``dtypes`` given by name apply to every variable of that name."""
    nodes = topo_nodes(sym._outputs)
    specs = {}  # node id -> tuple of Spec | None
    vs = {}  # variable node id -> Spec or None
    shapes, dtypes = shapes or {}, dtypes or {}

    def dtype_of(var, in_specs):
        return np.dtype(dtypes.get(var.name) or _declared_dtype(var) or _first_dtype(in_specs))

    def settle(var, shape, node, in_specs):
        """Give variable ``var`` the shape a rule found (merged with what it declared)."""
        shape = _merge(var.name, vs[id(var)].shape if vs.get(id(var))
                       else _declared_shape(var), tuple(shape), node)
        vs[id(var)] = Spec(shape, dtype_of(var, in_specs))
        specs[id(var)] = (vs[id(var)],)

    for n in nodes:
        if n.is_variable:
            shape = shapes.get(n.name)
            shape = tuple(shape) if shape is not None else _declared_shape(n)
            dtype = np.dtype(dtypes.get(n.name) or _declared_dtype(n) or "float32")
            vs[id(n)] = Spec(shape, dtype) if shape is not None and shape else None
    targets = {}  # (node id, output) -> the shape its consumers imply (0 = unknown)
    filled = {}  # fillable creation node id -> the shape its consumers gave its 0 dims

    def fill(node, shape):
        """Complete a fillable creation node's unknown dims from ``shape``; whether it did."""
        spec = specs.get(id(node))
        new = _filled(tuple(node.attrs["shape"]), tuple(shape)) if spec else None
        if new is None or filled.get(id(node)) == new:
            return False
        filled[id(node)] = new
        specs[id(node)] = (Spec(new, spec[0].dtype),)
        return True

    for _ in range(8):  # shapes found late (parameters, elementwise peers) unlock earlier nodes
        changed = False
        for n in nodes:
            if n.is_variable:
                specs[id(n)] = (vs[id(n)],) if vs[id(n)] else None
                continue
            if id(n) in filled:
                continue
            if _fillable(n) and targets.get((id(n), 0)) is not None and specs.get(id(n)):
                changed |= fill(n, targets[(id(n), 0)])
                if id(n) in filled:
                    continue
            ins = [specs.get(id(i)) for i, _ in n.inputs]
            in_specs = [s[k] if s else None for s, (_, k) in zip(ins, n.inputs)]
            rule = n.op.params_fn
            if rule is not None and any(s is None or _partial(s) for s in in_specs):
                found = rule(*n.arguments(in_specs), **n.attrs) or {}
                for idx, shape in found.items():
                    if shape is None or idx >= len(n.inputs):  # no_bias: no bias input
                        continue
                    inp, _ = n.inputs[idx]
                    direct = True
                    while inp.op is not None and inp.op.name in _KEEPS_SHAPE:
                        inp, direct = inp.inputs[0][0], False
                    known = vs.get(id(inp)) if inp.is_variable else None
                    shape = tuple(shape)
                    if _fillable(inp) and fill(inp, shape):  # an RNN's zeros begin state
                        in_specs[idx] = specs[id(inp)][0] if direct else in_specs[idx]
                        changed = True
                        continue
                    if inp.is_variable and (known is None or _partial(known)) and \
                            (known is None or shape != known.shape):
                        settle(inp, shape, n, in_specs)
                        if direct:  # else the cast between them is inferred next round
                            in_specs[idx] = vs[id(inp)]
                        changed = True
            if n.op.name in _SAME_SHAPE and any(s is None for s in in_specs):
                known = {s.shape for s in in_specs if s is not None and not _partial(s)}
                if len(known) == 1:
                    shape = known.pop()
                    for idx, ((inp, k), s) in enumerate(zip(n.inputs, in_specs)):
                        if s is None and inp.is_variable:
                            settle(inp, shape, n, in_specs)
                            in_specs[idx] = vs[id(inp)]
                            changed = True
                        elif s is None and targets.get((id(inp), k)) != shape:
                            targets[(id(inp), k)] = shape  # its producer may solve for it
                            changed = True
                    if any(s is None for s in in_specs) and specs.get(id(n)) is None:
                        dt = _first_dtype(in_specs)
                        specs[id(n)] = (Spec(shape, dt),) * n.num_outputs
                        changed = True
            if n.op.name in _SAME_SHAPE and in_specs and all(s is not None for s in in_specs):
                for idx, shape in _unify([s.shape for s in in_specs]).items():
                    inp, k = n.inputs[idx]
                    if inp.is_variable:
                        settle(inp, shape, n, in_specs)
                        in_specs[idx] = vs[id(inp)]
                        changed = True
                    elif targets.get((id(inp), k)) != shape:
                        targets[(id(inp), k)] = shape
                        changed = True
            for k in range(n.num_outputs):
                target = targets.get((id(n), k))
                if target is not None and all(s is not None for s in in_specs):
                    for idx, shape in _solve(n, in_specs, k, target).items():
                        inp = n.inputs[idx][0]
                        if inp.is_variable:
                            settle(inp, shape, n, in_specs)
                            in_specs[idx] = vs[id(inp)]
                            changed = True
                        elif fill(inp, shape):  # a begin state through a user's cell
                            in_specs[idx] = specs[id(inp)][0]
                            changed = True
            if all(s is not None for s in in_specs):
                new = _infer(n, in_specs)
                if new is not None and new != specs.get(id(n)):
                    specs[id(n)] = new
                    changed = True
        if not changed:
            break
    var_specs = {}
    for n in nodes:
        if n.is_variable and var_specs.get(n.name) is None:
            var_specs[n.name] = vs[id(n)]
    return var_specs, specs, nodes


#: Samplers whose ``shape`` MXNet infers when it is not given (``mx.sym.random.normal() + X``
#: draws X's shape of samples): random ops with a ``shape`` attribute and no inputs.
def _unshaped_random(node):
    op = node.op
    return op is not None and op.random and "shape" in op.attrs and not node.inputs and \
        not tuple(node.attrs.get("shape") or ())


def _peer_shapes(nodes, specs):
    """``{id(unshaped sampler): shape}``: the shape of the first known operand met going down
    from the sampler through same-shape (elementwise) ops, as MXNet's shape inference carries
    it back (``relu(normal()) * 2 + X``). Operands computed from any unshaped sampler do not
    count: their inferred shapes are the sampler's default."""
    consumers, tainted = {}, set()
    for n in nodes:
        for i, _ in n.inputs:
            consumers.setdefault(id(i), []).append(n)
        if _unshaped_random(n) or any(id(i) in tainted for i, _ in n.inputs):
            tainted.add(id(n))
    found = {}
    for sampler in (n for n in nodes if _unshaped_random(n)):
        chain, frontier = {id(sampler)}, [sampler]
        while frontier and id(sampler) not in found:
            for c in consumers.get(id(frontier.pop()), ()):
                if c.op is None or c.op.name not in _SAME_SHAPE or id(c) in chain:
                    continue
                peer = next((specs[id(b)][k] for b, k in c.inputs if id(b) not in tainted
                             and specs.get(id(b)) and specs[id(b)][k] is not None
                             and not _partial(specs[id(b)][k])), None)
                if peer is not None:
                    found[id(sampler)] = tuple(peer.shape)
                    break
                chain.add(id(c))
                frontier.append(c)
    return found


def fill_creation_shapes(symbol, shapes, dtypes=None):
    """``symbol`` with the unknown (0) dims of its ``zeros``/``ones``/``full`` nodes filled in
    for these input shapes, as inference finds them, and samplers given no ``shape`` drawing
    the shape of their elementwise peer, as MXNet infers it (a new Symbol; ``symbol`` itself
    when there is no such node). Binding runs this: the nodes make their arrays from their
    attributes."""
    nodes = topo_nodes(symbol._outputs)
    if not any(_fillable(n) or _unshaped_random(n) for n in nodes):
        return symbol
    from .node import Node
    from .passes import rewrite
    from .symbol import Symbol
    _, specs, _ = propagate(symbol, shapes, dtypes)
    peers = _peer_shapes(nodes, specs)

    def visit(node, ins, lookup):
        if id(node) in peers:
            return Node(node.op, {**node.attrs, "shape": peers[id(node)]}, (), node.name,
                        node.source, None, node.user_attrs)
        spec = specs.get(id(node)) if _fillable(node) else None
        if not spec or _partial(spec[0]):
            return None
        return Node(node.op, {**node.attrs, "shape": tuple(spec[0].shape)}, (), node.name,
                    node.source, spec, node.user_attrs)

    return Symbol(rewrite(symbol._outputs, visit))


def _unify(shapes):
    """Same-shape op inputs with unknown (0) dims: ``{input index: shape}`` for each input a
    peer's known dim completes (MXNet's elementwise symbols take one shape; a 1 beside a
    larger dim broadcasts)."""
    if len({len(sh) for sh in shapes}) != 1 or not any(0 in sh for sh in shapes):
        return {}
    merged = []
    for dims in zip(*shapes):
        known = {d for d in dims if d} - {1} or {d for d in dims if d}
        merged.append(known.pop() if len(known) == 1 else 0)
    out = {}
    for i, sh in enumerate(shapes):
        new = tuple(m if d == 0 else d for d, m in zip(sh, merged))
        if new != sh:
            out[i] = new
    return out


def _solve(node, in_specs, k, target):
    """The unknown (0) dims of ``node``'s variable inputs (and ``zeros(shape=(0, H))``-style
    inputs) that make its output ``k`` the ``target`` its consumers imply (``fc(a) + c`` gives
    ``a`` its batch size): MXNet runs each
    op's shape rule backwards; mxplug's rules run forwards, so this probes them. Dims that move
    an output dim alone are solved one by one; dims that only move together (``concat``'s
    batch dims) as one. Returns ``{input index: completed shape}``."""
    unknown = [(i, a) for i, s in enumerate(in_specs)
               if node.inputs[i][0].is_variable or _fillable(node.inputs[i][0])
               for a, d in enumerate(s.shape) if d == 0]
    if not unknown:
        return {}

    def out(values):
        specs = list(in_specs)
        for i in {i for i, _ in unknown}:
            shape = [values.get((i, a), d) for a, d in enumerate(specs[i].shape)]
            specs[i] = Spec(tuple(shape), specs[i].dtype)
        try:
            return tuple(infer_node(node, specs)[k].shape)
        except MXNetError:
            return None

    base = next((b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256)
                 if out(dict.fromkeys(unknown, b)) is not None), None)
    if base is None:
        return {}
    at_base = out(dict.fromkeys(unknown, base))
    if len(at_base) != len(target):
        return {}
    solo = [p for p in unknown if out({**dict.fromkeys(unknown, base), p: base + 1}) is not None]
    groups = [[p] for p in solo] + [[p for p in unknown if p not in solo]]
    found = {}
    for group in [g for g in groups if g]:
        def f(x, group=group):
            return out({**dict.fromkeys(unknown, base), **dict.fromkeys(group, x)})
        moved = f(base + 1)
        dims = [j for j in range(len(target)) if moved is not None and moved[j] != at_base[j]
                and target[j]]
        if not dims:
            continue
        j, want = dims[0], target[dims[0]]
        hi = base + 1
        while (f(hi) is None or f(hi)[j] < want) and hi < 1 << 31:
            hi *= 2
        lo = 1  # smallest x whose output dim reaches ``want`` (shape rules do not decrease)
        while lo < hi:
            mid = (lo + hi) // 2
            r = f(mid)
            if r is not None and r[j] >= want:
                hi = mid
            else:
                lo = mid + 1
        r = f(lo)
        if r is not None and r[j] == want:
            found.update(dict.fromkeys(group, lo))
    shapes = {}
    for (i, a), x in found.items():
        shape = list(shapes.get(i, in_specs[i].shape))
        shape[a] = x
        shapes[i] = tuple(shape)
    return shapes


def _infer(node, in_specs):
    """``infer_node``, except that inputs with unknown (0) dims may not fit a rule: then the
    node stays unknown instead of raising."""
    if not any(_partial(s) for s in in_specs):
        return infer_node(node, in_specs)
    try:
        return infer_node(node, in_specs)
    except MXNetError:
        return None


def _first_dtype(specs):
    return next((s.dtype for s in specs if s is not None), np.dtype("float32"))


def infer_shape(sym, args, kwargs, partial):
    """MXNet's ``(arg_shapes, out_shapes, aux_shapes)``; unknown ones are ``()`` when ``partial``
    and make the whole result ``(None, None, None)`` otherwise."""
    _, specs, _ = propagate(sym, _given(sym, args, kwargs))
    return _collect(sym, specs, partial, lambda s: tuple(s.shape), ())


def infer_type(sym, args, kwargs, partial=False):
    """MXNet's ``(arg_types, out_types, aux_types)`` as NumPy scalar types.

    Types flow from the given and declared ones: an op's output takes its ``dtype`` attribute
    (``cast``, ``zeros``) or its first typed input's type, an untyped variable the type of the
    data it is used with; where shapes are known the ops' own rules decide. What stays unknown
    is None with ``partial``, and makes the result ``(None, None, None)`` without, as in MXNet."""
    dtypes = {k: np.dtype(v) for k, v in _given(sym, args, kwargs).items()}
    nodes = topo_nodes(sym._outputs)
    for n in nodes:
        if n.is_variable and n.name not in dtypes and _declared_dtype(n) is not None:
            dtypes[n.name] = _declared_dtype(n)
    types = {}
    for _ in range(8):
        before = dict(dtypes)
        for n in nodes:
            if n.is_variable:
                types[id(n)] = (dtypes.get(n.name),)
                continue
            ins = [types[id(i)][k] for i, k in n.inputs]
            known = [t for t in ins if t is not None]
            for (i, _), t in zip(n.inputs, ins):
                if t is None and i.is_variable and known:
                    dtypes[i.name] = known[0]
            rule = n.op.dtype_rule
            if rule is not None and ins and all(t is not None for t in ins):
                types[id(n)] = tuple(np.dtype(t) for t in rule(ins, n.attrs))
                continue
            dt = n.attrs.get("dtype")
            dt = np.dtype(dt) if dt is not None else (known[0] if known else None)
            types[id(n)] = (dt,) * n.num_outputs
        if dtypes == before:
            break
    _, specs, _ = propagate(sym, None, dtypes)
    for n in nodes:
        if not n.is_variable and specs.get(id(n)) is not None:
            types[id(n)] = tuple(s.dtype for s in specs[id(n)])

    def pick(names):
        return [dtypes[x].type if dtypes.get(x) is not None else None for x in names]
    result = (pick(sym.list_arguments()),
              [types[id(n)][k].type if types[id(n)][k] is not None else None
               for n, k in sym._outputs],
              pick(sym.list_auxiliary_states()))
    if not partial and any(t is None for part in result for t in part):
        return None, None, None
    return result


def _collect(sym, specs, partial, field, missing):
    aux_names = set(sym.list_auxiliary_states())
    variables = [n for n in topo_nodes(sym._outputs) if n.is_variable]
    args = [(specs.get(id(n)) or (None,))[0] for n in variables if n.name not in aux_names]
    auxs = [(specs.get(id(n)) or (None,))[0] for n in variables if n.name in aux_names]
    outs = []
    for node, k in sym._outputs:
        s = specs.get(id(node))
        outs.append(s[k] if s else None)
    if not partial and any(s is None or _partial(s) for s in args + outs + auxs):
        return None, None, None
    def conv(lst):
        return [field(s) if s is not None else missing for s in lst]
    return conv(args), conv(outs), conv(auxs)
