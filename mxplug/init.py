"""``mx.init``: weight initializers (MXNet 1.x semantics).

An initializer is called as ``init(desc, arr)``: ``desc`` is an :class:`InitDesc` (a str, the
parameter name, with ``attrs``) or a plain name, and ``arr`` is filled in place. Dispatch is on
the name's suffix: ``weight`` gets the initializer's own rule, ``bias``/``beta``/``moving_mean``/
``running_mean`` zeros, ``gamma``/``moving_var``/``running_var`` ones. Random initializers draw
from ``mx.random``, so ``mx.random.seed`` reproduces them on every backend.
"""

from __future__ import annotations

import json
import re

import numpy as np

from . import ndarray as nd
from .ndarray import NDArray

__all__ = ["InitDesc", "Initializer", "register", "create", "alias", "Zero", "One", "Constant",
           "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias",
           "Mixed", "Load"]

_REGISTRY: dict = {}


def register(klass):
    """Register an initializer class under its lower-cased name (for :func:`create` and
    ``init='name'`` arguments)."""
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases):
    """Class decorator: also register the class under ``aliases``."""
    def deco(klass):
        for a in aliases:
            _REGISTRY[a.lower()] = klass
        return klass
    return deco


def create(init, /, *args, **kwargs):
    """An initializer from an instance (returned as is), a registered name (``'xavier'``) or
    the JSON of :meth:`Initializer.dumps` (``'["xavier", {"magnitude": 2}]'``; ``init`` is
    positional-only because such JSON may itself hold an ``init`` argument, as FusedRNN's
    does)."""
    if isinstance(init, Initializer):
        return init
    if not isinstance(init, str):
        raise TypeError(f"initializer must be an Initializer or a str, not {type(init).__name__}")
    if init.startswith("["):
        name, kw = json.loads(init)
        return create(name, **kw)
    klass = _REGISTRY.get(init.lower())
    if klass is None and init.lower() == "fusedrnn":
        klass = _fused_rnn()
    if klass is None:
        raise ValueError(f"Cannot find initializer {init}; registered: {sorted(_REGISTRY)}")
    return klass(*args, **kwargs)


class InitDesc(str):
    """A parameter name with attributes (``__init__``: the parameter's own initializer)."""

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


class Initializer:
    """The base class; subclasses implement ``_init_weight(name, arr)``."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Print a summary of each initialised array (``print_func(arr) -> str``)."""
        self._verbose = verbose
        self._print_func = print_func or (lambda x: str(float(nd.norm(x).asscalar()
                                                              / np.sqrt(max(x.size, 1)))))
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            print(f"Initialized {desc} as {init}: {self._print_func(arr)}")

    def dumps(self):
        """The JSON ``[name, kwargs]`` that :func:`create` accepts."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        """Fill ``arr`` in place for the parameter ``desc``."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            create(init)._init_weight(desc, arr)  # the parameter's own initializer
            self._verbose_print(desc, init, arr)
            return
        self._dispatch(desc, arr)

    def _dispatch(self, name, arr):
        if name.endswith("weight"):
            self._init_weight(name, arr)
            self._verbose_print(name, "weight", arr)
        elif name.endswith("bias"):
            self._init_bias(name, arr)
        elif name.endswith("gamma"):
            self._init_gamma(name, arr)
        elif name.endswith("beta"):
            self._init_beta(name, arr)
        elif name.endswith(("moving_mean", "running_mean", "moving_inv_var", "moving_avg")):
            self._init_zero(name, arr)
        elif name.endswith(("moving_var", "running_var")):
            self._init_one(name, arr)
        elif name.endswith("min"):
            self._init_zero(name, arr)
        elif name.endswith("max"):
            self._init_one(name, arr)
        else:
            self._init_default(name, arr)

    def _legacy_init(self, name, arr):
        if not isinstance(name, str):
            raise TypeError("name must be string")
        if not isinstance(arr, NDArray):
            raise TypeError("arr must be NDArray")
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        else:
            self._dispatch(name, arr)

    def _init_bilinear(self, _, arr):
        # the kernel of bilinear upsampling: a constant, built on the host
        shape = arr.shape
        f = np.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        idx = np.arange(int(np.prod(shape)))
        x, y = idx % shape[3], (idx // shape[3]) % shape[2]
        weight = (1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))
        arr[:] = weight.reshape(shape).astype(np.float32)

    def _init_loc_bias(self, _, arr):
        assert arr.shape[0] == 6
        arr[:] = np.array([1.0, 0, 0, 0, 1.0, 0])

    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        raise NotImplementedError("Must override it")

    def _init_default(self, name, _):
        raise ValueError(
            f"Unknown initialization pattern for {name}. Default initialization is now limited "
            f'to "weight", "bias", "gamma" (1.0), and "beta" (0.0). Please use '
            f"mx.sym.Variable(init=mx.init.*) to set initialization pattern")

    def __eq__(self, other):
        return type(self) is type(other) and self._kwargs == other._kwargs

    def __hash__(self):
        return hash(self.dumps())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"


@register
@alias("zeros")
class Zero(Initializer):
    """Fill with 0."""

    def _init_weight(self, _, arr):
        arr[:] = 0


@register
@alias("ones")
class One(Initializer):
    """Fill with 1."""

    def _init_weight(self, _, arr):
        arr[:] = 1


