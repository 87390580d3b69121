"""The feed spider: fetches feeds, follows their entry links, and yields what it found.

``newsmon crawl`` runs it (``scrapy crawl feeds`` too). Every feed is scheduled at once, ahead of
the pages; feeds are parsed in the crawl's worker pool (``pipeline.workers.pool``). It yields a
``FeedItem`` per feed and an ``ArticleItem`` per entry, with the downloaded page or the reason it
has none. It does no extraction and knows nothing of the database: pipelines do that.

Settings: ``NEWSMON_FEEDS``, else ``NEWSMON_FEEDS_FILE``; ``NEWSMON_MAX_ENTRIES_PER_FEED``,
``NEWSMON_MAX_URL_CHARS``, ``NEWSMON_MAX_TITLE_CHARS``, ``NEWSMON_FETCH_ARTICLES``,
``NEWSMON_ARTICLE_TIMEOUT`` (with ``DOWNLOAD_TIMEOUT``), ``NEWSMON_ARTICLE_MAXSIZE`` (with
``DOWNLOAD_MAXSIZE``), ``NEWSMON_FEED_PARSE_TIMEOUT``, ``NEWSMON_TELEGRAM_BACKFILL``; the worker
pool's, through ``crawl_workers``. A feed URL may serve a sitemap or a Telegram channel too
(``pipeline.parsing.sources``); channels are read by ``spiders.channels``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse

from pipeline import statuses
from pipeline.downloadermiddlewares.ignored_requests import FeedNotDue
from pipeline.exceptions import CallTimeout, FeedParseError, WorkerError
from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.net.failures import describe, error_of, failure_status, retry_after
from pipeline.net.urls import FETCHABLE_SCHEMES, normalize_url, scheme_of
from pipeline.parsing.feed_entries import ParsedFeed, iso_utc
from pipeline.parsing.feed_lists import FeedSource, load_feed_list
from pipeline.parsing.sources import parse_source, parse_source_or_error, source_kind
from pipeline.parsing.telegram import ParsedChannel
from pipeline.workers.pool import WorkerPool, crawl_workers
from spiders.channels import ChannelReading

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_PRIORITY = 10  # Scrapy's request priority of feeds; article pages have 0


class FeedSpider(ChannelReading, Spider):
    name = "feeds"

    def __init__(
        self,
        feeds: list[FeedSource] | None = None,
        max_entries: int = 500,
        max_url_chars: int = 2048,
        max_title_chars: int = 1000,
        fetch_articles: bool = True,
        article_timeout: float | None = None,
        article_maxsize: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.feeds = feeds or []
        self.max_entries = max_entries
        self.max_url_chars = max_url_chars
        self.max_title_chars = max_title_chars
        self.fetch_articles = fetch_articles
        # Scrapy's per-request limits for article pages (none given: the crawl's own).
        limits = {"download_timeout": article_timeout, "download_maxsize": article_maxsize}
        self.article_limits = {key: value for key, value in limits.items() if value}
        self._requested: set[str] = set()
        # Feeds are parsed in the crawl's worker processes with a time budget when it has them
        # (a hostile feed can keep feedparser's regexes busy for minutes), else in a thread.
        self.parser: WorkerPool | None = None
        self.parse_timeout = 60.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        settings = crawler.settings
        if "feeds" not in kwargs:
            kwargs["feeds"] = feeds_from_settings(settings)
        kwargs.setdefault("max_entries", settings.getint("NEWSMON_MAX_ENTRIES_PER_FEED"))
        kwargs.setdefault("max_url_chars", settings.getint("NEWSMON_MAX_URL_CHARS"))
        kwargs.setdefault("max_title_chars", settings.getint("NEWSMON_MAX_TITLE_CHARS"))
        kwargs.setdefault("fetch_articles", settings.getbool("NEWSMON_FETCH_ARTICLES"))
        kwargs.setdefault(
            "article_timeout",
            _lower_limit(
                settings.getfloat("DOWNLOAD_TIMEOUT"), settings.getfloat("NEWSMON_ARTICLE_TIMEOUT")
            ),
        )
        kwargs.setdefault(
            "article_maxsize",
            _lower_limit(
                settings.getint("DOWNLOAD_MAXSIZE"), settings.getint("NEWSMON_ARTICLE_MAXSIZE")
            ),
        )
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        spider.parser = crawl_workers(crawler)
        spider.parse_timeout = settings.getfloat("NEWSMON_FEED_PARSE_TIMEOUT")
        spider.telegram_backfill = settings.getint("NEWSMON_TELEGRAM_BACKFILL")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        """Every feed, scheduled at once.

        Scrapy reads ``start()`` only as fast as the downloader has room, so the pages of the
        first feeds read would go out while later feeds are not even scheduled yet. Scheduled,
        feeds go before any page (``FEED_PRIORITY``, and ``pipeline.priority_queue``): the pages
        come after, with every extraction worker busy from the first.
        """
        assert self.crawler.engine is not None
        requests = [self.feed_request(feed) for feed in self.feeds]
        for request in requests[:-1]:
            self.crawler.engine.crawl(request)
        for request in requests[-1:]:  # start() is an async generator, and ends with it
            yield request

    def feed_request(self, feed: FeedSource) -> Request:
        return Request(
            feed.url,
            # The workers parse feeds ahead of pages (``urgent``), too.
            priority=FEED_PRIORITY,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"feed": feed},
            dont_filter=True,
            meta={"newsmon_kind": "feed", "handle_httpstatus_list": [304]},
        )

    async def parse_feed(self, response: Response, feed: FeedSource) -> AsyncIterator[Any]:
        item = FeedItem(
            url=feed.url,
            status=statuses.OK,
            title=feed.title,
            category=feed.category,
            http_status=response.status,
            fetched_at=iso_utc(time.time()),
        )
        if response.status == 304:
            item.status = statuses.NOT_MODIFIED
            yield item
            return
        item.body_hash = hashlib.sha1(response.body).hexdigest()
        if item.body_hash == response.meta.get("newsmon_previous_hash"):
            item.status = statuses.UNCHANGED  # a server that ignores validators sent the same bytes
            yield item
            return
        item.etag = _header(response, b"ETag")
        item.last_modified = _header(response, b"Last-Modified")
        try:
            # A large feed keeps feedparser busy for long: never on the reactor thread
            # (measurements: docs/performance.md).
            parsed = await self.parse_off_reactor(response)
        except FeedParseError as exc:
            item.status, item.error = exc.reason, str(exc)
            self.logger.warning("Feed %s: %s", feed.url, exc)
            yield item
            return
        item.title = parsed.title or feed.title
        item.site_url = parsed.site_url
        item.kind = source_kind(parsed.format)
        item.entries = parsed.total_entries
        if parsed.total_entries > len(parsed.entries) and parsed.total_entries > self.max_entries:
            item.error = f"{parsed.total_entries} entries, only the first {self.max_entries} read"
        elif parsed.warning:
            item.error = f"recovered from: {parsed.warning}"[:500]
        if not parsed.entries:
            item.status = statuses.NO_ENTRIES
        yield item
        if isinstance(parsed, ParsedChannel):
            for output in self.read_channel(parsed, feed, response.meta.get("newsmon_newest_post")):
                yield output
            return
        for entry in parsed.entries:
            entry.feed_url = feed.url
            for output in self.follow_entry(entry):
                yield output

    async def parse_off_reactor(self, response: Response) -> ParsedFeed:
        args = (response.body, response.url, response_headers(response), self.max_entries)
        result = await self.off_reactor("parse_feed", parse_source_or_error, response.url, *args)
        assert isinstance(result, ParsedFeed)
        return result

    async def off_reactor(
        self, task: str, in_thread: Callable[..., Any], url: str, *args: Any
    ) -> Any:
        """The workers' ``task`` on ``args`` (``in_thread`` without workers), raising the
        FeedParseError it returns, or one for a worker that overran or failed."""
        if self.parser is None:
            result = await asyncio.to_thread(in_thread, *args)
        else:
            try:
                # Ahead of pages waiting for extraction: a feed's entries are more pages to
                # download, and a slow one should start early, not at the end of the run.
                result = await self.parser.run(task, *args, timeout=self.parse_timeout, urgent=True)
            except CallTimeout as exc:
                raise FeedParseError("parse_timeout", f"{url}: parsing stopped, {exc}") from exc
            except WorkerError as exc:
                raise FeedParseError(statuses.PARSE_ERROR, f"{url}: {exc}") from exc
        if isinstance(result, FeedParseError):
            raise result
        return result

    def follow_entry(self, entry: Entry) -> Iterator[Request | ArticleItem]:
        """Request the entry's page, or yield an item from the entry when it cannot be fetched."""
        if entry.title and len(entry.title) > self.max_title_chars:
            entry.title = entry.title[: self.max_title_chars - 1] + "…"
        link = entry.link
        if not link:
            yield ArticleItem(url=self.entry_key(entry), entry=entry, status=statuses.NO_LINK)
            return
        if len(link) > self.max_url_chars:
            yield ArticleItem(
                url=self.entry_key(entry), entry=entry, status=statuses.refused("url_too_long")
            )
            return
        if scheme_of(link) not in FETCHABLE_SCHEMES:
            yield ArticleItem(
                url=self.entry_key(entry), entry=entry, status=statuses.refused("scheme")
            )
            return
        url = normalize_url(link)
        if not self.fetch_articles:
            reason = "article pages are not fetched (NEWSMON_FETCH_ARTICLES is off)"
            yield ArticleItem(url=url, entry=entry, status=statuses.NOT_FETCHED, error=reason)
            return
        if not self.first_request_of(url):
            yield ArticleItem(url=url, entry=entry, status=statuses.SEEN)
            return
        yield self.article_request(url, entry)

    def first_request_of(self, url: str) -> bool:
        """Whether the run asks for the page at ``url`` for the first time (noted as asked)."""
        if url in self._requested:
            return False
        self._requested.add(url)
        return True

    def article_request(self, url: str, entry: Entry) -> Request:
        return Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"entry": entry},
            dont_filter=True,  # repeats are folded above, with their sightings kept
            meta={"newsmon_kind": "article", **self.article_limits},
        )

    def parse_article(self, response: Response, entry: Entry) -> Iterator[ArticleItem]:
        item = ArticleItem(
            url=normalize_url(response.url),  # after redirects
            entry=entry,
            status=statuses.FETCHED,
            http_status=response.status,
            fetched_at=iso_utc(time.time()),
            requested_urls=[normalize_url(entry.link or response.url)],
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )
        if not isinstance(response, TextResponse) or not _is_html(response):
            item.status = statuses.NOT_HTML
            item.error = f"content type {_content_type(response) or 'unknown'}"
        elif compression := _compression_of(response.body):  # never decompressed: no size to trust
            item.status = statuses.NOT_HTML
            item.error = f"{compression}-compressed body without Content-Encoding"
        else:  # decoded by the extraction worker, off the reactor thread
            item.body, item.content_type = response.body, _header(response, b"Content-Type")
        yield item

    def article_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        request = failure.request  # type: ignore[attr-defined]
        entry: Entry = request.cb_kwargs["entry"]
        error = error_of(failure)
        status, http_status = failure_status(error)
        url = normalize_url(entry.link or request.url)
        if status != statuses.SEEN:
            self.logger.info("Article %s not fetched: %s", url, status)
        yield ArticleItem(
            url=url,
            entry=entry,
            status=status,
            http_status=http_status,
            error=describe(error),
            fetched_at=iso_utc(time.time()),
            requested_urls=[url],
        )

    def feed_failed(self, failure: Failure) -> Iterator[FeedItem]:
        request = failure.request  # type: ignore[attr-defined]
        feed: FeedSource = request.cb_kwargs["feed"]
        error = error_of(failure)
        if isinstance(error, FeedNotDue):
            return  # backing off: nothing to record in this run
        status, http_status = failure_status(error)
        self.logger.warning("Feed %s failed: %s (%s)", feed.url, status, describe(error))
        yield FeedItem(
            url=feed.url,
            status=status,
            title=feed.title,
            category=feed.category,
            error=describe(error),
            http_status=http_status,
            fetched_at=iso_utc(time.time()),
            retry_after=retry_after(error),
        )

    @staticmethod
    def entry_key(entry: Entry) -> str:
        """A stable identifier for an entry that has no fetchable link."""
        basis = "\n".join([entry.feed_url, entry.guid or entry.link or entry.title or ""])
        return "urn:newsmon:entry:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()


