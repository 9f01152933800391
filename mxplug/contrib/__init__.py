"""``mx.contrib``: MXNet 1.x's contributed modules (``mx.contrib.amp``, ``text``,
``svrg_optimization``, ``io``, ``tensorboard``, the deprecated ``mx.contrib.autograd``;
``mx.contrib.onnx`` is
``mx.onnx``; ``mx.contrib.nd``/``ndarray`` is ``mx.nd.contrib`` and ``mx.contrib.sym``/``symbol``
is ``mx.sym.contrib``). Submodules load on first use."""

from __future__ import annotations

import importlib

_SUBMODULES = {"amp": "mxplug.contrib.amp", "autograd": "mxplug.contrib.autograd",
               "onnx": "mxplug.contrib.onnx",
               "text": "mxplug.contrib.text",
               "svrg_optimization": "mxplug.contrib.svrg_optimization",
               "io": "mxplug.contrib.io", "tensorboard": "mxplug.contrib.tensorboard",
               "nd": "mxplug.ndarray.contrib", "ndarray": "mxplug.ndarray.contrib",
               "sym": "mxplug.symbol.contrib", "symbol": "mxplug.symbol.contrib"}


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(_SUBMODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mxplug.contrib' has no attribute {name!r}")


def __dir__():
    return sorted(_SUBMODULES)
