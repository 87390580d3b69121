"""Feed autodiscovery: from a feed URL or a site URL to the site's feed.

A page's ``<link rel="alternate">`` of RSS, Atom or JSON Feed type come first, in page order,
then common feed paths. A site that names no feed is also searched for sitemaps: those its
robots.txt names (``Sitemap:``), then ``/news-sitemap.xml`` and ``/sitemap.xml``; a sitemap
index leads to its sitemaps (news ones first). Every candidate is fetched and must parse as a
feed or a sitemap; a news sitemap ranks before a plain one, and any feed before both. ``newsmon
feeds add`` runs it (``pipeline.api.discover_feed``), which keeps the best feed it yields.

Settings: none of its own. Its ``custom_settings`` drop the project's item pipelines and
extensions, and of the downloader middlewares keep only the address guard, which reads
``NEWSMON_ALLOW_PRIVATE``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse

from pipeline.exceptions import FeedParseError
from pipeline.net.failures import describe, error_of, failure_status
from pipeline.parsing.feed_entries import ParsedFeed
from pipeline.parsing.sitemaps import (
    NEWS_SITEMAP_FORMAT,
    SITEMAP_INDEX_FORMAT,
    ParsedSitemap,
    sitemaps_in_robots,
)
from pipeline.parsing.sources import FEED, SITEMAP, source_kind
from spiders.feeds import parse_feed_response

if TYPE_CHECKING:
    from twisted.python.failure import Failure

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "text/xml",
        "application/xml",
    }
)
COMMON_PATHS = ("feed", "rss", "rss.xml", "feed.xml", "atom.xml", "index.xml", "feed.json")
SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap.xml")
SITEMAP_RANK = 1000  # sitemaps rank after any feed ...
PLAIN_SITEMAP_RANK = 2000  # ... and plain sitemaps after news sitemaps
INDEX_CHILDREN = 10  # the sitemaps of an index that are looked at


@dataclass
class FoundFeed:
    url: str
    title: str | None
    rank: int  # lower is better: the order in which the site offers it
    kind: str = FEED  # feed, sitemap or telegram (pipeline.parsing.sources)


class DiscoverSpider(Spider):
    name = "discover"
    # These dicts replace the project's: discovery stores nothing, and of our middlewares keeps
    # only the address guard.
    custom_settings = {  # noqa: RUF012 (Scrapy's own convention)
        "ITEM_PIPELINES": {},
        "EXTENSIONS": {},
        "DOWNLOADER_MIDDLEWARES": {
            "pipeline.downloadermiddlewares.addressguard.AddressGuardMiddleware": 50
        },
        "LOG_LEVEL": "WARNING",
    }

    def __init__(self, url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.failure: str | None = None  # why the page itself could not be fetched

    async def start(self) -> AsyncIterator[Request]:
        yield Request(
            self.url, callback=self.parse_page, errback=self.page_failed, dont_filter=True
        )

    def page_failed(self, failure: Failure) -> None:
        """The page given could not be fetched: its status and reason, for the user."""
        error = error_of(failure)
        status, http_status = failure_status(error)
        self.failure = status if http_status else f"{status} ({describe(error)})"

    def parse_page(self, response: Response) -> Iterator[FoundFeed | Request]:
        found = self.as_feed(response, rank=0)
        if found is not None:
            yield found
            return
        links = []
        if isinstance(response, TextResponse):
            for link in response.xpath("//link[@href]"):
                rel = (link.attrib.get("rel") or "").lower().split()
                kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
                if "alternate" in rel and kind in FEED_TYPES:
                    links.append(response.urljoin(link.attrib["href"]))
        found_links = bool(links)
        if not links:  # the site names no feed: try where feeds usually are
            base = response.url if response.url.endswith("/") else response.url + "/"
            links = [urljoin(base, path) for path in COMMON_PATHS]
            links += [urljoin(response.url, "/" + path) for path in COMMON_PATHS]
        for rank, url in enumerate(dict.fromkeys(links), 1):
            yield self.candidate(url, rank)
        if not found_links:
            yield Request(
                urljoin(response.url, "/robots.txt"),
                callback=self.parse_robots,
                errback=self.missed,
                dont_filter=True,
            )
            for rank, path in enumerate(SITEMAP_PATHS, SITEMAP_RANK + 100):
                yield self.candidate(urljoin(response.url, path), rank)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """The sitemaps robots.txt names, ranked in its order."""
        if not isinstance(response, TextResponse) or response.status != 200:
            return
        for rank, url in enumerate(sitemaps_in_robots(response.text, response.url), SITEMAP_RANK):
            yield self.candidate(url, rank)

    def candidate(self, url: str, rank: int) -> Request:
        """The request of a URL that may be a feed or a sitemap, ranked ``rank``."""
        return Request(url, callback=self.check, cb_kwargs={"rank": rank}, errback=self.missed)

    def missed(self, failure: Failure) -> None:
        """A guessed path that does not exist: expected, not an error."""

    def check(self, response: Response, rank: int) -> Iterator[FoundFeed | Request]:
        try:
            parsed = parse_feed_response(response)
        except FeedParseError:
            return
        if isinstance(parsed, ParsedSitemap) and parsed.format == SITEMAP_INDEX_FORMAT:
            host = urlsplit(response.url).hostname
            children = [url for url in parsed.sitemaps if urlsplit(url).hostname == host]
            children.sort(key=lambda url: "news" not in url.lower())
            for url in children[:INDEX_CHILDREN]:
                yield self.candidate(url, rank)
            return
        found = self.found(response.url, parsed, rank)
        if found is not None:
            yield found

    @staticmethod
    def as_feed(response: Response, rank: int) -> FoundFeed | None:
        try:
            parsed = parse_feed_response(response)
        except FeedParseError:
            return None
        return DiscoverSpider.found(response.url, parsed, rank)

    @staticmethod
    def found(url: str, parsed: ParsedFeed, rank: int) -> FoundFeed | None:
        if parsed.format in ("unknown", SITEMAP_INDEX_FORMAT) and not parsed.entries:
            return None
        kind = source_kind(parsed.format)
        if kind == SITEMAP and rank >= SITEMAP_RANK and parsed.format != NEWS_SITEMAP_FORMAT:
            rank += PLAIN_SITEMAP_RANK - SITEMAP_RANK
        return FoundFeed(url, parsed.title, rank, kind)
