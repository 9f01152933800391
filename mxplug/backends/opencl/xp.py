"""An array-API namespace over OpenCL: what the registry's generic op bodies call as ``xp``.

Every function runs on the device through the kernel-template layer (elementwise with
broadcasting over strides, reductions over any axes) or returns a view; nothing computes on the
host. ``to_numpy`` / ``asarray`` are the only transfers.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ..kernels import OPENCL, elementwise_source, reduction_meta, reduction_source
from .array import CLArray, c_strides
from .launch import _broadcast_strides, _cached_meta, _launch, _layout

_new = object.__new__

# dtypes, as NumPy objects (generic bodies use xp.float32 etc.)
bool = np.bool_  # noqa: A001
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
e, pi, inf, nan = math.e, math.pi, math.inf, math.nan
newaxis = None

_default_rt = None  # set by the backend: the runtime of opencl(0)


def set_default_runtime(rt):
    global _default_rt
    _default_rt = rt


def _runtime(device=None):
    return device if device is not None else _default_rt


# -- transfers and creation ---------------------------------------------------------------------
def empty(shape, dtype=float32, device=None):
    shape = (shape,) if isinstance(shape, int) else tuple(map(int, shape))
    rt = device if device is not None else _default_rt
    dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    if dt.kind == "f" and ((dt.itemsize == 2 and not rt.fp16) or
                           (dt.itemsize == 8 and not rt.fp64)):
        raise TypeError(f"the OpenCL device {rt.device.name.strip()!r} has no {dt.name} "
                        f"(cl_khr_fp{dt.itemsize * 8} is missing)")
    # CLArray(...) slot by slot: this runs for every op's result
    a = _new(CLArray)
    a.rt, a.dtype, a.shape, a._strides = rt, dt, shape, c_strides(shape)
    a.buf, a.offset, a._contig = rt.alloc(math.prod(shape) * dt.itemsize), 0, True
    return a


def _from_numpy(a: np.ndarray, device=None) -> CLArray:
    rt = _runtime(device)
    if not a.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        a = np.ascontiguousarray(a)
    out = CLArray(rt, rt.alloc(a.nbytes), a.shape, a.dtype)
    if a.nbytes:
        rt.cl.enqueue_copy(rt.queue, out.buf, a)
    return out


def to_numpy(a: CLArray) -> np.ndarray:
    """A host copy (made contiguous on the device first)."""
    c = a if a.is_contiguous and a.offset == 0 else asarray(a, copy=True)
    host = np.empty(c.shape, dtype=c.dtype)
    if host.nbytes:
        c.rt.cl.enqueue_copy(c.rt.queue, host, c.buf, is_blocking=True)
    return host


def asarray(obj, dtype=None, copy=None, device=None):
    if isinstance(obj, CLArray):
        if dtype is not None and np.dtype(dtype) != obj.dtype:
            return astype(obj, dtype)
        if copy:
            return _copy(obj)
        return obj
    a = np.asarray(obj, dtype=dtype)
    return _from_numpy(a, device)


def zeros(shape, dtype=float32, device=None):
    return full(shape, 0, dtype, device)


def ones(shape, dtype=float32, device=None):
    return full(shape, 1, dtype, device)


def full(shape, fill_value, dtype=None, device=None):
    dt = np.dtype(dtype) if dtype is not None else np.result_type(fill_value)
    out = empty(shape, dt, device)
    _fill(out, fill_value)
    return out


def empty_like(x, dtype=None, device=None):
    return empty(x.shape, dtype or x.dtype, device or x.rt)


def zeros_like(x, dtype=None, device=None):
    return full(x.shape, 0, dtype or x.dtype, device or x.rt)


def ones_like(x, dtype=None, device=None):
    return full(x.shape, 1, dtype or x.dtype, device or x.rt)


def full_like(x, fill_value, dtype=None, device=None):
    return full(x.shape, fill_value, dtype or x.dtype, device or x.rt)


def arange(start, stop=None, step=1, dtype=None, device=None):
    if stop is None:
        start, stop = 0, start
    n = builtins.max(int(math.ceil((stop - start) / step)), 0)
    dt = np.dtype(dtype) if dtype is not None else np.result_type(start, stop, step)
    out = empty((n,), dt, device)
    _elementwise_into(out, "arange", "{0} + ({T})i * {1}", [start, step], compute=np.float64)
    return out


def linspace(start, stop, num, dtype=None, device=None, endpoint=True):
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    dt = np.dtype(dtype) if dtype is not None else np.dtype(float64)
    out = empty((num,), dt, device)
    _elementwise_into(out, "linspace", "{0} + ({T})i * {1}", [start, step],
                      compute=np.float64 if out.rt.fp64 else np.float32)
    if endpoint and num > 1:
        setitem(out, num - 1, stop)
    return out


def eye(n_rows, n_cols=None, k=0, dtype=float32, device=None):
    n_cols = n_rows if n_cols is None else n_cols
    out = empty((n_rows, n_cols), dtype, device)
    _elementwise_into(out, "eye", "({T})((i % {0}) - (i / {0}) == {1})", [int(n_cols), int(k)],
                      compute=np.int64)
    return out


# -- the elementwise engine ---------------------------------------------------------------------
_SOURCES: dict = {}


def _render(name, expr, kinds, in_dtypes, out_dtype, compute_dtype, strided=False):
    """(source, kernel name) of an elementwise kernel family's contiguous (or strided) program,
    cached by its description."""
    key = (name, expr, kinds, tuple(in_dtypes), out_dtype, compute_dtype, strided)
    src = _SOURCES.get(key)
    if src is None:
        from ..kernels import ctype
        body = expr.replace("{T}", ctype(out_dtype))
        for k in range(len(kinds)):
            body = body.replace(f"{{{k}}}", f"(({ctype(compute_dtype)})x{k})")
        names = [np.dtype(d).name for d in (*in_dtypes, out_dtype, compute_dtype)]
        kname = "k_" + "_".join([name, *names])
        kname = "".join(c if c.isalnum() or c == "_" else "_" for c in kname)
        src = (elementwise_source(kname, body, kinds, in_dtypes, out_dtype, OPENCL, strided),
               kname)
        _SOURCES[key] = src
    return src


def _elementwise_into(out: CLArray, name, expr, operands, compute=None):
    """Write ``expr`` over ``operands`` (CLArrays broadcast to ``out.shape``, or scalars) into
    ``out`` (any strides). In ``expr``, ``{k}`` is operand k converted to the ``compute`` dtype
    (default: the output's, or for bool outputs the operands' promoted dtype), ``{T}`` is the
    output's C type and ``i`` the element's linear index."""
    if compute is None:
        compute = out.dtype if out.dtype.kind != "b" else (_array_dtype(operands) or out.dtype)
    compute = np.dtype(compute)
    kinds = tuple("a" if isinstance(o, CLArray) else "s" for o in operands)
    in_dtypes = [o.dtype if isinstance(o, CLArray) else compute for o in operands]
    if out.size == 0:
        return out
    arrays = [o for o in operands if isinstance(o, CLArray)]
    plan = _layout(out, arrays)
    src, kname = _render(name, expr, kinds, in_dtypes, out.dtype, compute, plan[0] != "_c")
    # the kernels' by-value arguments are typed (device.Runtime.kernel): plain ints do
    tail = [out.buf, out.offset]
    for o, dt in zip(operands, in_dtypes):
        if isinstance(o, CLArray):
            tail += [o.buf, o.offset]
        else:  # a bool is a uchar in the kernel (and typed arguments do not take np.bool_)
            tail.append(np.uint8(o) if dt == np.bool_ else np.dtype(dt).type(o))
    _launch(out.rt, src, kname, plan, tail, [out.dtype, *in_dtypes])
    return out


def _array_dtype(operands):
    dts = [o.dtype for o in operands if isinstance(o, CLArray)]
    return np.result_type(*dts) if dts else None


def elementwise(name, expr, operands, out_dtype=None, compute=None):
    """A new array ``expr(operands)`` with NumPy broadcasting; ``out_dtype`` defaults to the
    operands' promoted dtype (Python scalars are weak, as in NumPy 2)."""
    arrays = [o for o in operands if isinstance(o, CLArray)]
    if not arrays:
        raise TypeError(f"{name}: at least one operand must be an OpenCL array")
    shape = arrays[0].shape
    if builtins.any(a.shape != shape for a in arrays[1:]):
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if out_dtype is None:
        out_dtype = _promoted(*operands)
    out = empty(shape, out_dtype, arrays[0].rt)
    return _elementwise_into(out, name, expr, operands, compute)


