"""The ops MXNet 1.x runs on floating-point data only ("This operation only support floating
point types"), declared in one place (``Op.floats``): in integers their results would be
truncated nonsense (a sigmoid of 0 or 1, a normalization of whole numbers), so integer inputs are
an error naming the op and the input, as in MXNet. Ops whose integer results are exact (matrix
products, convolution, padding, max) keep taking integers, which MXNet's CPU kernels refuse."""

from __future__ import annotations

from . import (  # noqa: F401 (the families that register the ops below)
    classic_nn,
    classic_spatial,
    correlation,
    elemwise,
    multi_optimizer_ops,
    nn,
    optimizer_extra_ops,
    optimizer_ops,
    output_layers,
    pooling,
)
from .registry import REGISTRY

#: op -> the inputs that must be floating-point (empty: every input).
FLOAT_ONLY = {
    "Activation": (), "LeakyReLU": (), "hard_sigmoid": (),
    "BatchNorm": (), "_BatchNorm": (), "LayerNorm": (), "GroupNorm": (), "InstanceNorm": (),
    "L2Normalization": (), "LRN": (), "Pooling": ("data",),
    "LinearRegressionOutput": ("data",), "LogisticRegressionOutput": ("data",),
    "MAERegressionOutput": ("data",), "MakeLoss": ("data",), "SVMOutput": ("data",),
    "BilinearSampler": (), "Correlation": (),
    # every optimizer update: weights, gradients and states
    **{name: () for name in optimizer_ops.OPTIMIZER_OPS},
    **{name: () for name in multi_optimizer_ops.MULTI_OPTIMIZER_OPS},
    "multi_sum_sq": (), "multi_lars": (), "lamb_update_phase2": (), "mp_lamb_update_phase2": (),
    "_contrib_adamw_update": (), "_contrib_mp_adamw_update": (),
}

for _name, _inputs in FLOAT_ONLY.items():
    REGISTRY[_name].floats(*_inputs)
