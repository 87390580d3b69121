"""Language identification of article texts (py3langid).

Done in the crawl process, not in the extraction workers: py3langid's model takes 77 MB in
every process that loads it.
"""

from __future__ import annotations

import logging

import py3langid

logger = logging.getLogger(__name__)

SAMPLE_CHARS = 800
_unavailable: str | None = None  # why the model could not be loaded, if it could not


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, from its first 800 characters; None when the
    model could not be loaded.

    More text costs more (the model's tables are larger than the CPU's caches) and changed no
    answer on the corpus's annotated articles (down to 400 characters).
    """
    if _unavailable is not None:
        return None
    language, _ = py3langid.classify(text[:SAMPLE_CHARS])
    return str(language) if language else None


def load_model() -> str | None:
    """Load the model now (about a second) rather than at the first article; return why it
    could not be loaded, if so. py3langid unpacks it through a temporary file, which a full
    disk refuses: articles then keep their feed's language, and the crawl goes on."""
    global _unavailable  # one model per process
    _unavailable = None
    try:
        detect_language("newsmon")
    except OSError as exc:
        _unavailable = f"{type(exc).__name__}: {exc}"
        logger.warning("Language detection is off: its model did not load (%s)", _unavailable)
    return _unavailable
