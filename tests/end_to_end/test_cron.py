"""Unattended runs: conditional GET, back-off, known articles, the lock, SIGTERM and SIGKILL."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.db.lock import DatabaseLock
from pipeline.downloadermiddlewares.feedschedule import FeedSchedule
from pipeline.exceptions import CrawlLocked
from tests.conftest import FAST, ROOT, SITE, SITE_FEEDS, run_newsmon
from tests.mockserver import MockServer


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def logged_site(tmp_path: Path) -> Iterator[tuple[MockServer, Path]]:
    """The test site, with every request it serves logged."""
    log = tmp_path / "requests.log"
    with MockServer(SITE, values={"canary": "http://127.0.0.2:9"}, log=log) as server:
        yield server, log


def feeds_file(server: MockServer, tmp_path: Path, names: list[str] = SITE_FEEDS) -> Path:
    path = tmp_path / "feeds.txt"
    path.write_text("".join(server.url(f"feeds/{name}") + "\n" for name in names))
    return path


def crawl(feeds: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["crawl", "--feeds", str(feeds), "--db", str(db), "--allow-private", "127.0.0.1"]
    return run_newsmon(*args, *FAST, *extra)


def requests_since(log: Path, start: int) -> list[str]:
    lines = log.read_text().splitlines()[start:]
    return [json.loads(line)["path"] for line in lines]


def test_second_run_sends_conditional_gets_and_fetches_no_known_page(
    logged_site: tuple[MockServer, Path], tmp_path: Path
) -> None:
    server, log = logged_site
    db, feeds = tmp_path / "news.db", feeds_file(server, tmp_path)
    assert crawl(feeds, db).returncode == 0
    first = len(log.read_text().splitlines())
    counts = "select (select count(*) from articles), (select count(*) from entries)"
    before = query(db, counts)
    assert crawl(feeds, db).returncode == 0
    second = requests_since(log, first)
    assert not [p for p in second if p.startswith(("/news/", "/docs/", "/private/"))], second
    statuses = dict(query(db, "select url, last_status from feeds"))
    assert statuses[server.url("feeds/world.rss")] == "not_modified"
    assert statuses[server.url("feeds/russian.xml")] == "unchanged"  # no validators, same bytes
    assert query(db, counts) == before
    (not_modified, known) = query(
        db, "select feeds_not_modified, articles_known from crawl_runs order by id desc limit 1"
    )[0]
    assert not_modified >= 8 and known == 0  # unchanged feeds are not even read again


def test_failing_feed_backs_off_and_is_retried_later(
    logged_site: tuple[MockServer, Path], tmp_path: Path
) -> None:
    server, log = logged_site
    db = tmp_path / "news.db"
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(server.url("status/503") + "\n" + server.url("feeds/science.rdf") + "\n")
    assert crawl(feeds, db, "-s", "RETRY_TIMES=0").returncode == 0
    row = query(db, "select consecutive_failures, next_due_at from feeds where url like '%503'")
    assert row[0][0] == 1 and row[0][1] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    first = len(log.read_text().splitlines())
    assert crawl(feeds, db, "-s", "RETRY_TIMES=0").returncode == 0
    assert "/status/503" not in requests_since(log, first)  # backing off
    with sqlite3.connect(db) as conn:  # time passes
        conn.execute("update feeds set next_due_at = '2000-01-01T00:00:00Z'")
    assert crawl(feeds, db, "-s", "RETRY_TIMES=0").returncode == 0
    assert query(db, "select consecutive_failures from feeds where url like '%503'") == [(2,)]


def test_feed_schedule() -> None:
    schedule = FeedSchedule(min_interval=0, backoff_base=300, backoff_max=3600)
    assert schedule.next_due(1000, 0) is None
    assert schedule.next_due(1000, 1) == 1300
    assert schedule.next_due(1000, 2) == 1600
    assert schedule.next_due(1000, 10) == 4600
    assert schedule.next_due(1000, 1, retry_after=7200) == 8200
    assert FeedSchedule(min_interval=600).next_due(1000, 0) == 1600


def test_second_crawl_on_the_same_database_exits_75(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("https://example.org/feed\n")
    with DatabaseLock(db):
        result = run_newsmon("crawl", "--feeds", str(feeds), "--db", str(db))
    assert result.returncode == 75
    assert result.stderr.strip() == f"newsmon: another crawl is running on {db} (pid {os.getpid()})"


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    script = (
        "from pipeline.db.lock import DatabaseLock; import time; "
        f"lock = DatabaseLock({str(db)!r}); lock.acquire(); print('locked', flush=True); "
        "time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(CrawlLocked):
        DatabaseLock(db).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    with DatabaseLock(db):
        pass


def start_crawl(feeds: Path, db: Path, stderr: int = subprocess.PIPE) -> subprocess.Popen[str]:
    args = ["crawl", "--feeds", str(feeds), "--db", str(db), "--allow-private", "127.0.0.1"]
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args, *FAST],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
    )  # fmt: skip


def last_run_id(db: Path) -> int:
    """The id of the last run, read-only (the crawl creates the database); 0 if none yet."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            (last,) = conn.execute("select coalesce(max(id), 0) from crawl_runs").fetchone()
    except sqlite3.Error:
        return 0  # not created or not migrated yet
    return int(last)


