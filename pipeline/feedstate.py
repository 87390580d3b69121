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

from pipeline.db import open_db_readonly
from pipeline.feeds import iso_utc

if TYPE_CHECKING:
    import sqlite3
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class FeedNotDue(IgnoreRequest):
    """The feed is backing off after failures; it is not fetched in this run."""


class FeedStateMiddleware:
    def __init__(self, db_path: str, stats: StatsCollector) -> None:
        self.db_path = db_path
        self.stats = stats
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        middleware = cls(crawler.settings.get("NEWSMON_DB_PATH"), crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_closed(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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
        if self._conn is None:
            try:
                self._conn = open_db_readonly(self.db_path).conn
            except Exception:  # noqa: BLE001 (no database yet: nothing is known)
                return None
        row = self._conn.execute(
            "SELECT etag, last_modified, body_hash, next_due_at FROM feeds WHERE url = ?", (url,)
        ).fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None
