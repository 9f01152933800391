"""``mx.gluon.contrib``: contributed Gluon layers (``nn``, the deformable convolutions of
``cnn``), recurrent cells, data (``IntervalSampler``, WikiText) and the Estimator (MXNet 1.x)."""

from __future__ import annotations

import importlib

from . import cnn, nn

__all__ = ["nn", "cnn", "data", "estimator", "rnn"]


def __getattr__(name):
    # the Estimator loads on first use: it pulls in metrics, losses and the Trainer; the
    # contributed recurrent cells and data (mx.contrib.text) too
    if name in ("estimator", "rnn", "data"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
