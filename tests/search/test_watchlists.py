"""Watchlists: the file, backfill, matching during the crawl, and ``newsmon watch``."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from pipeline.db.connection import open_db
from pipeline.demo import EXAMPLE_WATCHLISTS
from pipeline.exceptions import WatchlistError
from pipeline.extensions.watchlistmatcher import WatchlistMatcher
from pipeline.search import index as search_index
from pipeline.search import watchlists as watchlists_module
from pipeline.search.index import index_article
from pipeline.search.watchlists import Watchlist, load, match_queued, new_matches, stored, sync
from tests.conftest import Crawl, run_newsmon

# What each watchlist of the session crawl (tests/conftest.py) must match, by page.
EXPECTED = {
    "border": {"en-border.html", "wire-border.html"},
    "queues": {"ru-border.html"},
    "checkpoint": {"ru-border.html"},
    "grain": {"uk-grain.html"},
    "exodus": {"en-border.html", "wire-border.html"},
    "rivers": {"en-study-2.html"},
}


def pages(rows: list[dict[str, object]]) -> set[str]:
    """The page names of the rows' URLs (uk-grain.html is served under two URLs, one with a
    query string: the article is stored under whichever was fetched first)."""
    return {urlsplit(str(row["url"])).path.rsplit("/", 1)[-1] for row in rows}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[watchlists.a\nquery = 'x'", "not valid TOML"),
        ("[watchlists.a]\nquery = ''", "query = '...' is required"),
        ("[watchlists.a]\nqueries = 'x'", "unknown keys queries"),
        ("[watchlists.a]\nquery = '(x'", "unbalanced parenthesis"),
        ("[watchlists.a]\nquery = 'x'\nlanguages = [1]", "languages must be a list"),
        ("[watchlist.a]\nquery = 'x'", "expected only [watchlists.NAME] tables"),
        ("[watchlists.a]\nquery = 'x'\nsites = ['https://meduza.io/']", "host names such as"),
        ("[watchlists.a]\nquery = 'x'\nsites = ['127.0.0.1:8080']", "not '127.0.0.1:8080'"),
    ],
)
def test_a_bad_watchlists_file_names_the_file_the_watchlist_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "watchlists.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WatchlistError, match=re.escape(problem)) as error:
        load(path)
    assert str(path) in str(error.value)


def test_watchlists_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.toml"
    path.write_text(
        '[watchlists.exodus]\nquery = "mobilisation"\nlanguages = ["EN", "ru"]\n'
        'sites = "Example.org"\nfeeds = ["https://example.org/feed"]\n',
        encoding="utf-8",
    )
    assert load(path) == [
        Watchlist("exodus", "mobilisation", ("en", "ru"), ("https://example.org/feed",),
                  ("example.org",))
    ]  # fmt: skip


def test_scope_by_site_and_feed() -> None:
    watchlist = Watchlist("w", "x", sites=("example.org",), feeds=("Steppe",))
    assert watchlist.admits("https://news.example.org/a", ["Steppe"])
    assert not watchlist.admits("https://example.org.evil.test/a", ["Steppe"])
    assert not watchlist.admits("https://example.org/a", ["Other"])


def test_new_watchlist_is_backfilled_and_each_match_shown_once(indexed_db: Database) -> None:
    assert sync(indexed_db, [Watchlist("border", "border")]) == {"border": 2}
    assert {m["article_id"] for m in new_matches(indexed_db)} == {1, 4}
    assert new_matches(indexed_db) == []
    assert sync(indexed_db, [Watchlist("border", "border")]) == {}  # unchanged: no second backfill

    # Changed: matches already seen stay seen, only the new ones are shown.
    sync(indexed_db, [Watchlist("border", "border OR граница")])
    shown = new_matches(indexed_db, "border")
    assert [(m["watchlist"], m["article_id"], m["matched_terms"]) for m in shown] == [
        ("border", 2, ["граница"])
    ]


def test_articles_indexed_later_are_matched_from_the_queue(indexed_db: Database) -> None:
    watchlists = [Watchlist("board", "board"), Watchlist("ru", "border", languages=("ru",))]
    sync(indexed_db, watchlists)
    new_matches(indexed_db)
    indexed_db.table("articles").insert(
        {"id": 8, "url": "https://example.org/8", "title": "Boards", "text": "Boards and borders",
         "language": "en", "status": "ok", "first_seen_at": "2026-11-02T00:00:00Z"}
    )  # fmt: skip
    index_article(indexed_db, 8, "Boards", "Boards and borders", "en")
    indexed_db.execute("INSERT INTO watchlist_queue (article_id) VALUES (8)")
    assert match_queued(indexed_db, stored(indexed_db)) == 1
    assert indexed_db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (0,)
    assert [(m["watchlist"], m["article_id"]) for m in new_matches(indexed_db)] == [("board", 8)]


def test_removed_watchlist_keeps_its_matches_but_is_not_shown(indexed_db: Database) -> None:
    sync(indexed_db, [Watchlist("border", "border"), Watchlist("board", "board")])
    sync(indexed_db, [Watchlist("board", "board")])
    assert {m["watchlist"] for m in new_matches(indexed_db)} == {"board"}
    assert indexed_db.execute("SELECT count(*) FROM matches").fetchone() == (3,)
    assert [w.name for w in stored(indexed_db)] == ["board"]


def test_crawl_matches_new_articles_against_the_watchlists(crawl: Crawl) -> None:
    with open_db(crawl.db) as db:
        for name, expected in EXPECTED.items():
            rows = list(
                db.query(
                    "SELECT a.url FROM matches m JOIN watchlists w ON w.id = m.watchlist_id "
                    "JOIN articles a ON a.id = m.article_id WHERE w.name = ?",
                    [name],
                )
            )
            assert pages(rows) == expected, name
        assert db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (0,)
        stats = json.loads(db.execute("SELECT stats FROM crawl_runs").fetchone()[0])
    assert stats["newsmon/watchlists/active"] == len(EXPECTED)
    # The watchlists were new to this database: their matches came from the crawl itself.
    assert stats["newsmon/watchlists/matches"] == sum(len(v) for v in EXPECTED.values())


def copy_db(crawl: Crawl, tmp_path: Path) -> Path:
    """A copy of the session crawl's database and watchlists, to mark matches seen in."""
    for name in ("news.db", "watchlists.toml"):
        shutil.copy(crawl.db.parent / name, tmp_path / name)
    return tmp_path / "news.db"


