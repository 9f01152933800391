"""Token counting for text data (MXNet 1.x ``mx.contrib.text.utils``)."""

from __future__ import annotations

import collections
import re

__all__ = ["count_tokens_from_str"]


def count_tokens_from_str(source_str, token_delim=" ", seq_delim="\n", to_lower=False,
                          counter_to_update=None):
    """Counts tokens in the specified string.

    For ``token_delim='<td>'`` and ``seq_delim='<sd>'``, a string of two sequences of tokens
    may look like ``<td>token1<td>token2<td><sd><td>token3<td><sd>``. Both delimiters are
    regular expressions: escape special characters (``'\\\\*'``).

    Parameters
    ----------
    source_str : str
        A source string of tokens.
    token_delim : str, default ' '
        A token delimiter (a regular expression).
    seq_delim : str, default '\\\\n'
        A sequence delimiter (a regular expression).
    to_lower : bool, default False
        Whether to count the lower-cased tokens.
    counter_to_update : collections.Counter or None, default None
        A Counter updated in place with the counts and returned; None counts into a new one.

    Returns
    -------
    collections.Counter
        The token counts (``counter_to_update`` itself when given).

    Examples
    --------
    >>> count_tokens_from_str(' Life is great ! \\n life is good . \\n', ' ', '\\n', True)
    Counter({'life': 2, 'is': 2, 'great': 1, '!': 1, 'good': 1, '.': 1})
    """
    tokens = [t for t in re.split(f"{token_delim}|{seq_delim}", source_str) if t]
    if to_lower:
        tokens = [t.lower() for t in tokens]
    if counter_to_update is None:
        return collections.Counter(tokens)
    counter_to_update.update(tokens)
    return counter_to_update
