"""Sources beyond RSS, end to end on the mock server: an outlet with no feed, read from its
news sitemap and its Telegram channel, a second crawl after two new posts, and a backfill of
one month from its sitemap index (issue 22's "Done when", at a small scale)."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.api import export, search
from pipeline.cli import cli
from tests.conftest import FAST, FIXTURES, Canary, run_newsmon
from tests.mockserver import MockServer

CHANNEL = "steppe_news"
FIRST_POSTS = range(91, 111)


@dataclass
class Outlet:
    server: MockServer
    root: Path
    log: Path
    db: Path
    requests: dict[str, list[str]] = field(default_factory=dict)  # step: paths requested
    articles_after_first: set[str] = field(default_factory=set)
    backfill_output: str = ""

    def run(self, step: str, *args: str) -> str:
        self.log.write_text("")
        result = run_newsmon(*args, "--db", str(self.db), "--allow-private", "127.0.0.1", *FAST)
        assert result.returncode == 0, result.stderr[-3000:]
        lines = self.log.read_text().splitlines()
        self.requests[step] = [json.loads(line)["path"] for line in lines]
        return result.stderr

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params)]


@pytest.fixture(scope="module")
def outlet(tmp_path_factory: pytest.TempPathFactory, canary: Canary) -> Iterator[Outlet]:
    """The outlet's crawls and backfills, in order, each step's requests logged."""
    root = tmp_path_factory.mktemp("outlet") / "site"
    shutil.copytree(FIXTURES / "outlet", root)
    log = root.parent / "requests.log"
    with MockServer(root, values={"canary": canary.server.base}, log=log) as server:
        state = Outlet(server, root, log, root.parent / "news.db")
        feeds = root.parent / "feeds.txt"
        feeds.write_text(f"{server.url('news-sitemap.xml')}\n{server.url(f's/{CHANNEL}')}\n")
        state.run("crawl", "crawl", "--feeds", str(feeds))
        state.articles_after_first = {row["url"] for row in state.rows("select url from articles")}
        for page in (root / "channel-update").iterdir():  # two new posts
            shutil.copy(page, root / "s" / page.name)
        state.run("second crawl", "crawl", "--feeds", str(feeds))
        site = server.url("")
        october = ["backfill", "--site", site, "--since", "2026-10-01", "--until", "2026-10-31"]
        state.backfill_output = state.run("backfill", *october)
        state.run("second backfill", *october)
        yield state


def article(outlet: Outlet, url: str) -> dict[str, Any]:
    rows = outlet.rows("select * from articles where url = ?", url)
    assert rows, url
    return rows[0]


def test_the_news_sitemap_pages_are_stored_with_its_headline_and_time(outlet: Outlet) -> None:
    expected = {
        "news/n1-bridge.html": ("В Алматы открыли новый мост через Большую Алматинку", "2026-11-02T04:15", "ru"),
        "news/n2-library.html": ("Астанада жаңа қалалық кітапхана ашылды", "2026-11-02T06:40", "kk"),
        "news/n3-wheat.html": ("Wheat exports from Kazakhstan reach a record", "2026-11-03T02:05", "en"),
        "news/n4-shelter.html": ("У Львові відкрили новий центр для переселенців", "2026-11-03T12:30", "uk"),
    }  # fmt: skip
    for path, (title, minute, language) in expected.items():
        row = article(outlet, outlet.server.url(path))
        assert row["status"] == "ok", path
        assert row["text"] and len(row["text"]) > 200, path
        assert row["title"] == title, path
        assert row["published"][:16] == minute, path
        assert row["language"] == language, path


def test_every_post_of_both_channel_pages_is_stored_with_permalink_text_and_time(
    outlet: Outlet,
) -> None:
    posts = outlet.rows(
        "select * from articles where url like ? and id in (select id from articles "
        "where url not like '%/111' and url not like '%/112') order by id",
        f"https://t.me/{CHANNEL}/%",
    )
    assert sorted(int(row["url"].rsplit("/", 1)[1]) for row in posts) == list(FIRST_POSTS)
    with_text = [row for row in posts if row["status"] == "ok"]
    assert len(with_text) == 18  # two posts are a photo alone
    assert all(row["published"].endswith("Z") and row["text"] for row in with_text)
    assert all(row["site_name"] == "Степные новости" for row in posts)
    long_post = article(outlet, f"https://t.me/{CHANNEL}/92")
    assert long_post["text"].count("\n\n") == 2 and len(long_post["text"]) > 300
    assert long_post["language"] == "kk"
    assert long_post["published"] == "2026-10-20T05:00:00Z"
    assert article(outlet, f"https://t.me/{CHANNEL}/91")["text"] == (
        "Срочно: в Алматы выпал первый снег."
    )  # a one-line post is kept whole
    assert article(outlet, f"https://t.me/{CHANNEL}/93")["credits"] == "Вести Азии"
    assert article(outlet, f"https://t.me/{CHANNEL}/94")["status"] == "no_text"
    assert f"/s/{CHANNEL}?before=101" in outlet.requests["crawl"]
    assert not [path for path in outlet.requests["crawl"] if "t.me" in path]


def test_the_pages_posts_link_to_are_stored_as_sightings_of_the_posts(outlet: Outlet) -> None:
    for path in ("news/tg-link-1.html", "news/tg-link-2.html"):
        assert article(outlet, outlet.server.url(path))["status"] == "ok"
    sightings = outlet.rows(
        "select e.guid, a.url from entries e join articles a on a.id = e.article_id "
        "join feeds f on f.id = e.feed_id where f.kind = 'telegram' and e.guid = ?",
        f"{CHANNEL}/103",
    )
    assert sorted(row["url"] for row in sightings) == [
        outlet.server.url("news/n3-wheat.html"),  # stored from the sitemap, seen in the post
        f"https://t.me/{CHANNEL}/103",
    ]


def test_after_two_new_posts_the_next_crawl_stores_exactly_those(outlet: Outlet) -> None:
    before = outlet.articles_after_first
    crawled = outlet.rows("select url from articles where url not like '%/news/o%'")
    new = {row["url"] for row in crawled} - before
    assert new == {
        f"https://t.me/{CHANNEL}/111",
        f"https://t.me/{CHANNEL}/112",
        outlet.server.url("news/tg-link-3.html"),  # what post 112 links to
    }
    requested = outlet.requests["second crawl"]
    assert not [path for path in requested if "before=" in path]
    assert f"/s/{CHANNEL}" in requested


def test_the_sources_kind_is_stored_on_the_feed(outlet: Outlet) -> None:
    kinds = {row["url"]: row["kind"] for row in outlet.rows("select url, kind from feeds")}
    assert kinds[outlet.server.url("news-sitemap.xml")] == "sitemap"
    assert kinds[outlet.server.url(f"s/{CHANNEL}")] == "telegram"
    assert kinds[outlet.server.url("")] == "sitemap"  # the backfill's, out of the feed list


def test_a_backfill_of_october_stores_octobers_pages_and_none_of_september(
    outlet: Outlet, canary: Canary
) -> None:
    for path in ("o1-budget", "o2-steppe", "o3-rail", "o4-harvest"):
        row = article(outlet, outlet.server.url(f"news/{path}.html"))
        assert row["status"] == "ok" and row["text"], path
        assert row["published"][:7] == "2026-10", path
    stored = {row["url"] for row in outlet.rows("select url from articles")}
    for path in ("s1-water", "s2-flights", "s3-fair"):
        assert outlet.server.url(f"news/{path}.html") not in stored
    requested = outlet.requests["backfill"]
    assert "/sitemaps/more/october-b.xml" in requested  # nested
    assert "/sitemaps/pages-2026.xml.gz" in requested  # gzipped
    assert "/sitemaps/2026-09.xml" not in requested  # changed last before October
    assert not [hit for hit in canary.hits() if "elsewhere" in hit]  # off the site's host
    assert "4 new" in outlet.backfill_output
    runs = outlet.rows("select status, articles_new from crawl_runs order by id")
    assert [run["status"] for run in runs] == ["ok"] * 4
    assert runs[2]["articles_new"] == 4


def test_a_second_backfill_requests_no_page_again(outlet: Outlet) -> None:
    requested = outlet.requests["second backfill"]
    assert "/sitemaps/index.xml" in requested
    assert not [path for path in requested if path.startswith("/news/")]
    assert outlet.rows("select articles_new from crawl_runs order by id desc limit 1") == [
        {"articles_new": 0}
    ]


def test_posts_and_sitemap_pages_are_searched_and_exported_like_any_article(
    outlet: Outlet,
) -> None:
    found = search(str(outlet.db), "мажилис")
    urls = {row["url"] for row in found}
    assert f"https://t.me/{CHANNEL}/101" in urls  # a post
    assert outlet.server.url("news/o1-budget.html") in urls  # a backfilled page
    assert {row["url"] for row in search(str(outlet.db), "Lviv OR Львові")} == {
        outlet.server.url("news/n4-shelter.html")
    }
    out = io.StringIO()
    export(str(outlet.db), out, with_text=True)
    exported = {json.loads(line)["url"] for line in out.getvalue().splitlines()}
    assert f"https://t.me/{CHANNEL}/92" in exported
    assert f"https://t.me/{CHANNEL}/94" not in exported  # a photo alone has no text
    stories = outlet.rows("select count(*) as n from articles where story_id is not null")
    assert stories[0]["n"] > 0


def test_feeds_add_finds_a_sites_news_sitemap_and_takes_a_channel_as_typed(
    outlet: Outlet, tmp_path: Path
) -> None:
    db = str(tmp_path / "added.db")
    local = ["--db", db, "--allow-private", "127.0.0.1"]
    found = run_newsmon("feeds", "add", outlet.server.url(""), *local)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == (
        f"Added {outlet.server.url('news-sitemap.xml')} [sitemap] (Dala Times)"
    )
    runner = CliRunner()  # a channel is never fetched: no crawl process needed
    channel = runner.invoke(cli, ["feeds", "add", f"@{CHANNEL}", "--db", db])
    assert channel.exit_code == 0, channel.output
    assert channel.output.strip() == f"Added https://t.me/s/{CHANNEL} [telegram]"
    listed = runner.invoke(cli, ["feeds", "list", "--db", db]).output
    assert "sitemap" in listed and "telegram" in listed
