"""Reading the edits, removals and returns that revisits found (``article_changes``).

``changes`` is what ``newsmon changes`` prints; ``watchlist_alerts`` are the changes of articles
matched by a watchlist that asks for them (``changes = true``), which the watchlist matcher
passes to ``NEWSMON_ON_MATCHES`` with the run's new matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

_CHANGE_COLUMNS = """
    c.kind AS change, c.detected_at, c.article_id, a.url, a.title, a.site_name, a.language,
    a.published, c.version, c.status, c.detail,
    (SELECT v.title FROM article_versions v
     WHERE v.article_id = c.article_id AND v.version = c.version - 1) AS previous_title,
    a.removed_at
"""


def changes(db: Database, since: str = "", kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Changes found since ``since`` (ISO 8601 UTC; empty: all), oldest first; of ``kinds``
    only (``edited``, ``removed``, ``returned``) if given."""
    where = "c.detected_at >= ?"
    params: list[Any] = [since]
    if kinds:
        where += f" AND c.kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    return list(
        db.query(
            f"SELECT {_CHANGE_COLUMNS} FROM article_changes c "
            f"JOIN articles a ON a.id = c.article_id WHERE {where} ORDER BY c.id",
            params,
        )
    )


def last_change_id(db: Database) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM article_changes").fetchone()[0])


def watchlist_alerts(db: Database, after_id: int) -> list[dict[str, Any]]:
    """Changes after change ``after_id`` of articles that a watchlist with ``changes = true``
    matched, one per watchlist and change."""
    return list(
        db.query(
            f"SELECT w.name AS watchlist, {_CHANGE_COLUMNS} FROM article_changes c "
            "JOIN articles a ON a.id = c.article_id "
            "JOIN matches m ON m.article_id = c.article_id "
            "JOIN watchlists w ON w.id = m.watchlist_id AND w.removed_at IS NULL "
            "WHERE c.id > ? AND json_extract(w.definition, '$.changes') = 1 "
            "ORDER BY c.id, w.name",
            (after_id,),
        )
    )
