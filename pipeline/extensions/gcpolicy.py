"""Extension that has the crawl process collect cyclic garbage less often, and reports the cost.

The crawl process holds hundreds of thousands of objects: queued requests, the state of every host.
With CPython's default thresholds (700, 10, 10), every 700 new container objects start a young
collection, whatever survives a few of them is promoted, and the promotions set off full
collections of the whole heap. Each full collection holds up the reactor while the extraction
workers wait for their next page (measurements: docs/performance.md).

A larger first threshold lets short-lived objects (a response, an item, a Deferred chain) die
before any collection sees them, so almost nothing is promoted and full collections become
rare. Cycles are still collected young: the first generation is scanned after every
``NEWSMON_GC_THRESHOLD[0]`` new containers. The thresholds are set when the spider opens, and
those in force until then are restored when it closes.

Settings: ``NEWSMON_GC_THRESHOLD`` (empty: the extension is off). Stats:
``newsmon/gc/collections/generation_<n>``, ``newsmon/gc/seconds``, ``newsmon/gc/longest_ms``.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class GarbageCollectionPolicy:
    def __init__(self, stats: StatsCollector, thresholds: tuple[int, ...]) -> None:
        if not thresholds:
            raise NotConfigured("NEWSMON_GC_THRESHOLD is empty")
        if len(thresholds) != 3 or thresholds[0] < 1:
            raise ValueError(f"NEWSMON_GC_THRESHOLD: three counts, the first over 0: {thresholds}")
        self.stats = stats
        self.thresholds = thresholds
        self.collections = [0, 0, 0]
        self.seconds = 0.0
        self.longest = 0.0
        self._started = 0.0
        self._saved: tuple[int, ...] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        thresholds = tuple(int(v) for v in crawler.settings.getlist("NEWSMON_GC_THRESHOLD"))
        extension = cls(crawler.stats, thresholds)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self._saved = gc.get_threshold()
        gc.set_threshold(*self.thresholds)
        gc.callbacks.append(self._time_collection)

    def spider_closed(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.callbacks.remove(self._time_collection)
        for generation, count in enumerate(self.collections):
            self.stats.set_value(f"newsmon/gc/collections/generation_{generation}", count)
        self.stats.set_value("newsmon/gc/seconds", round(self.seconds, 2))
        self.stats.set_value("newsmon/gc/longest_ms", round(self.longest * 1000, 1))

    def _time_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.collections[info["generation"]] += 1
        self.seconds += took
        self.longest = max(self.longest, took)
