"""``mx.optimizer.contrib``: MXNet 1.9.1's contributed optimizers (:class:`GroupAdaGrad`)."""

from __future__ import annotations

from .. import ndarray as nd
from ..base import MXNetValueError
from .optimizer import Optimizer, register

__all__ = ["GroupAdaGrad"]


@register
class GroupAdaGrad(Optimizer):
    """AdaGrad with one learning rate per row of a 2-D weight (embeddings):
    ``g = clip(rescale_grad * grad)``, ``history += mean(g^2, axis=1, keepdims=True)``,
    ``weight -= lr * g / sqrt(history + eps)`` (``mx.nd.contrib.group_adagrad_update``).
    Weight decay is not supported, as in MXNet."""

    def __init__(self, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        if weight.ndim != 2:
            raise MXNetValueError(f"GroupAdaGrad: a 2-D weight (one rate per row) is needed; "
                                  f"parameter {index!r} has shape {weight.shape}")
        return nd.zeros((weight.shape[0], 1), ctx=weight.context, dtype=weight.dtype)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        if wd != 0:
            raise MXNetValueError(f"GroupAdaGrad: weight decay is not supported (wd={wd} for "
                                  f"parameter {index!r})")
        nd.contrib.group_adagrad_update(
            weight, grad, state, out=weight, lr=lr, rescale_grad=self.rescale_grad,
            clip_gradient=self.clip_gradient if self.clip_gradient is not None else -1.0,
            epsilon=self.float_stable_eps)
