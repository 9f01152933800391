"""Elementwise fusion: trees of elementwise ops become one ``_fused_elemwise`` node.

A fused node carries a *program*: a tuple of instructions ``(op_name, args, attrs)`` in
evaluation order, the last one being the node's output. Each argument is ``("i", k)`` (input
``k`` of the fused node), ``("t", j)`` (the result of instruction ``j``) or ``("c", value)`` (a
Python scalar). Programs are plain literals, so they hash (CSE) and round-trip through JSON.

How a fused node runs:

- NumPy: each instruction is a ufunc call with ``out=``; a chain writes every step into the
  output buffer itself, and a tree needs one scratch buffer per pending side branch
  (:func:`run_numpy`), which a bound executor keeps between steps;
- OpenCL: one kernel rendered from the program (``mxplug/backends/opencl/fused_kernels.py``);
- any other backend: the ops' generic bodies over ``xp``, one after the other.

The gradient replays the original ops' VJP rules over the recomputed intermediates, so fusion
is kept when gradients are needed (see :func:`_fused_vjp`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..ops import REGISTRY, Sample, apply, defop
from ..ops.attrs import Any
from ..ops.elemwise import relu_numpy
from ..ops.infer import Spec
from .node import Node, ctx_group_of, topo_nodes

__all__ = ["fuse_elementwise", "run_numpy", "compile_numpy", "NP_OUT", "FUSIBLE", "FUSED"]

_F32, _F64 = np.dtype("float32"), np.dtype("float64")


# -- NumPy out= bodies: fn(o, *operands, **attrs) writes into o -----------------------------------
def _ufunc(uf):
    return lambda o, *xs: uf(*xs, out=o)


def _seq(*steps):
    """A body of several in-place steps on ``o`` after a first ufunc reading the operands."""
    first, rest = steps[0], steps[1:]

    def fn(o, x):
        first(x, out=o)
        for uf, *args in rest:
            uf(*[o if a is None else a for a in args], out=o)
    return fn


def _softsign(o, x):
    np.abs(x, out=o)
    o += 1
    np.divide(x, o, out=o)


def _round(o, x):  # half away from zero
    np.abs(x, out=o)
    o += 0.5
    np.floor(o, out=o)
    np.copysign(o, x, out=o)


def _erf(o, x):
    try:
        from scipy.special import erf
    except ImportError:
        np.copyto(o, REGISTRY["erf"].kernels["numpy"][0](None, x))
        return
    erf(x, out=o)


_RAD = math.pi / 180
#: (body, safe when ``o`` is one of the operands). The set of fusible ops is this table's keys.
NP_OUT = {
    **{name: (_ufunc(uf), True) for name, uf in (
        ("negative", np.negative), ("abs", np.absolute), ("sign", np.sign),
        ("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc), ("fix", np.trunc),
        ("rint", np.rint), ("square", np.square), ("sqrt", np.sqrt), ("cbrt", np.cbrt),
        ("exp", np.exp), ("expm1", np.expm1), ("log", np.log), ("log2", np.log2),
        ("log10", np.log10), ("log1p", np.log1p), ("sin", np.sin), ("cos", np.cos),
        ("tan", np.tan), ("arcsin", np.arcsin), ("arccos", np.arccos), ("arctan", np.arctan),
        ("sinh", np.sinh), ("cosh", np.cosh), ("tanh", np.tanh), ("arcsinh", np.arcsinh),
        ("arccosh", np.arccosh), ("arctanh", np.arctanh), ("isnan", np.isnan),
        ("isinf", np.isinf), ("isfinite", np.isfinite),
        ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
        ("divide", np.divide), ("power", np.power), ("maximum", np.maximum),
        ("minimum", np.minimum), ("hypot", np.hypot), ("arctan2", np.arctan2),
        ("modulo", np.remainder), ("equal", np.equal), ("not_equal", np.not_equal),
        ("greater", np.greater), ("greater_equal", np.greater_equal), ("lesser", np.less),
        ("lesser_equal", np.less_equal), ("logical_and", np.logical_and),
        ("logical_or", np.logical_or), ("logical_xor", np.logical_xor),
    )},
    "logical_not": (lambda o, x: np.equal(x, 0, out=o), True),
    "relu": (lambda o, x: relu_numpy(x, out=o), True),
    "reciprocal": (lambda o, x: np.divide(1, x, out=o), True),
    "degrees": (lambda o, x: np.multiply(x, 1 / _RAD, out=o), True),
    "radians": (lambda o, x: np.multiply(x, _RAD, out=o), True),
    "rsqrt": (_seq(np.sqrt, (np.divide, 1, None)), True),
    "rcbrt": (_seq(np.cbrt, (np.divide, 1, None)), True),
    "sigmoid": (_seq(np.negative, (np.exp, None), (np.add, None, 1), (np.divide, 1, None)), True),
    "softrelu": (lambda o, x: np.logaddexp(x, 0, out=o), True),
    "erf": (_erf, True),
    "clip": (lambda o, x, a_min, a_max: np.clip(x, a_min, a_max, out=o), True),
    "hard_sigmoid": (lambda o, x, alpha, beta: (np.multiply(x, alpha, out=o),
                                                np.add(o, beta, out=o),
                                                np.clip(o, 0, 1, out=o)), True),
    "softsign": (_softsign, False),
    "round": (_round, False),
}
FUSIBLE = frozenset(NP_OUT)


# -- program evaluation ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _allocate(program):
    """Where each instruction writes: ``-1`` (the output buffer) or a scratch index.

    The *spine* (the root, then, while the op may write over its operand, its first temporary
    operand, ...) lives in the output buffer; side branches take scratch buffers, reused once
    their value is consumed. Returns (destinations, number of scratch buffers)."""
    spine, j = set(), len(program) - 1
    while True:
        spine.add(j)
        name, args, _ = program[j]
        tmps = [a[1] for a in args if a[0] == "t"]
        if not tmps or not NP_OUT[name][1]:
            break
        j = tmps[0]
    dest, free, nscratch = [], [], 0
    for j, (name, args, _) in enumerate(program):
        dying = [dest[a[1]] for a in args if a[0] == "t" and dest[a[1]] >= 0]
        if j in spine:
            d = -1
        elif dying and NP_OUT[name][1]:
            d = dying[0]
        elif free:
            d = free.pop()
        else:
            d, nscratch = nscratch, nscratch + 1
        free.extend(b for b in dying if b != d)
        dest.append(d)
    return tuple(dest), nscratch


def run_numpy(program, inputs, out=None, scratch=None):
    """Evaluate ``program`` over NumPy ``inputs`` into ``out`` (allocated when None).

    ``scratch``: a list the caller keeps between calls; the side-branch buffers are made on the
    first call and reused after, so a steady-state call allocates nothing."""
    if out is None:
        spec = _out_spec(program, tuple((x.shape, x.dtype) if isinstance(x, np.ndarray)
                                        else (np.shape(x), np.asarray(x).dtype) for x in inputs))
        out = np.empty(spec.shape, spec.dtype)
    return compile_numpy(program)(out, inputs, [] if scratch is None else scratch)


@functools.lru_cache(maxsize=512)
def compile_numpy(program):
    """``fn(out, inputs, scratch)`` evaluating ``program`` (see :func:`run_numpy`), with every
    per-instruction decision (body, destination, operand sources, attributes) made once: a
    bound graph calls it each step, and interpreting the program there cost ~5 us per node."""
    dest, nscratch = _allocate(program)
    steps = []
    for (name, args, attrs), d in zip(program, dest):
        srcs = tuple((0, v) if kind == "i" else (1, dest[v]) if kind == "t" else (2, v)
                     for kind, v in args)
        steps.append((NP_OUT[name][0], d, srcs, dict(attrs)))

    def run(out, inputs, scratch):
        if len(scratch) < nscratch or (nscratch and (scratch[0].shape != out.shape
                                                     or scratch[0].dtype != out.dtype)):
            scratch[:] = [np.empty_like(out) for _ in range(nscratch)]
        bufs = [*scratch[:nscratch], out]  # index -1 is out
        for body, d, srcs, attrs in steps:
            body(bufs[d], *[inputs[v] if k == 0 else bufs[v] if k == 1 else v
                            for k, v in srcs], **attrs)
        return out
    return run


def _run_generic(xp, program, inputs):
    """Any backend: the ops' generic bodies one after the other (allocating temporaries)."""
    vals = []
    for name, args, attrs in program:
        ops = [inputs[v] if kind == "i" else vals[v] if kind == "t" else v for kind, v in args]
        vals.append(REGISTRY[name].generic(xp, *ops, **dict(attrs)))
    return vals[-1]


