"""Losses for training neural networks (MXNet 1.x ``gluon.loss``).

Every loss is a :class:`HybridBlock` whose ``hybrid_forward(F, pred, label, ...)`` is written in
``F`` ops, so it runs eagerly, hybridized and on every backend; gradients come from autograd.
Unless noted, a loss returns one value per sample: the mean over every axis but ``batch_axis``.
"""

from __future__ import annotations

import math
import numbers

from ..base import MXNetValueError
from ..ndarray import NDArray
from .block import HybridBlock

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss",
           "HingeLoss", "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]


def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """``loss * sample_weight * weight``; ``sample_weight`` broadcasts against ``loss``."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        assert isinstance(weight, numbers.Number), "weight must be a number"
        loss = loss * weight
    return loss


def _reshape_like(F, x, y):
    """Reshape ``x`` to the shape of ``y`` (a no-op when it has it already)."""
    if isinstance(y, NDArray) or not hasattr(F, "reshape_like"):
        return x.reshape(y.shape)    # NDArrays and tracing stand-ins know their shapes
    return F.reshape_like(x, y)


def _ndim(x):
    try:
        return x.ndim
    except Exception:  # a Symbol whose shape is not known yet
        return None


class Loss(HybridBlock):
    """Base class of the losses.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    def __init__(self, weight, batch_axis, **kwargs):
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __repr__(self):
        return f"{self.__class__.__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Compute the loss with the ops of ``F`` (``mx.nd`` or ``mx.sym``)."""
        raise NotImplementedError

    def _batch_mean(self, F, loss):
        return F.mean(loss, axis=self._batch_axis, exclude=True)


