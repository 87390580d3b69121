"""Extension that lists the feed row a backfill's pages are stored under, out of the crawl.

A backfill (``spiders/backfill.py``) stores the pages it finds in a site's sitemaps as entries
of one feed row, the site's root URL, of kind ``sitemap``. When the spider opens, this
extension adds that row if it is missing, titled ``HOST (sitemaps)`` and marked removed, so
that ``newsmon crawl`` without ``--feeds`` does not read the site's home page as a feed; a row
that exists already (the site added as a feed) is left as it is. Only the backfill spider
enables it (its ``custom_settings``), whether run by ``newsmon backfill`` or ``scrapy crawl
backfill``.

Settings: ``NEWSMON_DB_PATH``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Spider, signals

from pipeline.db.connection import open_db
from pipeline.parsing.feed_entries import iso_utc
from pipeline.parsing.sources import SITEMAP

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class BackfillSource:
    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler.settings.get("NEWSMON_DB_PATH"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        feed_url = getattr(spider, "feed_url", None)
        if feed_url:
            self.list_out_of_the_crawl(feed_url)

    def list_out_of_the_crawl(self, feed_url: str) -> None:
        now = iso_utc(time.time())
        with open_db(self.db_path) as db, db.atomic():
            db.execute(
                "INSERT INTO feeds (url, title, site_url, kind, added_at, removed_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO NOTHING",
                (
                    feed_url,
                    f"{urlsplit(feed_url).hostname} (sitemaps)",
                    feed_url,
                    SITEMAP,
                    now,
                    now,
                ),
            )
