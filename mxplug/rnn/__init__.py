"""``mx.rnn``: MXNet 1.x's legacy symbolic recurrent cells (for ``mx.mod.Module`` and
``BucketingModule``), the bucketing sentence iterator and the RNN checkpoint helpers.

New code usually prefers ``mx.gluon.rnn``; this package exists for the MXNet programs and
checkpoints built on it (parameter names are MXNet's: ``lstm_i2h_weight``, ``lstm_parameters``,
``lstm_l0_i2h_weight``...).
"""

from . import conv_rnn_cell, io, rnn, rnn_cell
from .conv_rnn_cell import BaseConvRNNCell, ConvGRUCell, ConvLSTMCell, ConvRNNCell
from .io import BucketSentenceIter, encode_sentences
from .rnn import do_rnn_checkpoint, load_rnn_checkpoint, save_rnn_checkpoint
from .rnn_cell import (
    BaseRNNCell,
    BidirectionalCell,
    DropoutCell,
    FusedRNN,
    FusedRNNCell,
    GRUCell,
    LSTMCell,
    MissingWeightError,
    ModifierCell,
    ResidualCell,
    RNNCell,
    RNNParams,
    SequentialRNNCell,
    ZoneoutCell,
)

__all__ = ["io", "rnn", "rnn_cell", "conv_rnn_cell", "RNNParams", "BaseRNNCell", "RNNCell",
           "LSTMCell",
           "GRUCell", "FusedRNNCell", "SequentialRNNCell", "BidirectionalCell", "DropoutCell",
           "ModifierCell", "ZoneoutCell", "ResidualCell", "BaseConvRNNCell", "ConvRNNCell",
           "ConvLSTMCell", "ConvGRUCell", "FusedRNN", "MissingWeightError",
           "encode_sentences", "BucketSentenceIter", "save_rnn_checkpoint",
           "load_rnn_checkpoint", "do_rnn_checkpoint"]
