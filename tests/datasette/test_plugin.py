"""The datasette side: metadata, facets, full-text search and saved queries on a crawled database."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import feedparser
import pytest
from datasette.app import Datasette
from lxml import etree

from pipeline.api import DATASETTE_SETTINGS, datasette_metadata, serve_command
from pipeline.datasette.atom import sanitise
from pipeline.datasette.chart import draw_chart
from pipeline.db.connection import open_db
from pipeline.search.index import index_article
from pipeline.search.watchlists import Watchlist, sync
from tests.conftest import Crawl


def get(db: Path, path: str, status: int = 200) -> Any:
    """The response to ``path`` from datasette as ``newsmon serve`` configures it."""

    async def fetch() -> Any:
        # Facets give up after facet_time_limit_ms: too short on a busy CI.
        settings = {**DATASETTE_SETTINGS, "facet_time_limit_ms": 10_000}
        ds = Datasette([str(db)], metadata=datasette_metadata(db.stem), settings=settings)
        response = await ds.client.get(path)
        assert response.status_code == status, (path, response.text[:500])
        return response

    return asyncio.run(fetch())


def get_json(db: Path, path: str) -> Any:
    return get(db, path).json()


def test_articles_table_is_sorted_newest_first_with_facets(crawl: Crawl) -> None:
    data = get_json(crawl.db, f"/{crawl.db.stem}/articles.json?_shape=objects&_extra=facet_results")
    published = [r["published"] for r in data["rows"] if r["published"]]
    assert published == sorted(published, reverse=True)
    facets = data["facet_results"]
    facet_names = set(facets["results"]) if "results" in facets else set(facets)
    assert {"language", "site_name", "status", "feed_id"} <= facet_names


def test_table_search_and_saved_queries(crawl: Crawl) -> None:
    name = crawl.db.stem
    found = get_json(crawl.db, f"/{name}/articles.json?_search=Kazakh&_shape=objects")
    assert found["rows"] and all(
        "Kazakh" in (r["title"] + (r["text"] or "")) for r in found["rows"]
    )
    search = get_json(
        crawl.db, f"/{name}/search.json?q=%D0%B7%D0%B5%D1%80%D0%BD%D0%B0&_shape=objects"
    )
    # Two URLs serve this text; it is one article, stored under whichever was fetched first.
    assert len(search["rows"]) == 1
    assert "/news/uk-grain.html" in search["rows"][0]["url"]
    for query in ("latest", "feed_health", "missing_text", "top_stories"):
        assert get_json(crawl.db, f"/{name}/{query}.json?_shape=objects")["rows"], query
    story = get_json(crawl.db, f"/{name}/top_stories.json?_shape=objects")["rows"][0]
    articles = get_json(crawl.db, f"/{name}/story.json?story_id={story['story']}&_shape=objects")[
        "rows"
    ]
    assert len(articles) == story["article_count"] >= 2
    copy = get_json(crawl.db, f"/{name}/articles.json?duplicate_of__notblank=1&_shape=objects")[
        "rows"
    ]
    assert len(copy) == 1
    original = copy[0]["duplicate_of"]
    rows = get_json(crawl.db, f"/{name}/duplicates.json?article_id={original}&_shape=objects")[
        "rows"
    ]
    assert [r["id"] for r in rows if r["kind"] == "near-copy"] == [copy[0]["id"]]
    assert any(r["kind"] == "sighting" for r in rows)


def test_every_table_and_column_is_described() -> None:
    tables = datasette_metadata("news")["databases"]["news"]["tables"]
    from pipeline.db.migrations import migrations  # noqa: F401 (the schema the metadata describes)

    for table in ("articles", "feeds", "entries", "crawl_runs"):
        assert tables[table]["description"]


def datasette_settings(command: list[str]) -> dict[str, str]:
    return {command[i + 1]: command[i + 2] for i, arg in enumerate(command) if arg == "--setting"}


def test_serve_binds_loopback_with_metadata(crawl: Crawl) -> None:
    temporary = set(Path(tempfile.gettempdir()).iterdir())
    commands = [
        serve_command(crawl.db, "127.0.0.1", 8123),
        serve_command(crawl.db, "127.0.0.1", 8123, allow_sql=True),
    ]
    paths = [Path(command[command.index("--metadata") + 1]) for command in commands]
    try:
        command, with_sql = commands
        assert command[command.index("--host") + 1] == "127.0.0.1"
        assert datasette_settings(command)["default_allow_sql"] == "false"
        assert datasette_settings(with_sql)["default_allow_sql"] == "true"
        for _ in range(2):  # datasette may read it again (--reload): it is read from the start
            metadata = json.loads(paths[0].read_text())
            assert metadata["title"] == "newsmon"
            assert crawl.db.stem in metadata["databases"]
        assert set(Path(tempfile.gettempdir()).iterdir()) == temporary  # nothing left behind
    finally:
        for path in paths:
            os.close(int(path.name))


def test_served_metadata_reaches_the_exec_d_program(crawl: Crawl) -> None:
    command = serve_command(crawl.db, "127.0.0.1", 8123)
    path = command[command.index("--metadata") + 1]
    try:
        read = subprocess.run(
            [sys.executable, "-c", "import sys; print(open(sys.argv[1]).read())", path],
            capture_output=True,
            text=True,
            check=True,
            close_fds=False,
        )
    finally:
        os.close(int(Path(path).name))
    assert json.loads(read.stdout)["title"] == "newsmon"


def test_arbitrary_sql_is_off_and_the_database_is_read_only(crawl: Crawl) -> None:
    name = crawl.db.stem
    get(crawl.db, f"/{name}?sql=select+1", status=403)
    databases = get_json(crawl.db, "/-/databases.json")
    assert [d["is_mutable"] for d in databases] == [True]  # opened with mode=ro for reading


@pytest.mark.parametrize("path", ["/\\example.com/", "/%5Cexample.com/", "//example.com/x"])
def test_no_redirect_leaves_the_site(crawl: Crawl, path: str) -> None:
    response = get(crawl.db, path, status=404)
    assert "location" not in response.headers


def test_stemmed_search_saved_query(crawl: Crawl) -> None:
    name = crawl.db.stem
    rows = get_json(crawl.db, f"/{name}/search.json?q=очередь&_shape=objects")["rows"]
    assert [r["url"].rsplit("/", 1)[-1] for r in rows] == ["ru-border.html"]
    rows = get_json(crawl.db, f"/{name}/search.json?q=borders+NOT+wire&_shape=objects")["rows"]
    assert [r["url"].rsplit("/", 1)[-1] for r in rows] == ["en-border.html"]
    assert get_json(crawl.db, f"/{name}/search.json?q=&_shape=objects")["rows"] == []
    page = get(crawl.db, f"/{name}/search?q=очередь").text
    assert re.search(rf'<a href="/{name}/articles/\d+">\d+</a>', page)  # to the clean text
    # In the search box, a query that does not parse is searched as its words.
    rows = get_json(crawl.db, f"/{name}/search.json?q=%28borders+OR&_shape=objects")["rows"]
    assert {r["url"].rsplit("/", 1)[-1] for r in rows} == {"en-border.html", "wire-border.html"}


def test_watchlist_atom_feed_validates_and_lists_the_matches(crawl: Crawl) -> None:
    name = crawl.db.stem
    response = get(crawl.db, f"/{name}/watchlist.atom?name=border")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{atom}{required}") is not None, required
    parsed = feedparser.parse(io.BytesIO(response.content))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Watchlist: border"
    links = {entry.link.rsplit("/", 1)[-1] for entry in parsed.entries}
    assert links == {"en-border.html", "wire-border.html"}
    for entry in parsed.entries:
        assert entry.id and entry.updated and entry.title
        assert "<p>" in entry.content[0].value

    empty = feedparser.parse(io.BytesIO(get(crawl.db, f"/{name}/watchlist.atom?name=x").content))
    assert not empty.bozo and empty.entries == []


def test_feed_and_page_html_is_never_rendered(tmp_path: Path) -> None:
    db_path = tmp_path / "hostile.db"
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    with open_db(db_path) as db:
        db.table("articles").insert(
            {"id": 1, "url": "https://example.org/1", "title": f"Title {hostile}",
             "text": f"Body {hostile}\nSecond", "summary": hostile, "status": "ok",
             "language": "en", "first_seen_at": "2026-11-01T00:00:00Z"}
        )  # fmt: skip
        index_article(db, 1, f"Title {hostile}", f"Body {hostile}", "en")
        sync(db, [Watchlist("body", "body")])
    pages = ("/hostile/articles?_all=1", "/hostile/articles?_col=title", "/hostile/articles/1")
    for path in (*pages, "/hostile/watchlist?name=body"):
        page = get(db_path, path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;" in page, path
    feed = get(db_path, "/hostile/watchlist.atom?name=body").content
    content = feedparser.parse(io.BytesIO(feed)).entries[0].content[0].value
    assert "<script" not in content and "<img" not in content
    assert "&lt;script&gt;" in content
    row = get(db_path, "/hostile/articles/1").text
    assert '<div class="newsmon-text"><p>Body &lt;script&gt;' in row  # paragraphs, escaped


def test_sanitise_keeps_formatting_and_drops_everything_active() -> None:
    html = sanitise(
        '<p onclick="x()">Hi <b>there</b> <a href="https://e.org/" style="x">link</a>'
        '<a href="javascript:alert(1)">js</a></p><script>alert(1)</script>'
        "<iframe src=https://e.org></iframe><img src=x onerror=alert(1)><style>p{}</style>"
    )
    assert "<b>there</b>" in html and '<a href="https://e.org/">link</a>' in html
    for bad in ("onclick", "javascript:", "<script", "<iframe", "<img", "<style", "style="):
        assert bad not in html, bad


def test_chart_of_articles_per_day(crawl: Crawl) -> None:
    page = get(crawl.db, "/-/chart").text
    (stylesheet,) = re.findall(r'href="(/-/static-plugins/[^"]+)"', page)
    assert ".newsmon-text" in get(crawl.db, stylesheet).text
    assert "<svg" in page and "<rect" in page
    assert "Articles per day, by feed" in page
    # The window ends at the latest matched article: the fixtures' newest is the river study.
    by_watchlist = get(crawl.db, "/-/chart?by=watchlist&days=7").text
    assert "rivers (1)" in by_watchlist and "border (" not in by_watchlist
    get(crawl.db, "/-/chart?by=nonsense", status=400)
    get(crawl.db, "/-/chart?database=other", status=404)


def test_draw_chart_stacks_series_and_groups_the_rest() -> None:
    days = ["2026-11-01", "2026-11-02"]
    rows = [(day, f"feed {i}", i + 1) for day in days for i in range(12)]
    svg, legend = draw_chart(days, rows)
    assert [item["series"] for item in legend][-1] == "others"
    assert len(legend) == 10
    assert sum(item["total"] for item in legend) == 2 * sum(range(1, 13))
    assert svg.count("<rect") == 20
