"""Any Python Array API namespace as an mxplug backend, with no code of its own.

:class:`ArrayAPIBackend` turns a namespace that follows the `Array API standard
<https://data-apis.org/array-api/>`_ (``array_api_strict``, ``array_api_compat.torch``, CuPy, ...)
into a backend: the registry's generic op bodies run on it through ``backend.xp``.

Generic op bodies are written to a NumPy-flavoured contract: arrays whose ``.dtype`` is a NumPy
dtype, with ``astype``/``reshape``/``copy`` methods, NumPy's type promotion (``int32 + float32`` is
float64, an int array times ``0.5`` is float), and in-place ``x[idx] = v`` with integer arrays.
Where a namespace's own arrays already carry NumPy dtypes (NumPy, CuPy) they are used as they are.
Otherwise (``array_api_strict``, PyTorch) every array is held in a thin :class:`Array` handle and
``xp`` is a :class:`Namespace` that translates at the boundary: NumPy dtypes to the library's,
mixed dtypes to NumPy's promotion, NumPy scalars to Python scalars. Only what the standard cannot
express runs on the host (copy out, NumPy, copy back), and each such path is listed in
:data:`HOST_PATHS`:

- indexing with integer arrays beyond one leading axis, and assignment through integer arrays
  or through a boolean mask combined with other indices (the standard has no scatter);
- the ops in :attr:`ArrayAPIBackend.host_ops`.

Device types: a backend serves contexts ``mx.Context(T, i)`` where ``T`` is its ``device_type``:
by default the name it is registered under (``MXPLUG_PLUGINS="foo=array-api:..."`` serves
``foo``); :class:`StrictBackend` (backend ``array_api_strict``) serves ``strict``. Device ``i`` is
the ``i``-th entry of the namespace's ``__array_namespace_info__().devices()``.
"""

from __future__ import annotations

import functools
import importlib
from collections import Counter
from types import ModuleType

import numpy as np

from .operators import install_operators
from .protocol import BackendBase

__all__ = ["ArrayAPIBackend", "Array", "Namespace", "StrictBackend", "make_backend",
           "HOST_PATHS"]

#: Dtype names mxplug knows, in NumPy's spelling (the standard uses the same names).
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64")
#: Calls that ran on the host because the standard cannot express them, by what they were.
HOST_PATHS: Counter = Counter()

# Elementwise functions with two array operands: their operands get NumPy's type promotion.
_BINARY = frozenset(
    "add subtract multiply divide pow maximum minimum remainder floor_divide atan2 hypot "
    "logaddexp copysign nextafter equal not_equal less less_equal greater greater_equal "
    "logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift "
    "bitwise_right_shift matmul vecdot".split())
# NumPy names the standard spells differently.
_ALIASES = {"concatenate": "concat", "transpose": "permute_dims", "power": "pow",
            "absolute": "abs", "true_divide": "divide", "arccos": "acos", "arcsin": "asin",
            "arctan": "atan", "arctan2": "atan2", "arccosh": "acosh", "arcsinh": "asinh",
            "arctanh": "atanh", "invert": "bitwise_invert", "rint": "round",
            "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift"}


def resolve_namespace(namespace):
    """The Array API namespace for ``namespace`` (a module, or a module name to import).

    A library that is not a compliant namespace itself (NumPy 1.x, CuPy, PyTorch, Dask) is wrapped
    by ``array_api_compat``'s namespace for it."""
    if isinstance(namespace, str):
        namespace = importlib.import_module(namespace)
    if hasattr(namespace, "__array_api_version__"):
        return namespace
    import array_api_compat

    return array_api_compat.array_namespace(namespace.asarray(0))


def _numpy_dtyped(ns) -> bool:
    """Whether ``ns``'s dtypes are NumPy's own (its arrays can then be used unwrapped)."""
    try:
        return np.dtype(ns.float32) == np.float32 and np.dtype(ns.int64) == np.int64
    except TypeError:
        return False


