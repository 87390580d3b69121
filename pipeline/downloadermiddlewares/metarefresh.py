"""Downloader middleware that follows meta refresh redirects (``<meta http-equiv="refresh">``),
found without decoding whole pages.

It takes the place of Scrapy's ``MetaRefreshMiddleware`` (``DOWNLOADER_MIDDLEWARES``, 580). That
one looks for the tag in the first 4,096 characters of a page, but takes them from
``response.text``, which decodes the whole page first, in the crawl process, for pages that only
the extraction workers read (measurements: docs/performance.md). This one gives Scrapy's code
only the first ``HEAD_BYTES`` of a page larger than that.

Settings: Scrapy's, as for ``MetaRefreshMiddleware``: ``METAREFRESH_ENABLED``,
``METAREFRESH_IGNORE_TAGS``, ``METAREFRESH_MAXDELAY``, ``REDIRECT_MAX_TIMES``,
``REDIRECT_PRIORITY_ADJUST``.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

HEAD_BYTES = 16 * 1024  # 4,096 characters take at most this many bytes (4 each in UTF-8)


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's ``MetaRefreshMiddleware``, given only the head of the page."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if not isinstance(response, HtmlResponse) or len(response.body) <= HEAD_BYTES:
            return super().process_response(request, response)
        head = response.replace(body=response.body[:HEAD_BYTES])
        result = super().process_response(request, head)
        return response if result is head else result
