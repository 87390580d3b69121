"""The structured metadata of a page, read once: its meta tags and its JSON-LD article.

``read_structured`` collects what the page's markup says about the article, for the date
(``pipeline.parsing.dates``), the headline (``pipeline.parsing.headlines``) and the authors
(``pipeline.parsing.bylines``) to choose from. Runs in the worker processes: lxml and the
standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# JSON-LD types that describe the article itself (schema.org's Article and its subtypes).
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "liveblogposting",
        "socialmediaposting",
        "techarticle",
        "scholarlyarticle",
        "report",
    }
)
ORGANISATION_TYPES = frozenset({"organization", "newsmediaorganization", "corporation"})


@dataclass
class Person:
    """A name from a JSON-LD ``author`` (or ``creator``), and whether it is an organisation."""

    name: str
    organisation: bool


@dataclass
class JsonLdArticle:
    """What a page's JSON-LD article object says (the first one of an article type)."""

    headline: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[Person] = field(default_factory=list)
    publisher: str | None = None
    body: str | None = None


@dataclass
class Structured:
    """A page's meta tags (first value of each ``property``/``name``/``itemprop``, lower-cased
    keys) and its JSON-LD article (empty when there is none)."""

    meta: dict[str, str]
    json_ld: JsonLdArticle
    # Publisher names from JSON-LD (any object), for telling site names apart.
    publishers: list[str] = field(default_factory=list)


def read_structured(tree: HtmlElement) -> Structured:
    """Read the meta tags and the JSON-LD article of a parsed page."""
    meta: dict[str, str] = {}
    for element in tree.iterfind(".//meta[@content]"):
        content = " ".join((element.get("content") or "").split())
        if not content:
            continue
        for attribute in ("property", "name", "itemprop"):
            key = (element.get(attribute) or "").strip().lower()
            if key:
                meta.setdefault(key, content)
    article = JsonLdArticle()
    publishers: list[str] = []
    found = False
    for script in tree.iterfind(".//script[@type]"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for node in _nodes(data):
            publisher = _name(node.get("publisher"))
            if publisher:
                publishers.append(publisher)
            if found or not (_types(node) & ARTICLE_TYPES):
                continue
            found = True
            article.headline = _text(node.get("headline")) or _text(node.get("name"))
            article.published = _text(node.get("datePublished")) or _text(node.get("dateCreated"))
            article.modified = _text(node.get("dateModified"))
            article.authors = _people(node.get("author")) or _people(node.get("creator"))
            article.publisher = publisher
            article.body = _text(node.get("articleBody"))
    # itemprop microdata on elements other than <meta> (a <time>, a <span>); XPath, which finds
    # them in C, where ElementPath's ``*`` would hand every element of the page to Python
    for element in tree.xpath(".//*[@itemprop]"):
        key = (element.get("itemprop") or "").strip().lower()
        if key in ("datepublished", "datemodified") and key not in meta:
            value = element.get("datetime") or element.get("content") or element.text_content()
            if value and value.strip():
                meta[key] = value.strip()
    return Structured(meta, article, publishers)


def _nodes(data: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Every JSON-LD object in a document: lists, ``@graph`` and ``mainEntity`` walked."""
    if depth > 4:
        return []
    if isinstance(data, list):
        return [node for item in data for node in _nodes(item, depth + 1)]
    if not isinstance(data, dict):
        return []
    nodes = [data]
    for key in ("@graph", "mainEntity", "mainEntityOfPage"):
        if isinstance(data.get(key), list | dict):
            nodes.extend(_nodes(data[key], depth + 1))
    return nodes


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.strip().lower() for k in kinds if isinstance(k, str)}


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _people(value: Any) -> list[Person]:
    values = value if isinstance(value, list) else [value]
    people = []
    for item in values:
        if isinstance(item, dict):
            name = _text(item.get("name"))
            if name:
                people.append(Person(name, bool(_types(item) & ORGANISATION_TYPES)))
        elif (name := _text(item)) and not name.startswith(("http://", "https://")):
            people.append(Person(name, organisation=False))
    return people
