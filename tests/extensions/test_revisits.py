"""The revisits extension: when it is on, the requests it makes, and what answers become."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from pipeline import settings as project
from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.downloadermiddlewares.knownarticles import KnownArticlesMiddleware
from pipeline.extensions.revisits import REVISIT_PRIORITY, Revisits, is_front_or_section
from pipeline.items import ArticleItem, Revisit
from spiders.feeds import FeedSpider

URL = "http://news.test/news/politics/123-border.html"
REVISIT = Revisit(
    article_id=7, url=URL, feed_url="http://news.test/feed", entry_title="Border",
    etag='"abc"', last_modified="Sun, 25 Sep 2022 12:00:00 GMT", steps_done=1,
)  # fmt: skip


def make_extension(tmp_path: Path, **settings: Any) -> Revisits:
    values = {
        "NEWSMON_DB_PATH": str(tmp_path / "news.db"),
        "NEWSMON_REVISIT_AFTER": project.NEWSMON_REVISIT_AFTER,
        "NEWSMON_REVISIT_MAX_PER_RUN": project.NEWSMON_REVISIT_MAX_PER_RUN,
        "NEWSMON_FETCH_ARTICLES": True,
        **settings,
    }
    crawler = get_crawler(FeedSpider, settings_dict=values)
    crawler.spider = FeedSpider()
    return Revisits.from_crawler(crawler)


@pytest.mark.parametrize(
    "settings",
    [
        {"NEWSMON_REVISIT_AFTER": ""},
        {"NEWSMON_REVISIT_AFTER": []},
        {"NEWSMON_REVISIT_AFTER": "1h,later"},
        {"NEWSMON_FETCH_ARTICLES": False},
    ],
)
def test_off_when_there_is_no_schedule_or_no_page_fetching(
    tmp_path: Path, settings: dict[str, Any]
) -> None:
    with pytest.raises(NotConfigured):
        make_extension(tmp_path, **settings)


def test_a_revisit_is_a_conditional_request_below_every_page(tmp_path: Path) -> None:
    extension = make_extension(tmp_path)
    request = extension.request(REVISIT, FeedSpider())
    assert request.headers[b"If-None-Match"] == b'"abc"'
    assert request.headers[b"If-Modified-Since"] == b"Sun, 25 Sep 2022 12:00:00 GMT"
    assert request.priority == REVISIT_PRIORITY < 0
    assert request.meta["newsmon_kind"] == "revisit"
    assert {304, 404, 410} <= set(request.meta["handle_httpstatus_list"])


def test_the_known_articles_middleware_lets_revisits_through(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    with open_db(db_path) as db:
        db.table("articles").insert({"url": URL, "status": "ok", "first_seen_at": "x"})
    settings = {"NEWSMON_DB_PATH": str(db_path), "NEWSMON_ARTICLE_MAX_ATTEMPTS": 3}
    known = KnownArticlesMiddleware.from_crawler(get_crawler(settings_dict=settings))
    request = make_extension(tmp_path).request(REVISIT, FeedSpider())
    known.process_request(request)  # no KnownArticle raised
    known.reader.close()


class FakeEngine:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    def crawl(self, request: Request) -> None:
        self.requests.append(request)


def test_due_revisits_are_scheduled_once_when_the_spider_goes_idle(tmp_path: Path) -> None:
    extension = make_extension(tmp_path)
    engine = FakeEngine()
    extension.crawler.engine = engine  # type: ignore[assignment]
    extension.due = [REVISIT]
    with pytest.raises(DontCloseSpider):
        extension.spider_idle(FeedSpider())
    extension.spider_idle(FeedSpider())  # idle again after the re-checks: the run may end
    assert [request.url for request in engine.requests] == [URL]
    assert extension.stats.get_value("newsmon/revisits/requested") == 1


def answer(status: int, url: str = URL, body: bytes = b"", redirected: bool = False) -> Response:
    request = Request(URL, meta={"redirect_urls": [URL]} if redirected else {})
    return HtmlResponse(url, status=status, body=body, request=request, encoding="utf-8")


def checked(tmp_path: Path, response: Response) -> ArticleItem:
    (item,) = make_extension(tmp_path).page_checked(response, REVISIT)
    assert item.revisit is REVISIT and item.url == URL
    return item


def test_answers_become_items_for_the_pipelines(tmp_path: Path) -> None:
    assert checked(tmp_path, answer(304)).status == statuses.NOT_MODIFIED
    assert checked(tmp_path, answer(410)).status == "fetch_failed:410"
    assert checked(tmp_path, answer(404)).status == "fetch_failed:404"
    front = checked(tmp_path, answer(200, "http://news.test/", b"<html>", redirected=True))
    assert front.status == statuses.REDIRECTED_TO_SECTION
    assert front.error == "redirected to http://news.test/"
    page = b"<html><body><article><p>New text</p></article></body></html>"
    moved = checked(tmp_path, answer(200, "http://news.test/news/124-border.html", page, True))
    assert moved.status == statuses.FETCHED and moved.body == page  # another article: compared
    fresh = checked(tmp_path, answer(200, URL, page))
    assert fresh.status == statuses.FETCHED and fresh.entry.title == "Border"


@pytest.mark.parametrize(
    ("final", "removed"),
    [
        ("http://news.test/", True),
        ("http://news.test/?from=article", True),
        ("https://www.news.test/", True),
        ("http://news.test/news/politics/", True),
        ("http://news.test/news/politics", True),
        ("http://news.test/news/", True),
        ("http://news.test/news/index.html", True),
        ("http://news.test/news/politics/123-border-updated.html", False),  # a new slug
        ("http://news.test/news/economy/", False),  # not above the article
        ("http://other.test/news/", False),
        ("http://news.test/news/politics/123-border.html/amp", False),
    ],
)
def test_a_redirect_to_the_front_or_a_section_page_is_a_removal(final: str, removed: bool) -> None:
    assert is_front_or_section(URL, final) is removed
