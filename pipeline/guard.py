"""Downloader middleware that refuses non-http(s) URLs and non-public addresses.

It runs before robots.txt and again for every redirect hop, since each hop is a new request.
Host names are resolved first and every address they resolve to is checked.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.threads import deferToThread

from pipeline.addresses import AddressPolicy
from pipeline.urls import FETCHABLE_SCHEMES

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class RefusedRequest(IgnoreRequest):
    """A request newsmon will not send; ``reason`` is stored as ``refused:<reason>``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AddressGuardMiddleware:
    def __init__(self, policy: AddressPolicy, stats: StatsCollector) -> None:
        self.policy = policy
        self.stats = stats
        self._resolved: dict[tuple[str, int], list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        policy = AddressPolicy.from_specs(crawler.settings.getlist("NEWSMON_ALLOW_PRIVATE"))
        return cls(policy, crawler.stats)

    async def process_request(self, request: Request) -> None:
        parsed = urlparse_cached(request)
        scheme = parsed.scheme.lower()
        if scheme not in FETCHABLE_SCHEMES:
            self._refuse(request, "scheme", f"scheme {scheme or '(none)'!r} is not fetched")
        host = parsed.hostname
        if not host:
            self._refuse(request, "scheme", "URL has no host")
        port = parsed.port or (443 if scheme == "https" else 80)
        for address in await self._resolve(host, port):
            reason = self.policy.refusal(address)
            if reason:
                self._refuse(
                    request, "private", f"{host} resolves to {reason} address {address}"
                )

    async def _resolve(self, host: str, port: int) -> list[str]:
        key = (host, port)
        if key not in self._resolved:
            try:
                infos: list[Any] = await maybe_deferred_to_future(
                    deferToThread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
                )
            except (OSError, UnicodeError):
                return []  # the download fails with its own DNS error, recorded as such
            self._resolved[key] = sorted({info[4][0] for info in infos})
        return self._resolved[key]

    def _refuse(self, request: Request, reason: str, detail: str) -> None:
        self.stats.inc_value(f"newsmon/refused/{reason}")
        logger.info("Refused %s: %s", request.url, detail)
        raise RefusedRequest(reason, f"refused {request.url}: {detail}")
