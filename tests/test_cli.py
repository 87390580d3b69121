"""The command line: help, argument errors, feed management, and ``scrapy crawl feeds``."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.db.export import parse_since
from tests.conftest import FAST, ROOT, SITE, Crawl, run_newsmon
from tests.mockserver import MockServer, free_port


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", all_commands(cli), ids=lambda c: " ".join(c) or "newsmon")
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feeds", "{tmp}/list.csv"], "Error: {tmp}/list.csv: XML but not OPML"),
        (["--feeds", "{tmp}/missing.opml"], "Error: cannot read feed list"),
        (
            ["--feeds", "{tmp}/ok.txt", "--allow-private", "localhost"],
            "not an IP address or network",
        ),
        (["--feeds", "{tmp}/ok.txt", "-s", "NOEQUALS"], "expected NAME=VALUE"),
        (["--feeds", "{tmp}/ok.txt", "--watchlists", "{tmp}/list.csv"], "not valid TOML"),
        ([], "no feeds to crawl"),
    ],
)
def test_crawl_that_cannot_run_exits_non_zero_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "list.csv").write_text("<rss/>")
    (tmp_path / "ok.txt").write_text("https://example.org/feed\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, ["crawl", "--db", str(tmp_path / "x.db"), *args])
    assert result.exit_code != 0
    (error,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert message.replace("{tmp}", str(tmp_path)) in error


def test_feeds_import_and_list(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["feeds", "import", str(ROOT / "feeds.opml"), "--db", db])
    assert result.exit_code == 0, result.output
    imported = int(result.output.split()[0])
    assert imported >= 10
    again = runner.invoke(cli, ["feeds", "import", str(ROOT / "feeds.opml"), "--db", db])
    assert again.output.startswith("0 new feeds")
    listed = json.loads(runner.invoke(cli, ["feeds", "list", "--db", db, "--json"]).output)
    assert len(listed) == imported
    meduza = next(f for f in listed if f["url"] == "https://meduza.io/rss/all")
    assert (meduza["title"], meduza["category"]) == ("Meduza", "Russia")
    table = runner.invoke(cli, ["feeds", "list", "--db", db]).output
    assert "never fetched" in table


def test_crawl_uses_the_stored_feed_list(site: MockServer, tmp_path: Path) -> None:
    db = tmp_path / "stored.db"
    feeds = tmp_path / "feeds.opml"
    feeds.write_text(
        '<opml version="2.0"><body><outline text="Science">'
        f'<outline type="rss" text="Science" xmlUrl="{site.url("feeds/science.rdf")}"/>'
        "</outline></body></opml>"
    )
    assert run_newsmon("feeds", "import", str(feeds), "--db", str(db)).returncode == 0
    result = run_newsmon("crawl", "--db", str(db), "--allow-private", "127.0.0.1/32", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select category, last_status from feeds").fetchall() == [
            ("Science", "ok")
        ]
        assert conn.execute("select count(*) from articles where status = 'ok'").fetchone() == (1,)


def test_scrapy_crawl_feeds_from_the_project_root(site: MockServer, tmp_path: Path) -> None:
    db = tmp_path / "scrapy.db"
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(site.url("feeds/russian.xml") + "\n")
    settings = [
        f"NEWSMON_FEEDS_FILE={feeds}",
        f"NEWSMON_DB_PATH={db}",
        "NEWSMON_ALLOW_PRIVATE=127.0.0.1",
    ]
    command = [sys.executable, "-m", "scrapy", "crawl", "feeds"]
    for setting in settings + [s for s in FAST if s != "-s"]:
        command += ["-s", setting]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        titles = {t for (t,) in conn.execute("select title from articles where status = 'ok'")}
    assert titles == {
        "На границе с Казахстаном выросли очереди",
        "В Алматы открылся центр помощи для приезжих",
    }


def test_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code != 0
    assert "no database at" in result.output


def test_fixture_site_is_only_bound_to_loopback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.mockserver", "--root", str(SITE), "--host", "0.0.0.0"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode != 0


def test_feeds_add_discovers_remove_and_export(site: MockServer, tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    allow = ["--allow-private", "127.0.0.1"]
    result = run_newsmon(
        "feeds", "add", site.url("/"), "--db", db, "--category", "Steppe/World", *allow
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"Added {site.url('feeds/world.rss')} (Steppe Courier: World)"
    result = run_newsmon("feeds", "add", site.url("blog/"), "--db", db, *allow)
    assert result.stdout.strip() == f"Added {site.url('blog/feed')} (Science Desk)"
    result = run_newsmon("feeds", "add", site.url("feeds/feed.json"), "--db", db, *allow)
    assert result.stdout.startswith(f"Added {site.url('feeds/feed.json')}")
    missing = run_newsmon("feeds", "add", site.url("status/404"), "--db", db, *allow)
    assert missing.returncode == 1
    assert f"cannot fetch {site.url('status/404')}: fetch_failed:404" in missing.stderr
    refused = run_newsmon("feeds", "add", site.url("/"), "--db", db)  # loopback not allowed
    assert refused.returncode == 1
    assert f"cannot fetch {site.url('/')}: refused:private" in refused.stderr

    runner = CliRunner()
    assert (
        runner.invoke(cli, ["feeds", "remove", site.url("feeds/feed.json"), "--db", db]).exit_code
        == 0
    )
    listed = [
        f["url"]
        for f in json.loads(runner.invoke(cli, ["feeds", "list", "--db", db, "--json"]).output)
    ]
    assert listed == [site.url("feeds/world.rss"), site.url("blog/feed")]
    again = runner.invoke(cli, ["feeds", "remove", site.url("feeds/feed.json"), "--db", db])
    assert again.exit_code != 0 and "no feed" in again.output

    exported = runner.invoke(cli, ["feeds", "export", "--db", db]).output
    opml = tmp_path / "exported.opml"
    opml.write_text(exported)
    from pipeline.parsing.feed_lists import load_feed_list

    feeds = load_feed_list(opml)
    assert [(f.url, f.category) for f in feeds] == [
        (site.url("feeds/world.rss"), "Steppe/World"),
        (site.url("blog/feed"), None),
    ]


def test_status_shows_feed_health(crawl: Crawl) -> None:
    result = CliRunner().invoke(cli, ["status", "--db", str(crawl.db)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Last run 1: partial")
    assert any(line.startswith("failing") and "/status/500" in line for line in lines)
    data = json.loads(CliRunner().invoke(cli, ["status", "--db", str(crawl.db), "--json"]).output)
    world = next(f for f in data["feeds"] if f["url"].endswith("/feeds/world.rss"))
    assert (world["health"], world["failures"]) == ("ok", 0)
    assert world["articles_24h"] >= 9


def test_search_prints_best_matches_and_json_for_scripts(crawl: Crawl) -> None:
    result = run_newsmon("search", "мобилизацию OR mobilisation", "--db", str(crawl.db), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {"id", "url", "title"} <= set(found[0])
    pages = {row["url"].rsplit("/", 1)[-1] for row in found}
    assert pages == {"ru-border.html", "en-border.html", "wire-border.html"}
    assert all(row["matched"] for row in found)

    only_ru = run_newsmon(
        "search", "mobilisation OR мобилизация", "-l", "ru", "--db", str(crawl.db)
    )
    assert only_ru.returncode == 0, only_ru.stderr
    assert "ru-border.html" in only_ru.stdout and "en-border.html" not in only_ru.stdout
    assert "мобилизации" in only_ru.stdout  # the excerpt around the word found

    bad = run_newsmon("search", "(border", "--db", str(crawl.db))
    assert bad.returncode == 1
    assert "Error: unbalanced parenthesis in query '(border'" in bad.stderr


def test_export_articles_and_matches(crawl: Crawl, tmp_path: Path) -> None:
    lines = run_newsmon("export", "--db", str(crawl.db)).stdout.splitlines()
    with sqlite3.connect(crawl.db) as db:
        (total,) = db.execute("SELECT count(*) FROM articles").fetchone()
    assert len(lines) == total
    article = json.loads(lines[0])
    assert {"id", "url", "title", "text", "published", "language", "feed"} <= set(article)

    output = tmp_path / "matches.csv"
    result = run_newsmon(
        "export", "--what", "matches", "--format", "csv", "-o", str(output), "--db", str(crawl.db)
    )
    assert result.returncode == 0, result.stderr
    assert output.read_bytes().startswith(b"\xef\xbb\xbfwatchlist,")  # a BOM, for spreadsheets
    with output.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["watchlist"] for row in rows} >= {"border", "grain"}
    assert [row["matched_terms"] for row in rows if row["watchlist"] == "grain"] == ["зерно"]
    assert not list(tmp_path.glob(".*partial"))

    future = run_newsmon(
        "export", "--since", "2999-01-01", "--format", "csv", "--db", str(crawl.db)
    )
    assert future.stdout.splitlines()[0].startswith("\ufeffid,url,")  # the header, no rows
    assert len(future.stdout.splitlines()) == 1
    assert "0 articles exported" in future.stderr
    bad = run_newsmon("export", "--since", "last tuesday", "--db", str(crawl.db))
    assert bad.returncode == 1 and "cannot read --since 'last tuesday'" in bad.stderr


def test_since_accepts_dates_times_and_ages() -> None:
    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    assert parse_since("2026-11-01") == "2026-11-01T00:00:00Z"
    assert parse_since("2026-11-01T12:30+02:00") == "2026-11-01T10:30:00Z"
    assert parse_since("24h", now) == "2027-01-14T08:00:00Z"
    assert parse_since("2w", now) == "2027-01-01T08:00:00Z"
    assert parse_since(None) == ""
    for beyond in ("999999d", "1000000000d", "99999999999h"):  # a clear error, no traceback
        with pytest.raises(ValueError, match="cannot read --since"):
            parse_since(beyond, now)


def test_export_with_text_leaves_out_failed_pages(crawl: Crawl) -> None:
    every = run_newsmon("export", "--db", str(crawl.db)).stdout.splitlines()
    with_text = run_newsmon("export", "--with-text", "--db", str(crawl.db)).stdout.splitlines()
    statuses = {json.loads(line)["status"] for line in with_text}
    assert statuses == {"ok"}
    assert 0 < len(with_text) < len(every)


def test_export_into_a_closed_pipe_ends_quietly(crawl: Crawl) -> None:
    command = [sys.executable, "-m", "pipeline", "export", "--db", str(crawl.db)]
    export = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert export.stdout is not None and export.stderr is not None
    export.stdout.readline()
    export.stdout.close()  # as "| head -1" does
    errors = export.stderr.read().decode()
    export.stderr.close()
    assert export.wait(timeout=60) == 0, errors
    assert "Error" not in errors and "Traceback" not in errors


def test_crawl_points_a_feed_address_to_feeds_add(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    result = run_newsmon("crawl", "--feeds", "https://example.org/rss.xml", "--db", str(db))
    assert result.returncode == 2
    assert "https://example.org/rss.xml is an address, not a file" in result.stderr
    assert "newsmon feeds add https://example.org/rss.xml" in result.stderr
    assert not db.exists()


def test_an_empty_allow_private_is_refused(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n")
    args = ["crawl", "--feeds", str(feeds), "--db", str(tmp_path / "news.db")]
    result = run_newsmon(*args, "--allow-private", "")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: an empty network: give an IP address or a network (CIDR)"
    )


def test_feeds_add_says_why_a_page_cannot_be_fetched(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    refused = run_newsmon("feeds", "add", url, "--db", db)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Error: cannot fetch {url}: refused:private (refused {url}: 127.0.0.1 resolves to "
        "loopback address 127.0.0.1); to fetch from a non-public address, add "
        "--allow-private NET"
    )
    closed = run_newsmon("feeds", "add", url, "--allow-private", "127.0.0.1", "--db", db)
    assert closed.returncode == 1
    assert closed.stderr.startswith(f"Error: cannot fetch {url}: fetch_failed:connection_refused")
    assert len(closed.stderr.splitlines()) == 1


def test_status_json_has_the_run_s_reasons_and_stats_as_objects(crawl: Crawl) -> None:
    status = json.loads(run_newsmon("status", "--json", "--db", str(crawl.db)).stdout)
    run = status["last_run"]
    assert isinstance(run["reasons"], dict) and isinstance(run["stats"], dict)
    assert run["stats"]["finish_reason"] == "finished"
    assert set(status["back_off"]) == {"feeds", "next_due_at"}


def test_feeds_add_takes_a_telegram_channel_as_typed_without_fetching(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    runner = CliRunner()
    for typed in ("@steppe_news", "https://t.me/steppe_news", "t.me/s/steppe_news"):
        result = runner.invoke(cli, ["feeds", "add", typed, "--db", db])
        assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["feeds", "list", "--db", db, "--json"])
    rows = json.loads(listed.output)
    assert [(row["url"], row["kind"]) for row in rows] == [
        ("https://t.me/s/steppe_news", "telegram")
    ]
    status = runner.invoke(cli, ["status", "--db", db])
    assert "telegram" in status.output


def test_backfill_refuses_bad_days_and_addresses_in_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    cases = {
        ("--site", "https://example.kz/", "--since", "October"): "not a day",
        ("--site", "ftp://example.kz/", "--since", "2026-10-01"): "not an http(s) URL",
        ("--site", "https://example.kz/", "--since", "2026-10-05", "--until", "2026-10-01"): (
            "is before --since"
        ),
    }
    for args, message in cases.items():
        result = CliRunner().invoke(cli, ["backfill", "--db", db, *args])
        assert result.exit_code == 1, result.output
        assert message in result.output
    assert not Path(db).exists()


def test_a_feed_list_export_from_a_missing_database_writes_nothing(tmp_path: Path) -> None:
    """A mistyped --db is an error, not an empty feed list written over the file."""
    runner = CliRunner()
    target = tmp_path / "my.opml"
    target.write_text("<opml>my feeds</opml>", encoding="utf-8")
    missing = str(tmp_path / "typo.db")
    result = runner.invoke(cli, ["feeds", "export", "--db", missing, "-o", str(target)])
    assert result.exit_code == 1 and "no database at" in result.output
    assert target.read_text(encoding="utf-8") == "<opml>my feeds</opml>"
    listed = runner.invoke(cli, ["feeds", "list", "--db", missing])
    assert listed.exit_code == 1 and "no database at" in listed.output
    db = str(tmp_path / "news.db")
    runner.invoke(cli, ["feeds", "import", str(ROOT / "feeds.opml"), "--db", db])
    exported = runner.invoke(cli, ["feeds", "export", "--db", db, "-o", str(target)])
    assert exported.exit_code == 0, exported.output
    assert "https://meduza.io/rss/all" in target.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*.partial"))


def test_an_export_never_writes_over_the_database(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    runner = CliRunner()
    runner.invoke(cli, ["feeds", "import", str(ROOT / "feeds.opml"), "--db", str(db)])
    before = db.read_bytes()
    for command in (["export"], ["feeds", "export"]):
        result = runner.invoke(cli, [*command, "--db", str(db), "-o", str(db)])
        assert result.exit_code == 1 and "is the database itself" in result.output, command
    assert db.read_bytes() == before


def test_regroup_during_a_crawl_exits_75_with_one_line(tmp_path: Path) -> None:
    from pipeline.db.lock import DatabaseLock

    db = tmp_path / "news.db"
    CliRunner().invoke(cli, ["feeds", "import", str(ROOT / "feeds.opml"), "--db", str(db)])
    lock = DatabaseLock(db)
    lock.acquire()
    try:
        result = CliRunner().invoke(cli, ["regroup", "--db", str(db)])
    finally:
        lock.release()
    assert result.exit_code == 75, result.output
    assert "another crawl is running" in result.output
    assert "Traceback" not in result.output
