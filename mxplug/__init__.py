"""mxplug: Apache MXNet 1.x's Python API over swappable backend plugins (NumPy, CuPy, OpenCL).

``import mxplug as mx`` gives ``mx.nd``, ``mx.autograd``, ``mx.sym``, ``mx.random``,
``mx.cpu()``, ``mx.gpu()``, ``mx.opencl()`` and the rest of MXNet's names.
"""

import warnings as _warnings  # noqa: I001 (the graph passes import must stay first below)

# First: the graph layer's own ops (_constant, _fused_elemwise) must be in the registry
# before mx.nd and mx.sym are generated from it.
from .graph import passes as _passes  # noqa: F401, I001
from . import autograd, backends, base, context, ndarray, ops, random, symbol, viz
from . import ndarray as nd
from . import symbol as sym
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus, opencl
from . import name  # mx.name.Prefix / mx.name.NameManager, as in MXNet
from .graph.node import AttrScope
# MXNet's NumPy-semantics switches (only "off" works here: legacy NDArray semantics)
from .util import (is_np_array, is_np_shape, np_array, np_shape, set_np_shape, use_np,
                   use_np_array, use_np_shape)

# As MXNet's C++ kernels, ops return IEEE results (inf, nan) silently: NumPy's floating-point
# warnings raised inside mxplug's own code are not shown (the user's NumPy code still warns).
_warnings.filterwarnings("ignore", r"(divide by zero|invalid value|overflow|underflow) encountered",
                         RuntimeWarning, r"mxplug\.")

# mx.random holds the generator state (below ndarray); MXNet also offers the samplers there.
for _name in ndarray.random.__all__:
    if not hasattr(random, _name):
        setattr(random, _name, getattr(ndarray.random, _name))

_LAZY = {"gluon": "gluon", "optimizer": "optimizer", "init": "init", "initializer": "init",
         "metric": "metric", "lr_scheduler": "lr_scheduler", "kv": "kvstore", "kvstore": "kvstore",
         "profiler": "profiler", "contrib": "contrib", "onnx": "onnx", "model": "model", "io": "io",
         "recordio": "recordio", "mod": "module", "module": "module", "callback": "callback",
         "executor": "graph.executor", "attribute": "attribute", "operator": "operator",
         "test_utils": "test_utils", "mon": "monitor", "monitor": "monitor",
         "runtime": "runtime", "util": "util", "engine": "engine", "image": "image",
         "img": "image", "rnn": "rnn"}


def __getattr__(name):
    """``mx.gluon``, ``mx.optimizer``, ``mx.init``, ... load on first use (import stays fast)."""
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mxplug' has no attribute {name!r}")


#: mxplug's own version (the package's, ``mxplug --version``).
__mxplug_version__ = "0.1.0"
#: The MXNet API level mxplug implements, where MXNet keeps its version: libraries written for
#: MXNet 1.x check ``mxnet.__version__`` (GluonCV wants 1.4 <= it < 2.0).
__version__ = "1.9.1"
__all__ = ["AttrScope", "Context", "MXNetError", "autograd", "backends", "base", "context", "cpu",
           "cpu_pinned", "current_context", "gpu", "name", "nd", "ndarray", "num_gpus", "opencl",
           "ops", "random", "rnd", "sym", "symbol", "viz", "visualization", "is_np_array",
           "is_np_shape", "np_array", "np_shape", "set_np_shape", "use_np", "use_np_array",
           "use_np_shape"]
visualization = viz
rnd = random  # MXNet's short alias
