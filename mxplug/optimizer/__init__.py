"""``mx.optimizer``: MXNet 1.x's optimizers, ``create``/``register`` and ``Updater``.

``mx.optimizer.create('sgd', learning_rate=0.1, momentum=0.9)`` or ``mx.optimizer.SGD(...)``;
``Optimizer.opt_registry`` maps lower-cased names to classes.
"""

from . import adaptive, contrib, optimizer, sgd, updater
from .adaptive import (
    FTML,
    LAMB,
    AdaBound,
    AdaDelta,
    AdaGrad,
    Adam,
    Adamax,
    AdamW,
    AMSBound,
    Ftrl,
    Nadam,
    RMSProp,
)
from .optimizer import Optimizer, create, register
from .sgd import DCASGD, LARS, LBSGD, NAG, SGD, SGLD, Signum
from .updater import Updater, get_updater

__all__ = ["Optimizer", "create", "register", "Updater", "get_updater", "SGD", "NAG", "Signum",
           "LARS", "LBSGD", "SGLD", "DCASGD", "Adam", "AdamW", "AdaGrad", "AdaDelta", "RMSProp",
           "Adamax", "Nadam", "FTML", "LAMB", "Ftrl", "AdaBound", "AMSBound", "adaptive",
           "contrib", "optimizer", "sgd", "updater"]
