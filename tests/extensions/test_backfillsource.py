"""The backfill's feed row: listed out of the crawl, unless the site is a feed already."""

from __future__ import annotations

from pathlib import Path

from pipeline.api import list_feeds
from pipeline.db.connection import open_db
from pipeline.extensions.backfillsource import BackfillSource


def test_the_row_is_added_out_of_the_feed_list_once(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    source = BackfillSource(str(db_path))
    source.list_out_of_the_crawl("https://example.kz/")
    source.list_out_of_the_crawl("https://example.kz/")
    rows = list_feeds(db_path, include_removed=True)
    assert [(r["url"], r["kind"], r["title"]) for r in rows] == [
        ("https://example.kz/", "sitemap", "example.kz (sitemaps)")
    ]
    assert rows[0]["removed_at"]
    assert list_feeds(db_path) == []  # newsmon crawl does not read it


def test_a_site_listed_as_a_feed_stays_listed(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    with open_db(db_path) as db:
        db.table("feeds").insert({"url": "https://example.kz/", "kind": "feed", "added_at": "x"})
    BackfillSource(str(db_path)).list_out_of_the_crawl("https://example.kz/")
    [row] = list_feeds(db_path)
    assert (row["kind"], row["removed_at"]) == ("feed", None)