@functools.lru_cache(maxsize=1024)
def _out_spec(program, shapes_dtypes):
    """The output spec of ``program`` on inputs of these (shape, dtype): inferred once."""
    return _infer_program(program, [Spec(shape, dt) for shape, dt in shapes_dtypes])


def _infer_program(program, specs):
    vals = []
    for name, args, attrs in program:
        ops = [specs[v] if kind == "i" else vals[v] if kind == "t" else v for kind, v in args]
        vals.append(REGISTRY[name].infer(*ops, **dict(attrs)))
    return vals[-1]


def _fused_vjp(g, out, *inputs, program):
    """Replay the program on NDArrays (so intermediates exist), then apply each original op's
    VJP in reverse. Built from mxplug ops, so it is recorded and differentiable again."""
    vals = []
    for name, args, attrs in program[:-1]:
        ops = [inputs[v] if kind == "i" else vals[v] if kind == "t" else v for kind, v in args]
        vals.append(apply(REGISTRY[name], *ops, **dict(attrs)))
    vals.append(out)
    grads_t = {len(program) - 1: g}
    grads_in = [None] * len(inputs)
    for j in range(len(program) - 1, -1, -1):
        gj = grads_t.pop(j, None)
        name, args, attrs = program[j]
        op = REGISTRY[name]
        if gj is None or op.vjp_fn is None or not op.differentiable:
            continue
        ops = [inputs[v] if kind == "i" else vals[v] if kind == "t" else v for kind, v in args]
        for (kind, v), ga in zip(args, op.vjp_fn(gj, vals[j], *ops, **dict(attrs))):
            if ga is None or kind == "c":
                continue
            acc = grads_t if kind == "t" else grads_in
            prev = acc.get(v) if kind == "t" else acc[v]
            acc[v] = ga if prev is None else prev + ga
    return tuple(grads_in)


