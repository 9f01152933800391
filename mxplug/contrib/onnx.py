"""``mx.contrib.onnx`` (``import mxplug.contrib.onnx as onnx_mxnet``): MXNet 1.x's place of
the ONNX functions, which are :mod:`mxplug.onnx`'s."""

from __future__ import annotations

from ..onnx import (
    export_model,
    get_model_metadata,
    get_operator_support,
    import_model,
    import_to_gluon,
)

__all__ = ["export_model", "get_operator_support", "import_model", "import_to_gluon",
           "get_model_metadata"]