class Namespace:
    """``xp`` for generic op bodies over a namespace whose arrays are wrapped in :class:`Array`.

    Every function of the wrapped namespace is reachable under its standard name (and NumPy's
    aliases); arguments are unwrapped, NumPy dtypes and scalars translated, binary operands
    promoted as NumPy promotes them, and results wrapped. Dtype attributes (``xp.float32``) are
    NumPy dtypes, so they compare equal to an :class:`Array`'s ``dtype``."""

    def __init__(self, ns, _root=None):
        self._ns = ns
        self._root = _root or self
        if _root is None:
            self._to_np, self._to_native = {}, {}
            for n in DTYPE_NAMES:
                native = getattr(ns, n, None)
                if native is not None:
                    self._to_np[native], self._to_native[np.dtype(n)] = np.dtype(n), native

    def __repr__(self):
        return f"<mxplug Array API namespace over {getattr(self._ns, '__name__', self._ns)}>"

    # -- translation ----------------------------------------------------------------------------
    def native_dtype(self, dt):
        """The library's dtype for a NumPy dtype, type or name (``None`` stays ``None``)."""
        if dt is None:
            return None
        root = self._root
        try:
            return root._to_native[np.dtype(dt)]
        except (KeyError, TypeError):
            if dt in root._to_np:  # already the library's own
                return dt
            raise TypeError(f"{root!r} has no dtype {dt!r}") from None

    def numpy_dtype(self, native) -> np.dtype:
        return self._root._to_np[native]

    def wrap(self, r):
        root = self._root
        if hasattr(r, "__array_namespace__") and not isinstance(r, Array) and hasattr(r, "dtype"):
            return Array(r, root)
        if isinstance(r, tuple):
            items = [root.wrap(v) for v in r]
            return type(r)(*items) if hasattr(r, "_fields") else tuple(items)
        if isinstance(r, list):
            return [root.wrap(v) for v in r]
        return r

    def unwrap(self, v):
        """A native argument for ``v``: arrays unwrapped, NumPy data made native."""
        if isinstance(v, Array):
            return v._a
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return self._root.from_numpy(v)
        if isinstance(v, (list, tuple)) and any(isinstance(i, (Array, np.ndarray)) for i in v):
            return type(v)(self.unwrap(i) for i in v)
        if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
            return self.native_dtype(v)
        return v

    def from_numpy(self, h: np.ndarray, device=None):
        """A native array holding a copy of NumPy array ``h``."""
        ns = self._root._ns
        dt = self.native_dtype(h.dtype)
        kw = {} if device is None else {"device": device}
        return ns.asarray(np.array(h, copy=True), dtype=dt, **kw)

    def _promote(self, args):
        """NumPy's promotion for two operands: arrays of different dtypes meet at
        ``np.result_type``; a float scalar with an integer array, or an int with a bool array,
        makes the array float64 / int64 as NumPy does (the standard leaves both undefined)."""
        arrays = [a for a in args if isinstance(a, Array)]
        if not arrays:
            return args
        dts = {a.dtype for a in arrays}
        scalars = [s for s in args if isinstance(s, (bool, int, float)) and not isinstance(
            s, Array)]
        target = np.result_type(*dts) if len(dts) > 1 else None
        base = target or next(iter(dts))
        for s in scalars:
            if type(s) is float and base.kind in "biu":
                target = np.dtype(np.float64)
            elif type(s) is int and base.kind == "b":
                target = np.dtype(np.int64)
        if target is None:
            return args
        return [a.astype(target) if isinstance(a, Array) and a.dtype != target else a
                for a in args]

    # -- attribute access -----------------------------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        std = _ALIASES.get(name, name)
        if name in DTYPE_NAMES and self._root is self:
            if np.dtype(name) not in self._to_native:
                raise AttributeError(f"{self!r} has no dtype {name!r}")
            value = np.dtype(name)
        else:
            target = getattr(self._ns, std, None)
            if target is None:
                raise NotImplementedError(
                    f"the Array API namespace {getattr(self._ns, '__name__', self._ns)} has no "
                    f"{name!r}")
            if isinstance(target, ModuleType) or (not callable(target) and hasattr(
                    target, "__dict__")):
                value = Namespace(target, self._root)  # linalg, fft
            elif callable(target):
                value = self._function(std, target)
            else:
                value = target
        self.__dict__[name] = value
        return value

    def _function(self, name, fn):
        unwrap, wrap = self.unwrap, self.wrap
        promote = name in _BINARY or name in ("where", "clip")

        def call(*args, **kwargs):
            if promote:
                if name == "where":
                    c, *rest = args
                    if isinstance(c, Array) and c.dtype != np.bool_:
                        c = c != 0
                    args = (c, *self._promote(rest))
                elif name == "clip":
                    bounds = [kwargs.pop(k, None) for k in ("min", "max")]
                    args = self._promote(list(args) + bounds[len(args) - 1:])
                else:
                    args = self._promote(args)
            elif name == "astype" and len(args) > 1:
                args = (args[0], self.native_dtype(args[1]), *args[2:])
            if "dtype" in kwargs:
                kwargs["dtype"] = self.native_dtype(kwargs["dtype"])
            return wrap(fn(*[unwrap(a) for a in args],
                           **{k: unwrap(v) for k, v in kwargs.items()}))

        call.__name__ = name
        return call


