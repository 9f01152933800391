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
    "OptFloat",
    "OptInt",
    "IndexKey",
    "IndexArg",
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

    def text(self, value) -> str:
        """``value`` as the string symbol JSON stores (what :meth:`parse` reads back)."""
        if self.kind == "index":
            return _index_key_text(value)
        if isinstance(value, (tuple, list)):
            return str(tuple(value))
        return str(value)

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


def _optional(convert):
    """A parser for ``None`` (or MXNet's text ``"None"``) or a value ``convert`` reads."""
    def parse(a, v):
        v = _literal(v)
        return None if v is None else convert(a, v)
    return parse


# -- indexing keys (``x[1:3, ..., None, idx]``) as text: the getitem ops' ``key`` ---------------
class IndexArg(int):
    """Placeholder in a key: "the i-th index array input"."""

    def __repr__(self):
        return f"IndexArg({int(self)})"


def _index_key_text(key) -> str:
    """``(1, slice(0, 3, None), Ellipsis, None, IndexArg(0))`` -> ``"(1, 0:3:, ..., None, @0)"``:
    every element in a form :func:`_index_key` reads back without eval."""
    def one(k):
        if isinstance(k, IndexArg):
            return f"@{int(k)}"
        if isinstance(k, slice):
            return ":".join("" if v is None else str(int(v)) for v in (k.start, k.stop, k.step))
        if k is Ellipsis:
            return "..."
        if k is None:
            return "None"
        return str(int(k))
    return "(" + ", ".join(one(k) for k in key) + ")"


def _index_key(a, v):
    if not isinstance(v, str):
        return tuple(v) if isinstance(v, (tuple, list)) else (v,)
    text = v.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise ValueError("expected a parenthesised key such as (1, 0:3:, ..., None, @0)")
    key = []
    for item in (t.strip() for t in text[1:-1].split(",")):
        if not item:
            continue
        if item.startswith("@"):
            key.append(IndexArg(int(item[1:])))
        elif ":" in item:
            parts = [int(p) if p.strip() else None for p in item.split(":")]
            if len(parts) > 3:
                raise ValueError(f"bad slice {item!r}")
            key.append(slice(*parts))
        elif item == "...":
            key.append(Ellipsis)
        elif item == "None":
            key.append(None)
        else:
            key.append(int(item))
    return tuple(key)


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
    "opt_float": _optional(lambda a, v: float(v)),
    "opt_int": _optional(_int),
    "index": _index_key,
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


def OptFloat(default=None):
    return Attr(default, "opt_float")  # noqa: E704


def OptInt(default=None):
    return Attr(default, "opt_int")  # noqa: E704


def IndexKey(default=()):
    return Attr(default, "index")  # noqa: E704


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
