"""``mx.gluon.model_zoo``: predefined (and locally stored pretrained) models.

``model_zoo.vision`` holds the networks, ``model_zoo.model_store`` finds local weight files.
"""

from __future__ import annotations

from . import model_store, vision
from .vision import get_model

__all__ = ["get_model", "model_store", "vision"]
