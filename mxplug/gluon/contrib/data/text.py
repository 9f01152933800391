"""Text datasets (MXNet 1.x ``gluon.contrib.data.text``): WikiText-2 and WikiText-103 for word
level language modelling.

Nothing is downloaded: a segment's file (``wiki.train.tokens``, ``wiki.valid.tokens`` or
``wiki.test.tokens``) is read from ``root``, where MXNet would have put it, or extracted there
from MXNet's archive (``wikitext-2-v1.zip``, ``wikitext-103-v1.zip``) when only that is present;
otherwise the error says where to place which file. Files are taken as they are (MXNet checks a
SHA-1 and downloads again on a mismatch), so trimmed or synthetic files work too.

Tokenisation, vocabulary and samples are MXNet 1.9.1's: tokens are split on whitespace, each
non-empty line ends with ``'<eos>'``, the vocabulary (built from the segment read unless one is
given) indexes ``'<unk>'``, then ``'<eos>'``, then the tokens counted on ' ' and newlines from
the most frequent down; the token stream is cut into rows of ``seq_len`` and a sample is
``(data, label)``, two int32 NDArrays of shape ``(seq_len,)`` with the label the data shifted by
one token. The tail that does not fill a row is dropped.
"""

from __future__ import annotations

import os
import shutil
import zipfile

import numpy as np

from ....base import MXNetTypeError, MXNetValueError, atomic_write, data_dir
from ....context import cpu
from ....contrib.text.embedding import _APACHE_REPO_URL
from ....contrib.text.utils import count_tokens_from_str
from ....contrib.text.vocab import Vocabulary
from ....ndarray import array
from ...data.vision.datasets import DatasetFilesMissingError, _DownloadedDataset

__all__ = ["WikiText2", "WikiText103"]

EOS_TOKEN = "<eos>"
_SEGMENT_FILES = {"train": "wiki.train.tokens", "validation": "wiki.valid.tokens",
                  "test": "wiki.test.tokens"}


class _WikiText(_DownloadedDataset):
    """The shared implementation; subclasses name MXNet's archive and download folder."""

    _archive = ""    # the zip file MXNet downloads into root
    _namespace = ""  # its folder on MXNet's dataset repository

    def __init__(self, root, segment, vocab, seq_len):
        if segment not in _SEGMENT_FILES:
            raise MXNetValueError(f"{type(self).__name__}: segment must be one of "
                                  f"{list(_SEGMENT_FILES)}, got {segment!r}")
        if vocab is not None and not isinstance(vocab, Vocabulary):
            raise MXNetTypeError(f"{type(self).__name__}: vocab must be a "
                                 f"mx.contrib.text.vocab.Vocabulary or None, not "
                                 f"{type(vocab).__name__}")
        if int(seq_len) < 1:
            raise MXNetValueError(f"{type(self).__name__}: seq_len must be positive, got "
                                  f"{seq_len!r}")
        self._segment = segment
        self._seq_len = int(seq_len)
        self._vocab = vocab
        self._counter = None
        super().__init__(root, None)

    @property
    def vocabulary(self):
        """The :class:`~mxplug.contrib.text.vocab.Vocabulary` indexing the tokens."""
        return self._vocab

    @property
    def frequencies(self):
        """collections.Counter: the token counts of the segment read."""
        return self._counter

    def _get_data(self):
        with open(self._segment_file(), encoding="utf8") as f:
            content = f.read()
        self._counter = count_tokens_from_str(content)
        if self._vocab is None:
            self._vocab = Vocabulary(counter=self._counter, reserved_tokens=[EOS_TOKEN])
        tokens = []
        for line in content.splitlines():
            words = line.split()
            if words:
                tokens += words
                tokens.append(EOS_TOKEN)
        ids = np.asarray(self._vocab.to_indices(tokens), dtype=np.int32)
        # the label is the next token, so the last token starts no sample
        rows = max(len(ids) - 1, 0) // self._seq_len
        n = rows * self._seq_len
        # host memory on purpose: DataLoader workers index it without touching a device
        self._data = array(ids[:n].reshape(rows, self._seq_len), ctx=cpu(), dtype=np.int32)
        self._label = array(ids[1:n + 1].reshape(rows, self._seq_len), ctx=cpu(),
                            dtype=np.int32)

    def _segment_file(self):
        """The segment's file under root, extracted from MXNet's archive there if need be."""
        name = _SEGMENT_FILES[self._segment]
        path = os.path.join(self._root, name)
        if os.path.isfile(path):
            return path
        archive = os.path.join(self._root, self._archive)
        if os.path.isfile(archive) and zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                # MXNet flattens the archive's folder into root: match on the base name
                member = next((m for m in zf.namelist() if os.path.basename(m) == name), None)
                if member is not None:
                    with zf.open(member) as src:
                        atomic_write(path, lambda dst: shutil.copyfileobj(src, dst, 1 << 20),
                                     what="dataset file")
                    return path
        url = f"{_APACHE_REPO_URL}gluon/dataset/{self._namespace}/{self._archive}"
        raise DatasetFilesMissingError(
            f"{type(self).__name__}: {name!r} (segment {self._segment!r}) not found in "
            f"{self._root!r}, and there is no download on this machine. Place the file there "
            f"(the segments are {', '.join(_SEGMENT_FILES.values())}), or MXNet's archive "
            f"{self._archive!r} ({url}), from which it is extracted; or pass "
            f"root='<directory holding them>'.")


_DOC = """{title} word-level dataset for language modelling, from Salesforce research
    (https://blog.einstein.ai/the-wikitext-long-term-dependency-language-modeling-dataset/).

    License: Creative Commons Attribution-ShareAlike.

    Each sample is ``(data, label)``: two int32 NDArrays of ``seq_len`` token indices, the label
    being the data shifted by one token. At the end of each line an end-of-sentence token
    ``'<eos>'`` is added. The files are read from ``root`` (nothing is downloaded).

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/{folder}
        The directory holding ``wiki.train.tokens``, ``wiki.valid.tokens`` and
        ``wiki.test.tokens`` (or MXNet's archive ``{archive}``, extracted on first use).
    segment : str, default 'train'
        Dataset segment: 'train', 'validation' or 'test'.
    vocab : :class:`~mxplug.contrib.text.vocab.Vocabulary`, default None
        The vocabulary indexing the tokens; None builds one from this segment (pass the
        training set's ``vocabulary`` to the other segments).
    seq_len : int, default 35
        The sequence length of each sample, regardless of the sentence boundary.
    """


class WikiText2(_WikiText):
    __doc__ = _DOC.format(title="WikiText-2", folder="wikitext-2", archive="wikitext-2-v1.zip")

    _archive = "wikitext-2-v1.zip"
    _namespace = "wikitext-2"

    def __init__(self, root=os.path.join(data_dir(), "datasets", "wikitext-2"), segment="train",
                 vocab=None, seq_len=35):
        super().__init__(root, segment, vocab, seq_len)


class WikiText103(_WikiText):
    __doc__ = _DOC.format(title="WikiText-103", folder="wikitext-103",
                          archive="wikitext-103-v1.zip")

    _archive = "wikitext-103-v1.zip"
    _namespace = "wikitext-103"

    def __init__(self, root=os.path.join(data_dir(), "datasets", "wikitext-103"),
                 segment="train", vocab=None, seq_len=35):
        super().__init__(root, segment, vocab, seq_len)
