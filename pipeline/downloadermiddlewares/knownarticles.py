"""Downloader middleware that never downloads an article page already stored.

The check is made before the download, on the normalised URL, against ``articles.url`` and
every link already seen in ``entries``. A page whose last fetch failed for a reason that may pass
(a 5xx, a time-out, a lost connection) is tried again, up to ``NEWSMON_ARTICLE_MAX_ATTEMPTS``.
A known page raises ``KnownArticle``, which the spider records as a sighting of it.

The store keeps a link as ``normalize_url`` spells it, which may be Unicode (``entries.url``,
and ``articles.url`` of a page whose fetch failed), while ``request.url`` is that spelling made
safe by Scrapy (w3lib's ``safe_url_string``: path percent-encoded as UTF-8, host IDNA-encoded).
So both spellings are looked up, each on the indexed column: ``request.url`` as it is, and, when
it differs, its Unicode spelling (``unicode_spelling``), the one that Scrapy turns back into this
very ``request.url``. A stored spelling that mixes escapes and raw characters in one path is not
found; the spider never makes one from a link that is all raw or all escaped.

Settings: ``NEWSMON_DB_PATH``, ``NEWSMON_ARTICLE_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from w3lib.url import safe_url_string

from pipeline import statuses
from pipeline.db.connection import LazyReader
from pipeline.downloadermiddlewares.ignored_requests import KnownArticle

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

# Runs of percent-escapes as safe_url_string writes them (upper-case hex).
_ESCAPES = re.compile(r"(?:%[0-9A-F]{2})+")
# ASCII characters that safe_url_string leaves as they are in a path: their escapes were in the
# link already and stay escaped. "?" and "#" cannot appear in a path unescaped.
_KEPT_ESCAPED = frozenset(string.ascii_letters + string.digits + "-._~:/?#@!$&'()*+,;=%")


def _unescape(match: re.Match[str]) -> str:
    """A run of escapes as text, but with the escapes of characters kept as they are."""
    text = bytes.fromhex(match.group().replace("%", "")).decode("utf-8")
    return "".join(f"%{ord(char):02X}" if char in _KEPT_ESCAPED else char for char in text)


def _unicode_host(host: str) -> str:
    labels = host.split(".")
    return ".".join(
        label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
        for label in labels
    )


def unicode_spelling(url: str) -> str | None:
    """The Unicode spelling of a URL that Scrapy made safe (its path's UTF-8 escapes decoded and
    its host's IDNA labels too), or None if there is no other spelling that Scrapy would turn
    into this very ``url``."""
    if "%" not in url and "xn--" not in url:
        return None
    parts = urlsplit(url)
    try:
        path = _ESCAPES.sub(_unescape, parts.path)
        netloc = parts.netloc
        if parts.hostname and "xn--" in parts.hostname:
            host = _unicode_host(parts.hostname)
            netloc = host if parts.port is None else f"{host}:{parts.port}"
    except (UnicodeError, ValueError):
        return None
    spelling = urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
    if spelling == url or safe_url_string(spelling) != url:
        return None
    return spelling


class KnownArticlesMiddleware:
    def __init__(self, db_path: str, stats: StatsCollector, max_attempts: int = 3) -> None:
        self.stats = stats
        self.max_attempts = max_attempts
        self.reader = LazyReader(db_path)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        middleware = cls(
            settings.get("NEWSMON_DB_PATH"),
            crawler.stats,
            max_attempts=settings.getint("NEWSMON_ARTICLE_MAX_ATTEMPTS"),
        )
        crawler.signals.connect(middleware.reader.close, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get("newsmon_kind") != "article" or request.meta.get("redirect_times"):
            return
        found = False
        for url in spellings(request.url):  # the second only if the first does not decide
            known = self.stored_status(url)
            if known is None:
                continue
            found = True
            status, attempts = known
            if is_final(status, attempts, self.max_attempts):
                self.stats.inc_value("newsmon/articles/known")
                raise KnownArticle(f"{request.url} is stored already ({status})")
        if found:
            self.stats.inc_value("newsmon/articles/retried")

    def stored_status(self, url: str) -> tuple[str, int | None] | None:
        """The status and attempts of the article stored under ``url``, or of the article of an
        entry whose link is ``url``; None if there is neither."""
        row = self.reader.fetchone(
            "SELECT status, attempts FROM articles WHERE url = ? UNION ALL "
            "SELECT a.status, a.attempts FROM entries e JOIN articles a ON a.id = e.article_id "
            "WHERE e.url = ? LIMIT 1",
            (url, url),
        )
        return (row[0], row[1]) if row else None


def is_final(status: str, attempts: int | None, max_attempts: int) -> bool:
    """Whether a page stored with ``status`` after ``attempts`` fetches is not to be fetched
    again: stored with its text or refused for good, or tried ``max_attempts`` times."""
    return not statuses.may_pass(status) or (attempts or 1) >= max_attempts


def spellings(url: str) -> Iterator[str]:
    """``url`` as Scrapy sends it, then its Unicode spelling if it has another."""
    yield url
    other = unicode_spelling(url)
    if other is not None:
        yield other
