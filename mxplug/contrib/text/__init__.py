"""``mx.contrib.text``: MXNet 1.x's text utilities: token counting (:mod:`.utils`), token
indexing (:mod:`.vocab`) and token embeddings (:mod:`.embedding`), with vectors as NDArrays.

GloVe's and fastText's files are read from local disk only (see :mod:`.embedding`).
"""

from . import embedding, utils, vocab

__all__ = ["embedding", "utils", "vocab"]
