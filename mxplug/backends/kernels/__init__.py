"""The kernel-template layer shared by the OpenCL and CUDA backends.

One description — an elementwise expression, a reduction, an index computation — renders into
OpenCL C or CUDA C through a :class:`Dialect`. Shapes, strides and offsets are run-time arguments
(a small int64 ``meta`` array), so a kernel is compiled once per (expression, dtypes) and serves
every shape and layout up to ``MAXDIM`` dimensions.
"""

from .dialect import CUDA, OPENCL, Dialect, ctype
from .elementwise import MAXDIM, elementwise_source, strided_meta
from .reduction import reduction_meta, reduction_source

__all__ = ["CUDA", "OPENCL", "Dialect", "ctype", "MAXDIM", "elementwise_source", "strided_meta",
           "reduction_source", "reduction_meta"]
