"""The feed spider's reading of channels and sitemaps, on responses built from fixture files."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from pipeline import statuses
from pipeline.items import ArticleItem, FeedItem
from pipeline.parsing.feed_lists import FeedSource
from spiders.feeds import FeedSpider
from tests.parsing.test_sitemaps import BASE, outlet

CHANNEL = f"{BASE}/s/steppe_news"


def project_settings(**overrides: Any) -> dict[str, Any]:
    """newsmon's settings (``get_crawler`` starts from Scrapy's), with ``overrides``; the lock
    is taken by no extension."""
    settings = Settings()
    settings.setmodule("pipeline.settings")
    ours = {name: settings[name] for name in settings if name.startswith("NEWSMON_")}
    return {**ours, "NEWSMON_LOCK_HELD": True, **overrides}


def spider(**settings: Any) -> FeedSpider:
    crawler = get_crawler(FeedSpider, project_settings(NEWSMON_FEEDS=[CHANNEL], **settings))
    made = FeedSpider.from_crawler(crawler)
    made.parser = None  # parsed in a thread: no worker processes in these tests
    return made


def collect(outputs: Any) -> list[Any]:
    async def gather() -> list[Any]:
        return [output async for output in outputs]

    return asyncio.run(gather())


def channel_response(path: str, url: str, request: Request) -> HtmlResponse:
    return HtmlResponse(url=url, body=outlet(path), encoding="utf-8", request=request)


def read_first_page(reader: FeedSpider, newest_known: int | None = None) -> list[Any]:
    feed = FeedSource(CHANNEL)
    request = reader.feed_request(feed)
    request.meta["newsmon_newest_post"] = newest_known
    response = channel_response("s/steppe_news", CHANNEL, request)
    return collect(reader.parse_feed(response, feed))


def read_older_page(reader: FeedSpider, request: Request) -> list[Any]:
    response = channel_response("s/steppe_news@before=101", request.url, request)
    return collect(reader.parse_channel_page(response, **request.cb_kwargs))


def test_a_first_read_asks_for_the_older_page_before_yielding_posts() -> None:
    reader = spider()
    output = read_first_page(reader)
    feed_item = output[0]
    assert isinstance(feed_item, FeedItem)
    assert (feed_item.kind, feed_item.title, feed_item.status) == (
        "telegram",
        "Степные новости",
        "ok",
    )
    assert feed_item.site_url == "https://t.me/steppe_news"
    [request] = output[1:]
    assert isinstance(request, Request)
    assert request.url == f"{CHANNEL}?before=101"
    assert request.meta["newsmon_kind"] == "channel_page"
    assert request.meta["dont_retry"] is True


def test_both_pages_yield_every_post_oldest_first_and_the_linked_pages() -> None:
    reader = spider()
    request = read_first_page(reader)[1]
    output = read_older_page(reader, request)
    posts = [o for o in output if isinstance(o, ArticleItem)]
    assert [post.url for post in posts] == [f"https://t.me/steppe_news/{n}" for n in range(91, 111)]
    assert all(post.entry.feed_url == CHANNEL for post in posts)
    assert all(post.site_name == "Степные новости" for post in posts)
    by_url = {post.url: post for post in posts}
    long_post = by_url["https://t.me/steppe_news/92"]
    assert long_post.status == statuses.FETCHED
    assert long_post.text and len(long_post.text) > 300
    assert long_post.published == "2026-10-20T05:00:00Z"
    photo = by_url["https://t.me/steppe_news/94"]
    assert (photo.status, photo.text, photo.error) == ("no_text", None, "a photo without text")
    assert by_url["https://t.me/steppe_news/93"].credits == "Вести Азии"
    pages = [o for o in output if isinstance(o, Request)]
    assert [page.url for page in pages] == [
        f"{BASE}/news/tg-link-2.html",
        f"{BASE}/news/tg-link-1.html",
        f"{BASE}/news/n3-wheat.html",
    ]
    linked = pages[0].cb_kwargs["entry"]
    assert (linked.guid, linked.feed_url) == ("steppe_news/95", CHANNEL)
    assert pages[0].meta["newsmon_kind"] == "article"
    # Each page follows its post.
    assert output.index(pages[0]) == output.index(by_url["https://t.me/steppe_news/95"]) + 1
    assert reader.crawler.stats is not None
    assert reader.crawler.stats.get_value("newsmon/telegram/posts") == 20
    assert reader.crawler.stats.get_value("newsmon/telegram/pages") == 1


def test_the_backfill_stops_at_its_number_of_posts() -> None:
    reader = spider(NEWSMON_TELEGRAM_BACKFILL=5)
    output = read_first_page(reader)
    posts = [o for o in output if isinstance(o, ArticleItem)]
    assert not [o for o in output if isinstance(o, Request) and "before" in o.url]
    assert [post.url.rsplit("/", 1)[1] for post in posts] == ["106", "107", "108", "109", "110"]


def test_a_later_read_stores_only_new_posts_and_asks_for_no_older_page() -> None:
    reader = spider()
    output = read_first_page(reader, newest_known=108)
    assert isinstance(output[0], FeedItem)
    assert [o.url for o in output[1:]] == [
        "https://t.me/steppe_news/109",
        "https://t.me/steppe_news/110",
    ]
    nothing_new = read_first_page(spider(), newest_known=110)
    assert len(nothing_new) == 1


def test_a_later_read_goes_back_while_every_post_is_new() -> None:
    reader = spider()
    output = read_first_page(reader, newest_known=95)
    [request] = output[1:]
    assert request.cb_kwargs["newest_known"] == 95
    posts = [o for o in read_older_page(reader, request) if isinstance(o, ArticleItem)]
    assert [post.url.rsplit("/", 1)[1] for post in posts] == [str(n) for n in range(96, 111)]


def test_a_refused_older_page_keeps_the_posts_read_so_far() -> None:
    reader = spider()
    request = read_first_page(reader)[1]
    response = Response(request.url, status=429, headers={"Retry-After": "120"}, request=request)
    failure = Failure(HttpError(response))  # type: ignore[no-untyped-call]
    failure.request = request  # type: ignore[attr-defined]
    posts = [o for o in reader.channel_page_failed(failure) if isinstance(o, ArticleItem)]
    assert [post.url.rsplit("/", 1)[1] for post in posts] == [str(n) for n in range(101, 111)]
    assert reader.crawler.stats is not None
    assert reader.crawler.stats.get_value("newsmon/telegram/page_failed") == 1


def test_a_news_sitemap_is_read_as_a_feed_with_its_headlines_and_times() -> None:
    reader = spider()
    url = f"{BASE}/news-sitemap.xml"
    feed = FeedSource(url)
    request = reader.feed_request(feed)
    response = XmlResponse(url=url, body=outlet("news-sitemap.xml"), request=request)
    output = collect(reader.parse_feed(response, feed))
    assert isinstance(output[0], FeedItem)
    assert (output[0].kind, output[0].title, output[0].entries) == ("sitemap", "Dala Times", 4)
    requests = [o for o in output if isinstance(o, Request)]
    assert len(requests) == 4
    entry = requests[-1].cb_kwargs["entry"]
    assert entry.link == f"{BASE}/news/n1-bridge.html"
    assert entry.title == "В Алматы открыли новый мост через Большую Алматинку"
    assert entry.published == "2026-11-02T04:15:00Z"
    assert entry.feed_url == url
