"""The ONNX graph under construction, as the op translations see it.

A translation gets an :class:`OnnxGraph` ``g``, the mxplug graph node, the ONNX names of the
node's arguments (Python numbers where the node holds a scalar operand, ``x + 2``) and the names
its outputs must take. It reads the shapes and dtypes every mxplug value has (from the ops' own
``infer`` rules, run over the whole graph before translation) and emits ONNX nodes and constants
through ``g.add`` / ``g.const``.

Dynamic axes: the graph's shapes are inferred twice, the second time with every dynamic input
dimension doubled. An output dimension that differs between the two runs depends on a dynamic
input; translations that must write a shape into the model (``Reshape``) keep such dimensions
symbolic instead of baking in the size seen at export time.
"""

from __future__ import annotations

import numpy as np

try:
    from onnx import helper, numpy_helper
except ImportError as e:  # a clear message instead of a bare ModuleNotFoundError
    raise ImportError(f"mx.onnx needs the onnx package: pip install onnx (or mxplug[onnx]) "
                      f"({e})") from None

from ..base import MXNetTypeError

__all__ = ["OnnxGraph", "onnx_dtype"]


def onnx_dtype(dtype) -> int:
    """The ONNX ``TensorProto`` element type of a NumPy dtype (clear error when there is none)."""
    dtype = np.dtype(dtype)
    try:
        return helper.np_dtype_to_tensor_dtype(dtype)
    except (KeyError, TypeError, ValueError):
        raise MXNetTypeError(f"export_model: dtype {dtype} has no ONNX tensor type") from None


class OnnxGraph:
    """ONNX nodes and initializers being built, plus what translations need to know.

    Parameters
    ----------
    opset : int
        The ONNX opset the model declares.
    specs : dict
        ``id(mxplug node) -> tuple of Spec``: every value's shape and dtype at the export shapes.
    alt_specs : dict or None
        The same with the dynamic input dimensions changed; None for a static export.
    """

    def __init__(self, opset, specs, alt_specs=None):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._specs, self._alt = specs, alt_specs
        self._taken = set()
        self._counter = 0
        #: the mxplug node being translated, and ONNX node name -> the mxplug node it came from
        #: (so that a checker error on an ONNX node can name the mxplug node behind it)
        self.current = None
        self.origin = {}

    # -- names ------------------------------------------------------------------------------------
    def claim(self, name: str) -> str:
        """``name``, or ``name_<n>`` when it is taken already (ONNX names are single-assignment)."""
        out, n = name, 1
        while out in self._taken:
            out, n = f"{name}_{n}", n + 1
        self._taken.add(out)
        return out

    def tmp(self, hint: str) -> str:
        """A fresh name for an intermediate value of the node being translated."""
        self._counter += 1
        return self.claim(f"{hint}__{self._counter}")

    # -- emitting ---------------------------------------------------------------------------------
    def add(self, op_type, inputs, outputs=None, hint=None, **attrs):
        """Append one ONNX node; returns its output name (or the list, for several outputs).

        ``outputs`` is a list of names or a count of fresh ones; ``""`` in ``inputs`` marks an
        omitted optional input. Attributes that are None are left out."""
        hint = hint or op_type.lower()
        if outputs is None or isinstance(outputs, int):
            outputs = [self.tmp(hint) for _ in range(outputs or 1)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        name = self.claim(f"{hint}/{op_type}")
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=name,
                                           **attrs))
        if self.current is not None:
            self.origin[name] = self.current
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def const(self, value, dtype=None, hint="const") -> str:
        """An initializer holding ``value`` (array or number); returns its name."""
        arr = np.asarray(value, dtype=dtype)
        name = self.tmp(hint)
        # reshaped back: ascontiguousarray makes a 0-d array 1-d, and Range/Clip want scalars
        arr = np.ascontiguousarray(arr).reshape(arr.shape)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, hint="shape") -> str:
        """A 1-D int64 constant (shapes, axes, pads: ONNX takes these as int64 tensors)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), hint=hint)

    def operand(self, value, dtype, hint="scalar") -> str:
        """An ONNX name for an operand: names pass through, Python numbers become 0-d constants
        of ``dtype`` (MXNet's scalar ops compute in the array's type)."""
        if isinstance(value, str):
            return value
        return self.const(np.asarray(value, dtype=dtype), hint=hint)

    def axes_op(self, op_type, data, axes, outputs=None, hint=None, **attrs):
        """A reduction or (un)squeeze that takes ``axes``: as an input from the opset that
        moved it there (13 for ReduceSum/Squeeze/Unsqueeze, 18 for the other reductions), as an
        attribute before. ``axes=None``: all axes."""
        moved = 13 if op_type in ("ReduceSum", "Squeeze", "Unsqueeze") else 18
        if axes is None:
            return self.add(op_type, [data], outputs, hint, **attrs)
        if self.opset >= moved:
            return self.add(op_type, [data, self.ints(axes, "axes")], outputs, hint, **attrs)
        return self.add(op_type, [data], outputs, hint, axes=list(axes), **attrs)

    # -- what the mxplug graph knows -------------------------------------------------------------
    def spec(self, node, k=0):
        """Shape and dtype (``Spec``) of output ``k`` of mxplug ``node``."""
        return self._specs[id(node)][k]

    def spec_tuple(self, node):
        """Specs of every output of mxplug ``node``."""
        return self._specs[id(node)]

    def arg_specs(self, node):
        """Specs of ``node``'s arguments in op order (None where the argument is a constant)."""
        ins = [self.spec(i, k) for i, k in node.inputs]
        return [None if not hasattr(s, "shape") else s for s in node.arguments(ins)]

    def varying_axes(self, node, k=0):
        """Axes of output ``k`` of ``node`` whose size follows a dynamic input dimension."""
        if self._alt is None or id(node) not in self._alt:
            return set()
        a, b = self._specs[id(node)][k].shape, self._alt[id(node)][k].shape
        return {i for i, (x, y) in enumerate(zip(a, b)) if x != y}

    def input_varying_axes(self, node, i):
        """``varying_axes`` of the ``i``-th array input of ``node``."""
        src, k = node.inputs[i]
        return self.varying_axes(src, k)
