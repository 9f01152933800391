"""MXNet 1.x's ``Custom`` op: a registry op whose rules are the methods of a user's Python Prop.

``mxplug.operator`` registers ``CustomOpProp`` classes here by name (``op_type``). ``Custom``'s
infer rule asks the Prop (``infer_shape``/``infer_type``), its forward runs the Prop's
operator (``create_operator(...).forward``) on NDArrays, and its gradient rule applies
``_backward_Custom``, an op whose forward runs the operator's ``backward``: as an op it records
eagerly, traces into a Symbol's backward graph, and runs in an executor like any other.

The user's ``forward``/``backward`` are opaque Python: both ops run as composites with recording
off (``loss_gradient``), so autograd keeps one tape entry for ``Custom`` whose gradient is the
user's ``backward``, and nothing of what that code computes is recorded.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError, MXNetTypeError, MXNetValueError
from ..context import current_context
from . import infer as I
from .attrs import Str
from .call import F
from .dispatch import apply, state
from .registry import Sample, defop

__all__ = ["custom", "backward_custom", "register_prop", "registered", "prop_of", "operator_of"]

#: op_type -> the registered CustomOpProp subclass
_PROPS: dict = {}
#: (op_type, kwargs) -> Prop instance; MXNet makes one per node, the kwargs fix its answers
_INSTANCES: dict = {}
#: (prop key, context, shapes, dtypes) -> the operator ``create_operator`` made for them
_OPERATORS: dict = {}


def register_prop(name: str, prop_cls) -> None:
    """Make ``prop_cls`` the Prop of ``op_type=name`` (a later registration replaces it)."""
    _PROPS[name] = prop_cls
    for key in [k for k in _INSTANCES if k[0] == name]:
        del _INSTANCES[key]
    for key in [k for k in _OPERATORS if k[0][0] == name]:
        del _OPERATORS[key]


def registered() -> list:
    """The registered op_type names."""
    return sorted(_PROPS)


def _key(attrs):
    return (attrs.get("op_type"),
            tuple(sorted((k, v) for k, v in attrs.items() if k != "op_type" and v is not None)))


def prop_of(attrs):
    """The Prop instance for a ``Custom`` call's parsed attributes (kwargs reach it as strings)."""
    key = _key(attrs)
    prop = _INSTANCES.get(key)
    if prop is None:
        op_type = key[0]
        cls = _PROPS.get(op_type)
        if cls is None:
            names = ", ".join(repr(n) for n in sorted(_PROPS)) or "none"
            raise MXNetValueError(f"Custom: op_type={op_type!r} is not registered (registered: "
                                  f"{names}); register it with @mx.operator.register(name)")
        if len(_INSTANCES) > 256:
            _INSTANCES.clear()
        prop = _INSTANCES[key] = _run_user(attrs, f"{cls.__name__}()", cls, **dict(key[1]))
    return prop


def _run_user(attrs, what, fn, *args, **kwargs):
    """Call the user's ``fn`` with nothing recorded or traced (its code is opaque to mxplug);
    its errors become MXNetErrors naming the op."""
    prev = state.set_hook(None)
    try:
        return fn(*args, **kwargs)
    except MXNetError:
        raise
    except Exception as e:
        raise MXNetError(f"{_label(attrs)}: {what} raised {type(e).__name__}: {e}") from e
    finally:
        state.set_hook(prev)


def _label(attrs):
    return f"Custom(op_type={attrs.get('op_type')!r})"


def _counts(prop):
    return len(prop.list_arguments()), len(prop.list_outputs()), \
        len(prop.list_auxiliary_states())


def _check_inputs(prop, n, attrs):
    nargs, _, naux = _counts(prop)
    if n != nargs + naux:
        raise MXNetTypeError(
            f"{_label(attrs)}: Expect: {nargs + naux} inputs (arguments "
            f"{prop.list_arguments()} then auxiliary states {prop.list_auxiliary_states()}) / "
            f"Actual: {n}")


def _checked(attrs, method, result, groups):
    """``result`` of ``prop.<method>`` as lists, checked against ``groups``: (what, names)."""
    result = list(result)
    if len(result) == 2 and len(groups) == 3:  # the auxiliary list may be left out
        result.append([])
    if len(result) != len(groups):
        raise MXNetValueError(f"{_label(attrs)}: {method} must return {len(groups)} lists "
                              f"({', '.join(w for w, _ in groups)}), got {len(result)}")
    for got, (what, names) in zip(result, groups):
        if len(got) != len(names):
            raise MXNetValueError(
                f"{_label(attrs)}: {method} returned {len(got)} {what} for {len(names)} "
                f"{what[:-1] if what.endswith('s') else what} names {names}: {list(got)}")
    return [list(r) for r in result]