def _fused_infer(*specs, program=()):
    return _infer_program(program, specs)


FUSED = defop(
    "_fused_elemwise",
    ("args",),
    {"program": Any(())},
    infer=_fused_infer,
    variadic=True,
    doc="Several elementwise ops evaluated as one (made by the graph's fusion pass).",
)
FUSED.impl(lambda xp, *xs, program=(): _run_generic(xp, program, xs))
FUSED.kernel("numpy", direct=True)(lambda *xs, program=(): run_numpy(program, xs))
FUSED.vjp(_fused_vjp)


@FUSED.kernel("opencl")
def _fused_opencl(be, *xs, program=()):
    from ..backends.opencl.fused_kernels import fused_elemwise
    return fused_elemwise(be, *xs, program=program)


#: Sample programs: ``exp(x0) * x1 + 2.0`` (x1 broadcast) and a tree with a side branch.
SAMPLE_PROGRAMS = (
    (("exp", (("i", 0),), ()), ("multiply", (("t", 0), ("i", 1)), ()),
     ("add", (("t", 1), ("c", 2.0)), ())),
    (("tanh", (("i", 0),), ()), ("sigmoid", (("i", 1),), ()),
     ("multiply", (("t", 0), ("c", 3.0)), ()), ("softsign", (("t", 1),), ()),
     ("subtract", (("t", 2), ("t", 3)), ()), ("clip", (("t", 4),), (("a_max", 1.5),
                                                                     ("a_min", -0.5)))),
)
FUSED.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (1, 4)),
                       program=SAMPLE_PROGRAMS[0]),
    lambda rng: Sample(rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3)),
                       program=SAMPLE_PROGRAMS[1]),
)


