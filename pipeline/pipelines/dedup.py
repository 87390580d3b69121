"""Item pipeline that decides what an extracted article is: new, the same as one already stored,
a near-copy of one, and which story (same event) it belongs to.

It runs between extraction and the store (``ITEM_PIPELINES``, 400). Decisions are made on
fingerprints computed at extraction (``pipeline.text.fingerprints``), against the database as
committed plus the articles of this run that the store may not have committed yet. They are
recorded on the item by URL; the store turns them into rows (``DedupTables``). In order:

1. same text (hash of its words) as a stored article: a sighting of it, not a new row;
2. same canonical URL (``rel=canonical``/``og:url``, when sane) and a similar text: a sighting;
3. MinHash LSH candidates whose 4-word-shingle Jaccard similarity is at least
   ``NEWSMON_NEAR_DUPLICATE_THRESHOLD``: stored, with ``duplicate_of`` and the similarity;
4. otherwise a story: the best match by title-and-lead terms (IDF-weighted cosine, terms
   transliterated to Latin so Russian and English can meet, headlines sharing a term) among
   articles published within ``NEWSMON_STORY_WINDOW_DAYS``, if at least
   ``NEWSMON_STORY_THRESHOLD``; else a new story. With embeddings on, a unique article (and
   only a unique one: copies and near-copies are not embedded) is stored at once in a
   provisional story of its own, and its story is decided by its headline's embedding with its
   names and numbers once the page phase is over, when the dedup pipeline closes
   (``pipeline.pipelines.story_phase``).

Every lookup is bounded (indexed, with limits), so the cost per article does not grow with the
database: see ``benchmarks/dedup_bench.py`` (measurements: docs/performance.md).

Settings: ``NEWSMON_DB_PATH``, ``NEWSMON_NEAR_DUPLICATE_THRESHOLD``, ``NEWSMON_STORY_THRESHOLD``,
``NEWSMON_STORY_WINDOW_DAYS``, ``NEWSMON_STORY_VECTOR_*`` and the other ``NEWSMON_STORY_*`` weights
(``story_rules``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pipeline import statuses
from pipeline.db.connection import open_db, rows_in
from pipeline.items import ArticleItem
from pipeline.net.urls import FETCHABLE_SCHEMES, normalize_url
from pipeline.pipelines.embedding import StoryEmbedder
from pipeline.text.fingerprints import Fingerprints, hashed_jaccard, shingle_hashes, story_terms
from pipeline.text.story_match import StoryRules, within

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterable
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector
    from sqlite_utils import Database

    from pipeline.pipelines.story_phase import Pending

logger = logging.getLogger(__name__)

STORY_INDEX_TERMS = 12  # an article is found by its most distinctive terms
ROWS_PER_TERM = 50  # most recent articles read per index term
MAX_CANDIDATES = 50  # stored story candidates compared per article
NEAR_CANDIDATES = 5  # stored near-duplicate candidates compared exactly per article
RECENT_ARTICLES = 1000  # articles of this run kept in memory until surely committed


@dataclass
class Recent:
    """What dedup needs of an article of this run."""

    url: str
    signature: list[int]
    published: datetime | None
    terms: list[str]
    headline: set[str]
    keys: list[Any] = field(default_factory=list)  # hash, canonical, buckets it is filed under


class RecentIndex:
    """The last articles of this run, by text hash, canonical URL and LSH bucket."""

    def __init__(self, size: int = RECENT_ARTICLES) -> None:
        self.size = size
        self.articles: OrderedDict[str, Recent] = OrderedDict()
        self.by_key: dict[Any, list[str]] = {}

    def add(self, article: Recent) -> None:
        """File the article, in place of an earlier filing of its URL (a page fetched twice in
        one run); the oldest beyond ``size`` are forgotten."""
        self._forget(article.url)
        self.articles[article.url] = article
        for key in article.keys:
            self.by_key.setdefault(key, []).append(article.url)
        while len(self.articles) > self.size:
            self._forget(next(iter(self.articles)))

    def _forget(self, url: str) -> None:
        old = self.articles.pop(url, None)
        if old is None:
            return
        for key in old.keys:
            urls = [known for known in self.by_key.get(key, ()) if known != url]
            if urls:
                self.by_key[key] = urls
            else:
                self.by_key.pop(key, None)

    def lookup(self, key: Any) -> list[Recent]:
        return [self.articles[url] for url in self.by_key.get(key, ())]


class DedupPipeline:
    def __init__(
        self,
        db_path: str,
        stats: StatsCollector,
        near_threshold: float = 0.5,
        story_threshold: float = 0.3,
        story_window_days: float = 3.0,
        story_rules: StoryRules | None = None,
        vector_candidates: int = 1000,
        embedder: StoryEmbedder | None = None,
    ) -> None:
        self.db_path = db_path
        self.stats = stats
        self.near_threshold = near_threshold
        self.story_threshold = story_threshold
        self.story_window = timedelta(days=story_window_days)
        self.story_rules = story_rules or StoryRules()
        self.vector_candidates = vector_candidates
        self.embedder = embedder
        self._db: Database | None = None
        self._recent = RecentIndex()
        self._run_df: Counter[str] = Counter()
        self._run_articles = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        assert crawler.stats is not None
        return cls(
            settings.get("NEWSMON_DB_PATH"),
            crawler.stats,
            near_threshold=settings.getfloat("NEWSMON_NEAR_DUPLICATE_THRESHOLD"),
            story_threshold=settings.getfloat("NEWSMON_STORY_THRESHOLD"),
            story_window_days=settings.getfloat("NEWSMON_STORY_WINDOW_DAYS"),
            story_rules=story_rules(settings),
            vector_candidates=settings.getint("NEWSMON_STORY_VECTOR_CANDIDATES"),
            embedder=StoryEmbedder.from_crawler(crawler),
        )

    @property
    def db(self) -> Database:
        assert self._db is not None, "the pipeline is not open"
        return self._db

    def open_spider(self) -> None:
        self._db = open_db(self.db_path)

    def close_spider(self) -> Coroutine[Any, Any, None] | None:
        """Close; with embeddings on, after the stories phase (``story_phase``): Scrapy closes
        the store first, so every article of the page phase is committed, and the worker pool
        after the pipelines."""
        if self._db is None:
            return None
        if self.embedder is None:
            try:
                self._release_pending()
            finally:
                self._close()
            return None
        return self._stories_phase(self.embedder)

    def _release_pending(self) -> None:
        """With embeddings off, the articles an earlier run left waiting for their story keep
        the story of their own they have (``newsmon regroup`` can group them), and watchlists
        match them."""
        with self.db.atomic():
            released = self.db.execute("DELETE FROM story_pending").rowcount
        if released:
            logger.warning(
                "Embeddings off: %d articles left waiting for their story keep their own "
                "(newsmon regroup groups them)",
                released,
            )

    async def _stories_phase(self, embedder: StoryEmbedder) -> None:
        from pipeline.pipelines.story_phase import StoryPhase

        self.stats.set_value("newsmon/pages/last_at", time.time())  # the page phase is over
        try:
            if self.db.execute("SELECT 1 FROM story_pending LIMIT 1").fetchone():
                embedder.pool.recycle()
                await StoryPhase(
                    self.db,
                    self.stats,
                    embedder,
                    self.story_rules,
                    self.story_window,
                    self.vector_candidates,
                    self._pending_by_terms,
                ).run()
        finally:
            self._close()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def process_item(self, item: Any) -> Any:
        """The item, decided (with embeddings on, a unique article's story is provisional)."""
        if isinstance(item, ArticleItem) and item.status == statuses.OK and item.fingerprints:
            if item.revisit is not None:  # a stored article re-checked: never its own copy
                self.refile(item, item.fingerprints)
                return item
            self.classify(item, item.fingerprints)
        return item

    def refile(self, item: ArticleItem, fp: Fingerprints) -> None:
        """The story index terms and norm of a stored article's new text (a revisit): if it
        was edited, the store files it anew under them (``DedupTables.refile_text``)."""
        idf, _ = self._idf(fp.story_terms)
        item.story_index_terms = index_terms(fp.story_terms, idf)
        item.story_norm = term_norm(fp.story_terms, idf)

    def classify(self, item: ArticleItem, fp: Fingerprints) -> None:
        """Decide what the article is; a unique article's story too, or with embeddings on, that
        it is decided after the page phase."""
        item.canonical_url = sane_canonical(item.canonical_url, item.url)
        comparable = fp.comparable()  # a text of a word or two is nobody's copy
        same = comparable and (self._same_text(item.url, fp) or self._same_canonical(item, fp))
        if same:
            item.same_as_url, reason = same
            self.stats.inc_value(f"newsmon/dedup/same_{reason}")
            return
        near = self._near_duplicate(item, fp) if comparable else None
        keys: list[Any] = []  # what later copies find it by
        if comparable:
            keys.append(("hash", fp.text_hash))
            if item.canonical_url:
                keys.append(("canonical", item.canonical_url))
            if near is None:
                keys += [("bucket", bucket) for bucket in fp.buckets]
        published = parse_time(item.published)
        terms = fp.story_terms
        headline = set(story_terms(item.title, None))
        idf, seen = self._idf(terms)
        norm = term_norm(terms, idf)
        if near is not None:
            item.duplicate_of_url, item.duplicate_similarity = near
            item.story_of_url = near[0]
            self.stats.inc_value("newsmon/dedup/near_duplicate")
        else:
            if self.embedder is None:
                self._join(
                    item, self._story_match(item.url, published, terms, headline, idf, norm, seen)
                )
            else:
                item.story_pending = True
            item.story_index_terms = index_terms(terms, idf)
            self.stats.inc_value("newsmon/dedup/unique")
            self._run_df.update(set(terms))
            self._run_articles += 1
        item.story_norm = norm
        self._recent.add(Recent(item.url, fp.signature, published, terms, headline, keys))

    def _join(self, item: ArticleItem, story_of_url: str | None) -> None:
        item.story_of_url = story_of_url
        self.stats.inc_value("newsmon/stories/joined" if story_of_url else "newsmon/stories/new")

    def _same_text(self, url: str, fp: Fingerprints) -> tuple[str, str] | None:
        for known in self._recent.lookup(("hash", fp.text_hash)):
            if known.url != url:
                return known.url, "text"
        row = self.db.execute(
            "SELECT url FROM articles WHERE text_hash = ? AND url != ? LIMIT 1",
            (fp.text_hash, url),
        ).fetchone()
        return (row[0], "text") if row else None

    def _same_canonical(self, item: ArticleItem, fp: Fingerprints) -> tuple[str, str] | None:
        """An article with the same canonical URL, if its text is alike too."""
        canonical = item.canonical_url
        if not canonical:
            return None
        recent = [r for r in self._recent.lookup(("canonical", canonical)) if r.url != item.url]
        if recent:
            known, similarity = recent[0].url, estimated(fp.signature, recent[0].signature)
        else:
            row = self.db.execute(
                "SELECT url, text FROM articles WHERE (canonical_url = ? OR url = ?) AND url != ? "
                "AND text_hash IS NOT NULL AND duplicate_of IS NULL LIMIT 1",
                (canonical, canonical, item.url),
            ).fetchone()
            if row is None:
                return None
            known = row[0]
            similarity = hashed_jaccard(fp.shingle_hashes, stored_shingle_hashes(row[1] or ""))
        if similarity < self.near_threshold:
            self.stats.inc_value("newsmon/dedup/canonical_conflict")
            return None
        return known, "canonical"

    def _near_duplicate(self, item: ArticleItem, fp: Fingerprints) -> tuple[str, float] | None:
        buckets = fp.buckets
        candidates: dict[str, float] = {}
        for bucket in buckets:
            for known in self._recent.lookup(("bucket", bucket)):
                if known.url != item.url and known.url not in candidates:
                    # Maybe not committed yet: compare signatures (an estimate, error ~0.06).
                    candidates[known.url] = estimated(fp.signature, known.signature)
        # Stored candidates sharing the most bands are the most similar: only the best few are
        # compared exactly, which means reading and shingling their texts.
        placeholders = ", ".join("?" * len(buckets))
        rows = self.db.execute(
            f"SELECT a.url, a.text FROM (SELECT article_id, count(*) AS bands "
            f"FROM near_dup_buckets WHERE bucket IN ({placeholders}) GROUP BY article_id "
            f"ORDER BY bands DESC LIMIT ?) c JOIN articles a ON a.id = c.article_id "
            f"WHERE a.url != ? AND a.duplicate_of IS NULL",
            (*buckets, NEAR_CANDIDATES, item.url),
        ).fetchall()
        for url, text in rows:
            candidates[url] = hashed_jaccard(fp.shingle_hashes, stored_shingle_hashes(text or ""))
        if not candidates:
            return None
        best = max(candidates, key=lambda url: candidates[url])
        similarity = round(candidates[best], 3)
        return (best, similarity) if similarity >= self.near_threshold else None

    def _pending_by_terms(self, article: Pending) -> str | None:
        """The article whose story a pending one joins by its terms (its embedding failed)."""
        terms = article.story_terms
        idf, seen = self._idf(terms)
        norm = term_norm(terms, idf)
        headline = set(story_terms(article.title, None))
        published = parse_time(article.published)
        return self._story_match(article.url, published, terms, headline, idf, norm, seen)

    def _story_match(
        self,
        url: str,
        published: datetime | None,
        terms: list[str],
        headline: set[str],
        idf: dict[str, float],
        norm: float,
        seen: list[str],
    ) -> str | None:
        """The article whose story this one joins; ``seen`` are its terms already stored."""
        if not terms:
            return None
        candidates = {
            r.url: (r.terms, r.headline)
            for r in self._recent.articles.values()
            if r.url != url and within(published, r.published, self.story_window)
        }
        # Terms seen before, rarest first: terms new to the database cannot find anything.
        query_terms = index_terms(seen, idf, 2 * STORY_INDEX_TERMS)
        candidates.update(self._indexed_candidates(query_terms, published, url))
        mine = set(terms)
        alike = {
            other: set(other_terms)
            for other, (other_terms, other_headline) in candidates.items()
            # Write-ups of one event share at least a name in their headlines, and a term.
            if headline & other_headline and not mine.isdisjoint(other_terms)
        }
        if not alike:
            return None
        # Both vectors weighted alike, by what is known now: a norm computed when the other
        # article was stored used fewer documents, and the score would depend on their order.
        weights = {**self._term_idf(set().union(*alike.values()) - mine), **idf}
        best, best_score = None, 0.0
        for other, other_terms in alike.items():
            other_norm = term_norm(other_terms, weights)
            score = sum(idf[t] ** 2 for t in mine & other_terms) / (norm * other_norm)
            if score > best_score:
                best, best_score = other, score
        return best if best_score >= self.story_threshold else None

    def _indexed_candidates(
        self, terms: list[str], published: datetime | None, url: str
    ) -> dict[str, tuple[list[str], set[str]]]:
        """Stored articles in the time window sharing at least two index terms, most first.

        One shared term is noise more often than not; two distinctive terms are a lead.
        """
        if published is None or not terms:
            return {}
        low = iso(published - self.story_window)
        high = iso(published + self.story_window)
        hits: Counter[int] = Counter()
        for term in terms:
            rows = self.db.execute(
                "SELECT article_id FROM story_index WHERE term = ? AND published BETWEEN ? AND ? "
                "ORDER BY published DESC LIMIT ?",
                (term, low, high, ROWS_PER_TERM),
            ).fetchall()
            hits.update(row[0] for row in rows)
        ids = [article_id for article_id, n in hits.most_common(MAX_CANDIDATES) if n >= 2]
        if not ids:
            return {}
        placeholders = ", ".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT url, story_terms, title FROM articles "
            f"WHERE id IN ({placeholders}) AND url != ?",
            (*ids, url),
        ).fetchall()
        return {row[0]: ((row[1] or "").split(), set(story_terms(row[2], None))) for row in rows}

    def _idf(self, terms: list[str]) -> tuple[dict[str, float], list[str]]:
        """Each term's inverse document frequency, and the terms already stored."""
        unique = set(terms)
        stored = self._stored_df(unique)
        return self._term_idf(unique, stored), [term for term in terms if stored.get(term)]

    def _term_idf(self, terms: set[str], stored: dict[str, int] | None = None) -> dict[str, float]:
        """Inverse document frequencies over the stored articles and this run's."""
        if stored is None:
            stored = self._stored_df(terms)
        (articles,) = self.db.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()
        total = articles + self._run_articles + 1
        return {
            term: math.log((total + 1) / (stored.get(term, 0) + self._run_df[term] + 1)) + 1
            for term in terms
        }

    def _stored_df(self, terms: set[str]) -> dict[str, int]:
        """How many stored articles have each term (0 if none)."""
        return dict(rows_in(self.db, "SELECT term, df FROM term_df WHERE term IN ({})", terms))


