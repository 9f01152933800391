"""``Estimator``: a training loop with event handlers (MXNet 1.x ``gluon.contrib.estimator``)."""

from __future__ import annotations

import copy
import logging
import numbers
import sys
import warnings

from ....base import MXNetError, MXNetValueError
from ....context import Context, current_context
from ....metric import Loss as MetricLoss
from ...loss import Loss as GluonLoss
from ...trainer import Trainer
from .batch_processor import BatchProcessor
from .event_handler import (
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    ProgressBarHandler,
    StoppingHandler,
    ValidationHandler,
)
from .handler_base import _categorize_handlers, _check_event_handlers, _sort_by_priority
from .progress import progress_bar_available
from .utils import (
    EstimatorError,
    _check_handler_metric_ref,
    _check_metrics,
    _suggest_metric_for_loss,
)

__all__ = ["Estimator"]


class Estimator:
    """Train and evaluate a Gluon network with event handlers.

    Parameters
    ----------
    net : gluon.Block
        The model to train.
    loss : gluon.loss.Loss
        The training objective.
    train_metrics : EvalMetric or list of EvalMetric, optional
        Metrics computed on the training batches. Default: ``Accuracy`` for a
        ``SoftmaxCrossEntropyLoss``, plus a ``metric.Loss`` named after the loss block (its
        ``name`` without the trailing instance number, e.g. ``'l2loss'``). Their
        names get a ``'training '`` prefix.
    val_metrics : EvalMetric or list of EvalMetric, optional
        Metrics computed by :meth:`evaluate`; default: copies of the training metrics. Their
        names get a ``'validation '`` prefix.
    initializer : Initializer, optional
        Initialises the parameters not initialised yet (none are re-initialised).
    trainer : gluon.Trainer, optional
        Default: SGD with learning rate 0.001 over ``net.collect_params()``, with a warning.
    context : Context or list of Context, optional
        Where to train; a batch is split over several. Default: the current context
        (``mx.current_context()``), not MXNet's "gpu(0) if there is one".
    val_net : gluon.Block, optional
        The model used by :meth:`evaluate` (usually sharing ``net``'s parameters).
    val_loss : gluon.loss.Loss, optional
        The validation loss; default ``loss``.
    batch_processor : BatchProcessor, optional
        Supplies ``fit_batch`` and ``evaluate_batch``.

    Attributes
    ----------
    logger : logging.Logger
        Where the handlers log; writes INFO and above to ``sys.stdout``.
    """

    logger = None

    def __init__(self, net, loss, train_metrics=None, val_metrics=None, initializer=None,
                 trainer=None, context=None, val_net=None, val_loss=None, batch_processor=None):
        self.net = net
        self.loss = self._check_loss(loss, "loss")
        self._train_metrics = _check_metrics(train_metrics)
        self._val_metrics = _check_metrics(val_metrics)
        self._add_default_training_metrics()
        self._add_validation_metrics()
        self.val_loss = self.loss if val_loss is None else self._check_loss(val_loss, "val_loss")
        self.val_net = self.net if val_net is None else val_net

        self.logger = logging.Logger(name="Estimator", level=logging.INFO)
        self.logger.addHandler(logging.StreamHandler(sys.stdout))

        self.context = self._check_context(context)
        self._initialize(initializer)
        self.trainer = self._check_trainer(trainer)
        self.batch_processor = self._check_batch_processor(batch_processor)
        self.max_epoch = None
        self.max_batch = None
        self.batch_axis = 0
        self._epoch_length = None  # len() of the data being iterated, for the progress bar
        self._progress_bar_active = False  # a ProgressBarHandler is drawing fit()'s bars

    # -- argument checks ------------------------------------------------------------------------
    @staticmethod
    def _check_loss(loss, what):
        if not isinstance(loss, GluonLoss):
            raise MXNetValueError(f"Estimator: {what} must be a gluon.loss.Loss (e.g. "
                                  f"gluon.loss.SoftmaxCrossEntropyLoss()), got "
                                  f"{type(loss).__name__}: {loss!r}")
        return loss

    @staticmethod
    def _check_context(context):
        if not context:
            return [current_context()]
        if isinstance(context, Context):
            context = [context]
        elif not (isinstance(context, (list, tuple))
                  and all(isinstance(c, Context) for c in context)):
            raise MXNetValueError(f"Estimator: context must be a Context or a list of Context, "
                                  f"for example mx.cpu() or [mx.gpu(0), mx.gpu(1)], got "
                                  f"{context!r}")
        for ctx in context:
            if ctx.device_type.startswith("cpu"):
                continue  # as MXNet: any cpu(i) is the host
            try:
                count = ctx.backend.num_devices()
            except MXNetError as err:
                raise EstimatorError(f"Estimator: context {ctx} is not available: {err}") from None
            if ctx.device_id >= count:
                raise EstimatorError(f"Estimator: context {ctx} is not available: its backend "
                                     f"has {count} device(s)")
        return list(context)

    @staticmethod
    def _check_batch_processor(batch_processor):
        if batch_processor is None:
            return BatchProcessor()
        if not (callable(getattr(batch_processor, "fit_batch", None))
                and callable(getattr(batch_processor, "evaluate_batch", None))):
            raise MXNetValueError(f"Estimator: a customized batch processor must contain "
                                  f"fit_batch() and evaluate_batch() methods, got "
                                  f"{type(batch_processor).__name__}")
        return batch_processor

    def _is_initialized(self):
        for param in self.net.collect_params().values():
            try:
                param.list_ctx()
            except (MXNetError, RuntimeError):
                return False
        return True

    def _initialize(self, initializer):
        if not self._is_initialized():
            # partly or not initialised: initialize() leaves the initialised ones as they are
            if initializer:
                self.net.initialize(init=initializer, ctx=self.context)
            else:
                self.net.initialize(ctx=self.context)
        elif initializer:
            warnings.warn("Network already fully initialized, skipping initialization. You don't "
                          "need to pass initializer if you already initialized your net. You can "
                          "use net.initialize(init=your_initializer, force_reinit=True) to force "
                          "re-initialize.", stacklevel=3)

    def _check_trainer(self, trainer):
        if trainer is None:
            params = {name: p for name, p in self.net.collect_params().items()
                      if p.grad_req != "null"}
            if not params:
                raise MXNetValueError(f"Estimator: the net {type(self.net).__name__} has no "
                                      f"trainable parameters (collect_params() is empty or all "
                                      f"grad_req='null'); there is nothing to train")
            warnings.warn("No trainer specified, default SGD optimizer with learning rate 0.001 "
                          "is used.", stacklevel=3)
            return Trainer(self.net.collect_params(), "sgd", {"learning_rate": 0.001})
        if not isinstance(trainer, Trainer):
            raise MXNetValueError(f"Estimator: trainer must be a gluon.Trainer instance, got "
                                  f"{type(trainer).__name__}: {trainer!r}")
        if not trainer._params:
            raise MXNetValueError("Estimator: the trainer has no parameters to update; create "
                                  "it with gluon.Trainer(net.collect_params(), ...)")
        return trainer

    # -- metrics ----------------------------------------------------------------------------------
    def _add_default_training_metrics(self):
        if not self._train_metrics:
            suggested = _suggest_metric_for_loss(self.loss)
            if suggested:
                self._train_metrics = [suggested]
            # MXNet's name: the loss block's name without its instance number
            self._train_metrics.append(MetricLoss(self.loss.name.rstrip("0123456789")))
        for metric in self._train_metrics:
            # the prefix tells handlers training metrics from validation ones
            metric.name = "training " + metric.name

    def _add_validation_metrics(self):
        if not self._val_metrics:
            self._val_metrics = [copy.deepcopy(metric) for metric in self._train_metrics]
        for metric in self._val_metrics:
            if "training" in metric.name:
                metric.name = metric.name.replace("training", "validation")
            else:
                metric.name = "validation " + metric.name

    @property
    def train_metrics(self):
        """The training metrics (names prefixed ``'training '``)."""
        return self._train_metrics

    @property
    def val_metrics(self):
        """The validation metrics (names prefixed ``'validation '``)."""
        return self._val_metrics

    # -- loops ----------------------------------------------------------------------------------
    @staticmethod
    def _check_data(data, what):
        from ....io import DataIter
        from ...data import Dataset
        if isinstance(data, Dataset):  # single samples, which would reach the net unbatched
            raise MXNetValueError(f"Estimator: {what} is a dataset of single samples "
                                  f"({type(data).__name__}); batch it: gluon.data.DataLoader("
                                  f"{what}, batch_size=...)")
        if isinstance(data, DataIter):
            # MXNet's exact error; other iterables of (data, label) batches stay accepted
            raise MXNetValueError("Estimator only support input as Gluon DataLoader. "
                                  "Alternatively, you can transform your DataIter or any "
                                  "NDArray into Gluon DataLoader. Refer to "
                                  "gluon.data.dataloader")
        if data is None or not (hasattr(data, "__iter__") or hasattr(data, "__getitem__")):
            raise MXNetValueError(f"Estimator: {what} must be an iterable of (data, label) "
                                  f"batches such as a gluon.data.DataLoader, got "
                                  f"{type(data).__name__}")

    @staticmethod
    def _length(data):
        try:
            return len(data)
        except TypeError:
            return None

    def evaluate(self, val_data, batch_axis=0, event_handlers=None, *, progress_bar=None):
        """Evaluate ``val_net`` on ``val_data``, updating :attr:`val_metrics`.

        Parameters
        ----------
        val_data : iterable
            Batches of ``(data, label)``, e.g. a DataLoader.
        batch_axis : int, default 0
            The batch axis along which data is split over the contexts.
        event_handlers : EventHandler or list of EventHandler, optional
            Handlers for this evaluation; a MetricHandler and a LoggingHandler over the
            validation metrics are added unless given.
        progress_bar : bool, optional
            Show a tqdm bar (mxplug addition). None: when tqdm is installed and stderr is a
            terminal.
        """
        self._check_data(val_data, "val_data")
        for metric in self.val_metrics:
            metric.reset()
        handlers = self._prepare_default_validation_handlers(event_handlers, progress_bar)
        _, epoch_begin, batch_begin, batch_end, epoch_end, _ = self._categorize_handlers(handlers)
        self._epoch_length = self._length(val_data)
        try:
            for handler in epoch_begin:
                handler.epoch_begin(self)
            for batch in val_data:
                for handler in batch_begin:
                    handler.batch_begin(self, batch=batch)
                _, label, pred, loss = self.batch_processor.evaluate_batch(self, batch,
                                                                           batch_axis)
                for handler in batch_end:
                    handler.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
            for handler in epoch_end:
                handler.epoch_end(self)
        except BaseException:
            for handler in handlers:
                if isinstance(handler, ProgressBarHandler):
                    handler.abort(self)
            raise

    def fit(self, train_data, val_data=None, epochs=None, event_handlers=None, batches=None,
            batch_axis=0, *, progress_bar=None):
        """Train on ``train_data`` for ``epochs`` epochs or ``batches`` batches.

        Parameters
        ----------
        train_data : iterable
            Batches of ``(data, label)``, e.g. a DataLoader; iterated once per epoch, so it
            must be re-iterable (a used-up iterator raises ``MXNetValueError``).
        val_data : iterable, optional
            Validation batches; a ValidationHandler evaluates them every epoch.
        epochs : int, optional
            Number of epochs (exactly one of ``epochs`` and ``batches``).
        event_handlers : EventHandler or list of EventHandler, optional
            Handlers besides the defaults: a StoppingHandler, a GradientUpdateHandler, a
            MetricHandler, a ValidationHandler (with ``val_data``) and a LoggingHandler are
            added unless one of that type is given.
        batches : int, optional
            Number of batches.
        batch_axis : int, default 0
            The batch axis along which data is split over the contexts.
        progress_bar : bool, optional
            Add a :class:`ProgressBarHandler` (mxplug addition). None: when tqdm is installed
            and stderr is a terminal.
        """
        self._check_data(train_data, "train_data")
        if val_data is not None:
            self._check_data(val_data, "val_data")  # fail now, not after the first epoch
        if (not epochs) == (not batches):
            raise MXNetValueError("Fit only support exactly one type of iteration, train by "
                                  "number of epochs or number of batches. Please specify one "
                                  f"and only one of: epochs or batches (got epochs={epochs!r}, "
                                  f"batches={batches!r}).")
        for value, what in ((epochs, "epochs"), (batches, "batches")):
            if value and (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                          or value < 0):
                raise MXNetValueError(f"Estimator.fit: {what} must be a positive int, got "
                                      f"{value!r}")
        self.max_epoch = int(epochs) if epochs else epochs
        self.max_batch = int(batches) if batches else batches
        self.batch_axis = batch_axis

        handlers = self._prepare_default_handlers(val_data, event_handlers, progress_bar)
        train_begin, epoch_begin, batch_begin, batch_end, epoch_end, train_end = \
            self._categorize_handlers(handlers)
        length = self._length(train_data)
        try:
            for handler in train_begin:
                handler.train_begin(self)
            epoch = 0
            while True:
                self._epoch_length = length
                for handler in epoch_begin:
                    handler.epoch_begin(self)
                n_batches = 0
                for batch in train_data:
                    n_batches += 1
                    for handler in batch_begin:
                        handler.batch_begin(self, batch=batch)
                    _, label, pred, loss = self.batch_processor.fit_batch(self, batch,
                                                                          batch_axis)
                    # every handler sees the batch end, even after one asked to stop
                    stop = [h.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
                            for h in batch_end]
                    if any(stop):
                        break
                if not n_batches:
                    # only a batch end can stop training by batches: without this it never ends
                    raise MXNetValueError(
                        f"Estimator.fit: train_data yielded no batches in epoch {epoch} (empty, "
                        f"or a one-shot iterator already used up); pass a re-iterable such as a "
                        f"DataLoader")
                stop = [handler.epoch_end(self) for handler in epoch_end]
                if any(stop):
                    break
                epoch += 1
            for handler in train_end:
                handler.train_end(self)
        finally:
            # an error or Ctrl-C must not leave a bar drawn or the logger redirected
            for handler in handlers:
                if isinstance(handler, ProgressBarHandler):
                    handler.abort(self)

    # -- default handlers -----------------------------------------------------------------------
    @staticmethod
    def _categorize_handlers(event_handlers):
        """The handlers of each event, in order: (train_begin, epoch_begin, batch_begin,
        batch_end, epoch_end, train_end)."""
        return _categorize_handlers(event_handlers)

    def _want_progress_bar(self, progress_bar, handlers):
        if any(isinstance(h, ProgressBarHandler) for h in handlers):
            return False
        if progress_bar is None:
            # a validation inside fit() shows in the training bar, not in a nested one
            return progress_bar_available() and not self._progress_bar_active
        return bool(progress_bar)

    def _prepare_default_handlers(self, val_data, event_handlers, progress_bar=None):
        handlers = _check_event_handlers(event_handlers)
        added = [StoppingHandler(self.max_epoch, self.max_batch)]
        if not any(isinstance(h, GradientUpdateHandler) for h in handlers):
            added.append(GradientUpdateHandler())
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.train_metrics))
        if not any(isinstance(h, ValidationHandler) for h in handlers) and val_data is not None:
            added.append(ValidationHandler(val_data=val_data, eval_fn=self.evaluate))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.train_metrics))
        if self._want_progress_bar(progress_bar, handlers):
            added.append(ProgressBarHandler(metrics=self.train_metrics + self.val_metrics))
        mixing = bool(handlers)
        handlers.extend(added)
        if mixing:
            # a default handler and a user's must agree on which metric objects they share
            known = self.train_metrics + self.val_metrics
            for handler in handlers:
                _check_handler_metric_ref(handler, known)
        return _sort_by_priority(handlers)

    def _prepare_default_validation_handlers(self, event_handlers, progress_bar=None):
        handlers = _check_event_handlers(event_handlers)
        added = []
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.val_metrics))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.val_metrics))
        if self._want_progress_bar(progress_bar, handlers):
            added.append(ProgressBarHandler(metrics=self.val_metrics))
        mixing = bool(handlers) and bool(added)
        handlers.extend(added)
        if mixing:
            for handler in handlers:
                _check_handler_metric_ref(handler, self.val_metrics)
        return _sort_by_priority(handlers)