def _fill(out, value):
    return _elementwise_into(out, "fill", "{0}", [value])


def _copy(x: CLArray, dtype=None) -> CLArray:
    out = empty(x.shape, dtype or x.dtype, x.rt)
    return _elementwise_into(out, "copy", "{0}", [x])


def astype(x, dtype, copy=True):
    dt = np.dtype(dtype)
    if dt == x.dtype and not copy:
        return x
    if dt == np.bool_:
        return elementwise("tobool", "{0} != 0", [x], dt)
    return _copy(x, dt)


# -- elementwise functions ----------------------------------------------------------------------
def _float_dtype(x):
    dt = x.dtype if isinstance(x, CLArray) else np.result_type(x)
    return dt if dt.kind == "f" else np.dtype(float64 if x.rt.fp64 else float32)


def _unary_float(cfn):
    """A math function: integer inputs compute in the default float type, as NumPy does."""
    def f(x):
        dt = _float_dtype(x)
        return elementwise(cfn, cfn + "({0})", [x], dt)
    f.__name__ = cfn
    return f


for _name, _c in (("exp", "exp"), ("expm1", "expm1"), ("log", "log"), ("log2", "log2"),
                  ("log10", "log10"), ("log1p", "log1p"), ("sqrt", "sqrt"), ("sin", "sin"),
                  ("cos", "cos"), ("tan", "tan"), ("asin", "asin"), ("acos", "acos"),
                  ("atan", "atan"), ("sinh", "sinh"), ("cosh", "cosh"), ("tanh", "tanh"),
                  ("asinh", "asinh"), ("acosh", "acosh"), ("atanh", "atanh"), ("erf", "erf"),
                  ("cbrt", "cbrt")):
    globals()[_name] = _unary_float(_c)
