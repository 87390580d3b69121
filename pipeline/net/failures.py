"""Turning download failures into the short statuses that are stored (``pipeline.statuses``).

The feed spider's errbacks call these on every failed feed or article request.
"""

from __future__ import annotations

import gzip
import time
import traceback
import zlib
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TimeoutError

from pipeline import statuses
from pipeline.downloadermiddlewares.ignored_requests import KnownArticle, RefusedRequest

if TYPE_CHECKING:
    from twisted.python.failure import Failure

# Failures of the network rather than of the site: every feed failing so says "offline?".
NETWORK_FAILURES = frozenset(
    statuses.fetch_failed(reason)
    for reason in ("dns", "connection_refused", "timeout", "tcptimedouterror")
)
# What to tell a user whose request was refused because its address is not public.
ALLOW_PRIVATE_HINT = "to fetch from a non-public address, add --allow-private NET"


def error_of(failure: Failure) -> BaseException:
    """A failure's exception, without the frames' variables it kept alive (``release_frames``)."""
    if failure.value is None:
        return RuntimeError("unknown failure")
    release_frames(failure.value)
    return failure.value


def release_frames(error: BaseException) -> None:
    """Clear the local variables of the frames that an exception and its causes keep alive.

    A failure keeps the frames it was raised through, with their locals: Scrapy's stopped
    decompression of a gzip bomb, say, would keep what it had produced, up to
    ``DOWNLOAD_MAXSIZE``, to the end of the crawl (measurements: docs/performance.md). An errback
    needs the exception, not the frames.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


def failure_status(error: BaseException) -> tuple[str, int | None]:
    """Return ``(status, http_status)`` for an exception an errback received."""
    if isinstance(error, HttpError):
        return statuses.fetch_failed(error.response.status), error.response.status
    if isinstance(error, KnownArticle):
        return statuses.SEEN, None
    if isinstance(error, RefusedRequest):
        return statuses.refused(error.reason), None
    if isinstance(error, IgnoreRequest):
        message = str(error).lower()
        if "robots.txt" in message:
            return statuses.refused("robots"), None
        if "redirect" in message:
            return statuses.fetch_failed("redirects"), None
        if "size" in message:  # DOWNLOAD_MAXSIZE, before or after decompression
            return statuses.fetch_failed("too_large"), None
        return statuses.fetch_failed("ignored"), None
    if isinstance(error, DownloadCancelledError):
        # Scrapy cancels a download that exceeds DOWNLOAD_MAXSIZE, by Content-Length or as the
        # body arrives (the latter without a message).
        message = str(error).lower()
        reason = "too_large" if "size" in message or not message else "cancelled"
        return statuses.fetch_failed(reason), None
    kinds: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        ((gzip.BadGzipFile, zlib.error), "bad_compression"),
        ((DownloadTimeoutError, TimeoutError), "timeout"),
        ((CannotResolveHostError, DNSLookupError), "dns"),
        ((DownloadConnectionRefusedError, ConnectionRefusedError), "connection_refused"),
        (ResponseDataLossError, "data_loss"),
    ]
    for types, name in kinds:
        if isinstance(error, types):
            return statuses.fetch_failed(name), None
    return statuses.fetch_failed(type(error).__name__.lower()), None


def retry_after(error: BaseException) -> float | None:
    """Seconds a 429/503 response asked us to wait (``Retry-After``), if it did."""
    if not isinstance(error, HttpError):
        return None
    value = error.response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."
