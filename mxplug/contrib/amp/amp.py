"""Automatic mixed precision (MXNet 1.x ``mx.contrib.amp``): ``init`` patches the op functions
of ``mx.nd`` and ``mx.sym`` so that the ops of the lists (:mod:`.lists`) cast their float inputs;
``init_trainer`` / ``scale_loss`` / ``unscale`` add dynamic loss scaling to a Gluon Trainer.

Gluon layers call ``F.<op>`` with ``F`` the ``mx.nd`` or ``mx.sym`` module, so eager, hybridized
(traced) and symbolic networks all get the casts; hybridized graphs hold ``amp_cast`` /
``amp_multicast`` nodes. Ops called through ``mxplug.ops.F`` (inside other ops' bodies and
gradient rules) and NDArray operators are not patched: ``x + y`` already promotes float16 with
float32 to float32, as the widest-type rule would.
"""

from __future__ import annotations

import contextlib
import functools
import logging

import numpy as np

from ... import ndarray as _nd
from ... import symbol as _sym
from ...base import MXNetError, MXNetTypeError
from ...graph.node import Node, infer_node
from ...graph.symbol import Symbol
from ...graph.trace import Tracer
from ...ndarray import NDArray
from ...ops import REGISTRY
from ...ops.amp_ops import AMP_FLOATS
from . import lists
from .convert import convert_hybrid_block, convert_model, convert_symbol, remove_amp_cast
from .loss_scaler import LossScaler

# the converters (from .convert) are here too: MXNet's ``contrib.amp.amp`` module defines them,
# and code (MXNet's tests among it) calls ``from mxnet.contrib.amp import amp; amp.convert_*``
__all__ = ["init", "init_trainer", "scale_loss", "unscale", "convert_symbol", "convert_model",
           "convert_hybrid_block", "remove_amp_cast", "list_lp16_ops", "list_fp32_ops",
           "list_lp16_fp32_ops", "list_conditional_fp32_ops", "list_widest_type_cast",
           "list_loss_output_functions", "list_lp16_use_fp32_params", "list_fp16_ops",
           "list_fp16_fp32_ops"]

_log = logging.getLogger(__name__)


class AMPStateError(MXNetError, AssertionError):
    """AMP used before its set-up (``amp.init`` / ``amp.init_trainer``). MXNet ``assert``s
    this, so it is also an ``AssertionError``."""
_amp_initialized = False
_amp_loss_scale_initialized = False
_loss_scaler = None
_target_dtype = None
_patched: list = []  # (namespace, attribute, original function): what _deinit restores


# -- casting one argument -------------------------------------------------------------------------
def _known_dtype(x):
    """The dtype of an NDArray, Tracer or Symbol, or None while it is unknown."""
    try:
        return np.dtype(x.dtype)
    except (MXNetError, TypeError, AttributeError):
        return None


def _check_backend(x, dtype):
    be = x.context.backend
    if dtype.name not in be.dtypes:
        raise MXNetTypeError(
            f"amp: backend {be.name!r} ({x.context}) has no {dtype.name}, so it cannot run mixed "
            f"precision with target_dtype={_target_dtype.name if _target_dtype else dtype.name}"
            f"; run the model on a context whose backend holds {dtype.name} (NumPy: mx.cpu())")


def _cast(x, dtype):
    """``x`` cast to ``dtype`` if it is a float16/bfloat16/float32 of another type (for a
    Symbol whose dtype is not known yet, a cast node always); anything else unchanged."""
    if isinstance(x, Symbol):
        have = _known_dtype(x) if len(x._outputs) == 1 else None
        if have is not None and (have == dtype or have.name not in AMP_FLOATS):
            return x
        return _orig("sym", "amp_cast")(x, dtype=dtype.name)
    if not isinstance(x, NDArray):
        return x
    have = _known_dtype(x)
    if have is None or have == dtype or have.name not in AMP_FLOATS:
        # None: a tracing stand-in of unknown shape, met only while Gluon infers deferred
        # parameter shapes; a cast there would hide the parameter from the shape rules, and
        # the trace that hybridize keeps comes after, with every shape known
        return x
    _check_backend(x, dtype)
    return _orig("nd", "amp_cast")(x, dtype=dtype.name)


def _orig(space, name):
    """The unpatched front end (amp_cast itself is never patched, but stay safe)."""
    module = _nd if space == "nd" else _sym
    fn = getattr(module, name)
    return getattr(fn, "__wrapped__", fn)


