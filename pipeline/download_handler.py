"""HTTP download handler: Scrapy's, with idle connections closed after seconds, not minutes.

Scrapy uses it for every http(s) request (``DOWNLOAD_HANDLERS``); the other schemes have no
handler at all.

Settings: ``NEWSMON_IDLE_CONNECTION_SECONDS``, besides those Scrapy's ``HTTP11DownloadHandler``
reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class HTTPDownloadHandler(HTTP11DownloadHandler):
    """Keeps an idle connection open for ``NEWSMON_IDLE_CONNECTION_SECONDS``.

    Twisted keeps one for minutes. A feed crawl asks most hosts for a robots.txt, a feed and a
    few pages within seconds, then never again: kept open that long, the connections of a large
    run pile up past the usual limit on open files, each with its buffers (measurements:
    docs/performance.md).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool.cachedConnectionTimeout = crawler.settings.getint(
            "NEWSMON_IDLE_CONNECTION_SECONDS"
        )
