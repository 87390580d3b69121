"""Extension that records every crawl in ``crawl_runs``, from Scrapy's stats.

A row is written when the spider opens and completed when it closes, with the run's status
(``pipeline.statuses``), its counts and the stats that give reasons. Since the crawl holds the
database lock, a run still marked running then is marked killed. It also notes the run's id
(``newsmon/run_id``) and when the page phase begins and ends (``newsmon/pages/first_at``,
``newsmon/pages/last_at``).

Settings: ``NEWSMON_DB_PATH``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.parsing.feed_entries import iso_utc

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

INTERRUPTED_REASONS = frozenset({"shutdown", "cancelled"})
REASON_PREFIXES = (
    "newsmon/feeds/status/",
    "newsmon/articles/status/",
    "newsmon/refused/",
    "newsmon/dedup/",
    "newsmon/revisits/",
)


class RunLog:
    def __init__(self, db_path: str, stats: StatsCollector) -> None:
        self.db_path = db_path
        self.stats = stats
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        extension = cls(crawler.settings.get("NEWSMON_DB_PATH"), crawler.stats)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(
            extension.request_reached_downloader, signal=signals.request_reached_downloader
        )
        return extension

    def request_reached_downloader(self, request: Request) -> None:
        """Note when the page phase begins: the first article request goes out (robots.txt
        allowing), not when it is queued."""
        first = self.stats.get_value("newsmon/pages/first_at")
        if first is None and request.meta.get("newsmon_kind") == "article":
            self.stats.set_value("newsmon/pages/first_at", time.time())

    def spider_opened(self) -> None:
        with open_db(self.db_path) as db, db.atomic():
            # This crawl holds the database lock: any run still "running" was killed.
            db.execute(
                "UPDATE crawl_runs SET status = ?, "
                "finish_reason = 'process ended without closing the run' WHERE status = ?",
                (statuses.RUN_KILLED, statuses.RUN_RUNNING),
            )
            cursor = db.execute(
                "INSERT INTO crawl_runs (started_at, status, pid) VALUES (?, ?, ?)",
                (iso_utc(time.time()), statuses.RUN_RUNNING, os.getpid()),
            )
        self.run_id = cursor.lastrowid
        self.stats.set_value("newsmon/run_id", self.run_id)

    def spider_closed(self, reason: str) -> None:
        if self.run_id is None:
            return
        if self.stats.get_value("newsmon/pages/last_at") is None:  # set by a stories phase
            self.stats.set_value("newsmon/pages/last_at", time.time())
        row = run_summary(self.stats.get_stats(), reason)
        with open_db(self.db_path) as db, db.atomic():
            db.table("crawl_runs").update(self.run_id, row)
        logger.info(
            "Run %s %s: %s feeds ok, %s failed; %s new articles (%s with text), %s failed",
            self.run_id,
            row["status"],
            row["feeds_ok"],
            row["feeds_failed"],
            row["articles_new"],
            row["articles_ok"],
            row["articles_failed"],
        )


def run_summary(stats: dict[str, Any], reason: str) -> dict[str, Any]:
    """The ``crawl_runs`` columns for a finished run, from its stats and finish reason."""

    def count(key: str) -> int:
        return int(stats.get(key, 0))

    article_statuses = statuses.counts_in_stats(stats, "articles")
    failed = sum(n for status, n in article_statuses.items() if statuses.is_fetch_failure(status))
    refused = sum(n for status, n in article_statuses.items() if statuses.is_refusal(status))
    errors = count("log_count/ERROR")
    if reason in INTERRUPTED_REASONS:
        status = statuses.RUN_INTERRUPTED
    elif reason != "finished" or count("newsmon/db_errors"):
        status = statuses.RUN_FAILED
    elif count("newsmon/feeds/failed"):
        status = statuses.RUN_PARTIAL
    else:
        status = statuses.RUN_OK
    reasons = {
        key: value
        for key, value in sorted(stats.items())
        if key.startswith(REASON_PREFIXES) and value
    }
    return {
        "finished_at": iso_utc(time.time()),
        "status": status,
        "finish_reason": reason,
        "feeds_total": count("newsmon/feeds/ok") + count("newsmon/feeds/failed"),
        "feeds_ok": count("newsmon/feeds/ok"),
        "feeds_failed": count("newsmon/feeds/failed"),
        "articles_new": count("newsmon/articles/new"),
        "articles_updated": count("newsmon/articles/updated"),
        "articles_ok": article_statuses.get(statuses.OK, 0),
        "articles_no_text": article_statuses.get(statuses.NO_TEXT, 0),
        "articles_failed": failed,
        "articles_refused": refused,
        "entries_new": count("newsmon/entries/new"),
        "feeds_not_modified": count("newsmon/feeds/not_modified"),
        "articles_known": count("newsmon/articles/known"),
        "articles_same": count("newsmon/dedup/same_text") + count("newsmon/dedup/same_canonical"),
        "articles_near_duplicate": count("newsmon/dedup/near_duplicate"),
        "stories_new": count("newsmon/stories/created"),
        "revisits": count("newsmon/revisits/checked"),
        "revisits_not_modified": count("newsmon/revisits/not_modified"),
        "articles_edited": count("newsmon/revisits/edited"),
        "articles_removed": count("newsmon/revisits/removed"),
        "articles_returned": count("newsmon/revisits/returned"),
        "errors": errors,
        "reasons": json.dumps(reasons),
        "stats": json.dumps(stats, default=str, sort_keys=True),
    }
