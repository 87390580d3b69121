"""Downloader middlewares that refuse non-http(s) URLs and non-public addresses.

``AddressGuardMiddleware`` runs before robots.txt (``DOWNLOADER_MIDDLEWARES``, 50) and again for
every redirect hop, since each hop is a new request. Host names are resolved first and every
address they resolve to is checked. ``RedirectGuardMiddleware`` (610) refuses redirects to other
schemes before Scrapy's ``RedirectMiddleware`` follows them. A refused request raises
``RefusedRequest``, stored as a refusal with its reason (``pipeline.statuses.refused``) and counted as ``newsmon/refused/<reason>``.

Settings: ``NEWSMON_ALLOW_PRIVATE``.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.threads import deferToThread

from pipeline.downloadermiddlewares.ignored_requests import RefusedRequest
from pipeline.net.addresses import AddressPolicy
from pipeline.net.urls import FETCHABLE_SCHEMES

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


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
        problem = scheme_problem(parsed.scheme, parsed.hostname)
        if problem:
            self._refuse(request, "scheme", problem)
        assert parsed.hostname is not None
        port = parsed.port or (443 if parsed.scheme.lower() == "https" else 80)
        key = (parsed.hostname, port)
        if key not in self._resolved:
            self._resolved[key] = await maybe_deferred_to_future(
                deferToThread(resolve_host, parsed.hostname, port)
            )
        problem = self.address_problem(parsed.hostname, self._resolved[key])
        if problem:
            self._refuse(request, "private", problem)

    def address_problem(self, host: str, addresses: list[str]) -> str | None:
        """Why connecting to ``host`` at these addresses is refused, or None."""
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason:
                return f"{host} resolves to {reason} address {address}"
        return None

    def _refuse(self, request: Request, reason: str, detail: str) -> None:
        self.stats.inc_value(f"newsmon/refused/{reason}")
        logger.info("Refused %s: %s", request.url, detail)
        raise RefusedRequest(reason, f"refused {request.url}: {detail}")


class RedirectGuardMiddleware:
    """Refuses redirects to URLs that are not http(s) (``file:``, ``data:``, ``javascript:``...),
    recording them as refused for their scheme; Scrapy's RedirectMiddleware would leave them as an
    unexplained 3xx, or fail on a URL it cannot build a request for. Runs before it (610 > 600).
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if not (300 <= response.status < 400 and location):
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        parts = urlsplit(target)
        problem = scheme_problem(parts.scheme, parts.hostname)
        if problem:
            self.stats.inc_value("newsmon/refused/scheme")
            logger.info("Refused redirect of %s to %s: %s", request.url, target[:200], problem)
            raise RefusedRequest("scheme", f"refused redirect to {target[:200]}: {problem}")
        return response


def scheme_problem(scheme: str, host: str | None) -> str | None:
    if scheme.lower() not in FETCHABLE_SCHEMES:
        return f"scheme {scheme or '(none)'!r} is not fetched"
    if not host:
        return "URL has no host"
    return None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, the way the connection will resolve it.

    Numeric spellings (``2130706433``, ``0x7f.1``) resolve to what they spell. A name that does
    not resolve gives an empty list: the download then fails with its own DNS error.
    """
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})
