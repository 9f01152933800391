"""Token embeddings: vectors for the tokens of a vocabulary (MXNet 1.x
``mx.contrib.text.embedding``).

Vectors come from a local text file: one token and its vector per line. GloVe's and fastText's
files are looked up under ``embedding_root`` as MXNet stores them; mxplug downloads nothing, so
a missing file is an error that says where to put it.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
import zipfile

import numpy as np

from ... import ndarray as nd
from ...base import MXNetError, MXNetFileError, MXNetValueError, atomic_write, data_dir
from . import _pretrained, vocab
from .vocab import UNKNOWN_IDX

__all__ = ["register", "create", "get_pretrained_file_names", "GloVe", "FastText",
           "CustomEmbedding", "CompositeEmbedding", "EmbeddingError", "EmbeddingKeyError",
           "EmbeddingFileNotFoundError"]

_LOG = logging.getLogger(__name__)
_APACHE_REPO_URL = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
_REGISTRY: dict = {}


class EmbeddingError(MXNetValueError, AssertionError):
    """A malformed embedding file or a bad argument (MXNet ``assert``s these: an
    ``AssertionError``; malformed numbers are a ``ValueError`` there, which this is too)."""


class EmbeddingKeyError(MXNetError, KeyError):
    """An unknown embedding name or pre-trained file name (a ``KeyError``, as in MXNet)."""

    def __str__(self):  # KeyError would show the message quoted, as a repr
        return str(self.args[0])


class EmbeddingFileNotFoundError(MXNetFileError, FileNotFoundError, ValueError):
    """An embedding file that is not there (MXNet: a ``ValueError`` for a custom file)."""


def register(embedding_cls):
    """Registers a token embedding class under its lower-cased name, for :func:`create`
    (usable as a class decorator).

    Examples
    --------
    >>> @mx.contrib.text.embedding.register
    ... class MyTextEmbed(mx.contrib.text.embedding._TokenEmbedding):
    ...     def __init__(self, pretrained_file_name='my_pretrain_file'):
    ...         pass
    >>> type(mx.contrib.text.embedding.create('MyTextEmbed')).__name__
    'MyTextEmbed'
    """
    if not (isinstance(embedding_cls, type) and issubclass(embedding_cls, _TokenEmbedding)):
        raise EmbeddingError(f"Can only register subclass of _TokenEmbedding, not "
                             f"{embedding_cls!r}")
    name = embedding_cls.__name__.lower()
    old = _REGISTRY.get(name)
    if old is not None and old is not embedding_cls:
        warnings.warn(f"New token embedding {embedding_cls.__module__}."
                      f"{embedding_cls.__qualname__} registered with name {name} is overriding "
                      f"existing token embedding {old.__module__}.{old.__qualname__}",
                      UserWarning, stacklevel=2)
    _REGISTRY[name] = embedding_cls
    return embedding_cls


def create(embedding_name, **kwargs):
    """Creates an instance of a registered token embedding.

    Parameters
    ----------
    embedding_name : str
        The token embedding name (case-insensitive): ``'glove'``, ``'fasttext'`` or one
        registered with :func:`register`.
    **kwargs
        Passed to the class (``pretrained_file_name``, ``embedding_root``, ``vocabulary`` ...).

    Returns
    -------
    _TokenEmbedding
        The new embedding.
    """
    cls = _REGISTRY.get(str(embedding_name).lower())
    if cls is None:
        raise EmbeddingError(f"{embedding_name} is not registered. Please register with "
                             f"token embedding.register first (registered: "
                             f"{', '.join(sorted(_REGISTRY))})")
    return cls(**kwargs)


def get_pretrained_file_names(embedding_name=None):
    """Valid ``pretrained_file_name`` values of one or of every registered embedding.

    Parameters
    ----------
    embedding_name : str or None, default None
        A registered embedding name (``'glove'``, ``'fasttext'``).

    Returns
    -------
    list or dict
        The file names of `embedding_name`; without it, a dict mapping each registered
        embedding name to its file names.
    """
    if embedding_name is None:
        return {name: _file_names(cls) for name, cls in _REGISTRY.items()}
    if embedding_name not in _REGISTRY:
        raise EmbeddingKeyError(f"Cannot find `embedding_name` {embedding_name}. Use "
                                f"`get_pretrained_file_names(embedding_name=None).keys()` to "
                                f"get all the valid embedding names.")
    return _file_names(_REGISTRY[embedding_name])


def _file_names(cls):
    return list(getattr(cls, "pretrained_file_name_sha1", {}))


def _default_embedding_root():
    return os.path.join(data_dir(), "embeddings")


class _TokenEmbedding(vocab.Vocabulary):
    """Token embedding base class: a :class:`~mxplug.contrib.text.vocab.Vocabulary` whose
    every indexed token has a vector.

    Row 0 of :attr:`idx_to_vec` is the unknown token's vector: the one in the file when the
    file holds `unknown_token`, else ``init_unknown_vec(shape=vec_len)``. Reserved tokens get
    their vector from the file too, else the unknown token's. When a token is in the file more
    than once, its first vector is used and the others are skipped with a warning.

    Use :func:`create` (or :class:`GloVe`, :class:`FastText`) for the published embeddings,
    :class:`CustomEmbedding` for any file of the same format, and :class:`CompositeEmbedding`
    to concatenate embeddings.

    Parameters
    ----------
    unknown_token : hashable object, default '<unk>'
        What every unknown token is indexed as.
    reserved_tokens : list or None, default None
        Tokens always indexed, right after `unknown_token`.

    Attributes
    ----------
    vec_len : int
        The length of each token's vector.
    idx_to_vec : NDArray
        Shape ``(len(self), vec_len)``: row ``i`` is the vector of ``idx_to_token[i]``.
    """

    def __init__(self, unknown_token="<unk>", reserved_tokens=None):
        super().__init__(unknown_token=unknown_token, reserved_tokens=reserved_tokens)
        self._vec_len = None
        self._idx_to_vec = None

    @property
    def vec_len(self):
        """int: the length of each token's vector."""
        return self._vec_len

    @property
    def idx_to_vec(self):
        """NDArray: row ``i`` is the vector of ``idx_to_token[i]``."""
        return self._idx_to_vec

    # -- pre-trained files ---------------------------------------------------------------------

    @classmethod
    def _check_pretrained_file_names(cls, pretrained_file_name):
        """Raise an :class:`EmbeddingKeyError` unless the class lists `pretrained_file_name`."""
        names = _file_names(cls)
        if pretrained_file_name not in names:
            name = cls.__name__.lower()
            raise EmbeddingKeyError(f"Cannot find pretrained file {pretrained_file_name} for "
                                    f"token embedding {name}. Valid pretrained files for "
                                    f"embedding {name}: {', '.join(names)}")

    @classmethod
    def _get_download_file_name(cls, pretrained_file_name):
        """The file MXNet downloads for `pretrained_file_name` (an archive, or the file)."""
        return pretrained_file_name

    @classmethod
    def _get_pretrained_file_url(cls, pretrained_file_name):
        repo_url = os.environ.get("MXNET_GLUON_REPO", _APACHE_REPO_URL)
        return (f"{repo_url}gluon/embeddings/{cls.__name__.lower()}/"
                f"{cls._get_download_file_name(pretrained_file_name)}")

    @classmethod
    def _get_pretrained_file(cls, embedding_root, pretrained_file_name):
        """The path of `pretrained_file_name` under ``<embedding_root>/<class name>/``.

        The file is taken as it is (no hash check: a trimmed or rebuilt file works too). When
        only its archive (as MXNet downloads it) is there, the file is extracted from it.
        """
        root = os.path.expanduser(embedding_root if embedding_root is not None
                                  else _default_embedding_root())
        folder = os.path.join(root, cls.__name__.lower())
        path = os.path.join(folder, pretrained_file_name)
        if os.path.isfile(path):
            return path
        archive = os.path.join(folder, cls._get_download_file_name(pretrained_file_name))
        if archive != path and os.path.isfile(archive) and zipfile.is_zipfile(archive):
            _extract(archive, pretrained_file_name, path)
            return path
        url = cls._get_pretrained_file_url(pretrained_file_name)
        or_archive = ("" if archive == path else
                      f", or its archive {os.path.basename(archive)!r} in that folder")
        raise EmbeddingFileNotFoundError(
            f"Pre-trained embedding file {pretrained_file_name!r} of {cls.__name__} not found "
            f"at {path!r}: mxplug does not download embedding files (no download on this "
            f"machine). Put the file there{or_archive} (MXNet downloads {url}), or pass "
            f"embedding_root='<folder>' whose '{cls.__name__.lower()}' subfolder holds it.")

    # -- building the vectors ------------------------------------------------------------------

    def _load_embedding(self, pretrained_file_path, elem_delim, init_unknown_vec,
                        encoding="utf8"):
        """Index the tokens of an embedding file (after the unknown and reserved tokens) and
        set their vectors; format errors name the line."""
        path = os.path.expanduser(pretrained_file_path)
        if not os.path.isfile(path):
            raise EmbeddingFileNotFoundError(
                f"`pretrained_file_path` must be a valid path to the pre-trained token "
                f"embedding file: {path!r} is not a file")
        _LOG.info("Loading pre-trained token embedding vectors from %s", path)
        vectors = _read_vectors(path, elem_delim, encoding)
        vec_len = len(next(iter(vectors.values())))

        unknown = vectors.get(self._unknown_token)
        if unknown is None:
            unknown = _as_numpy(init_unknown_vec(shape=vec_len), vec_len)
        rows = [unknown] + [vectors.get(token, unknown) for token in self._idx_to_token[1:]]
        for token, vec in vectors.items():
            if token not in self._token_to_idx:
                self._token_to_idx[token] = len(self._idx_to_token)
                self._idx_to_token.append(token)
                rows.append(vec)
        self._vec_len = vec_len
        self._idx_to_vec = nd.array(np.stack(rows), dtype="float32")

    def _index_tokens_from_vocabulary(self, vocabulary):
        self._token_to_idx = dict(vocabulary.token_to_idx)
        self._idx_to_token = list(vocabulary.idx_to_token)
        self._unknown_token = vocabulary.unknown_token
        self._reserved_tokens = (None if vocabulary.reserved_tokens is None
                                 else list(vocabulary.reserved_tokens))

    def _set_idx_to_vec_by_embeddings(self, token_embeddings, vocab_len, vocab_idx_to_token):
        """Row ``i`` becomes the concatenated vectors of ``vocab_idx_to_token[i]`` in each of
        `token_embeddings`; row 0 (the unknown token) their unknown vectors."""
        tokens = vocab_idx_to_token[1:vocab_len]
        blocks = [embed._rows([UNKNOWN_IDX, *(embed.token_to_idx.get(t, UNKNOWN_IDX)
                                              for t in tokens)])
                  for embed in token_embeddings]
        self._vec_len = sum(embed.vec_len for embed in token_embeddings)
        self._idx_to_vec = blocks[0] if len(blocks) == 1 else nd.concat(*blocks, dim=1)

    def _build_embedding_for_vocabulary(self, vocabulary):
        """Re-index to `vocabulary`'s tokens, each with its vector here (or the unknown one)."""
        if vocabulary is None:
            return
        if not isinstance(vocabulary, vocab.Vocabulary):
            raise EmbeddingError(f"vocabulary must be a mx.contrib.text.vocab.Vocabulary, not "
                                 f"{type(vocabulary).__name__}")
        self._set_idx_to_vec_by_embeddings([self], len(vocabulary), vocabulary.idx_to_token)
        self._index_tokens_from_vocabulary(vocabulary)

    def _rows(self, indices):
        """Rows `indices` of :attr:`idx_to_vec`, as a new NDArray on its context."""
        index = nd.array(indices, ctx=self._idx_to_vec.context, dtype="int64")
        return nd.take(self._idx_to_vec, index, axis=0)

    # -- public API ----------------------------------------------------------------------------

    def get_vecs_by_tokens(self, tokens, lower_case_backup=False):
        """Look up embedding vectors of tokens.

        Parameters
        ----------
        tokens : token or list of tokens
            Only a list is taken as several tokens.
        lower_case_backup : bool, default False
            Look a token not found up again lower-cased.

        Returns
        -------
        NDArray
            Shape ``(vec_len,)`` for a single token, ``(len(tokens), vec_len)`` for a list;
            unknown tokens get the unknown token's vector.
        """
        single = not isinstance(tokens, list)
        lookup = self._token_to_idx
        indices = [lookup[t] if t in lookup
                   else lookup.get(t.lower(), UNKNOWN_IDX) if lower_case_backup
                   else UNKNOWN_IDX
                   for t in ([tokens] if single else tokens)]
        vecs = self._rows(indices)
        return vecs[0] if single else vecs

    def update_token_vectors(self, tokens, new_vectors):
        """Updates embedding vectors for tokens.

        Parameters
        ----------
        tokens : token or list of tokens
            Indexed tokens (``unknown_token`` itself updates the unknown vector).
        new_vectors : NDArray
            Shape ``(len(tokens), vec_len)``; for a single token also ``(vec_len,)``.

        Raises
        ------
        EmbeddingError
            `new_vectors` is not an NDArray of that shape (an ``AssertionError``, as in MXNet).
        MXNetValueError
            A token is not indexed (a ``ValueError``, as in MXNet): unknown tokens are not
            updated through the unknown vector by accident.
        """
        if self._idx_to_vec is None:
            raise EmbeddingError("update_token_vectors: idx_to_vec has not been set")
        if not isinstance(tokens, list):
            tokens = [tokens]
        if not isinstance(new_vectors, nd.NDArray):
            raise EmbeddingError(f"update_token_vectors: new_vectors must be an NDArray, not "
                                 f"{type(new_vectors).__name__}")
        if len(tokens) == 1 and new_vectors.ndim == 1:
            new_vectors = new_vectors.expand_dims(axis=0)
        if new_vectors.shape != (len(tokens), self._vec_len):
            raise EmbeddingError(
                f"update_token_vectors: Expect: new_vectors of shape (len(tokens), vec_len) = "
                f"{(len(tokens), self._vec_len)}" + (" or (vec_len,)" if len(tokens) == 1 else "")
                + f" / Actual: {new_vectors.shape}")
        unknown = [t for t in tokens if t not in self._token_to_idx]
        if unknown:
            raise MXNetValueError(
                f"Token {unknown[0]} is unknown. To update the embedding vector for an unknown "
                f"token, please specify it explicitly as the `unknown_token` "
                f"{self._idx_to_token[UNKNOWN_IDX]} in `tokens`. This is to avoid unintended "
                f"updates.")
        if tokens:
            index = nd.array([self._token_to_idx[t] for t in tokens],
                             ctx=self._idx_to_vec.context, dtype="int64")
            self._idx_to_vec[index] = new_vectors