def _groups(prop):
    return (("input", prop.list_arguments()), ("output", prop.list_outputs()),
            ("auxiliary", prop.list_auxiliary_states()))


def _infer_all(prop, specs, attrs):
    """The output specs from the Prop's rules, which must agree with the inputs' specs."""
    _check_inputs(prop, len(specs), attrs)
    nargs = len(prop.list_arguments())
    in_s, out_s, aux_s = _shape_rule(prop, [list(s.shape) for s in specs], attrs)
    dtypes = [np.dtype(s.dtype).type for s in specs]
    got = _run_user(attrs, "infer_type", prop.infer_type, dtypes[:nargs])
    in_t, out_t, aux_t = _checked(attrs, "infer_type", got, _groups(prop))
    for s, want in zip(specs, list(in_s) + list(aux_s)):
        I.expect(tuple(s.shape) == tuple(want), _label(attrs),
                 f"input shapes {[tuple(x) for x in list(in_s) + list(aux_s)]} (infer_shape)",
                 f"{[tuple(x.shape) for x in specs]}")
    return [I.spec(s, t) for s, t in zip(out_s, out_t)]


def _shape_rule(prop, shapes, attrs):
    """MXNet's ``infer_shape`` gets the arguments' shapes only; its third list is the aux's."""
    nargs = len(prop.list_arguments())
    got = _run_user(attrs, "infer_shape", prop.infer_shape, shapes[:nargs])
    return _checked(attrs, "infer_shape", got, _groups(prop))


def _infer(*specs, **attrs):
    out = _infer_all(prop_of(attrs), specs, attrs)
    return out[0] if len(out) == 1 else tuple(out)


def _nout(attrs):
    return len(prop_of(attrs).list_outputs())


def operator_of(prop, attrs, ctx, specs):
    """The operator ``prop.create_operator`` made for these inputs (one per context, shapes and
    dtypes, kept: MXNet keeps one per bound node, so state it saves in forward is there in
    backward)."""
    shapes = [tuple(s.shape) for s in specs]
    dtypes = [np.dtype(s.dtype).type for s in specs]
    key = (_key(attrs), str(ctx), tuple(shapes), tuple(np.dtype(t).name for t in dtypes))
    op = _OPERATORS.get(key)
    if op is None:
        if len(_OPERATORS) > 256:
            _OPERATORS.clear()
        op = _OPERATORS[key] = _run_user(attrs, "create_operator", prop.create_operator, ctx,
                                         [list(s) for s in shapes], dtypes)
    return op


def _ctx_of(arrays):
    return next((a.context for a in arrays if hasattr(a, "context")), None) or current_context()


def _zeros(spec, ctx):
    return F.zeros(shape=tuple(spec.shape), dtype=np.dtype(spec.dtype).name, ctx=ctx)


custom = defop(
    "Custom", ("data",), {"op_type": Str("")}, infer=_infer, nout=_nout, variadic=True,
    extra_attrs=True,
    doc="A Python op registered with ``mx.operator.register(op_type)``: the inputs are the "
        "Prop's ``list_arguments()`` then its ``list_auxiliary_states()``; other keyword "
        "arguments reach the Prop's ``__init__`` as strings.")
custom.loss_gradient = True  # the user's backward is the gradient: one tape entry, as MXNet
custom.auto_inputs = lambda attrs: (prop_of(attrs).list_arguments()
                                    + prop_of(attrs).list_auxiliary_states())
custom.output_names = lambda attrs: prop_of(attrs).list_outputs()
#: the input roles that are auxiliary states (a Symbol lists them with list_auxiliary_states)
custom.aux_roles = lambda attrs: frozenset(prop_of(attrs).list_auxiliary_states())


@custom.params
def _(*specs, **attrs):
    """Shapes the Prop's ``infer_shape`` gives for inputs not known yet (the softmax example's
    label from its data), as MXNet infers them: unknown shapes are passed as ``()``."""
    if all(s is None for s in specs):
        return {}
    prop = prop_of(attrs)
    try:
        in_s, _, aux_s = _shape_rule(prop, [list(s.shape) if s else [] for s in specs], attrs)
    except Exception:  # the Prop could not work from a partial answer: leave it to the rule
        return {}
    return {i: tuple(s) for i, s in enumerate(list(in_s) + list(aux_s))
            if i < len(specs) and specs[i] is None and all(d > 0 for d in s)}


