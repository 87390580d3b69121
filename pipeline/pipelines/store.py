"""Item pipeline that writes feeds, articles and their sightings to SQLite, in batches.

The last item pipeline (``ITEM_PIPELINES``, 800), after extraction and dedup. Articles are
keyed by their normalised URL. A fetched article is never overwritten by a later failure to
fetch it, and every sighting of an article in a feed is one ``entries`` row.

The store owns ``feeds`` (but its schedule columns), ``articles`` and ``entries``. Each batch is
one transaction, in which the other owners write their part: the feed schedule
(``FeedSchedule``), dedup (``DedupTables``), the search indexes (``index_new_article``,
``index_article``) and the watchlists' queue (``queue_for_matching``). After each committed
batch it sends the ``batch_stored`` signal, on which ``WatchlistMatcher`` matches the batch.
The re-check of a stored article (an item with a ``revisit``) adds no row or sighting: it goes
to ``RevisionWriter`` (``pipeline.revisits.store``), in the same transaction.

Settings: ``NEWSMON_DB_PATH``, ``NEWSMON_BATCH_SIZE``, ``NEWSMON_BATCH_SECONDS``,
``NEWSMON_FEED_MIN_INTERVAL``, ``NEWSMON_FEED_BACKOFF_BASE``, ``NEWSMON_FEED_BACKOFF_MAX``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.downloadermiddlewares.feedschedule import FeedSchedule
from pipeline.items import ArticleItem, FeedItem
from pipeline.parsing.bylines import people_and_credits
from pipeline.parsing.feed_entries import iso_utc
from pipeline.pipelines.dedup_tables import DedupTables
from pipeline.revisits.store import RevisionWriter
from pipeline.search.index import index_article, index_new_article
from pipeline.search.watchlists import queue_for_matching

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.signalmanager import SignalManager
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database


logger = logging.getLogger(__name__)

# Sent after each committed batch; articles indexed for search are then in ``watchlist_queue``.
batch_stored = object()


class SQLitePipeline:
    def __init__(
        self,
        db_path: str,
        stats: StatsCollector,
        batch_size: int = 100,
        batch_seconds: float = 2.0,
        on_fatal: Callable[[str], None] | None = None,
        schedule: FeedSchedule | None = None,
        signals: SignalManager | None = None,
    ) -> None:
        self.db_path = db_path
        self.signals = signals
        self.schedule = schedule or FeedSchedule()
        self.on_fatal = on_fatal
        self.stats = stats
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._db: Database | None = None
        self._dedup: DedupTables | None = None
        self._pending: list[FeedItem | ArticleItem] = []
        self._sightings: list[ArticleItem] = []  # links whose article is not stored yet
        self._article_ids: dict[str, int] = {}
        self._feed_ids: dict[str, int] = {}
        self._last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        assert crawler.stats is not None
        pipeline = cls(
            settings.get("NEWSMON_DB_PATH"),
            crawler.stats,
            batch_size=settings.getint("NEWSMON_BATCH_SIZE"),
            batch_seconds=settings.getfloat("NEWSMON_BATCH_SECONDS"),
            on_fatal=lambda reason: _close_crawl(crawler, reason),
            schedule=FeedSchedule(
                min_interval=settings.getfloat("NEWSMON_FEED_MIN_INTERVAL"),
                backoff_base=settings.getfloat("NEWSMON_FEED_BACKOFF_BASE"),
                backoff_max=settings.getfloat("NEWSMON_FEED_BACKOFF_MAX"),
            ),
            signals=crawler.signals,
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    @property
    def db(self) -> Database:
        assert self._db is not None, "the pipeline is not open"
        return self._db

    @property
    def dedup(self) -> DedupTables:
        assert self._dedup is not None, "the pipeline is not open"
        return self._dedup

    def open_spider(self) -> None:
        self._db = open_db(self.db_path)
        self._dedup = DedupTables(self._db, self.stats, self._find_article)
        self.revisions = RevisionWriter(self._db, self.stats, self._dedup)
        with self.db.atomic():
            self.schedule.forget_unconfirmed(self.db)

    def spider_closed(self, reason: str) -> None:
        """Once every entry has been read and stored, the feeds' latest validators become the ones
        to send. After a lost batch they are not: the next run must read those feeds again."""
        if reason != "finished" or self.stats.get_value("newsmon/db_errors"):
            return
        with open_db(self.db_path) as db, db.atomic():
            self.schedule.confirm(db)

    def close_spider(self) -> None:
        if self._db is None:
            return
        self.on_fatal = None  # the crawl is closing already
        try:
            self.flush()
            with self.db.atomic():
                self._write_last_sightings()
        finally:
            self._db.close()
            self._db = self._dedup = None

    def _write_last_sightings(self) -> None:
        """Link the sightings still waiting to their articles, over and over while that links
        some (a copy's entry is what a later sighting of its link finds); keep the rest each
        as an entry on its own: the page was never stored under that link, or the copy's
        original was lost with a failed batch."""
        waiting, self._sightings = self._sightings, []
        while waiting:
            for sighting in waiting:
                self._write_article(sighting)  # waits again, in self._sightings, if unresolved
            still, self._sightings = self._sightings, []
            if len(still) == len(waiting):
                break
            waiting = still
        for sighting in waiting:
            sighting.status, sighting.same_as_url = statuses.NOT_FETCHED, None
            self._write_article(sighting)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FeedItem | ArticleItem):
            self._pending.append(item)
            self.flush_if_due()
        return item

    def flush_if_due(self) -> None:
        """Write what is pending once it makes a batch, or the batch's time is up."""
        due = time.monotonic() - self._last_flush >= self.batch_seconds
        if len(self._pending) >= self.batch_size or due:
            self.flush()

    def flush(self) -> bool:
        """Write everything pending in one transaction; on a database error stop the crawl.
        Returns whether the batch was stored."""
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        try:
            self._write_batch(pending)
        except Exception as exc:
            # Rolled back: the ids this batch gave out may go to other rows.
            self._article_ids.clear()
            self._feed_ids.clear()
            self.stats.inc_value("newsmon/db_errors")
            if not self.stats.get_value("newsmon/db_error"):
                self.stats.set_value("newsmon/db_error", f"{type(exc).__name__}: {exc}")
            logger.error(
                "Database %s: write failed (%s: %s); %d items not stored, stopping the crawl",
                self.db_path,
                type(exc).__name__,
                exc,
                len(pending),
                exc_info=not isinstance(exc, sqlite3.Error),
            )
            if self.on_fatal is not None:
                self.on_fatal("database_error")
            return False
        if self.signals is not None:
            self.signals.send_catch_log(signal=batch_stored)
        return True

    def _write_batch(self, pending: list[FeedItem | ArticleItem]) -> None:
        waiting, self._sightings = self._sightings, []
        try:
            with self.db.atomic():
                for item in pending:
                    if isinstance(item, FeedItem):
                        self._write_feed(item)
                    else:
                        self._write_article(item)
                for sighting in waiting:  # their articles may be in this batch
                    self._write_article(sighting)
        except Exception:
            self._sightings = waiting  # still waiting: close_spider keeps their entries
            raise

    def _write_feed(self, item: FeedItem) -> None:
        ok = item.status in statuses.HEALTHY_FEED_STATUSES
        now = time.time()
        self.db.execute(
            """
            INSERT INTO feeds (url, title, site_url, category, last_status, last_error,
                last_http_status, last_fetched_at, last_ok_at, last_entries, added_at, kind)
            VALUES (:url, :title, :site_url, :category, :status, :error,
                :http_status, :fetched_at, :ok_at, :entries, :fetched_at, :kind)
            ON CONFLICT(url) DO UPDATE SET
                title = coalesce(excluded.title, feeds.title),
                site_url = coalesce(excluded.site_url, feeds.site_url),
                category = coalesce(excluded.category, feeds.category),
                kind = coalesce(excluded.kind, feeds.kind),
                last_status = excluded.last_status,
                last_error = excluded.last_error,
                last_http_status = excluded.last_http_status,
                last_fetched_at = excluded.last_fetched_at,
                last_ok_at = coalesce(excluded.last_ok_at, feeds.last_ok_at),
                last_entries = CASE WHEN :entries_unread
                    THEN feeds.last_entries ELSE excluded.last_entries END
            """,
            {
                "url": item.url,
                "title": item.title,
                "site_url": item.site_url,
                "category": item.category,
                "status": item.status,
                "error": item.error,
                "http_status": item.http_status,
                "fetched_at": item.fetched_at or iso_utc(now),
                "ok_at": item.fetched_at if ok else None,
                "entries": item.entries,
                "entries_unread": item.status in statuses.UNREAD_FEED_STATUSES,
                "kind": item.kind,
            },
        )
        self.schedule.record(self.db, item, now)
        self.stats.inc_value("newsmon/feeds/ok" if ok else "newsmon/feeds/failed")
        if item.status == statuses.NOT_MODIFIED:
            self.stats.inc_value("newsmon/feeds/not_modified")
        self.stats.inc_value(f"newsmon/feeds/status/{item.status}")

    def _write_article(self, item: ArticleItem) -> None:
        if item.revisit is not None:  # a re-check of a stored article: no new row or sighting
            self.revisions.write(item)
            return
        feed_id = self._feed_id(item.entry.feed_url)
        if item.status == statuses.SEEN or item.same_as_url:
            article_id = self._find_article(item.same_as_url or item.url)
            if article_id is None:
                self._sightings.append(item)  # its page is still being fetched
                return
        else:
            article_id = self._upsert_article(item, feed_id)
        for url in (item.url, *item.requested_urls):
            self._article_ids[url] = article_id
        entry = item.entry
        cursor = self.db.execute(
            """
            INSERT INTO entries (feed_id, article_id, guid, link, url, title, published,
                first_seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(feed_id, article_id) DO NOTHING
            """,
            (
                feed_id,
                article_id,
                entry.guid,
                entry.link,
                item.requested_urls[0] if item.requested_urls else item.url,
                entry.title,
                entry.published,
                iso_utc(time.time()),
            ),
        )
        self.stats.inc_value("newsmon/entries/new" if cursor.rowcount else "newsmon/entries/known")

    def _upsert_article(self, item: ArticleItem, feed_id: int) -> int:
        entry = item.entry
        self.stats.inc_value(f"newsmon/articles/status/{item.status}")
        existing = self.db.execute(
            "SELECT id, status, text_hash FROM articles WHERE url = ?", (item.url,)
        ).fetchone()
        if existing is not None and existing[1] == statuses.OK:
            # Stored with its text: a failure never overwrites it, and neither does a second
            # fetch outside the revisits (a link of another feed redirected onto it, in this run
            # or a later one), which is a sighting; an edit is the revisits' to record.
            if item.status == statuses.OK:
                self.stats.inc_value("newsmon/articles/fetched_again")
            return int(existing[0])
        author, credits = people_and_credits(item.author, item.credits, entry.author)
        row: dict[str, Any] = {
            "url": item.url,
            "canonical_url": item.canonical_url,
            "title": item.title or entry.title,
            "text": item.text,
            "summary": entry.summary,
            "author": author,
            "credits": credits,
            "published": item.published or entry.published,
            "modified": item.modified,
            "language": item.language or entry.language,
            "site_name": item.site_name,
            "description": item.description,
            "image": item.image,
            "status": item.status,
            "error": item.error,
            "http_status": item.http_status,
            "fetched_at": item.fetched_at,
            "etag": item.etag,
            "last_modified": item.last_modified,
        }
        fp = item.fingerprints if existing is None or existing[2] is None else None
        published = item.published or entry.published or iso_utc(time.time())
        if fp is not None:
            # What dedup decided goes in with the text, so that the row is written once: an
            # article row with a long text is rewritten whole by every UPDATE.
            row.update(self.dedup.article_columns(item, fp, published))
        if existing is None:
            row.update(feed_id=feed_id, first_seen_at=iso_utc(time.time()), attempts=1)
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            cursor = self.db.execute(f"INSERT INTO articles ({columns}) VALUES ({values})", row)
            self.stats.inc_value("newsmon/articles/new")
            assert cursor.lastrowid is not None
            article_id = int(cursor.lastrowid)
            index_new_article(
                self.db, article_id, row["title"], row["text"], row["language"], item.text_stems
            )
        else:
            article_id = int(existing[0])
            assignments = ", ".join(f"{name} = :{name}" for name in row)
            self.db.execute(
                f"UPDATE articles SET {assignments}, attempts = coalesce(attempts, 0) + 1 "
                f"WHERE id = :id",
                {**row, "id": article_id},
            )
            self.stats.inc_value("newsmon/articles/updated")
            if item.text:  # a new text: the update trigger has indexed its words
                index_article(
                    self.db, article_id, row["title"], item.text, row["language"], item.text_stems
                )
        if item.text:
            queue_for_matching(self.db, article_id)
        if fp is not None:
            self.dedup.file_new_text(article_id, item, fp, row, published)
        return article_id

    def _find_article(self, url: str) -> int | None:
        if url in self._article_ids:
            return self._article_ids[url]
        row = self.db.execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()
        if row is None:
            row = self.db.execute(
                "SELECT article_id FROM entries WHERE url = ? AND article_id IS NOT NULL LIMIT 1",
                (url,),
            ).fetchone()
        return int(row[0]) if row else None

    def _feed_id(self, url: str) -> int:
        if url not in self._feed_ids:
            self.db.execute(
                "INSERT INTO feeds (url, added_at) VALUES (?, ?) ON CONFLICT(url) DO NOTHING",
                (url, iso_utc(time.time())),
            )
            row = self.db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
            self._feed_ids[url] = int(row[0])
        return self._feed_ids[url]


def _close_crawl(crawler: Crawler, reason: str) -> None:
    if crawler.engine is not None:
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
