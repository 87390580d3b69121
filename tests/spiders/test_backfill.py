"""The backfill spider's callbacks, on responses built from the outlet's fixture files."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.utils.test import get_crawler

from spiders.backfill import BackfillSpider
from tests.parsing.test_sitemaps import BASE, outlet
from tests.spiders.test_channels import collect, project_settings


def backfill(**kwargs: Any) -> BackfillSpider:
    crawler = get_crawler(BackfillSpider, project_settings())
    args = {"site": f"{BASE}/news/", "since": "2026-10-01", "until": "2026-10-31", **kwargs}
    made = BackfillSpider.from_crawler(crawler, **args)
    made.parser = None
    return made


def read(spider: BackfillSpider, request: Request, path: str) -> list[Any]:
    response = Response(request.url, body=outlet(path), request=request)
    return collect(spider.parse_sitemap_file(response, **request.cb_kwargs))


def robots(spider: BackfillSpider) -> list[Request]:
    [start] = collect(spider.start())
    assert start.url == f"{BASE}/robots.txt"
    response = TextResponse(start.url, body=outlet("robots.txt"), encoding="utf-8", request=start)
    return list(spider.parse_robots(response))


def test_the_sitemaps_come_from_robots_txt() -> None:
    spider = backfill()
    assert [request.url for request in robots(spider)] == [
        f"{BASE}/news-sitemap.xml",
        f"{BASE}/sitemaps/index.xml",
    ]


def test_without_robots_txt_the_usual_paths_are_tried_quietly() -> None:
    spider = backfill()
    response = TextResponse(f"{BASE}/robots.txt", status=404, body=b"", encoding="utf-8")
    requests = list(spider.parse_robots(response))
    assert [request.url for request in requests] == [
        f"{BASE}/sitemap_index.xml",
        f"{BASE}/sitemap.xml",
        f"{BASE}/news-sitemap.xml",
        f"{BASE}/sitemap-news.xml",
    ]
    assert all(request.cb_kwargs["guessed"] for request in requests)


def test_an_index_leads_to_its_sitemaps_of_the_range_on_the_site_only() -> None:
    spider = backfill()
    index = robots(spider)[1]
    output = read(spider, index, "sitemaps/index.xml")
    assert [request.url for request in output] == [
        f"{BASE}/sitemaps/pages-2026.xml.gz",
        f"{BASE}/sitemaps/more/index.xml",
    ]  # September's sitemap is older than the range; the canary's is off the site
    assert all(request.cb_kwargs["depth"] == 1 for request in output)
    stats = spider.crawler.stats
    assert stats is not None
    assert stats.get_value("newsmon/sitemaps/skipped") == 1
    assert stats.get_value("newsmon/sitemaps/refused") == 1
    assert read(spider, index, "sitemaps/index.xml") == []  # read already: not again


def test_a_sitemap_named_by_robots_txt_may_be_on_another_host() -> None:
    spider = backfill()
    spider.named.add("http://canary.test/sitemaps/elsewhere.xml")
    assert spider.sitemap_request("http://canary.test/sitemaps/elsewhere.xml", 1) is not None
    assert spider.sitemap_request("http://canary.test/sitemaps/other.xml", 1) is None


def test_a_gzipped_sitemap_gives_the_pages_of_the_range_as_article_requests() -> None:
    spider = backfill()
    request = spider.sitemap_request(f"{BASE}/sitemaps/pages-2026.xml.gz", 1)
    assert request is not None
    output = read(spider, request, "sitemaps/pages-2026.xml.gz")
    assert [o.url for o in output] == [
        f"{BASE}/news/o1-budget.html",
        f"{BASE}/news/o2-steppe.html",
        f"{BASE}/news/o3-rail.html",
    ]
    assert all(o.meta["newsmon_kind"] == "article" for o in output)
    assert all(o.cb_kwargs["entry"].feed_url == f"{BASE}/" for o in output)


def test_max_pages_bounds_the_pages_requested() -> None:
    spider = backfill(max_pages=2)
    request = spider.sitemap_request(f"{BASE}/sitemaps/pages-2026.xml.gz", 1)
    assert request is not None
    output = read(spider, request, "sitemaps/pages-2026.xml.gz")
    assert len(output) == 2
    assert spider.crawler.stats is not None
    assert spider.crawler.stats.get_value("newsmon/backfill/over_limit") == 1


def test_nesting_and_file_count_are_bounded() -> None:
    spider = backfill(max_depth=1, max_files=2)
    assert spider.sitemap_request(f"{BASE}/a.xml", 2) is None
    assert spider.sitemap_request(f"{BASE}/a.xml", 1) is not None
    assert spider.sitemap_request(f"{BASE}/b.xml", 1) is not None
    assert spider.sitemap_request(f"{BASE}/c.xml", 1) is None


def test_a_backfill_needs_a_site_and_a_first_day() -> None:
    with pytest.raises(ValueError, match="needs a site"):
        BackfillSpider(site="", since="2026-10-01")


def test_the_site_with_or_without_www_is_one_host_and_other_hosts_pages_are_not_requested() -> None:
    spider = backfill()
    assert spider.sitemap_request("http://www.outlet.test/sitemap.xml", 0) is not None
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://www.outlet.test/news/a.html</loc><lastmod>2026-10-02</lastmod></url>"
        b"<url><loc>http://elsewhere.test/news/b.html</loc><lastmod>2026-10-02</lastmod></url>"
        b"</urlset>"
    )
    request = spider.sitemap_request(f"{BASE}/s.xml", 0)
    assert request is not None
    response = Response(request.url, body=body, request=request)
    output = collect(spider.parse_sitemap_file(response, **request.cb_kwargs))
    assert [o.url for o in output] == ["http://www.outlet.test/news/a.html"]
    assert spider.crawler.stats is not None
    assert spider.crawler.stats.get_value("newsmon/backfill/off_site") == 1
