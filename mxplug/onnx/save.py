"""Validating an exported ONNX model and writing it to disk (inline or with external data).

Every model is checked with ``onnx.checker.check_model(full_check=True)`` before anything is
written: the full check runs ONNX's strict type and shape inference, which catches what the
plain structural check lets through and onnxruntime then refuses (a ``Gemm`` whose operands
have different dtypes because ``in_types`` disagrees with the parameters).

Protocol buffers cap a serialized message at 2 GB, so a bigger model is written with its
tensors in a separate file (``large_model=True``), as ONNX's external-data format prescribes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from ..base import MXNetFileError, MXNetValueError, _umask, atomic_write

__all__ = ["PROTOBUF_LIMIT", "check_size", "checkable", "validate", "write_model"]

#: Protocol buffers refuse to serialize (or parse) a message of 2 GB or more.
PROTOBUF_LIMIT = 2 ** 31
#: Initializers at least this big are written to the external data file (onnx's default).
EXTERNAL_SIZE_THRESHOLD = 1024
#: Where the checker's messages name the ONNX node at fault.
_NODE_IN_MESSAGE = (re.compile(r"node name: ([^)]*)\)"), re.compile(r"Node \(([^)]*)\)"))


def validate(model, origin=None, context="", size=None):
    """Run ``onnx.checker.check_model(model, full_check=True)``; MXNetValueError on failure.

    Parameters
    ----------
    model : onnx.ModelProto
        The model (of any size: one over the protobuf limit is checked without the data of its
        big initializers, which type and shape inference do not read).
    origin : dict, optional
        ONNX node name -> the mxplug graph node it was translated from, to name that node.
    context : str
        Appended to the message (what the export was given: input dtypes and shapes).
    size : int, optional
        ``model.ByteSize()`` when the caller knows it (it costs a pass over the model).
    """
    import onnx.checker
    import onnx.shape_inference
    try:
        onnx.checker.check_model(checkable(model, size), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        text = str(e).strip()
        where = ""
        for pattern in _NODE_IN_MESSAGE:
            found = pattern.search(text)
            if found:
                name = found.group(1).strip()
                node = (origin or {}).get(name)
                where = f" at ONNX node {name!r}"
                if node is not None:
                    where += f" (from {node.op.name} node {node.name!r}, made at {node.source})"
                break
        raise MXNetValueError(
            f"export_model: the exported ONNX model fails onnx.checker's full check{where}: "
            f"{text}{context}. Check in_types against the parameters' dtypes; if they agree, "
            f"this is a bug in the op's ONNX translation") from None


def checkable(model, size=None, limit=None):
    """``model`` itself, or (at ``limit`` bytes or more) a copy for the checker: initializers
    of a kilobyte or more become graph inputs of the same type and shape.

    The checker serializes the model, which protobuf refuses at 2 GB. Type and shape inference
    read the values of small constants only (shapes, axes), so the verdict is the same."""
    limit = PROTOBUF_LIMIT if limit is None else limit
    if (model.ByteSize() if size is None else size) < limit:
        return model
    from onnx import helper
    graph = model.graph
    small, as_inputs = [], []
    for tensor in graph.initializer:
        if tensor.ByteSize() < EXTERNAL_SIZE_THRESHOLD:
            small.append(tensor)
        else:
            as_inputs.append(helper.make_tensor_value_info(tensor.name, tensor.data_type,
                                                           list(tensor.dims)))
    skeleton = helper.make_graph(graph.node, graph.name, list(graph.input) + as_inputs,
                                 graph.output, initializer=small, value_info=graph.value_info)
    out = helper.make_model(skeleton, opset_imports=model.opset_import,
                            producer_name=model.producer_name,
                            producer_version=model.producer_version)
    out.ir_version = model.ir_version
    return out


def check_size(size):
    """MXNetValueError when a model of ``size`` bytes is too big for one protobuf message."""
    if size >= PROTOBUF_LIMIT:
        raise MXNetValueError(
            f"export_model: the ONNX model is {size / 2 ** 30:.2f} GiB, which exceeds "
            f"protobuf's 2 GB limit on one message; pass large_model=True to write its tensors "
            f"to an external data file")


def write_model(model, path, large_model=False):
    """Write ``model`` to ``path``: one file, or with ``large_model`` the graph in ``path`` and
    the tensors of a kilobyte or more in ``<basename of path>.data`` next to it.

    Both files are replaced by renames (a temporary file or folder in the same directory), so a
    failed export leaves no partial file behind. Without ``large_model``, call
    :func:`check_size` first: protobuf's own error for a model over 2 GB names no remedy.
    """
    path = os.fspath(path)
    if not large_model:
        data = model.SerializeToString()
        atomic_write(path, lambda f: f.write(data), "ONNX model")
        return
    from onnx.external_data_helper import (
        convert_model_to_external_data,
        write_external_data_tensors,
    )
    directory = os.path.dirname(os.path.abspath(path))
    location = os.path.basename(path) + ".data"
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location=location,
                                   size_threshold=EXTERNAL_SIZE_THRESHOLD)
    # onnx appends to an existing data file: write a fresh one in a private folder, then move it
    try:
        staging = tempfile.mkdtemp(prefix=".tmp-", dir=directory)
    except OSError as e:
        raise MXNetFileError(f"cannot write the ONNX model {path!r}: {e.strerror or e}") from None
    try:
        write_external_data_tensors(model, staging)
        staged = os.path.join(staging, location)
        if os.path.exists(staged):           # absent when every tensor is under the threshold
            os.chmod(staged, 0o666 & ~_umask())  # onnx creates it 0600; give open()'s mode
            os.replace(staged, os.path.join(directory, location))
        data = model.SerializeToString()
        atomic_write(path, lambda f: f.write(data), "ONNX model")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