def _read_vectors(path, elem_delim, encoding):
    """``{token: float32 vector}`` of an embedding file, in file order: the first vector of a
    repeated token wins; a one-number line (fastText's ``count dim`` header) is skipped."""
    vectors: dict = {}
    vec_len = None
    with open(path, encoding=encoding) as f:
        for line_num, line in enumerate(f, 1):
            elems = line.rstrip().split(elem_delim)
            where = f"line {line_num} of the embedding file {path!r}"
            if len(elems) < 2:
                raise EmbeddingError(f"At {where}: expected a token and its vector separated "
                                     f"by {elem_delim!r}, got {line.rstrip()!r}")
            token = elems[0]
            if token in vectors:
                warnings.warn(f"At {where}: token {token!r} already has a vector; this "
                              f"duplicate is skipped.", stacklevel=4)
                continue
            if len(elems) == 2:
                warnings.warn(f"At {where}: token {token!r} with a 1-dimensional vector is "
                              f"likely a header and is skipped.", stacklevel=4)
                continue
            if vec_len is not None and len(elems) - 1 != vec_len:
                raise EmbeddingError(f"At {where}: token {token!r} has a vector of length "
                                     f"{len(elems) - 1} but the previous ones have length "
                                     f"{vec_len}; all must have the same length")
            try:
                vectors[token] = np.array(elems[1:], dtype=np.float32)
            except ValueError as e:
                raise EmbeddingError(f"At {where}: {e}") from None
            vec_len = len(elems) - 1
    if not vectors:
        raise EmbeddingError(f"The embedding file {path!r} holds no token vectors")
    return vectors


