"""Opening the newsmon database: WAL mode, busy timeout, schema migrated, search index current."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.db.migrations import migrations
from pipeline.exceptions import DatabaseError
from pipeline.search.index import bring_up_to_date

BUSY_TIMEOUT_SECONDS = 30
# SQLite's page cache per connection, in the crawl process's heap. A larger cache fills up over
# a long run and grows the heap, without making dedup faster per article, however many articles
# are stored (benchmarks/dedup_bench.py; measurements: docs/performance.md).
CACHE_MB = 8


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating it if needed) the database at ``path``, apply pending migrations, and
    rebuild the stemmed search index if its definition changed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{CACHE_MB * 1024}")
        db = Database(conn)
        if migrate:
            migrations.apply(db)
            bring_up_to_date(db)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    return db


def ensure_writable(db: Database, path: str | Path) -> None:
    """DatabaseError unless the database can be written (read-only file or file system, ...)."""
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(f"PRAGMA user_version = {int(version)}")  # a write, rolled back
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot write to database {path}: {exc}") from exc


class LazyReader:
    """A read-only connection to the database, opened on first use.

    For components that look things up during a crawl: before the database exists, every
    lookup finds nothing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self._conn is None:
            try:
                self._conn = open_db_readonly(self.path).conn
            except DatabaseError:
                return None
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def open_db_readonly(path: str | Path) -> Database:
    path = Path(path)
    if not path.exists():
        raise DatabaseError(f"no database at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    return Database(conn)


def open_db_for_reading(path: str | Path) -> Database:
    """The database at ``path`` for commands that only read it (``status``, ``search``,
    ``export``, ``feeds list``).

    Opened as a writer would (migrated, WAL), so that it reads what a crawl is writing. If that
    is impossible because its folder or file cannot be written (a copy on read-only media, a
    database owned by the crawl's user), it is read as it is, read-only: no crawl can be writing
    it there. ``DatabaseError`` if neither works, or if it needs migrating first.
    """
    try:
        return open_db(path)
    except DatabaseError as exc:
        if not Path(path).exists():
            raise
        try:
            conn = sqlite3.connect(f"file:{Path(path)}?mode=ro&immutable=1", uri=True)
            db = Database(conn)
            pending = migrations.pending(db)
        except sqlite3.Error:
            raise exc from None
        if pending:
            conn.close()
            raise DatabaseError(
                f"{exc}; it cannot be read as it is either: it needs a newer schema, which "
                "only a writable database can get"
            ) from None
        return db


SQL_VARIABLES = 500  # values bound per query, well under SQLite's limit


def rows_in(db: Database, sql: str, values: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql``, a query with one ``IN ({})``, for all of ``values``: one query per
    ``SQL_VARIABLES`` values, sorted."""
    ordered = sorted(values)
    for start in range(0, len(ordered), SQL_VARIABLES):
        chunk = ordered[start : start + SQL_VARIABLES]
        yield from db.execute(sql.format(", ".join("?" * len(chunk))), chunk)
