"""CrawlDelayMiddleware: robots.txt ``Crawl-delay``, capped at NEWSMON_MAX_CRAWL_DELAY, spaces
the requests to that site and to no other.

The middleware's clock and its wait are replaced: a test sets the time, and reads how long each
request would have been held instead of waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred, succeed

from pipeline import settings as newsmon_settings
from pipeline.downloadermiddlewares import crawldelay
from pipeline.downloadermiddlewares.crawldelay import CrawlDelayMiddleware

SITE = "https://news.test"
OTHER = "https://other.test"
MAX_DELAY = 30.0
START = 1000.0


@dataclass
class FakeTime:
    """Stands in for the ``time`` module of crawldelay: a monotonic clock the test sets."""

    now: float = START

    def monotonic(self) -> float:
        return self.now


@dataclass
class Paced:
    """A CrawlDelayMiddleware built from a crawler, with a fake clock and fake waits."""

    crawler: Crawler
    middleware: CrawlDelayMiddleware
    clock: FakeTime
    waits: list[float] = field(default_factory=list)

    def robots(self, site: str, body: str) -> None:
        """Announce a parsed robots.txt of ``site``, as Scrapy's RobotsTxtMiddleware does."""
        parser = ProtegoRobotParser.from_crawler(self.crawler, body.encode())
        request = Request(f"{site}/robots.txt", meta={"dont_obey_robotstxt": True})
        self.crawler.signals.send_catch_log(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )

    def request(self, url: str, **meta: Any) -> float:
        """Pass a request through the middleware at the clock's time: how long it was held."""
        before = len(self.waits)
        asyncio.run(self.middleware.process_request(Request(url, meta=meta)))
        held = self.waits[before:]
        assert len(held) <= 1
        return held[0] if held else 0.0

    def stat(self, name: str) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats.get_value(f"newsmon/robots/{name}")


def make_paced(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Paced:
    crawler = get_crawler(
        settings_dict={
            "USER_AGENT": newsmon_settings.USER_AGENT,
            "NEWSMON_MAX_CRAWL_DELAY": MAX_DELAY,
            **settings,
        }
    )
    clock = FakeTime()
    paced = Paced(crawler, CrawlDelayMiddleware.from_crawler(crawler), clock)

    def defer_later(_reactor: object, delay: float, call: Callable[[], None]) -> Deferred[None]:
        """deferLater without the wait: notes the delay and calls at once."""
        paced.waits.append(delay)
        call()
        return succeed(None)

    monkeypatch.setattr(crawldelay, "time", clock)
    monkeypatch.setattr(crawldelay, "deferLater", defer_later)
    return paced


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Paced]:
    yield make_paced(monkeypatch)


def test_requests_sent_together_are_spaced_by_the_crawl_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.middleware.delays == {"news.test": 5.0}
    assert paced.stat("crawl_delay_sites") == 1
    held = [paced.request(f"{SITE}/news/{n}.html") for n in range(3)]
    assert held == [0.0, 5.0, 10.0]
    assert paced.stat("crawl_delay_waits") == 2


def test_a_request_after_the_delay_has_passed_is_not_held(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.request(f"{SITE}/news/1.html") == 0.0
    paced.clock.now = START + 3
    assert paced.request(f"{SITE}/news/2.html") == 2.0  # 5 s after the first
    paced.clock.now = START + 20
    assert paced.request(f"{SITE}/news/3.html") == 0.0
    paced.clock.now = START + 21
    assert paced.request(f"{SITE}/news/4.html") == 4.0
    assert paced.stat("crawl_delay_waits") == 2


def test_a_fractional_crawl_delay_is_kept(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 2.5\n")
    assert [paced.request(f"{SITE}/news/{n}.html") for n in range(2)] == [0.0, 2.5]


def test_a_crawl_delay_is_capped_at_newsmon_max_crawl_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 3600\n")
    assert paced.middleware.delays == {"news.test": MAX_DELAY}
    held = [paced.request(f"{SITE}/news/{n}.html") for n in range(3)]
    assert held == [0.0, MAX_DELAY, 2 * MAX_DELAY]


def test_a_lower_cap_setting_is_read_from_the_crawler(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, NEWSMON_MAX_CRAWL_DELAY=2)
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.middleware.max_delay == 2.0
    assert [paced.request(f"{SITE}/news/{n}.html") for n in range(2)] == [0.0, 2.0]


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
    paced.robots(SITE, robots)
    assert paced.middleware.delays == {}
    assert paced.stat("crawl_delay_sites") is None
    assert [paced.request(f"{SITE}/news/{n}.html") for n in range(3)] == [0.0, 0.0, 0.0]
    assert paced.stat("crawl_delay_waits") is None


def test_the_group_for_newsmon_wins_over_the_default_group(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 9\n\nUser-agent: newsmon\nCrawl-delay: 2\n")
    assert paced.middleware.delays == {"news.test": 2.0}


def test_robotstxt_user_agent_is_preferred_to_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    paced = make_paced(monkeypatch, ROBOTSTXT_USER_AGENT="paperbot")
    paced.robots(
        SITE, "User-agent: newsmon\nCrawl-delay: 2\n\nUser-agent: paperbot\nCrawl-delay: 7\n"
    )
    assert paced.middleware.delays == {"news.test": 7.0}


def test_other_hosts_are_not_held(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    paced.robots(OTHER, "User-agent: *\nDisallow:\n")
    assert paced.request(f"{SITE}/news/1.html") == 0.0
    assert [paced.request(f"{OTHER}/news/{n}.html") for n in range(3)] == [0.0, 0.0, 0.0]
    assert paced.request("https://news.test:8443/news/1.html") == 0.0  # another netloc
    assert paced.request("https://sub.news.test/news/1.html") == 0.0
    assert paced.request(f"{SITE}/news/2.html") == 5.0  # the site's own spacing goes on


def test_each_site_is_spaced_by_its_own_delay(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    paced.robots(OTHER, "User-agent: *\nCrawl-delay: 2\n")
    assert paced.middleware.delays == {"news.test": 5.0, "other.test": 2.0}
    assert paced.stat("crawl_delay_sites") == 2
    held = [paced.request(f"{site}/a.html") for site in (SITE, OTHER, SITE, OTHER)]
    assert held == [0.0, 0.0, 5.0, 2.0]


def test_a_site_on_plain_http_shares_the_delay_of_its_netloc(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.request("https://news.test/a.html") == 0.0
    assert paced.request("http://news.test/b.html") == 5.0


def test_requests_that_do_not_obey_robots_txt_are_not_held(paced: Paced) -> None:
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert paced.request(f"{SITE}/news/1.html") == 0.0
    assert paced.request(f"{SITE}/robots.txt", dont_obey_robotstxt=True) == 0.0
    assert paced.request(f"{SITE}/news/2.html") == 5.0  # and it took no turn


def test_requests_before_robots_txt_is_parsed_are_not_held(paced: Paced) -> None:
    assert [paced.request(f"{SITE}/news/{n}.html") for n in range(2)] == [0.0, 0.0]
    paced.robots(SITE, "User-agent: *\nCrawl-delay: 5\n")
    assert [paced.request(f"{SITE}/news/{n}.html") for n in range(2)] == [0.0, 5.0]
