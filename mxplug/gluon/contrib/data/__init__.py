"""``mx.gluon.contrib.data``: MXNet 1.x's contributed data: :class:`IntervalSampler` and the
WikiText language-modelling datasets (:mod:`.text`, read from local files)."""

from . import text
from .sampler import IntervalSampler

__all__ = ["IntervalSampler", "text"]
