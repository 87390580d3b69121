"""The datasette side: metadata, facets, full-text search and saved queries on a crawled database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from datasette.app import Datasette

from pipeline.api import datasette_metadata, serve_command
from tests.conftest import Crawl


def get_json(db: Path, path: str) -> Any:
    async def fetch() -> Any:
        # Facets give up after facet_time_limit_ms (200 ms by default): too short on a busy CI.
        ds = Datasette(
            [str(db)],
            metadata=datasette_metadata(db.stem),
            settings={"facet_time_limit_ms": 10_000},
        )
        response = await ds.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        return response.json()

    return asyncio.run(fetch())


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
    articles = get_json(crawl.db, f"/{name}/story.json?story_id={story['id']}&_shape=objects")[
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
    from pipeline.migrations import migrations  # noqa: F401 (the schema the metadata describes)

    for table in ("articles", "feeds", "entries", "crawl_runs"):
        assert tables[table]["description"]


def test_serve_binds_loopback_with_metadata(crawl: Crawl) -> None:
    command = serve_command(crawl.db, "127.0.0.1", 8123)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    metadata = json.loads(Path(command[command.index("--metadata") + 1]).read_text())
    assert metadata["title"] == "newsmon"
    assert crawl.db.stem in metadata["databases"]
