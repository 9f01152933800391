"""``Parameter``, ``Constant`` and ``ParameterDict``: MXNet 1.x Gluon's weights.

A Parameter holds one copy of its array per context it was initialised on, and one gradient per
copy (``attach_grad`` with the parameter's ``grad_req``). A shape with 0 entries is unknown:
with ``allow_deferred_init`` the initialisation waits until the first forward has inferred it.

While a block builds a graph (hybridize's trace, deferred shape inference, a symbolic call),
``data()`` returns the graph's stand-in for the parameter instead of its array: the parameter is
then an explicit input of the graph, never a captured constant, so ``set_data``, re-initialisation
and ``reset_ctx`` are seen by the next run.
"""

from __future__ import annotations

import re
import threading
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from .. import autograd
from .. import ndarray as nd
from ..base import MXNetError, MXNetValueError, dtype_of
from ..context import Context, cpu, current_context
from . import params_io

__all__ = ["Parameter", "Constant", "ParameterDict", "DeferredInitializationError"]


class DeferredInitializationError(MXNetError, RuntimeError):
    """Error for unfinished deferred initialisation (the first forward has not run yet)."""


class _StateError(MXNetError, RuntimeError):
    """MXNet raises RuntimeError here (its MXNetError is a RuntimeError)."""


class _CheckError(MXNetValueError, AssertionError):
    """A failed check MXNet makes with ``assert``: catchable as either type."""


# -- graph-building scope: parameter -> stand-in (Tracer or Symbol) ---------------------------
_local = threading.local()


def current_scope():
    return getattr(_local, "scope", None)


class _Scope:
    """``with _Scope({param: stand_in}):`` while a block builds a graph."""

    def __init__(self, mapping):
        self.mapping = mapping

    def __enter__(self):
        self._old = current_scope()
        _local.scope = self.mapping
        return self

    def __exit__(self, *exc):
        _local.scope = self._old


def _shape_known(shape):
    return shape is not None and all(int(s) > 0 for s in shape)


def _init_module():
    try:
        from .. import init
    except ImportError as e:
        raise MXNetError(f"mx.init (initializers) is not available in this build: {e}; pass "
                         f"arrays with set_data or load_parameters instead") from None
    return init