def wait_for_a_new_run(
    db: Path, process: subprocess.Popen[str], after: int, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if last_run_id(db) > after:
            return
        time.sleep(0.02)
    raise AssertionError("the crawl did not open a run")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with (task / "children").open() as listing:
            found.update(int(child) for child in listing.read().split())
    return found


def gone(pids: set[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.2)
    return False


def snapshot(db: Path) -> dict[str, Any]:
    """What a crawl stored, without ids and times.

    An article is named by its text, or by its URL when it has none: two URLs serving one text
    become one article under whichever was fetched first, which depends on timing.
    """
    article = "coalesce(a.text_hash, a.url)"
    return {
        "articles": sorted(query(db, f"select {article}, a.status from articles a"), key=repr),
        "entries": sorted(
            query(
                db,
                f"select f.url, e.link, {article} from entries e "
                "join feeds f on f.id = e.feed_id join articles a on a.id = e.article_id",
            ),
            key=repr,
        ),
        "duplicates": query(db, "select count(*) from articles where duplicate_of is not null"),
    }


def test_sigterm_stops_cleanly_and_records_an_interrupted_run(
    logged_site: tuple[MockServer, Path], tmp_path: Path
) -> None:
    server, _ = logged_site
    feeds = tmp_path / "feeds.txt"
    slow = server.url("slow?seconds=30")
    feeds.write_text(server.url("feeds/world.rss") + "\n" + slow + "\n")
    db = tmp_path / "news.db"
    process = start_crawl(feeds, db)
    # Once the run is open (Scrapy's signal handlers are in place), however long start-up took
    # on a busy machine; then the feed is read and the slow page waited for.
    deadline = time.monotonic() + 120
    while last_run_id(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "did not complete: shutdown" in stderr
    assert query(db, "select status, finish_reason from crawl_runs") == [
        ("interrupted", "shutdown")
    ]
    assert query(db, "pragma integrity_check") == [("ok",)]
    # Its validators were not kept: the next run reads the feed again and finishes the work.
    assert query(db, "select count(*) from feeds where etag is not null") == [(0,)]


def test_sigkill_at_any_moment_loses_nothing_and_duplicates_nothing(
    logged_site: tuple[MockServer, Path], tmp_path: Path
) -> None:
    server, _ = logged_site
    feeds = feeds_file(server, tmp_path)
    reference = tmp_path / "reference.db"
    assert crawl(feeds, reference).returncode == 0
    db = tmp_path / "killed.db"
    orphans: set[int] = set()
    # Once in start-up, then at moments after the run opened (a fixed time from the start would
    # miss the crawl altogether on a fast machine: the test site takes about a second).
    for delay in (None, 0.0, 0.3, 0.6, 1.0):
        runs = last_run_id(db)
        process = start_crawl(feeds, db, stderr=subprocess.DEVNULL)
        if delay is None:
            time.sleep(0.5)
        else:
            wait_for_a_new_run(db, process, after=runs)
            time.sleep(delay)
        orphans |= children(process.pid)  # its extraction workers
        process.send_signal(signal.SIGKILL)
        process.wait()
        if db.exists():
            assert query(db, "pragma integrity_check") == [("ok",)]
    assert gone(orphans), "extraction workers outlived their killed crawl"
    assert crawl(feeds, db).returncode == 0
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert snapshot(db) == snapshot(reference)
    statuses = [s for (s,) in query(db, "select status from crawl_runs order by id")]
    # A run may have finished before its kill; feeds failing then back off, so later runs are ok.
    assert set(statuses) <= {"killed", "partial", "ok"}
    assert "killed" in statuses
    assert statuses[-1] in {"ok", "partial"}


def test_robots_crawl_delay_spaces_requests(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    with MockServer(SITE.parent / "slowsite", log=log) as server:
        feeds = tmp_path / "feeds.txt"
        feeds.write_text("".join(server.url(f"{name}.rdf") + "\n" for name in "abc"))
        started = time.monotonic()
        result = crawl(feeds, tmp_path / "news.db", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
        elapsed = time.monotonic() - started
    assert result.returncode == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    paths = [record["path"] for record in records]
    assert sorted(p for p in paths if p.endswith(".rdf")) == ["/a.rdf", "/b.rdf", "/c.rdf"]
    # Three feeds and the page they link, each at least the Crawl-delay after the one before.
    times = [record["time"] for record in records if record["path"] != "/robots.txt"]
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.35, gaps
    assert elapsed >= 0.4 * 3
    stats = json.loads(query(tmp_path / "news.db", "select stats from crawl_runs")[0][0])
    # The three feeds were due at once: two of them had to wait (the page may come late enough).
    assert stats["newsmon/robots/crawl_delay_waits"] >= 2
