from __future__ import annotations

from pathlib import Path

from pipeline.db.connection import open_db
from pipeline.db.migrations import migrations
from pipeline.search.index import find

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

    from pipeline.db.connection import DatabaseError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_db(blocker / "news.db")


def test_articles_stored_before_stemmed_search_are_indexed_by_its_migration(
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
        assert db.execute("SELECT count(*) FROM search_queue").fetchone() == (0,)
