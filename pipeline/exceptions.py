"""Every exception newsmon raises, in one place, but the requests it does not send.

Errors a user sees are one line that names the file, URL or query and the problem (the command
line prints them without a traceback). Requests the crawl does not send are Scrapy's
``IgnoreRequest``: they are in ``pipeline.downloadermiddlewares.ignored_requests``, because this
module is imported by the worker processes, which must not load Scrapy (measurements:
docs/performance.md).
"""

from __future__ import annotations

from pipeline import statuses

# Errors for the user ---------------------------------------------------------------------------


class NewsmonError(RuntimeError):
    """A run could not start or finish; the message is one line for the user."""


class DatabaseError(RuntimeError):
    """The database cannot be opened or written; the message names the file and why."""


class CrawlLocked(RuntimeError):
    """Another crawl holds the database's lock; the message names it."""


class FeedListError(ValueError):
    """The feed list cannot be read; the message says which file and why."""


class QueryError(ValueError):
    """A query that cannot be understood; the message says where."""


class WatchlistError(ValueError):
    """The watchlists file cannot be used; the message names the file and the problem."""


# Feeds and pages -------------------------------------------------------------------------------


class FeedParseError(ValueError):
    """The body is not a feed we can read; ``reason`` is stored as the feed's status."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[FeedParseError], tuple[str, str]]:
        return FeedParseError, (self.reason, str(self))


# Calls to the worker pool ----------------------------------------------------------------------


class WorkerError(Exception):
    """A call that did not return a result; ``status`` is what to record."""

    status = statuses.EXTRACT_FAILED


class CallTimeout(WorkerError):
    """The call ran over its time budget; its worker was killed and replaced."""

    status = statuses.EXTRACT_TIMEOUT


class WorkerDied(WorkerError):
    """The worker process ended during the call."""


class CallFailed(WorkerError):
    """The function raised in the worker (the worker itself is fine)."""


class OutOfMemory(WorkerError):
    """The call needed more memory than its budget; its worker was replaced."""

    status = statuses.EXTRACT_TOO_LARGE