arcsin, arccos, arctan = asin, acos, atan  # noqa: F821  (NumPy spellings)
arcsinh, arccosh, arctanh = asinh, acosh, atanh  # noqa: F821


def _same(name, expr):
    def f(x):
        return elementwise(name, expr, [x], x.dtype)
    f.__name__ = name
    return f


negative = _same("negative", "-{0}")
positive = _same("positive", "{0}")
square = _same("square", "{0} * {0}")
_invert = _same("invert", "~{0}")


def bitwise_invert(x):
    """``~``; on bool (stored as bytes 0/1, where ``~1`` is 254: still true) it is logical not."""
    return logical_not(x) if x.dtype == np.bool_ else _invert(x)


def abs(x):  # noqa: A001
    expr = "fabs({0})" if x.dtype.kind == "f" else "({0} < 0 ? -{0} : {0})"
    return elementwise("abs", expr, [x], x.dtype)


absolute = abs


def sign(x):
    return elementwise("sign", "({T})(({0} > 0) - ({0} < 0))", [x], x.dtype)


def _rounding(name, cfn):
    def f(x):
        if x.dtype.kind != "f":
            return _copy(x)
        return elementwise(name, f"{cfn}({{0}})", [x], x.dtype)
    f.__name__ = name
    return f


floor, ceil = _rounding("floor", "floor"), _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")
round = _rounding("round", "rint")  # noqa: A001  (half to even, as NumPy and the array API)
rint = round


