"""``mx.contrib.autograd``: MXNet 1.x's first, deprecated autograd API, kept for old scripts.

``train_section()`` turns recording *and* training on (``test_section()`` both off),
``compute_gradient(outputs)`` is ``backward``, and ``grad_and_loss(func)`` / ``grad(func)``
wrap a function so that calling it returns the gradients of its arguments. New code uses
``mx.autograd`` (``record``, ``backward``, ``attach_grad``), on which this module is built.
"""

from __future__ import annotations

import functools

from .. import autograd as _ag
from ..base import MXNetTypeError, MXNetValueError
from ..ndarray import NDArray, zeros_like

__all__ = ["set_is_training", "TrainingStateScope", "train_section", "test_section",
           "mark_variables", "backward", "compute_gradient", "grad_and_loss", "grad"]

mark_variables = _ag.mark_variables


def set_is_training(is_train):
    """Set recording and training together; returns the previous training state."""
    prev = _ag.set_training(is_train)
    _ag.set_recording(is_train)
    return prev


class TrainingStateScope:
    """A ``with`` scope with recording and training set to ``enter_state``."""

    def __init__(self, enter_state):
        self._enter_state = enter_state
        self._prev = None

    def __enter__(self):
        self._prev = set_is_training(self._enter_state)

    def __exit__(self, ptype, value, trace):
        if self._prev != self._enter_state:
            set_is_training(self._prev)


def train_section():
    """A scope that records the ops run in it, in training mode."""
    return TrainingStateScope(True)


def test_section():
    """A scope that neither records nor trains (e.g. evaluation inside a ``train_section``)."""
    return TrainingStateScope(False)


def backward(outputs, out_grads=None, retain_graph=False):
    """Gradients of ``outputs`` (a list or tuple of NDArrays) into the marked variables; an
    ``out_grads`` entry may be None (ones)."""
    if not isinstance(outputs, (list, tuple)):
        raise MXNetTypeError(f"backward: outputs must be a list or tuple of NDArrays, got "
                             f"{type(outputs).__name__}")
    if out_grads is not None and len(out_grads) != len(outputs):
        raise MXNetValueError(f"backward: {len(outputs)} outputs but {len(out_grads)} out_grads")
    _ag.backward(list(outputs), out_grads, retain_graph)


def compute_gradient(outputs):
    """Deprecated: :func:`backward`."""
    backward(outputs)


def grad_and_loss(func, argnum=None):
    """Wrap ``func`` so that a call returns ``(gradients of the arguments, func's outputs)``;
    ``argnum`` (an int or a list of ints) picks the arguments to differentiate."""
    @functools.wraps(func)
    def wrapped(*args):
        variables = args
        if argnum is not None:
            variables = [args[i] for i in (argnum if isinstance(argnum, list) else [argnum])]
        for x in variables:
            if not isinstance(x, NDArray):
                raise MXNetTypeError(f"grad_and_loss: the arguments to differentiate must be "
                                     f"NDArrays, got {type(x).__name__}")
        grads = [zeros_like(x) for x in variables]
        mark_variables(variables, grads)
        with train_section():
            outputs = func(*args)
        compute_gradient([outputs] if isinstance(outputs, NDArray) else outputs)
        return grads, outputs
    return wrapped


def grad(func, argnum=None):
    """Wrap ``func`` so that a call returns the gradients of its arguments (see
    :func:`grad_and_loss`)."""
    grad_with_loss_func = grad_and_loss(func, argnum)

    @functools.wraps(grad_with_loss_func)
    def wrapped(*args):
        return grad_with_loss_func(*args)[0]
    return wrapped
