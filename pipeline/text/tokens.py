r"""The two ways newsmon splits a text into words: for fingerprints, and for search.

Both take ``\w+`` runs. They differ on purpose, and each must stay as it is, since stored values
are made from it:

- ``fingerprint_tokens`` lower-cases: the text hashes, MinHash signatures and story terms stored
  for dedup (``pipeline.text.fingerprints``) are made from these words;
- ``search_tokens`` case-folds and writes ё as е, as most Russian texts do: the stemmed search
  index and the queries against it (``pipeline.text.stemming``, ``pipeline.search``) are made
  from these, so that ``Ещё`` finds ``еще``. Changing it means raising
  ``pipeline.search.index.INDEX_DEFINITION``, which rebuilds the index.
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")


def fingerprint_tokens(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words, for dedup's fingerprints."""
    return WORD.findall(text.lower())


def search_tokens(text: str) -> list[str]:
    """Case-folded ``\\w+`` words with ё written as е, for the search index and queries."""
    return WORD.findall(text.casefold().replace("ё", "е"))
