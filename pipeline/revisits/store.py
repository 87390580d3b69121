"""Writes the outcome of a revisit, in the store's batch transaction.

The store (``pipeline.pipelines.store``) hands over every ``ArticleItem`` that carries a
``Revisit``; ``RevisionWriter.write`` then, for the article re-checked:

- unchanged (a 304, or the same normalised headline and text, ``pipeline.revisits.changes``):
  notes the check (``last_checked_at``, the schedule's ``revisits``, new validators);
- edited: keeps the stored version in ``article_versions``, writes the new one into
  ``articles`` (``version`` + 1), re-indexes it for search (``articles_fts`` by its trigger,
  ``articles_search``), refiles its fingerprints and story terms (``DedupTables.refile_text``),
  queues it for the watchlists and logs an ``edited`` row in ``article_changes``;
- removed (``statuses.is_removal``: a 404, a 410, a redirect to the front or a section page):
  sets ``removed_at`` and ``removed_status`` once, keeping the text, and logs ``removed``;
- back after a removal (a 200 with text, or a 304 to the validators of the page as it was):
  clears them and logs ``returned``.

A page that answers without a main text now, or fails (time-out, 5xx, refused: the errback
never gets here), is not an edit and not a removal. Everything is written in the caller's
transaction, so a killed run leaves no half-written version, and a rerun compares with what was
committed: an edit is stored once. Stats: ``newsmon/revisits/<outcome>``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pipeline import statuses
from pipeline.parsing.feed_entries import iso_utc
from pipeline.revisits.changes import compare
from pipeline.search.index import index_article
from pipeline.search.watchlists import queue_for_matching

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.items import ArticleItem, Revisit
    from pipeline.pipelines.dedup_tables import DedupTables


class RevisionWriter:
    def __init__(self, db: Database, stats: StatsCollector, dedup: DedupTables) -> None:
        self.db = db
        self.stats = stats
        self.dedup = dedup

    def write(self, item: ArticleItem) -> None:
        revisit = item.revisit
        assert revisit is not None
        stored = self.db.execute(
            "SELECT title, text, version, removed_at, story_terms, duplicate_of, language, "
            "coalesce(published, first_seen_at) FROM articles WHERE id = ?",
            (revisit.article_id,),
        ).fetchone()
        if stored is None:  # deleted meanwhile
            return
        title, text, version, removed_at, story_terms, duplicate_of, language, published = stored
        now = iso_utc(time.time())
        columns: dict[str, Any] = {"last_checked_at": now, "revisits": revisit.steps_done}
        outcome = "unreadable"
        if item.status == statuses.NOT_MODIFIED:
            outcome = "not_modified"
            if removed_at:  # the page as it was before its removal: back
                self._returned(columns, revisit, version, item, now)
        elif statuses.is_removal(item.status):
            outcome = "still_removed" if removed_at else "removed"
            if not removed_at:
                columns.update(removed_at=now, removed_status=item.status)
                self._log(revisit, statuses.CHANGE_REMOVED, version, item, now)
        elif item.status == statuses.OK:
            columns.update(etag=item.etag, last_modified=item.last_modified)
            if removed_at:
                self._returned(columns, revisit, version, item, now)
            change = compare(title, text, item.title, item.text)
            outcome = "edited" if change.edited else "unchanged"
            if change.edited:
                self.db.execute(
                    """
                    INSERT INTO article_versions (article_id, version, title, text, fetched_at,
                        replaced_at, headline_changed, text_changed)
                    SELECT id, version, title, text, fetched_at, :now, :headline, :text
                    FROM articles WHERE id = :id
                    """,
                    {
                        "id": revisit.article_id,
                        "now": now,
                        "headline": change.headline,
                        "text": change.text,
                    },
                )
                columns.update(
                    title=item.title or title,
                    text=item.text,
                    modified=item.modified,
                    fetched_at=item.fetched_at or now,
                    http_status=item.http_status,
                    version=version + 1,
                )
                if item.fingerprints is not None:
                    columns.update(
                        self.dedup.refile_text(
                            revisit.article_id,
                            item,
                            item.fingerprints,
                            old_title=title,
                            old_text=text,
                            old_story_terms=story_terms,
                            duplicate_of=duplicate_of,
                            published=published,
                        )
                    )
                self._log(revisit, statuses.CHANGE_EDITED, version + 1, item, now)
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        self.db.execute(
            f"UPDATE articles SET {assignments} WHERE id = :id",
            {**columns, "id": revisit.article_id},
        )
        if outcome == "edited":
            index_article(
                self.db, revisit.article_id, columns["title"], item.text, language, item.text_stems
            )
            queue_for_matching(self.db, revisit.article_id)
        self.stats.inc_value("newsmon/revisits/checked")
        self.stats.inc_value(f"newsmon/revisits/{outcome}")

    def _returned(
        self, columns: dict[str, Any], revisit: Revisit, version: int, item: ArticleItem, now: str
    ) -> None:
        columns.update(removed_at=None, removed_status=None)
        self._log(revisit, statuses.CHANGE_RETURNED, version, item, now)
        self.stats.inc_value("newsmon/revisits/returned")

    def _log(self, revisit: Revisit, kind: str, version: int, item: ArticleItem, now: str) -> None:
        self.db.execute(
            "INSERT INTO article_changes (article_id, kind, version, status, detail, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (revisit.article_id, kind, version, item.status, item.error, now),
        )
