"""The stories phase of a crawl: the story of each unique article stored during the page phase,
decided by its embedding once the pages are done.

With embeddings on (``pipeline.pipelines.embedding``), ``DedupPipeline`` stores a unique article
at once, in a provisional story of its own, and files it in ``story_pending`` in the same
transaction; copies and near-copies of it join that story. While an article is pending, its
story and the articles in it are held back from watchlist matching
(``pipeline.search.watchlists``), so a ``per_story`` watchlist alerts once per final story.

When the page phase is over (``DedupPipeline.close_spider``: Scrapy closes the store first, so
every article is committed; the worker pool closes after, on ``spider_closed``), the workers are
recycled (extraction's heap is not kept beside the model) and the pending articles are embedded
in them, ``CHUNK`` at a time (the next chunk while one is decided), and decided in order of
publication, each against the embedded
articles of the window (``NEWSMON_STORY_VECTOR_CANDIDATES`` at most, newest first): the articles
of earlier runs and those decided before it. The decision is ``story_match``'s, as in
``newsmon regroup``. Joining a story moves the article and its copies into it, recounts the story
and deletes the provisional one. Each chunk is one transaction (vectors, stories, the pending
rows gone): a killed phase leaves whole decisions, and the next run (or ``newsmon regroup``)
decides the rest first.

Stats: ``newsmon/stories/decided``, ``newsmon/stories/joined``, ``newsmon/stories/new``,
``newsmon/stories/phase_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.pipelines.dedup import iso, parse_time
from pipeline.pipelines.dedup_tables import count_story, file_vector, stored_keys
from pipeline.text.embeddings import from_blobs
from pipeline.text.story_match import Candidate, StoryRules, joined_candidate, outlet_of

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.pipelines.embedding import Embedding, StoryEmbedder

logger = logging.getLogger(__name__)

CHUNK = 256  # pending articles embedded together, then decided in one transaction
UNDATED = "~"  # sorts after any ISO time
YIELD_EVERY = 16  # decisions between two turns of the reactor


@dataclass
class Pending:
    """A stored article waiting for its story."""

    article_id: int
    url: str
    title: str | None
    text: str | None
    published: str | None  # in UTC, as ``story_vectors.published``
    story_terms: list[str]
    language: str | None


def pending_articles(
    db: Database, limit: int = CHUNK, after: tuple[str, int] | None = None
) -> list[Pending]:
    """The first pending articles by publication time (those without one last), or the first
    after ``after`` (``order_key`` of an article)."""
    rows = db.execute(
        "SELECT p.article_id, a.url, a.title, a.text, p.published, a.story_terms, "
        "a.language "
        "FROM story_pending p JOIN articles a ON a.id = p.article_id "
        "WHERE (coalesce(p.published, ?), p.article_id) > (?, ?) "
        "ORDER BY coalesce(p.published, ?), p.article_id LIMIT ?",
        (UNDATED, *(after or ("", 0)), UNDATED, limit),
    ).fetchall()
    return [
        Pending(id_, url, title, text, published, (terms or "").split(), language)
        for id_, url, title, text, published, terms, language in rows
    ]


def order_key(article: Pending) -> tuple[str, int]:
    return (article.published or UNDATED, article.article_id)


def vector_story(
    db: Database,
    url: str,
    vector: bytes,
    keys: frozenset[str],
    published: datetime | None,
    language: str | None,
    method: str,
    rules: StoryRules,
    window: timedelta,
    limit: int,
) -> int | None:
    """The story the article joins, by embeddings, names and numbers, against the embedded
    articles of the window (``limit`` at most, newest first); None to keep a story of its own."""
    if published is None:
        return None
    rows = db.execute(
        "SELECT a.url, v.vector, v.keys, a.story_id, v.published, a.language "
        "FROM story_vectors v JOIN articles a ON a.id = v.article_id "
        "WHERE v.method = ? AND v.published BETWEEN ? AND ? AND a.url != ? "
        "ORDER BY v.published DESC LIMIT ?",
        (method, iso(published - window), iso(published + window), url, limit),
    ).fetchall()
    candidates: list[Candidate] = []
    blobs: list[bytes] = []
    story_of: dict[str, int | None] = {}
    for other, blob, other_keys, story_id, when, other_language in rows:
        story = ("id", story_id) if story_id is not None else ("url", other)
        candidates.append(
            Candidate(
                other,
                story,
                stored_keys(other_keys),
                outlet_of(other),
                parse_time(when),
                other_language,
            )
        )
        blobs.append(blob)
        story_of[other] = story_id
    if not candidates:
        return None
    chosen = joined_candidate(
        url,
        from_blobs([vector])[0],
        keys,
        published,
        candidates,
        from_blobs(blobs),
        rules,
        language,
    )
    return story_of[chosen.url] if chosen is not None else None


def join_story(db: Database, provisional: int, story_id: int) -> None:
    """Move an article and its copies from its provisional story into ``story_id``."""
    (low, high) = db.execute(
        "SELECT min(coalesce(published, first_seen_at)), max(coalesce(published, first_seen_at)) "
        "FROM articles WHERE story_id = ?",
        (provisional,),
    ).fetchone()
    db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (story_id, provisional))
    db.execute("DELETE FROM stories WHERE id = ?", (provisional,))
    if low is not None:  # the earliest and latest times of the articles moved
        count_story(db, story_id, low, high)


class StoryPhase:
    """Decides the pending articles' stories (``run``). ``by_terms(article)``: the URL of the
    article whose story one joins by its terms, for an article whose embedding failed."""

    def __init__(
        self,
        db: Database,
        stats: StatsCollector,
        embedder: StoryEmbedder,
        rules: StoryRules,
        window: timedelta,
        vector_candidates: int,
        by_terms: Callable[[Pending], str | None],
    ) -> None:
        self.db = db
        self.stats = stats
        self.embedder = embedder
        self.rules = rules
        self.window = window
        self.vector_candidates = vector_candidates
        self.by_terms = by_terms

    async def run(self) -> int:
        """Embed and decide every pending article, oldest first; returns how many. The workers
        embed the next chunk while this one is decided."""
        started = time.monotonic()
        decided = 0
        self.warn_of_another_method()
        self.stats.inc_value("newsmon/stories/decided", 0)  # the progress line shows the phase
        pending = pending_articles(self.db, CHUNK)
        embedding = self._embed(pending)
        while pending:
            embeddings = await embedding
            following = pending_articles(self.db, CHUNK, order_key(pending[-1]))
            embedding = self._embed(following)
            try:
                with self.db.atomic():
                    for number, (article, embedded) in enumerate(
                        zip(pending, embeddings, strict=True), 1
                    ):
                        self.decide(article, embedded)
                        if number % YIELD_EVERY == 0:  # the reactor goes on meanwhile
                            await asyncio.sleep(0)
            except BaseException:
                embedding.cancel()
                raise
            decided += len(pending)
            self.stats.inc_value("newsmon/stories/decided", len(pending))
            pending = following
        await embedding
        if decided:
            seconds = time.monotonic() - started
            self.stats.set_value("newsmon/stories/phase_seconds", round(seconds, 3))
            logger.info("Stories phase: %d articles decided in %.1f s", decided, seconds)
        return decided

    def warn_of_another_method(self) -> None:
        """Say so when stored articles were embedded by another method (another model, or
        another ``NEWSMON_STORY_EMBEDDING_WORDS``): vectors of two methods are never compared, so
        the run's articles cannot join those stories until ``newsmon regroup`` embeds them again."""
        method = self.embedder.method
        row = self.db.execute(  # two seeks in the (method, published) index, not a scan
            "SELECT coalesce((SELECT min(method) FROM story_vectors WHERE method < ?), "
            "(SELECT min(method) FROM story_vectors WHERE method > ?))",
            (method, method),
        ).fetchone()
        if row[0]:
            self.stats.set_value("newsmon/stories/other_method", row[0])
            logger.warning(
                "Stories: stored articles were embedded by another method (%s; this run: %s) "
                "and are not compared with this run's: run 'newsmon regroup' to group them again",
                row[0],
                method,
            )

    def _embed(self, articles: list[Pending]) -> asyncio.Task[list[Embedding | None]]:
        return asyncio.ensure_future(
            self.embedder.embed([(p.url, p.title, p.text) for p in articles])
        )

    def decide(self, article: Pending, embedding: Embedding | None) -> None:
        """Decide one article's story and write it (in the caller's transaction)."""
        story_id: int | None = None
        if embedding is not None and embedding["vector"] is not None:
            file_vector(
                self.db,
                article.article_id,
                self.embedder.method,
                article.published or "",
                embedding["vector"],
                embedding["keys"],
            )
            story_id = vector_story(
                self.db,
                article.url,
                embedding["vector"],
                frozenset(embedding["keys"]),
                parse_time(article.published),
                article.language,
                self.embedder.method,
                self.rules,
                self.window,
                self.vector_candidates,
            )
        else:
            other = self.by_terms(article)
            if other is not None:
                story_id = self._story_id(other)
        provisional = self._story_id(article.url)  # as it is now, not as it was read
        if story_id is not None and provisional is not None and story_id != provisional:
            join_story(self.db, provisional, story_id)
            self.stats.inc_value("newsmon/stories/joined")
        else:
            self.stats.inc_value("newsmon/stories/new")
        self.db.execute("DELETE FROM story_pending WHERE article_id = ?", (article.article_id,))

    def _story_id(self, url: str) -> int | None:
        row = self.db.execute("SELECT story_id FROM articles WHERE url = ?", (url,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None