def isnan(x):
    return elementwise("isnan", "isnan({0})" if x.dtype.kind == "f" else "0", [x], np.bool_)


def isinf(x):
    return elementwise("isinf", "isinf({0})" if x.dtype.kind == "f" else "0", [x], np.bool_)


def isfinite(x):
    return elementwise("isfinite", "isfinite({0})" if x.dtype.kind == "f" else "1", [x], np.bool_)


def logical_not(x):
    return elementwise("logical_not", "!{0}", [x], np.bool_)


def _binary(name, expr, out=None):
    """``out``: None (promoted dtype), "bool", or "float" (true division and friends)."""
    def f(a, b):
        dt = _promoted(a, b)
        if out == "bool":
            return elementwise(name, expr, [a, b], np.bool_, dt)
        if out == "float" and dt.kind != "f":
            dt = _float_dtype(a if isinstance(a, CLArray) else b)
        return elementwise(name, expr, [a, b], dt)
    f.__name__ = name
    return f


def _promoted(*operands):
    a = operands[0]
    if len(operands) == 2 and isinstance(a, CLArray):
        # the common cases without np.result_type (~2 us): one dtype, or a float array with a
        # Python number (weak, as in NumPy 2)
        b = operands[1]
        if isinstance(b, CLArray):
            if b.dtype == a.dtype:
                return a.dtype
        elif a.dtype.kind == "f" and type(b) in (int, float):
            return a.dtype
    return np.result_type(*(o.dtype if isinstance(o, CLArray) else o for o in operands))


add = _binary("add", "{0} + {1}")
subtract = _binary("subtract", "{0} - {1}")
multiply = _binary("multiply", "{0} * {1}")
divide = _binary("divide", "({T}){0} / ({T}){1}", "float")
true_divide = divide
atan2 = _binary("atan2", "atan2(({T}){0}, ({T}){1})", "float")
arctan2 = atan2
hypot = _binary("hypot", "hypot(({T}){0}, ({T}){1})", "float")
logaddexp = _binary("logaddexp",
                    "fmax(({T}){0}, ({T}){1}) + log1p(exp(-fabs(({T}){0} - ({T}){1})))", "float")
equal = _binary("equal", "{0} == {1}", "bool")
not_equal = _binary("not_equal", "{0} != {1}", "bool")
less = _binary("less", "{0} < {1}", "bool")
less_equal = _binary("less_equal", "{0} <= {1}", "bool")
greater = _binary("greater", "{0} > {1}", "bool")
greater_equal = _binary("greater_equal", "{0} >= {1}", "bool")
logical_and = _binary("logical_and", "({0} != 0) && ({1} != 0)", "bool")
logical_or = _binary("logical_or", "({0} != 0) || ({1} != 0)", "bool")
logical_xor = _binary("logical_xor", "({0} != 0) != ({1} != 0)", "bool")
bitwise_and = _binary("bitwise_and", "{0} & {1}")
bitwise_or = _binary("bitwise_or", "{0} | {1}")
bitwise_xor = _binary("bitwise_xor", "{0} ^ {1}")
bitwise_left_shift = _binary("lshift", "{0} << {1}")
bitwise_right_shift = _binary("rshift", "{0} >> {1}")


def _float_or_int(name, fexpr, iexpr):
    def f(a, b):
        dt = _promoted(a, b)
        return elementwise(name, fexpr if dt.kind == "f" else iexpr, [a, b], dt)
    f.__name__ = name
    return f


# NaN propagates (NumPy's rule). ``a != a`` rather than ``isnan(a)``: PoCL 3.0 calls builtins
# out of line, which stops it vectorising a work-group (relu took 3x as long as an add)
maximum = _float_or_int("maximum", "({0} != {0} || {0} > {1}) ? {0} : {1}",
                        "({0} > {1}) ? {0} : {1}")
minimum = _float_or_int("minimum", "({0} != {0} || {0} < {1}) ? {0} : {1}",
                        "({0} < {1}) ? {0} : {1}")