# -- wrappers -------------------------------------------------------------------------------------
def _skip_positions(op):
    """Input positions (and names) never cast: auxiliary states (BatchNorm's moving statistics
    are updated in place, so a cast copy would lose the update)."""
    if op.variadic:
        return set(), set()
    names = set(op.aux_inputs)
    return {i for i, n in enumerate(op.inputs) if n in names}, names


def _condition_holds(op, cond, args, kwargs):
    """MXNet's conditional lists: cast only when attribute ``cond[0]`` has a value in
    ``cond[1]`` (given by keyword, or positionally after the inputs)."""
    name, values = cond
    if name in kwargs:
        return kwargs[name] in values
    attrs = list(op.attrs)
    if name in attrs and not op.variadic:
        k = len(op.inputs) + attrs.index(name)
        if k < len(args):
            return args[k] in values
    return False


def _nd_wrapper(f, op, dtype, cond=None):
    skip, skip_names = _skip_positions(op)

    @functools.wraps(f)
    def amp_fn(*args, **kwargs):
        if cond is not None and not _condition_holds(op, cond, args, kwargs):
            return f(*args, **kwargs)
        args = [a if i in skip else _cast(a, dtype) for i, a in enumerate(args)]
        kwargs = {k: v if k in skip_names or k == "out" else _cast(v, dtype)
                  for k, v in kwargs.items()}
        return f(*args, **kwargs)

    return amp_fn


def _sym_wrapper(f, op, dtype, cond=None):
    """Build the node first (so variables it creates, ``fc1_weight``, get cast too), then
    rebuild it with casts on its inputs — MXNet's ``_symbol_wrapper``."""
    skip, _ = _skip_positions(op)

    @functools.wraps(f)
    def amp_fn(*args, **kwargs):
        if cond is not None and not _condition_holds(op, cond, args, kwargs):
            return f(*args, **kwargs)
        sym = f(*args, **kwargs)
        node = sym._outputs[0][0]
        positions = [i for i in range(len(node.inputs) + len(node.consts))
                     if i not in node.consts]
        inputs = []
        for pos, inp in zip(positions, node.inputs):
            if pos in skip:
                inputs.append(inp)
            else:
                inputs.append(_cast(Symbol([inp]), dtype)._outputs[0])
        new = Node(node.op, node.attrs, inputs, node.name, node.source, None, node.user_attrs,
                   node.consts)
        new.specs = infer_node(new)
        return Symbol([(new, k) for _, k in sym._outputs])

    return amp_fn


def _widest_wrapper(f, target):
    """Inputs of several float types all go to the widest of them (``amp_multicast`` in a
    graph, ``amp_cast`` of the narrower ones eagerly)."""

    @functools.wraps(f)
    def amp_fn(*args, **kwargs):
        args = list(args)
        slots = [(args, i) for i, a in enumerate(args) if isinstance(a, (NDArray, Symbol))]
        slots += [(kwargs, k) for k, v in kwargs.items()
                  if k != "out" and isinstance(v, (NDArray, Symbol))]
        if len(slots) < 2:
            return f(*args, **kwargs)
        values = [c[k] for c, k in slots]
        dtypes = [_known_dtype(v) for v in values]
        if any(d is None and type(v) is Tracer for d, v in zip(dtypes, values)):
            return f(*args, **kwargs)  # a shape-inference trace: see _cast
        castable = [d for d in dtypes if d is None or d.name in AMP_FLOATS]
        symbolic = any(isinstance(v, Symbol) or type(v) is Tracer for v in values)
        if None not in castable and len({d.name for d in castable}) <= 1:
            return f(*args, **kwargs)  # nothing to reconcile
        if symbolic:
            space = "sym" if any(isinstance(v, Symbol) for v in values) else "nd"
            cast = _orig(space, "amp_multicast")(*values, num_outputs=len(values))
            cast = [cast] if len(values) == 1 else list(cast)
        else:
            from ...ops.amp_ops import _common_float

            widest = _common_float(castable, cast_narrow=False)
            cast = [_cast(v, widest) for v in values]
        for (c, k), v in zip(slots, cast):
            c[k] = v
        return f(*args, **kwargs)

    return amp_fn


