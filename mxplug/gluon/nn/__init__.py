"""``mx.gluon.nn``: neural-network layers (MXNet 1.x)."""

from __future__ import annotations

from ..block import Block, HybridBlock
from .activations import *  # noqa: F403
from .activations import __all__ as _act_all
from .basic_layers import *  # noqa: F403
from .basic_layers import __all__ as _basic_all
from .conv_layers import *  # noqa: F403
from .conv_layers import __all__ as _conv_all

__all__ = ["Block", "HybridBlock", "SymbolBlock",  # noqa: F405 (SymbolBlock: __getattr__)
           *_act_all, *_basic_all, *_conv_all]


def __getattr__(name):
    if name == "SymbolBlock":  # MXNet re-exports it here; its module loads on first use
        from ..symbol_block import SymbolBlock
        return SymbolBlock
    raise AttributeError(f"module 'mxplug.gluon.nn' has no attribute {name!r}")