class Parameter:
    """A weight of a Block: its arrays on one or more contexts, their gradients and metadata.

    Parameters
    ----------
    name : str
        Full name (``dense0_weight``).
    grad_req : {'write', 'add', 'null'}
        How gradients are stored: overwritten, accumulated, or not kept.
    shape : int or tuple of int, optional
        Shape; 0 marks a dimension inferred at the first forward (deferred initialisation).
    dtype : numpy dtype or str
        Data type (default float32).
    lr_mult, wd_mult : float
        Multipliers of the learning rate and weight decay for this parameter.
    init : Initializer or str, optional
        Its own initializer (wins over the one given to ``initialize``).
    allow_deferred_init : bool
        Whether initialisation may wait for the shape to be inferred.
    differentiable : bool
        False forces ``grad_req='null'``.
    stype, grad_stype : str
        Storage types; only ``'default'`` (dense) is supported.
    """

    def __init__(self, name, grad_req="write", shape=None, dtype=np.float32, lr_mult=1.0,
                 wd_mult=1.0, init=None, allow_deferred_init=False, differentiable=True,
                 stype="default", grad_stype="default"):
        for kind, value in (("stype", stype), ("grad_stype", grad_stype)):
            if value not in ("default", "row_sparse", "csr"):  # MXNet asserts this
                raise _CheckError(f"Parameter {name!r}: invalid {kind} {value!r}; expected "
                                  f"'default', 'row_sparse' or 'csr'")
        if stype != "default" or grad_stype != "default":
            raise MXNetValueError(f"Parameter {name!r}: only dense storage ('default') is "
                                  f"supported, got stype={stype!r}, grad_stype={grad_stype!r}")
        self._var = None
        self._trainer = None  # weakref to the Trainer updating this parameter
        self._data = None  # list of NDArray, one per context
        self._ctx_index = {}
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        self._shape = tuple(int(s) for s in shape) if shape is not None else None
        self.name = name
        self._dtype = dtype_of(dtype)
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.init = init
        self._stype = stype
        self._grad_stype = grad_stype
        self.grad_req = grad_req

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype.name})"

    # -- attributes --------------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise _CheckError(f"grad_req must be one of 'write', 'add', or 'null', but got "
                              f"{req!r}")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if self._data is not None:
            if req == "null":
                for d in self._data:
                    d._ag = None  # no gradient buffer, no tape entries through it
            else:
                self._init_grad()

    @property
    def dtype(self):
        """The data type as a ``numpy.dtype`` (compares equal to ``np.float32``/'float32')."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self._dtype = dtype_of(dtype)

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        new_shape = tuple(int(s) for s in new_shape)
        if self._shape is not None and not (
                len(self._shape) == len(new_shape)
                and all(j in (0, -1, i) for i, j in zip(new_shape, self._shape))):
            raise _CheckError(f"Expected shape {new_shape} is incompatible with given shape "
                              f"{self._shape} (Parameter {self.name!r}).")
        self._shape = new_shape

    @property
    def stype(self):
        return self._stype

    @property
    def grad_stype(self):
        return self._grad_stype

    @property
    def differentiable(self):
        return self._differentiable

    @differentiable.setter
    def differentiable(self, value):
        self._differentiable = bool(value)
        if not value:
            self.grad_req = "null"

    @property
    def allow_deferred_init(self):
        return self._allow_deferred_init

    @allow_deferred_init.setter
    def allow_deferred_init(self, value):
        self._allow_deferred_init = bool(value)

    # -- initialisation ----------------------------------------------------------------------------
    def initialize(self, init=None, ctx=None, default_init=None, force_reinit=False):
        """Allocate and initialise the arrays on ``ctx`` (one context or a list).

        Parameters
        ----------
        init : Initializer, optional
            Overrides ``default_init`` (and ``self.init`` when given).
        ctx : Context or list of Context, optional
            Where to keep copies (default: the current context). One copy per context.
        default_init : Initializer
            Used when neither ``init`` nor ``self.init`` is set (default ``Uniform()``).
        force_reinit : bool
            Re-initialise even if already initialised (new arrays replace the old ones).
        """
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set "
                          f"force_reinit=True to re-initialize.", stacklevel=2)
            return
        self._data = None
        ctx = _ctx_list(ctx)
        if default_init is None:
            default_init = _init_module().Uniform()
        if init is None:
            init = default_init if self.init is None else self.init
        if not _shape_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise _CheckError(f"Cannot initialize Parameter '{self.name}' because it has invalid "
                              f"shape: {self.shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        """Initialise now that the shape is known (after the first forward inferred it)."""
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        if not _shape_known(self.shape):
            raise _CheckError(f"Cannot initialize Parameter '{self.name}' because it has invalid "
                              f"shape: {self.shape}. Please specify in_units, in_channels, etc "
                              f"for `Block`s.")
        self._deferred_init = ()
        with autograd.pause():
            if data is None:
                # on the host, as MXNet does: the same numbers whatever the target backend
                data = nd.zeros(self.shape, ctx=cpu(), dtype=self.dtype)
                self._run_initializer(init, default_init, data)
            self._init_impl(data, ctx)

    def _run_initializer(self, init, default_init, data):
        mxinit = _init_module()
        mxinit.create(default_init)(mxinit.InitDesc(self.name, {"__init__": init}), data)

    def _init_impl(self, data, ctx_list):
        if not isinstance(data, nd.NDArray):
            data = nd.array(data, dtype=self.dtype)
        self._ctx_index = {c: i for i, c in enumerate(ctx_list)}
        with autograd.pause():
            self._data = [data.copyto(c) if data.context != c else data.copy()
                          for c in ctx_list]
        self._init_grad()

    def _init_grad(self):
        if self._grad_req == "null" or self._data is None:
            return
        for d in self._data:
            d.attach_grad(self._grad_req)

    # -- access ----------------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_index.get(ctx)
            if idx is not None:
                return arr_list[idx]
            raise _StateError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                              f"It was only initialized on {self.list_ctx()}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                f"was deferred. Actual initialization happens during the first forward pass. "
                f"Please pass one batch of data through the network before accessing "
                f"Parameters. You can also avoid deferred initialization by specifying in_units, "
                f"num_features, etc., for network layers.")
        raise _StateError(f"Parameter '{self.name}' has not been initialized. Note that you "
                          f"should initialize parameters and create Trainer with "
                          f"Block.collect_params() instead of Block.params because the later "
                          f"does not include Parameters of nested child Blocks")

    def data(self, ctx=None):
        """The array on ``ctx`` (default: the only copy, else the current context's)."""
        scope = getattr(_local, "scope", None)
        if scope is not None:
            stand_in = scope.get(self)
            if stand_in is not None:
                return stand_in
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        """The arrays on every context, in initialisation order."""
        return list(self._check_and_get(self._data, list))

    def grad(self, ctx=None):
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad_req == "null":
            raise _StateError(f"Cannot get gradient array for Parameter '{self.name}' because "
                              f"grad_req='null'")
        data = self._check_and_get(self._data, ctx)
        return data.grad

    def list_grad(self):
        """The gradient buffers on every context."""
        if self._data is not None and self._grad_req == "null":
            raise _StateError(f"Cannot get gradient array for Parameter '{self.name}' because "
                              f"grad_req='null'")
        return [d.grad for d in self._check_and_get(self._data, list)]

    @property
    def _grad(self):
        """MXNet's private list of gradient buffers (None when ``grad_req='null'`` or not
        initialised); code written against MXNet 1.x reads it."""
        if self._data is None or self._grad_req == "null":
            return None
        return [d.grad for d in self._data]

    def list_ctx(self):
        """The contexts this parameter is (or will be, when deferred) initialised on."""
        if self._data is None:
            if self._deferred_init:
                return list(self._deferred_init[1])
            raise _StateError(f"Parameter '{self.name}' has not been initialized")
        return list(self._ctx_index)

    def zero_grad(self):
        """Set the gradient buffers to 0."""
        if self._data is None or self._grad_req == "null":
            return
        with autograd.pause():
            for d in self._data:
                d.grad[:] = 0

    def _set_trainer(self, trainer):
        """Remember the Trainer that updates this parameter (weakly)."""
        self._trainer = weakref.ref(trainer) if trainer is not None else None

    def _reset_trainer_kvstore(self):
        """New values from outside the Trainer: a kvstore that runs the optimizer holds stale
        copies of the weights, so it is rebuilt at the next step (as MXNet does)."""
        trainer = self._trainer() if self._trainer is not None else None
        if trainer is not None and trainer._kv_initialized and trainer._update_on_kvstore:
            trainer._reset_kvstore()

    def set_data(self, data):
        """Write ``data`` into every copy (in place), or keep it for a deferred init."""
        self._reset_trainer_kvstore()
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise _StateError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        with autograd.pause():
            for arr in self._data:
                if isinstance(data, nd.NDArray) and data.context != arr.context:
                    arr[:] = data.as_in_context(arr.context)
                else:
                    arr[:] = data

    def reset_ctx(self, ctx):
        """Move the parameter to other contexts (copies averaged when there were several)."""
        ctx = _ctx_list(ctx)
        if self._data is not None:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise _CheckError(f"Cannot reset context for Parameter '{self.name}' because it has "
                              f"not been initialized.")

    def _reduce(self):
        """One array: the data, averaged over the contexts when there are several."""
        block = self.list_data()
        with autograd.pause():
            if len(block) == 1:
                return block[0].copy()
            first = block[0].context
            total = block[0].copy()
            for w in block[1:]:
                total += w.as_in_context(first)
            return total / len(block)

    def var(self):
        """A Symbol variable for this parameter (name, shape, dtype, lr/wd mults, init)."""
        if self._var is None:
            from ..graph.symbol import var
            self._var = var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                            wd_mult=self.wd_mult, init=self.init)
        return self._var

    def cast(self, dtype):
        """Convert data (and gradients) to ``dtype``."""
        self._dtype = dtype_of(dtype)
        self._var = None
        if self._data is None:
            return
        with autograd.pause():
            self._data = [d.astype(self._dtype) for d in self._data]
        self._init_grad()

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Take ``data`` (NumPy or NDArray) from a file; the checks are done by the caller."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            raise _CheckError(f"dtype_source must be 'current' or 'saved', got {dtype_source!r}")
        if self.shape is not None:
            if not _shape_fits(self.shape, data.shape):
                raise _CheckError(f"Failed loading Parameter '{self.name}' from saved params: "
                                  f"shape incompatible expected {self.shape} vs saved "
                                  f"{tuple(data.shape)}")
        self._shape = tuple(data.shape)
        saved = np.dtype(data.dtype)
        if saved != self._dtype:
            if not cast_dtype:
                raise _CheckError(f"Failed loading Parameter '{self.name}' from saved params: "
                                  f"dtype incompatible expected {self._dtype} vs saved {saved}. "
                                  f"Set cast_dtype=True to cast the dtype of saved params.")
            if dtype_source == "saved":
                self._dtype = saved
        arr = nd.array(data, ctx=cpu(), dtype=self._dtype)
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1] if ctx is None else ctx
            elif ctx is None:
                # MXNet loads onto cpu(); the current context is cpu() unless the user picked
                # another default (MXPLUG_DEFAULT_CONTEXT, `with ctx:`), which is what they run on
                ctx = [current_context()]
            self._deferred_init = ()
            self._init_impl(arr, list(ctx))
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                raise _CheckError(f"Failed to load Parameter '{self.name}' on {list(ctx)} because "
                                  f"it was previous initialized on {self.list_ctx()}.")
            if self._data[0].dtype != self._dtype:  # dtype_source='saved' changed it
                self._reset_trainer_kvstore()
                self._init_impl(arr, self.list_ctx())
            else:
                self.set_data(arr)
        self._deferred_init = ()


