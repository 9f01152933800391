"""``mx.gluon.contrib``: contributed Gluon layers and the Estimator (MXNet 1.x)."""

from __future__ import annotations

import importlib

from . import nn

__all__ = ["nn", "estimator"]


def __getattr__(name):
    # the Estimator loads on first use: it pulls in metrics, losses and the Trainer
    if name == "estimator":
        return importlib.import_module(f"{__name__}.estimator")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
