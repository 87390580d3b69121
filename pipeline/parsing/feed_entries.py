"""Parsing feed bytes (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into entries.

Always from bytes plus the HTTP headers, so that feedparser can weigh the declared
encodings (HTTP charset, XML declaration, BOM) against the bytes themselves. The feed spider has
feeds parsed in the crawl's workers (``pipeline.parsing.sources``, the ``parse_feed`` task); feed
autodiscovery calls ``parse_feed`` directly.
"""

from __future__ import annotations

import calendar
import codecs
import io
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html
from feedparser.datetimes import _parse_date

from pipeline import statuses
from pipeline.exceptions import FeedParseError
from pipeline.items import Entry
from pipeline.parsing.charsets import SAMPLE_CHARS, detect_charset, looks_like_mojibake

GZIP_MAGIC = b"\x1f\x8b"
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


@dataclass
class ParsedFeed:
    format: str  # feedparser's version ("rss20", "atom10", ...) or "json1"
    title: str | None = None
    site_url: str | None = None
    language: str | None = None
    entries: list[Entry] = field(default_factory=list)
    total_entries: int = 0  # before the per-feed cap
    warning: str | None = None  # why feedparser had to recover, if it did


def parse_feed(
    body: bytes,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    max_entries: int = 500,
    max_body: int = 32 * 1024 * 1024,
) -> ParsedFeed:
    """Parse a feed body fetched from ``url`` (its final URL, after redirects).

    ``headers`` are the response headers with lower-case names. Raises FeedParseError when the
    body is empty, HTML, or yields no feed at all.
    """
    headers = dict(headers or {})
    if body[:2] == GZIP_MAGIC:  # gzip served without Content-Encoding
        body = _gunzip(body, max_body)
    if not body.strip():
        raise FeedParseError(statuses.EMPTY, f"empty response from {url}")
    content_type = headers.get("content-type", "").lower()
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in content_type or stripped[:1] == b"{":
        return _parse_json_feed(stripped, url, max_entries)
    # Relative Content-Location is relative to the URL the feed came from.
    headers["content-location"] = urljoin(url, headers.get("content-location", ""))
    unicode = _unicode_encoding(body)
    if unicode:
        body, headers = _as_utf8(body, unicode, headers)
    body = _LONG_AUTHOR.sub(rb"\1\2", body)
    result = _feedparser_parse(body, headers)
    if isinstance(result.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        # The declared charset does not fit the bytes and feedparser fell back to
        # windows-1252. Right for undeclared Latin-1; for Cyrillic it makes "Ìîáèëèçàöèÿ",
        # and then the charset is detected instead.
        sample = body[: SAMPLE_CHARS * 4]
        fallback = sample.decode(result.encoding or "windows-1252", errors="replace")
        detected = detect_charset(body) if looks_like_mojibake(fallback) else None
        if detected and codecs.lookup(detected).name != codecs.lookup(result.encoding).name:
            body, headers = _as_utf8(body, detected, headers)
            result = _feedparser_parse(body, headers)
            result["bozo"], result["bozo_exception"] = (
                1,
                feedparser.CharacterEncodingOverride(
                    f"declared charset does not fit the bytes; read as {detected} (detected)"
                ),
            )
    version = result.get("version") or ""
    raw_entries = result.get("entries") or []
    if not version and not raw_entries:
        if _HTML_START.match(body[:1024]) or "html" in content_type:
            raise FeedParseError(statuses.NOT_A_FEED, f"{url} is an HTML page, not a feed")
        problem = result.get("bozo_exception") or "feedparser found no feed in it"
        raise FeedParseError(statuses.PARSE_ERROR, f"{url} is not a readable feed: {problem}")
    meta = result.get("feed", {})
    language = _clean(meta.get("language")) or headers.get("content-language")
    entries = []
    for raw in raw_entries[:max_entries]:
        entry = _entry_from_feedparser(raw, url, language)
        if entry is not None:
            entries.append(entry)
    warning = None
    if result.get("bozo"):
        warning = f"{type(result.get('bozo_exception')).__name__}: {result.get('bozo_exception')}"
    return ParsedFeed(
        format=version or "unknown",
        title=_text_of(meta.get("title"), meta.get("title_detail")),
        site_url=_absolute(meta.get("link"), url),
        language=language,
        entries=entries,
        total_entries=len(raw_entries),
        warning=warning,
    )


def _feedparser_parse(body: bytes, headers: dict[str, str]) -> Any:
    """feedparser on the bytes, without its HTML sanitiser and its rewriting of relative links
    in HTML content: every text field is made plain text by ``html_to_text``, which drops the
    markup, scripts and styles, so both were work thrown away (a third of the parsing time;
    docs/performance.md)."""
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xef\xbb\xbf", "utf-8"),
)
# How "<" starts a document in each encoding that has no BOM.
_BOMLESS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


