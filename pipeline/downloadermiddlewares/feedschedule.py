"""The feed schedule: when each feed is due, and the validators of its last complete fetch.

``FeedScheduleMiddleware`` (downloader middleware) skips a feed not yet due: one that failed is
not fetched again before its back-off ends (``feeds.next_due_at``). A due feed is requested with
``If-None-Match``/``If-Modified-Since`` from its last complete fetch, and the body hash of that
fetch travels in ``meta`` so the spider can tell an unchanged body from servers that ignore
validators. ``FeedSchedule`` writes these columns of ``feeds`` (``consecutive_failures``,
``next_due_at``, ``retry_after``, ``etag``, ``last_modified``, ``body_hash`` and their ``next_``
versions), in the store's transaction.

Settings: ``NEWSMON_DB_PATH``; ``NEWSMON_FORCE`` (every feed is due: ``newsmon crawl --force``);
``NEWSMON_FEED_MIN_INTERVAL``, ``NEWSMON_FEED_BACKOFF_BASE`` and
``NEWSMON_FEED_BACKOFF_MAX`` (read by the store for its ``FeedSchedule``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy import signals

from pipeline import statuses
from pipeline.db.connection import LazyReader
from pipeline.downloadermiddlewares.ignored_requests import FeedNotDue
from pipeline.parsing.feed_entries import iso_utc

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.items import FeedItem

logger = logging.getLogger(__name__)


class FeedScheduleMiddleware:
    def __init__(self, db_path: str, stats: StatsCollector, force: bool = False) -> None:
        self.stats = stats
        self.reader = LazyReader(db_path)
        self.force = force

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        middleware = cls(
            settings.get("NEWSMON_DB_PATH"), crawler.stats, settings.getbool("NEWSMON_FORCE")
        )
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
        if next_due_at and next_due_at > iso_utc(time.time()) and not self.force:
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


@dataclass(frozen=True)
class FeedSchedule:
    """When a feed is due again: after ``min_interval`` if healthy, else after a back-off that
    doubles with each consecutive failure, and never before a server's ``Retry-After``.

    Its ``record``, ``forget_unconfirmed`` and ``confirm`` write the schedule's columns of
    ``feeds``; the store calls them inside its own transactions.
    """

    min_interval: float = 0.0
    backoff_base: float = 300.0
    backoff_max: float = 24 * 3600.0

    def next_due(self, now: float, failures: int, retry_after: float | None = None) -> float | None:
        wait = self.min_interval
        if failures:
            wait = min(self.backoff_base * 2 ** (failures - 1), self.backoff_max)
        wait = max(wait, retry_after or 0.0)
        return now + wait if wait > 0 else None

    def record(self, db: Database, item: FeedItem, now: float) -> None:
        """Note a fetch of the feed (whose row exists): its failures, when it is due, and the
        validators to confirm once the crawl has stored every entry."""
        (failures,) = db.execute(
            "SELECT coalesce(consecutive_failures, 0) FROM feeds WHERE url = ?", (item.url,)
        ).fetchone()
        failures = 0 if item.status in statuses.HEALTHY_FEED_STATUSES else failures + 1
        due = self.next_due(now, failures, item.retry_after)
        body_hash = item.body_hash if item.status in statuses.READ_FEED_STATUSES else None
        db.execute(
            """
            UPDATE feeds SET
                consecutive_failures = :failures,
                next_due_at = :due,
                retry_after = :retry_after,
                next_etag = coalesce(:etag, next_etag),
                next_last_modified = coalesce(:last_modified, next_last_modified),
                next_body_hash = coalesce(:body_hash, next_body_hash)
            WHERE url = :url
            """,
            {
                "failures": failures,
                "due": iso_utc(due) if due else None,
                "retry_after": iso_utc(now + item.retry_after) if item.retry_after else None,
                "etag": item.etag,
                "last_modified": item.last_modified,
                "body_hash": body_hash,
                "url": item.url,
            },
        )

    @staticmethod
    def forget_unconfirmed(db: Database) -> None:
        """Drop the validators of a crawl that did not finish: they are not to be trusted."""
        db.execute(
            "UPDATE feeds SET next_etag = NULL, next_last_modified = NULL, "
            "next_body_hash = NULL WHERE next_body_hash IS NOT NULL"
        )

    @staticmethod
    def confirm(db: Database) -> None:
        """Once every entry has been read and stored, the feeds' latest validators become the
        ones to send."""
        db.execute(
            "UPDATE feeds SET etag = next_etag, last_modified = next_last_modified, "
            "body_hash = next_body_hash, next_etag = NULL, next_last_modified = NULL, "
            "next_body_hash = NULL WHERE next_body_hash IS NOT NULL"
        )
