"""Sitemaps (sitemaps.org) and Google News sitemaps, read as feeds or walked for a backfill.

A sitemap is read as a stream: the body is inflated (gzip or zlib, whatever the headers say) in
small pieces into lxml's pull parser, and each ``<url>`` or ``<sitemap>`` element is read and
dropped at once, so that memory stays bounded whatever the file's size. A body that inflates
past ``max_bytes``, or lists more than ``max_urls`` URLs, is read up to there, with a warning.

- ``parse_sitemap``: a ``<urlset>`` given as a feed URL, as a ``ParsedFeed`` (``ParsedSitemap``):
  every URL an entry, with the news sitemap's title, publication time and language. A sitemap
  index read as a feed has no entries, only its child sitemaps.
- ``read_sitemap``: one file of a backfill (``spiders/backfill.py``): the child sitemaps of an
  index, and the URLs whose publication date (else ``lastmod``) falls in a range of days.

Both run in the crawl's worker processes (``pipeline.workers.crawl_tasks``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree

from pipeline import statuses
from pipeline.exceptions import FeedParseError
from pipeline.items import Entry
from pipeline.parsing.dates import normalise_date
from pipeline.parsing.feed_entries import ParsedFeed

SITEMAP_FORMAT = "sitemap"  # a plain <urlset>
NEWS_SITEMAP_FORMAT = "sitemap-news"  # a <urlset> with Google News tags
SITEMAP_INDEX_FORMAT = "sitemap-index"  # a <sitemapindex>
FORMATS = frozenset({SITEMAP_FORMAT, NEWS_SITEMAP_FORMAT, SITEMAP_INDEX_FORMAT})

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 64 * 1024
MAX_BYTES = 64 * 1024 * 1024  # sitemaps.org allows 50 MB uncompressed
MAX_URLS = 100_000  # sitemaps.org allows 50,000 URLs per file
_ROOT = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(urlset|sitemapindex)[\s>/]")
_SPACES = re.compile(r"\s+")


@dataclass
class SitemapRecord:
    """One ``<url>`` or ``<sitemap>`` element."""

    kind: str  # "url" or "sitemap"
    loc: str
    lastmod: str | None = None  # normalised (pipeline.parsing.dates)
    title: str | None = None  # news:title
    published: str | None = None  # news:publication_date, normalised
    language: str | None = None  # news:language
    publication: str | None = None  # news:name


@dataclass
class ParsedSitemap(ParsedFeed):
    """A sitemap read as a feed; for an index, its child sitemaps (and no entries)."""

    sitemaps: list[str] = field(default_factory=list)


@dataclass
class SitemapRead:
    """What one file of a backfill gave: child sitemaps with their ``lastmod``, and the entries
    in the range asked for."""

    format: str
    sitemaps: list[tuple[str, str | None]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    urls: int = 0  # URLs listed, in the range or not
    warning: str | None = None


def looks_like_sitemap(body: bytes) -> bool:
    """Whether a body (gzipped or not) starts like a sitemap or a sitemap index."""
    head = body[:4096]
    if head[:2] == GZIP_MAGIC:
        try:
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(body[:16384], 4096)
        except zlib.error:
            return False
    return bool(_ROOT.search(head[:2048]))


def iter_sitemap(
    body: bytes, url: str, *, max_bytes: int = MAX_BYTES, max_urls: int = MAX_URLS
) -> Iterator[SitemapRecord | str]:
    """The records of a sitemap, one at a time; a string is a warning, after which it stops.

    Raises FeedParseError when the body is not XML, or not a sitemap.
    """
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    root_seen = False
    count = 0

    def parsed_records() -> Iterator[SitemapRecord]:
        nonlocal root_seen
        for event, element in parser.read_events():
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name not in ("urlset", "sitemapindex"):
                        raise FeedParseError(
                            statuses.NOT_A_FEED, f"{url}: <{name}> is not a sitemap"
                        )
                continue
            if name not in ("url", "sitemap"):
                continue
            record = _record(element, name, url)
            element.clear()
            parent = element.getparent()
            if parent is not None:  # drop what was read: memory stays flat
                while element.getprevious() is not None:
                    del parent[0]
            if record is not None:
                yield record

    def counted(records: Iterator[SitemapRecord]) -> Iterator[SitemapRecord | str]:
        nonlocal count
        for record in records:
            count += 1
            if count > max_urls:
                yield f"more than {max_urls} URLs, only the first {max_urls} read"
                return
            yield record

    try:
        for piece in _inflated(body, max_bytes):
            if isinstance(piece, str):
                yield piece
                return
            parser.feed(piece)
            for record in counted(parsed_records()):
                yield record
                if isinstance(record, str):
                    return
        parser.close()
        yield from counted(parsed_records())
    except etree.XMLSyntaxError as exc:
        # What was parsed before the error is still there to read.
        kept = list(counted(parsed_records()))
        if not root_seen:
            raise FeedParseError(statuses.PARSE_ERROR, f"{url} is not XML: {exc}") from exc
        yield from kept
        if not any(isinstance(record, str) for record in kept):
            yield f"broken XML after {count} records: {exc}"
        return
    if not root_seen:
        raise FeedParseError(statuses.EMPTY, f"empty sitemap at {url}")


def _inflated(body: bytes, max_bytes: int) -> Iterator[bytes | str]:
    """The body in pieces, inflated if gzipped, never more than ``max_bytes`` in all."""
    if body[:2] != GZIP_MAGIC:
        if len(body) > max_bytes:
            yield from (body[i : i + CHUNK] for i in range(0, max_bytes, CHUNK))
            yield f"sitemap larger than {max_bytes} bytes, read up to there"
            return
        yield from (body[i : i + CHUNK] for i in range(0, len(body), CHUNK))
        return
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    total = 0
    position = 0
    try:
        while position < len(body) or inflater.unconsumed_tail:
            data = inflater.unconsumed_tail or body[position : position + CHUNK]
            if not inflater.unconsumed_tail:
                position += CHUNK
            piece = inflater.decompress(data, CHUNK)
            total += len(piece)
            if total > max_bytes:
                yield f"gzipped sitemap inflates past {max_bytes} bytes, read up to there"
                return
            if piece:
                yield piece
            if inflater.eof:
                return
    except zlib.error as exc:
        yield f"corrupt gzip data after {total} bytes: {exc}"


def _record(element: etree._Element, kind: str, base: str) -> SitemapRecord | None:
    values: dict[str, str] = {}
    for child in element.iter():
        if not isinstance(child.tag, str) or child is element:
            continue
        name = etree.QName(child).localname
        text = _SPACES.sub(" ", child.text or "").strip()
        if text and name not in values:
            values[name] = text
    loc = values.get("loc")
    if not loc:
        return None
    try:
        loc = urljoin(base, loc)
    except ValueError:
        return None
    return SitemapRecord(
        kind=kind,
        loc=loc,
        lastmod=normalise_date(values.get("lastmod")),
        title=values.get("title"),
        published=normalise_date(values.get("publication_date")),
        language=(values.get("language") or "").lower() or None,
        publication=values.get("name"),
    )


def parse_sitemap(
    body: bytes, url: str, *, max_entries: int = 500, max_bytes: int = MAX_BYTES
) -> ParsedSitemap:
    """A sitemap given as a feed: the newest ``max_entries`` URLs as entries (by publication
    date, else in the file's order), titled and dated from the news sitemap's tags."""
    records: list[SitemapRecord] = []
    children: list[str] = []
    warning = None
    for record in iter_sitemap(body, url, max_bytes=max_bytes):
        if isinstance(record, str):
            warning = record
        elif record.kind == "sitemap":
            children.append(record.loc)
        else:
            records.append(record)
    news = any(record.title or record.published for record in records)
    ordered = sorted(records, key=lambda r: r.published or "", reverse=True) if news else records
    entries = [_entry(record, url) for record in ordered[:max_entries]]
    first = records[0] if records else None
    parts = urlsplit(url)
    site_url = f"{parts.scheme}://{parts.netloc}/"
    if children and not records:
        return ParsedSitemap(
            format=SITEMAP_INDEX_FORMAT,
            site_url=site_url,
            sitemaps=children,
            warning=warning or f"a sitemap index of {len(children)} sitemaps, not a sitemap",
        )
    return ParsedSitemap(
        format=NEWS_SITEMAP_FORMAT if news else SITEMAP_FORMAT,
        title=first.publication if first else None,
        site_url=site_url,
        language=first.language if first else None,
        entries=entries,
        total_entries=len(records),
        warning=warning,
    )


def _entry(record: SitemapRecord, feed_url: str) -> Entry:
    return Entry(
        feed_url=feed_url,
        link=record.loc,
        title=record.title,
        # A plain sitemap's lastmod is when the page changed, not when it was published.
        published=record.published,
        language=record.language,
    )


def in_range(date: str | None, since: str, until: str | None) -> bool:
    """Whether a normalised date falls on a day from ``since`` to ``until`` (YYYY-MM-DD, both
    included; no ``until``: up to now)."""
    if not date:
        return False
    day = date[:10]
    return day >= since and (until is None or day <= until)


def read_sitemap(
    body: bytes,
    url: str,
    since: str,
    until: str | None,
    max_bytes: int = MAX_BYTES,
    max_urls: int = MAX_URLS,
) -> SitemapRead | FeedParseError:
    """One file of a backfill: its child sitemaps, and its URLs dated in the range (by their
    publication date, else their ``lastmod``). For a worker: the error is returned."""
    result = SitemapRead(format=SITEMAP_FORMAT)
    try:
        for record in iter_sitemap(body, url, max_bytes=max_bytes, max_urls=max_urls):
            if isinstance(record, str):
                result.warning = record
            elif record.kind == "sitemap":
                result.format = SITEMAP_INDEX_FORMAT
                result.sitemaps.append((record.loc, record.lastmod))
            else:
                result.urls += 1
                if record.title or record.published:
                    result.format = NEWS_SITEMAP_FORMAT
                if in_range(record.published or record.lastmod, since, until):
                    result.entries.append(_entry(record, url))
    except FeedParseError as exc:
        return exc
    return result


def sitemaps_in_robots(text: str, base: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt, as absolute URLs, in order, without repeats."""
    found: list[str] = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        value = value.split("#", 1)[0].strip()
        if sep and name.strip().lower() == "sitemap" and value:
            try:
                found.append(urljoin(base, value))
            except ValueError:
                continue
    return list(dict.fromkeys(found))
