"""``mx.contrib.io``: :class:`DataLoaderIter`, a Gluon ``DataLoader`` as an ``mx.io`` iterator
for the Module API (MXNet 1.9.1's)."""

from __future__ import annotations

from .. import ndarray as nd
from ..base import MXNetValueError
from ..io import DataDesc, DataIter

__all__ = ["DataLoaderIter", "DataDesc", "DataIter"]


class DataLoaderIter(DataIter):
    """The batches of ``loader`` (a ``gluon.data.DataLoader`` giving ``(data, label)``) as
    :class:`~mxplug.io.DataBatch` es named ``data_name`` / ``label_name``, cast to ``dtype``.

    The batch size is the first batch's; a shorter last batch is padded to it (``pad`` says by
    how many rows) with zeros, where MXNet leaves the rows uninitialised.

    Examples
    --------
    >>> loader = mx.gluon.data.DataLoader(dataset, batch_size=32)
    >>> mod.fit(mx.contrib.io.DataLoaderIter(loader), num_epoch=2)
    """

    def __init__(self, loader, data_name="data", label_name="softmax_label", dtype="float32"):
        super().__init__()
        self._loader = loader
        first = next(iter(loader), None)
        if first is None or len(first) != 2:
            raise MXNetValueError("DataLoaderIter: the loader must give (data, label) batches; "
                                  + ("it is empty" if first is None
                                     else f"its batches have {len(first)} parts"))
        data, label = first
        self.batch_size = data.shape[0]
        self.dtype = dtype
        self.provide_data = [DataDesc(data_name, data.shape, dtype)]
        self.provide_label = [DataDesc(label_name, label.shape, dtype)]
        self._current_batch = None
        self.reset()

    def reset(self):
        self._iter = iter(self._loader)

    def iter_next(self):
        self._current_batch = next(self._iter, None)
        return self._current_batch is not None

    def _padded(self, x):
        x = x.astype(self.dtype)
        if x.shape[0] == self.batch_size:
            return x
        full = nd.zeros((self.batch_size,) + tuple(x.shape[1:]), ctx=x.context, dtype=self.dtype)
        full[:x.shape[0]] = x
        return full

    def getdata(self):
        return [self._padded(self._current_batch[0])]

    def getlabel(self):
        return [self._padded(self._current_batch[1])]

    def getpad(self):
        return self.batch_size - self._current_batch[0].shape[0]

    def getindex(self):
        return None
