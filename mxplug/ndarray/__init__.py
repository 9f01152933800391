"""``mx.nd``: NDArray, creation functions and one function per registered op.

The op functions are generated from the registry (``mxplug.ops``), so ``mx.nd.<op>`` exists for
every op and alias, with a real signature and docstring. Names that start with ``_`` live in
``mx.nd._internal`` as in MXNet.
"""

from __future__ import annotations

import functools
import numbers
import operator
import sys
import types

from .. import ops as _ops
from ..base import MXNetNotImplementedError, MXNetTypeError, MXNetValueError
from ..ops.frontend import make_frontend
from . import random
from .dlpack import to_dlpack_for_read, to_dlpack_for_write  # noqa: F401
from .legacy import concatenate, moveaxis, onehot_encode  # noqa: F401
from .ndarray import NDArray, _wrap_host, array, from_dlpack, from_numpy  # noqa: F401

__all__ = ["NDArray", "array", "from_numpy", "from_dlpack", "waitall", "reset_arrays", "random",
           "linalg", "contrib", "image", "histogram", "save", "load", "load_frombuffer",
           "save_tobuffer"]


_internal = types.ModuleType(__name__ + "._internal", "Ops whose names start with an underscore.")
_frontends: dict = {}
_module = sys.modules[__name__]


def _export(name, op):
    """Make ``op`` callable as ``mx.nd.<name>`` (or ``mx.nd.<group>.<rest>`` for grouped ops)."""
    fn = make_frontend(op, name)
    _frontends[name] = fn
    target = _internal if name.startswith("_") else _module
    if not hasattr(target, name):
        setattr(target, name, fn)


for _name, _op in list(_ops.REGISTRY.items()):
    _export(_name, _op)


def _namespace(name, prefix, doc):
    """``mx.nd.<name>``: the ops whose registry names start with ``prefix``, without it."""
    module = types.ModuleType(f"{__name__}.{name}", doc)
    for op_name, fn in _frontends.items():
        if op_name.startswith(prefix):
            setattr(module, op_name[len(prefix):], fn)
    sys.modules[module.__name__] = module
    return module


#: ``mx.nd.linalg.gemm2`` is the ``linalg_gemm2`` op, ``mx.nd.image.to_tensor`` the
#: ``_image_to_tensor`` op, as in MXNet.
linalg = _namespace("linalg", "linalg_", "Linear algebra (``linalg_*`` in the registry).")
image = _namespace("image", "_image_", "Image ops (``_image_*`` in the registry).")
sys.modules[_internal.__name__] = _internal

#: ``mx.nd.contrib.box_nms`` is the ``_contrib_box_nms`` op, as in MXNet; the module itself adds
#: the control flow (foreach, while_loop, cond) and boolean_mask.
from . import contrib  # noqa: E402  (needs the frontends above)
from .contrib_optimizer import optimizer_functions_for  # noqa: E402

for _name, _fn in optimizer_functions_for(sys.modules[__name__], symbolic=False).items():
    setattr(contrib, _name, _fn)
from .contrib_sync_bn import sync_batch_norm_for  # noqa: E402
from .scalar_ops import scalar_functions_for  # noqa: E402

contrib.SyncBatchNorm = sync_batch_norm_for(sys.modules[__name__])

for _name, _fn in scalar_functions_for(sys.modules[__name__]).items():
    setattr(_internal, _name, _fn)
for _name, _fn in _frontends.items():
    if _name.startswith("_contrib_") and not hasattr(contrib, _name[len("_contrib_"):]):
        setattr(contrib, _name[len("_contrib_"):], _fn)

#: NDArray methods that forward to the op of the same name (``x.sum(axis=1)``).
_METHODS = (
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "nansum",
    "nanprod",
    "argmax",
    "argmin",
    "norm",
    "exp",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "cbrt",
    "rcbrt",
    "square",
    "reciprocal",
    "abs",
    "sign",
    "round",
    "rint",
    "ceil",
    "floor",
    "trunc",
    "fix",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "degrees",
    "radians",
    "relu",
    "sigmoid",
    "softmax",
    "log_softmax",
    "clip",
    "transpose",
    "expand_dims",
    "squeeze",
    "flatten",
    "swapaxes",
    "flip",
    "tile",
    "repeat",
    "pad",
    "broadcast_to",
    "broadcast_like",
    "broadcast_axes",
    "slice",
    "slice_axis",
    "slice_like",
    "take",
    "pick",
    "one_hot",
    "sort",
    "argsort",
    "topk",
    "split",
    "diag",
    "zeros_like",
    "ones_like",
    "dot",
    "batch_dot",
    "shape_array",
    "size_array",
    "nanmean",
    "argmax_channel",
    "softmin",
    "split_v2",
)


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


for _name in _METHODS:
    if _name in _frontends and not hasattr(NDArray, _name):
        setattr(NDArray, _name, _method(_frontends[_name]))


