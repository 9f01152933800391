"""Indexing of text tokens (MXNet 1.x ``mx.contrib.text.vocab``)."""

from __future__ import annotations

import collections
import numbers

from ...base import MXNetValueError

__all__ = ["Vocabulary", "VocabularyError", "UNKNOWN_IDX"]

#: The index of the unknown token in every vocabulary and embedding.
UNKNOWN_IDX = 0


class VocabularyError(MXNetValueError, AssertionError):
    """A bad :class:`Vocabulary` argument (MXNet ``assert``s them: an ``AssertionError``)."""


class Vocabulary:
    """Indexing for text tokens.

    Index 0 is ``unknown_token``, then come ``reserved_tokens`` in their order, then the keys of
    ``counter`` from the most frequent down (ties in the keys' sort order), skipping any that is
    already indexed.

    Parameters
    ----------
    counter : collections.Counter or None, default None
        Token frequencies; its keys are indexed subject to `most_freq_count` and `min_freq`.
        Its keys, `unknown_token` and the `reserved_tokens` must be of one hashable type
        (str, int, tuple ...).
    most_freq_count : None or int, default None
        The most keys of `counter` to index (reserved tokens not counted); None: no limit.
    min_freq : int, default 1
        The least frequency a key of `counter` needs to be indexed.
    unknown_token : hashable object, default '<unk>'
        What every unknown token is indexed as.
    reserved_tokens : list of hashable objects or None, default None
        Tokens always indexed (padding, sentence marks ...); no duplicates, not `unknown_token`.

    Attributes
    ----------
    unknown_token : hashable object
        What every unknown token is indexed as.
    reserved_tokens : list or None
        The reserved tokens, always indexed.
    """

    def __init__(self, counter=None, most_freq_count=None, min_freq=1, unknown_token="<unk>",
                 reserved_tokens=None):
        if not min_freq > 0:
            raise VocabularyError(f"Vocabulary: min_freq must be positive, got {min_freq!r}")
        if reserved_tokens is not None:
            if unknown_token in reserved_tokens:
                raise VocabularyError(f"Vocabulary: reserved_tokens {reserved_tokens!r} must not "
                                      f"contain unknown_token {unknown_token!r}")
            if len(set(reserved_tokens)) != len(reserved_tokens):
                raise VocabularyError(f"Vocabulary: reserved_tokens {reserved_tokens!r} "
                                      f"contain duplicates")
        self._unknown_token = unknown_token
        self._reserved_tokens = None if reserved_tokens is None else list(reserved_tokens)
        self._idx_to_token = [unknown_token, *(reserved_tokens or [])]
        self._token_to_idx = {token: idx for idx, token in enumerate(self._idx_to_token)}
        if counter is not None:
            self._index_counter_keys(counter, most_freq_count, min_freq)

    def _index_counter_keys(self, counter, most_freq_count, min_freq):
        if not isinstance(counter, collections.Counter):
            raise VocabularyError(f"Vocabulary: counter must be a collections.Counter, not "
                                  f"{type(counter).__name__}")
        # Sorting by token first makes ties in frequency come out in the tokens' order.
        by_freq = sorted(sorted(counter.items(), key=lambda kv: kv[0]),
                         key=lambda kv: kv[1], reverse=True)
        cap = len(self._idx_to_token) + (len(counter) if most_freq_count is None
                                         else most_freq_count)
        for token, freq in by_freq:
            if freq < min_freq or len(self._idx_to_token) >= cap:
                break
            if token not in self._token_to_idx:
                self._token_to_idx[token] = len(self._idx_to_token)
                self._idx_to_token.append(token)

    def __len__(self):
        return len(self._idx_to_token)

    @property
    def token_to_idx(self):
        """dict: each indexed token's index."""
        return self._token_to_idx

    @property
    def idx_to_token(self):
        """list: the indexed tokens, the list index being the token index."""
        return self._idx_to_token

    @property
    def unknown_token(self):
        """What every unknown token is indexed as (index 0)."""
        return self._unknown_token

    @property
    def reserved_tokens(self):
        """list or None: the reserved tokens (indices 1, 2, ...)."""
        return self._reserved_tokens

    def to_indices(self, tokens):
        """Converts tokens to indices; unknown tokens give ``UNKNOWN_IDX`` (0).

        Parameters
        ----------
        tokens : token or list of tokens
            Only a list is taken as several tokens (a tuple may be one token).

        Returns
        -------
        int or list of ints
            An index for a single token, a list for a list.
        """
        if not isinstance(tokens, list):
            return self._token_to_idx.get(tokens, UNKNOWN_IDX)
        return [self._token_to_idx.get(token, UNKNOWN_IDX) for token in tokens]

    def to_tokens(self, indices):
        """Converts token indices to tokens.

        Parameters
        ----------
        indices : int or list of ints
            Indices in ``[0, len(self))``.

        Returns
        -------
        token or list of tokens
            A token for a single index, a list for a list.

        Raises
        ------
        MXNetValueError
            An index that is not an integer or is out of range (a ``ValueError``, as in MXNet).
        """
        if not isinstance(indices, list):
            return self._token_at(indices)
        return [self._token_at(idx) for idx in indices]

    def _token_at(self, idx):
        if (not isinstance(idx, numbers.Integral) or isinstance(idx, bool)
                or not 0 <= idx < len(self._idx_to_token)):
            raise MXNetValueError(f"Token index {idx!r} in the provided `indices` is invalid: "
                                  f"expected an int in [0, {len(self._idx_to_token)})")
        return self._idx_to_token[idx]
