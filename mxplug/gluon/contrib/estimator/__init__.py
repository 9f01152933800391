"""``mx.gluon.contrib.estimator``: a training loop with event handlers (MXNet 1.x API), plus a
tqdm progress bar and a TensorBoard writer. See docs/estimator.md."""

from __future__ import annotations

from . import batch_processor, estimator, event_handler
from .batch_processor import *  # noqa: F403
from .estimator import *  # noqa: F403
from .event_handler import *  # noqa: F403
from .utils import EstimatorError, MissingDependencyError

__all__ = (batch_processor.__all__ + estimator.__all__ + event_handler.__all__
           + ["EstimatorError", "MissingDependencyError", "batch_processor", "estimator",
              "event_handler"])