@custom.compose
def _(*inputs, **attrs):
    prop = prop_of(attrs)
    specs = [I.Spec(tuple(a.shape), np.dtype(a.dtype)) for a in inputs]
    out_specs = _infer_all(prop, specs, attrs)
    nargs = len(prop.list_arguments())
    ctx = _ctx_of(inputs)
    op = operator_of(prop, attrs, ctx, specs)
    out_data = [_zeros(s, ctx) for s in out_specs]
    _run_user(attrs, f"{type(op).__name__}.forward", op.forward, is_train=bool(state.training),
              req=["write"] * len(out_data), in_data=list(inputs[:nargs]), out_data=out_data,
              aux=list(inputs[nargs:]))
    return out_data[0] if len(out_data) == 1 else tuple(out_data)


def _bwd_split(prop, arrays):
    nargs, nout, naux = _counts(prop)
    return (arrays[:nout], arrays[nout:nout + nargs], arrays[nout + nargs:nout + nargs + naux],
            arrays[nout + nargs + naux:])


def _bwd_infer(*specs, **attrs):
    prop = prop_of(attrs)
    nargs, nout, naux = _counts(prop)
    if len(specs) != 2 * nout + nargs + naux:
        raise MXNetTypeError(f"_backward_{_label(attrs)}: Expect: {2 * nout + nargs + naux} "
                             f"inputs (out_grad, in_data, aux, out_data) / Actual: {len(specs)}")
    ins = _bwd_split(prop, specs)[1]
    return ins[0] if len(ins) == 1 else tuple(ins)


backward_custom = defop(
    "_backward_Custom", ("data",), {"op_type": Str("")}, infer=_bwd_infer,
    nout=lambda attrs: len(prop_of(attrs).list_arguments()), variadic=True, extra_attrs=True,
    differentiable=False,
    doc="The gradient of ``Custom``: inputs out_grad, in_data, aux, out_data; outputs in_grad "
        "from the Prop's operator's ``backward``.")
backward_custom.loss_gradient = True  # run its body with recording off (create_graph too)


@backward_custom.compose
def _(*arrays, **attrs):
    prop = prop_of(attrs)
    out_grad, in_data, aux, out_data = _bwd_split(prop, arrays)
    specs = [I.Spec(tuple(a.shape), np.dtype(a.dtype)) for a in list(in_data) + list(aux)]
    ctx = _ctx_of(arrays)
    op = operator_of(prop, attrs, ctx, specs)
    in_grad = [_zeros(s, ctx) for s in specs[:len(in_data)]]
    _run_user(attrs, f"{type(op).__name__}.backward", op.backward, req=["write"] * len(in_grad),
              out_grad=list(out_grad), in_data=list(in_data), out_data=list(out_data),
              in_grad=in_grad, aux=list(aux))
    return in_grad[0] if len(in_grad) == 1 else tuple(in_grad)


@custom.vjp
def _(g, out, *inputs, **attrs):
    prop = prop_of(attrs)
    gs = g if isinstance(g, tuple) else (g,)
    outs = out if isinstance(out, tuple) else (out,)
    res = apply(backward_custom, *gs, *inputs, *outs, **attrs)
    res = res if isinstance(res, tuple) else (res,)
    if len(res) != len(prop.list_arguments()):
        raise MXNetError(f"{_label(attrs)}: backward gave {len(res)} gradients for "
                         f"{len(prop.list_arguments())} arguments")
    return res + (None,) * len(prop.list_auxiliary_states())  # auxiliary states get none


# -- samples: a built-in Prop (registered when a sample is made) for the generic op suite ---------
class _SampleOp:
    """``(x * y * scale, x + y)``: two arguments, two outputs, a kwarg, written in mxplug ops."""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        x, y = in_data
        out_data[0][:] = x * y * self.scale
        out_data[1][:] = x + y

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        x, y = in_data
        gp, gs = out_grad
        in_grad[0][:] = gp * y * self.scale + gs
        in_grad[1][:] = gp * x * self.scale + gs


class _SampleProp:
    """Duck-typed ``CustomOpProp`` (``mxplug.operator`` sits above this layer)."""

    def __init__(self, scale="1"):
        self.scale = float(scale)

    def list_arguments(self):
        return ["x", "y"]

    def list_outputs(self):
        return ["product", "sum"]

    def list_auxiliary_states(self):
        return []

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0], in_shape[0]], []

    def infer_type(self, in_type):
        return in_type, [in_type[0], in_type[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _SampleOp(self.scale)


SAMPLE_OP_TYPE = "_mxplug_sample_product_sum"


def _sample(fn):
    def make(rng):
        if SAMPLE_OP_TYPE not in _PROPS:
            register_prop(SAMPLE_OP_TYPE, _SampleProp)
        return fn(rng)
    return make


custom.samples(_sample(lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3)),
                                          op_type=SAMPLE_OP_TYPE, scale="1.5")))
backward_custom.samples(_sample(lambda rng: Sample(
    *[rng.uniform(-1, 1, (3, 2)) for _ in range(6)], op_type=SAMPLE_OP_TYPE, scale="2")))
