"""Decoding downloaded pages to text, correcting a wrongly declared charset (mojibake)."""

from __future__ import annotations

import codecs

from w3lib.encoding import html_to_unicode, resolve_encoding

from pipeline.parsing.charsets import detect_charset, looks_like_mojibake

# Share of undecodable characters above which the declared charset is distrusted.
_MAX_REPLACEMENT_SHARE = 0.001


def decode_page(body: bytes, content_type: str | None) -> str:
    """Return the page as text, detecting and undoing three kinds of mojibake.

    Decoded in the order Scrapy decodes an HTML response: by BOM, then the HTTP charset
    (``content_type`` is the Content-Type header), then the page's own declaration; a page that
    declares none is read as the first of ASCII, UTF-8 and windows-1252 that fits. Then:
    - A wrong declaration that yields U+FFFD characters (windows-1251 declared as UTF-8): the
      page is decoded again from its own declaration or by detection, whichever is cleaner.
    - UTF-8 bytes declared as a single-byte charset ("ÐœÐ¾Ñ..."): bytes that are valid UTF-8
      with non-ASCII characters are UTF-8 (other charsets practically never are).
    - A single-byte charset declared as another (windows-1251 read as windows-1252): a text
      made mostly of À..ÿ letters is decoded again by detection.
    """
    encoding, text = html_to_unicode(
        content_type, body, default_encoding="ascii", auto_detect_fun=_first_that_fits
    )
    if text.count("\ufffd") > _MAX_REPLACEMENT_SHARE * len(text):
        _, alternative = html_to_unicode(None, body, auto_detect_fun=detect_charset)
        return alternative if alternative.count("\ufffd") < text.count("\ufffd") else text
    if _single_byte(encoding) and not body.isascii():
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if looks_like_mojibake(text):
            detected = detect_charset(body)
            if detected:
                alternative = body.decode(detected, errors="replace")
                if not looks_like_mojibake(alternative):
                    return alternative
    return text


def _first_that_fits(body: bytes) -> str | None:
    """The charset of a page that declares none."""
    for encoding in ("ascii", "utf-8", "cp1252"):
        try:
            body.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    return None


def _single_byte(encoding: str) -> bool:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return not name.startswith(("utf", "gb", "big5", "euc", "shift", "iso2022", "cp9", "hz"))
