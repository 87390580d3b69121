"""Reading feed lists: OPML 2.0 (as feed readers export it) or plain text, one URL per line.

A Telegram channel may be listed as ``@NAME`` or ``https://t.me/NAME``: it is read as its
preview page, ``https://t.me/s/NAME`` (``pipeline.parsing.telegram``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from pipeline.exceptions import FeedListError
from pipeline.net.urls import FETCHABLE_SCHEMES, scheme_of
from pipeline.parsing.telegram import channel_feed_url


@dataclass(frozen=True)
class FeedSource:
    url: str
    title: str | None = None
    category: str | None = None
    kind: str | None = None  # feed, sitemap or telegram, when known (pipeline.parsing.sources)


def load_feed_list(path: str | Path) -> list[FeedSource]:
    """Read a feed list file, OPML or plain text, and return its feeds without repeats."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedListError(f"cannot read feed list {path}: {exc.strerror or exc}") from exc
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if head.startswith(b"<"):
        if b"<opml" not in data[:4096].lower():
            raise FeedListError(f"{path}: XML but not OPML (expected an <opml> document)")
        feeds = parse_opml(data, str(path))
    else:
        feeds = parse_plain_list(data, str(path))
    return _unique(feeds)


def parse_opml(data: bytes, name: str = "<opml>") -> list[FeedSource]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedListError(f"{name}: not well-formed OPML: {exc}") from exc
    if root.tag != "opml":
        raise FeedListError(f"{name}: root element is <{root.tag}>, expected <opml>")
    body = root.find("body")
    if body is None:
        raise FeedListError(f"{name}: OPML has no <body>")
    feeds: list[FeedSource] = []

    def walk(outline: etree._Element, folders: list[str]) -> None:
        url = (outline.get("xmlUrl") or "").strip()
        label = outline.get("title") or outline.get("text")
        if url:
            category = outline.get("category") or "/".join(folders) or None
            feeds.append(FeedSource(_check_url(url, name), label, category))
            return
        for child in outline.findall("outline"):
            walk(child, [*folders, label] if label else folders)

    for outline in body.findall("outline"):
        walk(outline, [])
    if not feeds:
        raise FeedListError(f"{name}: OPML lists no feeds (no outline has an xmlUrl)")
    return feeds


def parse_plain_list(data: bytes, name: str = "<list>") -> list[FeedSource]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedListError(f"{name}: a plain feed list must be UTF-8 text ({exc})") from exc
    feeds = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        if not line:
            continue
        if " " in line or "\t" in line:
            raise FeedListError(f"{name}:{number}: expected one URL per line, got {line[:80]!r}")
        feeds.append(FeedSource(_check_url(line, f"{name}:{number}")))
    if not feeds:
        raise FeedListError(f"{name}: no feed URLs found")
    return feeds


def _check_url(url: str, where: str) -> str:
    channel = channel_feed_url(url) if url.startswith("@") or "t.me/" in url else None
    if channel:
        return channel
    if scheme_of(url) not in FETCHABLE_SCHEMES:
        raise FeedListError(f"{where}: not an http(s) feed URL: {url[:200]!r}")
    return url


def _unique(feeds: list[FeedSource]) -> list[FeedSource]:
    seen: set[str] = set()
    unique = []
    for feed in feeds:
        if feed.url not in seen:
            seen.add(feed.url)
            unique.append(feed)
    return unique
