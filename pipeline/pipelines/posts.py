"""Item pipeline for posts whose text the spider read whole (Telegram channel posts).

Beside ``ExtractPipeline`` (``ITEM_PIPELINES``, 310): a post has no page to extract, its text is
the message itself. The worker pool (``pipeline.workers.pool``) detects its language and
computes its fingerprints and search stems (``pipeline.parsing.posts``), so that dedup, stories,
search and watchlists treat it like any article. A post has no minimum length; a post without
text (a photo alone) is stored ``no_text``.

Settings: the worker pool's, through ``crawl_workers``. Stats: ``newsmon/posts/analysed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pipeline import statuses
from pipeline.exceptions import WorkerError
from pipeline.items import ArticleItem
from pipeline.workers.pool import WorkerPool, crawl_workers

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def is_post(item: Any) -> bool:
    """A post as the spider yields it: read (``fetched``) with its text and no page."""
    return (
        isinstance(item, ArticleItem)
        and item.status == statuses.FETCHED
        and item.body is None
        and item.text is not None
    )


class PostPipeline:
    def __init__(self, stats: StatsCollector, pool: WorkerPool) -> None:
        self.stats = stats
        self.pool = pool

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats, crawl_workers(crawler))

    async def process_item(self, item: Any) -> Any:
        if not is_post(item):
            return item
        assert item.text is not None
        try:
            result = await self.pool.run("analyse_post", item.title, item.text)
        except WorkerError as exc:
            logger.warning("Analysis of post %s: %s: %s", item.url, exc.status, exc)
            item.status, item.error, item.text = exc.status, str(exc), None
            self.stats.inc_value(f"newsmon/extract/{exc.status}")
            return item
        self.stats.inc_value("newsmon/posts/analysed")
        item.status = statuses.OK
        item.language = result["language"] or item.entry.language
        item.fingerprints = result["fingerprints"]
        item.text_stems = result["text_stems"]
        return item