def _as_numpy(vec, vec_len):
    """``init_unknown_vec``'s result as a float32 vector of length `vec_len`."""
    arr = vec.asnumpy() if isinstance(vec, nd.NDArray) else np.asarray(vec)
    try:
        return np.broadcast_to(arr.astype(np.float32).reshape(-1), (vec_len,))
    except ValueError:
        raise EmbeddingError(f"init_unknown_vec(shape={vec_len}) returned shape {arr.shape}, "
                             f"expected ({vec_len},)") from None


def _extract(archive, member_name, path):
    """Extract the member named `member_name` of a zip `archive` to `path` (atomically)."""
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if os.path.basename(m) == member_name]
        if not members:
            raise EmbeddingFileNotFoundError(f"The archive {archive!r} holds no "
                                             f"{member_name!r} (it holds {zf.namelist()})")
        with zf.open(members[0]) as src:
            atomic_write(path, lambda dst: shutil.copyfileobj(src, dst, 1 << 20),
                         what="embedding file")


class _PretrainedEmbedding(_TokenEmbedding):
    """A published embedding whose files MXNet downloads (here: found under
    ``embedding_root``); subclasses name their files in ``pretrained_file_name_sha1``."""

    pretrained_file_name_sha1: dict = {}
    pretrained_archive_name_sha1: dict = {}

    def __init__(self, pretrained_file_name, embedding_root=None, init_unknown_vec=nd.zeros,
                 vocabulary=None, **kwargs):
        self._check_pretrained_file_names(pretrained_file_name)
        super().__init__(**kwargs)
        path = self._get_pretrained_file(embedding_root, pretrained_file_name)
        self._load_embedding(path, " ", init_unknown_vec)
        self._build_embedding_for_vocabulary(vocabulary)