class L2Loss(Loss):
    r"""Mean squared error: :math:`L = \frac{1}{2} \sum_i (label_i - pred_i)^2`, averaged over
    all axes but ``batch_axis``.

    Parameters
    ----------
    weight : float, default 1.0
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Notes
    -----
    Inputs: ``pred`` of any shape; ``label`` with as many elements; ``sample_weight``
    (optional) broadcastable to ``pred``. Output: shape ``(batch_size,)``.
    """

    def __init__(self, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.square(label - pred)
        loss = _apply_weighting(F, loss, self._weight / 2, sample_weight)
        return self._batch_mean(F, loss)


class L1Loss(Loss):
    r"""Mean absolute error: :math:`L = \sum_i |label_i - pred_i|`, averaged over all axes but
    ``batch_axis``.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class SigmoidBinaryCrossEntropyLoss(Loss):
    r"""Binary cross-entropy with a sigmoid (alias ``SigmoidBCELoss``):
    :math:`L = -\sum_i pos\_weight \cdot label_i \log p_i + (1 - label_i) \log(1 - p_i)` with
    :math:`p = sigmoid(pred)`, or :math:`p = pred` when ``from_sigmoid``.

    Parameters
    ----------
    from_sigmoid : bool, default False
        Whether ``pred`` is already a probability. Otherwise the sigmoid and the logarithms are
        computed together by the stable formula.
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Notes
    -----
    Inputs: ``pred``; ``label`` in [0, 1] with as many elements; ``sample_weight`` (optional);
    ``pos_weight`` (optional) weighting the positive term, broadcastable to ``pred`` (e.g.
    ``(1, num_classes)``). Output: shape ``(batch_size,)``.
    """

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        label = _reshape_like(F, label, pred)
        if not self._from_sigmoid:
            softrelu = F.Activation(-F.abs(pred), act_type="softrelu")  # log(1 + exp(-|x|))
            if pos_weight is None:
                # max(x, 0) - x * z + log(1 + exp(-|x|))
                loss = F.relu(pred) - pred * label + softrelu
            else:
                # x - x * z + (1 + z * (pos_weight - 1)) * (log(1 + exp(-|x|)) + max(-x, 0))
                log_weight = 1 + F.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * (softrelu + F.relu(-pred))
        else:
            eps = 1e-12
            pos = F.log(pred + eps) * label
            if pos_weight is not None:
                pos = F.broadcast_mul(pos, pos_weight)
            loss = -(pos + F.log(1. - pred + eps) * (1. - label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    r"""Softmax cross-entropy (alias ``SoftmaxCELoss``).

    With ``sparse_label`` (default) ``label`` holds class indices,
    :math:`L = -\log softmax(pred)_{label}`; otherwise a distribution of ``pred``'s shape,
    :math:`L = -\sum_j label_j \log softmax(pred)_j`.

    Parameters
    ----------
    axis : int, default -1
        The class axis of ``pred``.
    sparse_label : bool, default True
        Whether ``label`` holds integer class indices (``pred``'s shape without ``axis``).
    from_logits : bool, default False
        Whether ``pred`` is already a log-probability (e.g. from ``log_softmax``).
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Notes
    -----
    ``sample_weight`` (optional) broadcasts against the loss with ``axis`` kept as size 1
    (e.g. ``(batch_size, 1)``). Output: shape ``(batch_size,)``.
    """

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None, batch_axis=0,
                 **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if self._sparse_label and not self._from_logits:
            # one fused op (and one for its gradient) instead of log_softmax, pick, negative
            loss = F._internal._softmax_ce(pred, label, axis=self._axis)
        elif self._sparse_label:
            # MXNet's pick takes the index with or without the picked axis; give it with
            if _ndim(label) is not None and _ndim(label) == _ndim(pred) - 1:
                label = F.expand_dims(label, axis=self._axis)
            loss = -F.pick(pred, label, axis=self._axis, keepdims=True)
        else:
            if not self._from_logits:
                pred = F.log_softmax(pred, axis=self._axis)
            label = _reshape_like(F, label, pred)
            loss = -F.sum(pred * label, axis=self._axis, keepdims=True)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    r"""Kullback-Leibler divergence: :math:`L = \sum_i label_i (\log label_i - pred_i)`, summed
    over all axes but ``batch_axis`` (MXNet 1.9.1's; releases before 1.6 took the mean).

    Parameters
    ----------
    from_logits : bool, default True
        Whether ``pred`` is a log-probability; otherwise ``log_softmax`` over ``axis`` is
        applied first.
    axis : int, default -1
        The axis of the softmax (only with ``from_logits=False``).
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.sum(loss, axis=self._batch_axis, exclude=True)


class HuberLoss(Loss):
    r"""Smoothed L1 loss: :math:`\frac{1}{2\rho} (label - pred)^2` where
    :math:`|label - pred| \le \rho`, :math:`|label - pred| - \frac{\rho}{2}` elsewhere.

    Parameters
    ----------
    rho : float, default 1
        Threshold between the quadratic and the linear part.
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = F.where(loss > self._rho, loss - 0.5 * self._rho,
                       (0.5 / self._rho) * F.square(loss))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class HingeLoss(Loss):
    r"""Hinge loss of SVMs: :math:`L = \max(0, margin - pred \cdot label)` with labels -1/1.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    _squared = False

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.relu(self._margin - pred * label)
        if self._squared:
            loss = F.square(loss)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class SquaredHingeLoss(HingeLoss):
    r"""Soft-margin loss of SVMs: :math:`L = \max(0, margin - pred \cdot label)^2`.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    _squared = True


class LogisticLoss(Loss):
    r"""Logistic loss for binary labels: :math:`L = \log(1 + \exp(-pred \cdot label))`.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    label_format : str, default 'signed'
        ``'signed'`` for labels -1/1, ``'binary'`` for labels 0/1.
    """

    def __init__(self, weight=None, batch_axis=0, label_format="signed", **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format
        if self._label_format not in ("signed", "binary"):
            raise ValueError(f"label_format can only be signed or binary, recieved "
                             f"{label_format}.")

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0  # to 0/1
        loss = F.relu(pred) - pred * label + F.Activation(-F.abs(pred), act_type="softrelu")
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class TripletLoss(Loss):
    r"""Triplet loss:
    :math:`L = \max(\|positive - pred\|^2 - \|negative - pred\|^2 + margin, 0)` per sample.

    Parameters
    ----------
    margin : float, default 1
        Margin of separation between the positive and the negative pair.
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative):
        positive = _reshape_like(F, positive, pred)
        negative = _reshape_like(F, negative, pred)
        loss = F.sum(F.square(positive - pred) - F.square(negative - pred),
                     axis=self._batch_axis, exclude=True)
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, None)


class PoissonNLLLoss(Loss):
    r"""Negative log-likelihood of a Poisson distribution:
    :math:`L = \exp(pred) - target \cdot pred` (``from_logits``), else
    :math:`L = pred - target \cdot \log(pred + \epsilon)`; the mean over all elements.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    from_logits : bool, default True
        Whether ``pred`` is the log of the rate.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    compute_full : bool, default False
        Add Stirling's approximation of :math:`\log(target!)`,
        :math:`target \log target - target + \frac{1}{2}\log(2\pi \, target)`, for targets > 1.

    Notes
    -----
    Output: shape ``(1,)``, as in MXNet (the mean over all elements). Unlike MXNet, targets of
    0 with ``compute_full`` give a finite loss rather than NaN (the Stirling term is only
    evaluated where it is used).
    """

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False,
                 **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        target = _reshape_like(F, target, pred)
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            t = F.maximum(target, 1.0)   # log(0) never computed: the term is 0 there anyway
            stirling = t * F.log(t) - t + 0.5 * F.log(2 * math.pi * t)
            loss = loss + stirling * (target > 1)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


class CosineEmbeddingLoss(Loss):
    r"""Cosine embedding loss: :math:`1 - \cos(input1, input2)` for label 1,
    :math:`\max(0, \cos(input1, input2) - margin)` for label -1.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    margin : float, default 0
        Margin of the dissimilar pairs.

    Notes
    -----
    Inputs: ``input1``, ``input2`` of shape ``(batch_size, dim)``; ``label`` of shape
    ``(batch_size,)`` with values 1 or -1; ``sample_weight`` (optional). Output: shape
    ``(batch_size, 1)``, as MXNet 1.x returns it.
    """

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        input1 = _reshape_like(F, input1, input2)
        label = F.reshape(label, shape=(-1, 1))
        cos_sim = self._cosine_similarity(F, input1, input2)
        y_1 = label == 1
        y_minus_1 = label == -1
        cos_sim_a = (1 - cos_sim) * y_1
        cos_sim_b = F.relu(y_minus_1 * (cos_sim - self._margin))  # max(0, .)
        loss = cos_sim_a + cos_sim_b
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return loss

    def _cosine_similarity(self, F, x, y, axis=-1):
        x_norm = F.reshape(F.norm(x, axis=axis), shape=(-1, 1))
        y_norm = F.reshape(F.norm(y, axis=axis), shape=(-1, 1))
        x_dot_y = F.reshape(F.sum(x * y, axis=axis), shape=(-1, 1))
        return x_dot_y / F.maximum(x_norm * y_norm, 1e-12)


class SDMLLoss(Loss):
    r"""Batchwise Smoothed Deep Metric Learning loss (Bonadiman, Kumar and Mittal, "Large Scale
    Question Paraphrase Retrieval with Smoothed Deep Metric Learning", 2019): ``x1[i]`` and
    ``x2[i]`` are a positive pair, and every other row of the minibatch is a negative for them.

    With the squared distances :math:`d_{ij} = \|x1_i - x2_j\|^2`,
    :math:`\log p_{ij} = \mathrm{log\_softmax}_j(-d_{ij})`, and smoothed labels
    :math:`q_{ii} = 1 - s`, :math:`q_{ij} = s / (N - 1)` for :math:`i \ne j` (:math:`N` the
    batch size, :math:`s` the smoothing parameter), the loss of sample :math:`i` is the
    Kullback-Leibler divergence of its row,
    :math:`L_i = \sum_j q_{ij} (\log(q_{ij} + 10^{-12}) - \log p_{ij})`, as in MXNet 1.9 (whose
    ``KLDivLoss`` sums over the non-batch axes, where mxplug's averages as older releases did).

    Parameters
    ----------
    smoothing_parameter : float, default 0.3
        The probability mass spread over the negatives, in [0, 1).
    weight : float or None, default 1.0
        Global scalar weight of the loss.
    batch_axis : int, default 0
        The axis of the inputs that represents the mini-batch (0 or 1).

    Notes
    -----
    Inputs: ``x1`` and ``x2``, minibatches of vectors of the same shape ``(batch_size, dim)``
    (``(dim, batch_size)`` with ``batch_axis=1``), at least 2 samples. Output: shape
    ``(batch_size,)``. Written in ``F`` ops, so it also runs hybridized and on Symbols (MXNet
    1.9's runs on NDArrays only). Unlike MXNet 1.9, which ignores both, ``weight`` scales the
    loss and ``batch_axis=1`` takes the samples from the columns.
    """

    def __init__(self, smoothing_parameter=0.3, weight=1., batch_axis=0, **kwargs):
        if isinstance(smoothing_parameter, bool) or \
                not isinstance(smoothing_parameter, numbers.Real) or \
                not 0 <= smoothing_parameter < 1:
            raise ValueError(f"SDMLLoss: smoothing_parameter must be a number in [0, 1), got "
                             f"{smoothing_parameter!r}")
        if batch_axis not in (0, 1):
            raise ValueError(f"SDMLLoss: batch_axis must be 0 or 1 (the inputs are "
                             f"2-D), got {batch_axis!r}")
        super().__init__(weight, batch_axis, **kwargs)
        self.smoothing_parameter = smoothing_parameter

    @staticmethod
    def _check_inputs(x1, x2):
        shapes = []
        for x in (x1, x2):
            if _ndim(x) is None:   # a Symbol: its shape is checked by the ops
                return
            shapes.append(tuple(x.shape))
        if len(shapes[0]) != 2 or shapes[0] != shapes[1] or shapes[0][0] < 2:
            raise MXNetValueError(
                f"SDMLLoss: x1 and x2 must be minibatches of vectors of one shape (batch_size, "
                f"dim) with batch_size >= 2 (after batch_axis); got {shapes[0]} and "
                f"{shapes[1]}")

    def _compute_distances(self, F, x1, x2):
        """Squared Euclidean distances of every row of ``x1`` to every row of ``x2``: (N, N)."""
        diffs = F.broadcast_sub(F.expand_dims(x1, axis=1), F.expand_dims(x2, axis=0))
        return F.sum(F.square(diffs), axis=2)

    def _compute_labels(self, F, distances):
        """The identity of ``distances``' shape smoothed: ``1 - s`` on the diagonal, ``s / (N -
        1)`` elsewhere (built from ops, so the batch size need not be known)."""
        idx = F.contrib.arange_like(distances, axis=0)
        gold = F.broadcast_equal(F.reshape(idx, shape=(-1, 1)), F.reshape(idx, shape=(1, -1)))
        rest = 1 - gold
        negatives = F.sum(rest, axis=1, keepdims=True)   # N - 1 in every row
        return gold * (1 - self.smoothing_parameter) + \
            F.broadcast_div(rest * self.smoothing_parameter, negatives)

    def hybrid_forward(self, F, x1, x2):
        if self._batch_axis == 1:
            x1, x2 = F.transpose(x1), F.transpose(x2)
        self._check_inputs(x1, x2)
        distances = self._compute_distances(F, x1, x2)
        log_probabilities = F.log_softmax(-distances, axis=1)
        labels = F.stop_gradient(self._compute_labels(F, distances))
        loss = F.sum(labels * (F.log(labels + 1e-12) - log_probabilities), axis=1)
        return _apply_weighting(F, loss, self._weight)


# -- CTC --------------------------------------------------------------------------------------
class CTCLoss(Loss):
    r"""Connectionist Temporal Classification loss (Graves et al., 2006).

    Parameters
    ----------
    layout : str, default 'NTC'
        Layout of ``pred``: 'NTC' or 'TNC' (batch, sequence length, alphabet size).
    label_layout : str, default 'NT'
        Layout of ``label``: 'NT' or 'TN'.
    weight : float or None
        Global scalar weight of the loss.

    Notes
    -----
    Inputs: ``pred``, unnormalized scores (before softmax) whose last class,
    ``alphabet_size - 1``, is the blank; ``label``, zero-based class indices padded with -1;
    ``pred_lengths`` and ``label_lengths`` (optional, ``(batch_size,)``) for sequences of
    different lengths; ``sample_weight`` (optional). Output: shape ``(batch_size,)``, the
    negative log-likelihood of each label sequence, from the ``CTCLoss`` op (its forward
    recursion runs in log space, one step per time step, and autograd differentiates it).
    """

    def __init__(self, layout="NTC", label_layout="NT", weight=None, **kwargs):
        assert layout in ("NTC", "TNC"), \
            f"Only 'NTC' and 'TNC' layouts for pred are supported. Got: {layout}"
        assert label_layout in ("NT", "TN"), \
            f"Only 'NT' and 'TN' layouts for label are supported. Got: {label_layout}"
        self._layout = layout
        self._label_layout = label_layout
        batch_axis = label_layout.find("N")
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, pred_lengths=None, label_lengths=None,
                       sample_weight=None):
        if self._layout == "NTC":  # the CTCLoss op takes (T, N, C), as MXNet's loss does
            pred = F.swapaxes(pred, 0, 1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, 0, 1)
        loss = F.CTCLoss(*[a for a in (pred, label, pred_lengths, label_lengths) if a is not None],
                         use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None, blank_label="last")
        return _apply_weighting(F, loss, self._weight, sample_weight)
