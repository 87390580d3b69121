"""Downloader middleware for feed requests: skip feeds not yet due, send conditional GETs.

A feed that failed is not fetched again before its back-off ends (``feeds.next_due_at``). A due
feed is requested with ``If-None-Match``/``If-Modified-Since`` from its last complete fetch, and
the body hash of that fetch travels in ``meta`` so the spider can tell an unchanged body from
servers that ignore validators.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from pipeline.db.connection import LazyReader
from pipeline.parsing.feed_entries import iso_utc

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class FeedNotDue(IgnoreRequest):
    """The feed is backing off after failures; it is not fetched in this run."""


class FeedStateMiddleware:
    def __init__(self, db_path: str, stats: StatsCollector) -> None:
        self.stats = stats
        self.reader = LazyReader(db_path)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        middleware = cls(crawler.settings.get("NEWSMON_DB_PATH"), crawler.stats)
        crawler.signals.connect(middleware.reader.close, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get("newsmon_kind") != "feed" or request.meta.get("newsmon_state_done"):
            return
        request.meta["newsmon_state_done"] = True  # retries and redirects keep what we set
        row = self.feed_row(request.url)
        if row is None:
            return
        etag, last_modified, body_hash, next_due_at = row
        if next_due_at and next_due_at > iso_utc(time.time()):
            self.stats.inc_value("newsmon/feeds/not_due")
            raise FeedNotDue(f"feed {request.url} backs off until {next_due_at}")
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if last_modified:
            request.headers.setdefault(b"If-Modified-Since", last_modified)
        if body_hash:
            request.meta["newsmon_previous_hash"] = body_hash

    def feed_row(self, url: str) -> tuple[str | None, str | None, str | None, str | None] | None:
        row = self.reader.fetchone(
            "SELECT etag, last_modified, body_hash, next_due_at FROM feeds WHERE url = ?", (url,)
        )
        return (row[0], row[1], row[2], row[3]) if row else None