@register
class GloVe(_PretrainedEmbedding):
    """The GloVe word embedding (https://nlp.stanford.edu/projects/glove/).

    GloVe: Global Vectors for Word Representation. Jeffrey Pennington, Richard Socher and
    Christopher D. Manning. https://nlp.stanford.edu/pubs/glove.pdf. Pre-trained vectors are
    under the PDDL license (https://fedoraproject.org/wiki/Licensing/PDDL).

    mxplug downloads nothing: the file must be at
    ``<embedding_root>/glove/<pretrained_file_name>`` (or its zip archive in that folder, as
    MXNet downloads it, e.g. ``glove.6B.zip``, which is then extracted).

    Parameters
    ----------
    pretrained_file_name : str, default 'glove.840B.300d.txt'
        One of ``get_pretrained_file_names('glove')``.
    embedding_root : str, default $MXNET_HOME/embeddings
        The folder whose ``glove`` subfolder holds the file (``$MXNET_HOME`` is ``~/.mxnet``
        unless set).
    init_unknown_vec : callable, default nd.zeros
        Called as ``init_unknown_vec(shape=vec_len)`` for the unknown token's vector.
    vocabulary : Vocabulary or None, default None
        Index its tokens (with their vectors here); None indexes every token of the file.
    **kwargs
        ``unknown_token`` and ``reserved_tokens`` (see :class:`_TokenEmbedding`).
    """

    pretrained_file_name_sha1 = _pretrained.GLOVE_FILES
    pretrained_archive_name_sha1 = _pretrained.GLOVE_ARCHIVES

    @classmethod
    def _get_download_file_name(cls, pretrained_file_name):
        # glove.<corpus>.<dim>d.txt ships in the archive of its corpus: glove.6B.zip ...
        corpus = pretrained_file_name.split(".")[1]
        return next(a for a in cls.pretrained_archive_name_sha1 if a.split(".")[1] == corpus)

    def __init__(self, pretrained_file_name="glove.840B.300d.txt", embedding_root=None,
                 init_unknown_vec=nd.zeros, vocabulary=None, **kwargs):
        super().__init__(pretrained_file_name, embedding_root, init_unknown_vec, vocabulary,
                         **kwargs)


