"""``mx.gluon.contrib.rnn``: contributed recurrent cells of MXNet 1.x: variational dropout,
LSTM with projection, ``dynamic_unroll``, and the convolutional RNN / LSTM / GRU cells in 1, 2
and 3 dimensions."""

from .conv_rnn_cell import (
    Conv1DGRUCell,
    Conv1DLSTMCell,
    Conv1DRNNCell,
    Conv2DGRUCell,
    Conv2DLSTMCell,
    Conv2DRNNCell,
    Conv3DGRUCell,
    Conv3DLSTMCell,
    Conv3DRNNCell,
)
from .rnn_cell import LSTMPCell, VariationalDropoutCell, dynamic_unroll

__all__ = ["VariationalDropoutCell", "LSTMPCell", "Conv1DRNNCell", "Conv2DRNNCell",
           "Conv3DRNNCell", "Conv1DLSTMCell", "Conv2DLSTMCell", "Conv3DLSTMCell",
           "Conv1DGRUCell", "Conv2DGRUCell", "Conv3DGRUCell", "dynamic_unroll"]
