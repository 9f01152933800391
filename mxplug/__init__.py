"""mxplug: Apache MXNet 1.x's Python API over swappable backend plugins (NumPy, CuPy, OpenCL).

``import mxplug as mx`` gives ``mx.nd``, ``mx.cpu()``, ``mx.gpu()``, ``mx.opencl()`` and the rest
of MXNet's names.
"""

from . import (
    backends,
    base,
    context,
    ndarray,  # noqa: E402  (after ops: the namespace is generated from the registry)
    ops,
)
from . import ndarray as nd  # noqa: E402
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus, opencl

__version__ = "0.1.0"
__all__ = [
    "Context",
    "MXNetError",
    "backends",
    "base",
    "context",
    "cpu",
    "cpu_pinned",
    "current_context",
    "gpu",
    "nd",
    "ndarray",
    "num_gpus",
    "opencl",
    "ops",
]
