"""Downloader middleware that never downloads an article page already stored.

The check is made before the download, on the normalised URL, against ``articles.url`` and
every link already seen in ``entries``. A page whose last fetch failed for a reason that may pass
(a 5xx, a time-out, a lost connection) is tried again, up to ``NEWSMON_ARTICLE_MAX_ATTEMPTS``.
A known page raises ``KnownArticle``, which the spider records as a sighting of it.

Settings: ``NEWSMON_DB_PATH``, ``NEWSMON_ARTICLE_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

from pipeline import statuses
from pipeline.db.connection import LazyReader
from pipeline.downloadermiddlewares.ignored_requests import KnownArticle

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class KnownArticlesMiddleware:
    def __init__(self, db_path: str, stats: StatsCollector, max_attempts: int = 3) -> None:
        self.stats = stats
        self.max_attempts = max_attempts
        self.reader = LazyReader(db_path)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        middleware = cls(
            settings.get("NEWSMON_DB_PATH"),
            crawler.stats,
            max_attempts=settings.getint("NEWSMON_ARTICLE_MAX_ATTEMPTS"),
        )
        crawler.signals.connect(middleware.reader.close, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get("newsmon_kind") != "article" or request.meta.get("redirect_times"):
            return
        known = self.stored_status(request.url)
        if known is None:
            return
        status, attempts = known
        if statuses.may_pass(status) and (attempts or 1) < self.max_attempts:
            self.stats.inc_value("newsmon/articles/retried")
            return
        self.stats.inc_value("newsmon/articles/known")
        raise KnownArticle(f"{request.url} is stored already ({status})")

    def stored_status(self, url: str) -> tuple[str, int | None] | None:
        row = self.reader.fetchone(
            "SELECT status, attempts FROM articles WHERE url = ? UNION ALL "
            "SELECT a.status, a.attempts FROM entries e JOIN articles a ON a.id = e.article_id "
            "WHERE e.url = ? LIMIT 1",
            (url, url),
        )
        return (row[0], row[1]) if row else None
