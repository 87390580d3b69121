"""Extension that re-checks stored articles on a schedule, after the run's new pages.

When the spider opens, it reads the articles due for a re-check (``pipeline.revisits.schedule``,
at most ``NEWSMON_REVISIT_MAX_PER_RUN``). When the spider goes idle, that is when every feed and
every new page of the run is done, it schedules their requests at a lower priority than any
page, once: they go through the same downloader, with the same politeness (robots.txt, delays,
concurrency per host), as conditional requests with the validators of each page's last fetch
(``If-None-Match``, ``If-Modified-Since``). The known-articles middleware lets them through
(their ``newsmon_kind`` is ``revisit``).

Each answer becomes an ``ArticleItem`` carrying its ``Revisit``: a 304 (``not_modified``), a 404
or a 410 (``fetch_failed:404|410``), a redirect to the site's front page or to a section page
above the article (``redirected_to_section``), else the page as the feed spider makes it
(``FeedSpider.parse_article``), extracted and compared by the pipelines, written by
``pipeline.revisits.store.RevisionWriter``. A failure (time-out, 5xx, refused) is counted and
not stored: the article stays due and is tried on the next run.

Settings: ``NEWSMON_DB_PATH``; ``NEWSMON_REVISIT_AFTER`` (the schedule: durations such as
``1h,6h,24h,3d,7d``; ``0``: every stored article now; empty: off, ``NotConfigured``);
``NEWSMON_REVISIT_MAX_PER_RUN``; ``NEWSMON_FETCH_ARTICLES`` (off: no revisits either).
Stats: ``newsmon/revisits/due``, ``newsmon/revisits/requested``, ``newsmon/revisits/failed``;
the store counts the outcomes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.items import ArticleItem, Entry, Revisit
from pipeline.net.failures import describe, error_of
from pipeline.net.urls import normalize_url
from pipeline.parsing.feed_entries import iso_utc
from pipeline.revisits.schedule import RevisitSchedule, due_revisits, parse_durations
from spiders.feeds import FeedSpider

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

REVISIT_PRIORITY = -10  # below every new page (0) and feed (10)
# Index pages that stand for their folder: a redirect to /news/index.html is one to /news/.
_INDEX_PAGES = ("index.html", "index.htm", "index.php", "default.aspx")


class Revisits:
    def __init__(
        self,
        crawler: Crawler,
        db_path: str,
        stats: StatsCollector,
        schedule: RevisitSchedule,
        max_per_run: int,
    ) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.stats = stats
        self.schedule = schedule
        self.max_per_run = max_per_run
        self.due: list[Revisit] = []
        self.scheduled = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        try:
            steps = parse_durations(settings.getlist("NEWSMON_REVISIT_AFTER"))
        except ValueError as exc:
            raise NotConfigured(str(exc)) from exc
        if not steps:
            raise NotConfigured("NEWSMON_REVISIT_AFTER is empty: revisits are off")
        if not settings.getbool("NEWSMON_FETCH_ARTICLES"):
            raise NotConfigured("NEWSMON_FETCH_ARTICLES is off: no page is fetched")
        assert crawler.stats is not None
        extension = cls(
            crawler,
            settings.get("NEWSMON_DB_PATH"),
            crawler.stats,
            RevisitSchedule(steps),
            settings.getint("NEWSMON_REVISIT_MAX_PER_RUN"),
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        if not isinstance(spider, FeedSpider):
            return
        with open_db(self.db_path) as db:
            self.due = due_revisits(db, self.schedule, time.time(), self.max_per_run)
        self.stats.set_value("newsmon/revisits/due", len(self.due))
        if self.due:
            logger.info("%d stored articles are due for a re-check", len(self.due))

    def spider_idle(self, spider: Spider) -> None:
        """Once the run's own requests are done, schedule the re-checks (once)."""
        if self.scheduled or not self.due or self.crawler.engine is None:
            return
        self.scheduled = True
        due, self.due = self.due, []
        for revisit in due:
            self.crawler.engine.crawl(self.request(revisit, spider))
        self.stats.set_value("newsmon/revisits/requested", len(due))
        raise DontCloseSpider

    def request(self, revisit: Revisit, spider: Spider) -> Request:
        headers = {}
        if revisit.etag:
            headers["If-None-Match"] = revisit.etag
        if revisit.last_modified:
            headers["If-Modified-Since"] = revisit.last_modified
        limits = spider.article_limits if isinstance(spider, FeedSpider) else {}
        return Request(
            revisit.url,
            headers=headers,
            priority=REVISIT_PRIORITY,
            callback=self.page_checked,
            errback=self.check_failed,
            cb_kwargs={"revisit": revisit},
            dont_filter=True,
            meta={
                "newsmon_kind": "revisit",
                "handle_httpstatus_list": [304, *statuses.REMOVAL_HTTP_STATUSES],
                **limits,
            },
        )

    def page_checked(self, response: Response, revisit: Revisit) -> Iterator[ArticleItem]:
        """The answer to a re-check, as an item for the pipelines."""
        fetched_at = iso_utc(time.time())
        status, error = None, None
        if response.status == 304:
            status = statuses.NOT_MODIFIED
        elif response.status in statuses.REMOVAL_HTTP_STATUSES:
            status, error = statuses.fetch_failed(response.status), f"HTTP {response.status}"
        elif response.meta.get("redirect_urls") and is_front_or_section(revisit.url, response.url):
            status = statuses.REDIRECTED_TO_SECTION
            error = f"redirected to {normalize_url(response.url)}"
        if status is not None:
            yield ArticleItem(
                url=revisit.url,
                entry=self.entry(revisit),
                status=status,
                http_status=response.status,
                fetched_at=fetched_at,
                error=error,
                revisit=revisit,
            )
            return
        spider = self.crawler.spider
        assert isinstance(spider, FeedSpider)
        for item in spider.parse_article(response, self.entry(revisit)):
            item.url, item.revisit, item.requested_urls = revisit.url, revisit, [revisit.url]
            yield item

    def check_failed(self, failure: Failure) -> None:
        """A time-out, a 5xx, a refused connection: never a removal; tried again next run."""
        request = failure.request  # type: ignore[attr-defined]
        self.stats.inc_value("newsmon/revisits/failed")
        logger.info("Re-check of %s failed: %s", request.url, describe(error_of(failure)))

    @staticmethod
    def entry(revisit: Revisit) -> Entry:
        return Entry(feed_url=revisit.feed_url, link=revisit.url, title=revisit.entry_title)


def is_front_or_section(original: str, final: str) -> bool:
    """Whether a page at ``original`` that now redirects to ``final`` was taken down: ``final``
    is a site's front page, or on the same host a folder above the article's own path (its
    section: ``/news/politics/123-story`` to ``/news/politics/`` or ``/news/``)."""
    before, after = urlsplit(original), urlsplit(final)
    path = after.path
    for index in _INDEX_PAGES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
    path = path.rstrip("/")
    if not path:
        return True
    if (after.hostname or "").lower() != (before.hostname or "").lower():
        return False
    return before.path.startswith(path + "/") and before.path.rstrip("/") != path
