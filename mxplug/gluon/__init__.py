"""``mx.gluon``: MXNet 1.x's imperative/hybrid neural-network API.

Submodules load on first use (``mx.gluon.nn``, ``mx.gluon.loss``, ``mx.gluon.data``, ...), so
``import mxplug`` stays fast.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("nn", "rnn", "loss", "data", "utils", "contrib", "model_zoo")
_NAMES = {"Block": "block", "HybridBlock": "block", "SymbolBlock": "symbol_block",
          "Parameter": "parameter", "ParameterDict": "parameter", "Constant": "parameter",
          "DeferredInitializationError": "parameter", "Trainer": "trainer"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'mxplug.gluon' has no attribute {name!r}")


def __dir__():
    return sorted(list(_SUBMODULES) + list(_NAMES))
