"""The backfill spider: a site's pages of a range of days, found in its sitemaps.

``newsmon backfill`` runs it (``scrapy crawl backfill -a site=URL -a since=DATE`` too), through
the same machinery as ``newsmon crawl``: the database lock, the downloader middlewares (known
pages are never requested again, robots.txt, the address guard), the pipelines (extraction,
dedup and stories, the store) and the run log. It reads the site's robots.txt for its
``Sitemap:`` lines (else tries the usual paths), walks the sitemap indexes they lead to, nested
and gzipped, and requests every page whose publication date (news sitemaps), else ``lastmod``,
falls in the range, as the feed spider requests a feed entry's page.

Sitemaps are read as streams in the worker pool (``pipeline.parsing.sitemaps.read_sitemap``),
with their size and URL count bounded; a child sitemap whose ``lastmod`` is before the range is
not read; a sitemap on another host is read only if robots.txt names it (``www.`` or not is the
same host), and a page listed on another host than the site's or such a sitemap's is not
requested. The pages are stored
as entries of ``feed_url`` (``pipeline.extensions.backfillsource`` lists it, out of the crawl's
feed list).

Settings: ``NEWSMON_SITEMAP_MAX_FILES``, ``NEWSMON_SITEMAP_MAX_BYTES``,
``NEWSMON_SITEMAP_MAX_URLS``, ``NEWSMON_SITEMAP_MAX_DEPTH``, and the feed spider's. Stats:
``newsmon/sitemaps/read``, ``newsmon/sitemaps/failed``, ``newsmon/sitemaps/refused``,
``newsmon/sitemaps/skipped``, ``newsmon/backfill/in_range``, ``newsmon/backfill/over_limit``,
``newsmon/backfill/off_site``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from pipeline import settings as project_settings
from pipeline.exceptions import FeedParseError
from pipeline.items import ArticleItem
from pipeline.net.failures import describe, error_of, failure_status
from pipeline.parsing.sitemaps import SitemapRead, read_sitemap, sitemaps_in_robots
from spiders.feeds import FEED_PRIORITY, FeedSpider

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

# Where sitemaps usually are when robots.txt names none.
USUAL_PATHS = ("/sitemap_index.xml", "/sitemap.xml", "/news-sitemap.xml", "/sitemap-news.xml")


class BackfillSpider(FeedSpider):
    name = "backfill"
    custom_settings = {  # noqa: RUF012 (Scrapy's own convention)
        "EXTENSIONS": {
            **project_settings.EXTENSIONS,
            "pipeline.extensions.progress.Progress": None,
            "pipeline.extensions.backfillprogress.BackfillProgress": 600,
            "pipeline.extensions.backfillsource.BackfillSource": 10,
        }
    }

    def __init__(
        self,
        site: str = "",
        since: str = "",
        until: str | None = None,
        max_pages: int | str = 0,
        feed_url: str | None = None,
        max_files: int = project_settings.NEWSMON_SITEMAP_MAX_FILES,
        max_bytes: int = project_settings.NEWSMON_SITEMAP_MAX_BYTES,
        max_urls: int = project_settings.NEWSMON_SITEMAP_MAX_URLS,
        max_depth: int = project_settings.NEWSMON_SITEMAP_MAX_DEPTH,
        **kwargs: Any,
    ) -> None:
        kwargs["feeds"] = []
        super().__init__(**kwargs)
        if not site or not since:
            raise ValueError(
                "the backfill spider needs a site and a first day (-a site= -a since=)"
            )
        parts = urlsplit(site)
        self.site = f"{parts.scheme}://{parts.netloc}/"
        self.host = (parts.hostname or "").lower()
        # The site's hosts (www. or not), and those of the sitemaps robots.txt names.
        self.hosts = {_bare(self.host)}
        self.since = since
        self.until = until or None
        self.max_pages = int(max_pages or 0)
        self.feed_url = feed_url or self.site
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.max_urls = max_urls
        self.max_depth = max_depth
        self.named: set[str] = set()  # sitemaps robots.txt names: read on any host
        self.requested_sitemaps: set[str] = set()
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        settings = crawler.settings
        kwargs["feeds"] = []
        kwargs.setdefault("max_files", settings.getint("NEWSMON_SITEMAP_MAX_FILES"))
        kwargs.setdefault("max_bytes", settings.getint("NEWSMON_SITEMAP_MAX_BYTES"))
        kwargs.setdefault("max_urls", settings.getint("NEWSMON_SITEMAP_MAX_URLS"))
        kwargs.setdefault("max_depth", settings.getint("NEWSMON_SITEMAP_MAX_DEPTH"))
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        yield Request(
            urljoin(self.site, "/robots.txt"),
            callback=self.parse_robots,
            errback=self.robots_failed,
            priority=FEED_PRIORITY,
            dont_filter=True,
            meta={"newsmon_kind": "sitemap", "dont_retry": True},
        )

    def parse_robots(self, response: Response) -> Iterator[Request]:
        text = response.text if isinstance(response, TextResponse) else ""
        named = sitemaps_in_robots(text, response.url) if response.status == 200 else []
        self.named.update(named)
        self.hosts.update(_bare(urlsplit(url).hostname or "") for url in named)
        if named:
            self.logger.info("Backfill of %s: robots.txt names %d sitemaps", self.site, len(named))
        yield from self.first_sitemaps(named)

    def robots_failed(self, failure: Failure) -> Iterator[Request]:
        yield from self.first_sitemaps([])

    def first_sitemaps(self, named: list[str]) -> Iterator[Request]:
        guessed = not named
        for url in named or [urljoin(self.site, path) for path in USUAL_PATHS]:
            request = self.sitemap_request(url, depth=0, guessed=guessed)
            if request is not None:
                yield request

    def sitemap_request(self, url: str, depth: int, guessed: bool = False) -> Request | None:
        """The request of a sitemap, or None: read already, too many, too deep, or off the
        site's host without robots.txt naming it."""
        if url in self.requested_sitemaps:
            return None
        if not self.on_site(url) and url not in self.named:
            self._count("newsmon/sitemaps/refused")
            self.logger.warning(
                "Backfill: sitemap %s is off %s and not in robots.txt", url, self.host
            )
            return None
        if depth > self.max_depth or len(self.requested_sitemaps) >= self.max_files:
            self._count("newsmon/sitemaps/refused")
            self.logger.warning(
                "Backfill: sitemap %s not read (more than %d files or %d levels)",
                url,
                self.max_files,
                self.max_depth,
            )
            return None
        self.requested_sitemaps.add(url)
        return Request(
            url,
            callback=self.parse_sitemap_file,
            errback=self.sitemap_failed,
            priority=FEED_PRIORITY,
            dont_filter=True,
            cb_kwargs={"depth": depth, "guessed": guessed},
            meta={"newsmon_kind": "sitemap"},
        )

    async def parse_sitemap_file(
        self, response: Response, depth: int, guessed: bool
    ) -> AsyncIterator[Request | ArticleItem]:
        try:
            read = await self.read_off_reactor(response)
        except FeedParseError as exc:
            if not guessed:
                self._count("newsmon/sitemaps/failed")
                self.logger.warning("Backfill: sitemap %s: %s", response.url, exc)
            return
        self._count("newsmon/sitemaps/read")
        if read.warning:
            self.logger.warning("Backfill: sitemap %s: %s", response.url, read.warning)
        for child, lastmod in read.sitemaps:
            if lastmod and lastmod[:10] < self.since:
                self._count("newsmon/sitemaps/skipped")  # changed last before the range
                continue
            request = self.sitemap_request(child, depth + 1)
            if request is not None:
                yield request
        for entry in read.entries:
            if not self.on_site(entry.link or ""):  # sitemaps list their own site's pages only
                self._count("newsmon/backfill/off_site")
                continue
            self._count("newsmon/backfill/in_range")
            if self.max_pages and self.pages >= self.max_pages:
                self._count("newsmon/backfill/over_limit")
                continue
            self.pages += 1
            entry.feed_url = self.feed_url
            for output in self.follow_entry(entry):
                yield output

    def on_site(self, url: str) -> bool:
        """Whether ``url`` is on the site (with or without ``www.``) or on the host of a sitemap
        robots.txt names."""
        return _bare(urlsplit(url).hostname or "") in self.hosts

    async def read_off_reactor(self, response: Response) -> SitemapRead:
        args = (response.body, response.url, self.since, self.until, self.max_bytes, self.max_urls)
        result = await self.off_reactor("read_sitemap", read_sitemap, response.url, *args)
        assert isinstance(result, SitemapRead)
        return result

    def sitemap_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        error = error_of(failure)
        status, _ = failure_status(error)
        if request.cb_kwargs.get("guessed") and isinstance(error, HttpError):
            return  # a usual path the site does not use
        self._count("newsmon/sitemaps/failed")
        self.logger.warning(
            "Backfill: sitemap %s failed: %s (%s)", request.url, status, describe(error)
        )


def _bare(host: str) -> str:
    return host.lower().removeprefix("www.")