def term_norm(terms: Iterable[str], idf: dict[str, float]) -> float:
    """The length of an article's IDF-weighted term vector (``articles.story_norm``)."""
    return math.sqrt(sum(idf[t] ** 2 for t in set(terms)))


def story_rules(settings: BaseSettings) -> StoryRules:
    """The story decision's weights and thresholds, from the settings."""
    return StoryRules(
        threshold=settings.getfloat("NEWSMON_STORY_VECTOR_THRESHOLD"),
        mean_threshold=settings.getfloat("NEWSMON_STORY_VECTOR_MEAN_THRESHOLD"),
        name_weight=settings.getfloat("NEWSMON_STORY_NAME_WEIGHT"),
        number_weight=settings.getfloat("NEWSMON_STORY_NUMBER_WEIGHT"),
        same_outlet_penalty=settings.getfloat("NEWSMON_STORY_SAME_OUTLET_PENALTY"),
        day_penalty=settings.getfloat("NEWSMON_STORY_DAY_PENALTY"),
        number_conflict_penalty=settings.getfloat("NEWSMON_STORY_NUMBER_CONFLICT_PENALTY"),
        common_name_share=settings.getfloat("NEWSMON_STORY_COMMON_NAME_SHARE"),
        cross_language_bonus=settings.getfloat("NEWSMON_STORY_CROSS_LANGUAGE_BONUS"),
    )


