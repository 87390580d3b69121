"""Dedup's own tables, written from what ``DedupPipeline`` decided, in the store's transaction.

``DedupPipeline`` decides on an item what it is (a copy, a near-copy, which story); the store
writes the article's row and, in the same transaction, hands over to ``DedupTables``, which
owns ``stories``, ``near_dup_buckets``, ``term_df``, ``story_index``, ``story_vectors`` and
``story_pending`` and the dedup columns of
``articles`` (``text_hash``, ``duplicate_of``, ``duplicate_similarity``, ``story_terms``,
``story_norm``, ``story_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pipeline.pipelines.dedup import iso, parse_time
from pipeline.text.fingerprints import fingerprint

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.items import ArticleItem
    from pipeline.text.fingerprints import Fingerprints


class DedupTables:
    """Writes dedup's decisions. ``find_article(url)`` is the store's lookup of an article id
    by URL, which sees this batch's rows too."""

    def __init__(
        self,
        db: Database,
        stats: StatsCollector,
        find_article: Callable[[str], int | None],
    ) -> None:
        self.db = db
        self.stats = stats
        self.find_article = find_article

    def article_columns(
        self, item: ArticleItem, fp: Fingerprints, published: str
    ) -> dict[str, Any]:
        """The article's dedup columns, for an article that has text for the first time; a new
        story is created for it if it starts one."""
        duplicate_of = self.find_article(item.duplicate_of_url) if item.duplicate_of_url else None
        return {
            "text_hash": fp.text_hash,
            "duplicate_of": duplicate_of,
            "duplicate_similarity": item.duplicate_similarity if duplicate_of else None,
            "story_terms": " ".join(fp.story_terms),
            "story_norm": item.story_norm,
            "story_id": self._story_of(item, published),
        }

    def file_new_text(
        self,
        article_id: int,
        item: ArticleItem,
        fp: Fingerprints,
        columns: dict[str, Any],
        published: str,
    ) -> None:
        """File an article that has text for the first time (its row written with
        ``article_columns``) for dedup's later lookups, and count it in its story."""
        if columns["duplicate_of"] is None:
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
            if item.story_pending:
                file_pending(self.db, article_id, published)
        count_story(self.db, columns["story_id"], published)

    def _story_of(self, item: ArticleItem, published: str) -> int:
        """The story the article joins, or a new one."""
        if item.story_of_url:
            other = self.find_article(item.story_of_url)
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

    def refile_text(
        self,
        article_id: int,
        item: ArticleItem,
        fp: Fingerprints,
        *,
        old_title: str | None,
        old_text: str | None,
        old_story_terms: str | None,
        duplicate_of: int | None,
        published: str,
    ) -> dict[str, Any]:
        """Refile an article whose text changed (a revisit found an edit): its LSH buckets,
        term frequencies and story index rows (under ``published``) follow the new text; it
        stays in its story. The ``old_*`` values are the stored row's, before the edit.
        Returns its new dedup columns, for the caller's update of the row."""
        old_terms = set((old_story_terms or "").split())
        if duplicate_of is None:
            if old_text:
                self.db.conn.executemany(
                    "DELETE FROM near_dup_buckets WHERE bucket = ? AND article_id = ?",
                    [(bucket, article_id) for bucket in fingerprint(old_title, old_text).buckets],
                )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO near_dup_buckets (bucket, article_id) VALUES (?, ?)",
                [(bucket, article_id) for bucket in fp.buckets],
            )
            new_terms = set(fp.story_terms)
            self.db.conn.executemany(
                "UPDATE term_df SET df = max(df - 1, 0) WHERE term = ?",
                [(term,) for term in old_terms - new_terms],
            )
            self.db.conn.executemany(
                "INSERT INTO term_df (term, df) VALUES (?, 1) "
                "ON CONFLICT(term) DO UPDATE SET df = df + 1",
                [(term,) for term in new_terms - old_terms],
            )
            self.db.conn.executemany(
                "DELETE FROM story_index WHERE term = ? AND article_id = ?",
                [(term, article_id) for term in old_terms],
            )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO story_index (term, published, article_id) VALUES (?, ?, ?)",
                [(term, published, article_id) for term in item.story_index_terms],
            )
        return {
            "text_hash": fp.text_hash,
            "story_terms": " ".join(fp.story_terms),
            "story_norm": item.story_norm,
        }


def count_story(db: Database, story_id: int, published: str, latest: str | None = None) -> None:
    """Bring a story's counts up to date with its articles, ``published`` the earliest of the
    times its new articles have and ``latest`` the latest (default: ``published``)."""
    db.execute(
        """
        UPDATE stories SET
            article_count = (SELECT count(*) FROM articles WHERE story_id = :id),
            outlet_count = (SELECT count(DISTINCT coalesce(site_name, feed_id))
                            FROM articles WHERE story_id = :id AND duplicate_of IS NULL),
            languages = (SELECT group_concat(DISTINCT language)
                         FROM articles WHERE story_id = :id),
            first_seen = min(first_seen, :published),
            last_seen = max(last_seen, :latest)
        WHERE id = :id
        """,
        {"id": story_id, "published": published, "latest": latest or published},
    )


def file_pending(db: Database, article_id: int, published: str) -> None:
    """Note a unique article whose story is decided after the page phase
    (``pipeline.pipelines.story_phase``), under its publication time in UTC."""
    db.execute(
        "INSERT OR REPLACE INTO story_pending (article_id, published) VALUES (?, ?)",
        (article_id, utc_iso(published)),
    )


def file_vector(
    db: Database, article_id: int, method: str, published: str, vector: bytes, keys: list[str]
) -> None:
    """Store an article's embedding and keys, under its publication time in UTC (the form the
    story window is looked up in)."""
    db.execute(
        "INSERT OR REPLACE INTO story_vectors (article_id, method, published, vector, keys) "
        "VALUES (?, ?, ?, ?, ?)",
        (article_id, method, utc_iso(published), vector, " ".join(keys)),
    )


@lru_cache(maxsize=4096)
def stored_keys(text: str) -> frozenset[str]:
    """The keys ``file_vector`` stored (``story_vectors.keys``); kept for the next articles,
    which are compared with mostly the same candidates."""
    return frozenset(text.split())


def utc_iso(published: str) -> str | None:
    """A publication time as stored for the story window: in UTC, None if it is unreadable."""
    moment = parse_time(published)
    return iso(moment) if moment else None
