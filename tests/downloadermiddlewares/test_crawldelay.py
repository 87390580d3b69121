"""CrawlDelayMiddleware: robots.txt ``Crawl-delay``, capped at NEWSMON_MAX_CRAWL_DELAY, becomes
the delay of its host's download slot, without jitter, and no other slot's.

The tests use Scrapy's own ``Downloader`` (its slots and per-slot settings), behind a stand-in
engine; nothing is downloaded, and nothing waits: a slot's queue is not processed, or, for the
test of the scheduler's queue, processed by a stand-in that answers at once the requests of a
slot without delay and holds the others.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.core.downloader import Downloader, Slot
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.spiders import Spider
from scrapy.squeues import FifoMemoryQueue
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from pipeline import settings as newsmon_settings
from pipeline.downloadermiddlewares.crawldelay import EXEMPT_SLOT_SUFFIX, CrawlDelayMiddleware
from pipeline.priority_queue import HostRoundRobinQueue

SITE = "https://news.test"
OTHER = "https://other.test"
MAX_DELAY = 30.0
MIDDLEWARE = "pipeline.downloadermiddlewares.crawldelay.CrawlDelayMiddleware"


@dataclass
class Paced:
    """A CrawlDelayMiddleware in a crawler whose engine has a real Scrapy Downloader."""

    crawler: Crawler
    downloader: Downloader
    middleware: CrawlDelayMiddleware

    def robots(self, site: str, body: str) -> None:
        """Announce a parsed robots.txt of ``site``, as Scrapy's RobotsTxtMiddleware does."""
        parser = ProtegoRobotParser.from_crawler(self.crawler, body.encode())
        request = Request(f"{site}/robots.txt", meta={"dont_obey_robotstxt": True})
        self.crawler.signals.send_catch_log(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )

    def request(self, url: str, **meta: Any) -> Request:
        """Pass a request through the middleware (which hands it on at once)."""
        request = Request(url, meta=meta)
        self.middleware.process_request(request)
        return request

    def slot(self, url: str, **meta: Any) -> Slot:
        """The download slot that Scrapy gives the request, made if there is none yet."""
        return self.downloader._get_slot(self.request(url, **meta))[1]

    def stat(self, name: str) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats.get_value(f"newsmon/robots/{name}")


def make_paced(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Paced:
    crawler = get_crawler(
        settings_dict={
            "USER_AGENT": newsmon_settings.USER_AGENT,
            "NEWSMON_MAX_CRAWL_DELAY": MAX_DELAY,
            "DOWNLOADER_MIDDLEWARES_BASE": {},
            "DOWNLOADER_MIDDLEWARES": {MIDDLEWARE: 110},
            "DOWNLOAD_HANDLERS": {"http": None, "https": None},
            "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
            **settings,
        }
    )
    downloader = Downloader(crawler)
    monkeypatch.setattr(downloader, "_start_slot_gc", lambda: None)  # no reactor here
    crawler.engine = SimpleNamespace(downloader=downloader)  # type: ignore[assignment]
    [middleware] = downloader.middleware.middlewares
    assert isinstance(middleware, CrawlDelayMiddleware)
    return Paced(crawler, downloader, middleware)


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Paced]:
    yield make_paced(monkeypatch)


def test_the_crawl_delay_becomes_the_delay_of_the_sites_slot_without_jitter(
    paced: Paced,
) -> None:
    slot = paced.slot(f"{SITE}/robots.txt", dont_obey_robotstxt=True)  # robots.txt came first
    assert (slot.delay, slot.jitter) == (0.0, 0.5)  # Scrapy's defaults here
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.middleware.delays == {"news.test": 5.0}
    assert (slot.delay, slot.jitter) == (5.0, 0)
    assert slot.download_delay() == 5.0  # every time: no random part
    assert paced.slot(f"{SITE}/news/1.html") is slot
    assert paced.downloader.per_slot_settings == {"news.test": {"delay": 5.0, "jitter": 0}}
    assert paced.stat("crawl_delay_sites") == 1


