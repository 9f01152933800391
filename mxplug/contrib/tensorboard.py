"""``mx.contrib.tensorboard``: :class:`LogMetricsCallback`, the Module API's callback that
writes metrics to a TensorBoard event file (MXNet 1.9.1's, through ``tensorboardX`` here where
MXNet used the separate ``mxboard`` package)."""

from __future__ import annotations

__all__ = ["LogMetricsCallback"]


class LogMetricsCallback:
    """Write ``param.eval_metric``'s values as TensorBoard scalars (step: the epoch) to an event
    file in ``logging_dir``; ``prefix`` is put before each name (``train-accuracy``), so curves
    written under different directories share a chart. A ``batch_end_callback`` or
    ``eval_end_callback`` of ``Module.fit``; needs ``pip install mxplug[tensorboard]``.
    """

    def __init__(self, logging_dir, prefix=None):
        from ..gluon.contrib.estimator.tensorboard import _import_summary_writer

        self.prefix = prefix
        self.summary_writer = _import_summary_writer("LogMetricsCallback")(logging_dir)

    def __call__(self, param):
        if param.eval_metric is None:
            return
        for name, value in param.eval_metric.get_name_value():
            if self.prefix is not None:
                name = f"{self.prefix}-{name}"
            self.summary_writer.add_scalar(name, value, global_step=param.epoch)

    def close(self):
        """Write what is pending and close the event file (TensorBoard's writer otherwise
        writes every two minutes and at exit)."""
        self.summary_writer.close()
