"""Feed autodiscovery: from a feed URL or a site URL to the site's feed.

A page's ``<link rel="alternate">`` of RSS, Atom or JSON Feed type come first, in page order,
then common feed paths. Every candidate is fetched and must parse as a feed. ``newsmon feeds
add`` runs it (``pipeline.api.discover_feed``), which keeps the best feed it yields.

Settings: none of its own. Its ``custom_settings`` drop the project's item pipelines and
extensions, and of the downloader middlewares keep only the address guard, which reads
``NEWSMON_ALLOW_PRIVATE``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse

from pipeline.exceptions import FeedParseError
from pipeline.net.failures import describe, error_of, failure_status
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


@dataclass
class FoundFeed:
    url: str
    title: str | None
    rank: int  # lower is better: the order in which the site offers it


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
        if not links:  # the site names no feed: try where feeds usually are
            base = response.url if response.url.endswith("/") else response.url + "/"
            links = [urljoin(base, path) for path in COMMON_PATHS]
            links += [urljoin(response.url, "/" + path) for path in COMMON_PATHS]
        for rank, url in enumerate(dict.fromkeys(links), 1):
            yield Request(url, callback=self.check, cb_kwargs={"rank": rank}, errback=self.missed)

    def missed(self, failure: Failure) -> None:
        """A guessed path that does not exist: expected, not an error."""

    def check(self, response: Response, rank: int) -> Iterator[FoundFeed]:
        found = self.as_feed(response, rank)
        if found is not None:
            yield found

    @staticmethod
    def as_feed(response: Response, rank: int) -> FoundFeed | None:
        try:
            parsed = parse_feed_response(response)
        except FeedParseError:
            return None
        if parsed.format == "unknown" and not parsed.entries:
            return None
        return FoundFeed(response.url, parsed.title, rank)
