"""Article extraction with trafilatura: runs in worker processes, so only plain data in and out.

The workers' ``extract`` task (``pipeline.workers.crawl_tasks``) calls ``extract_page`` for
``ExtractPipeline``: the page is decoded, its text and metadata extracted, and its language,
fingerprints and search stems computed, all in the worker.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import trafilatura
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document, Extractor
from trafilatura.utils import HTML_PARSER as TRAFILATURA_HTML_PARSER
from trafilatura.utils import load_html

from pipeline.parsing.byline_search import search_byline
from pipeline.parsing.bylines import join_names, split_byline
from pipeline.parsing.dates import page_dates
from pipeline.parsing.decoding import decode_page
from pipeline.parsing.element_classes import use_html_class_lookup
from pipeline.parsing.headlines import key as headline_key
from pipeline.parsing.headlines import page_headline, strip_headline
from pipeline.parsing.page_metadata import read_structured
from pipeline.parsing.posts import analyse_post

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from pipeline.parsing.page_metadata import Structured

# trafilatura reports every page without main text at ERROR level; that is an outcome we
# record in the database, not an error of the crawl.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# The pages' element classes looked up in C rather than by a Python method per element.
use_html_class_lookup(TRAFILATURA_HTML_PARSER)


# A page with at least TEASER_ARTICLES <article> elements is extracted with trafilatura's fallback
# extractors at once; a fast extraction shorter than SHORT_TEXT_CHARS is done again with them.
SHORT_TEXT_CHARS = 1000
TEASER_ARTICLES = 2


@cache
def extractor_options(fast: bool = True) -> Extractor:
    """trafilatura's options for the body text, built once per process: comments left out (they
    are not the article), tables kept; ``fast`` without the fallback extractors (readability,
    jusText). Metadata is read separately, by ``page_metadata``."""
    return Extractor(output_format="python", comments=False, tables=True, fast=fast)


def has_teaser_cards(tree: HtmlElement) -> bool:
    """Whether the page holds several ``<article>`` elements, so that fast extraction may keep
    a teaser card or the navigation instead of a body that sits in unmarked divs among them."""
    return bool(tree.xpath(f"count(//article) >= {TEASER_ARTICLES}"))


def main_text(tree: HtmlElement, url: str) -> str:
    """The page's body text: fast extraction, unless it may miss the body and trafilatura's
    fallback extractors (readability, jusText) are needed.

    Where fast extraction goes wrong (docs/extraction.md): a page whose body sits in unmarked divs
    among ``<article>`` teaser cards (``has_teaser_cards``: extracted with the fallbacks at once),
    a body split by ad blocks or sibling containers (only the lede is kept) and a short wire item
    (too little is kept): a fast extraction shorter than ``SHORT_TEXT_CHARS`` is done again with
    them. The fallbacks cost a quarter more time and 30 MB of memory per worker once jusText's stop
    lists are loaded, and lowered precision on pages fast extraction gets right.
    """
    if has_teaser_cards(tree):
        return _main_text(tree, url, fast=False)
    extracted = _main_text(tree, url, fast=True)
    if len(extracted) < SHORT_TEXT_CHARS:
        return _main_text(tree, url, fast=False)
    return extracted


def extract_page(body: bytes, content_type: str | None, url: str) -> dict[str, Any] | None:
    """``extract_article`` on a page as downloaded: decoded here, in the worker."""
    return extract_article(decode_page(body, content_type), url)


def extract_article(html: str, url: str) -> dict[str, Any] | None:
    """Extract body text and metadata from a decoded HTML page; None when it is not HTML.

    The metadata is returned even when trafilatura finds no main text (``text`` is then empty).
    The headline is taken off the start of the text (``headlines.strip_headline``).
    ``title_forms`` are the page's forms of its headline, for ``headlines.choose_title``.
    """
    tree = load_html(html)
    if tree is None:
        return None
    meta = page_metadata(tree, url)
    # trafilatura works on a copy of a tree it is given, so the page is parsed only once.
    extracted = main_text(tree, url)
    text = strip_headline(extracted, meta.title_forms)
    return {
        **analyse_post(meta.title, text),  # language, fingerprints, search stems
        "text": text,
        # What trafilatura found, the headline included: the minimum length applies to it, so a
        # short wire item is not dropped because its headline was taken off.
        "extracted_chars": len(extracted),
        "title": meta.title,
        "title_forms": meta.title_forms,
        "author": meta.author,
        "credits": meta.credits,
        "date": meta.date,
        "modified": meta.modified,
        "site_name": meta.sitename,
        "description": meta.description,
        "canonical_url": meta.url,
        "image": meta.image,
    }


def _main_text(tree: HtmlElement, url: str, fast: bool) -> str:
    """trafilatura's main text of the page ("" if none); it works on a copy of the tree."""
    document = trafilatura.bare_extraction(tree, url=url, options=extractor_options(fast))
    return (document.text or "").strip() if isinstance(document, Document) else ""