@register
class Constant(Initializer):
    """Fill with ``value`` (a scalar, or an array broadcast to the parameter's shape)."""

    def __init__(self, value):
        kw = value.tolist() if isinstance(value, (NDArray, np.ndarray)) else value
        super().__init__(value=kw)
        self.value = value

    def _init_weight(self, _, arr):
        v = self.value
        if isinstance(v, NDArray):
            v = nd.broadcast_to(v.as_in_context(arr.context), shape=arr.shape)
        elif isinstance(v, (list, tuple, np.ndarray)):
            v = np.broadcast_to(np.asarray(v, dtype=np.dtype(arr.dtype)), arr.shape)
        arr[:] = v


@register
class Uniform(Initializer):
    """Draw from ``U(-scale, scale)``."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        nd.random.uniform(-self.scale, self.scale, shape=arr.shape, dtype=arr.dtype,
                          ctx=arr.context, out=arr)


@register
class Normal(Initializer):
    """Draw from ``N(0, sigma^2)``."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        nd.random.normal(0, self.sigma, shape=arr.shape, dtype=arr.dtype, ctx=arr.context,
                         out=arr)


@register
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``scale`` (Saxe et al. 2013), from the SVD of a random
    ``(shape[0], prod(shape[1:]))`` matrix (``rand_type`` 'uniform' or 'normal')."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout, nin = arr.shape[0], int(np.prod(arr.shape[1:]))
        if self.rand_type == "uniform":
            tmp = nd.random.uniform(-1.0, 1.0, shape=(nout, nin), ctx=arr.context)
        elif self.rand_type == "normal":
            tmp = nd.random.normal(0.0, 1.0, shape=(nout, nin), ctx=arr.context)
        else:
            raise ValueError(f"Unknown random type {self.rand_type}")
        # as MXNet: the SVD runs on the host (mxplug has no SVD op); a one-off at init time
        tmp = tmp.asnumpy().astype(np.float64)
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        arr[:] = (self.scale * res.reshape(arr.shape)).astype(np.dtype(arr.dtype))


@register
class Xavier(Initializer):
    """Xavier/Glorot: ``U(-s, s)`` or ``N(0, s^2)`` with ``s = sqrt(magnitude / factor)``,
    where ``factor`` is ``fan_in``, ``fan_out`` or their mean (``factor_type`` 'in', 'out',
    'avg'); fans count the kernel's spatial size."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError(f"Xavier initializer cannot be applied to vector {name}. It "
                             f"requires at least 2D.")
        hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        if self.factor_type == "avg":
            factor = (fan_in + fan_out) / 2.0
        elif self.factor_type == "in":
            factor = fan_in
        elif self.factor_type == "out":
            factor = fan_out
        else:
            raise ValueError("Incorrect factor type")
        scale = float(np.sqrt(self.magnitude / factor))
        if self.rnd_type == "uniform":
            nd.random.uniform(-scale, scale, shape=shape, dtype=arr.dtype, ctx=arr.context,
                              out=arr)
        elif self.rnd_type == "gaussian":
            nd.random.normal(0, scale, shape=shape, dtype=arr.dtype, ctx=arr.context, out=arr)
        else:
            raise ValueError("Unknown random type")


@register
class MSRAPrelu(Xavier):
    """He/MSRA initialisation for PReLU nets: Gaussian Xavier with magnitude
    ``2 / (1 + slope^2)``."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """The weight of a bilinear-upsampling deconvolution."""

    def _init_weight(self, name, arr):
        self._init_bilinear(name, arr)


@register
class LSTMBias(Initializer):
    """Zeros, except the forget gate's quarter (gates i, f, c, o), set to ``forget_bias``."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        arr[:] = 0.0
        n = int(arr.shape[0] / 4)
        arr[n:2 * n] = self.forget_bias


class Mixed:
    """Pick the initializer of the first regular expression in ``patterns`` that matches the
    parameter's name."""

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise ValueError("patterns and initializers must have the same length")
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(f"Parameter name {name} did not match any pattern. Consider adding a "
                         f'".*" pattern at the end with a default Initializer.')


class Load:
    """Initialise from saved arrays (a dict name -> array, or a file ``mx.nd.save`` /
    ``save_parameters`` wrote); names missing there use ``default_init``."""

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            from .gluon.params_io import load  # the safe (no pickle) parameter format
            param = load(param)
        self.param = {}
        for name, arr in param.items():
            if name.startswith(("arg:", "aux:")):
                name = name[4:]
            self.param[name] = arr
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(src.shape) != tuple(arr.shape):
                raise ValueError(f"Parameter {name} cannot be initialized from loading. Shape "
                                 f"mismatch, target {arr.shape} vs loaded {src.shape}")
            arr[:] = src.as_in_context(arr.context) if isinstance(src, NDArray) else src
            if self.verbose:
                print(f"Initialized {name} by loading")
        else:
            if self.default_init is None:
                raise ValueError(f"Cannot Initialize {name}. Not found in loaded param and no "
                                 f"default Initializer is provided.")
            self.default_init(name, arr)
            if self.verbose:
                print(f"Initialized {name} by default")


def _fused_rnn():
    """``FusedRNN``, which lives with the fused cell in ``mx.rnn`` (imported, and so
    registered, on first use: ``mx.init.FusedRNN`` and ``create('fusedrnn')`` as in MXNet)."""
    from .rnn.rnn_cell import FusedRNN
    return FusedRNN


def __getattr__(name):
    if name == "FusedRNN":
        return _fused_rnn()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