def test_a_slot_made_later_gets_the_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 2.5\n")
    assert paced.downloader.slots == {}
    slot = paced.slot(f"{SITE}/news/1.html")
    assert (slot.delay, slot.jitter) == (2.5, 0)
    paced.downloader.slots.clear()  # as Scrapy's garbage collection of idle slots does
    again = paced.slot(f"{SITE}/news/2.html")
    assert again is not slot
    assert (again.delay, again.jitter) == (2.5, 0)


def test_a_crawl_delay_is_capped_at_newsmon_max_crawl_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 3600\n")
    assert paced.middleware.delays == {"news.test": MAX_DELAY}
    assert paced.slot(f"{SITE}/news/1.html").delay == MAX_DELAY


def test_a_lower_cap_setting_is_read_from_the_crawler(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, NEWSMON_MAX_CRAWL_DELAY=2)
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.middleware.max_delay == 2.0
    assert paced.slot(f"{SITE}/news/1.html").delay == 2.0


def test_the_delay_is_never_below_download_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, DOWNLOAD_DELAY=0.5)
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 0.2\n")
    assert (paced.slot(f"{SITE}/a.html").delay, paced.slot(f"{SITE}/a.html").jitter) == (0.5, 0)


def test_a_longer_delay_of_the_slot_is_kept(paced: Paced) -> None:
    slot = paced.slot(f"{SITE}/robots.txt", dont_obey_robotstxt=True)
    slot.delay = 8.0  # by AutoThrottle, from a slow robots.txt
    paced.downloader.per_slot_settings["news.test"] = {"delay": 9.0, "concurrency": 1}
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert (slot.delay, slot.jitter) == (8.0, 0)
    assert paced.downloader.per_slot_settings == {
        "news.test": {"delay": 9.0, "jitter": 0, "concurrency": 1}
    }


@pytest.mark.parametrize(
    "robots",
    [
        "User-agent: *\nDisallow: /private/\n",
        "",
        "User-agent: *\nCrawl-delay: 0\n",
        "User-agent: otherbot\nCrawl-delay: 5\n\nUser-agent: *\nDisallow:\n",
    ],
    ids=["no-crawl-delay", "empty", "zero", "other-agent-only"],
)
def test_a_robots_txt_without_a_crawl_delay_for_us_changes_nothing(
    paced: Paced, robots: str
) -> None:
    slot = paced.slot(f"{SITE}/robots.txt", dont_obey_robotstxt=True)
    paced.robots(SITE, robots)
    assert paced.middleware.delays == {}
    assert paced.downloader.per_slot_settings == {}
    assert (slot.delay, slot.jitter) == (0.0, 0.5)
    request = paced.request(f"{SITE}/news/1.html")
    assert request.meta == {}
    assert paced.stat("crawl_delay_sites") is None


def test_the_group_for_newsmon_wins_over_the_default_group(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 9\n\nUser-agent: newsmon\nCrawl-delay: 2\n")
    assert paced.middleware.delays == {"news.test": 2.0}


def test_robotstxt_user_agent_is_preferred_to_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, ROBOTSTXT_USER_AGENT="paperbot")
    paced.robots(
        SITE, "User-agent: newsmon\nCrawl-delay: 2\n\nUser-agent: paperbot\nCrawl-delay: 7\n"
    )
    assert paced.middleware.delays == {"news.test": 7.0}


def test_other_hosts_keep_their_slots_delay(paced: Paced) -> None:
    other = paced.slot(f"{OTHER}/robots.txt", dont_obey_robotstxt=True)
    other.delay = 1.5  # as AutoThrottle may have set it
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    paced.robots(OTHER, "User-agent: *\nDisallow:\n")
    assert paced.slot(f"{OTHER}/news/1.html") is other
    assert (other.delay, other.jitter) == (1.5, 0.5)
    assert "autothrottle_dont_adjust_delay" not in paced.request(f"{OTHER}/news/2.html").meta
    sub = paced.slot("https://sub.news.test/news/1.html")
    assert (sub.delay, sub.jitter) == (0.0, 0.5)
    assert set(paced.downloader.per_slot_settings) == {"news.test"}


