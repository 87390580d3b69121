"""The requests newsmon does not send, as Scrapy's ``IgnoreRequest``: raised by the downloader
middlewares, turned into a stored status by ``pipeline.net.failures``.

Every other exception is in ``pipeline.exceptions``.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class RefusedRequest(IgnoreRequest):
    """A request newsmon will not send; ``reason`` is stored as a refusal
    (``pipeline.statuses.refused``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FeedNotDue(IgnoreRequest):
    """The feed is backing off after failures; it is not fetched in this run."""


class KnownArticle(IgnoreRequest):
    """The page is stored already: the entry becomes a sighting of it."""
