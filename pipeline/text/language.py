"""Language identification of article texts (CLD2, through pycld2).

It runs in the extraction workers (``pipeline.parsing.articles``), on the text they have just
extracted, and the language chooses the stemmer of the search index. CLD2's tables are compiled
into its library, small and shared by every process that loads it, and it is fast, so detection
adds little to an extraction (measurements: docs/performance.md).
"""

from __future__ import annotations

import re

import pycld2

SAMPLE_CHARS = 4000
# CLD2 accepts "interchange-valid" UTF-8 only, and refuses a whole text for one character that
# is not: control characters but white space, surrogates, Unicode noncharacters.
_NONCHARACTERS = "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
_REFUSED = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]"
)
# CLD2's codes that are not ISO 639-1 although the language has a code there.
_ISO_639_1 = {"iw": "he", "jw": "jv", "zh-hant": "zh", "sr-me": "sr"}


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (a longer code for a language without one), from
    its first 4,000 characters; None when CLD2 cannot tell (no letters, an unknown script)."""
    sample = _REFUSED.sub(" ", text[:SAMPLE_CHARS]).encode("utf-8")
    try:
        _, _, found = pycld2.detect(sample, isPlainText=True, bestEffort=True)
    except pycld2.error:
        return None
    code = str(found[0][1]).lower()
    if code in ("un", "xxx") or code.startswith(("xx-", "zz")):  # unknown; CLD2's jokes
        return None
    return _ISO_639_1.get(code, code.split("-")[0])