def _unicode_encoding(body: bytes) -> str | None:
    """UTF-8/16/32 recognised by a byte order mark, or UTF-16/32 by how ``<`` is written.

    A BOM outranks what the HTTP header says: ``text/xml`` without a charset means US-ASCII to
    feedparser (RFC 3023), which would make every UTF-16 feed unreadable.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding
    start = body[:4]
    for pattern, encoding in _BOMLESS:
        if start.startswith(pattern):
            return encoding
    return None


def _as_utf8(body: bytes, encoding: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body re-encoded as UTF-8, with its XML declaration and the HTTP charset saying so."""
    text = body.decode(encoding, errors="replace").lstrip("\ufeff").encode("utf-8")
    text = _XML_ENCODING.sub(rb'\1"utf-8"', text, count=1)
    content_type = headers.get("content-type", "").split(";")[0].strip() or "application/xml"
    return text, {**headers, "content-type": f"{content_type}; charset=utf-8"}


# feedparser's author e-mail regex backtracks quadratically on long author fields (feedparser
# issue #562, unfixed in 6.0.14): author fields are cut to 256 characters before it sees them.
_LONG_AUTHOR = re.compile(
    rb"(<(?:author|dc:creator|managingEditor|webMaster|itunes:author|name|email)(?:\s[^<>]*)?>)"
    rb"([^<]{%d})[^<]+" % 256
)


def _entry_from_feedparser(raw: Any, feed_url: str, language: str | None) -> Entry | None:
    guid = _clean(raw.get("id"))
    link = _clean(raw.get("link"))
    if not link and guid and raw.get("guidislink"):
        link = guid
    title = _text_of(raw.get("title"), raw.get("title_detail"))
    summary = _text_of(raw.get("summary"), raw.get("summary_detail"))
    if not (link or guid or title):
        return None  # an artefact of broken nesting, not an entry
    return Entry(
        feed_url=feed_url,
        link=_absolute(link, feed_url),
        guid=guid,
        title=title,
        summary=summary,
        published=_iso_from_struct(raw.get("published_parsed") or raw.get("updated_parsed")),
        author=_clean(raw.get("author")),
        language=language,
    )


def _parse_json_feed(body: bytes, url: str, max_entries: int) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedParseError(statuses.PARSE_ERROR, f"{url} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        _JSON_FEED_VERSION
    ):
        raise FeedParseError(statuses.NOT_A_FEED, f"{url} is JSON but not a JSON Feed")
    items = data.get("items")
    items = items if isinstance(items, list) else []
    language = _clean(data.get("language"))
    entries = []
    for item in items[:max_entries]:
        if not isinstance(item, dict):
            continue
        link = _clean(item.get("url")) or _clean(item.get("external_url"))
        guid = _clean(str(item["id"])) if item.get("id") is not None else None
        title = _clean(item.get("title"))
        if not (link or guid or title):
            continue
        summary = _clean(item.get("summary")) or _clean(item.get("content_text"))
        if not summary and isinstance(item.get("content_html"), str):
            summary = html_to_text(item["content_html"])
        entries.append(
            Entry(
                feed_url=url,
                link=_absolute(link, url),
                guid=guid,
                title=title,
                summary=summary,
                published=_iso_from_string(item.get("date_published") or item.get("date_modified")),
                author=_json_author(item),
                language=_clean(item.get("language")) or language,
            )
        )
    return ParsedFeed(
        format="json1",
        title=_clean(data.get("title")),
        site_url=_absolute(_clean(data.get("home_page_url")), url),
        language=language,
        entries=entries,
        total_entries=len(items),
    )


def _json_author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = [a.get("name") for a in authors if isinstance(a, dict) and a.get("name")]
    return _clean(", ".join(str(n) for n in names)) if names else None


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise FeedParseError(statuses.PARSE_ERROR, f"corrupt gzip data: {exc}") from exc
    if inflater.unconsumed_tail:
        raise FeedParseError(statuses.TOO_LARGE, f"gzip body inflates past {limit} bytes")
    return data


def html_to_text(markup: str) -> str | None:
    """Plain text of an HTML fragment: tags dropped, scripts and styles removed."""
    if "<" not in markup and "&" not in markup:
        return _clean(markup)
    try:
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return _clean(markup)
    for bad in fragment.xpath(".//script|.//style"):
        bad.drop_tree()
    return _clean(fragment.text_content())


def _text_of(value: Any, detail: Any) -> str | None:
    """Plain text of a feed field. Text that contains tags is taken for HTML whatever the feed
    declares (RSS titles routinely carry escaped markup): the tags go, scripts with them."""
    if not isinstance(value, str):
        return None
    if (detail and "html" in str(detail.get("type", ""))) or _TAG.search(value):
        return html_to_text(value)
    return _clean(value)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = _SPACES.sub(" ", _CONTROL_CHARS.sub("", value)).strip()
    return value or None


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def _iso_from_struct(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    try:
        seconds = calendar.timegm(parsed)
    except (OverflowError, ValueError, TypeError):
        return None
    return iso_utc(seconds)


def _iso_from_string(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    parsed = _parse_date(value)
    return _iso_from_struct(parsed)


def iso_utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
