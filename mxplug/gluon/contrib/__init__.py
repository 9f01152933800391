"""``mx.gluon.contrib``: contributed Gluon layers, recurrent cells and the Estimator
(MXNet 1.x)."""

from __future__ import annotations

import importlib

from . import nn

__all__ = ["nn", "estimator", "rnn"]


def __getattr__(name):
    # the Estimator loads on first use: it pulls in metrics, losses and the Trainer; the
    # contributed recurrent cells too
    if name in ("estimator", "rnn"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
