"""``mx.contrib.amp``: automatic mixed precision (float16 / bfloat16) for Gluon and Symbol
models, with dynamic loss scaling (MXNet 1.x API; see docs/amp.md)."""

from .amp import (
    _deinit,
    init,
    init_trainer,
    list_conditional_fp32_ops,
    list_fp16_fp32_ops,
    list_fp16_ops,
    list_fp32_ops,
    list_loss_output_functions,
    list_lp16_fp32_ops,
    list_lp16_ops,
    list_lp16_use_fp32_params,
    list_widest_type_cast,
    scale_loss,
    unscale,
)
from .convert import convert_hybrid_block, convert_model, convert_symbol, remove_amp_cast
from .loss_scaler import LossScaler

__all__ = ["init", "init_trainer", "scale_loss", "unscale", "convert_model",
           "convert_hybrid_block", "convert_symbol", "remove_amp_cast", "LossScaler",
           "list_lp16_ops", "list_fp32_ops", "list_lp16_fp32_ops", "list_conditional_fp32_ops",
           "list_widest_type_cast", "list_loss_output_functions", "list_lp16_use_fp32_params",
           "list_fp16_ops", "list_fp16_fp32_ops"]
__all__ += ["_deinit"]  # for tests: undo init()