def feeds_from_settings(settings: BaseSettings) -> list[FeedSource]:
    """The feeds to crawl: ``NEWSMON_FEEDS``, else those of ``NEWSMON_FEEDS_FILE``."""
    urls = settings.getlist("NEWSMON_FEEDS")
    if urls:
        return [FeedSource(url) for url in urls]
    return load_feed_list(settings.get("NEWSMON_FEEDS_FILE"))


def parse_feed_response(response: Response, max_entries: int = 500) -> ParsedFeed:
    """Parse a feed response (or a sitemap, a channel) from its bytes and headers (raises
    FeedParseError)."""
    return parse_source(
        response.body, response.url, response_headers(response), max_entries=max_entries
    )


def response_headers(response: Response) -> dict[str, str]:
    """The response headers with lower-case names, as feedparser takes them."""
    return {
        name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
        for name, values in response.headers.items()
    }


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1").split(";", 1)[0].strip().lower()


COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
}


def _compression_of(body: bytes) -> str | None:
    for magic, name in COMPRESSION_MAGIC.items():
        if body.startswith(magic):
            return name
    return None


def _is_html(response: TextResponse) -> bool:
    content_type = _content_type(response)
    if content_type in HTML_TYPES:
        return True
    if content_type and not content_type.endswith("xml"):
        return False
    head = response.body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


Limit = TypeVar("Limit", int, float)


def _lower_limit(crawl_limit: Limit, article_limit: Limit) -> Limit:
    """The stricter of two limits, where 0 is none (as with Scrapy's own)."""
    if crawl_limit and article_limit:
        return min(crawl_limit, article_limit)
    return crawl_limit or article_limit
