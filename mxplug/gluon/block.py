"""``Block`` and ``HybridBlock``: MXNet 1.x Gluon's model containers.

Children and parameters register by attribute assignment; names follow MXNet's prefixes
(``dense0_``, ``hybridsequential0_dense0_``). A HybridBlock runs ``hybrid_forward(F, x, ...)``
with ``F = mx.nd`` on arrays and ``F = mx.sym`` on Symbols, or a plain ``forward(x)`` override.

Graph building (hybridize, deferred shape inference) *traces* the block's forward on stand-ins
(:mod:`mxplug.graph.trace`): each parameter is a named input of the graph, handed to the forward
through ``Parameter.data()`` (see :mod:`.parameter`), never a captured constant. ``hybridize()``
runs that graph through :class:`~mxplug.graph.cached_op.CachedOp` with the parameters' current
arrays as explicit inputs on every call.
"""

from __future__ import annotations

import itertools
import re
import threading
import warnings
from collections import OrderedDict

import numpy as np

from .. import ndarray as nd
from .. import symbol as sym_mod
from ..base import MXNetValueError
from ..graph.node import Prefix, current_name_manager
from ..graph.symbol import Symbol
from ..graph.trace import Tracer, Tracing
from ..ndarray import NDArray
from ..ops.infer import Spec
from . import params_io
from .nested import _check_hybridized_inputs, _flatten, _match_cached_format, _regroup
from .parameter import (
    DeferredInitializationError,
    Parameter,
    ParameterDict,
    _CheckError,
    _Scope,
    current_scope,
    load_checked,
)

__all__ = ["Block", "HybridBlock", "HookHandle"]


# -- naming ---------------------------------------------------------------------------------------
class _BlockScope:
    """Scope collecting child blocks: gives them prefixes ``<parent prefix><hint><n>_``."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """Prefix and ParameterDict of a new block."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = current_name_manager().get(None, hint) + "_"
            params = ParameterDict(prefix) if params is None else ParameterDict(params.prefix,
                                                                                 params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = Prefix(self._block.prefix)  # symbols made inside get the prefix too
        self._name_scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(*exc)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope


class HookHandle:
    """Handle of a registered hook: ``detach()`` removes it (also usable as a context)."""

    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def detach(self):
        if self._hooks is not None:
            self._hooks.pop(self._key, None)
            self._hooks = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


_hook_ids = itertools.count()


def _indent(text, n):
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * n + ln for ln in lines[1:]])


