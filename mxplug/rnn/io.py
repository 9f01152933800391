"""``mx.rnn.io``: sentences to integer sequences, and a bucketing iterator for language models
(MXNet 1.x's ``encode_sentences`` and ``BucketSentenceIter``)."""

from __future__ import annotations

import bisect
import logging
import random

import numpy as np

from .. import ndarray
from ..base import MXNetValueError
from ..gluon.rnn.rnn_layer import RNNCheckError
from ..io import DataBatch, DataDesc, DataIter

__all__ = ["encode_sentences", "BucketSentenceIter"]


def encode_sentences(sentences, vocab=None, invalid_label=-1, invalid_key="\n", start_label=0,
                     unknown_token=None):
    """Encode sentences (lists of str tokens) as lists of ints, building the vocabulary.

    Parameters
    ----------
    sentences : list of list of str
    vocab : dict of str to int, optional
        A fixed vocabulary; a new one (``{invalid_key: invalid_label}``) grown from the
        sentences when None.
    invalid_label : int, default -1
        Index of the invalid token (end of sentence); new indices skip it.
    invalid_key : str, default '\\n'
        The invalid token.
    start_label : int, default 0
        The first index given to a new token.
    unknown_token : str, optional
        With a given ``vocab``, tokens it lacks are encoded as this token (added to ``vocab``
        once, when missing); without it they are an error.

    Returns
    -------
    (list of list of int, dict of str to int)
    """
    idx = start_label
    if vocab is None:
        vocab = {invalid_key: invalid_label}
        new_vocab = True
    else:
        new_vocab = False
        # a token added to a given vocabulary (unknown_token) gets a free index
        idx = max([start_label] + [v + 1 for v in vocab.values()])
    res = []
    for sent in sentences:
        coded = []
        for word in sent:
            if word not in vocab:
                if not new_vocab:
                    if not unknown_token:
                        raise RNNCheckError(f"Unknown token {word}")
                    word = unknown_token  # one index for every unknown token
                if word not in vocab:
                    if idx == invalid_label:
                        idx += 1
                    vocab[word] = idx
                    idx += 1
            coded.append(vocab[word])
        res.append(coded)
    return res, vocab


class BucketSentenceIter(DataIter):
    """Batches of same-length (padded) sentences for a language model; the label of each step
    is the next step's token (the last one ``invalid_label``). Each batch's ``bucket_key`` is
    its padded length, for ``mx.mod.BucketingModule``.

    Parameters
    ----------
    sentences : list of list of int
        Encoded sentences (:func:`encode_sentences`).
    batch_size : int
    buckets : list of int, optional
        Padded lengths; by default every length with at least ``batch_size`` sentences.
        Sentences longer than the largest bucket are discarded.
    invalid_label : int, default -1
        The padding value.
    data_name : str, default 'data'
    label_name : str, default 'softmax_label'
    dtype : str, default 'float32'
    layout : str, default 'NT'
        'NT' (batch, length) or 'TN' (length, batch).
    """

    def __init__(self, sentences, batch_size, buckets=None, invalid_label=-1, data_name="data",
                 label_name="softmax_label", dtype="float32", layout="NT"):
        super().__init__(batch_size)
        if not buckets:
            counts = np.bincount([len(s) for s in sentences]) if sentences else []
            buckets = [i for i, j in enumerate(counts) if j >= batch_size]
        buckets = sorted(buckets)
        if not buckets:
            raise MXNetValueError(f"BucketSentenceIter: no sentence length occurs "
                                  f"batch_size={batch_size} times; pass buckets=[...]")
        self.major_axis = layout.find("N")
        if self.major_axis not in (0, 1) or layout.find("T") not in (0, 1):
            raise MXNetValueError(f"Invalid layout {layout}: Must by NT (batch major) or TN "
                                  f"(time major)")
        ndiscard = 0
        data = [[] for _ in buckets]
        for sent in sentences:
            buck = bisect.bisect_left(buckets, len(sent))
            if buck == len(buckets):
                ndiscard += 1
                continue
            buff = np.full((buckets[buck],), invalid_label, dtype=dtype)
            buff[:len(sent)] = sent
            data[buck].append(buff)
        # an empty bucket is a (0, length) array (MXNet 1.x fails on it in reset)
        self.data = [np.asarray(d, dtype=dtype).reshape(len(d), n) for d, n in zip(data, buckets)]
        if ndiscard:
            logging.warning("discarded %d sentences longer than the largest bucket.", ndiscard)
        self.batch_size = batch_size
        self.buckets = buckets
        self.data_name = data_name
        self.label_name = label_name
        self.dtype = dtype
        self.invalid_label = invalid_label
        self.nddata = []
        self.ndlabel = []
        self.layout = layout
        self.default_bucket_key = max(buckets)
        shape = ((batch_size, self.default_bucket_key) if self.major_axis == 0
                 else (self.default_bucket_key, batch_size))
        self.provide_data = [DataDesc(data_name, shape, dtype, layout=layout)]
        self.provide_label = [DataDesc(label_name, shape, dtype, layout=layout)]
        self.idx = []
        for i, buck in enumerate(self.data):
            self.idx.extend([(i, j) for j in range(0, len(buck) - batch_size + 1, batch_size)])
        self.curr_idx = 0
        self.reset()

    def reset(self):
        """Shuffle the batches (``random``) and the sentences within buckets
        (``numpy.random``), and start over."""
        self.curr_idx = 0
        random.shuffle(self.idx)
        for buck in self.data:
            np.random.shuffle(buck)
        self.nddata = []
        self.ndlabel = []
        for buck in self.data:
            label = np.empty_like(buck)
            label[:, :-1] = buck[:, 1:]
            label[:, -1] = self.invalid_label
            self.nddata.append(ndarray.array(buck, dtype=self.dtype))
            self.ndlabel.append(ndarray.array(label, dtype=self.dtype))

    def next(self):
        """The next :class:`~mxplug.io.DataBatch` (``bucket_key`` = its padded length)."""
        if self.curr_idx == len(self.idx):
            raise StopIteration
        i, j = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[i][j:j + self.batch_size]
        label = self.ndlabel[i][j:j + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        return DataBatch([data], [label], pad=0, bucket_key=self.buckets[i],
                         provide_data=[DataDesc(self.data_name, data.shape, self.dtype,
                                                layout=self.layout)],
                         provide_label=[DataDesc(self.label_name, label.shape, self.dtype,
                                                 layout=self.layout)])
