"""Dynamic loss scaling for AMP (MXNet 1.x ``contrib.amp.loss_scaler.LossScaler``)."""

from __future__ import annotations

import logging

__all__ = ["LossScaler"]

_log = logging.getLogger(__name__)


class LossScaler:
    """Dynamic loss scaler: the loss is multiplied by ``loss_scale`` before backward so that small
    float16 gradients do not flush to zero; the optimizer divides it out again.

    A step whose gradients hold an inf or NaN is skipped and the scale divided by
    ``scale_factor``; after ``scale_window`` steps in a row without overflow it is multiplied by
    ``scale_factor`` (at most ``max_loss_scale``). The defaults are MXNet's.

    Parameters
    ----------
    init_scale : float, default 2**16
    scale_factor : float, default 2
    scale_window : int, default 2000
    max_loss_scale : float, default 2**24

    Notes
    -----
    MXNet checks overflow asynchronously and applies the new scale one step late; here the
    check is synchronous, so ``loss_scale`` changes right after the step that overflowed.
    """

    def __init__(self, init_scale=2.0 ** 16, scale_factor=2.0, scale_window=2000,
                 max_loss_scale=2.0 ** 24):
        self._loss_scale = float(init_scale)
        self._scale_factor = float(scale_factor)
        self._scale_seq_len = int(scale_window)
        self._max_loss_scale = float(max_loss_scale)
        self._unskipped = 0
        self._has_overflow = False
        self._pending = None

    @property
    def loss_scale(self) -> float:
        """The current loss scale."""
        return self._loss_scale

    def launch_check_overflow(self, params):
        """Start the overflow check of the gradients of ``params`` (Parameters)."""
        self._pending = _all_finite(params)

    def wait_and_update(self) -> bool:
        """Finish the check started by :meth:`launch_check_overflow`, update the scale and
        return whether the gradients overflowed (the step must be skipped)."""
        if self._pending is None:
            return self._has_overflow
        finite, self._pending = self._pending, None
        self._has_overflow = not finite
        if self._has_overflow:
            self._loss_scale /= self._scale_factor
            self._unskipped = 0
            _log.info("AMP: decreasing loss scale to %f", self._loss_scale)
        else:
            self._unskipped += 1
            if self._unskipped == self._scale_seq_len:
                self._unskipped = 0
                self._loss_scale = min(self._max_loss_scale,
                                       self._loss_scale * self._scale_factor)
                _log.info("AMP: increasing loss scale to %f", self._loss_scale)
        return self._has_overflow

    def has_overflow(self, params) -> bool:
        """Check the gradients of ``params`` for inf/NaN and update the scale; True on overflow."""
        self.launch_check_overflow(params)
        return self.wait_and_update()


def _all_finite(params) -> bool:
    """Whether every gradient of every parameter (on every context) is finite: one
    ``multi_all_finite`` per context, so the check reads back one number per device."""
    from ...autograd import pause
    from ...ndarray import multi_all_finite

    by_ctx: dict = {}
    for p in params:
        if getattr(p, "grad_req", "null") == "null" or getattr(p, "_data", None) is None:
            continue
        for g in p.list_grad():
            by_ctx.setdefault(g.context, []).append(g)
    ok = True
    with pause():
        for grads in by_ctx.values():
            flag = multi_all_finite(*grads, num_arrays=len(grads))
            ok = ok and bool(flag.asnumpy()[0])
    return ok
