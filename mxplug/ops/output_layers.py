"""MXNet 1.x's output layers: ops whose gradient is the loss gradient itself.

``SoftmaxOutput``, ``LinearRegressionOutput``, ``LogisticRegressionOutput``,
``MAERegressionOutput`` and ``MakeLoss`` end a Symbol that ``Executor.backward()`` (or Module)
trains without head gradients: the forward returns the prediction (softmax, identity, sigmoid)
and the gradient rule ignores the head gradient (unless ``out_grad``), writing instead
``(prediction - label) * grad_scale`` with MXNet's normalisations. The label gets no gradient.
"""

from __future__ import annotations

import math

from . import infer as I
from .attrs import Bool, Enum, Float
from .call import F
from .nn import _f, _s, _u
from .registry import Sample, defop

__all__ = ["softmax_output", "linear_regression_output", "logistic_regression_output",
           "mae_regression_output", "make_loss"]


# -- SoftmaxOutput --------------------------------------------------------------------------------
def _so_infer(x, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
              preserve_shape=False, normalization="null", out_grad=False, smooth_alpha=0.0):
    I.expect_float(x, "SoftmaxOutput")
    if tuple(label.shape) != tuple(x.shape):  # equal shapes: probabilities as labels
        if multi_output:
            want = x.shape[:1] + x.shape[2:]
        elif preserve_shape:
            want = x.shape[:-1]
        else:
            want = x.shape[:1]
        I.expect(math.prod(label.shape) == math.prod(want), "SoftmaxOutput",
                 f"label with {math.prod(want)} elements (shape {want}) or data's shape "
                 f"for data {x.shape}", f"label.shape={tuple(label.shape)}")
    return I.Spec(x.shape, x.dtype)


softmax_output = defop(
    "SoftmaxOutput", ("data", "label"),
    {"grad_scale": Float(1.0), "ignore_label": Float(-1.0), "multi_output": Bool(False),
     "use_ignore": Bool(False), "preserve_shape": Bool(False),
     "normalization": Enum("null", "batch", "valid"), "out_grad": Bool(False),
     "smooth_alpha": Float(0.0)},
    infer=_so_infer, aliases=("Softmax",),
    doc="Forward: softmax of data (over axis 1 when ``multi_output``, the last axis when "
        "``preserve_shape``, else over all non-batch axes flattened). Backward ignores the head "
        "gradient (unless ``out_grad``): ``(softmax - onehot(label)) * grad_scale``, rows whose "
        "label is ``ignore_label`` zeroed with ``use_ignore``, divided by the batch size "
        "(``normalization='batch'``) or the number of labels not ignored (``'valid'``); "
        "``smooth_alpha`` smooths the one-hot target. A label of data's shape is a "
        "distribution: the gradient is ``(softmax - label) * grad_scale``.")
softmax_output.nograd("label")
softmax_output.loss_gradient = True


@softmax_output.params
def _(x, label=None, multi_output=False, preserve_shape=False, **_):
    """The label's shape from the data's (MXNet's SoftmaxOutput shape rule): simple_bind needs
    only the data's."""
    if x is None:
        return {}
    if multi_output:
        return {1: (x.shape[0],) + tuple(x.shape[2:])}
    return {1: tuple(x.shape[:-1]) if preserve_shape else (x.shape[0],)}


@softmax_output.compose
def _(x, label, **attrs):
    _so_infer(_s(x), _s(label), **attrs)
    if attrs.get("multi_output"):
        return _f("softmax", x, axis=1)
    if attrs.get("preserve_shape") or x.ndim <= 2:
        return _f("softmax", x, axis=-1)
    return _f("reshape", _f("softmax", _f("reshape", x, shape=(x.shape[0], -1))), shape=x.shape)


@softmax_output.vjp
def _(g, out, x, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
      preserve_shape=False, normalization="null", out_grad=False, smooth_alpha=0.0):
    shape = tuple(out.shape)
    if tuple(label.shape) == shape:
        grad = (out - label) * grad_scale
        return (grad * g if out_grad else grad), None
    if multi_output:  # (n, k, m): classes along axis 1, one label per (n, m)
        n, k, m = shape[0], shape[1], math.prod(shape[2:])
        p = F.reshape(out, shape=(n, k, m))
        lab = F.reshape(label, shape=(n, m))
        target = F.transpose(F.one_hot(lab, depth=k, dtype=out.dtype), axes=(0, 2, 1))
        keep = F.reshape(lab, shape=(n, 1, m))
        batch, per = n, m
    else:
        k = shape[-1] if preserve_shape else math.prod(shape[1:])
        rows = math.prod(shape) // k
        p = F.reshape(out, shape=(rows, k))
        lab = F.reshape(label, shape=(rows,))
        target = F.one_hot(lab, depth=k, dtype=out.dtype)
        keep = F.reshape(lab, shape=(rows, 1))
        batch, per = rows, 1
    if smooth_alpha:  # the label keeps 1 - alpha, the other classes share alpha
        off = smooth_alpha / (k - 1)
        target = target * (1.0 - smooth_alpha - off) + off
    grad = p - target
    # MXNet compares labels as ints (static_cast<int>), as one_hot truncates them
    keep = F.cast(F.cast(keep, dtype="int64") != int(ignore_label), dtype=out.dtype)
    if use_ignore:
        grad = F.broadcast_mul(grad, keep)
    if normalization == "valid":  # every label that is not ignore_label counts, as in MXNet
        grad = F.broadcast_div(grad, F.clip(F.sum(keep), a_min=1.0, a_max=math.inf)) * grad_scale
    else:
        grad = grad * (grad_scale / (per * (batch if normalization == "batch" else 1)))
    grad = F.reshape(grad, shape=shape)
    return (grad * g if out_grad else grad), None