def test_each_site_has_its_own_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    paced.robots(OTHER, "User-agent: *\nCrawl-delay: 2\n")
    assert paced.middleware.delays == {"news.test": 5.0, "other.test": 2.0}
    assert paced.stat("crawl_delay_sites") == 2
    assert paced.slot(f"{SITE}/a.html").delay == 5.0
    assert paced.slot(f"{OTHER}/a.html").delay == 2.0


def test_every_scheme_and_port_of_a_host_share_its_slot_and_the_longer_delay(
    paced: Paced,
) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    paced.robots("http://news.test:8080", "User-agent: *\nCrawl-delay: 3\n")
    assert paced.middleware.delays == {"news.test": 5.0}
    slot = paced.slot(f"{SITE}/a.html")
    assert paced.slot("http://news.test/b.html") is slot
    assert paced.slot("https://news.test:8443/c.html") is slot
    assert slot.delay == 5.0


def test_autothrottle_is_told_not_to_adjust_the_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    request = paced.request(f"{SITE}/news/1.html")
    assert request.meta == {"autothrottle_dont_adjust_delay": True}


def test_autothrottle_does_not_lower_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, AUTOTHROTTLE_ENABLED=True)
    extensions = paced.crawler.extensions.middlewares  # built from the crawler's settings
    assert any(isinstance(extension, AutoThrottle) for extension in extensions)
    paced.crawler.signals.send_catch_log(signal=signals.spider_opened, spider=Spider("news"))
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    slot = paced.slot(f"{SITE}/news/1.html")

    def fast_answer(request: Request) -> None:
        request.meta.update(download_slot="news.test", download_latency=0.01)
        paced.crawler.signals.send_catch_log(
            signal=signals.response_downloaded,
            response=Response(request.url, request=request),
            request=request,
            spider=None,
        )

    fast_answer(paced.request(f"{SITE}/news/1.html"))
    assert slot.delay == 5.0
    fast_answer(Request(f"{SITE}/news/2.html"))  # had it not passed through the middleware
    assert slot.delay < 5.0


