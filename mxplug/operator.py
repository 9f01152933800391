"""``mx.operator``: MXNet 1.x's Python custom operators.

Subclass :class:`CustomOp` (the computation) and :class:`CustomOpProp` (its description), register
the Prop with ``@mx.operator.register("name")``, and call it as
``mx.nd.Custom(*inputs, op_type="name", **kwargs)`` or ``mx.sym.Custom(...)``. The op runs
eagerly, under ``autograd.record()``, in Symbols and executors and in hybridized Gluon blocks, on
every backend: ``in_data`` are NDArrays on the op's context. See ``docs/custom_op.md``.
"""

from __future__ import annotations

import functools

from . import ndarray as _nd
from . import symbol as _sym
from .base import MXNetTypeError, MXNetValueError
from .ops import REGISTRY
from .ops.custom import register_prop, registered

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators"]


class CustomOp:
    """Base class of a custom operator's computation."""

    def __init__(self):
        pass

    def forward(self, is_train, req, in_data, out_data, aux):
        """Compute ``out_data`` from ``in_data`` (write with :meth:`assign`).

        Parameters
        ----------
        is_train : bool
            Whether this is a training forward (``autograd.is_training()``).
        req : list of str
            How to write each output: 'write', 'add', 'inplace' or 'null'.
        in_data, out_data, aux : list of NDArray
            Inputs, preallocated outputs and auxiliary states (these may be updated in place).
        """
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Compute ``in_grad`` (one per argument) from ``out_grad`` with :meth:`assign`."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def assign(self, dst, req, src):
        """Write ``src`` into ``dst`` as ``req`` says: 'write'/'inplace' copy, 'add' adds,
        'null' leaves ``dst`` alone."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise MXNetValueError(f"CustomOp.assign: req must be 'write', 'inplace', 'add' or "
                                  f"'null', got {req!r}")


class CustomOpProp:
    """Base class of a custom operator's description: its inputs, outputs and shape/type rules.

    Parameters
    ----------
    need_top_grad : bool
        Whether ``backward`` uses the output gradient; a loss (the softmax example) does not.
    """

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        """``(argument shapes, output shapes, aux shapes)`` from the arguments' shapes; by
        default every output and auxiliary state has the first argument's shape."""
        return in_shape, (in_shape[0],) * len(self.list_outputs()), \
            (in_shape[0],) * len(self.list_auxiliary_states())

    def infer_type(self, in_type):
        """``(argument types, output types, aux types)``; by default the first argument's."""
        return in_type, [in_type[0]] * len(self.list_outputs()), \
            [in_type[0]] * len(self.list_auxiliary_states())

    def infer_storage_type(self, in_stype):
        """Storage types: mxplug's arrays are dense ('default') only."""
        if any(s != "default" for s in in_stype):
            raise MXNetTypeError(f"{type(self).__name__}: only dense ('default') storage is "
                                 f"supported, got {in_stype}")
        return in_stype, ["default"] * len(self.list_outputs()), \
            ["default"] * len(self.list_auxiliary_states())

    def infer_storage_type_backward(self, ograd_stype, in_stype, out_stype, igrad_stype,
                                    aux_stype):
        """Storage types of the backward: dense only."""
        return ograd_stype, in_stype, out_stype, ["default"] * len(igrad_stype), aux_stype

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def list_auxiliary_states(self):
        return []

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        """The arrays ``backward`` reads: the output gradients only when ``need_top_grad``."""
        deps = []
        if self.need_top_grad_:
            deps.extend(out_grad)
        deps.extend(in_data)
        deps.extend(out_data)
        return deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        """Return the :class:`CustomOp` that computes this op on ``ctx`` for these inputs."""
        raise NotImplementedError(f"{type(self).__name__}.create_operator")


def register(reg_name):
    """Class decorator: register a :class:`CustomOpProp` subclass as ``op_type=reg_name``."""
    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise MXNetTypeError(f"mx.operator.register({reg_name!r}): expected a CustomOpProp "
                                 f"subclass, got {prop_cls!r}")
        register_prop(reg_name, prop_cls)
        return prop_cls
    return do_register


def get_all_registered_operators():
    """The names of every registered operator (aliases included), as MXNet's, and of the
    registered custom operators (``op_type`` of ``Custom``)."""
    from .ops import REGISTRY
    return sorted(set(REGISTRY) | set(registered()))


# -- front ends: inputs by name ------------------------------------------------------------------
_SPECIAL = ("name", "attr", "out")


def _by_name(generated, symbolic):
    """``Custom`` that also takes its inputs by the Prop's names (``data=x, label=y``), as
    MXNet's does: they are put in ``list_arguments() + list_auxiliary_states()`` order."""
    op = REGISTRY["Custom"]

    @functools.wraps(generated)
    def Custom(*args, **kwargs):
        strings = {k: v for k, v in kwargs.items()
                   if k not in _SPECIAL and not isinstance(v, (_nd.NDArray, _sym.Symbol))}
        names = op.auto_inputs(op.parse_attrs(strings))
        named = [k for k in kwargs if k in names]
        if named:
            inputs = list(args) + [kwargs.pop(k, None) for k in names[len(args):]]
            while inputs and inputs[-1] is None:
                inputs.pop()
            if not symbolic and any(x is None for x in inputs):
                missing = [k for k, x in zip(names, inputs) if x is None]
                raise MXNetTypeError(f"Custom(op_type={kwargs.get('op_type')!r}) missing "
                                     f"input(s): {', '.join(missing)}")
            args = inputs
        return generated(*args, **kwargs)

    Custom._by_name = True
    return Custom


def _install():
    for module, symbolic in ((_nd, False), (_sym, True)):
        fn = module.Custom
        if not getattr(fn, "_by_name", False):
            module.Custom = _by_name(fn, symbolic)


_install()