class Block:
    """Base class of every layer and model. Children and Parameters assigned as attributes are
    registered; :meth:`collect_params` gathers them recursively.

    Parameters
    ----------
    prefix : str, optional
        Name space of the block's children and parameters (default ``<classname><n>_``).
    params : ParameterDict, optional
        Parameters to share (``nn.Dense(20, params=dense0.collect_params())``).
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = OrderedDict()
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        mods = "\n".join(f"  ({k}): {_indent(repr(b), 2)}" for k, b in self._children.items())
        return f"{type(self).__name__}(\n{mods}\n)"

    def __setattr__(self, name, value):
        existing = self.__dict__.get(name)
        if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
            raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                            f"{type(value)} is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params and self._reg_params[name] is not value:
                raise _CheckError(f"Overriding Parameter attribute {name} is not allowed. If you "
                                  f"want to share parameters between blocks, please set 'params' "
                                  f"at Block construction instead.")
            self._reg_params[name] = value
        object.__setattr__(self, name, value)

    def _alias(self):
        return type(self).__name__.lower()

    @property
    def prefix(self):
        """Prefix of this block (``dense0_``)."""
        return self._prefix

    @property
    def name(self):
        """Name of this block: the prefix without its trailing ``_``."""
        return self._name

    def name_scope(self):
        """``with self.name_scope():`` gives children created inside this block's prefix."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (children's parameters are not included)."""
        return self._params

    def _own_params(self):
        own = OrderedDict(self._params.items())
        for p in self._reg_params.values():
            own.setdefault(p.name, p)
        return own

    def collect_params(self, select=None):
        """This block's and its descendants' parameters, optionally filtered by a regex.

        Parameters
        ----------
        select : str, optional
            Regular expression; keeps the names it matches (``'.*weight|.*bias'``).

        Returns
        -------
        ParameterDict
        """
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        pattern = re.compile(select) if select else None
        for name, p in self._own_params().items():
            if pattern is None or pattern.match(name):
                ret._params.setdefault(name, p)
        for child in self._children.values():
            ret.update(child.collect_params(select=select))
        return ret

    def _check_container_with_block(self):
        """Warn about Blocks kept in a plain list/tuple/dict attribute: they are not registered,
        so their parameters would be silently missed (MXNet warns the same way)."""
        children = {id(c) for c in self._children.values()}

        def unregistered(data):
            if isinstance(data, (list, tuple)):
                return any(unregistered(v) for v in data)
            if isinstance(data, dict):
                return any(unregistered(v) for v in data.values())
            return isinstance(data, Block) and id(data) not in children

        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not k.startswith("__") and \
                    k != "_children" and unregistered(v):
                warnings.warn(f'"{type(self).__name__}.{k}" is an unregistered container with '
                              f"Blocks. Note that Blocks inside the list, tuple or dict will not "
                              f"be registered automatically. Make sure to register them using "
                              f"register_child() or switching to nn.Sequential/"
                              f"nn.HybridSequential instead.", stacklevel=3)

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = OrderedDict((prefix + k, v) for k, v in self._reg_params.items())
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def register_child(self, block, name=None):
        """Register ``block`` as a child (attribute assignment does this)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """Call ``hook(block, inputs)`` before each forward. Returns a :class:`HookHandle`."""
        key = next(_hook_ids)
        self._forward_pre_hooks[key] = hook
        return HookHandle(self._forward_pre_hooks, key)

    def register_forward_hook(self, hook):
        """Call ``hook(block, inputs, outputs)`` after each forward. Returns a HookHandle."""
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return HookHandle(self._forward_hooks, key)

    def apply(self, fn):
        """Call ``fn(block)`` on every descendant, then on this block; returns self."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialise all parameters (``collect_params().initialize``).

        Parameters
        ----------
        init : Initializer
            Default initializer for parameters without their own (default ``mx.init.Uniform()``).
        ctx : Context or list of Context
            Contexts to keep copies on (default: the current context).
        verbose : bool
            Log each parameter's initialisation.
        force_reinit : bool
            Re-initialise parameters that already are.
        """
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Hybridize every HybridBlock child (a plain Block itself stays imperative)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Cast parameters (and children's) to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for p in self._own_params().values():
            p.cast(dtype)

    def zero_grad(self):
        """Set all gradients to 0."""
        self.collect_params().zero_grad()

    def reset_ctx(self, ctx):
        """Move all parameters to ``ctx``."""
        self.collect_params().reset_ctx(ctx)

    def setattr(self, name, value):
        """Set an attribute of every parameter (``net.setattr('grad_req', 'null')``)."""
        self.collect_params().setattr(name, value)

    def share_parameters(self, shared):
        """Use the given parameters instead of this block's own (same structure).

        ``shared`` maps structural names (``0.weight``, as :meth:`save_parameters` writes) or
        full names (``dense0_weight``, as ``other.collect_params()`` gives) to Parameters. Full
        names are matched after removing the dict's prefix and this block's. Returns self.
        """
        mine = self._collect_params_with_prefix()
        by_local = {}
        strip = getattr(shared, "prefix", "")
        for key, p in shared.items():
            if key in mine:
                by_local[key] = p
                continue
            local = key[len(strip):] if strip and key.startswith(strip) else key
            for skey, q in mine.items():
                if q.name == self.prefix + local or q.name == local:
                    by_local[skey] = p
        if not by_local:
            raise MXNetValueError(f"share_parameters: none of {list(shared.keys())[:5]} matches "
                                  f"this block's parameters {list(mine)[:5]}")
        for skey, p in by_local.items():
            self._replace_param(skey.split("."), p)
        if isinstance(self, HybridBlock):
            self._clear_cached_op()
        return self

    def _replace_param(self, path, p):
        if len(path) > 1:
            self._children[path[0]]._replace_param(path[1:], p)
            return
        old = self._reg_params[path[0]]
        self._reg_params[path[0]] = p
        object.__setattr__(self, path[0], p)
        if old.name in self._params._params:
            del self._params._params[old.name]
        self._params._params[p.name] = p
        if isinstance(self, HybridBlock):
            self._clear_cached_op()

    # -- saving and loading ----------------------------------------------------------------------
    def save_parameters(self, filename, deduplicate=False):
        """Save parameters under their structural names (``0.weight``) in mxplug's format.

        The file is a NumPy ``.npz`` archive (no pickle), written atomically; see
        :mod:`mxplug.gluon.params_io`. Only values are saved, not the model structure (use
        :meth:`HybridBlock.export` for that).
        """
        params = self._collect_params_with_prefix()
        seen, arrays = {}, {}
        for key, p in params.items():
            if deduplicate and id(p) in seen:
                continue
            seen[id(p)] = key
            arrays[key] = p._reduce()
        params_io.save(filename, arrays)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        """Load a file written by :meth:`save_parameters`, ``ParameterDict.save`` or MXNet 1.x.

        Parameters
        ----------
        filename : str
            Path of the file.
        ctx : Context or list of Context, optional
            Where to put parameters not initialised yet (default: the current context).
        allow_missing : bool
            Leave parameters the file lacks as they are instead of failing.
        ignore_extra : bool
            Ignore entries of the file the block has no parameter for.
        cast_dtype : bool
            Cast saved arrays whose dtype differs (``dtype_source='current'`` keeps the block's
            dtype, ``'saved'`` takes the file's).

        Raises
        ------
        ValueError (also an AssertionError, as MXNet raises)
            Listing, in one table, every missing, unexpected and shape-mismatched parameter;
            nothing is loaded then.
        ParameterFileError
            The file is missing, truncated or corrupted.
        """
        loaded = params_io.load(filename)
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in k for k in loaded):
            # legacy: full names without this block's prefix (save_params / ParameterDict.save)
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype, dtype_source)
            return
        load_checked(params, loaded, filename, ctx, allow_missing, ignore_extra, cast_dtype,
                     dtype_source)

    def save(self, prefix):
        """Save the block tree and parameters to ``<prefix>-model.json`` and
        ``<prefix>-model.params`` (MXNet 1.9.1's ``Block.save``; see
        :mod:`mxplug.gluon.block_file`). :meth:`load` restores them into a model built by the
        same code in the same order."""
        from . import block_file
        block_file.save(self, prefix)

    def load(self, prefix):
        """Load what :meth:`save` wrote: names, children keys and hybridization as they were,
        then the parameters."""
        from . import block_file
        block_file.load(self, prefix)

    def save_params(self, filename):
        """[Deprecated] Save by full names without the prefix; use :meth:`save_parameters`."""
        warnings.warn("save_params is deprecated. Please use save_parameters.", stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """[Deprecated] Use :meth:`load_parameters`."""
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    # -- calling ---------------------------------------------------------------------------------
    def __call__(self, *args):
        """Run the pre-hooks, :meth:`forward`, then the hooks."""
        hooks = current_scope() is None  # no hooks on graph-building stand-ins
        if hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        out = self.forward(*args)
        if hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def forward(self, *args):
        """Override to define the computation."""
        raise NotImplementedError

    def summary(self, *inputs):
        """Print a table of the layers with their output shapes and parameter counts.

        Runs one forward on ``inputs``; the block must not be hybridized.
        """
        from .summary import print_summary
        print_summary(self, inputs)


def _is_symbolic(flat):
    return any(isinstance(a, Symbol) for a in flat)


def _building(flat):
    """Inside a graph build: inline the forward (no nested CachedOp)."""
    return current_scope() is not None or any(isinstance(a, Tracer) for a in flat)


class HybridBlock(Block):
    """A Block that can be compiled to a graph (:meth:`hybridize`) and exported.

    Define either ``hybrid_forward(self, F, x, *args, **params)`` — ``F`` is ``mx.nd`` for arrays
    and ``mx.sym`` for Symbols, ``params`` the registered parameters by attribute name — or a
    plain ``forward(self, x, ...)`` written with ``mx.nd`` and ``param.data()``.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._active = False
        self._flags = {}
        self._cached_op = None
        self._cached_params = None
        self._in_fmt = None
        self._out_fmt = None
        self._fast = None  # (n args, ctx, the params' data lists, their arrays): _fast_call
        self._op_hook = None  # (callback, monitor_all): register_op_hook

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock) and "_cached_op" in self.__dict__:
            self._clear_cached_op()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise MXNetValueError(
                f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                f"{type(block)}. If you are using Sequential, please try HybridSequential "
                f"instead.")
        super().register_child(block, name)
        if "_cached_op" in self.__dict__:
            self._clear_cached_op()

    def _clear_cached_op(self):
        self._cached_op = None
        self._cached_params = None
        self._fast = None

    def __getstate__(self):
        """Pickle (and deepcopy) without the compiled graph, which the next call rebuilds:
        it holds closures over this block."""
        state = self.__dict__.copy()
        state.update(_cached_op=None, _cached_params=None, _fast=None)
        return state

    def register_op_hook(self, callback, monitor_all=False):
        """Call ``callback(name, op_name, array)`` for each op of the hybridized graph.

        After each hybridized call, the graph is run once more op by op (under
        ``autograd.pause()``) and every op's outputs (``hybridsequential0_dense0_fwd_output``)
        and, with ``monitor_all``, its inputs (``..._fwd_data``, ``..._fwd_weight``) are passed
        to ``callback`` with the op's name (``FullyConnected``). Installed on this block and its
        descendants; a block that is not hybridized calls no op hook (as in MXNet). Random ops
        (Dropout) draw again in that second run.

        Parameters
        ----------
        callback : function
            ``callback(name: str, op_name: str, array: NDArray)``.
        monitor_all : bool, default False
            Monitor the ops' inputs too, not only their outputs.
        """
        self._op_hook = (callback, bool(monitor_all))
        self._fast = None  # every call must reach _call_cached_op
        for child in self._children.values():
            if isinstance(child, HybridBlock):
                child.register_op_hook(callback, monitor_all)

    def hybridize(self, active=True, backend=None, backend_opts=None, clear=True, **kwargs):
        """Compile the forward to a graph on the next call (``active=False`` turns it off).

        The graph is traced once per input signature (shapes, dtypes, contexts, training mode)
        and run by a CachedOp; ``static_alloc`` / ``static_shape`` are accepted for MXNet
        compatibility (the graph's memory plan is always computed once per signature).
        """
        if backend is not None:
            raise MXNetValueError(f"hybridize: backend={backend!r} (subgraph backends) is not "
                                  f"supported")
        self._active = bool(active)
        self._flags = dict(kwargs)
        if clear or not active:
            self._clear_cached_op()
        super().hybridize(active, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override: the computation, with ``F`` = ``mx.nd`` or ``mx.sym``."""
        raise NotImplementedError

    def _overrides_forward(self):
        return type(self).forward is not HybridBlock.forward

    # -- calls -----------------------------------------------------------------------------------
    def _fast_call(self, args):
        """The common training call, with nothing left to decide: hybridized and built, plain
        NDArrays on the context of the last call, no hooks, parameters not re-initialised
        since (their data lists are the same objects). None when any of it does not hold."""
        fast = self._fast
        if fast is None or len(args) != fast[0] or self._forward_pre_hooks or \
                self._forward_hooks or current_scope() is not None:
            return None
        ctx = fast[1]
        for a in args:
            if type(a) is not NDArray or a._ctx is not ctx:
                return None
        for p, d in zip(self._cached_params, fast[2]):
            if p._data is not d:
                return None
        out = self._cached_op(*args, *fast[3])
        return out if isinstance(self._out_fmt, int) else _regroup(list(out), self._out_fmt)[0]

    def __call__(self, *args):
        if self._fast is not None:
            out = self._fast_call(args)
            if out is not None:
                return out
        hooks = current_scope() is None
        if hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        out = self._dispatch(args)
        if hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def _dispatch(self, args):
        flat = _flatten(args)[0]
        if _is_symbolic(flat):
            if self._overrides_forward() and current_scope() is None:
                with _Scope({p: p.var() for p in self.collect_params().values()}):
                    return self.forward(*args)
            return self.forward(*args)
        if self._active and not _building(flat):
            return self._call_cached_op(*args)
        if not self._overrides_forward() or current_scope() is not None:
            return self.forward(*args)
        try:
            return self.forward(*args)
        except DeferredInitializationError:
            self._deferred_infer_shape(*args)
            self._finish_all_deferred()
            return self.forward(*args)

    def forward(self, x, *args):
        """Run :meth:`hybrid_forward` with ``F = mx.nd`` (arrays) or ``mx.sym`` (Symbols)."""
        flat = _flatten((x,) + args)[0]
        if _is_symbolic(flat):
            if any(isinstance(a, NDArray) for a in flat):
                raise MXNetValueError("In HybridBlock, there must be one NDArray or one Symbol in "
                                      "the input. Please check the type of the args.")
            params = {k: v.var() for k, v in self._reg_params.items()}
            with self.name_scope():
                return self.hybrid_forward(sym_mod, x, *args, **params)
        if not any(isinstance(a, NDArray) for a in flat):
            raise MXNetValueError("In HybridBlock, there must be one NDArray or one Symbol in the "
                                  "input. Please check the type of the args.")
        if self._active and not _building(flat):  # as MXNet: net.forward(x) runs the graph too
            return self._call_cached_op(x, *args)
        ctx = next((a.context for a in flat if isinstance(a, NDArray)), None)
        try:
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        except DeferredInitializationError:
            self._deferred_infer_shape(x, *args)
            for p in self._own_params().values():
                p._finish_deferred_init()
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        if ctx is None:
            return self.hybrid_forward(nd, x, *args, **params)
        with ctx:
            return self.hybrid_forward(nd, x, *args, **params)

    # -- shape inference -------------------------------------------------------------------------
    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except Exception as e:
            raise MXNetValueError(f"Deferred initialization failed because shape cannot be "
                                  f"inferred. {e}") from e

    def _finish_all_deferred(self):
        for p in self.collect_params().values():
            if p._deferred_init and p.shape is not None and all(s > 0 for s in p.shape):
                p._finish_deferred_init()

    def _infer_specs(self, args):
        """Trace the forward with every parameter as a graph input (unknown shapes allowed) and
        propagate shapes/dtypes from ``args``: ``{parameter: Spec or None}``."""
        from ..graph.inference import propagate

        params = list(self.collect_params().values())
        flat, fmt = _flatten(list(args))
        arrays = [a for a in flat if isinstance(a, NDArray)]
        if not arrays:
            raise MXNetValueError("infer_shape: no NDArray among the inputs")
        shapes, dtypes = {}, {}
        with Tracing(arrays[0].context) as t:
            scope = {}
            for p in params:
                if p._data is not None:
                    d = p._data[0]
                    spec = Spec(tuple(d.shape), np.dtype(d.dtype))
                elif p.shape is not None and all(s > 0 for s in p.shape):
                    spec = Spec(tuple(p.shape), p.dtype)
                else:
                    spec = None
                attrs = {"__dtype__": p.dtype.name}
                if p.shape is not None:
                    attrs["__shape__"] = str(tuple(p.shape))
                scope[p] = t.variable(p.name, spec, attrs)
            stand = []
            for i, a in enumerate(flat):
                if isinstance(a, NDArray):
                    name = f"_input{i}"
                    shapes[name], dtypes[name] = tuple(a.shape), np.dtype(a.dtype)
                    stand.append(t.variable(name, Spec(tuple(a.shape), np.dtype(a.dtype))))
                else:
                    stand.append(a)
            with _Scope(scope):
                out = self.forward(*_regroup(stand, fmt)[0])
        outs = [o._out for o in _flatten(out)[0] if isinstance(o, Tracer)]
        var_specs = propagate(Symbol(outs), shapes, dtypes)[0]
        return {p: var_specs.get(p.name) for p in params}

    def infer_shape(self, *args):
        """Infer the shapes of the parameters (the unknown, 0, dimensions) from inputs."""
        for p, spec in self._infer_specs(args).items():
            if spec is not None and p._data is None:
                p.shape = spec.shape

    def infer_type(self, *args):
        """Infer the dtypes of the parameters from inputs."""
        for p, spec in self._infer_specs(args).items():
            if spec is not None and p._data is None:
                p.dtype = spec.dtype

    # -- hybridized calls -------------------------------------------------------------------------
    def _build_cached_op(self, flat, fmt):
        from ..graph.cached_op import CachedOp

        n_arrays = sum(isinstance(a, NDArray) for a in flat)
        names = ["data"] if n_arrays == 1 else [f"data{i}" for i in range(n_arrays)]
        params = [p for p in self.collect_params().values()
                  if not (p._data is None and p._deferred_init)]
        names += [p.name for p in params]
        n_flat = len(flat)

        def graph_fn(*inputs):
            scope = dict(zip(params, inputs[n_flat:]))
            with _Scope(scope):
                out = self.forward(*_regroup(list(inputs[:n_flat]), fmt)[0])
            outs, self._out_fmt = _flatten(out)
            return outs[0] if isinstance(self._out_fmt, int) else tuple(outs)

        graph_fn.__name__ = self.name
        self._cached_params, self._in_fmt = params, fmt
        self._cached_op = CachedOp(graph_fn, name=self.name, input_names=names)

    def _call_cached_op(self, *args):
        flat, fmt = _flatten(list(args))
        _check_hybridized_inputs(self, flat)
        ctx = next((a.context for a in flat if isinstance(a, NDArray)), None)
        if self._cached_op is not None and fmt != self._in_fmt:
            matched = _match_cached_format(flat, fmt, self._in_fmt)
            if matched is None:
                self._clear_cached_op()
            else:
                flat, fmt = matched
        if self._cached_op is None:
            if any(p._data is None and p._deferred_init
                   for p in self.collect_params().values()):
                self._deferred_infer_shape(*args)
                self._finish_all_deferred()
            self._build_cached_op(flat, fmt)
        try:
            pdata = [p.data(ctx) for p in self._cached_params]
        except DeferredInitializationError:  # re-initialised with unknown shapes since
            self._clear_cached_op()
            return self._call_cached_op(*args)
        out = self._cached_op(*flat, *pdata)
        if self._op_hook is not None:
            from .symbol_block import run_op_hook
            run_op_hook(self, list(flat) + list(pdata))
        elif isinstance(fmt, list) and fmt == [0] * len(flat) and ctx is not None:
            self._fast = (len(flat), ctx, [p._data for p in self._cached_params], pdata)
        if isinstance(self._out_fmt, int):
            return out
        return _regroup(list(out), self._out_fmt)[0]

    # -- export ------------------------------------------------------------------------------------
    def _traced_graph(self):
        cache = getattr(self._cached_op, "_cache", None)
        if not cache:
            raise RuntimeError("Please first call block.hybridize() and then run forward with "
                               "this block at least once before calling export.")
        return next(iter(cache.values())).graph

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write the graph to ``path-symbol.json`` and parameters to ``path-%04d.params``.

        Both files are in MXNet 1.x's formats (symbol JSON; the binary ``nd.save`` format with
        ``arg:``/``aux:`` keys), so MXNet's ``SymbolBlock.imports`` reads them too.
        Requires a hybridized block that has run forward once. Returns both file names.
        Read them back with :meth:`SymbolBlock.imports`.
        """
        from .symbol_block import export_block
        return export_block(self, path, epoch, remove_amp_cast)