# Shingles of stored candidate texts, kept for the next articles: copies of one story arrive
# together, and each is compared with the same few stored texts.
stored_shingle_hashes = lru_cache(maxsize=64)(shingle_hashes)


def estimated(signature: list[int], other: list[int]) -> float:
    """Jaccard similarity estimated from two MinHash signatures (error about 0.06 at 64)."""
    return sum(a == b for a, b in zip(signature, other, strict=True)) / len(signature)


def index_terms(
    terms: list[str], idf: dict[str, float], count: int = STORY_INDEX_TERMS
) -> list[str]:
    """The terms an article is found by: its most distinctive ones."""
    return sorted(set(terms), key=lambda t: (-idf.get(t, 0.0), t))[:count]


def sane_canonical(canonical: str | None, url: str) -> str | None:
    """The page's canonical URL, normalised, if it can name an article; else None.

    Refused: non-http(s) URLs and site roots (a common CMS default). A canonical URL shared by
    pages with different texts (a section page, say) is caught later: texts must match too.
    """
    if not canonical:
        return None
    normalized = normalize_url(canonical)
    parts = normalized.split("/", 3)
    if normalized.split(":", 1)[0] not in FETCHABLE_SCHEMES or len(parts) < 4 or not parts[3]:
        return None
    return normalized


def parse_time(value: str | None) -> datetime | None:
    """A stored date as an instant in UTC. A date or time without a zone (the page did not say
    one) is read as UTC, as ``parsing.dates`` reads it, never as this machine's local time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
