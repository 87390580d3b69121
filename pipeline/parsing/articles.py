"""Article extraction with trafilatura: runs in worker processes, so only plain data in and out.

The workers' ``extract`` task (``pipeline.workers.crawl_tasks``) calls ``extract_page`` for
``ExtractPipeline``: the page is decoded, its text and metadata extracted, and its language,
fingerprints and search stems computed, all in the worker.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from functools import cache
from typing import Any

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document, Extractor, set_date_params
from trafilatura.utils import load_html

from pipeline.parsing.decoding import decode_page
from pipeline.text.fingerprints import fingerprint
from pipeline.text.language import detect_language
from pipeline.text.stemming import group_for, stem_text

# trafilatura reports every page without main text at ERROR level; that is an outcome we
# record in the database, not an error of the crawl.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@cache
def extractor_options() -> Extractor:
    """trafilatura's options for the body text, built once per process.

    Scored against hand-annotated article bodies (docs/extraction.md): comments are left out
    (they are not the article: precision improves, recall is the same), and the fallback
    extractors (readability, jusText) are not run (``fast``: better precision, same recall, less
    time). Metadata is read separately, by ``page_metadata``.
    """
    return Extractor(output_format="python", comments=False, tables=True, fast=True)


def extract_page(
    body: bytes, content_type: str | None, url: str, read_date: bool = True
) -> dict[str, Any] | None:
    """``extract_article`` on a page as downloaded: decoded here, in the worker."""
    return extract_article(decode_page(body, content_type), url, read_date)


def extract_article(html: str, url: str, read_date: bool = True) -> dict[str, Any] | None:
    """Extract body text and metadata from a decoded HTML page; None when there is nothing.

    ``read_date``: False when the feed dated the article already, whose date wins.
    """
    tree = load_html(html)
    if tree is None:
        return None
    meta = page_metadata(tree, read_date)
    # trafilatura works on a copy of a tree it is given, so the page is parsed only once.
    document = trafilatura.bare_extraction(tree, url=url, options=extractor_options())
    if not isinstance(document, Document):
        return None
    text = (document.text or "").strip()
    language = detect_language(text) if text else None
    group = group_for(language)
    return {
        "fingerprints": fingerprint(meta.title, text) if text else None,
        "text": text,
        "language": language,
        # Stemmed here rather than by the store, in the crawl process.
        "text_stems": (group, stem_text(text, group)),
        "title": meta.title,
        "author": meta.author,
        "date": meta.date,
        "site_name": meta.sitename,
        "description": meta.description,
        "canonical_url": meta.url,
        "image": meta.image,
    }


def page_metadata(tree: HtmlElement, read_date: bool = True) -> Document:
    """Title, author, date, site name, description, canonical URL and image of a page.

    ``trafilatura.extract_metadata`` without what newsmon does not store (categories, tags,
    licence) and without its search of the markup for a byline: on a page whose meta tags and
    JSON-LD name no author, that search is slow, and what it finds is often not a person (an
    agency, a user name, a fragment of text). The feed's author fills in. Dates are read from
    the markup only, without dateparser, which is slow too, and only when asked: the feed's date
    wins (measurements: docs/extraction.md, docs/performance.md).
    """
    metadata = trafilatura_metadata.examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # a user name, not a person's name (as trafilatura does)
    with suppress(Exception):  # trafilatura's JSON-LD reader has bugs of its own
        metadata = trafilatura_metadata.extract_meta_json(tree, metadata)
    if not metadata.title:
        metadata.title = trafilatura_metadata.extract_title(tree)
    if not metadata.url:
        metadata.url = trafilatura_metadata.extract_url(tree)
    if read_date:
        metadata.date = find_date(tree, **{**_date_params(), "url": metadata.url})
    if not metadata.sitename:
        metadata.sitename = trafilatura_metadata.extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
    if metadata.sitename:
        if "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    elif metadata.url and (domain := trafilatura_metadata.META_URL.match(metadata.url)):
        metadata.sitename = domain[1]
    metadata.clean_and_trim()
    return metadata


@cache
def _date_params() -> dict[str, Any]:
    return set_date_params(extensive=False)
