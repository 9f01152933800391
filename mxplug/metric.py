"""``mx.metric``: evaluation metrics (MXNet 1.x semantics).

``metric.update(labels, preds)`` takes lists of NDArrays (or one of each); ``get()`` gives
``(name, value)``. The per-batch arithmetic runs in mxplug ops on the arrays' own device and only
scalars come back to the host (NumPy arrays are accepted too).
"""

from __future__ import annotations

import json
import math

import numpy

from . import ndarray as nd
from .ndarray import NDArray

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "MAE",
           "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "Perplexity",
           "PearsonCorrelation", "PCC", "Loss", "Torch", "CustomMetric", "create", "register", "np",
           "check_label_shapes"]

_REGISTRY: dict = {}


def register(klass, *aliases):
    """Register a metric class under its lower-cased name and ``aliases``."""
    for n in (klass.__name__.lower(), *aliases):
        _REGISTRY[n.lower()] = klass
    return klass


def alias(*aliases):
    def deco(klass):
        return register(klass, *aliases)
    return deco


class _MetricAssertion(ValueError, AssertionError):
    """A check MXNet makes with ``assert``; ValueError is what a caller would expect."""


_UnknownMetric = _MetricAssertion


def create(metric=None, *args, **kwargs):
    """A metric from a name (``'acc'``), an instance, a callable ``feval(label, pred)``
    (a :class:`CustomMetric`), a list of these (a :class:`CompositeEvalMetric`), or a
    configuration: a dict or the JSON text of :meth:`EvalMetric.get_config` (its ``metric``
    entry names the class)."""
    if metric is None:
        metric = kwargs.pop("metric")
    if isinstance(metric, EvalMetric):
        if args or kwargs:
            raise _UnknownMetric(f"metric is already an instance ({type(metric).__name__}); "
                                 f"additional arguments are invalid")
        return metric
    if callable(metric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    if isinstance(metric, dict):
        return create(**metric)
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str, an EvalMetric, a callable or a list, "
                        f"not {type(metric).__name__}")
    if metric.startswith("{"):  # get_config() as JSON
        return create(**json.loads(metric))
    if metric.startswith("["):  # [name, kwargs]
        name, config = json.loads(metric)
        return create(name, **config)
    klass = _REGISTRY.get(metric.lower())
    if klass is None:
        raise _UnknownMetric(f"Metric must be either callable or in {sorted(_REGISTRY)}; "
                             f"got {metric!r}")
    return klass(*args, **kwargs)


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Check that ``labels`` and ``preds`` match in length (or shape with ``shape=True``);
    with ``wrap``, single arrays become one-element lists."""
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of predictions "
                         f"{pred_shape}")
    if wrap:
        if isinstance(labels, (NDArray, numpy.ndarray)):
            labels = [labels]
        if isinstance(preds, (NDArray, numpy.ndarray)):
            preds = [preds]
    return labels, preds


def _nd(x, like=None):
    """``x`` as an NDArray (on ``like``'s context when given)."""
    if not isinstance(x, NDArray):
        x = nd.array(numpy.asarray(x), ctx=like.context if like is not None else None)
    elif like is not None and x.context != like.context:
        x = x.as_in_context(like.context)
    return x


def _scalar(x) -> float:
    return float(x.asscalar())


class EvalMetric:
    """The base class of metrics: accumulates ``sum_metric`` over ``num_inst``.

    Parameters
    ----------
    name : str
        The metric's name.
    output_names, label_names : list of str, optional
        Which outputs/labels :meth:`update_dict` uses.
    """

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self):
        """The metric's configuration (``create(**config)`` rebuilds it)."""
        config = self._kwargs.copy()
        config.update({"metric": type(self).__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """Update from dicts name -> array, selecting ``output_names``/``label_names``."""
        if self.output_names is not None:
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        """Accumulate the metric over a batch of ``labels`` and ``preds``."""
        raise NotImplementedError()

    def _add(self, value, n):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += n
        self.global_num_inst += n

    def reset(self):
        """Clear the accumulated statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Clear the local (not the global) statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        """``(name, value)``; the value is NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        """``(name, value)`` over every update since the last :meth:`reset`."""
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    def get_name_value(self):
        """``[(name, value), ...]``."""
        name, value = self.get()
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_global_name_value(self):
        name, value = self.get_global()
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))


