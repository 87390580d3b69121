"""Sitemaps and news sitemaps: read as feeds, walked for a backfill, streamed and bounded."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pipeline.exceptions import FeedParseError
from pipeline.parsing.sitemaps import (
    NEWS_SITEMAP_FORMAT,
    SITEMAP_FORMAT,
    SITEMAP_INDEX_FORMAT,
    in_range,
    iter_sitemap,
    looks_like_sitemap,
    parse_sitemap,
    read_sitemap,
    sitemaps_in_robots,
)
from pipeline.parsing.sources import parse_source, source_kind
from tests.mockserver import fill_placeholders

OUTLET = Path(__file__).resolve().parent.parent / "mockserver" / "outlet"
BASE = "http://outlet.test"


def outlet(path: str) -> bytes:
    return fill_placeholders(
        (OUTLET / path).read_bytes(), {"base": BASE, "canary": "http://canary.test"}
    )


def test_a_news_sitemap_gives_headlines_times_to_the_minute_and_languages() -> None:
    parsed = parse_sitemap(outlet("news-sitemap.xml"), f"{BASE}/news-sitemap.xml")
    assert parsed.format == NEWS_SITEMAP_FORMAT
    assert (parsed.title, parsed.site_url, parsed.total_entries) == ("Dala Times", f"{BASE}/", 4)
    entries = {entry.link: entry for entry in parsed.entries}
    bridge = entries[f"{BASE}/news/n1-bridge.html"]
    assert bridge.title == "В Алматы открыли новый мост через Большую Алматинку"
    assert bridge.published == "2026-11-02T04:15:00Z"  # 09:15 at +05:00
    assert bridge.language == "ru"
    assert entries[f"{BASE}/news/n4-shelter.html"].published == "2026-11-03T12:30:00Z"
    assert [entry.language for entry in parsed.entries] == ["uk", "en", "kk", "ru"]  # newest first


def test_a_news_sitemap_keeps_its_newest_entries_only() -> None:
    parsed = parse_sitemap(outlet("news-sitemap.xml"), f"{BASE}/n.xml", max_entries=2)
    assert parsed.total_entries == 4
    assert [entry.link for entry in parsed.entries] == [
        f"{BASE}/news/n4-shelter.html",
        f"{BASE}/news/n3-wheat.html",
    ]


def test_a_plain_gzipped_sitemap_is_read_without_publication_dates() -> None:
    body = outlet("sitemaps/pages-2026.xml.gz")
    assert body[:2] == b"\x1f\x8b"
    parsed = parse_source(body, f"{BASE}/sitemaps/pages-2026.xml.gz", {})
    assert parsed.format == SITEMAP_FORMAT
    assert source_kind(parsed.format) == "sitemap"
    assert len(parsed.entries) == 5
    assert all(entry.published is None and entry.title is None for entry in parsed.entries)


def test_a_sitemap_index_read_as_a_feed_lists_its_sitemaps_and_no_entries() -> None:
    parsed = parse_sitemap(outlet("sitemaps/index.xml"), f"{BASE}/sitemaps/index.xml")
    assert parsed.format == SITEMAP_INDEX_FORMAT
    assert parsed.entries == []
    assert parsed.sitemaps[0] == f"{BASE}/sitemaps/pages-2026.xml.gz"
    assert "sitemap index of 4 sitemaps" in (parsed.warning or "")


def test_a_backfill_keeps_the_urls_of_the_range_and_lists_child_sitemaps() -> None:
    index = read_sitemap(outlet("sitemaps/index.xml"), f"{BASE}/i.xml", "2026-10-01", "2026-10-31")
    assert not isinstance(index, FeedParseError)
    assert index.format == SITEMAP_INDEX_FORMAT
    assert index.sitemaps == [
        (f"{BASE}/sitemaps/pages-2026.xml.gz", "2026-10-30"),
        (f"{BASE}/sitemaps/2026-09.xml", "2026-09-30"),
        (f"{BASE}/sitemaps/more/index.xml", None),
        ("http://canary.test/sitemaps/elsewhere.xml", None),
    ]
    pages = read_sitemap(
        outlet("sitemaps/pages-2026.xml.gz"), f"{BASE}/p.xml.gz", "2026-10-01", "2026-10-31"
    )
    assert not isinstance(pages, FeedParseError)
    assert pages.urls == 5
    assert [entry.link for entry in pages.entries] == [
        f"{BASE}/news/o1-budget.html",
        f"{BASE}/news/o2-steppe.html",
        f"{BASE}/news/o3-rail.html",
    ]
    september = read_sitemap(
        outlet("sitemaps/pages-2026.xml.gz"), f"{BASE}/p.xml.gz", "2026-09-01", "2026-09-30"
    )
    assert not isinstance(september, FeedParseError)
    # 2026-09-30T23:30+05:00 is 18:30 UTC, still September.
    assert [entry.link.rsplit("/", 1)[1] for entry in september.entries if entry.link] == [
        "s1-water.html",
        "s2-flights.html",
    ]


def test_a_news_sitemap_is_filtered_by_its_publication_dates() -> None:
    read = read_sitemap(outlet("news-sitemap.xml"), f"{BASE}/n.xml", "2026-11-03", None)
    assert not isinstance(read, FeedParseError)
    assert read.format == NEWS_SITEMAP_FORMAT
    assert [entry.title for entry in read.entries] == [
        "Wheat exports from Kazakhstan reach a record",
        "У Львові відкрили новий центр для переселенців",
    ]


def test_days_in_range() -> None:
    assert in_range("2026-10-31T23:59:00Z", "2026-10-01", "2026-10-31")
    assert in_range("2026-10-01", "2026-10-01", None)
    assert not in_range("2026-11-01T00:01:00Z", "2026-10-01", "2026-10-31")
    assert not in_range("2026-09-30T12:00:00", "2026-10-01", "2026-10-31")
    assert not in_range(None, "2026-10-01", None)


def _urlset(count: int) -> bytes:
    urls = "".join(f"<url><loc>/p/{n}</loc></url>" for n in range(count))
    return (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + urls.encode()
        + b"</urlset>"
    )


def test_a_gzip_bomb_is_read_up_to_the_limit_only() -> None:
    padding = b"<!--" + b" " * (20 * 1024 * 1024) + b"-->"
    bomb = gzip.compress(_urlset(3).replace(b"<url>", padding + b"<url>", 1), mtime=0)
    assert len(bomb) < 100_000
    records = list(iter_sitemap(bomb, f"{BASE}/bomb.xml.gz", max_bytes=1024 * 1024))
    assert records == ["gzipped sitemap inflates past 1048576 bytes, read up to there"]
    read = read_sitemap(bomb, f"{BASE}/bomb.xml.gz", "2026-01-01", None, max_bytes=1024 * 1024)
    assert not isinstance(read, FeedParseError)
    assert "inflates past" in (read.warning or "")


def test_the_url_count_is_bounded() -> None:
    records = list(iter_sitemap(_urlset(50), f"{BASE}/s.xml", max_urls=10))
    assert len(records) == 11
    assert records[-1] == "more than 10 URLs, only the first 10 read"
    assert records[0].loc == f"{BASE}/p/0"  # type: ignore[union-attr]


def test_external_entities_are_never_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>/a&x;</loc></url></urlset>"
    ).encode()
    locs = [r.loc for r in iter_sitemap(body, f"{BASE}/s.xml") if not isinstance(r, str)]
    assert all("secret" not in loc for loc in locs)


def test_what_is_not_a_sitemap_is_a_clear_error() -> None:
    with pytest.raises(FeedParseError, match="not XML"):
        list(iter_sitemap(b"plain text, no markup", f"{BASE}/s.xml"))
    with pytest.raises(FeedParseError) as raised:
        list(iter_sitemap(b"<rss><channel/></rss>", f"{BASE}/s.xml"))
    assert raised.value.reason == "not_a_feed"


def test_broken_xml_after_some_records_keeps_them_with_a_warning() -> None:
    body = _urlset(3)[:-20]
    records = list(iter_sitemap(body + b"<url><loc>x</lo", f"{BASE}/s.xml"))
    assert sum(not isinstance(r, str) for r in records) == 2
    assert isinstance(records[-1], str)


def test_sitemaps_are_told_from_their_bodies() -> None:
    assert looks_like_sitemap(outlet("news-sitemap.xml"))
    assert looks_like_sitemap(outlet("sitemaps/pages-2026.xml.gz"))
    assert looks_like_sitemap(b"<sm:sitemapindex xmlns:sm='x'></sm:sitemapindex>")
    assert not looks_like_sitemap(b'<?xml version="1.0"?><rss version="2.0"></rss>')
    assert not looks_like_sitemap(b"\x1f\x8bnot gzip at all")


def test_robots_txt_sitemap_lines() -> None:
    text = outlet("robots.txt").decode() + "\nsitemap: /relative.xml # a comment\nSitemap:\n"
    assert sitemaps_in_robots(text, f"{BASE}/robots.txt") == [
        f"{BASE}/news-sitemap.xml",
        f"{BASE}/sitemaps/index.xml",
        f"{BASE}/relative.xml",
    ]


def test_an_index_given_to_the_feed_spider_is_not_a_feed() -> None:
    from pipeline.parsing.sources import parse_source_or_error

    result = parse_source_or_error(outlet("sitemaps/index.xml"), f"{BASE}/i.xml", {}, 500)
    assert isinstance(result, FeedParseError)
    assert result.reason == "not_a_feed"
    assert "sitemap index of 4 sitemaps" in str(result)
