"""The Python API's server start, which ``make screenshots`` uses: it serves what ``newsmon serve``
serves, and a server that cannot start says why at once."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from pipeline import api
from pipeline.api import start_server
from pipeline.exceptions import NewsmonError
from pipeline.parsing.feed_lists import FeedSource
from tests.conftest import Crawl
from tests.mockserver import free_port


def open_descriptors() -> set[str]:
    return {path.name for path in Path("/proc/self/fd").iterdir()}


def test_start_server_serves_the_database_with_the_project_metadata(crawl: Crawl) -> None:
    before = open_descriptors()
    port = free_port()
    server = start_server(crawl.db, "127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metadata.json") as response:
            metadata = json.load(response)
        assert metadata["title"] == "newsmon"
        assert crawl.db.stem in metadata["databases"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{crawl.db.stem}/articles") as page:
            assert page.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The metadata's descriptor was handed over, not kept (the error log is an unnamed file).
    leaked = {fd for fd in open_descriptors() - before if "memfd" in _target(fd)}
    assert leaked == set()


def test_a_server_that_cannot_start_says_why_at_once(crawl: Crawl) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # An hour of patience: the error must come from the server's exit, not from waiting.
        with pytest.raises(NewsmonError, match=r"exited with code \d+ before it answered: .+"):
            start_server(crawl.db, "127.0.0.1", port, timeout=3600)


def test_start_server_needs_a_database(tmp_path: Path) -> None:
    with pytest.raises(NewsmonError, match="no database at"):
        start_server(tmp_path / "missing.db", "127.0.0.1", free_port())


def _target(fd: str) -> str:
    try:
        return str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return ""


def test_backfill_days_and_months() -> None:
    from pipeline.api import parse_day

    assert parse_day("2026-10-05") == "2026-10-05"
    assert parse_day("2026-10") == "2026-10-01"
    assert parse_day("2026-10", last=True) == "2026-10-31"
    assert parse_day("2028-02", last=True) == "2028-02-29"
    assert parse_day("2026-12", last=True) == "2026-12-31"
    with pytest.raises(NewsmonError, match="not a day"):
        parse_day("2026-13-01")


def test_serving_without_a_watchlists_file_only_reads_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``newsmon serve`` syncs the watchlists file beside the database: without one it must
    not open the database for writing (a database the server's user cannot write)."""
    db = tmp_path / "news.db"
    api.import_feed_sources(db, [FeedSource("https://example.com/feed.xml")])

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened for writing")

    monkeypatch.setattr(api, "open_db", refused)
    assert api.sync_watchlists(db) == tmp_path / "watchlists.toml"
