"""Shared fixtures: the mock news site, a canary server, and one full crawl of the site."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.demo import FEEDS as DEMO_FEEDS
from pipeline.search.index import index_article
from tests.mockserver import MockServer, fill_placeholders

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "mockserver"
SITE = FIXTURES / "site"
# Settings that make test crawls fast; politeness is tested by its own settings, not by waiting.
FAST = [
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "NEWSMON_EXTRACT_WORKERS=1",
    "-s", "DOWNLOAD_TIMEOUT=10",
    "-s", "LOG_LEVEL=INFO",
]  # fmt: skip
# The demo's feeds, and the broken ones the demo leaves out.
SITE_FEEDS = [*DEMO_FEEDS, "gzipped.xml", "empty.xml", "garbage.xml"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that runs newsmon in a child process: the tests in end_to_end/,
    and those that use the session's crawl of the mock site (``-m "not slow"`` leaves them out)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "end_to_end" in item.path.parts or "crawl" in fixtures or "chaos" in fixtures:
            item.add_marker(pytest.mark.slow)


def fixture_bytes(
    path: str, base: str = "http://news.test", canary: str = "http://canary.test"
) -> bytes:
    """A fixture file with its placeholders filled in, as the mock server would serve it."""
    return fill_placeholders((SITE / path).read_bytes(), {"base": base, "canary": canary})


def run_newsmon(
    *args: str, timeout: float = 180, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``newsmon`` command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        preexec_fn=preexec_fn,
        check=False,
    )


@dataclass
class Canary:
    server: MockServer
    log: Path

    def hits(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(scope="session")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canary]:
    """A server on a second loopback address that no crawl may reach."""
    root = tmp_path_factory.mktemp("canary")
    log = root / "requests.log"
    with MockServer(root, host="127.0.0.3", log=log) as server:
        yield Canary(server, log)


@pytest.fixture(scope="session")
def site(canary: Canary) -> Iterator[MockServer]:
    canary_port = canary.server.base.rsplit(":", 1)[1]
    values = {"canary": canary.server.base, "canary_port": canary_port}
    with MockServer(SITE, values=values) as server:
        yield server


@pytest.fixture(scope="session")
def feeds_file(site: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feeds") / "feeds.txt"
    lines = ["# the test site's feeds", *(site.url(f"feeds/{name}") for name in SITE_FEEDS)]
    lines.append(site.url("status/500"))
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Crawl:
    db: Path
    result: subprocess.CompletedProcess[str]


# Watchlists of the session crawl (watchlists.toml beside its database): the articles each
# must match are listed in tests/search/test_watchlists.py.
WATCHLISTS = """
[watchlists.border]
query = "border"

[watchlists.queues]
query = "очередь OR очереди"

[watchlists.checkpoint]
query = '"пункт пропуска"'

[watchlists.grain]
query = "зерно"
languages = ["uk"]

[watchlists.exodus]
query = "mobilisation AND (Kazakhstan OR Georgia)"

[watchlists.rivers]
query = 'river NOT "twenty years"'
"""


@pytest.fixture(scope="session")
def crawl(feeds_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """One full crawl of the test site, allowed on 127.0.0.1 only, with watchlists."""
    db = tmp_path_factory.mktemp("crawl") / "news.db"
    (db.parent / "watchlists.toml").write_text(WATCHLISTS, encoding="utf-8")
    args = ["crawl", "--feeds", str(feeds_file), "--db", str(db), "--allow-private", "127.0.0.1"]
    result = run_newsmon(*args, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    return Crawl(db, result)


ARTICLES = [
    (1, "en", "Queues grow at the Kazakh border", "Cars waited at the borders. Mobilisation."),
    (2, "ru", "На границе с Казахстаном выросли очереди", "После объявления мобилизации. NATO"),
    (3, "uk", "Одеські порти відновили відвантаження зерна", "Порти відновили роботу."),
    (4, "en", "Football border clash", "The border derby ended in a draw."),
    (5, "en", "Board meeting", "The board met on the boarder's request."),
    (6, "ru", "Пункт пропуска Верхний Ларс", "На пункте пропуска Верхний Ларс очередь."),
    (7, "kk", "Шекарада кезек", "Қазақстан шекарасында кезек ұзарды. мобилизация"),
]


def add_article(
    db: Database, article_id: int, language: str, title: str, text: str, *, index: bool = True
) -> None:
    """Store an article with text (and, unless ``index`` is False, index it for search)."""
    db.table("articles").insert(
        {
            "id": article_id,
            "url": f"https://example.org/{article_id}",
            "title": title,
            "text": text,
            "language": language,
            "status": statuses.OK,
            "first_seen_at": "2026-11-01T00:00:00Z",
        }
    )
    if index:
        index_article(db, article_id, title, text, language)


@pytest.fixture
def indexed_db(tmp_path: Path) -> Iterator[Database]:
    """A database of a few articles in several languages, indexed for search."""
    with open_db(tmp_path / "search.db") as db:
        for article_id, language, title, text in ARTICLES:
            add_article(db, article_id, language, title, text)
        yield db