@dataclass
class PageMetadata:
    """What ``page_metadata`` reads: dates normalised (``pipeline.parsing.dates``), authors as
    people's names and credits (``pipeline.parsing.bylines``), each list joined by "; "."""

    title: str | None
    title_forms: list[str]
    author: str | None
    credits: str | None
    date: str | None
    modified: str | None
    sitename: str | None
    description: str | None
    url: str | None
    image: str | None


def page_metadata(tree: HtmlElement, url: str | None = None) -> PageMetadata:
    """Headline, authors and credits, dates, site name, description, canonical URL and image.

    Site name, description, canonical URL and image are trafilatura's meta-tag and JSON-LD
    reader's. The headline, dates and authors are newsmon's, from the page's structured data
    (``page_metadata.read_structured``); trafilatura's search of the markup for a byline runs
    only when the meta tags and JSON-LD name nobody.
    """
    metadata = trafilatura_metadata.examine_meta(tree)
    with suppress(Exception):  # trafilatura's JSON-LD reader has bugs of its own
        metadata = trafilatura_metadata.extract_meta_json(tree, metadata)
    if not metadata.url:
        metadata.url = trafilatura_metadata.extract_url(tree)
    structured = read_structured(tree)
    # Site names the page declares (meta tags, JSON-LD), not trafilatura's guess from the
    # <title>, which can be the headline itself.
    site_names = _site_names(structured, metadata.sitename, metadata.url or url)
    title, title_forms = page_headline(tree, structured, site_names)
    if not metadata.sitename:
        guess = trafilatura_metadata.extract_sitename(tree)
        if guess and not (title and headline_key(guess) == headline_key(title)):
            metadata.sitename = guess
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
    if metadata.sitename:
        if "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    elif (address := metadata.url or url) and (
        domain := trafilatura_metadata.META_URL.match(address)
    ):
        metadata.sitename = domain[1]
    metadata.clean_and_trim()
    people, credits = _authors(tree, structured, metadata.author, site_names)
    published, modified = page_dates(tree, structured, metadata.url or url)
    return PageMetadata(
        title=title or metadata.title,
        title_forms=title_forms,
        author=join_names(people),
        credits=join_names(credits),
        date=published,
        modified=modified,
        sitename=metadata.sitename,
        description=metadata.description,
        url=metadata.url,
        image=metadata.image,
    )


def _site_names(structured: Structured, sitename: str | None, url: str | None) -> tuple[str, ...]:
    names = [sitename, structured.meta.get("og:site_name"), structured.meta.get("application-name")]
    names += structured.publishers
    if url and (host := urlsplit(url).hostname):
        labels = host.removeprefix("www.").split(".")
        names.append(".".join(labels))
        if len(labels) >= 2:
            names.append(labels[-2])
    return tuple(dict.fromkeys(name for name in names if name))


def _authors(
    tree: HtmlElement, structured: Structured, meta_author: str | None, site_names: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """People and credits from JSON-LD, else the meta tags, else trafilatura's byline search
    (``byline_search``)."""
    json_ld = structured.json_ld.authors
    organisations = tuple(person.name for person in json_ld if person.organisation)
    people: list[str] = []
    credits: list[str] = []
    raws = ["; ".join(person.name for person in json_ld), meta_author]
    for raw in raws:
        found_people, found_credits = split_byline(raw, site_names, organisations)
        people = people or found_people
        credits = credits or found_credits
    if not people and not credits:
        with suppress(Exception):
            raw = search_byline(tree)
            people, credits = split_byline(raw, site_names, organisations)
    return people, credits
