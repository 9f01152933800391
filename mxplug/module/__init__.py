"""``mx.mod``: MXNet 1.x's Module API (symbolic training with ``fit``/``score``/``predict``).

``Module`` binds a Symbol on one or more contexts (splitting each batch over them), initializes
its parameters, installs an optimizer and trains; see ``docs/module.md``.
"""

from .base_module import BaseModule, BatchEndParam, MissingParamError, ModuleStateError
from .bucketing_module import BucketingModule
from .executor_group import DataParallelExecutorGroup
from .module import Module
from .sequential_module import SequentialModule

__all__ = ["BaseModule", "BatchEndParam", "BucketingModule", "DataParallelExecutorGroup",
           "MissingParamError", "Module", "ModuleStateError", "SequentialModule"]
