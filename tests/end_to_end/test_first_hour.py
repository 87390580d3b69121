"""A new user's first crawls on a terminal: no feed reachable, the back-off that follows, and
``--force``. The crawl runs on a pseudo-terminal, as when typed by hand."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from pipeline import statuses
from tests.conftest import FAST, ROOT, run_newsmon
from tests.mockserver import free_port

FEEDS = 5


def unreachable_feeds(tmp_path: Path) -> Path:
    port = free_port()  # nothing listens: connections are refused at once
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("".join(f"http://127.0.0.1:{port}/feed{i}.xml\n" for i in range(FEEDS)))
    return feeds


def crawl_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``newsmon crawl`` with its stderr on a pseudo-terminal; its exit code and screen."""
    parent, child = pty.openpty()
    command = [sys.executable, "-m", "pipeline", "crawl", *args, *FAST]
    process = subprocess.Popen(command, cwd=ROOT, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    screen = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the terminal's other end is closed: the crawl has ended
            break
        if not chunk:
            break
        screen += chunk
    os.close(parent)
    return process.wait(timeout=120), screen.decode("utf-8", "replace")


def screen_lines(screen: str) -> list[str]:
    """The lines a person sees: a progress line rewritten in place counts once."""
    lines = []
    for line in screen.replace("\r\n", "\n").split("\n"):
        shown = line.rsplit("\r", 1)[-1].replace("\x1b[2K", "")
        if shown.strip():
            lines.append(shown)
    return lines


def test_a_first_crawl_with_no_feed_reachable_says_so_in_a_few_lines(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    args = ["--feeds", str(unreachable_feeds(tmp_path)), "--db", str(db)]
    code, screen = crawl_on_a_terminal(*args, "--allow-private", "127.0.0.1")
    lines = screen_lines(screen)
    assert code == 69, screen
    assert len(lines) <= 25, screen
    assert "Traceback" not in screen
    assert "Disabled" not in screen
    assert f"0 of {FEEDS} feeds read" in screen
    assert f"{FEEDS} failed" in screen
    assert f"feed {statuses.fetch_failed('connection_refused')} ×{FEEDS}" in screen
    assert lines[-1] == f"newsmon: no feed could be reached (0 of {FEEDS} answered): " + (
        "is this machine online?"
    )
    # The details went to the log beside the database.
    log = (tmp_path / "newsmon.log").read_text(encoding="utf-8")
    assert "Connection was refused" in log or "connection_refused" in log

    # An immediate rerun skips the feeds in back-off, and says so.
    code, screen = crawl_on_a_terminal(*args, "--allow-private", "127.0.0.1")
    assert code == 0, screen
    assert f"all {FEEDS} feeds are in back-off, none was fetched" in screen
    assert "'newsmon crawl --force' fetches them now" in screen
    status = run_newsmon("status", "--db", str(db), "--json")
    back_off = json.loads(status.stdout)["back_off"]
    assert back_off["feeds"] == FEEDS and back_off["next_due_at"]

    # --force fetches them now.
    code, screen = crawl_on_a_terminal(*args, "--allow-private", "127.0.0.1", "--force")
    assert code == 69, screen
    assert f"{FEEDS} failed, 0 skipped in back-off" in screen


def test_under_cron_the_crawl_prints_only_why_it_failed(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    feeds = unreachable_feeds(tmp_path)
    result = run_newsmon(
        "crawl", "--feeds", str(feeds), "--db", str(db), "--allow-private", "127.0.0.1", *FAST
    )
    assert result.returncode == 69
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"newsmon: no feed could be reached (0 of {FEEDS} answered): is this machine online?"
    ]
