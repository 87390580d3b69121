"""Extension that holds the database's crawl lock (``pipeline.db.lock``) for a crawl started
without ``newsmon crawl``, such as ``scrapy crawl feeds``.

Settings: ``NEWSMON_DB_PATH``; ``NEWSMON_LOCK_HELD`` (set by ``newsmon crawl``, which holds the
lock itself) switches it off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from pipeline.db.lock import DatabaseLock

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class CrawlLock:
    """Extension holding the database lock for a crawl started without ``newsmon crawl``."""

    def __init__(self, db_path: str) -> None:
        self.lock = DatabaseLock(db_path)
        self.lock.acquire()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.getbool("NEWSMON_LOCK_HELD"):
            raise NotConfigured  # newsmon crawl holds the lock: nothing to say about it
        return cls(crawler.settings.get("NEWSMON_DB_PATH"))
