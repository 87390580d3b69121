"""Charset detection shared by page and feed decoding."""

from __future__ import annotations

import charset_normalizer

# Share of letters from the Latin-1 range (À..ÿ) above which a text is taken for Cyrillic or
# Greek bytes read as Latin-1/windows-1252 ("Ìîáèëèçàöèÿ"); Portuguese, French or Czech text
# stays far below it.
MOJIBAKE_LETTER_SHARE = 0.3
# The share is taken over the start of the text: a page of megabytes is not looped over.
SAMPLE_CHARS = 20_000


def latin1_letter_share(text: str) -> float:
    """Share of the letters that are in the Latin-1 range (0 for fewer than 50 letters), over
    the first SAMPLE_CHARS characters."""
    letters = high = 0
    for char in text[:SAMPLE_CHARS]:
        if char.isalpha():
            letters += 1
            if "\u00c0" <= char <= "\u00ff":
                high += 1
    return high / letters if letters >= 50 else 0.0


def looks_like_mojibake(text: str) -> bool:
    return latin1_letter_share(text) > MOJIBAKE_LETTER_SHARE


def detect_charset(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return best.encoding if best else None
