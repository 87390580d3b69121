"""Extension that shows a crawl's progress on an interactive terminal (``NEWSMON_PROGRESS``).

Twice a second it rewrites one line on stderr, from the stats: feeds done (of how many),
articles stored, articles known, errors. ``newsmon crawl`` switches it on when stderr is a
terminal.

Settings: ``NEWSMON_PROGRESS`` (unless it is set, the extension is off), ``NEWSMON_FEEDS_TOTAL``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class Progress:
    def __init__(self, stats: StatsCollector, feeds_total: int, out: TextIO = sys.stderr) -> None:
        self.stats = stats
        self.feeds_total = feeds_total
        self.out = out
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSMON_PROGRESS"):
            raise NotConfigured("progress is shown on terminals only")
        assert crawler.stats is not None
        extension = cls(crawler.stats, crawler.settings.getint("NEWSMON_FEEDS_TOTAL"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self._loop = task.LoopingCall(self.show)
        self._loop.start(0.5)

    def line(self) -> str:
        value = self.stats.get_value
        feeds_done = value("newsmon/feeds/ok", 0) + value("newsmon/feeds/failed", 0)
        feeds_done += value("newsmon/feeds/not_due", 0)
        total = f"/{self.feeds_total}" if self.feeds_total else ""
        errors = value("newsmon/feeds/failed", 0) + value("log_count/ERROR", 0)
        return (
            f"feeds {feeds_done}{total} · articles {value('newsmon/articles/status/ok', 0)} stored,"
            f" {value('newsmon/articles/known', 0)} known · errors {errors}"
        )

    def show(self) -> None:
        self.out.write("\r\x1b[2K" + self.line())
        self.out.flush()

    def spider_closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.show()
        self.out.write("\n")
        self.out.flush()
