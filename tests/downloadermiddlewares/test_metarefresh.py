"""Meta refresh redirects, found in the head of a page without decoding all of it."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from pipeline.downloadermiddlewares.metarefresh import HEAD_BYTES, HeadMetaRefreshMiddleware

URL = "http://news.test/news/old.html"
FILLER = "<p>" + "Слово " * (2 * HEAD_BYTES // 10) + "</p>"  # 11 bytes a word


def page(head: str, body: str = FILLER) -> HtmlResponse:
    html = f"<html><head>{head}</head><body>{body}</body></html>".encode()
    return HtmlResponse(URL, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture
def middleware() -> HeadMetaRefreshMiddleware:
    crawler = get_crawler(settings_dict={"METAREFRESH_MAXDELAY": 100})
    return HeadMetaRefreshMiddleware.from_crawler(crawler)


def test_a_large_page_with_a_refresh_is_redirected(middleware: HeadMetaRefreshMiddleware) -> None:
    response = page('<meta http-equiv="refresh" content="0; url=/news/new.html">')
    assert len(response.body) > 2 * HEAD_BYTES
    redirected = middleware.process_response(Request(URL), response)
    assert isinstance(redirected, Request)
    assert redirected.url == "http://news.test/news/new.html"


def test_a_large_page_without_one_is_passed_on_whole(middleware: HeadMetaRefreshMiddleware) -> None:
    response = page("<title>Новости</title>")
    assert middleware.process_response(Request(URL), response) is response
    assert response.body.endswith(b"</html>")
    assert response._cached_ubody is None  # the page was not decoded (Scrapy's decodes it all)


def test_a_refresh_past_the_head_is_not_followed_as_scrapy_would_not(
    middleware: HeadMetaRefreshMiddleware,
) -> None:
    late = page("", FILLER + '<meta http-equiv="refresh" content="0; url=/news/new.html">')
    assert middleware.process_response(Request(URL), late) is late


def test_a_small_page_is_handled_as_by_scrapy(middleware: HeadMetaRefreshMiddleware) -> None:
    small = page('<meta http-equiv="refresh" content="0; url=/news/new.html">', "<p>Short.</p>")
    redirected = middleware.process_response(Request(URL), small)
    assert isinstance(redirected, Request)
    assert redirected.url == "http://news.test/news/new.html"
