"""The op lists of automatic mixed precision (MXNet 1.x ``contrib/amp/lists``), for float16 and
bfloat16, naming mxplug's ops (``RNN`` included for when the fused layer is registered).

- ``*_FUNCS`` of the target type: computed in float16/bfloat16 (the matrix products).
- ``FP32_FUNCS``: computed in float32 (range or precision matters: exp/log, powers, reductions,
  softmax, normalisations, losses).
- ``*_FP32_FUNCS``: left alone; they run in whatever dtype they are given.
- ``CONDITIONAL_FP32_FUNCS``: float32 only for some attribute values.
- ``WIDEST_TYPE_CASTS``: several inputs that must agree; all go to the widest float among them.

Deliberate differences from MXNet's lists: ``BatchNorm`` is in ``FP32_FUNCS`` for both types
(MXNet's GPU kernel takes float16 data with float32 statistics internally; mxplug's BatchNorm
computes in its input dtype, so float32 keeps the statistics path exact), and optimizer updates,
random and creation ops are in no list, since nothing in them should be cast.
"""

from __future__ import annotations

from types import SimpleNamespace

from ...base import MXNetValueError


class AMPDtypeError(MXNetValueError, AssertionError):
    """A target dtype AMP does not support (MXNet ``assert``s it: an ``AssertionError``)."""

# -- float16 ------------------------------------------------------------------------------------
FP16_FUNCS = ["Convolution", "Deconvolution", "FullyConnected", "RNN"]

FP16_FP32_FUNCS = [
    "BlockGrad", "Cast", "Dropout", "Embedding", "Flatten", "Pad", "Pooling", "Reshape",
    "SliceChannel", "SwapAxis", "abs", "all_finite", "amp_cast", "amp_multicast", "arccosh",
    "arcsinh", "arctan", "argmax", "argmin", "broadcast_axes", "broadcast_axis",
    "broadcast_like", "broadcast_to", "cast", "cbrt", "ceil", "clip", "cos", "crop", "degrees",
    "depth_to_space", "diag", "erf", "expand_dims", "fix", "flatten", "flip", "floor",
    "gather_nd", "hard_sigmoid", "identity", "logical_not", "max", "max_axis", "min",
    "min_axis", "multi_all_finite", "negative", "one_hot", "ones_like", "pad", "pick",
    "radians", "relu", "repeat", "reshape", "reshape_like", "reverse", "rint", "round",
    "scatter_nd", "shape_array", "sigmoid", "sign", "sin", "size_array", "slice", "slice_axis",
    "slice_like", "softsign", "sort", "space_to_depth", "split", "sqrt", "squeeze",
    "stop_gradient", "swapaxes", "take", "tanh", "tile", "transpose", "trunc", "zeros_like",
]

FP32_FUNCS = [
    # trigonometric and hyperbolic functions that overflow or lose precision in 2-byte floats
    "arccos", "arcsin", "cosh", "sinh", "tan", "arctanh",
    # exponents and logarithms
    "exp", "expm1", "log", "log10", "log2", "log1p",
    # powers
    "broadcast_power", "square", "reciprocal", "rsqrt", "rcbrt", "_power", "power",
    "broadcast_hypot", "hypot",
    # reductions
    "sum", "sum_axis", "nansum", "prod", "nanprod", "mean", "norm", "softmin",
    # linear algebra beyond plain products
    "linalg_gemm", "linalg_gemm2", "linalg_potrf", "linalg_trsm", "linalg_inverse",
    "linalg_det", "linalg_slogdet", "linalg_gelqf", "linalg_syrk", "linalg_trmm", "linalg_potri",
    "linalg_sumlogdiag", "linalg_syevd", "linalg_extractdiag", "linalg_makediag",
    "linalg_extracttrian", "linalg_maketrian",
    # ordering
    "argsort", "topk",
    # neural network: softmax, normalisations, losses
    "softmax", "Softmax", "log_softmax", "SoftmaxActivation", "SoftmaxOutput", "BatchNorm",
    "InstanceNorm", "LayerNorm", "GroupNorm", "softmax_cross_entropy", "_softmax_ce",
    "smooth_l1",
]

CONDITIONAL_FP32_FUNCS = [
    ("Activation", "act_type", ["softrelu"]),
    ("LeakyReLU", "act_type", ["elu", "selu"]),
]

WIDEST_TYPE_CASTS = [
    "_plus", "_add", "_Plus", "_minus", "_sub", "_Minus", "_mul", "_Mul", "_div", "_Div",
    "_mod", "_equal", "_not_equal", "_greater", "_greater_equal", "_lesser", "_lesser_equal",
    "_maximum", "_minimum", "Concat", "concat", "ElementWiseSum", "add_n", "batch_dot", "dot",
    "broadcast_add", "broadcast_plus", "broadcast_sub", "broadcast_minus", "broadcast_mul",
    "broadcast_div", "broadcast_mod", "broadcast_equal", "broadcast_not_equal",
    "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
    "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or",
    "broadcast_logical_xor", "broadcast_maximum", "broadcast_minimum", "elemwise_add",
    "elemwise_sub", "elemwise_mul", "elemwise_div", "stack", "where",
]

#: Loss layers whose gradient MXNet scales by the loss scale in eager mode; none in 1.9.
LOSS_OUTPUT_FUNCTIONS: list = []