def _shape_fits(mine, saved):
    return len(mine) == len(saved) and all(i in (0, -1, j) for i, j in zip(mine, saved))


def _ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    ctx = [Context(c) for c in ctx]
    if not ctx:
        raise MXNetValueError("ctx: an empty list of contexts")
    return ctx


class Constant(Parameter):
    """A parameter that is never updated (``grad_req='null'``) holding ``value``.

    Parameters
    ----------
    name : str
        Full name.
    value : NDArray or array-like
        The constant's value (its shape and dtype are the parameter's).
    """

    def __init__(self, name, value):
        if not isinstance(value, nd.NDArray):
            value = nd.array(value, ctx=cpu())
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init="constant_value")

    def _run_initializer(self, init, default_init, data):
        data[:] = self.value.as_in_context(data.context)

    @Parameter.grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(f"Constant parameter {self.name!r} does not support grad_req other "
                          f"than 'null', and new value {req!r} is ignored.", stacklevel=2)
        Parameter.grad_req.fset(self, "null")

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype.name})"


class ParameterDict:
    """An ordered ``{full name: Parameter}`` with a prefix, optionally sharing another dict.

    Parameters
    ----------
    prefix : str
        Prepended to names given to :meth:`get`.
    shared : ParameterDict, optional
        Parameters looked up there first by :meth:`get` (weight sharing).
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = f"{self._prefix} " if self._prefix else ""
        body = "\n".join(f"  {v}" for v in self.values())
        return f"{name}(\n{body}\n)"

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._shared._params[name]
        return None

    def get(self, name, **kwargs):
        """The parameter ``prefix + name``, created with ``kwargs`` if absent.

        When it exists, each given attribute must match the stored one (0 dims of a stored
        shape are filled from the given shape), else an error names the attribute.
        """
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if not hasattr(param, k) or getattr(param, k) is None:
                setattr(param, k, v)
                continue
            existing = getattr(param, k)
            if k == "shape" and v is not None:
                v = (v,) if isinstance(v, int) else tuple(v)
                if len(v) == len(existing) and all(
                        a == b or a <= 0 or b <= 0 for a, b in zip(v, existing)):
                    param.shape = tuple(a if a > 0 else b for a, b in zip(v, existing))
                    continue
            elif k == "dtype" and v is not None and np.dtype(v) == existing:
                continue
            elif k == "init" and v is not None and str(v) == str(existing):
                continue
            if v is not None and v != existing:
                raise _CheckError(f"Cannot retrieve Parameter '{name}' because desired attribute "
                                  f"does not match with stored for attribute '{k}': desired "
                                  f"'{v}' vs stored '{existing}'.")
        return param

    def get_constant(self, name, value=None):
        """The :class:`Constant` ``prefix + name``, created from ``value`` if absent."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want "
                               f"to create a new constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise _CheckError(f"Parameter '{name}' already exists but it is not a constant.")
            v = value.asnumpy() if isinstance(value, nd.NDArray) else np.asarray(value)
            if v.shape != param.value.shape or not np.array_equal(v, param.value.asnumpy()):
                raise _CheckError(f"Constant '{name}' already exists but its value doesn't "
                                  f"match new value")
        return param

    def update(self, other):
        """Add ``other``'s parameters; the same name must mean the same Parameter."""
        for k, v in other.items():
            if k in self._params:
                if self._params[k] is not v:
                    raise _CheckError(f"Cannot update self with other because they have "
                                      f"different Parameters with the same name '{k}'")
            else:
                self._params[k] = v

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialise every parameter (``init`` defaults to ``mx.init.Uniform()``)."""
        if init is None:
            init = _init_module().Uniform()
        if verbose and hasattr(init, "set_verbosity"):
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        """Set every gradient to 0."""
        for v in self.values():
            v.zero_grad()

    def reset_ctx(self, ctx):
        for v in self.values():
            v.reset_ctx(ctx)

    def list_ctx(self):
        out = []
        for v in self.values():
            for c in v.list_ctx():
                if c not in out:
                    out.append(c)
        return out

    def setattr(self, name, value):
        """Set an attribute on every parameter (``setattr('grad_req', 'null')``)."""
        for v in self.values():
            setattr(v, name, value)

    def select(self, pattern):
        """The parameters whose names match the regular expression ``pattern``."""
        ret = ParameterDict(self._prefix)
        rx = re.compile(pattern)
        ret._params.update((k, v) for k, v in self.items() if rx.match(k))
        return ret

    def save(self, filename, strip_prefix=""):
        """Save by full name (minus ``strip_prefix``) in mxplug's ``.npz`` format."""
        arrays = {}
        for param in self.values():
            if not param.name.startswith(strip_prefix):
                raise _CheckError(f"Prefix '{strip_prefix}' is to be striped before saving, but "
                                  f"Parameter's name '{param.name}' does not start with "
                                  f"'{strip_prefix}'. this may be due to your Block shares "
                                  f"parameters from other Blocks or you forgot to use "
                                  f"'with name_scope()' when creating child blocks.")
            arrays[param.name[len(strip_prefix):]] = param._reduce()
        params_io.save(filename, arrays)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        """Load a file saved by :meth:`save` (or an ``export`` file: ``arg:``/``aux:`` keys).

        Every mismatch (missing, unexpected, shape) is reported at once, in one table, and
        nothing is loaded when there is any.
        """
        loaded = {(k[4:] if k.startswith(("arg:", "aux:")) else k): v
                  for k, v in params_io.load(filename).items()}
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise _CheckError(f"restore_prefix is '{restore_prefix}' but Parameters name "
                                      f"'{name}' does not start with '{restore_prefix}'")
            loaded = {restore_prefix + k: v for k, v in loaded.items()}
        load_checked(self._params, loaded, filename, ctx, allow_missing, ignore_extra,
                     cast_dtype, dtype_source)


