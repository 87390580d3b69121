"""Opening the database: commands that only read it still work where it cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.db import connection
from pipeline.db.connection import open_db, open_db_for_reading
from pipeline.db.migrations import migrations
from pipeline.exceptions import DatabaseError


def refuse_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a folder that cannot be written: a writer's open fails as SQLite's does there."""

    def unwritable(path: str | Path, *, migrate: bool = True) -> None:
        raise DatabaseError(f"cannot open database {path}: unable to open database file")

    monkeypatch.setattr(connection, "open_db", unwritable)


def test_a_database_that_cannot_be_written_is_read_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.db"
    with open_db(path) as db:
        db.table("feeds").insert({"url": "https://example.org/feed", "added_at": "2026-12-01"})
    refuse_writers(monkeypatch)
    with open_db_for_reading(path) as db:
        assert [row["url"] for row in db.query("SELECT url FROM feeds")] == [
            "https://example.org/feed"
        ]
        with pytest.raises(Exception, match="readonly"):
            db.execute("DELETE FROM feeds")


def test_an_unwritable_database_that_needs_migrating_gets_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with open_db(path, migrate=False) as db:
        migrations.apply(db, stop_before="add_watchlists")
    refuse_writers(monkeypatch)
    with pytest.raises(DatabaseError, match="needs a newer schema"):
        open_db_for_reading(path)


def test_a_missing_database_is_not_made_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_writers(monkeypatch)
    with pytest.raises(DatabaseError, match="unable to open database file"):
        open_db_for_reading(tmp_path / "missing.db")
