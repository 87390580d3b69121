"""Pages in the wrong charset: every kind of mojibake is detected and the page re-decoded."""

from __future__ import annotations

import pytest

from pipeline.parsing.decoding import decode_page

RUSSIAN = "Мужчины призывного возраста пытаются выехать из страны после объявления мобилизации. "
FRENCH = "Les élèves étaient très fâchés à côté de l'école où ça s'était passé. "


def page(sentence: str) -> str:
    return f"<html><head><title>t</title></head><body><p>{sentence * 5}</p></body></html>"


@pytest.mark.parametrize(
    ("sentence", "encoding", "declared"),
    [
        (RUSSIAN, "utf-8", "windows-1252"),  # UTF-8 read as Latin: "ÐœÑƒÐ¶..."
        (RUSSIAN, "cp1251", "windows-1252"),  # Cyrillic bytes read as Latin: "Ìóæ÷èíû"
        (RUSSIAN, "cp1251", "iso-8859-1"),
        (RUSSIAN, "cp1251", "utf-8"),  # undecodable: U+FFFD
        (RUSSIAN, "koi8-r", "utf-8"),
        (FRENCH, "utf-8", "iso-8859-1"),
        (FRENCH, "cp1252", "windows-1252"),  # correct, and full of accents: left alone
        (RUSSIAN, "utf-8", "utf-8"),
    ],
)
def test_page_text_is_right_whatever_the_declared_charset(
    sentence: str, encoding: str, declared: str
) -> None:
    body = page(sentence).encode(encoding)
    assert sentence.strip() in decode_page(body, f"text/html; charset={declared}")


@pytest.mark.parametrize(
    ("body", "content_type", "sentence"),
    [
        (b"\xef\xbb\xbf" + page(FRENCH).encode(), "text/html; charset=iso-8859-1", FRENCH),
        (page(FRENCH).replace("<head>", '<head><meta charset="cp1252">').encode("cp1252"), None,
         FRENCH),
        # No charset anywhere, and not UTF-8: windows-1252 (Scrapy's response.text has "élčves").
        (page(FRENCH).encode("cp1252"), "text/html", FRENCH),
        (page(RUSSIAN).encode(), None, RUSSIAN),
        (page(RUSSIAN).encode("utf-16"), "text/html", RUSSIAN),
    ],
)  # fmt: skip
def test_charset_from_bom_header_declaration_or_guess(
    body: bytes, content_type: str | None, sentence: str
) -> None:
    assert sentence.strip() in decode_page(body, content_type)