def test_a_backlog_is_matched_a_chunk_at_a_time_when_asked(
    indexed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(indexed_db, [Watchlist("border", "border")])
    new_matches(indexed_db)
    indexed_db.execute("INSERT INTO watchlist_queue (article_id) SELECT id FROM articles")
    (queued,) = indexed_db.execute("SELECT count(*) FROM watchlist_queue").fetchone()
    monkeypatch.setattr(watchlists_module, "QUEUE_CHUNK", 2)
    match_queued(indexed_db, stored(indexed_db), max_chunks=1)
    assert indexed_db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (queued - 2,)
    match_queued(indexed_db, stored(indexed_db))
    assert indexed_db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (0,)


def test_another_file_retires_only_its_own_watchlists(indexed_db: Database) -> None:
    usual, other = "/srv/news/watchlists.toml", "/home/me/other.toml"
    sync(indexed_db, [Watchlist("border", "border"), Watchlist("board", "board")], usual)
    sync(indexed_db, [Watchlist("queues", "очередь")], other)
    assert sorted(w.name for w in stored(indexed_db)) == ["board", "border", "queues"]
    sync(indexed_db, [Watchlist("border", "border")], usual)  # "board" left the usual file
    assert sorted(w.name for w in stored(indexed_db)) == ["border", "queues"]
    sync(indexed_db, [], other)
    assert [w.name for w in stored(indexed_db)] == ["border"]


def test_watch_shows_new_matches_once_then_backfills_a_new_watchlist(
    crawl: Crawl, tmp_path: Path
) -> None:
    db = copy_db(crawl, tmp_path)
    first = run_newsmon("watch", "--db", str(db), "--json")
    assert first.returncode == 0, first.stderr
    matches = json.loads(first.stdout)
    assert {"watchlist", "article_id", "url", "title"} <= set(matches[0])
    for name, expected in EXPECTED.items():
        assert pages([m for m in matches if m["watchlist"] == name]) == expected, name
    again = run_newsmon("watch", "--db", str(db), "--json")
    assert json.loads(again.stdout) == []
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE matches SET seen_at = NULL")
    listing = run_newsmon("watch", "--db", str(db)).stdout
    headers = [line for line in listing.splitlines() if line.startswith("== ")]
    # One heading per watchlist, however their matches interleave in time.
    assert sorted(headers) == sorted(
        f"== {name}: {len(pages)} new" for name, pages in EXPECTED.items()
    )

    with (tmp_path / "watchlists.toml").open("a", encoding="utf-8") as out:
        out.write('\n[watchlists.glaciers]\nquery = "glacier"\n')
    text = run_newsmon("watch", "glaciers", "--db", str(db))
    assert text.returncode == 0, text.stderr
    assert "== glaciers: 2 new" in text.stdout
    assert "en-study.html" in text.stdout and "en-study-2.html" in text.stdout
    assert run_newsmon("watch", "glaciers", "--db", str(db)).stdout == ""

    missing = run_newsmon("watch", "nope", "--db", str(db))
    assert missing.returncode == 1
    assert "no watchlist named 'nope'" in missing.stderr


def test_a_broken_watchlists_file_keeps_the_stored_watchlists(
    indexed_db: Database,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync(indexed_db, [Watchlist("border", "border")])
    path = tmp_path / "broken.toml"
    path.write_text("[watchlists.border\n", encoding="utf-8")
    db_path = indexed_db.conn.execute("PRAGMA database_list").fetchone()[2]
    crawler = get_crawler(
        settings_dict={"NEWSMON_DB_PATH": db_path, "NEWSMON_WATCHLISTS": str(path)}
    )
    assert crawler.stats is not None
    matcher = WatchlistMatcher.from_crawler(crawler)
    matcher.spider_opened()
    try:
        assert [w.name for w in matcher.watchlists] == ["border"]
        assert crawler.stats.get_value("newsmon/watchlists/file_errors") == 1
        assert "not valid TOML" in caplog.text
    finally:
        matcher.spider_closed()


def test_watch_without_a_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run_newsmon("watch", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_matches_cannot_repeat(indexed_db: Database) -> None:
    sync(indexed_db, [Watchlist("border", "border")])
    with pytest.raises(sqlite3.IntegrityError):
        indexed_db.execute(
            "INSERT INTO matches (watchlist_id, article_id, matched_at) VALUES (1, 1, 'x')"
        )


def test_the_example_watchlists_file_is_valid(indexed_db: Database) -> None:
    watchlists = load(EXAMPLE_WATCHLISTS)
    names = [watchlist.name for watchlist in watchlists]
    assert names == [
        "exodus", "kazakh_border", "tokayev_visits", "checkpoints", "grain", "glaciers"
    ]  # fmt: skip
    # One word for every form and script: Kazakhstan finds "с Казахстаном".
    assert sync(indexed_db, watchlists)["kazakh_border"] == 1
    found = {(m["watchlist"], m["article_id"]) for m in new_matches(indexed_db)}
    assert {("kazakh_border", 2), ("exodus", 1), ("exodus", 2), ("exodus", 7)} <= found


def test_a_command_gets_the_new_matches_of_a_crawl(
    indexed_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync(indexed_db, [Watchlist("board", "board")])  # matched before this crawl: not new
    (tmp_path / "watchlists.toml").write_text(
        '[watchlists.board]\nquery = "board"\n[watchlists.border]\nquery = "border"\n',
        encoding="utf-8",
    )
    received = tmp_path / "received.json"
    save = f"import shutil, sys; shutil.copyfileobj(sys.stdin, open({str(received)!r}, 'w'))"
    db_path = indexed_db.conn.execute("PRAGMA database_list").fetchone()[2]
    settings = {
        "NEWSMON_DB_PATH": db_path,
        "NEWSMON_WATCHLISTS": str(tmp_path / "watchlists.toml"),
        "NEWSMON_ON_MATCHES": shlex.join([sys.executable, "-c", save]),
    }
    crawler = get_crawler(settings_dict=settings)
    matcher = WatchlistMatcher.from_crawler(crawler)
    matcher.spider_opened()  # backfills the new watchlist "border"
    matcher.spider_closed()
    matches = json.loads(received.read_text(encoding="utf-8"))
    assert sorted((m["watchlist"], m["article_id"]) for m in matches) == [
        ("border", 1),
        ("border", 4),
    ]
    assert {"url", "title", "matched_terms"} <= set(matches[0])

    failing = get_crawler(settings_dict={**settings, "NEWSMON_ON_MATCHES": "false"})
    matcher = WatchlistMatcher.from_crawler(failing)
    matcher.run_hook(matches)  # the command fails: logged and counted, nothing else
    assert failing.stats is not None
    assert failing.stats.get_value("newsmon/watchlists/hook_errors") == 1
    assert "NEWSMON_ON_MATCHES 'false' exited with 1" in caplog.text


def test_a_changed_search_index_backfills_the_watchlists_and_keeps_their_matches(
    indexed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed_db.execute("DELETE FROM articles_search WHERE rowid = 2")  # as an older stemmer missed
    indexed_db.execute("DELETE FROM watchlist_queue")
    assert sync(indexed_db, [Watchlist("kz", "Kazakhstan OR Kazakh")]) == {"kz": 1}
    assert [m["article_id"] for m in new_matches(indexed_db)] == [1]
    monkeypatch.setattr(search_index, "INDEX_DEFINITION", search_index.INDEX_DEFINITION + 1)
    search_index.bring_up_to_date(indexed_db)
    assert match_queued(indexed_db, stored(indexed_db)) == 1  # article 1's match stays as it was
    shown = new_matches(indexed_db)
    assert [(m["article_id"], m["matched_terms"]) for m in shown] == [(2, ["Kazakhstan"])]
    seen = indexed_db.execute("SELECT article_id FROM matches WHERE seen_at IS NOT NULL")
    assert sorted(row[0] for row in seen) == [1, 2]


def test_watchlists_match_near_and_other_scripts(indexed_db: Database) -> None:
    sync(indexed_db, [Watchlist("lars", 'NEAR("Upper Lars" очередь, 3)'),
                      Watchlist("lars_ru", "NEAR(Lars очередь, 3)")])  # fmt: skip
    shown = {m["watchlist"]: m["article_id"] for m in new_matches(indexed_db)}
    assert shown == {"lars_ru": 6}
