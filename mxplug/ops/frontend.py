"""Python front ends generated from the registry: ``mx.nd.<op>`` (and later ``mx.sym.<op>``).

Each front end is a real function with an ``inspect.Signature`` and a docstring built from the
op's declaration (no ``exec`` of generated source). The common call — all inputs positional, no
attributes — goes straight to ``apply`` with the op's defaults.
"""

from __future__ import annotations

import inspect

from ..base import MXNetTypeError
from .dispatch import apply, apply_into, building_graph

__all__ = ["make_frontend", "bind_args"]

_P = inspect.Parameter


def bind_args(op, args, kwargs, allow_missing=False):
    """Split a front-end call into (inputs, parsed attrs, out); ``allow_missing`` leaves ``None``
    for inputs not given (the symbolic API makes variables for them)."""
    out = kwargs.pop("out", None)
    kwargs.pop("name", None)
    if op.variadic:
        inputs = list(args)
        for k in op.inputs:  # MXNet also accepts e.g. concat(data=[a, b])
            if k in kwargs:
                v = kwargs.pop(k)
                inputs.extend(v if isinstance(v, (list, tuple)) else [v])
        kwargs.pop("num_args", None)
    else:
        for alias, k in op.input_aliases.items():
            if alias in kwargs:
                if k in kwargs:
                    raise MXNetTypeError(f"{op.name}() got {alias!r} and {k!r}: the same input")
                kwargs[k] = kwargs.pop(alias)
        n = len(op.inputs)
        if len(args) > n:  # extra positionals are attributes in declaration order
            extra = args[n:]
            names = list(op.attrs)
            if len(extra) > len(names):
                raise MXNetTypeError(
                    f"{op.name}() takes at most {n + len(names)} positional "
                    f"arguments ({len(args)} given)"
                )
            for k, v in zip(names, extra):
                if k in kwargs:
                    raise MXNetTypeError(f"{op.name}() got multiple values for argument {k!r}")
                kwargs[k] = v
            args = args[:n]
        inputs = list(args) + [None] * (n - len(args))
        for i, k in enumerate(op.inputs):
            if k in kwargs:
                if inputs[i] is not None:
                    raise MXNetTypeError(f"{op.name}() got multiple values for argument {k!r}")
                inputs[i] = kwargs.pop(k)
        while len(inputs) > op.required_inputs and inputs[-1] is None:  # optional (bias)
            inputs.pop()
        if any(x is None for x in inputs) and not allow_missing:
            missing = [k for k, x in zip(op.inputs, inputs) if x is None]
            raise MXNetTypeError(f"{op.name}() missing required input(s): {', '.join(missing)}")
    return inputs, op.parse_attrs(kwargs), out


def _signature(op):
    if op.variadic:
        params = [_P(op.inputs[0] if op.inputs else "args", _P.VAR_POSITIONAL)]
    else:
        params = [
            _P(k, _P.POSITIONAL_OR_KEYWORD, default=None if i else _P.empty)
            for i, k in enumerate(op.inputs)
        ]
    kind = _P.KEYWORD_ONLY if op.variadic else _P.POSITIONAL_OR_KEYWORD
    params += [_P(k, kind, default=a.default) for k, a in op.attrs.items()]
    params += [_P("out", _P.KEYWORD_ONLY, default=None), _P("name", _P.KEYWORD_ONLY, default=None)]
    return inspect.Signature(params)


def _doc(op):
    lines = [op.doc.strip() or f"The ``{op.name}`` op.", "", "Parameters", "----------"]
    for k in op.inputs:
        lines += [f"{k} : NDArray", "    Input array."]
    for k, a in op.attrs.items():
        lines += [f"{k} : {a.kind}, default {a.default!r}"]
    lines += [
        "out : NDArray, optional",
        "    Write the result into this array.",
        "name : str, optional",
        "    Ignored in eager mode (kept for MXNet compatibility).",
    ]
    return "\n".join(lines)


def make_frontend(op, name=None):
    """The ``mx.nd`` function for ``op`` (``out=`` writes the result into an NDArray)."""
    nin, defaults = len(op.inputs), op.defaults
    variadic = op.variadic

    if op.random:
        return _finish(op, _as_lists(op, _random_frontend(op)), name)

    def frontend(*args, **kwargs):
        if not kwargs and (variadic or len(args) == nin):
            return apply(op, *args, **defaults)
        inputs, attrs, out = bind_args(op, args, kwargs)
        if out is not None:
            return apply_into(op, out, *inputs, **attrs)
        return apply(op, *inputs, **attrs)

    return _finish(op, _as_lists(op, frontend), name)


def _as_lists(op, frontend):
    """Ops that may have several outputs (split, RNN with state_outputs, BatchNorm with
    output_mean_var) return them as a list, as MXNet's ``mx.nd`` does (a call that makes one
    output returns it alone); the others as they are, with no extra call."""
    if op.nout == 1:
        return frontend

    def listed(*args, **kwargs):
        out = frontend(*args, **kwargs)
        if type(out) is tuple:  # as MXNet's invoke: one output is returned as itself
            return out[0] if len(out) == 1 else list(out)
        return out
    return listed


def _finish(op, frontend, name):
    frontend.__name__ = frontend.__qualname__ = name or op.name
    frontend.__signature__ = _signature(op)
    frontend.__doc__ = _doc(op)
    frontend.op = op
    return frontend


def _random_frontend(op):
    """Random ops get a fresh (key, counter) from the global counter-based generator per call."""
    from .. import random as _random

    def frontend(*args, **kwargs):
        inputs, attrs, out = bind_args(op, args, dict(kwargs))
        if "key" not in kwargs and not building_graph():  # (a graph draws per run)
            attrs["key"], attrs["counter"] = _random.next_state()
        if out is not None:
            return apply_into(op, out, *inputs, **attrs)
        return apply(op, *inputs, **attrs)

    return frontend