@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get()`` gives lists of names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        """Add a child metric (anything :func:`create` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            raise ValueError(f"Metric index {index} is out of range 0 and "
                             f"{len(self.metrics)}") from None

    def update_dict(self, labels, preds):
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        for metric in getattr(self, "metrics", []):
            metric.reset()

    def reset_local(self):
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for metric in self.metrics:
            name, value = getter(metric)
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return names, values

    def get(self):
        return self._collect(lambda m: m.get())

    def get_global(self):
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config


@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of predictions equal to the labels; predictions with the labels' shape are
    class ids, others are scores whose argmax over ``axis`` is the class."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _nd(pred)
            label = _nd(label, pred)
            if pred.shape != label.shape:
                pred = nd.argmax(pred, axis=self.axis)
            # as MXNet: the class indices go to the host, compared there (two small copies
            # instead of five device ops)
            pred = pred.asnumpy().astype(numpy.int32).reshape(-1)
            label = label.asnumpy().astype(numpy.int32).reshape(-1)
            check_label_shapes(label, pred)
            self._add(int((pred == label).sum()), pred.size)


@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the ``top_k`` highest scores."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.top_k = top_k
        if self.top_k <= 1:
            raise _MetricAssertion("Please use Accuracy if top_k is no more than 1")
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _nd(pred).astype("float32")
            label = _nd(label, pred)
            if pred.ndim > 2:
                raise _MetricAssertion("Predictions should be no more than 2 dims")
            n = pred.shape[0]
            if pred.ndim == 1:
                correct = nd.sum(pred.astype("int32") == label.astype("int32").reshape(-1))
            else:
                k = min(pred.shape[1], self.top_k)
                top = nd.topk(pred, axis=1, k=k, ret_typ="indices").astype("int32")
                hits = top == label.astype("int32").reshape((-1, 1))
                correct = nd.sum(hits)
            self._add(int(_scalar(correct)), n)


class _BinaryClassificationMetrics:
    """True/false positive/negative counts of a binary classifier (class 1 is positive), kept
    twice, as MXNet does: since the last local reset and since the last full reset."""

    _COUNTS = ("true_positives", "false_positives", "false_negatives", "true_negatives")

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred):
        pred = _nd(pred)
        label = _nd(label, pred).astype("int32").reshape(-1)
        pred_label = nd.argmax(pred, axis=1).astype("int32").reshape(-1)
        check_label_shapes(label, pred_label)
        if _scalar(nd.sum((label != 0) * (label != 1))) > 0:
            raise ValueError("F1/MCC currently only support binary classification.")
        pred_true = (pred_label == 1).astype("float64")
        label_true = (label == 1).astype("float64")
        counts = (nd.sum(pred_true * label_true), nd.sum(pred_true * (1 - label_true)),
                  nd.sum((1 - pred_true) * label_true), nd.sum((1 - pred_true) * (1 - label_true)))
        for name, count in zip(self._COUNTS, counts):
            count = int(_scalar(count))
            setattr(self, name, getattr(self, name) + count)
            setattr(self, "global_" + name, getattr(self, "global_" + name) + count)

    @staticmethod
    def _fscore(tp, fp, fn):
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall == 0:
            return 0.0
        return 2 * precision * recall / (precision + recall)

    @staticmethod
    def _mcc(tp, fp, fn, tn):
        if not tp + fp + fn + tn:
            return 0.0
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):  # a zero factor counts as 1 (MXNet)
            if t != 0.0:
                denom *= t
        return ((tp * tn) - (fp * fn)) / math.sqrt(denom)

    def _counts(self, prefix=""):
        return [float(getattr(self, prefix + n)) for n in self._COUNTS]

    @property
    def precision(self):
        tp, fp, _, _ = self._counts()
        return tp / (tp + fp) if tp + fp > 0 else 0.0

    @property
    def recall(self):
        tp, _, fn, _ = self._counts()
        return tp / (tp + fn) if tp + fn > 0 else 0.0

    @property
    def fscore(self):
        return self._fscore(*self._counts()[:3])

    @property
    def global_fscore(self):
        return self._fscore(*self._counts("global_")[:3])

    @property
    def matthewscc(self):
        return self._mcc(*self._counts())

    @property
    def global_matthewscc(self):
        return self._mcc(*self._counts("global_"))

    @property
    def total_examples(self):
        return sum(getattr(self, n) for n in self._COUNTS)

    @property
    def global_total_examples(self):
        return sum(getattr(self, "global_" + n) for n in self._COUNTS)

    def local_reset_stats(self):
        for n in self._COUNTS:
            setattr(self, n, 0)

    def reset_stats(self):
        self.local_reset_stats()
        for n in self._COUNTS:
            setattr(self, "global_" + n, 0)


class _BinaryMetric(EvalMetric):
    """F1 / MCC: ``average='macro'`` averages the scores of each :meth:`update` call (one per
    call, whatever number of arrays it is given), ``'micro'`` pools the counts."""

    def __init__(self, name, output_names=None, label_names=None, average="macro"):
        self.average = average
        self.metrics = _BinaryClassificationMetrics()
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _score(self, prefix=""):
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config["average"] = self.average
        return config

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred)
        if self.average == "macro":
            self._add(self._score(), 1)
            self.metrics.reset_stats()
        else:
            self.sum_metric = self._score() * self.metrics.total_examples
            self.global_sum_metric = self._score("global_") * self.metrics.global_total_examples
            self.num_inst = self.metrics.total_examples
            self.global_num_inst = self.metrics.global_total_examples

    def reset(self):
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self):
        super().reset_local()
        self.metrics.local_reset_stats()


@alias("f1")
class F1(_BinaryMetric):
    """The F1 score of a binary classifier (predictions: scores of shape (n, 2))."""

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, prefix=""):
        return getattr(self.metrics, prefix + "fscore")


@alias("mcc")
class MCC(_BinaryMetric):
    """Matthews correlation coefficient of a binary classifier."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, prefix=""):
        return getattr(self.metrics, prefix + "matthewscc")


