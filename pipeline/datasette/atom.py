"""Atom 1.0 feeds of datasette queries, and the safe HTML of article texts.

Any query returning ``atom_id``, ``atom_title`` and ``atom_updated`` (optional ``atom_link``,
``atom_content`` as plain text, ``atom_content_html`` which is sanitised, ``atom_published``,
``atom_author_name``) can be read as ``.atom``, empty ones included: the watchlists' alerts for a
feed reader. Registered as datasette's output renderer by ``pipeline.datasette.hooks``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from datasette.utils.asgi import Response
from lxml import etree
from lxml_html_clean import Cleaner
from markupsafe import escape

ATOM = "http://www.w3.org/2005/Atom"
REQUIRED_ATOM_COLUMNS = frozenset({"atom_id", "atom_title", "atom_updated"})
SAFE_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "em",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "ul",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    ]
)


def render_atom(
    datasette: Any,
    request: Any,
    columns: list[str],
    rows: list[Any],
    database: str,
    query_name: str | None,
) -> Response:
    if not set(columns) >= REQUIRED_ATOM_COLUMNS:
        return Response.text(
            "An Atom feed needs the columns atom_id, atom_title and atom_updated", status=400
        )
    title = "newsmon"
    if query_name:
        queries = datasette.metadata("queries", database=database) or {}
        title = queries.get(query_name, {}).get("title") or query_name
    name = request.args.get("name")
    if name:
        title = f"{title}: {name}"
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(feed, "id", request.url)
    _text(feed, "title", title)
    _text(feed, "updated", max((rfc3339(r["atom_updated"]) for r in records), default=now))
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "newsmon")
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=request.url)
    _text(feed, "generator", "newsmon")
    for record in records:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", str(record["atom_id"]))
        _text(entry, "title", str(record["atom_title"] or "(no title)"))
        _text(entry, "updated", rfc3339(record["atom_updated"]))
        if record.get("atom_published"):
            _text(entry, "published", rfc3339(record["atom_published"]))
        if record.get("atom_link"):
            etree.SubElement(
                entry, f"{{{ATOM}}}link", rel="alternate", href=str(record["atom_link"])
            )
        if record.get("atom_author_name"):
            _text(etree.SubElement(entry, f"{{{ATOM}}}author"), "name", record["atom_author_name"])
        if record.get("atom_content_html"):
            content = sanitise(str(record["atom_content_html"]))
        elif record.get("atom_content"):
            content = paragraphs_html(str(record["atom_content"]))
        else:
            continue
        _text(entry, "content", content).set("type", "html")
    body = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def paragraphs_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs, one per line."""
    return "".join(f"<p>{escape(line)}</p>" for line in text.split("\n") if line.strip())


def _text(parent: Any, tag: str, value: str) -> Any:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    # XML 1.0 cannot carry most control characters: they are dropped, not the feed.
    element.text = "".join(c for c in value if c in "\t\n\r" or c >= " ")
    return element


def rfc3339(value: Any) -> str:
    """An Atom date from an ISO 8601 value (a date alone is midnight UTC)."""
    text = str(value or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CLEANER = Cleaner(
    allow_tags=SAFE_TAGS,
    remove_unknown_tags=False,
    safe_attrs_only=True,
    safe_attrs=frozenset({"href", "title"}),
    kill_tags={"script", "style"},
    embedded=True,
    forms=True,
    frames=True,
)


def sanitise(html: str) -> str:
    """Only harmless formatting tags and http(s) links survive; scripts, styles, event
    handlers, forms, frames and images are removed."""
    return str(CLEANER.clean_html(f"<div>{html}</div>"))
