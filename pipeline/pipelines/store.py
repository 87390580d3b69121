"""Item pipeline that writes feeds, articles and their sightings to SQLite, in batches.

Articles are keyed by their normalised URL. A fetched article is never overwritten by a later
failure to fetch it, and every sighting of an article in a feed is one ``entries`` row.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro

from pipeline.db.connection import open_db
from pipeline.items import ArticleItem, FeedItem
from pipeline.parsing.feed_entries import iso_utc
from pipeline.search.index import index_article

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.signalmanager import SignalManager
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.text.fingerprints import Fingerprints

logger = logging.getLogger(__name__)

# Sent after each committed batch; articles indexed for search are then in ``search_queue``.
batch_stored = object()

FEED_OK_STATUSES = frozenset({"ok", "no_entries", "not_modified", "unchanged"})


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

    def open_spider(self) -> None:
        self._db = open_db(self.db_path)
        with self.db.atomic():  # validators of a crawl that did not finish are not to be trusted
            self.db.execute(
                "UPDATE feeds SET next_etag = NULL, next_last_modified = NULL, "
                "next_body_hash = NULL WHERE next_body_hash IS NOT NULL"
            )

    def spider_closed(self, reason: str) -> None:
        """Once every entry has been read and stored, the feeds' latest validators become the ones
        to send. After a lost batch they are not: the next run must read those feeds again."""
        if reason != "finished" or self.stats.get_value("newsmon/db_errors"):
            return
        with open_db(self.db_path) as db, db.atomic():
            db.execute(
                "UPDATE feeds SET etag = next_etag, last_modified = next_last_modified, "
                "body_hash = next_body_hash, next_etag = NULL, next_last_modified = NULL, "
                "next_body_hash = NULL WHERE next_body_hash IS NOT NULL"
            )

    def close_spider(self) -> None:
        if self._db is None:
            return
        self.on_fatal = None  # the crawl is closing already
        try:
            self.flush()
            with self.db.atomic():
                for sighting in self._sightings:
                    # The page was never stored under this link: keep the entry on its own.
                    sighting.status = "not_fetched"
                    self._write_article(sighting)
            self._sightings.clear()
        finally:
            self._db.close()
            self._db = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FeedItem | ArticleItem):
            self._pending.append(item)
            due = time.monotonic() - self._last_flush >= self.batch_seconds
            if len(self._pending) >= self.batch_size or due:
                self.flush()
        return item

    def flush(self) -> None:
        """Write everything pending in one transaction; on a database error stop the crawl."""
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        try:
            self._write_batch(pending)
        except Exception as exc:
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
            return
        if self.signals is not None:
            self.signals.send_catch_log(signal=batch_stored)

    def _write_batch(self, pending: list[FeedItem | ArticleItem]) -> None:
        with self.db.atomic():
            for item in pending:
                if isinstance(item, FeedItem):
                    self._write_feed(item)
                else:
                    self._write_article(item)
            if self._sightings:
                waiting, self._sightings = self._sightings, []
                for sighting in waiting:
                    self._write_article(sighting)

    def _write_feed(self, item: FeedItem) -> None:
        ok = item.status in FEED_OK_STATUSES
        now = time.time()
        (failures,) = self.db.execute(
            "SELECT coalesce(max(consecutive_failures), 0) FROM feeds WHERE url = ?", (item.url,)
        ).fetchone()
        failures = 0 if ok else failures + 1
        due = self.schedule.next_due(now, failures, item.retry_after)
        self.db.execute(
            """
            INSERT INTO feeds (url, title, site_url, category, last_status, last_error,
                last_http_status, last_fetched_at, last_ok_at, last_entries, added_at,
                consecutive_failures, next_due_at, retry_after,
                next_etag, next_last_modified, next_body_hash)
            VALUES (:url, :title, :site_url, :category, :status, :error,
                :http_status, :fetched_at, :ok_at, :entries, :fetched_at,
                :failures, :due, :retry_after, :etag, :last_modified, :body_hash)
            ON CONFLICT(url) DO UPDATE SET
                title = coalesce(excluded.title, feeds.title),
                site_url = coalesce(excluded.site_url, feeds.site_url),
                category = coalesce(excluded.category, feeds.category),
                last_status = excluded.last_status,
                last_error = excluded.last_error,
                last_http_status = excluded.last_http_status,
                last_fetched_at = excluded.last_fetched_at,
                last_ok_at = coalesce(excluded.last_ok_at, feeds.last_ok_at),
                last_entries = CASE WHEN excluded.last_status IN ('not_modified', 'unchanged')
                    THEN feeds.last_entries ELSE excluded.last_entries END,
                consecutive_failures = excluded.consecutive_failures,
                next_due_at = excluded.next_due_at,
                retry_after = excluded.retry_after,
                next_etag = coalesce(excluded.next_etag, feeds.next_etag),
                next_last_modified = coalesce(excluded.next_last_modified, feeds.next_last_modified),
                next_body_hash = coalesce(excluded.next_body_hash, feeds.next_body_hash)
            """,
            {
                "failures": failures,
                "due": iso_utc(due) if due else None,
                "retry_after": iso_utc(now + item.retry_after) if item.retry_after else None,
                "etag": item.etag,
                "last_modified": item.last_modified,
                "body_hash": item.body_hash if item.status in ("ok", "no_entries") else None,
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
            },
        )
        self.stats.inc_value("newsmon/feeds/ok" if ok else "newsmon/feeds/failed")
        if item.status == "not_modified":
            self.stats.inc_value("newsmon/feeds/not_modified")
        self.stats.inc_value(f"newsmon/feeds/status/{item.status}")

    def _write_article(self, item: ArticleItem) -> None:
        feed_id = self._feed_id(item.entry.feed_url)
        if item.status == "seen" or item.same_as_url:
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
        row: dict[str, Any] = {
            "url": item.url,
            "canonical_url": item.canonical_url,
            "title": item.title or entry.title,
            "text": item.text,
            "summary": entry.summary,
            "author": item.author or entry.author,
            "published": item.published or entry.published,
            "language": item.language or entry.language,
            "site_name": item.site_name,
            "description": item.description,
            "image": item.image,
            "status": item.status,
            "error": item.error,
            "http_status": item.http_status,
            "fetched_at": item.fetched_at,
        }
        self.stats.inc_value(f"newsmon/articles/status/{item.status}")
        existing = self.db.execute(
            "SELECT id, status, text_hash FROM articles WHERE url = ?", (item.url,)
        ).fetchone()
        if existing is not None and item.status != "ok" and existing[1] == "ok":
            return int(existing[0])
        fp = item.fingerprints if existing is None or existing[2] is None else None
        published = item.published or entry.published or iso_utc(time.time())
        if fp is not None:
            # What dedup decided goes in with the text: an article row with a long text is
            # rewritten whole by an UPDATE, and it was written three times.
            row.update(self._dedup_columns(item, fp, published))
        if existing is None:
            row.update(feed_id=feed_id, first_seen_at=iso_utc(time.time()), attempts=1)
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            cursor = self.db.execute(f"INSERT INTO articles ({columns}) VALUES ({values})", row)
            self.stats.inc_value("newsmon/articles/new")
            assert cursor.lastrowid is not None
            article_id = int(cursor.lastrowid)
            self.db.execute(  # no trigger for this (migrations.index_new_articles_from_the_store)
                "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                (article_id, row["title"], row["text"]),
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
        if item.text:
            index_article(
                self.db, article_id, row["title"], item.text, row["language"], item.text_stems
            )
            self.db.execute(
                "INSERT OR IGNORE INTO search_queue (article_id) VALUES (?)", (article_id,)
            )
        if fp is not None:
            self._index_new_text(
                article_id, item, fp, row["duplicate_of"], row["story_id"], published
            )
        return article_id

    def _dedup_columns(self, item: ArticleItem, fp: Fingerprints, published: str) -> dict[str, Any]:
        """The article's columns from what dedup decided, for an article that has text for the
        first time; a new story is created for it if it starts one."""
        duplicate_of = self._find_article(item.duplicate_of_url) if item.duplicate_of_url else None
        return {
            "text_hash": fp.text_hash,
            "duplicate_of": duplicate_of,
            "duplicate_similarity": item.duplicate_similarity if duplicate_of else None,
            "story_terms": " ".join(fp.story_terms),
            "story_norm": item.story_norm,
            "story_id": self._story_of(item, published),
        }

    def _index_new_text(
        self,
        article_id: int,
        item: ArticleItem,
        fp: Fingerprints,
        duplicate_of: int | None,
        story_id: int,
        published: str,
    ) -> None:
        """File an article that has text for the first time for dedup's later lookups, and
        count it in its story."""
        if duplicate_of is None:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO near_dup_buckets (bucket, article_id) VALUES (?, ?)",
                [(bucket, article_id) for bucket in fp.buckets],
            )
            if fp.story_terms:
                self.db.conn.executemany(
                    "INSERT INTO term_df (term, df) VALUES (?, 1) "
                    "ON CONFLICT(term) DO UPDATE SET df = df + 1",
                    [(term,) for term in set(fp.story_terms)],
                )
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO story_index (term, published, article_id) "
                    "VALUES (?, ?, ?)",
                    [(term, published, article_id) for term in item.story_index_terms],
                )
        self.db.execute(
            """
            UPDATE stories SET
                article_count = (SELECT count(*) FROM articles WHERE story_id = :id),
                outlet_count = (SELECT count(DISTINCT coalesce(site_name, feed_id))
                                FROM articles WHERE story_id = :id AND duplicate_of IS NULL),
                languages = (SELECT group_concat(DISTINCT language)
                             FROM articles WHERE story_id = :id),
                first_seen = min(first_seen, :published),
                last_seen = max(last_seen, :published)
            WHERE id = :id
            """,
            {"id": story_id, "published": published},
        )

    def _story_of(self, item: ArticleItem, published: str) -> int:
        """The story the article joins, or a new one."""
        if item.story_of_url:
            other = self._find_article(item.story_of_url)
            if other is not None:
                row = self.db.execute(
                    "SELECT story_id FROM articles WHERE id = ?", (other,)
                ).fetchone()
                if row is not None and row[0] is not None:
                    return int(row[0])
        cursor = self.db.execute(
            "INSERT INTO stories (title, first_seen, last_seen) VALUES (?, ?, ?)",
            (item.title or item.entry.title, published, published),
        )
        self.stats.inc_value("newsmon/stories/created")
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

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


@dataclass(frozen=True)
class FeedSchedule:
    """When a feed is due again: after ``min_interval`` if healthy, else after a back-off that
    doubles with each consecutive failure, and never before a server's ``Retry-After``."""

    min_interval: float = 0.0
    backoff_base: float = 300.0
    backoff_max: float = 24 * 3600.0

    def next_due(self, now: float, failures: int, retry_after: float | None = None) -> float | None:
        wait = self.min_interval
        if failures:
            wait = min(self.backoff_base * 2 ** (failures - 1), self.backoff_max)
        wait = max(wait, retry_after or 0.0)
        return now + wait if wait > 0 else None


def _close_crawl(crawler: Crawler, reason: str) -> None:
    if crawler.engine is not None:
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