class _Regression(EvalMetric):
    def __init__(self, name, output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _batch(self, label, pred):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _nd(pred)
            label = _nd(label, pred)
            if label.ndim == 1:
                label = label.reshape((label.shape[0], 1))
            if pred.ndim == 1:
                pred = pred.reshape((pred.shape[0], 1))
            self._add(self._batch(label.astype("float64"), pred.astype("float64")), 1)


@alias("mae")
class MAE(_Regression):
    """Mean absolute error, averaged over batches."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch(self, label, pred):
        return _scalar(nd.mean(nd.abs(label - pred)))


@alias("mse")
class MSE(_Regression):
    """Mean squared error, averaged over batches."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch(self, label, pred):
        return _scalar(nd.mean(nd.square(label - pred)))


@alias("rmse")
class RMSE(_Regression):
    """Root mean squared error of each batch, averaged over batches."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch(self, label, pred):
        return math.sqrt(_scalar(nd.mean(nd.square(label - pred))))


@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of ``-log(p[label] + eps)`` over samples (``preds``: probabilities (n, classes))."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _nd(pred).astype("float64")
            label = _nd(label, pred).reshape(-1)
            if label.shape[0] != pred.shape[0]:
                raise _MetricAssertion(f"labels ({label.shape[0]}) and predictions "
                                       f"({pred.shape[0]}) differ in number of samples")
            prob = nd.pick(pred, label, axis=-1)
            self._add(_scalar(nd.sum(-nd.log(prob + self.eps))), label.shape[0])


@alias("nll_loss")
class NegativeLogLikelihood(CrossEntropy):
    """Negative log-likelihood: the same as :class:`CrossEntropy`, named ``nll-loss``."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


NLL = NegativeLogLikelihood


@alias("perplexity")
class Perplexity(EvalMetric):
    """``exp`` of the mean negative log-probability of the labels; labels equal to
    ``ignore_label`` are left out."""

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise _MetricAssertion(f"{len(labels)} labels vs {len(preds)} predictions")
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            pred = _nd(pred)
            label = _nd(label, pred)
            if label.size != pred.size // pred.shape[-1]:
                raise _MetricAssertion(f"shape mismatch: {label.shape} vs. {pred.shape}")
            label = label.reshape((label.size,))
            pred = nd.pick(pred.reshape((-1, pred.shape[-1])) if self.axis in (-1, pred.ndim - 1)
                           else pred, label.astype("int32"), axis=self.axis)
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(pred.dtype)
                num -= int(_scalar(nd.sum(ignore)))
                pred = pred * (1 - ignore) + ignore
            loss -= _scalar(nd.sum(nd.log(nd.maximum(pred, 1e-10))))
            num += pred.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: ``average='macro'`` averages each batch's
    coefficient, ``'micro'`` computes it over all samples seen."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def reset(self):
        super().reset()
        self._sums = [0.0] * 5  # n, sum x, sum y, sum x^2, sum y^2 ... and sum xy below
        self._sxy = 0.0

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _nd(pred)
            label = _nd(label, pred)
            check_label_shapes(label, pred, False, True)
            x = pred.astype("float64").reshape(-1)
            y = label.astype("float64").reshape(-1)
            if self.average == "macro":
                # on the host with numpy.corrcoef, as MXNet does: the same value to the last bit
                r = numpy.corrcoef(x.asnumpy(), y.asnumpy())[0, 1]
                self._add(float(r), 1)
            else:
                n, sx, sy, sxx, syy = self._sums
                self._sums = [n + x.size, sx + _scalar(nd.sum(x)), sy + _scalar(nd.sum(y)),
                              sxx + _scalar(nd.sum(x * x)), syy + _scalar(nd.sum(y * y))]
                self._sxy += _scalar(nd.sum(x * y))
                self.num_inst = self.global_num_inst = 1
                self.sum_metric = self.global_sum_metric = self._micro()

    def get_config(self):
        config = super().get_config()
        config["average"] = self.average
        return config

    def _micro(self):
        n, sx, sy, sxx, syy = self._sums
        cov = self._sxy - sx * sy / n
        return cov / math.sqrt((sxx - sx * sx / n) * (syy - sy * sy / n))


@alias("pcc")
class PCC(EvalMetric):
    """The multiclass Matthews correlation (Pearson correlation of the one-hot predictions and
    labels, from a confusion matrix that grows with the largest class id seen); for two classes
    it equals :class:`MCC`. Predictions are scores (argmax taken) or class ids."""

    def __init__(self, name="pcc", output_names=None, label_names=None):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _grow(self, k):
        pad = ((0, k - self.k), (0, k - self.k))
        self.lcm = numpy.pad(self.lcm, pad)
        self.gcm = numpy.pad(self.gcm, pad)
        self.k = k

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x, y = cmat.sum(axis=1), cmat.sum(axis=0)
        cov_xx, cov_yy = numpy.sum(x * (n - x)), numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = numpy.asarray(_nd(label).asnumpy())
            pred = numpy.asarray(_nd(pred).asnumpy())
            if pred.shape != label.shape:  # scores: the class is the argmax
                pred = pred.argmax(axis=1)
            label = label.astype(numpy.int64).reshape(-1)
            pred = pred.astype(numpy.int64).reshape(-1)
            check_label_shapes(label, pred)
            k = int(max(pred.max(initial=0), label.max(initial=0))) + 1
            if k > self.k:
                self._grow(k)
            batch = numpy.zeros((self.k, self.k))
            numpy.add.at(batch, (pred, label), 1)
            self.lcm += batch
            self.gcm += batch
        self.num_inst += 1
        self.global_num_inst += 1

    # the score comes from the confusion matrices, not from accumulated sums
    sum_metric = property(lambda self: self._calc_mcc(self.lcm) * self.num_inst)
    global_sum_metric = property(lambda self: self._calc_mcc(self.gcm) * self.global_num_inst)

    def reset(self):
        self.global_num_inst = 0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0
        self.lcm = numpy.zeros((self.k, self.k))


@alias("loss")
class Loss(EvalMetric):
    """The mean of loss values (the predictions; labels are ignored)."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        if isinstance(preds, (NDArray, numpy.ndarray)):
            preds = [preds]
        for pred in preds:
            pred = _nd(pred)
            self._add(_scalar(nd.sum(pred.astype("float64"))), pred.size)


@alias("torch")
class Torch(Loss):
    """Dummy metric for torch criterions (a :class:`Loss` named ``torch``)."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)


@alias("custom")
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on NumPy arrays, returning a value or a
    ``(sum_metric, num_inst)`` pair."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None,
                 label_names=None):
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        elif isinstance(labels, (NDArray, numpy.ndarray)):
            labels, preds = [labels], [preds] if isinstance(preds, (NDArray, numpy.ndarray)) \
                else preds
        for pred, label in zip(preds, labels):
            # the user's function works on NumPy arrays: the one host transfer here
            label = label.asnumpy() if isinstance(label, NDArray) else numpy.asarray(label)
            pred = pred.asnumpy() if isinstance(pred, NDArray) else numpy.asarray(pred)
            reval = self._feval(label, pred)
            if isinstance(reval, tuple):
                self._add(reval[0], reval[1])
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval, name=None, allow_extra_outputs=False):
    """A :class:`CustomMetric` from ``numpy_feval(label, pred)``."""
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)


for _k in (Accuracy, TopKAccuracy, F1, MCC, MAE, MSE, RMSE, CrossEntropy, NegativeLogLikelihood,
           Perplexity, PearsonCorrelation, PCC, Loss, Torch, CustomMetric, CompositeEvalMetric):
    _REGISTRY.setdefault(_k.__name__.lower(), _k)
_REGISTRY["cross-entropy"] = CrossEntropy
_REGISTRY["nll-loss"] = NegativeLogLikelihood