@register
class FastText(_PretrainedEmbedding):
    """The fastText word embedding (https://fasttext.cc/).

    Enriching Word Vectors with Subword Information. Piotr Bojanowski, Edouard Grave, Armand
    Joulin and Tomas Mikolov. https://arxiv.org/abs/1607.04606 (``wiki.multi.*``: Word
    Translation Without Parallel Data, Conneau et al., https://arxiv.org/abs/1710.04087).
    Pre-trained vectors are under CC BY-SA 3.0.

    mxplug downloads nothing: the file must be at
    ``<embedding_root>/fasttext/<pretrained_file_name>`` (or its zip archive in that folder, as
    MXNet downloads it, e.g. ``wiki.simple.zip``, which is then extracted). The ``count dim``
    header line of ``.vec`` files is skipped.

    Parameters
    ----------
    pretrained_file_name : str, default 'wiki.simple.vec'
        One of ``get_pretrained_file_names('fasttext')``.
    embedding_root : str, default $MXNET_HOME/embeddings
        The folder whose ``fasttext`` subfolder holds the file.
    init_unknown_vec : callable, default nd.zeros
        Called as ``init_unknown_vec(shape=vec_len)`` for the unknown token's vector.
    vocabulary : Vocabulary or None, default None
        Index its tokens (with their vectors here); None indexes every token of the file.
    **kwargs
        ``unknown_token`` and ``reserved_tokens`` (see :class:`_TokenEmbedding`).
    """

    pretrained_file_name_sha1 = _pretrained.FASTTEXT_FILES
    pretrained_archive_name_sha1 = _pretrained.FASTTEXT_ARCHIVES

    @classmethod
    def _get_download_file_name(cls, pretrained_file_name):
        return os.path.splitext(pretrained_file_name)[0] + ".zip"

    def __init__(self, pretrained_file_name="wiki.simple.vec", embedding_root=None,
                 init_unknown_vec=nd.zeros, vocabulary=None, **kwargs):
        super().__init__(pretrained_file_name, embedding_root, init_unknown_vec, vocabulary,
                         **kwargs)