# -- the pass -------------------------------------------------------------------------------------
def _fusible(node):
    if node.op is None or node.op.name not in FUSIBLE or node.specs is None or \
            len(node.specs) != 1:
        return False
    dt = node.specs[0].dtype
    if dt not in (_F32, _F64):
        return False  # integer semantics (truncating division, ...) stay with the plain ops
    return all(inp.specs is not None and inp.specs[k].dtype == dt for inp, k in node.inputs) \
        and all(isinstance(c, (int, float)) for c in node.consts.values())


def _uses(outputs):
    """How many times each (node id, output) is read: by consumers and as a graph output."""
    uses: dict = {}
    for node in topo_nodes(outputs):
        for inp, k in node.inputs:
            uses[(id(inp), k)] = uses.get((id(inp), k), 0) + 1
    for node, k in outputs:
        uses[(id(node), k)] = uses.get((id(node), k), 0) + 1
    return uses


def _groups(outputs):
    """{id(root): set of member ids} of every fusible tree with two or more ops."""
    uses = _uses(outputs)
    member: dict = {}
    groups = {}
    for node in reversed(topo_nodes(outputs)):
        if id(node) in member or not _fusible(node):
            continue
        group, todo = {id(node)}, [node]
        while todo:
            n = todo.pop()
            for inp, k in n.inputs:
                if (id(inp) not in group and id(inp) not in member and _fusible(inp)
                        and uses[(id(inp), k)] == 1 and inp.specs[0] == node.specs[0]
                        and ctx_group_of(inp) == ctx_group_of(node)):
                    group.add(id(inp))
                    todo.append(inp)
        if len(group) > 1:
            groups[id(node)] = group
            member.update(dict.fromkeys(group, id(node)))
    return groups


def _program(root, group, lookup):
    """(program, external inputs as new (node, k) pairs) of the tree under ``root``.

    A post-order walk (each member after its operands, operands and external inputs numbered
    in input order) with an explicit stack: a fused chain may be any number of ops deep."""
    program, inputs, index = [], [], {}
    stack = [[root, 0, []]]  # frames: node, next input position, its operands so far
    while stack:
        frame = stack[-1]
        node, pos, vals = frame
        ins = node.inputs
        while pos < len(ins):
            inp, k = ins[pos]
            if id(inp) in group:
                break
            key = lookup(inp, k)
            slot = (id(key[0]), key[1])
            if slot not in index:
                index[slot] = len(inputs)
                inputs.append(key)
            vals.append(("i", index[slot]))
            pos += 1
        if pos < len(ins):  # a member operand: emit it first, then come back for the rest
            frame[1] = pos + 1
            stack.append([ins[pos][0], 0, []])
            continue
        stack.pop()
        args = tuple(("c", a) if not isinstance(a, tuple) else a
                     for a in node.arguments(vals))
        program.append((node.op.name, args, tuple(sorted(node.attrs.items()))))
        if stack:
            stack[-1][2].append(("t", len(program) - 1))
    return tuple(program), inputs


def fuse_elementwise(outputs):
    """Replace each maximal tree of same-shape, same-float-dtype elementwise ops (interior
    results read exactly once) by one ``_fused_elemwise`` node named after the tree's root.

    Parameters
    ----------
    outputs : list of (Node, int)
        The graph's outputs. Nodes need their ``specs`` (run shape inference first).

    Returns
    -------
    list of (Node, int)
        The new outputs; the input graph is left untouched.
    """
    from .passes import rewrite
    groups = _groups(outputs)
    interior = {m for root, g in groups.items() for m in g if m != root}

    def visit(node, ins, lookup):
        if id(node) in interior:
            return [None]  # read only inside its tree: never looked up from outside
        group = groups.get(id(node))
        if group is None:
            return None
        program, inputs = _program(node, group, lookup)
        return Node(FUSED, {"program": program}, inputs, node.name, node.source, node.specs,
                    node.user_attrs)

    return rewrite(outputs, visit)
