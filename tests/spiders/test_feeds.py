"""The feed spider's callbacks, called directly on responses built from fixture files."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from pipeline.downloadermiddlewares.ignored_requests import RefusedRequest
from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.parsing.decoding import decode_page
from pipeline.parsing.feed_lists import FeedSource
from pipeline.workers.pool import WorkerPool
from spiders.feeds import FeedSpider
from tests.conftest import fixture_bytes

BASE = "http://news.test"
CANARY = "http://canary.test"


def feed_response(name: str, content_type: str = "application/rss+xml") -> XmlResponse:
    feed = FeedSource(f"{BASE}/feeds/{name}", "Configured title", "World")
    request = Request(feed.url, cb_kwargs={"feed": feed})
    return XmlResponse(
        url=feed.url,
        body=fixture_bytes(f"feeds/{name}", BASE, CANARY),
        headers={"Content-Type": content_type},
        request=request,
    )


def run_feed(spider: FeedSpider, name: str, content_type: str = "application/rss+xml") -> list[Any]:
    response = feed_response(name, content_type)
    assert response.request is not None

    async def collect() -> list[Any]:
        return [out async for out in spider.parse_feed(response, **response.request.cb_kwargs)]  # type: ignore[union-attr]

    return asyncio.run(collect())


def test_feed_callback_yields_feed_item_then_requests_with_entry_data() -> None:
    spider = FeedSpider()
    output = run_feed(spider, "world.rss")
    feed_item = output[0]
    assert isinstance(feed_item, FeedItem)
    assert (feed_item.status, feed_item.title, feed_item.entries) == (
        "ok",
        "Steppe Courier: World",
        10,
    )
    assert feed_item.category == "World"
    requests = [o for o in output if isinstance(o, Request)]
    first = requests[0]
    # Tracking parameters are dropped from the request; the entry keeps the link as published.
    assert first.url == f"{BASE}/news/en-border.html"
    entry = first.cb_kwargs["entry"]
    assert entry.link == f"{BASE}/news/en-border.html?utm_source=rss&utm_medium=feed"
    assert (entry.feed_url, entry.guid) == (f"{BASE}/feeds/world.rss", "urn:sc:1")
    assert first.callback == spider.parse_article
    assert first.errback == spider.article_failed
    assert requests[1].url == f"{BASE}/news/en-study.html"
    assert f"{CANARY}/canary" in [r.url for r in requests]  # refused later, by the guard


def test_entries_that_cannot_be_fetched_become_items() -> None:
    output = run_feed(FeedSpider(), "world.rss")
    items = {o.entry.title: o for o in output if isinstance(o, ArticleItem)}
    assert items["A local file"].status == "refused:scheme"
    assert items["Brief: no link for this one"].status == "no_link"
    assert items["Brief: no link for this one"].url.startswith("urn:newsmon:entry:")
    assert items["Brief: no link for this one"].entry.summary == "Only a summary, no page."


def test_a_link_already_requested_in_this_run_becomes_a_sighting() -> None:
    spider = FeedSpider()
    run_feed(spider, "world.rss")
    output = run_feed(spider, "ukrainian.atom")
    sightings = [o for o in output if isinstance(o, ArticleItem)]
    assert [(s.url, s.status) for s in sightings] == [(f"{BASE}/news/en-border.html", "seen")]
    assert sightings[0].entry.link == f"{BASE}/news/en-border.html?utm_campaign=syndication"


def test_unreadable_feed_yields_only_its_status() -> None:
    output = run_feed(FeedSpider(), "not-a-feed.html", "text/html")
    assert len(output) == 1
    assert (output[0].status, output[0].title) == ("not_a_feed", "Configured title")


def never_finishes(*args: Any) -> None:
    """A feed parser stuck in a regex (runs in the parsing worker)."""
    while True:
        pass


def test_a_feed_that_keeps_the_parser_busy_is_stopped_and_recorded() -> None:
    spider = FeedSpider()
    spider.parser = WorkerPool(never_finishes, 1, timeout=20)
    spider.parse_timeout = 1
    spider.parser.start()
    try:
        (item,) = run_feed(spider, "world.rss")
    finally:
        spider.parser.close()
    assert item.status == "parse_timeout"
    assert "parsing stopped, no result within 1 s" in item.error
    assert spider.parser.replaced == 1  # the stuck worker was killed; the next feed gets a new one


def test_feeds_are_parsed_in_a_worker_process() -> None:
    spider = FeedSpider()
    spider.parser = WorkerPool("pipeline.workers.crawl_tasks:run", 1, timeout=30)
    spider.parser.start()
    try:
        output = run_feed(spider, "russian.xml")
        unreadable = run_feed(spider, "not-a-feed.html", "text/html")
    finally:
        spider.parser.close()
    assert output[0].status == "ok" and len(output) > 1
    assert [(i.status, i.title) for i in unreadable] == [("not_a_feed", "Configured title")]


def test_huge_titles_are_truncated() -> None:
    spider = FeedSpider(max_title_chars=20)
    entry = Entry(feed_url=f"{BASE}/f", link=f"{BASE}/a", title="x" * 5000)
    list(spider.follow_entry(entry))
    assert entry.title == "x" * 19 + "…"


def test_article_pages_have_lower_download_limits_than_feeds() -> None:
    settings = {
        "DOWNLOAD_TIMEOUT": 30,
        "NEWSMON_ARTICLE_TIMEOUT": 15,
        "DOWNLOAD_MAXSIZE": 32 * 2**20,
        "NEWSMON_ARTICLE_MAXSIZE": 8 * 2**20,
        "NEWSMON_FEEDS": [BASE],
        "NEWSMON_FETCH_ARTICLES": True,
        "NEWSMON_MAX_URL_CHARS": 2048,
        "NEWSMON_MAX_TITLE_CHARS": 1000,
    }
    spider = FeedSpider.from_crawler(get_crawler(FeedSpider, settings))
    entry = Entry(feed_url=f"{BASE}/f", link=f"{BASE}/a", title="T")
    (request,) = spider.follow_entry(entry)
    assert isinstance(request, Request)
    assert (request.meta["download_timeout"], request.meta["download_maxsize"]) == (15, 8 * 2**20)
    # A crawl's own lower limit stays lower; 0 is no limit, as in Scrapy.
    lower = {**settings, "DOWNLOAD_TIMEOUT": 5, "DOWNLOAD_MAXSIZE": 2**20}
    spider = FeedSpider.from_crawler(get_crawler(FeedSpider, lower))
    (request,) = spider.follow_entry(entry)
    assert isinstance(request, Request)
    assert (request.meta["download_timeout"], request.meta["download_maxsize"]) == (5, 2**20)
    unlimited = {**settings, "DOWNLOAD_MAXSIZE": 0}
    spider = FeedSpider.from_crawler(get_crawler(FeedSpider, unlimited))
    (request,) = spider.follow_entry(entry)
    assert isinstance(request, Request)
    assert request.meta["download_maxsize"] == 8 * 2**20


def article_request(url: str) -> Request:
    entry = Entry(feed_url=f"{BASE}/feeds/world.rss", link=url + "?utm_source=rss", title="T")
    return Request(url, cb_kwargs={"entry": entry})


def test_article_callback_keeps_the_page_and_its_charset_for_the_worker() -> None:
    request = article_request(f"{BASE}/news/ru-cp1251.html")
    response = HtmlResponse(
        url=request.url,
        body=fixture_bytes("news/ru-cp1251.html"),
        headers={"Content-Type": "text/html; charset=utf-8"},  # a lie: the bytes are cp1251
        request=request,
    )
    (item,) = FeedSpider().parse_article(response, **request.cb_kwargs)
    assert item.status == "fetched"
    assert item.body is not None and item.content_type == "text/html; charset=utf-8"
    assert "В Алматы волонтёры открыли центр помощи" in decode_page(item.body, item.content_type)
    assert item.requested_urls == [f"{BASE}/news/ru-cp1251.html"]


def test_article_callback_uses_final_url_after_redirect() -> None:
    request = article_request(f"{BASE}/redirect")
    response = HtmlResponse(
        url=f"{BASE}/news/en-border.html#x",
        body=fixture_bytes("news/en-border.html"),
        request=request,
        headers={"Content-Type": "text/html"},
    )
    (item,) = FeedSpider().parse_article(response, **request.cb_kwargs)
    assert item.url == f"{BASE}/news/en-border.html"
    assert item.requested_urls == [f"{BASE}/redirect"]


def test_non_html_article_is_not_extracted() -> None:
    request = article_request(f"{BASE}/docs/report.pdf")
    response = Response(
        url=request.url,
        body=fixture_bytes("docs/report.pdf"),
        headers={"Content-Type": "application/pdf"},
        request=request,
    )
    (item,) = FeedSpider().parse_article(response, **request.cb_kwargs)
    assert (item.status, item.body) == ("not_html", None)
    assert item.error == "content type application/pdf"


def failure_for(request: Request, error: Exception) -> Failure:
    failure = Failure(error)  # type: ignore[no-untyped-call]
    failure.request = request  # type: ignore[attr-defined]
    return failure


def test_failed_article_is_kept_with_its_reason() -> None:
    request = article_request(f"{BASE}/status/404")
    response = HtmlResponse(url=request.url, status=404, body=b"gone", request=request)
    failure = failure_for(request, HttpError(response, "Ignoring non-200 response"))
    (item,) = FeedSpider().article_failed(failure)
    assert (item.status, item.http_status) == ("fetch_failed:404", 404)
    assert item.url == f"{BASE}/status/404"
    assert item.entry.title == "T"


class Decompressed:
    """Stands for the bytes a stopped decompression produced."""


def test_a_failed_article_does_not_keep_what_the_failure_s_frames_held() -> None:
    held: list[weakref.ref[Decompressed]] = []

    def decompress() -> None:
        output = Decompressed()
        held.append(weakref.ref(output))
        raise ValueError("exceeded DOWNLOAD_MAXSIZE")

    request = article_request(f"{BASE}/fault/bomb/gzip")
    try:
        try:
            decompress()
        except ValueError as exc:
            raise IgnoreRequest("Ignored response: its body exceeded size limits") from exc
    except IgnoreRequest as exc:
        failure = failure_for(request, exc)
    assert held[0]() is not None  # the frame of decompress() holds it
    (item,) = FeedSpider().article_failed(failure)
    assert item.status == "fetch_failed:too_large"
    assert held[0]() is None  # freed at once, not at the next full garbage collection


def test_refused_article_and_failed_feed() -> None:
    request = article_request(f"{CANARY}/canary")
    refused = RefusedRequest("private", "refused: canary.test resolves to loopback address")
    (item,) = FeedSpider().article_failed(failure_for(request, refused))
    assert item.status == "refused:private"
    feed_request = feed_response("world.rss").request
    assert feed_request is not None
    (feed_item,) = FeedSpider().feed_failed(
        failure_for(feed_request, TimeoutError("took too long"))
    )
    assert feed_item.status.startswith("fetch_failed:")
    assert feed_item.error == "took too long"


def test_with_article_fetching_off_entries_are_stored_from_the_feed_alone() -> None:
    output = run_feed(FeedSpider(fetch_articles=False), "world.rss")
    articles = [o for o in output[1:] if isinstance(o, ArticleItem)]
    assert not [o for o in output if isinstance(o, Request)]
    fetchable = [a for a in articles if a.status == "not_fetched"]
    assert fetchable and all("NEWSMON_FETCH_ARTICLES is off" in (a.error or "") for a in fetchable)