def load_checked(params, loaded, filename, ctx, allow_missing, ignore_extra, cast_dtype,
                 dtype_source):
    """Check ``loaded`` against ``params`` (both keyed alike), report every problem in one table,
    then load. Shared by ``ParameterDict.load`` and ``Block.load_parameters``."""
    rows = []
    if not allow_missing:
        # a shared parameter is saved once (save_parameters(deduplicate=True)): any of its
        # names in the file will do
        found = {id(p) for k, p in params.items() if k in loaded}
        rows += [(k, "missing", _fmt(p.shape), "-") for k, p in params.items()
                 if id(p) not in found]
    if not ignore_extra:
        rows += [(k, "unexpected", "-", _fmt(v.shape)) for k, v in loaded.items()
                 if k not in params]
    for k, v in loaded.items():
        p = params.get(k)
        if p is not None and p.shape is not None and not _shape_fits(p.shape, v.shape):
            rows.append((k, "shape", _fmt(p.shape), _fmt(v.shape)))
        elif p is not None and not cast_dtype and np.dtype(v.dtype) != p.dtype:
            rows.append((k, "dtype", p.dtype.name, np.dtype(v.dtype).name))
    if rows:
        raise _CheckError(_table(filename, rows))
    for k, v in loaded.items():
        if k in params:
            params[k]._load_init(v, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)


def _fmt(shape):
    return "?" if shape is None else str(tuple(shape))


def _table(filename, rows):
    head = ("parameter", "problem", "in the block", "in the file")
    widths = [max(len(str(r[i])) for r in [*rows, head]) for i in range(4)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in [head, *rows]]
    hints = []
    kinds = {r[1] for r in rows}
    if "missing" in kinds:
        hints.append("allow_missing=True skips parameters the file lacks")
    if "unexpected" in kinds:
        hints.append("ignore_extra=True ignores parameters the block lacks")
    if "dtype" in kinds:
        hints.append("cast_dtype=True converts dtypes")
    hint = ("; ".join(hints) + ".") if hints else ""
    return (f"parameter file {str(filename)!r} does not match the parameters "
            f"({len(rows)} problem{'s' if len(rows) > 1 else ''}); nothing was loaded:\n  "
            + "\n  ".join(lines) + (f"\n{hint}" if hint else ""))
