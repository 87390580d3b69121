from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.squeues import FifoMemoryQueue
from scrapy.utils.test import get_crawler

from pipeline.priority_queue import HostRoundRobinQueue


class Downloader:
    """What the queue asks of Scrapy's downloader: a request's host, and each host's downloads."""

    def __init__(self) -> None:
        self.slots: dict[str, SimpleNamespace] = {}

    def get_slot_key(self, request: Request) -> str:
        return urlsplit(request.url).hostname or ""

    def downloading(self, host: str, count: int) -> None:
        self.slots[host] = SimpleNamespace(active={object() for _ in range(count)})


def make_queue() -> tuple[HostRoundRobinQueue, Downloader]:
    crawler = get_crawler()
    downloader = Downloader()
    crawler.engine = SimpleNamespace(downloader=downloader)  # type: ignore[assignment]
    return HostRoundRobinQueue(crawler, FifoMemoryQueue, ""), downloader


def push(queue: HostRoundRobinQueue, *urls: str, priority: int = 0) -> None:
    for url in urls:
        queue.push(Request(url, priority=priority))


def pop_all(queue: HostRoundRobinQueue) -> list[str]:
    popped = []
    while (request := queue.pop()) is not None:
        popped.append(request.url)
    return popped


def test_the_host_with_most_waiting_goes_first_equals_in_turn() -> None:
    queue, _ = make_queue()
    push(queue, "http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://b/2", "http://c/1")
    assert len(queue) == 6
    assert queue.pop().url == "http://a/1"  # type: ignore[union-attr]
    assert len(queue) == 5
    # b and a have two each now; a was served last.
    assert pop_all(queue) == ["http://b/1", "http://a/2", "http://c/1", "http://b/2", "http://a/3"]
    assert len(queue) == 0


def test_a_site_with_many_pages_is_asked_whenever_it_is_idle() -> None:
    queue, downloader = make_queue()
    push(queue, *(f"http://small{i}/page" for i in range(100)))
    push(queue, *(f"http://big/{i}" for i in range(5)))
    order = []
    for _ in range(10):
        request = queue.pop()
        assert request is not None
        order.append(request.url)
        host = urlsplit(request.url).hostname or ""
        downloader.downloading(host, 1)  # busy until the next pop but one
        if len(order) > 1:
            downloader.downloading(urlsplit(order[-2]).hostname or "", 0)
    assert order[:8:2] == [f"http://big/{i}" for i in range(4)]
    assert "http://big/4" not in order  # with one page left, it waits its turn among equals


def test_a_host_with_downloads_in_progress_waits_for_idle_ones() -> None:
    queue, downloader = make_queue()
    push(queue, "http://a/1", "http://b/1", "http://c/1")
    downloader.downloading("a", 1)
    assert queue.pop().url == "http://b/1"  # type: ignore[union-attr]
    downloader.downloading("c", 3)
    assert queue.pop().url == "http://a/1"  # type: ignore[union-attr]  # all busy: the least
    assert queue.pop().url == "http://c/1"  # type: ignore[union-attr]


def test_a_host_keeps_its_requests_in_priority_order() -> None:
    queue, _ = make_queue()
    push(queue, "http://a/page", "http://b/page")
    push(queue, "http://a/feed", priority=10)
    assert pop_all(queue) == ["http://a/feed", "http://b/page", "http://a/page"]


def test_feeds_go_before_pages_whatever_their_host() -> None:
    queue, _ = make_queue()
    push(queue, "http://a/page1", "http://a/page2", "http://b/page")
    push(queue, "http://c/feed", "http://d/feed", priority=10)
    assert queue.peek().url == "http://c/feed"  # type: ignore[union-attr]
    assert pop_all(queue) == [
        "http://c/feed", "http://d/feed", "http://a/page1", "http://b/page", "http://a/page2"
    ]  # fmt: skip


def test_a_host_busy_with_its_feeds_does_not_hold_up_idle_hosts() -> None:
    queue, downloader = make_queue()
    push(queue, "http://a/feed1", "http://a/feed2", priority=10)
    push(queue, "http://b/page", "http://c/page")
    downloader.downloading("a", 1)
    assert queue.pop().url == "http://b/page"  # type: ignore[union-attr]
    downloader.downloading("c", 2)
    # Every host busy: the least busy with a feed waiting.
    assert pop_all(queue) == ["http://a/feed1", "http://a/feed2", "http://c/page"]
    assert len(queue) == 0


def test_peek_shows_the_next_request_without_taking_it() -> None:
    queue, _ = make_queue()
    push(queue, "http://a/1", "http://b/1")
    assert queue.peek().url == "http://a/1"  # type: ignore[union-attr]
    assert len(queue) == 2
    assert pop_all(queue) == ["http://a/1", "http://b/1"]


class CountingSlots(dict[str, SimpleNamespace]):
    looked_up = 0

    def __contains__(self, host: object) -> bool:
        self.looked_up += 1
        return super().__contains__(host)


def test_a_request_is_found_without_looking_at_every_waiting_host() -> None:
    queue, downloader = make_queue()
    downloader.slots = slots = CountingSlots()
    push(queue, *(f"http://host{i}/page" for i in range(1000)))
    for host in range(10):
        downloader.downloading(f"host{host}", 1)
    assert queue.pop().url == "http://host10/page"  # type: ignore[union-attr]
    assert slots.looked_up == 11  # not 1,000
    assert len(queue) == 999
