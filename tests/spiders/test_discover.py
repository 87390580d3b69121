"""Feed autodiscovery's callbacks: a site without a feed, found through its sitemaps."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse, XmlResponse

from spiders.discover import PLAIN_SITEMAP_RANK, SITEMAP_RANK, DiscoverSpider, FoundFeed
from tests.parsing.test_sitemaps import BASE, outlet


def test_a_site_without_feed_links_is_also_searched_for_sitemaps() -> None:
    spider = DiscoverSpider(url=f"{BASE}/")
    page = HtmlResponse(f"{BASE}/", body=outlet("index.html"), encoding="utf-8")
    requests = [r for r in spider.parse_page(page) if isinstance(r, Request)]
    urls = [request.url for request in requests]
    assert f"{BASE}/robots.txt" in urls
    assert f"{BASE}/news-sitemap.xml" in urls and f"{BASE}/sitemap.xml" in urls
    robots = TextResponse(f"{BASE}/robots.txt", body=outlet("robots.txt"), encoding="utf-8")
    named = list(spider.parse_robots(robots))
    assert [(r.url, r.cb_kwargs["rank"]) for r in named] == [
        (f"{BASE}/news-sitemap.xml", SITEMAP_RANK),
        (f"{BASE}/sitemaps/index.xml", SITEMAP_RANK + 1),
    ]


def test_a_news_sitemap_ranks_before_a_plain_one_and_an_index_leads_to_its_sitemaps() -> None:
    spider = DiscoverSpider(url=f"{BASE}/")
    news = XmlResponse(f"{BASE}/news-sitemap.xml", body=outlet("news-sitemap.xml"))
    [found] = spider.check(news, SITEMAP_RANK)
    assert found == FoundFeed(f"{BASE}/news-sitemap.xml", "Dala Times", SITEMAP_RANK, "sitemap")
    plain = XmlResponse(f"{BASE}/more.xml", body=outlet("sitemaps/more/october-b.xml"))
    [found] = spider.check(plain, SITEMAP_RANK + 1)
    assert isinstance(found, FoundFeed)
    assert found.rank == PLAIN_SITEMAP_RANK + 1
    index = XmlResponse(f"{BASE}/sitemaps/index.xml", body=outlet("sitemaps/index.xml"))
    children = list(spider.check(index, SITEMAP_RANK + 1))
    assert [r.url for r in children] == [  # on the site only
        f"{BASE}/sitemaps/pages-2026.xml.gz",
        f"{BASE}/sitemaps/2026-09.xml",
        f"{BASE}/sitemaps/more/index.xml",
    ]


def test_a_sitemap_the_page_links_as_its_feed_keeps_the_pages_order() -> None:
    spider = DiscoverSpider(url=f"{BASE}/")
    plain = XmlResponse(f"{BASE}/more.xml", body=outlet("sitemaps/more/october-b.xml"))
    [found] = spider.check(plain, 3)  # <link rel="alternate" type="application/xml">
    assert isinstance(found, FoundFeed)
    assert (found.rank, found.kind) == (3, "sitemap")