def reset_arrays(*data, num_arrays=None):
    """Set every array of ``data`` to zero in place (MXNet's ``reset_arrays`` op, which
    ``Trainer``/``zero_grad`` use); returns an empty list, as MXNet's op has no outputs."""
    if num_arrays is not None and int(num_arrays) != len(data):
        raise MXNetValueError(f"reset_arrays: num_arrays={num_arrays} but {len(data)} arrays "
                              f"were given")
    bad = [type(a).__name__ for a in data if not isinstance(a, NDArray)]
    if bad:
        raise MXNetTypeError(f"reset_arrays: expected NDArrays, got {bad}")
    for a in data:
        a[:] = 0
    return []


def _scalar_case(name, on_scalars):
    """``mx.nd.<name>`` returning ``on_scalars(lhs, rhs)``, a Python number, when neither
    argument is an NDArray (MXNet's ``_ufunc_helper``: ``nd.power(0.9, 3)`` is 0.729)."""
    on_arrays = _frontends[name]

    @functools.wraps(on_arrays)
    def fn(*args, **kwargs):
        if len(args) == 2 and not kwargs and all(isinstance(a, numbers.Number) for a in args):
            return on_scalars(*args)
        return on_arrays(*args, **kwargs)
    return fn


for _name, _on_scalars in {
        "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
        "divide": operator.truediv, "true_divide": operator.truediv, "modulo": operator.mod,
        "power": operator.pow,
        "maximum": lambda a, b: a if a > b else b, "minimum": lambda a, b: a if a < b else b,
        "equal": lambda a, b: int(a == b), "not_equal": lambda a, b: int(a != b),
        "greater": lambda a, b: int(a > b), "greater_equal": lambda a, b: int(a >= b),
        "lesser": lambda a, b: int(a < b), "lesser_equal": lambda a, b: int(a <= b),
        "logical_and": lambda a, b: int(bool(a) and bool(b)),
        "logical_or": lambda a, b: int(bool(a) or bool(b)),
        "logical_xor": lambda a, b: int(bool(a) != bool(b))}.items():
    setattr(_module, _name, _scalar_case(_name, _on_scalars))


def waitall() -> None:
    """Wait for all pending work on every loaded backend."""
    from ..backends import registry

    for be in registry._loaded.values():
        if not isinstance(be, str):
            be.synchronize(None)


def histogram(a, bins=10, range=None):  # noqa: A002 (MXNet's argument name)
    """Counts of ``a``'s values in ``bins`` (an int with ``range=(lo, hi)``, or an NDArray of
    bin edges): ``(counts, edges)``, as MXNet's ``mx.nd.histogram``. An int without a range
    warns and returns NumPy's histogram (float32 arrays), as MXNet does."""
    if isinstance(bins, NDArray):
        return _internal._histogram(a, bins)
    if isinstance(bins, numbers.Integral):
        if range is None:
            import warnings

            import numpy as np
            warnings.warn("range is not specified, using numpy's result to ensure consistency "
                          "with numpy", stacklevel=2)
            counts, edges = np.histogram(a.asnumpy(), bins=bins)
            return array(counts, ctx=a.context), array(edges, ctx=a.context)
        return _internal._histogram(a, bin_cnt=bins, range=range)
    raise MXNetValueError("bins argument should be either an integer or an NDArray")


def _dense_only(fname, stype):
    if stype not in (None, "default"):
        raise MXNetNotImplementedError(f"{fname}: stype {stype!r} is not available: mxplug's "
                                       f"arrays are dense (no row_sparse or csr storage)")


def zeros(shape, ctx=None, dtype=None, stype=None, **kwargs):
    """An array of zeros; ``stype`` may be None or ``'default'`` (dense), as MXNet's
    ``create_state`` code passes ``stype=weight.stype``. Attributes such as ``__layout__``
    (which recurrent cells pass to their state functions) are ignored, as MXNet does."""
    _dense_only("zeros", stype)
    kwargs = {k: v for k, v in kwargs.items() if not (k.startswith("__") and k.endswith("__"))}
    return _frontends["zeros"](shape, ctx=ctx, dtype=dtype, **kwargs)


def empty(shape, ctx=None, dtype=None, stype=None):
    """An uninitialised array (zero-filled, so results are reproducible); ``stype`` as in
    :func:`zeros`."""
    _dense_only("empty", stype)
    return _frontends["empty"](shape, ctx=ctx, dtype=dtype)


_FILE_FUNCTIONS = ("save", "load", "load_frombuffer", "save_tobuffer")


def __getattr__(name):
    """``mx.nd.save/load/...`` import MXNet's file format on first use (it stays out of
    ``import mxplug``'s time)."""
    if name in _FILE_FUNCTIONS:
        from . import mxnet_format
        return getattr(mxnet_format, name)
    raise AttributeError(f"module 'mxplug.ndarray' has no attribute {name!r}")
