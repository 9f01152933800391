"""``mx.onnx``: export mxplug/MXNet models to ONNX (MXNet 1.9's ``mx.onnx`` module).

``mx.onnx.export_model(sym, params, in_shapes, ...)`` writes an ONNX file (opset 13 by default)
from a Symbol, a ``*-symbol.json`` path or a HybridBlock, with parameters from a dict or a
parameter file. ``get_operator_support()`` lists the ops it translates. ``import_model``,
``import_to_gluon`` and ``get_model_metadata`` read ONNX models back (``mxplug.onnx.importer``).
Also reachable as ``mx.contrib.onnx``. Needs the ``onnx`` package.
"""

from __future__ import annotations

from .export import export_model, get_operator_support
from .importer import get_model_metadata, import_model, import_to_gluon

__all__ = ["export_model", "get_operator_support", "import_model", "import_to_gluon",
           "get_model_metadata"]
