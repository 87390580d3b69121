"""Extension that shows a crawl's progress on an interactive terminal (``NEWSMON_PROGRESS``).

Twice a second it rewrites one line on stderr, from the stats: feeds done (of how many),
requests waiting, articles stored and known, failures, the stories decided after the page
phase, and the time elapsed. ``newsmon crawl``
switches it on when stderr is a terminal, and sends the log to a file, so that the line is the
only thing written there until the crawl's summary.

Settings: ``NEWSMON_PROGRESS`` (unless it is set, the extension is off), ``NEWSMON_FEEDS_TOTAL``.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from pipeline import statuses

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class Progress:
    def __init__(self, stats: StatsCollector, feeds_total: int, out: TextIO = sys.stderr) -> None:
        self.stats = stats
        self.feeds_total = feeds_total
        self.out = out
        self.started = 0.0  # when the spider opened
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSMON_PROGRESS"):
            raise NotConfigured  # progress is for terminals: nothing to say about it
        assert crawler.stats is not None
        extension = cls(crawler.stats, crawler.settings.getint("NEWSMON_FEEDS_TOTAL"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self._loop = task.LoopingCall(self.show)
        self._loop.start(0.5)

    def head(self) -> str:
        """The line's first part: the feeds read of all."""
        value = self.stats.get_value
        feeds_done = value("newsmon/feeds/ok", 0) + value("newsmon/feeds/failed", 0)
        feeds_done += value("newsmon/feeds/not_due", 0)
        total = f"/{self.feeds_total}" if self.feeds_total else ""
        return f"feeds {feeds_done}{total}"

    def line(self) -> str:
        value = self.stats.get_value
        article_statuses = statuses.counts_in_stats(self.stats.get_stats(), "articles")
        failed = value("newsmon/feeds/failed", 0) + sum(
            count for status, count in article_statuses.items() if statuses.is_failure(status)
        )
        waiting = value("scheduler/enqueued", 0) - value("scheduler/dequeued", 0)
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        # After the page phase, the stories phase (pipeline/pipelines/story_phase.py).
        stories = value("newsmon/stories/decided")
        return (
            f"{self.head()} · {waiting} waiting · articles "
            f"{article_statuses.get(statuses.OK, 0)} stored, "
            f"{value('newsmon/articles/known', 0)} known · {failed} failed · "
            + (f"stories {stories} decided · " if stories is not None else "")
            + f"{minutes}:{seconds:02d}"
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
