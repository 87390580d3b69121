"""Decoding downloaded pages to text, correcting a wrongly declared charset."""

from __future__ import annotations

import charset_normalizer
from scrapy.http import TextResponse
from w3lib.encoding import html_to_unicode

# Share of undecodable characters above which the declared charset is distrusted.
_MAX_REPLACEMENT_SHARE = 0.001


def decode_page(response: TextResponse) -> str:
    """Return the page as text.

    Scrapy decodes by BOM, then HTTP charset, then the page's own declaration. A server that
    declares the wrong charset in its header yields U+FFFD characters; then the page is decoded
    again from its own declaration or, lacking one, by detection, whichever is cleaner.
    """
    text = response.text
    if text.count("\ufffd") <= _MAX_REPLACEMENT_SHARE * len(text):
        return text
    _, alternative = html_to_unicode(None, response.body, auto_detect_fun=_detect)
    return alternative if alternative.count("\ufffd") < text.count("\ufffd") else text


def _detect(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return best.encoding if best else None
