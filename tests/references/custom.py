"""Independent NumPy references for ``Custom`` and ``_backward_Custom`` (``mxplug/ops/custom.py``)
on their sample op, ``(x * y * scale, x + y)``."""

from __future__ import annotations


def _custom(x, y, op_type=None, scale="1"):
    return x * y * float(scale), x + y


def _backward_custom(g_product, g_sum, x, y, product, total, op_type=None, scale="1"):
    s = float(scale)
    return g_product * y * s + g_sum, g_product * x * s + g_sum


REFERENCES = {"Custom": _custom, "_backward_Custom": _backward_custom}