# The gradient rules below are the losses' gradients, not the forwards' derivatives: the samples
# are marked grad=False (no finite-difference check); tests/test_output_layers.py checks the
# gradients against MXNet's formulas, eagerly and through bound executors, on every backend.
softmax_output.samples(
    lambda rng: Sample(_u(rng, 4, 5, lo=-3, hi=3), rng.integers(0, 5, (4,)).astype(float),
                       grad=False),
    lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3), rng.integers(0, 3, (2, 4)).astype(float),
                       multi_output=True, grad=False),
    lambda rng: Sample(_u(rng, 2, 3, 4, lo=-3, hi=3), rng.integers(0, 4, (2, 3)).astype(float),
                       preserve_shape=True, grad=False),
    lambda rng: Sample(_u(rng, 2, 3, 2, lo=-3, hi=3), rng.integers(0, 6, (2,)).astype(float),
                       grad=False),
)


# -- regression outputs ----------------------------------------------------------------------------
def _regression_label(x, label=None, **_):
    """The label's shape from the data's: (N,) for (N, 1) data, else the data's (MXNet's)."""
    if x is None:
        return {}
    return {1: (x.shape[0],) if len(x.shape) == 2 and x.shape[1] == 1 else tuple(x.shape)}


def _regression(name, forward, backward, doc):
    """``forward(x)`` in mxplug ops; the rule ``backward(out, label) * grad_scale / outputs``
    with ``outputs`` the label elements per sample, as MXNet's RegressionOutput."""

    def infer(x, label, grad_scale=1.0):
        ok = tuple(label.shape) == tuple(x.shape) or (
            x.ndim >= 1 and x.shape[-1] == 1 and tuple(label.shape) == tuple(x.shape[:-1]))
        I.expect(ok, name, f"label.shape == data.shape {tuple(x.shape)}"
                 + (f" or {tuple(x.shape[:-1])}" if x.ndim and x.shape[-1] == 1 else ""),
                 f"label.shape={tuple(label.shape)}")
        return I.Spec(x.shape, x.dtype)

    op = defop(name, ("data", "label"), {"grad_scale": Float(1.0)}, infer=infer, doc=doc)
    op.nograd("label")
    op.loss_gradient = True
    op.params(_regression_label)

    @op.compose
    def _(x, label, grad_scale=1.0):
        infer(_s(x), _s(label), grad_scale)
        return forward(x)

    @op.vjp
    def _(g, out, x, label, grad_scale=1.0):
        outputs = math.prod(label.shape) // label.shape[0] if label.ndim else 1
        lab = F.reshape(label, shape=tuple(out.shape))
        return backward(out, lab) * (grad_scale / max(outputs, 1)), None

    return op


linear_regression_output = _regression(
    "LinearRegressionOutput", lambda x: _f("identity", x), lambda out, lab: out - lab,
    "Forward: the data. Backward (head gradient ignored): ``(out - label) * grad_scale / "
    "num_output`` with ``num_output`` the label elements per sample (squared loss).")
logistic_regression_output = _regression(
    "LogisticRegressionOutput", lambda x: _f("sigmoid", x), lambda out, lab: out - lab,
    "Forward: ``sigmoid(data)``. Backward (head gradient ignored): ``(out - label) * "
    "grad_scale / num_output`` (logistic loss).")
mae_regression_output = _regression(
    "MAERegressionOutput", lambda x: _f("identity", x), lambda out, lab: F.sign(out - lab),
    "Forward: the data. Backward (head gradient ignored): ``sign(out - label) * grad_scale / "
    "num_output`` (absolute loss).")


# -- MakeLoss --------------------------------------------------------------------------------------
make_loss = defop(
    "MakeLoss", ("data",),
    {"grad_scale": Float(1.0), "valid_thresh": Float(0.0),
     "normalization": Enum("null", "batch", "valid")},
    infer=I.same, aliases=("make_loss",),
    doc="Forward: the data (a loss computed by other ops). Backward ignores the head gradient: "
        "every element gets ``grad_scale``, divided by the batch size "
        "(``normalization='batch'``) or by the number of elements above ``valid_thresh`` "
        "(``'valid'``, at least 1).")


make_loss.loss_gradient = True


@make_loss.compose
def _(x, **attrs):
    return _f("identity", x)


@make_loss.vjp
def _(g, out, x, grad_scale=1.0, valid_thresh=0.0, normalization="null"):
    ones = F.ones_like(x)
    if normalization == "valid":
        count = F.clip(F.sum(F.cast(x > valid_thresh, dtype=x.dtype)), a_min=1.0,
                       a_max=math.inf)
        return (F.broadcast_div(ones, count) * grad_scale,)
    if normalization == "batch":
        return (ones * (grad_scale / x.shape[0]),)
    return (ones * grad_scale,)


linear_regression_output.samples(
    lambda rng: Sample(_u(rng, 4, 3), _u(rng, 4, 3), grad=False),
    lambda rng: Sample(_u(rng, 4, 1), _u(rng, 4), grad=False))
logistic_regression_output.samples(
    lambda rng: Sample(_u(rng, 4, 3, lo=-3, hi=3), rng.integers(0, 2, (4, 3)).astype(float),
                       grad=False))
mae_regression_output.samples(lambda rng: Sample(_u(rng, 4, 3), _u(rng, 4, 3), grad=False))
make_loss.samples(lambda rng: Sample(_u(rng, 4, 3), grad=False),
                  lambda rng: Sample(_u(rng, 4, 3), normalization="valid", valid_thresh=0.2,
                                     grad=False))
