"""``BatchProcessor``: how the Estimator trains and evaluates one batch (override to customise)."""

from __future__ import annotations

from .... import autograd
from ....base import MXNetValueError
from ...utils import split_and_load

__all__ = ["BatchProcessor"]


class BatchProcessor:
    """The default ``fit_batch`` / ``evaluate_batch`` of the Estimator.

    A batch is a ``(data, label)`` pair (as a ``DataLoader`` over an ``ArrayDataset`` yields);
    each is split along ``batch_axis`` over ``estimator.context``. Subclass and override either
    method, then pass an instance as ``Estimator(..., batch_processor=...)``.
    """

    def _get_data_and_label(self, batch, ctx, batch_axis=0):
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise MXNetValueError(f"Estimator: each batch must be a (data, label) pair, got "
                                  f"{type(batch).__name__}; override BatchProcessor.fit_batch "
                                  f"and evaluate_batch for other layouts")
        data = split_and_load(batch[0], ctx_list=ctx, batch_axis=batch_axis)
        label = split_and_load(batch[1], ctx_list=ctx, batch_axis=batch_axis)
        return data, label

    def evaluate_batch(self, estimator, val_batch, batch_axis=0):
        """Run ``estimator.val_net`` and ``estimator.val_loss`` on one validation batch.

        Returns
        -------
        data, label, pred, loss : list of NDArray
            One entry per context.
        """
        data, label = self._get_data_and_label(val_batch, estimator.context, batch_axis)
        pred = [estimator.val_net(x) for x in data]
        loss = [estimator.val_loss(y_hat, y) for y_hat, y in zip(pred, label)]
        return data, label, pred, loss

    def fit_batch(self, estimator, train_batch, batch_axis=0):
        """Forward ``estimator.net`` and ``estimator.loss`` under ``autograd.record()`` and
        backward; the weights are updated afterwards by the ``GradientUpdateHandler``.

        Returns
        -------
        data, label, pred, loss : list of NDArray
            One entry per context.
        """
        data, label = self._get_data_and_label(train_batch, estimator.context, batch_axis)
        with autograd.record():
            pred = [estimator.net(x) for x in data]
            loss = [estimator.loss(y_hat, y) for y_hat, y in zip(pred, label)]
        for lv in loss:
            lv.backward()
        return data, label, pred, loss