# -- patching the namespaces ----------------------------------------------------------------------
def _targets(module, name):
    """(namespace, attribute) pairs where ``module``'s front end for op ``name`` lives:
    ``_``-names in ``module._internal``, ``linalg_*`` also in ``module.linalg``."""
    out = []
    if name.startswith("_"):
        out.append((module._internal, name))
    else:
        out.append((module, name))
        if name.startswith("linalg_"):
            out.append((module.linalg, name[len("linalg_"):]))
    return [(ns, attr) for ns, attr in out if hasattr(ns, attr)]


def _expand_aliases(plan):
    """Give each op's other names (``fully_connected`` for ``FullyConnected``) the rule of the
    listed name, unless a list names them itself."""
    full = dict(plan)
    for name, rule in plan.items():
        op = REGISTRY.get(name)
        if op is None:
            continue
        for alias in (op.name, *op.aliases):
            full.setdefault(alias, rule)
    return full


def _patch(module, space, plan):
    for name, (kind, dtype, cond) in plan.items():
        op = REGISTRY.get(name)
        if op is None:
            continue  # an MXNet op mxplug does not have (yet)
        for ns, attr in _targets(module, name):
            f = getattr(ns, attr)
            if kind == "widest":
                new = _widest_wrapper(f, dtype)
            elif space == "sym":
                new = _sym_wrapper(f, op, dtype, cond)
            else:
                new = _nd_wrapper(f, op, dtype, cond)
            new.__wrapped__ = f
            _patched.append((ns, attr, f))
            setattr(ns, attr, new)


def _plan(target, target_precision_ops, conditional_fp32_ops, fp32_ops):
    f32 = np.dtype(np.float32)
    plan = {}
    for name in (target_precision_ops if target_precision_ops is not None
                 else lists.lp16_ops(target)):
        plan.setdefault(name, ("cast", target, None))
    for name in fp32_ops if fp32_ops is not None else lists.fp32_ops(target):
        plan.setdefault(name, ("cast", f32, None))
    for name, attr, values in (conditional_fp32_ops if conditional_fp32_ops is not None
                               else lists.conditional_fp32_ops(target)):
        plan.setdefault(name, ("cast", f32, (attr, tuple(values))))
    for name in lists.widest_type_casts(target):
        plan.setdefault(name, ("widest", target, None))
    return _expand_aliases(plan)


def init(target_dtype="float16", target_precision_ops=None, conditional_fp32_ops=None,
         fp32_ops=None):
    """Turn on automatic mixed precision: patch ``mx.nd`` and ``mx.sym``. Call it before the
    model is built (and hybridized); later calls do nothing, as in MXNet.

    Parameters
    ----------
    target_dtype : {'float16', 'bfloat16'}, default 'float16'
        The low-precision type. bfloat16 needs ``ml_dtypes`` (``pip install mxplug[amp]``).
    target_precision_ops : list of str, optional
        Ops computed in ``target_dtype`` (default: :func:`list_lp16_ops`).
    conditional_fp32_ops : list of (str, str, list of str), optional
        (op, attribute, values): the op runs in float32 when the attribute has one of the values
        (default: :func:`list_conditional_fp32_ops`).
    fp32_ops : list of str, optional
        Ops computed in float32 (default: :func:`list_fp32_ops`).
    """
    global _amp_initialized, _loss_scaler, _target_dtype
    if _amp_initialized:
        return
    target = lists.resolve_target(target_dtype)
    plan = _plan(target, target_precision_ops, conditional_fp32_ops, fp32_ops)
    _log.info("Using AMP")
    _patch(_nd, "nd", plan)
    _patch(_sym, "sym", plan)
    _target_dtype = target
    _loss_scaler = LossScaler()
    _amp_initialized = True


def _deinit():
    """Undo :func:`init` (tests; MXNet has no way back)."""
    global _amp_initialized, _amp_loss_scale_initialized, _loss_scaler, _target_dtype
    while _patched:
        ns, attr, f = _patched.pop()
        setattr(ns, attr, f)
    _amp_initialized = _amp_loss_scale_initialized = False
    _loss_scaler = _target_dtype = None


