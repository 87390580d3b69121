"""An article's headline, from the page's own headline markup, and the text without it.

``page_headline`` chooses among JSON-LD ``headline``, ``og:title`` and ``twitter:title`` (site
names cut off), the article's ``<h1>`` and the ``<title>``; ``choose_title`` makes it agree with
the feed's title; ``strip_headline`` removes the headline when the extracted text starts with it.
Runs in the worker processes (``choose_title`` in the crawl, on plain strings).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from pipeline.parsing.page_metadata import Structured

# " | Site", " - Site", " — Site", " :: Site", " · Site", " » Site" (a colon is not one: it is
# part of many headlines).
_SITE_SEPARATOR = re.compile(r"(\s+[|\-–—·•»]\s+|\s+::\s+|\s*\|\s*)")
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "’": "'", "‘": "'"})
_MAX_CHARS = 300


def key(title: str) -> str:
    """A title compared loosely: case-folded, quotes and white space unified, end punctuation
    dropped."""
    return " ".join(title.translate(_QUOTES).casefold().split()).rstrip(" .!?:;…")


def strip_site_name(title: str, site_names: tuple[str, ...]) -> str:
    """``title`` without a leading or trailing part that names the site ("Headline | Site")."""
    parts = _SITE_SEPARATOR.split(title)
    if len(parts) < 3:
        return title
    while len(parts) >= 3 and _names_site(parts[-1], site_names):
        parts = parts[:-2]
    while len(parts) >= 3 and _names_site(parts[0], site_names):
        parts = parts[2:]
    return "".join(parts).strip()


def _names_site(part: str, site_names: tuple[str, ...]) -> bool:
    part_key = key(part)
    if not part_key:
        return True
    if "." in part_key and " " not in part_key:
        return True  # a domain: example.com
    for name in site_names:
        name_key = key(name)
        if name_key and (name_key == part_key or name_key in part_key or part_key in name_key):
            return True
    return False


def page_headline(
    tree: HtmlElement, structured: Structured, site_names: tuple[str, ...]
) -> tuple[str | None, list[str]]:
    """The page's headline and every form of it the page gives (for ``choose_title`` and
    ``strip_headline``).

    The headline is the first of JSON-LD ``headline``, ``og:title``, ``twitter:title`` (site
    names cut off), the article's ``<h1>``, the ``<title>`` (site name cut off); an ``<h1>`` that
    says the same in other case or quotes is preferred as what readers see.
    """
    meta = structured.meta
    title_element = tree.findtext(".//title")
    h1, in_article = _h1(tree)
    parts = _SITE_SEPARATOR.split(" ".join((title_element or "").split()))
    # a logo's <h1>: the site's name, or the <title>'s last part ("Headline | Site")
    if h1 and (_names_site(h1, site_names) or (len(parts) >= 3 and key(h1) == key(parts[-1]))):
        h1 = None
    candidates = [
        html.unescape(structured.json_ld.headline or "") or None,
        h1 if in_article else None,
        _stripped(meta.get("og:title"), site_names, h1),
        _stripped(meta.get("twitter:title"), site_names, h1),
        h1,
        _stripped(title_element, site_names, h1),
    ]
    forms: list[str] = []
    for candidate in candidates:
        if candidate and len(candidate) <= _MAX_CHARS and key(candidate) not in map(key, forms):
            forms.append(candidate)
    if not forms:
        return None, []
    headline = forms[0]
    if h1 and key(h1) == key(headline):
        headline = h1
    return headline, forms


def _stripped(title: str | None, site_names: tuple[str, ...], h1: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(html.unescape(title).split())
    if h1 and key(h1) in {key(part) for part in _SITE_SEPARATOR.split(title)[::2]}:
        return h1  # "Headline | Whatever": the part the page shows as its headline
    stripped = strip_site_name(title, site_names)
    return None if _names_site(stripped, site_names) else stripped


def _h1(tree: HtmlElement) -> tuple[str | None, bool]:
    """The first ``<h1>`` of the article (then True), else of the page."""
    for path, in_article in (("//article//h1", True), ("//main//h1", True), ("//h1", False)):
        found = tree.xpath(path)
        if found:
            text = " ".join(found[0].text_content().split())
            return text or None, in_article
    return None, False


def choose_title(page: str | None, forms: list[str], feed: str | None) -> str | None:
    """The stored title: the feed's when it is one of the page's forms of the headline (both
    agree), else the page's headline, else the feed's."""
    if not page:
        return feed
    if feed and key(feed) in {key(form) for form in forms}:
        return feed
    return page


def strip_headline(text: str, forms: list[str]) -> str:
    """``text`` without its first line when that line is the headline (in any of its forms)."""
    first, _, rest = text.partition("\n")
    if forms and key(first) in {key(form) for form in forms}:
        return rest.lstrip("\n")
    return text
