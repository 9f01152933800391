"""``mx.contrib.onnx`` (``import mxplug.contrib.onnx as onnx_mxnet``): MXNet 1.x's place of
the ONNX functions. ``export_model`` and ``get_operator_support`` are :mod:`mxplug.onnx`'s;
MXNet's importers (``import_model``, ``import_to_gluon``, ``get_model_metadata``) are not
implemented: they say so."""

from __future__ import annotations

from ..base import MXNetNotImplementedError
from ..onnx import export_model, get_operator_support

__all__ = ["export_model", "get_operator_support", "import_model", "import_to_gluon",
           "get_model_metadata"]


def _no_import(name):
    def importer(*args, **kwargs):
        raise MXNetNotImplementedError(
            f"mx.contrib.onnx.{name}: mxplug exports to ONNX (export_model) but does not import "
            f"ONNX models; load an MXNet model from its -symbol.json and .params files with "
            f"gluon.SymbolBlock.imports, or run the .onnx file in onnxruntime")
    importer.__name__ = importer.__qualname__ = name
    return importer


import_model = _no_import("import_model")
import_to_gluon = _no_import("import_to_gluon")
get_model_metadata = _no_import("get_model_metadata")
