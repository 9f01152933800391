"""``mx.model``: MXNet 1.x's checkpoint helpers (``prefix-symbol.json`` + ``prefix-%04d.params``
in MXNet's binary format, ``arg:``/``aux:`` keys)."""

from __future__ import annotations

import warnings
from collections import namedtuple

from . import ndarray as nd
from . import symbol as sym
from .base import MXNetValueError
from .context import cpu
from .graph.passes import remove_amp_casts
from .graph.symbol import Symbol

__all__ = ["BatchEndParam", "save_checkpoint", "load_checkpoint", "load_params"]

#: What batch-end callbacks receive (``Module.fit``, ``mx.callback.Speedometer``).
BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Write ``prefix-symbol.json`` (when ``symbol`` is given) and ``prefix-%04d.params``.

    Parameters
    ----------
    prefix : str
        Prefix of the file names.
    epoch : int
        The epoch number in the parameter file's name.
    symbol : Symbol or None
        The network.
    arg_params, aux_params : dict of str to NDArray
        The weights (``arg:`` keys) and auxiliary states (``aux:`` keys).
    remove_amp_cast : bool, default True
        Save the graph without the ``amp_cast`` / ``amp_multicast`` nodes that mixed precision
        inserted (as MXNet does).
    """
    if symbol is not None:
        if remove_amp_cast:
            symbol = Symbol(remove_amp_casts(symbol._outputs))
        symbol.save(f"{prefix}-symbol.json", remove_amp_cast=False)  # removed above if asked
    arrays = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    arrays.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    nd.save(f"{prefix}-{epoch:04d}.params", arrays)


def load_params(prefix, epoch):
    """``(arg_params, aux_params)`` from ``prefix-%04d.params`` (keys ``arg:``/``aux:<name>``)."""
    fname = f"{prefix}-{epoch:04d}.params"
    loaded = nd.load(fname)
    if not isinstance(loaded, dict):
        raise MXNetValueError(f"{fname}: holds an unnamed list of arrays, not arg:/aux: "
                              f"parameters")
    if not loaded:
        warnings.warn(f"{fname}: no parameters in the file", stacklevel=2)
    arg_params, aux_params = {}, {}
    for key, value in loaded.items():
        kind, _, name = key.partition(":")
        if kind not in ("arg", "aux") or not name:
            raise MXNetValueError(f"{fname}: key {key!r} is not 'arg:<name>' or 'aux:<name>' "
                                  f"(a save_parameters file? load it with "
                                  f"Block.load_parameters)")
        (arg_params if kind == "arg" else aux_params)[name] = value
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` saved by :func:`save_checkpoint` or MXNet 1.x."""
    return (sym.load(f"{prefix}-symbol.json"),) + load_params(prefix, epoch)
