"""MXNet's ``_internal._<op>_scalar`` functions (``_plus_scalar(data, scalar=2.0)``,
``_rminus_scalar``, ``_greater_scalar``, ...): what MXNet's generated code and older scripts
call, and what its JSON names a node with a number operand. Each is the binary op with the number
on its side (``graph.serialize.SCALAR_OPS`` pairs them), so there is one definition of each op.
"""

from __future__ import annotations

__all__ = ["scalar_functions_for"]

#: Scalar forms MXNet has beyond those its JSON writes for mxplug's graphs (symmetric ops).
_MORE = {"_hypot_scalar": "hypot", "_logical_and_scalar": "logical_and",
         "_logical_or_scalar": "logical_or", "_logical_xor_scalar": "logical_xor"}


def _scalar_function(ns, op_name, number_on_right, name):
    binary = getattr(ns, op_name)

    def fn(data, scalar=1.0, is_int=True, out=None, name=None, **kwargs):
        # is_int: MXNet's hint that the number is an integer; the dtype rules here decide
        args = (data, scalar) if number_on_right else (scalar, data)
        extra = {} if out is None else {"out": out}
        if name is not None:
            extra["name"] = name
        return binary(*args, **extra, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    side = "right" if number_on_right else "left"
    fn.__doc__ = f"``{op_name}`` with the number ``scalar`` on the {side} (MXNet's ``{name}``)."
    return fn


def scalar_functions_for(ns):
    """``{name: function}`` for ``ns`` (``mx.nd`` or ``mx.sym``)."""
    from ..graph.serialize import SCALAR_OPS

    pairs = {name: (op, right) for (op, right), name in SCALAR_OPS.items()}
    pairs.update({name: (op, True) for name, op in _MORE.items()})
    return {name: _scalar_function(ns, op, right, name) for name, (op, right) in pairs.items()
            if hasattr(ns, op)}