class CustomEmbedding(_TokenEmbedding):
    """A token embedding loaded from a local file: one line per token,
    ``token<elem_delim>v1<elem_delim>v2...<elem_delim>vk``, every vector of the same length.

    Parameters
    ----------
    pretrained_file_path : str
        The embedding file.
    elem_delim : str, default ' '
        What separates the token and the numbers on a line.
    encoding : str, default 'utf8'
        The file's encoding.
    init_unknown_vec : callable, default nd.zeros
        Called as ``init_unknown_vec(shape=vec_len)`` for the unknown token's vector when the
        file has no line for `unknown_token`.
    vocabulary : Vocabulary or None, default None
        Index its tokens (with their vectors here); None indexes every token of the file.
    **kwargs
        ``unknown_token`` and ``reserved_tokens`` (see :class:`_TokenEmbedding`).
    """

    def __init__(self, pretrained_file_path, elem_delim=" ", encoding="utf8",
                 init_unknown_vec=nd.zeros, vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        self._load_embedding(pretrained_file_path, elem_delim, init_unknown_vec, encoding)
        self._build_embedding_for_vocabulary(vocabulary)


class CompositeEmbedding(_TokenEmbedding):
    """The tokens of a vocabulary with their vectors in one or more embeddings, concatenated.

    Row 0 (the vocabulary's unknown token) holds each embedding's unknown vector; a token an
    embedding lacks gets that embedding's unknown vector in its columns.

    Parameters
    ----------
    vocabulary : Vocabulary
        The tokens to index.
    token_embeddings : _TokenEmbedding or list of _TokenEmbedding
        The embeddings whose vectors are concatenated, in this order.
    """

    def __init__(self, vocabulary, token_embeddings):
        if not isinstance(vocabulary, vocab.Vocabulary):
            raise EmbeddingError(f"CompositeEmbedding: vocabulary must be a "
                                 f"mx.contrib.text.vocab.Vocabulary, not "
                                 f"{type(vocabulary).__name__}")
        if not isinstance(token_embeddings, list):
            token_embeddings = [token_embeddings]
        bad = [type(e).__name__ for e in token_embeddings if not isinstance(e, _TokenEmbedding)]
        if bad or not token_embeddings:
            raise EmbeddingError(f"CompositeEmbedding: token_embeddings must be one token "
                                 f"embedding or a non-empty list of them, got {bad or '[]'}")
        self._index_tokens_from_vocabulary(vocabulary)
        self._set_idx_to_vec_by_embeddings(token_embeddings, len(self), self._idx_to_token)
