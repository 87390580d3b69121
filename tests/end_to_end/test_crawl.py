"""Full crawls of the mock news site with the real command line, spider and pipelines."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import FAST, Canary, Crawl, run_newsmon
from tests.mockserver import MockServer


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def article(db: Path, path: str) -> dict[str, Any]:
    """The article stored for a page, whether under its own URL or as a sighting of another."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "select a.* from articles a left join entries e on e.article_id = a.id "
            "where a.url like ? or e.url like ?",
            (f"%{path}", f"%{path}"),
        ).fetchone()
    assert row is not None, path
    return dict(row)


def test_every_feed_is_recorded_with_its_outcome(crawl: Crawl, site: MockServer) -> None:
    statuses = dict(query(crawl.db, "select url, last_status from feeds"))
    assert statuses[site.url("feeds/world.rss")] == "ok"
    assert statuses[site.url("feeds/broken.xml")] == "ok"
    assert statuses[site.url("feeds/not-a-feed.html")] == "not_a_feed"
    assert statuses[site.url("feeds/empty.xml")] == "empty"
    assert statuses[site.url("feeds/garbage.xml")] == "parse_error"
    assert statuses[site.url("status/500")] == "fetch_failed:500"
    titles = dict(query(crawl.db, "select url, title from feeds"))
    assert titles[site.url("feeds/russian.xml")] == "Степной вестник"
    assert titles[site.url("feeds/utf16.xml")] == "Вести в UTF-16"
    assert titles[site.url("feeds/latin1.xml")] == "Revista Económica"
    assert titles[site.url("feeds/gzipped.xml")] == "Revista Económica"


def test_articles_in_three_languages_are_stored_with_text(crawl: Crawl) -> None:
    expected = {
        "/news/en-border.html": ("en", "Hundreds of cars stood in a line"),
        "/news/en-study.html": ("en", "carrying less water from melting glaciers"),
        "/news/ru-border.html": ("ru", "выстроилась очередь из автомобилей"),
        "/news/ru-cp1251.html": ("ru", "В Алматы волонтёры открыли центр помощи"),
        "/news/uk-grain.html": ("uk", "відновили відвантаження зерна"),
    }
    for path, (language, phrase) in expected.items():
        row = article(crawl.db, path)
        assert row["status"] == "ok", path
        assert phrase in row["text"], path
        assert row["language"] == language, path
        assert row["published"].endswith("Z"), path


def test_failures_are_stored_from_the_feed_entry_with_a_reason(crawl: Crawl) -> None:
    cases = {
        "/status/404": "fetch_failed:404",
        "/private/secret.html": "refused:robots",
        "/canary": "refused:private",
        "/docs/report.pdf": "not_html",
        "/news/empty.html": "no_text",
    }
    for path, status in cases.items():
        row = article(crawl.db, path)
        assert row["status"] == status, path
        assert not row["text"], path
        assert row["title"], path
    statuses = [s for (s,) in query(crawl.db, "select status from articles")]
    assert "refused:scheme" in statuses
    assert "no_link" in statuses


def test_no_request_reached_the_canary(crawl: Crawl, canary: Canary) -> None:
    assert canary.hits() == []
    log = (crawl.db.parent / "newsmon.log").read_text()
    assert f"Refused {canary.server.base}/canary" in log


def test_quiet_under_cron_with_the_log_beside_the_database(crawl: Crawl) -> None:
    assert crawl.result.stdout == crawl.result.stderr == ""
    log = (crawl.db.parent / "newsmon.log").read_text()
    assert "Spider closed (finished)" in log


def test_repeats_across_feeds_are_one_article_with_every_sighting(
    crawl: Crawl, site: MockServer
) -> None:
    (article_id,) = query(
        crawl.db, "select id from articles where url = ?", site.url("news/en-border.html")
    )[0]
    feeds = query(
        crawl.db,
        "select f.url, e.link from entries e join feeds f on f.id = e.feed_id where e.article_id = ? order by f.url",
        article_id,
    )
    assert [f for f, _ in feeds] == [site.url("feeds/ukrainian.atom"), site.url("feeds/world.rss")]
    assert all("utm_" in link for _, link in feeds)
    # The redirect lands on an article another feed also lists: one row, two sightings.
    (ru_id,) = query(
        crawl.db, "select id from articles where url = ?", site.url("news/ru-border.html")
    )[0]
    links = {
        link for (link,) in query(crawl.db, "select link from entries where article_id = ?", ru_id)
    }
    assert site.url("redirect?to=/news/ru-border.html") in links


