"""``mx.nd.contrib.SyncBatchNorm`` / ``mx.sym.contrib.SyncBatchNorm``: MXNet's cross-device
BatchNorm op, on one device (``ndev=1``) the ``BatchNorm`` it equals. Several devices in one
process are refused, as by the Gluon layer ``gluon.contrib.nn.SyncBatchNorm`` (see there)."""

from __future__ import annotations

from ..base import MXNetNotImplementedError

__all__ = ["sync_batch_norm_for"]


def sync_batch_norm_for(ns):
    """The function for ``ns`` (``mx.nd`` or ``mx.sym``)."""

    def SyncBatchNorm(data=None, gamma=None, beta=None, moving_mean=None, moving_var=None,
                      eps=1e-3, momentum=0.9, fix_gamma=True, use_global_stats=False,
                      output_mean_var=False, ndev=1, key=None, out=None, name=None, **kwargs):
        """MXNet's ``_contrib_SyncBatchNorm`` (channel axis 1); ``ndev`` must be 1 here."""
        if int(ndev) != 1:
            raise MXNetNotImplementedError(
                f"contrib.SyncBatchNorm: ndev={ndev} is not supported (statistics are not "
                f"synchronised across devices in one process); use ndev=1 (BatchNorm) or MPI "
                f"data parallelism (kvstore='dist_sync')")
        extra = {} if out is None else {"out": out}
        if name is not None:
            extra["name"] = name
        return ns.BatchNorm(data, gamma, beta, moving_mean, moving_var, eps=eps,
                            momentum=momentum, fix_gamma=fix_gamma,
                            use_global_stats=use_global_stats, output_mean_var=output_mean_var,
                            axis=1, **extra, **kwargs)

    return SyncBatchNorm
