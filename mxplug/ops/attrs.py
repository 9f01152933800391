"""Op attribute types: one parser per kind, used by the nd/sym front ends and by JSON loading.

MXNet passes attributes as Python values or, in symbol JSON, as strings ("(2, 2)", "True");
each parser accepts both and returns the canonical Python value the op bodies rely on.
"""

from __future__ import annotations

import ast

from ..base import MXNetTypeError, MXNetValueError, dtype_of

__all__ = [
    "Attr",
    "Int",
    "Float",
    "Bool",
    "Str",
    "Shape",
    "Axes",
    "Axis",
    "Dtype",
    "Enum",
    "Any",
    "as_attr",
]


class Attr:
    """An attribute: its default and a parser that canonicalises a user value."""

    __slots__ = ("default", "kind", "choices")

    def __init__(self, default=None, kind="any", choices=None):
        self.default, self.kind, self.choices = default, kind, choices

    def parse(self, value, op="op", name="attr"):
        if value is None:  # MXNet passes None for "the default"
            return self.default
        try:
            return _PARSERS[self.kind](self, value)
        except (ValueError, TypeError, SyntaxError) as e:
            raise MXNetValueError(
                f"{op}: attribute {name}={value!r} is not a valid {self.kind}"
                f"{f' (one of {self.choices})' if self.choices else ''}: {e}"
            ) from None

    def __repr__(self):
        return f"{self.kind}({self.default!r})"


def _literal(v):
    return ast.literal_eval(v) if isinstance(v, str) else v


def _bool(a, v):
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError("expected True/False")
    return bool(v)


def _int(a, v):
    v = _literal(v)
    if isinstance(v, float) and not v.is_integer():
        raise ValueError("expected an integer")
    return int(v)


def _shape(a, v):
    v = _literal(v)
    if isinstance(v, int):
        return (int(v),)
    return tuple(int(x) for x in v)


def _axes(a, v):
    v = _literal(v)
    if v is None or v == ():
        return v if v is None else ()
    if isinstance(v, (list, tuple)):
        return tuple(int(x) for x in v)
    return int(v)


def _enum(a, v):
    if v not in a.choices:
        raise ValueError(f"expected one of {a.choices}")
    return v


def _dtype(a, v):
    try:
        return dtype_of(v).name
    except MXNetTypeError as e:
        raise ValueError(str(e)) from None


def _floats(a, v):
    v = _literal(v)
    return tuple(float(x) for x in (v if isinstance(v, (list, tuple)) else (v,)))


_PARSERS = {
    "any": lambda a, v: v,
    "floats": _floats,
    "int": _int,
    "float": lambda a, v: float(_literal(v)),
    "bool": _bool,
    "str": lambda a, v: str(v),
    "shape": _shape,
    "axes": _axes,
    "axis": lambda a, v: int(_literal(v)),
    "enum": _enum,
    "dtype": _dtype,
}


def Int(default=0):
    return Attr(default, "int")  # noqa: E704


def Float(default=0.0):
    return Attr(default, "float")  # noqa: E704


def Bool(default=False):
    return Attr(default, "bool")  # noqa: E704


def Str(default=""):
    return Attr(default, "str")  # noqa: E704


def Shape(default=()):
    return Attr(default, "shape")  # noqa: E704


def Axes(default=None):
    return Attr(default, "axes")  # noqa: E704


def Axis(default=0):
    return Attr(default, "axis")  # noqa: E704


def Dtype(default=None):
    return Attr(default, "dtype")  # noqa: E704


def Any(default=None):
    return Attr(default, "any")  # noqa: E704


def Enum(default, *choices):
    return Attr(default, "enum", (default, *choices))  # noqa: E704


def as_attr(value) -> Attr:
    """A plain default becomes an Attr of its own type (``False`` -> Bool, ``1`` -> Int, ...)."""
    if isinstance(value, Attr):
        return value
    for typ, kind in (
        (bool, "bool"),
        (int, "int"),
        (float, "float"),
        (str, "str"),
        (tuple, "shape"),
    ):
        if isinstance(value, typ):
            return Attr(value, kind)
    return Attr(value, "any")
