"""Downloader middleware that honours robots.txt ``Crawl-delay``, which Scrapy does not act on.

When a site's robots.txt is parsed (Scrapy's ``robots_parsed`` signal, after
``RobotsTxtMiddleware``), its Crawl-delay for our User-Agent is noted, capped at
``NEWSMON_MAX_CRAWL_DELAY``; requests to that site are then spaced at least that far apart.

Settings: ``NEWSMON_MAX_CRAWL_DELAY``; ``ROBOTSTXT_USER_AGENT``, else ``USER_AGENT``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import reactor
from twisted.internet.task import deferLater

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser
    from scrapy.statscollectors import StatsCollector


class CrawlDelayMiddleware:
    def __init__(self, stats: StatsCollector, user_agent: str, max_delay: float = 60.0) -> None:
        self.stats = stats
        self.user_agent = user_agent
        self.max_delay = max_delay
        self.delays: dict[str, float] = {}
        self._next_slot: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        middleware = cls(
            crawler.stats,
            settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"),
            settings.getfloat("NEWSMON_MAX_CRAWL_DELAY"),
        )
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        return middleware

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            netloc = urlparse_cached(request).netloc
            self.delays[netloc] = min(float(delay), self.max_delay)
            self.stats.inc_value("newsmon/robots/crawl_delay_sites")

    async def process_request(self, request: Request) -> None:
        netloc = urlparse_cached(request).netloc
        delay = self.delays.get(netloc)
        if not delay or request.meta.get("dont_obey_robotstxt"):
            return
        now = time.monotonic()
        start = max(now, self._next_slot.get(netloc, now))
        self._next_slot[netloc] = start + delay
        if start > now:
            self.stats.inc_value("newsmon/robots/crawl_delay_waits")
            await maybe_deferred_to_future(deferLater(reactor, start - now, lambda: None))
