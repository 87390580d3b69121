"""Item pipeline that extracts article text in worker processes.

The first item pipeline (``ITEM_PIPELINES``, 300): it takes the ``ArticleItem``s that carry a
downloaded page and hands the page to the crawl's worker pool (``pipeline.workers.pool``), which
runs ``pipeline.parsing.articles`` on it; dedup and the store come after. trafilatura is
CPU-bound. Running it on the reactor thread would stall every download for the duration of each
extraction, so pages are sent to the workers and awaited: the reactor keeps downloading while
the workers extract. Each page has a time and memory budget; a page that exceeds it is recorded
with the reason and the crawl goes on.

Settings: ``NEWSMON_MIN_TEXT_CHARS``; the worker pool's (``NEWSMON_EXTRACT_WORKERS``,
``NEWSMON_EXTRACT_TIMEOUT``, ``NEWSMON_EXTRACT_MEMORY_MB``, ``NEWSMON_EXTRACT_TASKS_PER_WORKER``,
``NEWSMON_WORKER_MAX_RSS_MB``), through ``crawl_workers``. Stats: ``newsmon/extract/pages``,
``newsmon/extract/<status>`` for pages that failed.
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


class ExtractPipeline:
    def __init__(self, stats: StatsCollector, pool: WorkerPool, min_text_chars: int) -> None:
        self.stats = stats
        self.pool = pool
        self.min_text_chars = min_text_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            crawl_workers(crawler),
            min_text_chars=crawler.settings.getint("NEWSMON_MIN_TEXT_CHARS"),
        )

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.body is None:
            return item
        body, item.body = item.body, None  # the page is not needed after extraction
        try:
            result = await self.pool.run(
                "extract", body, item.content_type, item.url, not item.entry.published
            )
        except WorkerError as exc:  # one page's failure, not the crawl's
            logger.warning("Extraction of %s: %s: %s", item.url, exc.status, exc)
            item.status, item.error = exc.status, str(exc)
            self.stats.inc_value(f"newsmon/extract/{exc.status}")
            return item
        self.apply(item, result)
        return item

    def apply(self, item: ArticleItem, result: dict[str, Any] | None) -> None:
        """Fill the item from an extraction result and set its status."""
        self.stats.inc_value("newsmon/extract/pages")
        if result is None:
            item.status, item.error = statuses.NO_TEXT, "trafilatura found no main text"
            return
        text = result["text"]
        item.title = result["title"] or item.entry.title
        item.author = result["author"] or item.entry.author
        item.published = item.entry.published or _date_to_iso(result["date"])
        item.site_name = result["site_name"]
        item.description = result["description"]
        item.canonical_url = result["canonical_url"]
        item.image = result["image"]
        if len(text) < self.min_text_chars:
            item.status = statuses.NO_TEXT
            item.error = f"main text too short ({len(text)} characters)"
            item.language = item.entry.language
        else:
            item.status, item.text = statuses.OK, text
            item.language = result["language"] or item.entry.language
            item.fingerprints = result["fingerprints"]
            item.text_stems = result["text_stems"]


def _date_to_iso(date: str | None) -> str | None:
    if not date:
        return None
    return date if "T" in date else f"{date}T00:00:00Z"