class Array:
    """A handle on one array of a namespace whose dtypes are not NumPy's.

    ``dtype`` is a NumPy dtype; operators and the methods NumPy-style bodies use (``astype``,
    ``reshape``, ``copy``, ``T``, ``item``) go through the :class:`Namespace`, so they promote as
    NumPy does. ``x[key] = v`` writes in place (through the host where the standard has no way)."""

    __slots__ = ("_a", "_xp", "__weakref__")
    __array_priority__ = 100.0

    def __init__(self, native, xp: Namespace):
        self._a = native
        self._xp = xp

    @property
    def native(self):
        """The library's own array."""
        return self._a

    @property
    def dtype(self) -> np.dtype:
        return self._xp.numpy_dtype(self._a.dtype)

    @property
    def shape(self):
        return tuple(self._a.shape)

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        n = 1
        for s in self._a.shape:
            n *= s
        return n

    @property
    def device(self):
        return self._a.device

    @property
    def T(self):
        """All axes reversed, as NumPy's ``.T`` (the standard's is 2-d only)."""
        return self._xp.permute_dims(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return self._xp.matrix_transpose(self)

    def __array_namespace__(self, api_version=None):
        return self._xp

    def __dlpack__(self, *args, **kwargs):
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()

    def get(self) -> np.ndarray:
        """A NumPy copy."""
        return to_numpy(self._a)

    def __array__(self, dtype=None, copy=None):
        a = self.get()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return f"Array({self.get()!r}, namespace={self._xp._ns.__name__})"

    def __len__(self):
        return self.shape[0]

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return int(self._a)

    def item(self):
        return self.get().reshape(-1)[0].item()

    def astype(self, dtype, copy=True):
        return self._xp.astype(self, dtype, copy=copy)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return self._xp.reshape(self, tuple(shape))

    def copy(self):
        return self._xp.asarray(self, copy=True)

    # -- indexing -------------------------------------------------------------------------------
    def _key(self, key):
        """The key with NumPy index arrays and lists made native (None when the key holds an
        integer array the standard cannot take here)."""
        items = key if isinstance(key, tuple) else (key,)
        out, arrays, masks = [], 0, False
        for k in items:
            if isinstance(k, (list, np.ndarray)):
                k = np.asarray(k)
                if k.dtype != np.bool_ and k.dtype.kind not in "iu":
                    raise IndexError(f"arrays used as indices must be integer or bool, not "
                                     f"{k.dtype}")
                k = Array(self._xp.from_numpy(k), self._xp)
            if isinstance(k, Array):
                arrays += 1
                masks = masks or k.dtype == np.bool_
                k = k._a
            elif isinstance(k, np.integer):
                k = int(k)
            out.append(k)
        if not masks and not any(k is Ellipsis for k in out):
            out.append(Ellipsis)  # NumPy's implicit trailing axes; the standard wants them named
        return tuple(out), arrays

    def __getitem__(self, key):
        native_key, arrays = self._key(key)
        if arrays == 0 or (arrays == 1 and (not isinstance(key, tuple) or len(key) == 1)):
            try:
                return self._xp.wrap(self._a[native_key])
            except (IndexError, TypeError):
                if arrays == 0:
                    raise
        HOST_PATHS["getitem with integer arrays"] += 1
        host_key = _host_key(key)
        return Array(self._xp.from_numpy(np.asarray(self.get()[host_key]), self._a.device),
                     self._xp)

    def __setitem__(self, key, value):
        if isinstance(value, (np.ndarray, np.generic)):
            value = Array(self._xp.from_numpy(np.asarray(value, self.dtype), self._a.device),
                          self._xp) if isinstance(value, np.ndarray) else value.item()
        if isinstance(value, Array) and value.dtype != self.dtype:
            value = value.astype(self.dtype)
        native_key, arrays = self._key(key)
        sole_mask = arrays == 1 and len(native_key) == 1 and getattr(
            native_key[0], "dtype", None) is not None and self._xp.numpy_dtype(
            native_key[0].dtype) == np.bool_
        if arrays == 0 or sole_mask:  # what the standard's __setitem__ takes
            v = value._a if isinstance(value, Array) else _scalar_for(value, self.dtype)
            self._a[native_key] = v
            return
        # Scatter: the standard has none, so write on the host and copy the result back in place.
        HOST_PATHS["setitem with index arrays"] += 1
        h = self.get()
        h[_host_key(key)] = value.get() if isinstance(value, Array) else value
        self._a[...] = self._xp.from_numpy(h, self._a.device)


def _scalar_for(v, dtype):
    """A Python scalar the standard accepts for an array of ``dtype`` (a float meets an int
    array truncated, as NumPy's assignment does)."""
    if dtype.kind in "iu" and isinstance(v, float):
        return int(v)
    if dtype.kind == "b":
        return bool(v)
    return v


def _host_key(key):
    items = key if isinstance(key, tuple) else (key,)
    out = tuple(k.get() if isinstance(k, Array) else k for k in items)
    return out if isinstance(key, tuple) else out[0]


def to_numpy(native) -> np.ndarray:
    """A NumPy copy of a namespace's array: a device array's own copy to the host (``get``:
    CuPy, OpenCL), else DLPack where it speaks it, else ``np.asarray``. Generic op bodies that
    need a few values on the host (to size their outputs, or name bad ones) use it too."""
    get = getattr(native, "get", None)
    if callable(get):
        return np.asarray(get())
    try:
        return np.array(np.from_dlpack(native), copy=True)
    except (TypeError, BufferError, RuntimeError, AttributeError):
        return np.array(np.asarray(native), copy=True)


def _binary(name, reflected=False):
    def method(self, other):
        f = getattr(self._xp, name)
        return f(other, self) if reflected else f(self, other)

    method.__name__ = name
    return method


def _unary(name):
    def method(self):
        return getattr(self._xp, name)(self)

    method.__name__ = name
    return method


install_operators(Array, _binary, _unary)


class ArrayAPIBackend(BackendBase):
    """A backend over an Array API namespace.

    Parameters
    ----------
    namespace : module or str, optional
        The namespace or the name of its module (default: the class attribute ``namespace``).
        Imported here, so a missing library becomes :meth:`available`'s reason, not an error.
    name, device_type : str, optional
        The backend's name and the context type it serves (default: the class attributes;
        ``device_type`` defaults to ``name``).
    """

    namespace: str | ModuleType | None = None
    name = ""
    device_type = ""
    #: Ops run on the host (op name -> why the standard cannot run them), when the namespace
    #: is wrapped (NumPy-dtyped namespaces such as CuPy have NumPy's extras, e.g. ``add.at``).
    host_ops: dict = {
        "_getitem_backward": "scatter-add through integer arrays (``add.at``): the standard has "
                             "no scatter, and a one-hot matmul over every index axis would "
                             "need memory of size(grad) x size(input)",
        "erf": "the standard has no erf, and the generic body's polynomial (|error| < 1.5e-7) "
               "is no float64 erf; the host runs the NumPy backend's exact kernel",
        "erfinv": "the standard has no erf for the generic body's Newton steps: the host runs "
                  "the NumPy backend's exact kernel",
    }

    def __init__(self, namespace=None, name=None, device_type=None):
        namespace = namespace if namespace is not None else self.namespace
        self.name = name or self.name or _module_name(namespace)
        self.device_type = device_type or self.device_type or self.name
        self.xp, self.ns, self._why, self._devices = None, None, None, [None]
        try:
            self.ns = resolve_namespace(namespace)
        except ImportError as e:
            missing = "array-api-compat" if e.name == "array_api_compat" else _module_name(
                namespace)
            self._why = f"{missing} is not installed ({e})"
            return
        except Exception as e:  # a broken library must not break mxplug
            self._why = f"{_module_name(namespace)} failed to load ({type(e).__name__}: {e})"
            return
        info = getattr(self.ns, "__array_namespace_info__", None)
        if info is not None:
            self._devices = list(info().devices()) or [None]
        self.wrapped = not _numpy_dtyped(self.ns)
        self.xp = Namespace(self.ns) if self.wrapped else self.ns
        self.dtypes = tuple(n for n in DTYPE_NAMES if n in BackendBase.dtypes
                            and getattr(self.ns, n, None) is not None)

    def available(self):
        return self._why

    def num_devices(self):
        return len(self._devices)

    def device(self, device_id):
        """The namespace's device object for ``device_id`` (``None``: its default)."""
        return self._devices[device_id]

    def describe(self):
        ns = self.ns
        version = getattr(ns, "__version__", None) or getattr(
            importlib.import_module(ns.__name__.split(".")[0]), "__version__", "?")
        api = getattr(ns, "__array_api_version__", "?")
        return {"version": f"{_module_name(ns)} {version} (Array API {api})",
                "devices": [f"{self.device_type}({i}): {d}" for i, d in enumerate(self._devices)]}

    # -- arrays ---------------------------------------------------------------------------------
    def asarray(self, obj, dtype, device_id):
        h = np.asarray(obj, dtype=dtype)
        if h.dtype.name not in self.dtypes:
            raise TypeError(f"backend {self.name!r} has no {h.dtype.name} (its dtypes: "
                            f"{', '.join(self.dtypes)})")
        dev = self.device(device_id)
        if self.wrapped:
            return Array(self.xp.from_numpy(h, dev), self.xp)
        kw = {} if dev is None else {"device": dev}
        return self.ns.asarray(np.array(h, copy=True), **kw)

    def to_numpy(self, a):
        return to_numpy(a._a if self.wrapped else a)

    def copy_to(self, a, other, device_id):
        return other.asarray(self.to_numpy(a), a.dtype, device_id)

    def from_dlpack(self, obj, device_id):
        """An array sharing memory with a DLPack producer, where the library can share it."""
        r = self.ns.from_dlpack(obj)
        return Array(r, self.xp) if self.wrapped else r

    def setitem(self, a, key, value):
        a[key] = value

    def kernel(self, op_name):
        if self.wrapped and op_name in self.host_ops:
            from ..ops import REGISTRY

            return _host_runner(self, REGISTRY[op_name])
        return None


def _host_runner(backend, op):
    """Run ``op`` as the NumPy backend runs it (its kernel, else the generic body) on host
    copies (for :attr:`ArrayAPIBackend.host_ops`)."""
    from . import registry

    kern, direct = op.kernels.get("numpy") or (None, False)
    if kern is None:
        body = functools.partial(op.generic, np)
    else:
        body = kern if direct else functools.partial(kern, registry.load("numpy"))

    def run(_backend, *args, **attrs):  # resolved like any kernel: backend first
        HOST_PATHS[f"op {op.name}"] += 1
        host = [backend.to_numpy(a) if hasattr(a, "dtype") and not isinstance(a, np.generic)
                else a for a in args]
        out = body(*host, **attrs)
        ctx = attrs.get("ctx")
        did = ctx.device_id if ctx is not None else 0
        if isinstance(out, tuple):
            return tuple(backend.asarray(o, np.asarray(o).dtype, did) for o in out)
        return backend.asarray(out, np.asarray(out).dtype, did)

    return run


def _module_name(namespace) -> str:
    name = namespace if isinstance(namespace, str) else getattr(namespace, "__name__", "?")
    return name


def make_backend(namespace, device_type: str, name: str | None = None) -> ArrayAPIBackend:
    """A backend for ``namespace`` serving ``mx.Context(device_type, i)``, registered at once.

    ``namespace`` is a module or a module name; afterwards ``mx.Context(device_type, 0)`` works
    and ``mxplug info`` lists it. The same works without code through the environment:
    ``MXPLUG_PLUGINS="mydev=array-api:array_api_compat.torch"``.
    """
    from . import registry

    be = ArrayAPIBackend(namespace, name=name or device_type, device_type=device_type)
    registry.register(be)
    return be


class StrictBackend(ArrayAPIBackend):
    """``array_api_strict``, the standard's strictest implementation, as device type ``strict``:
    the CI check that generic op bodies use nothing but the standard."""

    namespace = "array_api_strict"
    name = "array_api_strict"
    device_type = "strict"
