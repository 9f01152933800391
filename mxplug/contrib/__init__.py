"""``mx.contrib``: MXNet 1.x's contributed modules (``mx.contrib.amp``; ``mx.contrib.onnx`` is
``mx.onnx``). Submodules load on first use."""

from __future__ import annotations

import importlib

_SUBMODULES = {"amp": "mxplug.contrib.amp", "onnx": "mxplug.onnx"}


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(_SUBMODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mxplug.contrib' has no attribute {name!r}")


def __dir__():
    return sorted(_SUBMODULES)
