"""``CheckpointHandler``: periodic and best-so-far checkpoints, rotation, and resume.

A checkpoint is two files in ``model_dir``: ``{prefix}-epoch{E}batch{B}.params`` (the net's
``save_parameters``) and ``{prefix}-epoch{E}batch{B}.states`` (the trainer's ``save_states``),
each written atomically (a temporary file renamed over the target). The pair is two renames, so
``.states`` is written first: a ``.params`` file, which is what resuming looks for, marks a
complete checkpoint. At an epoch end ``E`` is the
0-based index of the epoch just finished and ``B`` the number of batches trained so far; at a
batch-period save ``B`` is the 0-based index of the batch just finished (MXNet's numbering).
"""

from __future__ import annotations

import math
import os
import re
import warnings

from ....base import MXNetValueError
from ....metric import EvalMetric
from .handler_base import BatchEnd, EpochEnd, TrainBegin
from .utils import EstimatorError, _Monitor

__all__ = ["CheckpointHandler"]


def _check_period(value, what):
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise MXNetValueError(f"CheckpointHandler: {what} must be None or an int >= 0, "
                              f"got {value!r}")


class CheckpointHandler(TrainBegin, BatchEnd, EpochEnd):
    """Save the parameters and trainer states every ``epoch_period`` epochs and/or
    ``batch_period`` batches, keep the newest ``max_checkpoints``, optionally keep the best
    model by ``monitor``, and resume an interrupted training.

    Parameters
    ----------
    model_dir : str
        Directory of the checkpoint files (created if missing).
    model_prefix : str, default 'model'
        Prefix of every file name.
    monitor : EvalMetric, optional
        The metric that decides the best model (needed with ``save_best``).
    verbose : int, default 0
        1: log every save to ``estimator.logger``.
    save_best : bool, default False
        Also keep ``{prefix}-best.params`` / ``.states`` of the best monitored value.
    mode : {'auto', 'min', 'max'}, default 'auto'
        Whether smaller or larger ``monitor`` values are better; ``'auto'``: larger for
        accuracy/F1 names, smaller otherwise.
    epoch_period : int, default 1
        Save every this many epochs (None or 0: not at epoch ends).
    batch_period : int, optional
        Save every this many batches (None: not at batch ends).
    max_checkpoints : int, default 5
        How many periodic checkpoints to keep; older ones are deleted (the best is not counted).
    resume_from_checkpoint : bool, default False
        At train begin, load the latest checkpoint in ``model_dir`` (parameters and trainer
        states) and train only the remaining epochs or batches; later checkpoints continue
        the saved epoch/batch numbering.
    """

    def __init__(self, model_dir, model_prefix="model", monitor=None, verbose=0, save_best=False,
                 mode="auto", epoch_period=1, batch_period=None, max_checkpoints=5,
                 resume_from_checkpoint=False):
        _check_period(epoch_period, "epoch_period")
        _check_period(batch_period, "batch_period")
        _check_period(max_checkpoints, "max_checkpoints")
        if save_best and not isinstance(monitor, EvalMetric):
            raise MXNetValueError("CheckpointHandler: to save the best model, please provide one "
                                  "of the metric objects from estimator.train_metrics and "
                                  f"estimator.val_metrics as monitor, got {monitor!r}")
        os.makedirs(model_dir, exist_ok=True)
        self.model_dir = model_dir
        self.model_prefix = model_prefix
        self.monitor = monitor
        self.verbose = verbose
        self.save_best = save_best
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.max_checkpoints = max_checkpoints
        self.resume_from_checkpoint = resume_from_checkpoint
        self.current_batch = 0
        self.current_epoch = 0
        self.trained_epoch = -1  # the resumed checkpoint's epoch index (-1: none)
        self.trained_batch = -1
        self._epoch_offset = self._batch_offset = 0
        self.saved_checkpoints = []
        # 'min' without save_best: nothing is compared then, but best stays a number
        self._monitor = (_Monitor.for_metric(monitor, mode, "CheckpointHandler") if save_best
                         else _Monitor("min"))
        self.mode = self._monitor.mode if save_best else None
        self.best = self._monitor.worst

    # -- events -----------------------------------------------------------------------------------
    def train_begin(self, estimator, *args, **kwargs):
        self.current_epoch = 0
        self.current_batch = 0
        self._epoch_offset = self._batch_offset = 0
        self.best = self._monitor.worst
        if self.resume_from_checkpoint:
            by_batches = bool(estimator.max_batch)
            if (by_batches and (not self.batch_period or self.epoch_period)) or (
                    not by_batches and (not self.epoch_period or self.batch_period)):
                raise EstimatorError(
                    "CheckpointHandler: to resume from a checkpoint, save with the same kind of "
                    "period you train by: training by epochs needs epoch_period and "
                    "batch_period=None; training by batches needs batch_period and "
                    f"epoch_period=None (got epoch_period={self.epoch_period}, "
                    f"batch_period={self.batch_period})")
            self._resume(estimator)

    def batch_end(self, estimator, *args, **kwargs):
        if self.current_batch == 0:
            self._save_symbol(estimator)
        if self.batch_period and (self.current_batch + 1) % self.batch_period == 0:
            self._save_checkpoint(estimator, self._epoch_offset + self.current_epoch,
                                  self._batch_offset + self.current_batch)
        self.current_batch += 1

    def epoch_end(self, estimator, *args, **kwargs):
        if self.epoch_period and (self.current_epoch + 1) % self.epoch_period == 0:
            self._save_checkpoint(estimator, self._epoch_offset + self.current_epoch,
                                  self._batch_offset + self.current_batch)
        self.current_epoch += 1

    # -- saving ---------------------------------------------------------------------------------
    def _save_checkpoint(self, estimator, epoch, batch):
        prefix = f"{self.model_prefix}-epoch{epoch}batch{batch}"
        self._save_params_and_trainer(estimator, prefix)
        # a handler reused by a second fit() rewrites the same names: keep one entry per prefix,
        # so rotation never deletes the files just written
        if prefix in self.saved_checkpoints:
            self.saved_checkpoints.remove(prefix)
        self.saved_checkpoints.append(prefix)
        while len(self.saved_checkpoints) > self.max_checkpoints:
            self._remove(self.saved_checkpoints.pop(0))
        if self.verbose > 0:
            estimator.logger.info("[Epoch %d] CheckpointHandler: trained total %d batches, saving "
                                  "model at %s with prefix: %s", epoch, batch + 1,
                                  self.model_dir, prefix)
        if self.save_best:
            self._save_if_best(estimator, epoch)

    def _save_if_best(self, estimator, epoch):
        name, value = self.monitor.get()
        if value is None or math.isnan(value):
            warnings.warn(f"CheckpointHandler: skipping save best because {name} is not "
                          f"updated, make sure you pass one of the metric objects "
                          f"estimator.train_metrics and estimator.val_metrics as monitor",
                          RuntimeWarning, stacklevel=3)
            return
        if self._monitor.improved(value, self.best):
            prefix = self.model_prefix + "-best"
            self._save_params_and_trainer(estimator, prefix)
            if self.verbose > 0:
                estimator.logger.info("[Epoch %d] CheckpointHandler: %s improved from %0.5f to "
                                      "%0.5f, updating best model at %s with prefix: %s", epoch,
                                      name, self.best, value, self.model_dir, prefix)
            self.best = value
        elif self.verbose > 0:
            estimator.logger.info("[Epoch %d] CheckpointHandler: %s did not improve from %0.5f, "
                                  "skipping updating best model", epoch, name, self.best)

    def _save_params_and_trainer(self, estimator, prefix):
        # each file is replaced atomically, but the pair is two renames: .states goes first, so
        # a .params (what _existing_checkpoints finds) always has its .states beside it
        estimator.trainer.save_states(os.path.join(self.model_dir, prefix + ".states"))
        estimator.net.save_parameters(os.path.join(self.model_dir, prefix + ".params"))

    def _remove(self, prefix):
        # exact names: MXNet's startswith() would also delete 'epoch1batch100' for 'epoch1batch10'
        for suffix in (".params", ".states"):
            path = os.path.join(self.model_dir, prefix + suffix)
            if os.path.exists(path):
                os.remove(path)

    def _save_symbol(self, estimator):
        symbol_file = os.path.join(self.model_dir, self.model_prefix + "-symbol.json")
        traced = getattr(estimator.net, "_traced_graph", None)
        try:
            graph = traced() if traced is not None else None
        except RuntimeError:
            graph = None
        if graph is None:
            estimator.logger.info(
                "Model architecture(symbol file) is not saved, please use HybridBlock to "
                "construct your model, and call net.hybridize() before passing to Estimator in "
                "order to save model architecture as %s.", symbol_file)
            return
        graph.symbol.save(symbol_file)

    # -- resuming ---------------------------------------------------------------------------------
    def _existing_checkpoints(self):
        """(epoch, batch, prefix) of every periodic checkpoint in model_dir, oldest first."""
        pattern = re.compile(re.escape(self.model_prefix) + r"-epoch(\d+)batch(\d+)\.params$")
        found = []
        for fname in os.listdir(self.model_dir):
            match = pattern.match(fname)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), fname[:-len(".params")]))
        return sorted(found)

    def _newest_complete(self, found):
        """The newest of ``found`` that has its ``.states`` too, or None."""
        for checkpoint in reversed(found):
            prefix = checkpoint[2]
            if os.path.exists(os.path.join(self.model_dir, prefix + ".states")):
                return checkpoint
            # our saves write .states first: its .params alone was copied or half-deleted
            warnings.warn(f"CheckpointHandler: skipping checkpoint {prefix} in {self.model_dir}: "
                          f"{prefix}.states is missing", RuntimeWarning, stacklevel=5)
        return None

    def _resume(self, estimator):
        found = self._existing_checkpoints()
        self.saved_checkpoints = [p for _, _, p in found]  # rotation counts the old ones too
        newest = self._newest_complete(found)
        if newest is None:
            unit = "batches" if estimator.max_batch else "epochs"
            estimator.logger.info("CheckpointHandler: No checkpoint found, training from scratch "
                                  "for %s %s", estimator.max_batch or estimator.max_epoch, unit)
            return
        epoch, batch, prefix = newest
        self.trained_epoch, self.trained_batch = epoch, batch
        # the same bookkeeping whether fit() counts epochs or batches
        for unit, units, trained in (("epoch", "epochs", epoch), ("batch", "batches", batch)):
            limit = getattr(estimator, "max_" + unit)
            if not limit:
                continue
            if trained >= limit - 1:
                raise MXNetValueError(
                    f"CheckpointHandler: found checkpoint {prefix} with the maximum number of "
                    f"{units} {limit} reached; please specify resume_from_checkpoint=False "
                    f"(default value) to train from scratch.")
            setattr(estimator, "max_" + unit, limit - trained - 1)
            left = f"{limit - trained - 1} {units}"
            # epoch-end saves number batches by count, batch-period saves by index
            self._batch_offset = batch + (unit == "batch")
        self._epoch_offset = epoch + 1
        estimator.net.load_parameters(os.path.join(self.model_dir, prefix + ".params"),
                                      ctx=estimator.context)
        estimator.trainer.load_states(os.path.join(self.model_dir, prefix + ".states"))
        estimator.logger.warning("CheckpointHandler: Checkpoint resumed from epoch %d batch %d, "
                                 "continue to train for %s ", epoch, batch, left)
