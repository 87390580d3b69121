from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.db import migrations as migrations_module
from pipeline.db.connection import open_db
from pipeline.db.migrations import migrations
from pipeline.search import index as search_index
from pipeline.search.index import find, index_article
from tests.conftest import add_article

EXPECTED_COLUMNS = {
    "feeds": {"id", "url", "title", "site_url", "last_status", "last_error", "last_fetched_at"},
    "articles": {
        "id", "url", "canonical_url", "title", "text", "author", "published", "language",
        "site_name", "description", "image", "status", "fetched_at", "duplicate_of",
    },
    "entries": {"feed_id", "article_id", "guid", "link", "title", "published", "first_seen_at"},
    "crawl_runs": {"id", "started_at", "finished_at", "status"},
}  # fmt: skip


def test_schema_and_wal(tmp_path: Path) -> None:
    db = open_db(tmp_path / "news.db")
    for table, columns in EXPECTED_COLUMNS.items():
        assert columns <= set(db[table].columns_dict), table
    assert db["articles_fts"].exists()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {tuple(i.columns): i.unique for i in db["articles"].indexes}  # type: ignore[union-attr]
    assert indexes[("url",)]
    db.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    open_db(path).close()
    db = open_db(path)
    assert migrations.pending(db) == []
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]
    assert len(applied) == len(set(applied))
    db.close()


def test_database_in_unwritable_place_gets_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from pipeline.exceptions import DatabaseError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_db(blocker / "news.db")


def test_articles_stored_before_stemmed_search_are_indexed_after_migrating(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.db"
    with open_db(path, migrate=False) as db:
        migrations.apply(db, stop_before="add_stemmed_search")
        db.table("articles").insert(
            {"url": "https://example.org/1", "title": "Очереди на границе", "language": "ru",
             "text": "Мобилизация: очереди на границах.", "status": "ok",
             "first_seen_at": "2026-11-01T00:00:00Z"}
        )  # fmt: skip
    with open_db(path) as db:
        assert [row["id"] for row in find(db, "граница мобилизации")] == [1]
        assert db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (0,)


def test_migrations_import_no_newsmon_code() -> None:
    """Migrations are frozen history: what today's code does must not change what they did."""
    source = Path(migrations_module.__file__).read_text(encoding="utf-8")
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported
    assert not [name for name in imported if name and name.split(".")[0] in ("pipeline", "spiders")]


def test_a_complete_index_is_taken_as_the_first_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "INDEX_DEFINITION", 1)  # as when the migration was written
    path = tmp_path / "news.db"
    with open_db(path, migrate=False) as db:
        migrations.apply(db, stop_before="add_search_index_state")
        add_article(db, 1, "ru", "Очереди на границе", "Мобилизация: очереди.", index=False)
        index_article(db, 1, "Очереди на границе", "Мобилизация: очереди.", "ru")
        migrations.apply(db)
        assert db.execute("SELECT definition FROM search_index_state").fetchall() == [(1,)]
        assert search_index.bring_up_to_date(db) == 0  # nothing to redo


def test_the_index_is_rebuilt_when_its_definition_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.db"
    with open_db(path) as db:
        for article_id in range(1, 8):
            add_article(db, article_id, "en", f"Border {article_id}", "Queues at the borders.")
        db.execute("DELETE FROM articles_search")  # as a changed stemmer would leave it: stale
        assert find(db, "border") == []
    changed = search_index.INDEX_DEFINITION + 1
    monkeypatch.setattr(search_index, "INDEX_DEFINITION", changed)
    monkeypatch.setattr(search_index, "REINDEX_CHUNK", 3)
    seen: list[tuple[int, int]] = []
    with open_db(path, migrate=False) as db:
        assert search_index.bring_up_to_date(db, lambda done, total: seen.append((done, total)))
        assert seen == [(3, 7), (6, 7), (7, 7)]
        assert len(find(db, "borders")) == 7
        assert db.execute("SELECT definition FROM search_index_state").fetchall() == [(changed,)]
    with open_db(path) as db:  # up to date: nothing is redone
        assert search_index.bring_up_to_date(db) == 0
