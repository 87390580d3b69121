"""Item pipeline that extracts article text in worker processes.

The first item pipeline (``ITEM_PIPELINES``, 300): it takes the ``ArticleItem``s that carry a
downloaded page and hands the page to the crawl's worker pool (``pipeline.workers.pool``), which
runs ``pipeline.parsing.articles`` on it; dedup and the store come after. trafilatura is
CPU-bound. Running it on the reactor thread would stall every download for the duration of each
extraction, so pages are sent to the workers and awaited: the reactor keeps downloading while
the workers extract. Each page has a time and memory budget; a page that exceeds it is recorded
with the reason and the crawl goes on.

Here, in the crawl, the page's metadata is weighed against the feed entry's: the title
(``headlines.choose_title``), the publication date (``dates.choose_published``; the feed's wins
unless it is the crawl time in disguise, which this pipeline notices when two entries of one feed
carry the same instant), the authors and credits (``bylines.split_byline`` on the feed's author
when the page names nobody). A page without main text keeps its metadata (status ``no_text``).

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
from pipeline.parsing.bylines import people_and_credits
from pipeline.parsing.dates import choose_published
from pipeline.parsing.headlines import choose_title
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
        # (feed URL, entry date) -> an entry link with that date, to notice a feed that stamps
        # all its entries with one instant (the time it was generated).
        self._feed_stamps: dict[tuple[str, str], str] = {}
        self._repeated_stamps: set[tuple[str, str]] = set()

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
            result = await self.pool.run("extract", body, item.content_type, item.url)
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
        entry = item.entry
        text = result["text"]
        item.title = choose_title(result["title"], result["title_forms"], entry.title)
        item.author, item.credits = people_and_credits(
            result["author"], result["credits"], entry.author
        )
        item.published = choose_published(
            entry.published, result["date"], item.fetched_at, self._stamp_repeated(item)
        )
        item.modified = result["modified"]
        item.site_name = result["site_name"]
        item.description = result["description"]
        item.canonical_url = result["canonical_url"]
        item.image = result["image"]
        if not text:
            item.status, item.error = statuses.NO_TEXT, "trafilatura found no main text"
            item.language = entry.language
        elif (chars := result["extracted_chars"]) < self.min_text_chars:
            item.status = statuses.NO_TEXT
            item.error = f"main text too short ({chars} characters)"
            item.language = item.entry.language
        else:
            item.status, item.text = statuses.OK, text
            item.language = result["language"] or item.entry.language
            item.fingerprints = result["fingerprints"]
            item.text_stems = result["text_stems"]

    def _stamp_repeated(self, item: ArticleItem) -> bool:
        """Whether another entry of the item's feed, seen in this run, has the same date."""
        entry = item.entry
        if not entry.published:
            return False
        stamp = (entry.feed_url, entry.published)
        link = entry.link or item.url
        first = self._feed_stamps.setdefault(stamp, link)
        if first != link:
            self._repeated_stamps.add(stamp)
        return stamp in self._repeated_stamps
