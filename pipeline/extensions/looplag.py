"""Extension that measures how long the reactor is kept from running (the cost of blocking work).

A timer is due every ``NEWSMON_LOOPLAG_INTERVAL`` seconds; the delay with which it actually runs
is how long downloads were stalled. Reported when the spider closes, before ``RunLog`` records
the stats, as ``newsmon/reactor/max_lag_ms`` and a count of stalls over 100 ms
(``newsmon/reactor/stalls_over_100ms``).

Settings: ``NEWSMON_LOOPLAG_INTERVAL`` (0: the extension is off).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

STALL_MS = 100


class LoopLag:
    def __init__(self, stats: StatsCollector, interval: float) -> None:
        if interval <= 0:
            raise NotConfigured("NEWSMON_LOOPLAG_INTERVAL is 0")
        self.stats = stats
        self.interval = interval
        self.max_lag_ms = 0.0
        self.stalls = 0
        self._expected = 0.0
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        extension = cls(crawler.stats, crawler.settings.getfloat("NEWSMON_LOOPLAG_INTERVAL", 0.05))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self._expected = time.monotonic() + self.interval
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.interval, now=False)

    def _tick(self) -> None:
        now = time.monotonic()
        lag_ms = max(0.0, (now - self._expected) * 1000)
        self.max_lag_ms = max(self.max_lag_ms, lag_ms)
        if lag_ms > STALL_MS:
            self.stalls += 1
        self._expected = now + self.interval

    def spider_closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.stats.set_value("newsmon/reactor/max_lag_ms", round(self.max_lag_ms, 1))
        self.stats.set_value("newsmon/reactor/stalls_over_100ms", self.stalls)