def test_the_delay_is_put_back_when_the_slot_lost_it(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    slot = paced.slot(f"{SITE}/a.html")
    slot.delay, slot.jitter = 0.5, 0.5
    paced.request(f"{SITE}/b.html")
    assert (slot.delay, slot.jitter) == (5.0, 0)


def test_requests_that_do_not_obey_robots_txt_get_a_slot_of_their_own(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    site = paced.slot(f"{SITE}/news/1.html")
    request = paced.request(f"{SITE}/robots.txt", dont_obey_robotstxt=True)
    assert request.meta["download_slot"] == "news.test" + EXEMPT_SLOT_SUFFIX
    assert "autothrottle_dont_adjust_delay" not in request.meta
    exempt = paced.downloader._get_slot(request)[1]
    assert exempt is not site
    assert (exempt.delay, exempt.jitter) == (0.0, 0.5)  # Scrapy's defaults
    retried = paced.request(request.url, **request.meta)  # as RetryMiddleware copies it
    assert retried.meta["download_slot"] == "news.test" + EXEMPT_SLOT_SUFFIX


def test_a_redirect_is_spaced_in_the_slot_of_its_own_host(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    into = paced.request(f"{SITE}/a.html", download_slot="other.test", redirect_times=1)
    assert into.meta["download_slot"] == "news.test"
    assert into.meta["autothrottle_dont_adjust_delay"] is True
    out = paced.request(f"{OTHER}/a.html", download_slot="news.test", redirect_times=1)
    assert out.meta == {"download_slot": "other.test", "redirect_times": 1}
    # Without a Crawl-delay on either side, Scrapy's slot is kept.
    kept = paced.request("https://third.test/a.html", download_slot="other.test", redirect_times=1)
    assert kept.meta["download_slot"] == "other.test"


def test_requests_before_robots_txt_is_parsed_are_untouched(paced: Paced) -> None:
    request = paced.request(f"{SITE}/news/1.html")
    assert request.meta == {}
    assert paced.slot(f"{SITE}/news/1.html").delay == 0.0


def test_a_request_that_its_slot_cannot_send_yet_counts_as_a_wait(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    slot = paced.slot(f"{SITE}/a.html")

    def reach(url: str) -> None:
        request = paced.request(url)
        request.meta["download_slot"] = paced.downloader.get_slot_key(request)  # as Scrapy does
        paced.crawler.signals.send_catch_log(
            signal=signals.request_reached_downloader, request=request, spider=None
        )

    reach(f"{SITE}/a.html")  # the slot has sent nothing yet
    assert paced.stat("crawl_delay_waits") is None
    slot.lastseen = time.monotonic()  # it has just sent one
    reach(f"{SITE}/b.html")
    assert paced.stat("crawl_delay_waits") == 1
    slot.lastseen = 0
    slot.queue.append((Request(f"{SITE}/c.html"), Deferred()))
    reach(f"{SITE}/d.html")  # behind another
    assert paced.stat("crawl_delay_waits") == 2
    reach(f"{OTHER}/a.html")
    assert paced.stat("crawl_delay_waits") == 2


def test_the_middleware_never_holds_a_request() -> None:
    """Scrapy counts a request held in a middleware against CONCURRENT_REQUESTS, but not in its
    slot: the scheduler's queue would hand out more of the host's pages."""
    process_request = CrawlDelayMiddleware.process_request
    assert not inspect.iscoroutinefunction(process_request)
    assert inspect.signature(process_request).return_annotation == "None"


def test_a_sites_waits_stay_in_its_slot_and_do_not_hold_up_other_sites(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bug: 20 pages of a site with a Crawl-delay and 5 of one without, 4 requests at once.

    The engine asks the scheduler's queue for a request while the downloader has fewer than
    CONCURRENT_REQUESTS, and fetches it; the queue hands out a host's next page when the host
    has no request in its slot. A request waiting for the Crawl-delay must wait in its slot, so
    the other site's pages are handed out and answered first."""
    paced = make_paced(monkeypatch, CONCURRENT_REQUESTS=4, CONCURRENT_REQUESTS_PER_IP=0)
    downloader = paced.downloader
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 1\n")
    queue = HostRoundRobinQueue(paced.crawler, FifoMemoryQueue, "")
    for n in range(20):
        queue.push(Request(f"{SITE}/news/{n}.html"))
    for n in range(5):
        queue.push(Request(f"{OTHER}/news/{n}.html"))
    answered: list[str] = []

    def process_queue(slot: Slot) -> None:
        """A slot without delay answers at once; the delayed one holds its requests."""
        while not slot.delay and slot.queue:
            request, deferred = slot.queue.popleft()
            answered.append(request.url)
            deferred.callback(Response(request.url, request=request))

    monkeypatch.setattr(downloader, "_process_queue", process_queue)

    async def crawl() -> list[str]:
        handed: list[str] = []
        fetches = []
        while not downloader.needs_backout() and (request := queue.pop()) is not None:
            handed.append(request.url)
            fetches.append(downloader.fetch(request))
            for _ in range(10):  # let the fetch reach its slot, and an answer come back
                await asyncio.sleep(0)
            site = downloader.slots.get("news.test")
            held = {r for r in downloader.active if r.url.startswith(SITE)}
            assert site is not None
            assert held <= site.active  # every request of the site waits inside its slot
        for request, deferred in downloader.slots["news.test"].queue:
            deferred.callback(Response(request.url, request=request))
        for _ in range(10):
            await asyncio.sleep(0)
        assert all(fetch.called for fetch in fetches)
        return handed

    handed = asyncio.run(crawl())
    others = [f"{OTHER}/news/{n}.html" for n in range(5)]
    assert handed[:6] == [f"{SITE}/news/0.html", *others]
    assert answered == others  # at once, while the site's first page waits for its turn
    assert handed[6:] == [f"{SITE}/news/{n}.html" for n in range(1, 4)]
    assert len(queue) == 16