# -- bfloat16 -----------------------------------------------------------------------------------
BF16_FUNCS = ["Convolution", "FullyConnected"]

BF16_FP32_FUNCS = ["abs", "_add", "clip", "Concat", "concat", "Pooling", "relu", "shuffle",
                   "sqrt", "square", "tanh"]

#: As MXNet: what has no bfloat16 kernel there runs in float32 (Deconvolution and RNN included).
BF16_FP32_ONLY_FUNCS = sorted(
    (set(FP16_FP32_FUNCS) | set(FP32_FUNCS) | {"Deconvolution", "RNN"})
    - set(BF16_FP32_FUNCS) - {"amp_cast", "amp_multicast", "all_finite", "multi_all_finite"})

BF16_CONDITIONAL_FP32_FUNCS = CONDITIONAL_FP32_FUNCS

BF16_WIDEST_TYPE_CASTS = [n for n in WIDEST_TYPE_CASTS if n not in ("Concat", "concat", "_add")]

#: Inputs of bfloat16 ops that stay float32 (MXNet's ``BF16_USE_FP32_PARAMS``); BatchNorm runs in
#: float32 here, so there are none.
BF16_USE_FP32_PARAMS: dict = {}


#: Ops whose outputs MXNet 1.9.1 names (``FListOutputNames``): its AMP pass names a cast of
#: their output ``<node>_output[k]_amp_cast_<dtype>``, of any other op's ``<node>_<k>_amp_...``
#: (measured one op at a time against MXNet 1.9.1).
NAMED_OUTPUT_OPS = frozenset({
    "FullyConnected", "Convolution", "Deconvolution", "BatchNorm", "Activation", "Dropout",
    "LeakyReLU", "Concat", "Pooling", "SequenceMask", "SequenceLast", "SequenceReverse",
    "UpSampling", "SwapAxis", "SliceChannel", "Pad"})


def resolve_target(target_dtype):
    """The NumPy dtype of an AMP target type ('float16' or 'bfloat16'), or an AMPDtypeError."""
    from ...base import dtype_of

    if isinstance(target_dtype, str) and target_dtype not in ("float16", "bfloat16"):
        raise AMPDtypeError(f"amp: target_dtype must be 'float16' or 'bfloat16', got "
                            f"{target_dtype!r}")
    dt = dtype_of(target_dtype)
    if dt.name not in ("float16", "bfloat16"):
        raise AMPDtypeError(f"amp: target_dtype must be float16 or bfloat16, got {dt.name}")
    return dt


def _pick(target_dtype, fp16, bf16):
    from ...base import dtype_of

    name = dtype_of(target_dtype).name
    if name == "float16":
        return fp16
    if name == "bfloat16":
        return bf16
    raise AMPDtypeError(f"amp: target_dtype must be float16 or bfloat16, got {name}")


def lp16_ops(target_dtype):
    return _pick(target_dtype, FP16_FUNCS, BF16_FUNCS)


def fp32_ops(target_dtype):
    return _pick(target_dtype, FP32_FUNCS, BF16_FP32_ONLY_FUNCS)


def lp16_fp32_ops(target_dtype):
    return _pick(target_dtype, FP16_FP32_FUNCS, BF16_FP32_FUNCS)


def conditional_fp32_ops(target_dtype):
    return _pick(target_dtype, CONDITIONAL_FP32_FUNCS, BF16_CONDITIONAL_FP32_FUNCS)


def widest_type_casts(target_dtype):
    return _pick(target_dtype, WIDEST_TYPE_CASTS, BF16_WIDEST_TYPE_CASTS)


def loss_output_functions(target_dtype):
    return _pick(target_dtype, LOSS_OUTPUT_FUNCTIONS, LOSS_OUTPUT_FUNCTIONS)


def lp16_use_fp32_params(target_dtype):
    return _pick(target_dtype, None, BF16_USE_FP32_PARAMS)


# MXNet's module layout (``amp.lists.symbol_fp16.FP16_FUNCS``; 1.5's ``amp.lists.symbol``), for
# code and tests that read the lists there.
symbol_fp16 = SimpleNamespace(
    FP16_FUNCS=FP16_FUNCS, FP16_FP32_FUNCS=FP16_FP32_FUNCS, FP32_FUNCS=FP32_FUNCS,
    CONDITIONAL_FP32_FUNCS=CONDITIONAL_FP32_FUNCS, WIDEST_TYPE_CASTS=WIDEST_TYPE_CASTS,
    LOSS_OUTPUT_FUNCTIONS=LOSS_OUTPUT_FUNCTIONS)
symbol_bf16 = SimpleNamespace(
    BF16_FUNCS=BF16_FUNCS, BF16_FP32_FUNCS=BF16_FP32_FUNCS, FP32_FUNCS=BF16_FP32_ONLY_FUNCS,
    CONDITIONAL_FP32_FUNCS=BF16_CONDITIONAL_FP32_FUNCS, WIDEST_TYPE_CASTS=BF16_WIDEST_TYPE_CASTS,
    BF16_USE_FP32_PARAMS=BF16_USE_FP32_PARAMS, LOSS_OUTPUT_FUNCTIONS=LOSS_OUTPUT_FUNCTIONS)
symbol = symbol_fp16
