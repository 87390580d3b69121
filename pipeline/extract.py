"""Item pipeline that extracts article text in worker processes.

trafilatura is CPU-bound. Running it on the reactor thread would stall every download for the
duration of each extraction, so pages are sent to a process pool and awaited: the reactor keeps
downloading while both cores extract.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from pipeline.extraction import exit_with_parent, extract_article
from pipeline.failures import describe
from pipeline.items import ArticleItem

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(
        self, stats: StatsCollector, workers: int, tasks_per_worker: int, min_text_chars: int
    ) -> None:
        self.stats = stats
        self.workers = workers
        self.tasks_per_worker = tasks_per_worker
        self.min_text_chars = min_text_chars
        self.executor: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            workers=settings.getint("NEWSMON_EXTRACT_WORKERS") or os.cpu_count() or 1,
            tasks_per_worker=settings.getint("NEWSMON_EXTRACT_TASKS_PER_WORKER"),
            min_text_chars=settings.getint("NEWSMON_MIN_TEXT_CHARS"),
        )

    def open_spider(self) -> None:
        self.executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=self.tasks_per_worker or None,
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )

    def close_spider(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.html is None:
            return item
        assert self.executor is not None
        html, item.html = item.html, None  # the page is not needed after extraction
        try:
            future = self.executor.submit(extract_article, html, item.url)
            result = await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001 (a crashed worker must cost one article, not the crawl)
            logger.warning("Extraction failed for %s: %s", item.url, describe(exc))
            item.status, item.error = "extract_failed", describe(exc)
            self.stats.inc_value("newsmon/extract/failed")
            return item
        self.apply(item, result)
        return item

    def apply(self, item: ArticleItem, result: dict[str, Any] | None) -> None:
        """Fill the item from an extraction result and set its status."""
        self.stats.inc_value("newsmon/extract/pages")
        if result is None:
            item.status, item.error = "no_text", "trafilatura found no main text"
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
            item.status = "no_text"
            item.error = f"main text too short ({len(text)} characters)"
            item.language = item.entry.language
        else:
            item.status, item.text = "ok", text
            item.language = result["language"] or item.entry.language
            item.fingerprints = result["fingerprints"]


def _date_to_iso(date: str | None) -> str | None:
    if not date:
        return None
    return date if "T" in date else f"{date}T00:00:00Z"
