"""Downloader middleware that tells the feed spider the newest post stored of a channel.

A Telegram channel (``feeds.kind`` ``telegram``) is read back only to the newest post already
stored (``spiders/channels.py``): this middleware looks it up, from the channel's sightings in
``entries`` (their ``guid`` is ``NAME/ID``), and passes its ID in ``meta`` as
``newsmon_newest_post``, as ``FeedScheduleMiddleware`` passes a feed's validators, so that the
spider knows no schema. Only stored posts count: after a killed run, the next read goes back to
the last post that was stored.

A feed on Telegram's own hosts is not retried at once when it fails (``dont_retry``): t.me
answers 429 with a ``Retry-After`` when asked too often, and the feed's back-off
(``FeedSchedule``) then waits at least that long, where Scrapy's retries would ask again now.

Settings: ``NEWSMON_DB_PATH``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals

from pipeline.db.connection import LazyReader
from pipeline.parsing.sources import TELEGRAM
from pipeline.parsing.telegram import TELEGRAM_HOSTS

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

NEWEST_POST_SQL = """
SELECT max(CAST(substr(e.guid, instr(e.guid, '/') + 1) AS INTEGER))
FROM feeds f JOIN entries e ON e.feed_id = f.id
WHERE f.url = ? AND f.kind = ? AND e.guid LIKE '%/%'
"""


class ChannelStateMiddleware:
    def __init__(self, db_path: str) -> None:
        self.reader = LazyReader(db_path)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler.settings.get("NEWSMON_DB_PATH"))
        crawler.signals.connect(middleware.reader.close, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if request.meta.get("newsmon_kind") != "feed":
            return
        if (urlsplit(request.url).hostname or "").lower() in TELEGRAM_HOSTS:
            request.meta.setdefault("dont_retry", True)
        if "newsmon_newest_post" not in request.meta:  # a cluster's node has it from its task
            request.meta["newsmon_newest_post"] = self.newest_post(request.url)

    def newest_post(self, url: str) -> int | None:
        """The ID of the channel's newest stored post; None if it is not a channel read before."""
        row = self.reader.fetchone(NEWEST_POST_SQL, (url, TELEGRAM))
        return int(row[0]) if row and row[0] is not None else None
