"""``mx.rnn.rnn``: checkpoints of models built with the legacy cells. Weights are saved
unpacked (one array per gate, and a fused cell's flat vector split per layer), so they can be
loaded into the fused or the unfused network alike."""

from __future__ import annotations

from ..model import load_checkpoint, save_checkpoint
from .rnn_cell import BaseRNNCell

__all__ = ["save_rnn_checkpoint", "load_rnn_checkpoint", "do_rnn_checkpoint"]


def _as_cells(cells):
    return [cells] if isinstance(cells, BaseRNNCell) else list(cells)


def save_rnn_checkpoint(cells, prefix, epoch, symbol, arg_params, aux_params):
    """:func:`mx.model.save_checkpoint` with each cell's weights unpacked first
    (``cell.unpack_weights``): writes ``prefix-symbol.json`` and ``prefix-%04d.params``.

    Parameters
    ----------
    cells : BaseRNNCell or list of BaseRNNCell
    prefix : str
    epoch : int
    symbol : Symbol
    arg_params, aux_params : dict of str to NDArray
    """
    for cell in _as_cells(cells):
        arg_params = cell.unpack_weights(arg_params)
    save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)


def load_rnn_checkpoint(cells, prefix, epoch):
    """:func:`mx.model.load_checkpoint` with each cell's weights packed back
    (``cell.pack_weights``): returns ``(symbol, arg_params, aux_params)``."""
    sym, arg, aux = load_checkpoint(prefix, epoch)
    for cell in _as_cells(cells):
        arg = cell.pack_weights(arg)
    return sym, arg, aux


def do_rnn_checkpoint(cells, prefix, period=1):
    """An ``epoch_end_callback`` for ``Module.fit`` that saves with
    :func:`save_rnn_checkpoint` every ``period`` epochs (as epoch ``iter_no + 1``)."""
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            save_rnn_checkpoint(cells, prefix, iter_no + 1, sym, arg, aux)
    return _callback
