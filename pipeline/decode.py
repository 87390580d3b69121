"""Decoding downloaded pages to text, correcting a wrongly declared charset (mojibake)."""

from __future__ import annotations

import codecs

from scrapy.http import TextResponse
from w3lib.encoding import html_to_unicode

from pipeline.charsets import detect_charset, looks_like_mojibake

# Share of undecodable characters above which the declared charset is distrusted.
_MAX_REPLACEMENT_SHARE = 0.001


def decode_page(response: TextResponse) -> str:
    """Return the page as text, detecting and undoing three kinds of mojibake.

    Scrapy decodes by BOM, then HTTP charset, then the page's own declaration.
    - A wrong declaration that yields U+FFFD characters (windows-1251 declared as UTF-8): the
      page is decoded again from its own declaration or by detection, whichever is cleaner.
    - UTF-8 bytes declared as a single-byte charset ("ÐœÐ¾Ñ..."): bytes that are valid UTF-8
      with non-ASCII characters are UTF-8 (other charsets practically never are).
    - A single-byte charset declared as another (windows-1251 read as windows-1252): a text
      made mostly of À..ÿ letters is decoded again by detection.
    """
    text = response.text
    if text.count("\ufffd") > _MAX_REPLACEMENT_SHARE * len(text):
        _, alternative = html_to_unicode(None, response.body, auto_detect_fun=detect_charset)
        return alternative if alternative.count("\ufffd") < text.count("\ufffd") else text
    if _single_byte(response.encoding) and not response.body.isascii():
        try:
            return response.body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if looks_like_mojibake(text):
            encoding = detect_charset(response.body)
            if encoding:
                alternative = response.body.decode(encoding, errors="replace")
                if not looks_like_mojibake(alternative):
                    return alternative
    return text


def _single_byte(encoding: str) -> bool:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return not name.startswith(("utf", "gb", "big5", "euc", "shift", "iso2022", "cp9", "hz"))
