"""Extension that matches every article a crawl indexes against the user's watchlists."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

from pipeline import watchlists
from pipeline.db import open_db
from pipeline.store import batch_stored

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

logger = logging.getLogger(__name__)


class WatchlistMatcher:
    """Syncs the watchlists file when the crawl opens (backfilling new watchlists), then matches
    the articles of each stored batch.

    A broken watchlists file does not stop the crawl: the error is logged and counted, and the
    definitions stored by the last good sync are used. Without a file, the stored ones are used.
    Setting: ``NEWSMON_WATCHLISTS`` (default: ``watchlists.toml`` beside the database; an
    empty value switches matching off).
    """

    def __init__(self, db_path: str, path: Path, stats: StatsCollector) -> None:
        self.db_path = db_path
        self.path = path
        self.stats = stats
        self.watchlists: list[watchlists.Watchlist] = []
        self._db: Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        db_path = settings.get("NEWSMON_DB_PATH")
        setting = settings.get("NEWSMON_WATCHLISTS")
        if setting == "":
            raise NotConfigured("NEWSMON_WATCHLISTS is empty")
        path = Path(setting) if setting else watchlists.default_path(db_path)
        assert crawler.stats is not None
        matcher = cls(db_path, path, crawler.stats)
        crawler.signals.connect(matcher.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(matcher.batch_stored, signal=batch_stored)
        crawler.signals.connect(matcher.spider_closed, signal=signals.spider_closed)
        return matcher

    def spider_opened(self) -> None:
        self._db = open_db(self.db_path)
        if self.path.exists():
            try:
                backfilled = watchlists.sync(self._db, watchlists.load(self.path))
            except watchlists.WatchlistError as exc:
                self.stats.inc_value("newsmon/watchlists/file_errors")
                logger.error("%s; matching with the watchlists stored before", exc)
            else:
                for name, count in backfilled.items():
                    logger.info("Watchlist %r: %d matches among stored articles", name, count)
                    self.stats.inc_value("newsmon/watchlists/backfilled", count)
        self.watchlists = watchlists.stored(self._db)
        self.stats.set_value("newsmon/watchlists/active", len(self.watchlists))

    def batch_stored(self) -> None:
        if self._db is None:
            return
        try:
            added = watchlists.match_queued(self._db, self.watchlists)
        except Exception:  # the articles are stored; the queue keeps them for the next run
            self.stats.inc_value("newsmon/watchlists/match_errors")
            logger.exception("Database %s: matching watchlists failed", self.db_path)
            return
        self.stats.inc_value("newsmon/watchlists/matches", added)

    def spider_closed(self) -> None:
        if self._db is None:
            return
        try:
            self.batch_stored()
        finally:
            self._db.close()
            self._db = None
