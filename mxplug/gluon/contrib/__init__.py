"""``mx.gluon.contrib``: contributed Gluon layers (MXNet 1.x)."""

from __future__ import annotations

from . import nn

__all__ = ["nn"]