pow = _float_or_int("pow", "pow({0}, {1})",  # noqa: A001
                    "({T})pown((double){0}, (int){1})")
power = pow
remainder = _float_or_int(
    "remainder", "({1} == 0) ? NAN : {0} - floor({0} / {1}) * {1}",
    "({1} == 0) ? 0 : (({0} % {1} != 0 && (({0} % {1} < 0) != ({1} < 0))) ? {0} % {1} + {1} "
    ": {0} % {1})")
fmod = _float_or_int("fmod", "fmod({0}, {1})", "({1} == 0) ? 0 : {0} % {1}")
floor_divide = _float_or_int(
    "floor_divide", "floor({0} / {1})",
    "({1} == 0) ? 0 : (({0} % {1} != 0 && (({0} < 0) != ({1} < 0))) ? {0} / {1} - 1 : {0} / {1})")


def where(cond, x, y):
    return elementwise("where", "({0} != 0) ? {1} : {2}", [cond, x, y], _promoted(x, y))


def clip(x, min=None, max=None):  # noqa: A002
    out = x
    if min is not None:
        out = maximum(out, min)
    if max is not None:
        out = minimum(out, max)
    return out if out is not x else _copy(x)


# -- views and layout ---------------------------------------------------------------------------
def reshape(x, shape, copy=None):
    shape = (int(shape),) if isinstance(shape, int) else tuple(map(int, shape))
    if shape == x.shape and x.is_contiguous:
        return x        # views never change, so the array itself is its reshape
    size = x.size
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if not known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    src = x if x.is_contiguous else _copy(x)
    return src.view(shape, c_strides(shape))


def permute_dims(x, axes):
    axes = tuple(a % x.ndim for a in axes)
    return x.view(tuple(x.shape[a] for a in axes), tuple(x._strides[a] for a in axes))


transpose = permute_dims


def matrix_transpose(x):
    return x.mT


def expand_dims(x, axis=0):
    nd = x.ndim + 1
    axis = axis % nd
    shape, strides = list(x.shape), list(x._strides)
    shape.insert(axis, 1)
    strides.insert(axis, 0)
    return x.view(tuple(shape), tuple(strides))


def squeeze(x, axis=None):
    axes = (tuple(i for i, s in enumerate(x.shape) if s == 1) if axis is None
            else tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)))
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of size {x.shape[a]}")
    keep = [i for i in range(x.ndim) if i not in axes]
    return x.view(tuple(x.shape[i] for i in keep), tuple(x._strides[i] for i in keep))


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.ndim > len(shape) or np.broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {x.shape} -> {shape}")
    return x.view(shape, tuple(_broadcast_strides(x, shape)))


def broadcast_arrays(*arrays):
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return [broadcast_to(a, shape) for a in arrays]


