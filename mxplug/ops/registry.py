"""THE op registry: every op is declared once, with its rules next to its forward.

An :class:`Op` bundles, for one op:
- ``inputs`` (array argument names) and ``attrs`` (named attributes with defaults and parsers);
- ``infer``: the shape/dtype rule, ``infer(*specs, **attrs) -> Spec | tuple[Spec, ...]``;
- a generic implementation ``impl(xp, *arrays, **attrs)`` over an array-API namespace ``xp``,
  or a ``compose(*ndarrays, **attrs)`` body written in other mxplug ops (a composite);
- per-backend ``kernel`` overrides ``kernel(backend, *arrays, **attrs)``;
- the ``vjp`` slot ``vjp(g, out, *inputs, **attrs) -> tuple`` (filled by the autograd layer);
- ``samples``: functions ``rng -> Sample`` that the generic test suite runs.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass, field

from ..base import MXNetError, MXNetNotImplementedError, is_float
from .attrs import Attr, Str, as_attr

__all__ = ["Op", "defop", "get_op", "REGISTRY", "Sample", "COMPOSE", "set_kernel_wrapper",
           "kernel_wrapper"]

REGISTRY: dict[str, Op] = {}
#: Resolution marker: run the op's ``compose`` body on NDArrays instead of a kernel.
COMPOSE = object()
#: Bumped whenever a kernel wrapper is installed or removed: compiled graph steps hold the
#: callables they resolved, so a Program compares this once per run and recompiles.
generation = 0
#: The installed kernel wrapper (``mxplug.profiler`` while it runs), or None. It is applied where
#: callables are handed out (``resolve``, ``out_kernels``, ``composite``), never per call, so
#: nothing is left on the hot path when it is None.
_wrapper = None


def kernel_wrapper():
    """The installed kernel wrapper, or None."""
    return _wrapper


def set_kernel_wrapper(wrapper) -> None:
    """Install ``wrapper`` (None removes it): every op's resolved callables are dropped and
    handed out again through ``wrapper.kernel(op, backend, fn)``, its out-kernels through
    ``wrapper.out_kernel(op, backend_name, fn)`` and its composite body through
    ``wrapper.composite(op, fn)``; compiled graphs recompile their steps on their next run."""
    global _wrapper, generation
    _wrapper = wrapper
    generation += 1
    for op in {id(o): o for o in REGISTRY.values()}.values():
        op._resolved.clear()
        op._rewrap()


@dataclass
class Sample:
    """Inputs (NumPy arrays or Python scalars) and attributes for one test case of an op."""

    inputs: list
    attrs: dict = field(default_factory=dict)
    #: Keep float inputs at their given dtype instead of sweeping test dtypes (e.g. index arrays).
    fixed_dtype: bool = False
    #: False when the op is not differentiable at these inputs (autograd checks skip it).
    grad: bool = True

    def __init__(self, *inputs, fixed_dtype=False, grad=True, **attrs):
        self.inputs, self.attrs = list(inputs), attrs
        self.fixed_dtype, self.grad = fixed_dtype, grad


def _memo_key(v):
    """``v`` with the type of every element, so that values that compare equal across types
    (``1 == True == 1.0``, an index placeholder ``IndexArg(0) == 0``) stay apart. Mutable and
    unhashable values raise TypeError: such calls are not memoised."""
    if type(v) is tuple:
        return (tuple, tuple(_memo_key(x) for x in v))
    if type(v) is list:
        raise TypeError("a list may change after the call")
    return (type(v), v)


def _floats_checked(op, fn, lead=0):
    """``fn(*arrays_or_specs, **attrs)`` first checking the inputs ``op.floats`` declared;
    ``lead`` arguments come before the inputs (an out-kernel's backend and ``out``)."""
    from .infer import expect_float

    if fn is None:
        return fn
    positions = op.float_positions
    names = op.inputs

    @functools.wraps(fn)
    def checked(*args, **attrs):
        inputs = args[lead:]
        for k in positions or range(len(inputs)):
            dt = getattr(inputs[k], "dtype", None) if k < len(inputs) else None
            # raw arrays and Specs carry an np.dtype, NDArrays a scalar type
            if dt is not None and getattr(dt, "kind", None) != "f" and not is_float(dt):
                expect_float(inputs[k], op.name, names[k] if k < len(names) else f"input {k}")
        return fn(*args, **attrs)
    return checked


class Op:
    """One registered op. Create with :func:`defop`; call through ``apply`` or ``mx.nd.<name>``."""

    def __init__(
        self,
        name,
        inputs=("data",),
        attrs=None,
        infer=None,
        nout=1,
        variadic=False,
        differentiable=True,
        doc="",
        aliases=(),
        random=False,
        nograd_inputs=(),
        extra_attrs=False,
    ):
        self.name = name
        self.inputs = tuple(inputs)
        self.variadic = variadic
        self.attrs: dict[str, Attr] = {k: as_attr(v) for k, v in (attrs or {}).items()}
        self.defaults = {k: a.default for k, a in self.attrs.items()}
        #: ``extra_attrs=True``: names not declared are kept as strings instead of rejected
        #: (``Custom`` hands its keyword arguments to the user's Prop as strings, as MXNet does).
        self.extra_attr = Str(None) if extra_attrs else None
        self.infer = infer
        self.nout = nout
        self.differentiable = differentiable
        self.doc = doc
        self.aliases = tuple(aliases)
        #: Other keyword names of inputs (``{"right": "rhs"}``: MXNet's ``mx.sym.maximum(left,
        #: right)`` where ``mx.nd.maximum`` says ``lhs, rhs``; mxplug traces with ``F = mx.nd``).
        self.input_aliases: dict = {}
        #: Inputs that never get a gradient although they may hold floats (labels, lengths,
        #: indices): the VJP returns None for them, and gradient checks leave them out.
        self.nograd_inputs = frozenset(nograd_inputs)
        #: Inputs that are state the op updates rather than arguments (BatchNorm's moving
        #: statistics): a Symbol lists them as auxiliary states, not arguments.
        self.aux_inputs = frozenset()
        #: Positions of the inputs that must hold floating-point numbers (``floats``); None:
        #: any dtype the body takes.
        self.float_positions = None
        #: ``fn(input dtypes, attrs) -> output dtypes`` for ``Symbol.infer_type`` before shapes
        #: are known, where the outputs take neither the first input's dtype nor the ``dtype``
        #: attribute (``where``, ``shape_array``, ``topk``, ...); None: that default.
        self.dtype_rule = None
        self.params_fn = None
        #: ``fn(attrs) -> input names`` of a variadic op whose inputs depend on its attributes
        #: (RNN): ``mx.sym`` creates variables for those not given, as MXNet does.
        self.auto_inputs = None
        #: ``fn(attrs) -> names`` of the auxiliary-state inputs of an op whose inputs depend on
        #: its attributes (Custom: its Prop lists them); None: ``aux_inputs`` says.
        self.aux_roles = None
        #: ``fn(attrs) -> names`` of the outputs where MXNet names them (RNN's ``output``,
        #: ``state_output``, ...): ``Symbol.list_outputs`` uses them; None gives ``output<k>``.
        self.output_names = None
        #: ``aux_update(args, attrs)``: in-place update of auxiliary states after a training
        #: forward (BatchNorm's moving statistics); None for ops without state.
        self.aux_update = None
        #: Draws random numbers: front ends fill its ``key``/``counter`` attrs from mxplug.random.
        self.random = random
        #: The kernels may return a view of an input (transpose, squeeze, stop_gradient): the
        #: resolved callable copies the result, since MXNet's ops hand out fresh memory (only
        #: reshape and basic indexing share it) and a write into the result must not reach the
        #: input. (A bound graph's planned steps write into their own buffers anyway.)
        self.view_of_input = False
        #: The VJP is a loss's gradient, not the forward's derivative (SoftmaxOutput, MakeLoss):
        #: autograd records one entry with it even where the forward runs as a composite.
        self.loss_gradient = False
        self.generic = None  # impl(xp, *arrays, **attrs)
        self.composite = None  # body(*ndarrays, **attrs) in mxplug ops (maybe wrapped)
        self.kernels: dict = {}  # backend name -> kernel(backend, *arrays, **attrs)
        #: backend name -> ``fn(backend, out, *arrays, **attrs)`` writing the result into ``out``:
        #: what ``out=`` calls use to skip the temporary (see ``dispatch.apply_into``).
        self.out_kernels: dict = {}
        #: the unwrapped composite and out-kernels (the two above while no wrapper is installed)
        self.plain_composite = None
        self.plain_out_kernels = self.out_kernels
        self.vjp_fn = None
        self.sample_fns: list = []
        self._resolved: dict = {}
        self._parsed: dict = {}  # parse_attrs memo

    # -- declaration decorators ---------------------------------------------------------------
    def impl(self, fn):
        """Register the generic implementation ``fn(xp, *arrays, **attrs)``."""
        self.generic = fn
        self._resolved.clear()
        return fn

    def compose(self, fn):
        """Register a body written in mxplug ops: ``fn(*ndarrays, **attrs)``."""
        self.plain_composite = fn if self.float_positions is None else _floats_checked(self, fn)
        self._resolved.clear()
        self._rewrap()
        return fn

    def kernel(self, backend_name: str, direct: bool = False):
        """Decorator: a backend-specific kernel ``fn(backend, *arrays, **attrs)``.

        ``direct=True`` registers ``fn(*arrays, **attrs)`` (no backend argument), called without
        a wrapper; for the hottest ops, where one Python frame is a measurable share of the call.
        """

        def deco(fn):
            self.kernels[backend_name] = (fn, direct)
            self._resolved.clear()
            return fn

        return deco

    def kernel_out(self, backend_name: str):
        """Decorator: ``fn(backend, out, *arrays, **attrs)`` computes the result straight into
        ``out``, a raw array of ``backend_name`` with the result's shape and dtype (graph memory
        planning gives those from the node's spec; ``apply_into`` calls it only when every array
        has ``out``'s shape and dtype). ``out`` may be one of the inputs (``sgd_update(w, g,
        out=w)``), so ``fn`` must not read an input element after writing it.
        """

        def deco(fn):
            self.plain_out_kernels[backend_name] = fn if self.float_positions is None else \
                _floats_checked(self, fn, lead=2)
            self._rewrap()
            return fn

        return deco

    def _rewrap(self):
        """``composite`` and ``out_kernels`` from their plain versions and the kernel wrapper."""
        w, c = _wrapper, self.plain_composite
        self.composite = c if w is None or c is None else w.composite(self, c)
        self.out_kernels = self.plain_out_kernels if w is None else {
            k: w.out_kernel(self, k, fn) for k, fn in self.plain_out_kernels.items()}

    def vjp(self, fn):
        """Register ``fn(g, out, *inputs, **attrs) -> tuple of input gradients`` (mxplug ops)."""
        self.vjp_fn = fn
        return fn

    def nograd(self, *names):
        """Declare inputs that never get a gradient (labels, indices, lengths, shape donors)."""
        unknown = set(names) - set(self.inputs)
        if unknown:
            raise MXNetError(f"{self.name}: nograd names unknown inputs {sorted(unknown)}")
        self.nograd_inputs = self.nograd_inputs | frozenset(names)
        return self

    def params(self, fn):
        """Register ``fn(*specs_or_None, **attrs) -> {input index: shape}``: the shapes of
        parameter inputs implied by the data input (FullyConnected's weight from data and
        num_hidden), for Symbol shape inference and Gluon's deferred initialisation."""
        self.params_fn = fn
        return fn

    def floats(self, *names):
        """Declare inputs (none named: every input) that must be floating-point, as in MXNet,
        whose kernels for these ops take no integers ("only support floating point types"):
        their results in integers would be truncated nonsense. Checked by the shape rule and
        on every call (the resolved callable, the composite and the out-kernels)."""
        self.float_positions = tuple(self.inputs.index(n) for n in names) if names else ()
        self.infer = _floats_checked(self, self.infer)
        self.plain_composite = _floats_checked(self, self.plain_composite)
        for name, fn in self.plain_out_kernels.items():  # out= calls skip the resolved callable
            self.plain_out_kernels[name] = _floats_checked(self, fn, lead=2)
        self._resolved.clear()
        self._rewrap()
        return self

    def aux(self, *names):
        """Declare auxiliary-state inputs (MXNet's ``list_auxiliary_states``)."""
        self.aux_inputs = self.aux_inputs | frozenset(names)
        return self.nograd(*names)

    def samples(self, *fns):
        """Register sample-input functions ``rng -> Sample | list`` for the generic test suite."""
        self.sample_fns.extend(fns)
        return self

    # -- resolution -----------------------------------------------------------------------------
    def resolve(self, backend):
        """The callable for ``backend``: its kernel, else the generic impl over ``backend.xp``.

        Cached per backend, so dispatch costs one dict lookup."""
        fn = self._resolved.get(backend)
        if fn is not None:
            return fn
        kern, direct = self.kernels.get(backend.name) or (backend.kernel(self.name), False)
        if kern is not None:
            fn = kern if direct else functools.partial(kern, backend)
        elif self.composite is not None:
            fn = COMPOSE
        elif self.generic is not None and backend.xp is not None:
            fn = functools.partial(self.generic, backend.xp)
        elif self.generic is None:
            raise MXNetNotImplementedError(f"op {self.name} has no implementation")
        else:
            fn = backend.host_fallback(self)
            if fn is None:
                raise MXNetNotImplementedError(
                    f"op {self.name} is not implemented by backend {backend.name!r} (it has no "
                    f"array namespace and no kernel for it); set MXPLUG_HOST_FALLBACK=1 to run it "
                    f"on the host"
                )
        if self.view_of_input and fn is not COMPOSE:
            fn = _owning(fn, REGISTRY["copy"].resolve(backend))
        scope = getattr(backend, "device_scope", None)  # several devices, one current (CuPy)
        if scope is not None and fn is not COMPOSE:
            fn = scope(fn)
        if self.float_positions is not None and fn is not COMPOSE:
            fn = _floats_checked(self, fn)
        if _wrapper is not None and fn is not COMPOSE:
            fn = _wrapper.kernel(self, backend, fn)
        self._resolved[backend] = fn
        return fn

    def coverage(self, backend) -> str:
        """How ``backend`` runs this op: native | generic | composite | host-fallback | missing."""
        if self.kernels.get(backend.name) or backend.kernel(self.name):
            return "native"
        if self.composite is not None:
            return "composite"
        if self.generic is not None and backend.xp is not None:
            return "generic"
        return "host-fallback" if backend.host_fallback(self) is not None else "missing"

    def num_outputs(self, attrs) -> int:
        """How many outputs a call with ``attrs`` returns (``nout`` may be a function of them:
        ``split``'s ``num_outputs``, ``topk``'s ``ret_typ``)."""
        return self.nout(attrs) if callable(self.nout) else self.nout

    @functools.cached_property
    def required_inputs(self) -> int:
        """How many leading inputs a call must give: the infer rule's parameters without defaults
        (trailing ones with a default, such as ``bias=None``, are optional)."""
        if self.variadic or self.infer is None:
            return 0
        params = inspect.signature(self.infer).parameters.values()
        return sum(1 for p in params if p.kind == p.POSITIONAL_OR_KEYWORD
                   and p.default is p.empty and p.name not in self.attrs)

    def parse_attrs(self, kwargs: dict) -> dict:
        """Complete ``kwargs`` with defaults and canonicalise values; reject unknown names.

        Results are memoised per (name, type, value) when the values hash: gradient rules call
        ops with the same few attribute sets again and again."""
        try:
            key = tuple((k, _memo_key(v)) for k, v in kwargs.items())
            hit = self._parsed.get(key)
        except TypeError:  # an unhashable value (a list, an array): parse every time
            return self._parse_attrs(kwargs)
        if hit is None:
            hit = self._parse_attrs(kwargs)
            if len(self._parsed) > 512:
                self._parsed.clear()
            self._parsed[key] = hit
        return dict(hit)  # callers may add to it (random ops add their key and counter)

    def _parse_attrs(self, kwargs: dict) -> dict:
        attrs = dict(self.defaults)
        for k, v in kwargs.items():
            spec = self.attrs.get(k) or self.extra_attr
            if spec is None:
                # MXNet ignores keywords given to an op without parameters; a variadic op has
                # one there (num_args), so an unknown keyword is an error, as for other ops
                if not self.attrs and not self.variadic:
                    warnings.warn(f"{self.name}: attribute {k!r} ignored: the op takes none",
                                  stacklevel=5)
                    continue
                known = ", ".join(self.attrs) or "num_args"
                raise MXNetError(f"{self.name}: unknown attribute {k!r} (attributes: {known})")
            attrs[k] = spec.parse(v, self.name, k)
        return attrs

    def __repr__(self):
        return f"<Op {self.name}>"


def _owning(fn, copy):
    """``fn`` whose results own their memory (see ``Op.view_of_input``)."""
    def owned(*args, **attrs):
        out = fn(*args, **attrs)
        return tuple(copy(o) for o in out) if type(out) is tuple else copy(out)
    return owned


def defop(name, inputs=("data",), attrs=None, infer=None, **kw) -> Op:
    """Declare and register an op (see :class:`Op`)."""
    if name in REGISTRY:
        raise MXNetError(f"op {name!r} is already registered")
    op = Op(name, inputs, attrs, infer, **kw)
    REGISTRY[name] = op
    for alias in op.aliases:
        REGISTRY.setdefault(alias, op)
    return op


def get_op(name: str) -> Op:
    try:
        return REGISTRY[name]
    except KeyError:
        raise MXNetError(f"unknown op {name!r}") from None


#: MXNet's registered names of ops that mxplug names otherwise and has no alias for.
_MXNET_NAMES = {"zeros": "_zeros", "ones": "_ones", "full": "_full", "arange": "_arange",
                "eye": "_eye", "linspace": "_linspace"}
#: The other way (for files MXNet wrote): MXNet's name -> mxplug's, where no alias covers it.
MXPLUG_NAMES = {theirs: ours for ours, theirs in _MXNET_NAMES.items()}


def mxnet_name(op) -> str:
    """The name MXNet 1.x registers ``op`` under, where mxplug's differs (``a + b`` runs
    ``broadcast_add``, ``nd.ones`` ``_ones``, ``nd.split`` ``SliceChannel``,
    ``nd.random.uniform`` ``_random_uniform``), else mxplug's: what the profiler reports and
    what symbol JSON files say, so that MXNet reads them."""
    name = op.name
    if name in _MXNET_NAMES:
        return _MXNET_NAMES[name]
    aliases = op.aliases
    for alias in aliases:  # the NDArray operators of two arrays are MXNet's broadcast_* ops
        if alias.startswith("broadcast_"):
            return alias
    if "_" + name in aliases:
        return "_" + name
    for alias in aliases:
        if alias[:1].isupper() and not name[:1].isupper() and name != "add_n":
            return alias
    return name
