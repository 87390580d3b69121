"""Downloader middleware that honours robots.txt ``Crawl-delay``, which Scrapy does not act on.

When a site's robots.txt is parsed (Scrapy's ``robots_parsed`` signal, after
``RobotsTxtMiddleware``), its Crawl-delay for our User-Agent, capped at
``NEWSMON_MAX_CRAWL_DELAY``, becomes the delay of that host's download slot, the way Scrapy
spaces requests itself (``DOWNLOAD_DELAY``, ``DOWNLOAD_SLOTS``): the slot sends its requests at
least that far apart, with no random jitter below it, and never below ``DOWNLOAD_DELAY``. The
delay is also kept in the downloader's per-slot settings, so a slot that Scrapy drops when idle
and makes again later gets it too. The site's requests are marked
``autothrottle_dont_adjust_delay``, so that AutoThrottle never lowers that delay.

A request waiting for its turn thus waits inside its slot, where it counts as the host's
download in progress, and the scheduler's queue (``pipeline.priority_queue``) hands out the
other hosts' pages first instead of more of this host's. (The middleware never holds a request:
one held there would count against ``CONCURRENT_REQUESTS`` but not in its slot, and the waits of
one site would take every concurrent request.) Pages of the site still handed out while its
robots.txt is being read, or when no other host has a request waiting, wait in the slot as well,
each holding one of ``CONCURRENT_REQUESTS`` until the slot sends it.

Slots are per host (Scrapy's slot key), so the delay applies to every scheme and port of the
host. A redirect to or from such a host is downloaded in the slot of its own host (Scrapy would
keep the slot of the request it came from). A request with ``dont_obey_robotstxt`` (robots.txt
itself) is not spaced: it is given a slot of its own (``meta["download_slot"]``, the host's key
with ``EXEMPT_SLOT_SUFFIX``) with Scrapy's defaults. A request that names its own
``download_slot`` is spaced only if that slot is the host's.

Stats: ``newsmon/robots/crawl_delay_sites`` (robots.txt files with a Crawl-delay for us) and
``newsmon/robots/crawl_delay_waits`` (requests of such a site that reached their slot when it
could not send them yet: its delay since the last request had not passed, or requests were
queued before them).

Settings: ``NEWSMON_MAX_CRAWL_DELAY``; ``ROBOTSTXT_USER_AGENT``, else ``USER_AGENT``;
``DOWNLOAD_DELAY`` (the least delay).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scrapy import Request, signals

if TYPE_CHECKING:
    from typing import Self

    from scrapy.core.downloader import Downloader
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser
    from scrapy.statscollectors import StatsCollector

# Appended to a host's slot key to make the slot of its requests that ignore robots.txt.
EXEMPT_SLOT_SUFFIX = " (dont_obey_robotstxt)"


class CrawlDelayMiddleware:
    def __init__(
        self,
        crawler: Crawler,
        stats: StatsCollector,
        user_agent: str,
        max_delay: float = 60.0,
        min_delay: float = 0.0,
    ) -> None:
        self.crawler = crawler
        self.stats = stats
        self.user_agent = user_agent
        self.max_delay = max_delay
        self.min_delay = min_delay
        # The delay of each download slot of a site whose robots.txt set a Crawl-delay.
        self.delays: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        middleware = cls(
            crawler,
            crawler.stats,
            settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"),
            settings.getfloat("NEWSMON_MAX_CRAWL_DELAY"),
            settings.getfloat("DOWNLOAD_DELAY"),
        )
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(
            middleware.request_reached_downloader, signal=signals.request_reached_downloader
        )
        return middleware

    @property
    def downloader(self) -> Downloader:
        return self.crawler.engine.downloader

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        """Give the slot of the robots.txt's host the Crawl-delay, if there is one for us."""
        crawl_delay = robotparser.crawl_delay(self.user_agent)
        if not crawl_delay:
            return
        self.stats.inc_value("newsmon/robots/crawl_delay_sites")
        downloader = self.downloader
        key = downloader.get_slot_key(Request(request.url))  # the host's, not robots.txt's own
        delay = max(min(float(crawl_delay), self.max_delay), self.min_delay)
        delay = self.delays[key] = max(delay, self.delays.get(key, 0.0))  # another scheme, port
        slot_settings = downloader.per_slot_settings.get(key, {})
        downloader.per_slot_settings[key] = {
            **slot_settings,
            "delay": max(delay, float(slot_settings.get("delay", 0.0))),
            "jitter": 0,
        }
        self._slow_down(downloader, key, delay)

    def process_request(self, request: Request) -> None:
        """Send a request of a Crawl-delay site through its host's slot, with AutoThrottle told
        not to adjust that slot's delay; one that ignores robots.txt through a slot of its own.

        Returns at once: the request waits for its turn in the slot, not here."""
        if not self.delays:
            return
        downloader = self.downloader
        key = downloader.get_slot_key(request)
        if request.meta.get("redirect_times"):  # it has the slot of the request it came from
            host_key = downloader.get_slot_key(Request(request.url))
            if host_key != key and (host_key in self.delays or key in self.delays):
                key = request.meta[downloader.DOWNLOAD_SLOT] = host_key
        delay = self.delays.get(key)
        if delay is None:
            return
        if request.meta.get("dont_obey_robotstxt"):
            request.meta[downloader.DOWNLOAD_SLOT] = key + EXEMPT_SLOT_SUFFIX
            return
        request.meta["autothrottle_dont_adjust_delay"] = True
        self._slow_down(downloader, key, delay)

    def request_reached_downloader(self, request: Request) -> None:
        """Count a request of a Crawl-delay site that its slot cannot send yet.

        Scrapy sends this signal when the request enters its slot, before the slot's queue is
        processed: the slot sends it at once only if it waits for no delay and has no request
        queued before it."""
        key = request.meta.get("download_slot")
        if key not in self.delays:
            return
        slot = self.downloader.slots.get(key)
        if slot is None:
            return
        if slot.latercall or slot.queue or slot.lastseen + slot.delay > time.monotonic():
            self.stats.inc_value("newsmon/robots/crawl_delay_waits")

    @staticmethod
    def _slow_down(downloader: Downloader, key: str, delay: float) -> None:
        """Set the delay of the slot ``key``, if it exists, to at least ``delay``, without
        jitter (a slot made later takes it from the per-slot settings)."""
        slot = downloader.slots.get(key)
        if slot is not None and (slot.delay < delay or slot.jitter):
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0
