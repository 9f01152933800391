"""The op registry, ``apply`` (the one dispatch point) and every op family.

Importing a family module registers its ops; ``REGISTRY`` maps every op name and alias to its Op.
"""

from . import (
    amp_ops,
    attrs,
    classic_ctc,  # noqa: F401 (importing registers the ops)
    classic_nn,  # noqa: F401 (importing registers the ops)
    classic_spatial,  # noqa: F401 (importing registers the ops)
    contrib_attention,  # noqa: F401 (importing registers the ops)
    contrib_box_coding,  # noqa: F401 (importing registers the ops)
    contrib_boxes,  # noqa: F401 (importing registers the ops)
    contrib_deformable,  # noqa: F401 (importing registers the ops)
    contrib_hawkes,  # noqa: F401 (importing registers the ops)
    contrib_misc,  # noqa: F401 (importing registers the ops)
    contrib_multibox,  # noqa: F401 (importing registers the ops)
    contrib_proposal,  # noqa: F401 (importing registers the ops)
    contrib_psroi,  # noqa: F401 (importing registers the ops)
    contrib_quantize,  # noqa: F401 (importing registers the ops)
    contrib_resample,  # noqa: F401 (importing registers the ops)
    contrib_rroi,  # noqa: F401 (importing registers the ops)
    conv,
    conv_gather,  # noqa: F401 (importing registers the CuPy kernels)
    correlation,  # noqa: F401 (importing registers the ops)
    creation,
    custom,  # noqa: F401 (importing registers the ops)
    elemwise,
    float_only,  # noqa: F401 (importing declares MXNet's float-only ops)
    im2col,  # noqa: F401 (importing registers the ops)
    image_ops,  # noqa: F401 (importing registers the ops)
    image_resize,  # noqa: F401 (importing registers the ops)
    indexing,
    infer,
    linalg,
    linalg_extra,  # noqa: F401 (importing registers the ops)
    losses,
    math_extra,  # noqa: F401 (importing registers the ops)
    movement,
    movement_grad,
    multi_optimizer_extra,  # noqa: F401 (importing registers the ops)
    multi_optimizer_ops,
    nn,
    nn_params,
    optimizer_extra_ops,  # noqa: F401 (importing registers the ops)
    optimizer_ops,
    output_layers,
    pooling,  # noqa: F401 (importing registers the ops)
    random,
    random_extra,  # noqa: F401 (importing registers the ops)
    reduce,
    rnn,
    sequence,
    shape,
    sorting,
)
from .dispatch import apply, apply_into, state
from .registry import REGISTRY, Op, Sample, defop, get_op

__all__ = ["REGISTRY", "Op", "Sample", "apply", "apply_into", "attrs", "defop", "get_op", "infer",
           "state", "creation", "elemwise", "indexing", "linalg", "movement", "nn", "random",
           "reduce", "shape", "conv", "sorting", "movement_grad", "nn_params", "optimizer_ops",
           "losses", "rnn", "sequence", "amp_ops", "output_layers",
           "multi_optimizer_ops"]
