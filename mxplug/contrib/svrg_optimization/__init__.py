"""``mx.contrib.svrg_optimization``: stochastic variance-reduced gradient (SVRG) training for the
Module API (MXNet 1.x): :class:`~.svrg_module.SVRGModule` and the optimizer wrapper it installs.
See docs/module.md ("SVRG")."""

from . import svrg_module, svrg_optimizer
from .svrg_module import SVRGModule

__all__ = ["SVRGModule", "svrg_module", "svrg_optimizer"]