# -- the trainer ----------------------------------------------------------------------------------
def _check_trainer(optimizer_or_trainer, what):
    from ...gluon.trainer import Trainer
    from ...optimizer import Optimizer

    if isinstance(optimizer_or_trainer, Trainer):
        return
    if isinstance(optimizer_or_trainer, Optimizer):
        raise MXNetTypeError("AMP is currently only compatible with Gluon Trainer")
    raise MXNetTypeError(f"{what}: optimizer_or_trainer should be a Gluon Trainer or an "
                         f"optimizer, instead is {type(optimizer_or_trainer).__name__}")


def init_trainer(optimizer_or_trainer):
    """Add dynamic loss scaling to a Gluon Trainer: its steps check the gradients for inf/NaN,
    skip the update on overflow and adjust the scale (:class:`LossScaler`)."""
    global _amp_loss_scale_initialized
    if not _amp_initialized:
        raise AMPStateError("AMP not initialized, did you forget to call amp.init()?")
    _check_trainer(optimizer_or_trainer, "init_trainer")
    trainer = optimizer_or_trainer
    if not _amp_loss_scale_initialized:
        _amp_loss_scale_initialized = True
        scaler = _loss_scaler
    else:
        scaler = LossScaler()
    trainer._amp_loss_scaler = scaler
    if getattr(trainer, "_amp_original_update", None) is None:
        trainer._amp_original_scale = trainer._scale
        trainer._amp_original_update = trainer._update

        def _update(ignore_stale_grad=False):
            # the scaler of now (init_trainer may have replaced it), on this step's gradients
            if trainer._amp_loss_scaler.has_overflow(trainer._params):
                return  # skip the update; the scale went down
            trainer._amp_original_update(ignore_stale_grad)

        trainer._update = _update  # the instance only: other Trainers are left alone


@contextlib.contextmanager
def scale_loss(loss, optimizer_or_trainer):
    """``with amp.scale_loss(loss, trainer) as scaled_loss: autograd.backward(scaled_loss)``.

    Yields ``loss`` (or each loss of a list) times the current loss scale and sets the trainer
    to divide the scale out of the gradients in its next step."""
    scaler = getattr(optimizer_or_trainer, "_amp_loss_scaler", None)
    if scaler is None:
        raise AMPStateError("Loss scaler is not initialized, did you forget to call "
                            "amp.init_trainer()?")
    optimizer_or_trainer._scale = optimizer_or_trainer._amp_original_scale / scaler.loss_scale
    if isinstance(loss, (list, tuple)):
        yield [x * scaler.loss_scale for x in loss]
    else:
        yield loss * scaler.loss_scale


def unscale(optimizer_or_trainer):
    """Divide the loss scale out of the gradients now (before clipping or reading them); the
    trainer's next step then leaves them as they are."""
    _check_trainer(optimizer_or_trainer, "unscale")
    from ...autograd import pause

    trainer = optimizer_or_trainer
    with pause():
        for p in trainer._params:
            if p.grad_req == "null" or p._data is None:
                continue
            for g in p.list_grad():
                g[:] = g * trainer._scale
    trainer._scale = 1.0


# -- the lists ------------------------------------------------------------------------------------
def list_lp16_ops(target_dtype="float16"):
    """The default ops computed in ``target_dtype`` ('float16' or 'bfloat16')."""
    return list(lists.lp16_ops(target_dtype))


def list_fp32_ops(target_dtype="float16"):
    """The default ops computed in float32."""
    return list(lists.fp32_ops(target_dtype))


def list_lp16_fp32_ops(target_dtype="float16"):
    """The default ops that run in whatever float type they get."""
    return list(lists.lp16_fp32_ops(target_dtype))


def list_conditional_fp32_ops(target_dtype="float16"):
    """The default (op, attribute, values) entries computed in float32 for those values."""
    return list(lists.conditional_fp32_ops(target_dtype))


def list_widest_type_cast(target_dtype="float16"):
    """The default ops whose inputs are cast to the widest float type among them."""
    return list(lists.widest_type_casts(target_dtype))


def list_loss_output_functions(target_dtype="float16"):
    return list(lists.loss_output_functions(target_dtype))


def list_lp16_use_fp32_params(target_dtype="float16"):
    return lists.lp16_use_fp32_params(target_dtype)


def list_fp16_ops():
    """MXNet 1.5's name: :func:`list_lp16_ops` for float16."""
    return list_lp16_ops("float16")


def list_fp16_fp32_ops():
    """MXNet 1.5's name: :func:`list_lp16_fp32_ops` for float16."""
    return list_lp16_fp32_ops("float16")