def flip(x, axis=None):
    axes = range(x.ndim) if axis is None else [
        a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
    strides, offset = list(x._strides), x.offset
    for a in axes:
        if x.shape[a] > 0:
            offset += (x.shape[a] - 1) * strides[a]
        strides[a] = -strides[a]
    return x.view(x.shape, tuple(strides), offset)


def concat(arrays, axis=0):
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [reshape(a, (-1,)) for a in arrays], 0
    axis = axis % arrays[0].ndim
    dt = np.result_type(*(a.dtype for a in arrays))
    shape = list(arrays[0].shape)
    shape[axis] = builtins.sum(a.shape[axis] for a in arrays)
    out = empty(tuple(shape), dt, arrays[0].rt)
    start = 0
    for a in arrays:
        key = (slice(None),) * axis + (slice(start, start + a.shape[axis]),)
        _elementwise_into(getitem(out, key), "copy", "{0}", [a])
        start += a.shape[axis]
    return out


def stack(arrays, axis=0):
    arrays = list(arrays)
    nd = arrays[0].ndim + 1
    return concat([expand_dims(a, axis % nd) for a in arrays], axis=axis % nd)


# -- indexing -----------------------------------------------------------------------------------
def _normalize_basic(x, key):
    """(shape, strides, offset) of ``x[key]`` for ints, slices, None and Ellipsis."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if builtins.any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - n_real) + key[i + 1:]
    shape, strides, offset, dim = [], [], x.offset, 0
    for k in key:
        if k is None:
            shape.append(1)
            strides.append(0)
            continue
        if dim >= x.ndim:
            raise IndexError(f"too many indices for array with {x.ndim} dimensions")
        n, st = x.shape[dim], x._strides[dim]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            length = builtins.max(0, (stop - start + (step - (1 if step > 0 else -1))) // step)
            shape.append(length)
            strides.append(st * step)
            offset += start * st if length else 0
        else:
            i = operator.index(k)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            offset += (i % n) * st
        dim += 1
    return tuple(shape) + x.shape[dim:], tuple(strides) + x._strides[dim:], offset


def _is_basic(key):
    items = key if isinstance(key, tuple) else (key,)
    return builtins.all(k is None or k is Ellipsis or isinstance(k, slice)
                        or (isinstance(k, (int, np.integer)) and not isinstance(k, builtins.bool))
                        for k in items)


def getitem(x, key):
    if _is_basic(key):
        shape, strides, offset = _normalize_basic(x, key)
        return x.view(shape, strides, offset)
    return _advanced_getitem(x, key)


def setitem(x, key, value):
    if _is_basic(key):
        target = getitem(x, key)
        if isinstance(value, CLArray):
            value = broadcast_to(value, target.shape)
        elif isinstance(value, np.ndarray):
            value = broadcast_to(asarray(value, dtype=x.dtype, device=x.rt), target.shape)
        _elementwise_into(target, "copy", "{0}", [value])
        return
    _advanced_setitem(x, key, value)


def _advanced_getitem(x, key):
    raise NotImplementedError("advanced indexing on OpenCL arrays is not implemented yet")


def _advanced_setitem(x, key, value):
    raise NotImplementedError("advanced index assignment on OpenCL arrays is not implemented yet")


# -- reductions ---------------------------------------------------------------------------------
_RED_SOURCES: dict = {}


def _axes(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    return tuple(sorted(a % builtins.max(x.ndim, 1) for a in ((axis,) if isinstance(axis, int)
                                                               else axis)))


def _collapse(shape, strides):
    """Merge adjacent dims that walk memory as one (fewer div/mod per element)."""
    out_s, out_st = [], []
    for s, st in zip(shape, strides):
        if s == 1:
            continue
        if out_s and out_st[-1] == st * s:
            out_s[-1] *= s
            out_st[-1] = st
        else:
            out_s.append(s)
            out_st.append(st)
    return out_s, out_st


def _reduce(name, x, axis, keepdims, init, combine, final="acc", out_dtype=None, acc_dtype=None,
            arg=False):
    axes = _axes(x, axis)
    kept = [i for i in range(x.ndim) if i not in axes]
    out_shape_keep = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    out_dtype = np.dtype(out_dtype or x.dtype)
    acc_dtype = np.dtype(acc_dtype or out_dtype)
    out = empty(tuple(x.shape[i] for i in kept), out_dtype, x.rt)
    n = out.size
    if n:
        def build():
            rshape, rstrides = _collapse([x.shape[i] for i in axes],
                                         [x._strides[i] for i in axes])
            kshape = [x.shape[i] for i in kept]
            return reduction_meta(kshape, [x._strides[i] for i in kept],
                                  list(c_strides(kshape)), rshape, rstrides)
        meta = _cached_meta((x.rt, "reduce", x.shape, x._strides, axes), build)
        key = (name, init, combine, final, x.dtype, acc_dtype, out_dtype, arg)
        src = _RED_SOURCES.get(key)
        if src is None:
            kname = f"r_{name}_{x.dtype.name}_{out_dtype.name}"
            src = _RED_SOURCES[key] = (reduction_source(kname, init, combine, final, x.dtype,
                                                        acc_dtype, out_dtype, OPENCL, arg), kname)
        kernel = x.rt.kernel(src[0], src[1], [x.dtype, acc_dtype, out_dtype])
        x.rt.launch(kernel, n, n, meta, out.buf, 0, x.buf, x.offset)
    return out.view(out_shape_keep, c_strides(out_shape_keep)) if keepdims else out


def _lowest(dt):
    return "-INFINITY" if dt.kind == "f" else str(np.iinfo(dt).min if dt.kind in "iu" else 0)


def _highest(dt):
    return "INFINITY" if dt.kind == "f" else str(np.iinfo(dt).max if dt.kind in "iu" else 1)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype.itemsize < 8):
        return np.dtype(np.int64 if x.dtype.kind != "u" else np.uint64)
    return x.dtype


def sum(x, axis=None, dtype=None, keepdims=False):  # noqa: A001
    dt = _sum_dtype(x, dtype)
    return _reduce("sum", x, axis, keepdims, "0", "acc + x", out_dtype=dt)


def prod(x, axis=None, dtype=None, keepdims=False):
    dt = _sum_dtype(x, dtype)
    return _reduce("prod", x, axis, keepdims, "1", "acc * x", out_dtype=dt)


def mean(x, axis=None, keepdims=False):
    dt = _float_dtype(x)
    return _reduce("mean", x, axis, keepdims, "0", "acc + x", "acc / (double)nred", dt,
                   np.float64 if x.rt.fp64 else dt)


def max(x, axis=None, keepdims=False):  # noqa: A001
    if x.size == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    comb = "(x != x || x > acc) ? x : acc" if x.dtype.kind == "f" else "x > acc ? x : acc"
    return _reduce("max", x, axis, keepdims, _lowest(x.dtype), comb)


def min(x, axis=None, keepdims=False):  # noqa: A001
    if x.size == 0:
        raise ValueError("zero-size array to reduction operation minimum which has no identity")
    comb = "(x != x || x < acc) ? x : acc" if x.dtype.kind == "f" else "x < acc ? x : acc"
    return _reduce("min", x, axis, keepdims, _highest(x.dtype), comb)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("any", x, axis, keepdims, "0", "acc || (x != 0)", out_dtype=np.bool_,
                   acc_dtype=np.int32)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("all", x, axis, keepdims, "1", "acc && (x != 0)", out_dtype=np.bool_,
                   acc_dtype=np.int32)


def _argreduce(name, x, axis, keepdims, cond, init):
    if axis is None:
        return _argreduce(name, reshape(x, (-1,)), 0, False, cond, init)
    return _reduce(name, x, (axis,), keepdims, init, cond, out_dtype=np.int64, acc_dtype=x.dtype,
                   arg=True)


def argmax(x, axis=None, keepdims=False):
    cond = "(x > acc) || (x != x && acc == acc)" if x.dtype.kind == "f" else "x > acc"
    r = _argreduce("argmax", x, axis, keepdims, f"j == 0 || {cond}", _lowest(x.dtype))
    return r


def argmin(x, axis=None, keepdims=False):
    cond = "(x < acc) || (x != x && acc == acc)" if x.dtype.kind == "f" else "x < acc"
    return _argreduce("argmin", x, axis, keepdims, f"j == 0 || {cond}", _highest(x.dtype))


def __getattr__(name):
    """A function the generic op bodies need but this namespace lacks: say so clearly (the op's
    error then names both the op and the missing function)."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"the OpenCL array namespace has no {name!r}")


# -- extensions -------------------------------------------------------------------------------
# Families in their own modules re-export here (each adds one line).
from .xp_index import *  # noqa: E402,F401,F403,I001  (take, tile, ..., _advanced_getitem/setitem)
from .xp_sort import argsort, sort  # noqa: E402,F401
from .xp_linalg import linalg, matmul, vecdot  # noqa: E402,F401
