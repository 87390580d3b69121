"""The database under stress: disk full, a read-only file, a writer holding the lock.

Each must give a clear error and a non-zero exit (or wait its turn), lose nothing already
stored, and leave a database the next run continues from.
"""

from __future__ import annotations

import re
import resource
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST, run_newsmon
from tests.mockserver import MockServer


def crawl(
    site: MockServer, db: Path, feeds: list[str], file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    feed_list = db.parent / "feeds.txt"
    feed_list.write_text("".join(site.url(f"feeds/{name}") + "\n" for name in feeds))

    def limit() -> None:
        if file_size_limit is not None:  # every file the crawl writes stops growing there
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return run_newsmon(
        "crawl", "--feeds", str(feed_list), "--db", str(db), "--allow-private", "127.0.0.1",
        *FAST,
        "--log-file", "/dev/stderr",  # a pipe, which the file size limit does not cover
        preexec_fn=limit,
    )  # fmt: skip


def counts(db: Path) -> tuple[str, int, list[str]]:
    with sqlite3.connect(db) as conn:
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
        (articles,) = conn.execute("SELECT count(*) FROM articles WHERE status = 'ok'").fetchone()
        runs = [row[0] for row in conn.execute("SELECT status FROM crawl_runs ORDER BY id")]
    return integrity, articles, runs


@pytest.fixture(scope="module")
def first_crawl(site: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("first") / "news.db"
    result = crawl(site, db, ["world.rss"])
    assert result.returncode == 0, result.stderr[-2000:]
    return db


@pytest.fixture
def stored(first_crawl: Path, tmp_path: Path) -> Iterator[Path]:
    """A database with one feed's articles in it (a copy: each test changes its own)."""
    db = tmp_path / "news.db"
    shutil.copy(first_crawl, db)
    yield db


def test_disk_full_fails_clearly_loses_nothing_and_the_next_run_recovers(
    site: MockServer, stored: Path
) -> None:
    _, before, _ = counts(stored)
    more = ["world.rss", "russian.xml", "ukrainian.atom", "science.rdf"]
    full = crawl(site, stored, more, file_size_limit=32 * 1024)
    assert full.returncode == 1
    # SQLite says "disk full" or "disk I/O error", depending on which write hit the limit.
    assert re.fullmatch(
        f"newsmon: crawl did not complete: database errors in {re.escape(str(stored))}: "
        r"OperationalError: (database or disk is full|disk I/O error) \(see the log\)",
        full.stderr.strip().splitlines()[-1],
    )
    assert "items not stored, stopping the crawl" in full.stderr
    assert counts(stored) == ("ok", before, ["ok", "failed"])

    again = crawl(site, stored, more)
    assert again.returncode == 0, again.stderr[-2000:]
    integrity, after, runs = counts(stored)
    assert (integrity, runs) == ("ok", ["ok", "failed", "ok"])
    assert after > before


def test_a_read_only_database_is_a_one_line_error(site: MockServer, stored: Path) -> None:
    _, before, _ = counts(stored)
    made_immutable = subprocess.run(["chattr", "+i", str(stored)], capture_output=True, check=False)
    if made_immutable.returncode:
        pytest.skip("chattr +i is not available here: cannot make the file read-only for root")
    try:
        result = crawl(site, stored, ["world.rss", "russian.xml"])
    finally:
        subprocess.run(["chattr", "-i", str(stored)], check=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot write to database {stored}: attempt to write a readonly database"
    )
    assert counts(stored) == ("ok", before, ["ok"])


def test_a_crawl_waits_for_another_writer(site: MockServer, stored: Path) -> None:
    """Another process (newsmon watch, a user's script) holding the write lock for seconds."""
    holding = threading.Event()

    def hold_lock() -> None:
        with sqlite3.connect(stored, isolation_level=None) as conn:
            conn.execute("BEGIN IMMEDIATE")
            holding.set()
            time.sleep(4)
            conn.execute("COMMIT")

    holder = threading.Thread(target=hold_lock)
    holder.start()
    holding.wait()
    result = crawl(site, stored, ["world.rss", "russian.xml"])
    holder.join()
    assert result.returncode == 0, result.stderr[-2000:]
    assert counts(stored)[2] == ["ok", "ok"]