def test_run_is_recorded(crawl: Crawl) -> None:
    (status, finished, feeds_failed, articles_ok) = query(
        crawl.db, "select status, finished_at, feeds_failed, articles_ok from crawl_runs"
    )[0]
    assert status == "partial"  # some feeds of the test site are broken on purpose
    assert finished
    assert feeds_failed == 4
    assert articles_ok >= 6


def test_full_text_search(crawl: Crawl) -> None:
    found = query(
        crawl.db,
        "select a.url from articles_fts join articles a on a.id = articles_fts.rowid "
        "where articles_fts match ?",
        "очереди",
    )
    assert [url for (url,) in found] and all("ru-border" in url for (url,) in found)


def test_second_crawl_adds_no_duplicate_rows(
    crawl: Crawl, feeds_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "again.db"
    shutil.copy(crawl.db, db)
    counts = "select (select count(*) from articles), (select count(*) from entries), (select count(*) from feeds)"
    before = query(db, counts)
    result = run_newsmon(
        "crawl", "--feeds", str(feeds_file), "--db", str(db), "--allow-private", "127.0.0.1", *FAST
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert query(db, counts) == before
    assert query(db, "select count(*) from crawl_runs") == [(2,)]
    assert query(db, "pragma integrity_check") == [("ok",)]


def test_without_allow_private_every_loopback_url_is_refused(
    feeds_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "refused.db"
    result = run_newsmon("crawl", "--feeds", str(feeds_file), "--db", str(db), *FAST)
    assert result.returncode == 69, result.stderr[-2000:]  # no feed could be read
    assert result.stderr.startswith("newsmon: no feed could be read: all ")
    assert "of them refused:private" in result.stderr and "--allow-private NET" in result.stderr
    statuses = {status for (status,) in query(db, "select distinct last_status from feeds")}
    assert statuses == {"refused:private"}
    assert query(db, "select count(*) from articles") == [(0,)]


def test_copies_are_folded_and_stories_grouped(crawl: Crawl) -> None:
    border, wire = (
        article(crawl.db, "/news/en-border.html"),
        article(crawl.db, "/news/wire-border.html"),
    )
    assert (border["duplicate_of"], wire["duplicate_of"]) in {
        (None, border["id"]),
        (wire["id"], None),
    }
    assert border["story_id"] == wire["story_id"]
    study, study2 = (
        article(crawl.db, "/news/en-study.html"),
        article(crawl.db, "/news/en-study-2.html"),
    )
    assert study["story_id"] == study2["story_id"]
    assert study["story_id"] != border["story_id"]
    # The same Ukrainian text under a second URL is one article, seen in two feeds.
    grain = article(crawl.db, "/news/uk-grain.html")
    assert article(crawl.db, "/news/uk-grain.html?id=7&ref=broken")["id"] == grain["id"]
    (same, near) = query(crawl.db, "select articles_same, articles_near_duplicate from crawl_runs")[
        0
    ]
    assert (same, near) == (1, 1)
    # Stories by embedding were decided after the page phase, all of them, in the same run.
    assert query(crawl.db, "select count(*) from story_pending") == [(0,)]
    ((stats_json,),) = query(crawl.db, "select stats from crawl_runs")
    stats = json.loads(stats_json)
    ((originals,),) = query(
        crawl.db,
        "select count(*) from articles where text_hash is not null and duplicate_of is null",
    )
    assert stats["newsmon/stories/decided"] == originals == stats["newsmon/stories/embedded"]
    assert query(crawl.db, "select count(*) from story_vectors") == [(originals,)]
    assert stats["newsmon/pages/first_at"] < stats["newsmon/pages/last_at"]
    assert stats["newsmon/stories/phase_seconds"] > 0
