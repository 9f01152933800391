"""Python's operators on a backend's array class, each the array-API function of the same
meaning (``a + b`` is ``xp.add(a, b)``): one table for every array type that needs them."""

from __future__ import annotations

__all__ = ["install_operators"]

#: (dunder without underscores, array-API function): also installed reflected (``__radd__``).
BINARY = (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
          ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"),
          ("matmul", "matmul"), ("and", "bitwise_and"), ("or", "bitwise_or"),
          ("xor", "bitwise_xor"), ("lshift", "bitwise_left_shift"),
          ("rshift", "bitwise_right_shift"))
COMPARISONS = (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
               ("eq", "equal"), ("ne", "not_equal"))
UNARY = (("neg", "negative"), ("pos", "positive"), ("abs", "abs"), ("invert", "bitwise_invert"))


def install_operators(cls, binary, unary) -> None:
    """Give ``cls`` the operators; ``binary(fn, reflected=False)`` and ``unary(fn)`` make the
    methods that call array-API function ``fn``. Arrays hash by identity (``__eq__`` is
    elementwise)."""
    for dunder, fn in BINARY:
        setattr(cls, f"__{dunder}__", binary(fn))
        setattr(cls, f"__r{dunder}__", binary(fn, reflected=True))
    for dunder, fn in COMPARISONS:
        setattr(cls, f"__{dunder}__", binary(fn))
    for dunder, fn in UNARY:
        setattr(cls, f"__{dunder}__", unary(fn))
    cls.__hash__ = object.__hash__
