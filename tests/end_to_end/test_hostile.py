"""Hostile and broken inputs, end to end: a chaos feed on loopback (tests/mockserver/site/feeds/
chaos.rss and the fault routes of tests/mockserver), crawled once.

Every case must end as a stored article whose status says what happened, the crawl must
complete in bounded time and memory, and nothing may reach the canary on 127.0.0.3.
"""

from __future__ import annotations

import resource
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FAST, Canary, run_newsmon
from tests.mockserver import MockServer

EXPECTED = {
    # transport
    "stall": "fetch_failed:timeout",
    "trickle": "fetch_failed:timeout",
    "lie": "fetch_failed:data_loss",
    "429": "fetch_failed:429",
    "503": "fetch_failed:503",
    "loop": "fetch_failed:redirects",
    "long chain": "fetch_failed:redirects",
    "short chain": "ok",
    "big": "fetch_failed:too_large",
    "big chunked": "fetch_failed:too_large",
    "endless": "fetch_failed:too_large",
    "gzip bomb": "fetch_failed:too_large",
    "deflate bomb": "fetch_failed:too_large",
    "brotli bomb": "fetch_failed:too_large",
    "zstd bomb": "fetch_failed:too_large",
    "gzip bomb without header": "not_html",
    "zstd bomb without header": "not_html",
    "png": "not_html",
    "json": "not_html",
    "zip": "not_html",
    # pages
    "slow to parse": "extract_timeout",
    # schemes, in feeds and in redirects
    "file link": "refused:scheme",
    "ftp link": "refused:scheme",
    "data link": "refused:scheme",
    "s3 link": "refused:scheme",
    "javascript link": "refused:scheme",
    "redirect to file": "refused:scheme",
    "redirect to data": "refused:scheme",
    "redirect to ftp": "refused:scheme",
    "redirect to javascript": "refused:scheme",
    # addresses: the canary on 127.0.0.3, however it is spelled, directly or by redirect
    "canary": "refused:private",
    "redirect to canary": "refused:private",
    "canary in decimal": "refused:private",
    "canary in hex": "refused:private",
    "canary as IPv6-mapped": "refused:private",
    # feed fields
    "long url": "refused:url_too_long",
}


# The slow page (60,000 paragraphs) keeps trafilatura busy for about ten seconds on a 2026
# laptop core; ordinary pages take milliseconds. A budget of one second is far from both, so
# the outcome does not depend on how fast the machine is.
EXTRACT_TIMEOUT = 1


@dataclass
class ChaosCrawl:
    db: Path
    statuses: dict[str, tuple[str, str | None]]  # entry title -> (article status, error)
    returncode: int
    stderr: str
    seconds: float
    max_rss_mb: float


@pytest.fixture(scope="module")
def chaos(site: MockServer, canary: Canary, tmp_path_factory: pytest.TempPathFactory) -> ChaosCrawl:
    root = tmp_path_factory.mktemp("chaos")
    feeds = root / "feeds.txt"
    feeds.write_text(site.url("feeds/chaos.rss") + "\n")
    db = root / "chaos.db"
    started = time.monotonic()
    result = run_newsmon(
        "crawl", "--feeds", str(feeds), "--db", str(db), "--allow-private", "127.0.0.1",
        *FAST, "-s", "DOWNLOAD_TIMEOUT=5", "-s", f"NEWSMON_EXTRACT_TIMEOUT={EXTRACT_TIMEOUT}",
        timeout=240,
    )  # fmt: skip
    seconds = time.monotonic() - started
    # The largest resident size of any child so far: the crawl is by far the largest.
    max_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT e.title, a.status, a.error FROM entries e JOIN articles a ON a.id = e.article_id"
        ).fetchall()
    statuses = {title: (status, error) for title, status, error in rows}
    return ChaosCrawl(db, statuses, result.returncode, result.stderr, seconds, max_rss_mb)


def test_the_crawl_completes_in_bounded_time_and_memory(chaos: ChaosCrawl) -> None:
    assert chaos.returncode == 0, chaos.stderr[-2000:]
    assert chaos.seconds < 90
    assert chaos.max_rss_mb < 1024
    with sqlite3.connect(chaos.db) as conn:
        (status,) = conn.execute("SELECT status FROM crawl_runs").fetchone()
    assert status == "ok"


@pytest.mark.parametrize(("title", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_every_case_is_stored_with_its_reason(chaos: ChaosCrawl, title: str, expected: str) -> None:
    status, error = chaos.statuses[title]
    assert status == expected, error
    if status != "ok":
        assert error or status.startswith("refused:"), "the reason is missing"


def test_connection_reset_and_pathological_nesting_are_recorded(chaos: ChaosCrawl) -> None:
    assert chaos.statuses["reset"][0] in ("fetch_failed:data_loss", "fetch_failed:connectionlost")
    # libxml2 gives up on deep nesting by itself; whatever it made of it is recorded.
    assert chaos.statuses["nested"][0] in ("ok", "no_text", "extract_timeout")


def test_nothing_reached_the_canary(chaos: ChaosCrawl, canary: Canary) -> None:
    assert canary.hits() == []


def test_html_in_feed_fields_is_stored_as_text_and_huge_titles_are_cut(chaos: ChaosCrawl) -> None:
    with sqlite3.connect(chaos.db) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM entries")]
        summaries = [row[0] for row in conn.execute("SELECT summary FROM articles") if row[0]]
    assert "Bold headline" in titles
    assert "Summary text" in summaries
    assert not any("<" in text or "alert(" in text for text in titles + summaries)
    (huge,) = [title for title in titles if title.startswith("Enormous")]
    assert len(huge) == 1000 and huge.endswith("…")
    assert chaos.statuses[huge][0] == "ok"
