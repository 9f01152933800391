"""The optimizer :class:`~.svrg_module.SVRGModule` installs (MXNet 1.x's
``svrg_optimization.svrg_optimizer``).

Besides its parameters, an SVRGModule keeps one kvstore key per parameter, ``<name>_full``, in
which the devices' (and workers') full gradients are summed. A kvstore that updates runs the
optimizer on every key pushed, so :class:`_SVRGOptimizer` routes those keys to
:class:`_AssignmentOptimizer` (store the sum as is) and every other key to the real optimizer.
"""

from __future__ import annotations

from ...base import MXNetTypeError
from ...optimizer import Optimizer, create, register

__all__ = ["FULL_GRAD_SUFFIX", "_AssignmentOptimizer", "_SVRGOptimizer"]

#: The suffix of the kvstore key holding a parameter's full gradient.
FULL_GRAD_SUFFIX = "_full"

#: ``Optimizer.__init__``'s keywords: the wrapper takes these, the wrapped optimizer all.
_BASE_PARAMS = ("rescale_grad", "param_idx2name", "wd", "clip_gradient", "learning_rate",
                "lr_scheduler", "sym", "begin_num_update", "multi_precision", "param_dict")


@register
class _AssignmentOptimizer(Optimizer):
    """``weight[:] = grad``: a full-gradient key keeps what was pushed to it (the sum over
    devices and workers), without rescaling, clipping or weight decay."""

    def update(self, index, weight, grad, state):
        weight[:] = grad


@register
class _SVRGOptimizer(Optimizer):
    """Runs ``default_optimizer`` on the parameters and :class:`_AssignmentOptimizer` on their
    full-gradient keys (``<name>_full``, by kvstore key or through ``param_idx2name``).

    Parameters
    ----------
    default_optimizer : str or Optimizer
        The optimizer of the parameters; a name is created with all of ``kwargs`` (its own
        settings such as ``momentum`` included).
    **kwargs
        :class:`~mxplug.optimizer.Optimizer`'s settings (``learning_rate``, ``rescale_grad``,
        ``param_idx2name``, ...), which this wrapper keeps as well.
    """

    def __init__(self, default_optimizer, **kwargs):
        super().__init__(**{k: v for k, v in kwargs.items() if k in _BASE_PARAMS})
        if isinstance(default_optimizer, str):
            self.default_opt = create(default_optimizer, **kwargs)
        elif isinstance(default_optimizer, Optimizer):
            self.default_opt = default_optimizer
        else:
            raise MXNetTypeError(f"_SVRGOptimizer: default_optimizer must be an optimizer name "
                                 f"or an Optimizer, got {type(default_optimizer).__name__}")
        self.aux_opt = _AssignmentOptimizer()

    def _name(self, index):
        """The parameter name of ``index``: a kvstore's str key is the name itself."""
        return index if isinstance(index, str) else self.idx2name.get(index)

    def _optimizer_for(self, index):
        # MXNet tests '"full" in name', which also catches every unnamed FullyConnected layer
        # ("fullyconnected0_weight"); only the suffix SVRGModule appends marks a full gradient
        name = self._name(index)
        if name is not None and name.endswith(FULL_GRAD_SUFFIX):
            return self.aux_opt
        return self.default_opt

    def _set_current_context(self, device_id):
        super()._set_current_context(device_id)
        self.default_opt._set_current_context(device_id)  # its update counts are the real ones

    def create_state(self, index, weight):
        return self._optimizer_for(index).create_state(index, weight)

    def create_state_multi_precision(self, index, weight):
        return self._optimizer_for(index).create_state_multi_precision(index, weight)

    def update(self, index, weight, grad, state):
        self._optimizer_for(index).update(index, weight, grad, state)

    def update_multi_precision(self, index, weight, grad, state):
        self._optimizer_for(index).update_multi_precision(index, weight, grad, state)
