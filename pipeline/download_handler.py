"""HTTP download handler: Scrapy's, with idle connections closed after seconds, not minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class HTTPDownloadHandler(HTTP11DownloadHandler):
    """Keeps an idle connection open for ``NEWSMON_IDLE_CONNECTION_SECONDS``.

    Twisted keeps one for 240 s. A feed crawl asks most hosts for a robots.txt, a feed and a few
    pages within seconds, then never again: a run of 4,700 feeds held 2,500 connections open
    after 30 s, over the usual limit of 1,024 open files, each with its buffers.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool.cachedConnectionTimeout = crawler.settings.getint(
            "NEWSMON_IDLE_CONNECTION_SECONDS"
        )
