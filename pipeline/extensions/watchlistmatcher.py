"""Extension that matches every article a crawl indexes against the user's watchlists.

The store queues each article it indexes (``pipeline.search.watchlists.queue_for_matching``) and
sends ``batch_stored`` after each committed batch; this extension then matches the queued
articles, and runs the user's command with the crawl's new matches when the spider closes.

Settings: ``NEWSMON_DB_PATH``; ``NEWSMON_WATCHLISTS`` (default: ``watchlists.toml`` beside the
database; an empty value switches matching off); ``NEWSMON_ON_MATCHES``, a command run once the
crawl is over if it found new matches, with them as a JSON list on its standard input (for a
webhook or an e-mail: ``curl -d @- URL``, ``mail -s news me@example.org``). Watchlists with
``changes = true`` add to that list the run's edits and removals of articles they matched
(objects with a ``change`` key: ``edited``, ``removed``, ``returned``).
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from pipeline.db.connection import open_db
from pipeline.exceptions import WatchlistError
from pipeline.pipelines.store import batch_stored
from pipeline.revisits import report as revisit_report
from pipeline.search import watchlists

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

logger = logging.getLogger(__name__)

HOOK_SECONDS = 60


class WatchlistMatcher:
    """Syncs the watchlists file when the crawl opens (backfilling new watchlists), then matches
    the articles of each stored batch.

    A broken watchlists file does not stop the crawl: the error is logged and counted, and the
    definitions stored by the last good sync are used. Without a file, the stored ones are used.
    """

    def __init__(
        self, db_path: str, path: Path, stats: StatsCollector, on_matches: str = ""
    ) -> None:
        self.db_path = db_path
        self.path = path
        self.stats = stats
        self.on_matches = on_matches
        self.watchlists: list[watchlists.Watchlist] = []
        self._db: Database | None = None
        self._first_new_match = 0
        self._first_new_change = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        db_path = settings.get("NEWSMON_DB_PATH")
        setting = settings.get("NEWSMON_WATCHLISTS")
        if setting == "":
            raise NotConfigured("NEWSMON_WATCHLISTS is empty")
        path = Path(setting) if setting else watchlists.default_path(db_path)
        assert crawler.stats is not None
        matcher = cls(db_path, path, crawler.stats, settings.get("NEWSMON_ON_MATCHES") or "")
        crawler.signals.connect(matcher.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(matcher.batch_stored, signal=batch_stored)
        crawler.signals.connect(matcher.spider_closed, signal=signals.spider_closed)
        return matcher

    def spider_opened(self) -> None:
        self._db = open_db(self.db_path)
        self._first_new_match = watchlists.last_match_id(self._db)
        self._first_new_change = revisit_report.last_change_id(self._db)
        if self.path.exists():
            try:
                backfilled = watchlists.sync(
                    self._db, watchlists.load(self.path), str(self.path.resolve())
                )
            except WatchlistError as exc:
                self.stats.inc_value("newsmon/watchlists/file_errors")
                logger.error("%s; matching with the watchlists stored before", exc)
            else:
                for name, count in backfilled.items():
                    logger.info("Watchlist %r: %d matches among stored articles", name, count)
                    self.stats.inc_value("newsmon/watchlists/backfilled", count)
        self.watchlists = watchlists.stored(self._db)
        self.stats.set_value("newsmon/watchlists/active", len(self.watchlists))

    def batch_stored(self, max_chunks: int | None = 1) -> None:
        """Match the articles of a batch just stored (and a chunk of any backlog): the crawl
        goes on meanwhile, so the rest of a large backlog waits for the end of the run."""
        if self._db is None:
            return
        try:
            added = watchlists.match_queued(self._db, self.watchlists, max_chunks)
        except Exception:  # the articles are stored; the queue keeps them for the next run
            self.stats.inc_value("newsmon/watchlists/match_errors")
            logger.exception("Database %s: matching watchlists failed", self.db_path)
            return
        self.stats.inc_value("newsmon/watchlists/matches", added)

    def spider_closed(self) -> None:
        if self._db is None:
            return
        try:
            self.batch_stored(max_chunks=None)
            if self.on_matches:
                self.run_hook(
                    watchlists.matches_after(self._db, self._first_new_match)
                    + revisit_report.watchlist_alerts(self._db, self._first_new_change)
                )
        finally:
            self._db.close()
            self._db = None

    def run_hook(self, matches: list[dict[str, Any]]) -> None:
        """Run the NEWSMON_ON_MATCHES command with the new matches; its failure is logged."""
        if not matches:
            return
        try:
            result = subprocess.run(
                shlex.split(self.on_matches),
                input=json.dumps(matches, ensure_ascii=False),
                capture_output=True,
                text=True,
                timeout=HOOK_SECONDS,
                check=False,
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            self.stats.inc_value("newsmon/watchlists/hook_errors")
            logger.error("NEWSMON_ON_MATCHES %r failed: %s", self.on_matches, exc)
            return
        if result.returncode:
            self.stats.inc_value("newsmon/watchlists/hook_errors")
            logger.error(
                "NEWSMON_ON_MATCHES %r exited with %d: %s",
                self.on_matches,
                result.returncode,
                result.stderr.strip()[-500:],
            )
        else:
            logger.info("NEWSMON_ON_MATCHES got %d new matches", len(matches))
