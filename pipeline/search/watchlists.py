"""Watchlists: topics the user follows, defined in a TOML file, matched against every article.

::

    [watchlists.mobilisation]
    query = 'mobilisation AND (Kazakhstan OR Georgia)'
    languages = ["en", "ru"]          # optional: article languages (ISO 639-1)
    feeds = ["https://example.org/feed.xml"]   # optional: feed URLs or titles
    sites = ["example.org"]           # optional: article hosts (subdomains included)
    changes = true                    # optional: also alert when a matched article is edited
                                      # or removed (NEWSMON_ON_MATCHES, docs/revisions.md)
    per_story = true                  # optional: one match per story (a new event), not
                                      # one per article of it

The query language is ``pipeline.search.query_language``'s. A watchlist that is new or whose
definition changed is run over every article already stored (backfill); after that, each crawl
matches the articles it indexes (``WatchlistMatcher``). ``new_matches`` returns the matches not
shown before and marks them seen.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from pipeline.exceptions import QueryError, WatchlistError
from pipeline.parsing.feed_entries import iso_utc
from pipeline.search.index import find
from pipeline.search.query_language import parse

WATCHLISTS_FILE = "watchlists.toml"
# Articles matched per query while draining the queue: bounds the SQL statement's size.
QUEUE_CHUNK = 500
LISTS = ("languages", "feeds", "sites")
HOST_NAME = re.compile(r"[^\s/:?#@\[\]]+")
# Options that are true or false; a definition stored before one existed lacks it (false).
FLAGS = ("changes", "per_story")


@dataclass(frozen=True)
class Watchlist:
    name: str
    query: str
    languages: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    changes: bool = False  # also alert when a matched article is edited or removed
    per_story: bool = False

    @property
    def definition(self) -> str:
        fields = asdict(self)
        for flag in FLAGS:  # definitions stored before the option stay the same
            if not fields[flag]:
                del fields[flag]
        return json.dumps(fields, ensure_ascii=False, sort_keys=True)

    def admits(self, url: str, feeds: Iterable[str]) -> bool:
        """Whether an article from ``url``, seen in ``feeds`` (URLs and titles), is in scope."""
        if self.sites:
            host = (urlsplit(url).hostname or "").lower()
            if not any(host == site or host.endswith("." + site) for site in self.sites):
                return False
        return not self.feeds or bool(set(self.feeds) & set(feeds))


def default_path(db_path: str | Path) -> Path:
    """``watchlists.toml`` beside the database."""
    return Path(db_path).parent / WATCHLISTS_FILE


def load(path: str | Path) -> list[Watchlist]:
    """The watchlists defined in ``path``; WatchlistError saying what is wrong and where."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise WatchlistError(f"cannot read watchlists file {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"watchlists file {path} is not valid TOML: {exc}") from exc
    tables = data.get("watchlists", {})
    unknown = set(data) - {"watchlists"}
    if unknown or not isinstance(tables, dict):
        raise WatchlistError(
            f"watchlists file {path}: expected only [watchlists.NAME] tables, "
            f"found {', '.join(sorted(unknown)) or 'watchlists = ...'}"
        )
    return [_watchlist(path, name, table) for name, table in tables.items()]


def _watchlist(path: Path, name: str, table: Any) -> Watchlist:
    where = f"watchlists file {path}, [watchlists.{name}]"
    if not isinstance(table, dict):
        raise WatchlistError(f"{where}: expected a table with query = '...'")
    unknown = set(table) - {"query", *LISTS, *FLAGS}
    if unknown:
        raise WatchlistError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    query = table.get("query")
    if not isinstance(query, str) or not query.strip():
        raise WatchlistError(f"{where}: query = '...' is required")
    try:
        parse(query)
    except QueryError as exc:
        raise WatchlistError(f"{where}: {exc}") from exc
    lists: dict[str, Any] = {}
    for key in LISTS:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise WatchlistError(f"{where}: {key} must be a list of strings")
        lists[key] = tuple(v.strip().lower() if key != "feeds" else v.strip() for v in value)
    for site in lists["sites"]:  # compared with an article's host name: a URL would never match
        if not HOST_NAME.fullmatch(site):
            raise WatchlistError(f"{where}: sites are host names such as 'meduza.io', not {site!r}")
    flags: dict[str, Any] = {}
    for key in FLAGS:
        flags[key] = table.get(key, False)
        if not isinstance(flags[key], bool):
            raise WatchlistError(f"{where}: {key} must be true or false")
    return Watchlist(name, query.strip(), **lists, **flags)


def sync(
    db: Database, watchlists: Sequence[Watchlist], source: str | None = None
) -> dict[str, int]:
    """Store the watchlists' definitions; backfill those that are new or changed.

    ``source`` is the file they come from: a watchlist of that file (or of no known file) that
    is no longer in it is retired; those of other files are left as they are.
    Returns the number of matches added per backfilled watchlist. Matches of a changed
    watchlist that were never shown are dropped first; those already seen stay.
    """
    now = iso_utc(time.time())
    backfilled: dict[str, int] = {}
    known = {
        row["name"]: row
        for row in db.query("SELECT id, name, definition, removed_at, source FROM watchlists")
    }
    with db.atomic():
        for watchlist in watchlists:
            row = known.get(watchlist.name)
            if row and row["definition"] == watchlist.definition and not row["removed_at"]:
                if row["source"] != source:
                    db.table("watchlists").update(row["id"], {"source": source})
                continue
            values = {
                "source": source,
                "query": watchlist.query,
                "languages": ",".join(watchlist.languages) or None,
                "feeds": "\n".join(watchlist.feeds) or None,
                "sites": ",".join(watchlist.sites) or None,
                "definition": watchlist.definition,
                "changed_at": now,
                "removed_at": None,
            }
            if row is None:
                inserted = (
                    db.table("watchlists")
                    .insert({"name": watchlist.name, "added_at": now, **values})
                    .last_pk
                )
                assert inserted is not None
                watchlist_id = int(inserted)
            else:
                watchlist_id = int(row["id"])
                db.table("watchlists").update(watchlist_id, values)
                db.execute(
                    "DELETE FROM matches WHERE watchlist_id = ? AND seen_at IS NULL",
                    (watchlist_id,),
                )
            backfilled[watchlist.name] = _match(db, watchlist_id, watchlist, None, now)
        names = {watchlist.name for watchlist in watchlists}
        for name, row in known.items():
            theirs = row["source"] is None or row["source"] == source
            if name not in names and not row["removed_at"] and theirs:
                db.table("watchlists").update(row["id"], {"removed_at": now})
    return backfilled


def stored(db: Database) -> list[Watchlist]:
    """The watchlists as last synced from the file (removed ones left out)."""
    rows = db.query("SELECT definition FROM watchlists WHERE removed_at IS NULL ORDER BY id")
    watchlists = []
    for row in rows:
        # Watchlist.definition: its fields, lists as JSON, flags that are false left out
        fields: dict[str, Any] = json.loads(row["definition"])
        watchlists.append(Watchlist(**fields | {key: tuple(fields[key]) for key in LISTS}))
    return watchlists


def queue_for_matching(db: Database, article_id: int) -> None:
    """Put an article just indexed in the queue that ``match_queued`` reads (in the caller's
    transaction)."""
    db.execute("INSERT OR IGNORE INTO watchlist_queue (article_id) VALUES (?)", (article_id,))


# Articles whose story is provisional (an article of it waits for its story to be decided by
# its embedding, ``pipeline.pipelines.story_phase``) stay queued: a per-story watchlist could
# otherwise alert twice for one story.
DECIDED = """article_id NOT IN (
    SELECT a.id FROM articles a WHERE a.story_id IN (
        SELECT s.story_id FROM story_pending p JOIN articles s ON s.id = p.article_id))"""


def match_queued(
    db: Database, watchlists: Sequence[Watchlist], max_chunks: int | None = None
) -> int:
    """Match the articles indexed since the last call against the (synced) watchlists.

    The queue is emptied in the same transaction as the matches are written, so an article
    is matched once even if the process is killed on the way. ``max_chunks``: match at most
    this many chunks of ``QUEUE_CHUNK`` articles and leave the rest queued (a crawl's batch
    does not wait for a backlog, such as every stored article after a reindex).
    """
    now = iso_utc(time.time())
    ids_by_name = {row["name"]: row["id"] for row in db.query("SELECT id, name FROM watchlists")}
    added = 0
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        chunks += 1
        queued = [
            row[0]
            for row in db.execute(
                f"SELECT article_id FROM watchlist_queue WHERE {DECIDED} "
                f"ORDER BY article_id LIMIT {QUEUE_CHUNK}"
            )
        ]
        if not queued:
            return added
        with db.atomic():
            for watchlist in watchlists:
                added += _match(db, ids_by_name[watchlist.name], watchlist, queued, now)
            db.execute(
                f"DELETE FROM watchlist_queue WHERE article_id IN ({', '.join(map(str, queued))})"
            )
    return added


def _match(
    db: Database,
    watchlist_id: int,
    watchlist: Watchlist,
    article_ids: Sequence[int] | None,
    now: str,
) -> int:
    found = find(
        db,
        watchlist.query,
        limit=None,
        languages=watchlist.languages,
        article_ids=article_ids,
        excerpts=False,
    )
    feeds_of = _feeds_of(db, [row["id"] for row in found]) if watchlist.feeds else {}
    story_of = _stories_of(db, [row["id"] for row in found]) if watchlist.per_story else {}
    alerted = _alerted_stories(db, watchlist_id, set(story_of.values()))
    added = 0
    for row in sorted(found, key=lambda row: row["id"]):
        if not watchlist.admits(row["url"], feeds_of.get(row["id"], ())):
            continue
        story = story_of.get(row["id"])
        if story is not None:
            if story in alerted:  # per_story: this event has had its match
                continue
            alerted.add(story)
        cursor = db.execute(
            "INSERT OR IGNORE INTO matches (watchlist_id, article_id, matched_terms, matched_at) "
            "VALUES (?, ?, ?, ?)",
            (watchlist_id, row["id"], json.dumps(row["matched"], ensure_ascii=False), now),
        )
        added += cursor.rowcount
    return added


def _stories_of(db: Database, article_ids: list[int]) -> dict[int, int]:
    """The story of each article that has one."""
    if not article_ids:
        return {}
    rows = db.execute(
        f"SELECT id, story_id FROM articles WHERE story_id IS NOT NULL "
        f"AND id IN ({', '.join(map(str, article_ids))})"
    )
    return dict(rows.fetchall())


def _alerted_stories(db: Database, watchlist_id: int, stories: set[int]) -> set[int]:
    """Those of ``stories`` that already have a match of the watchlist."""
    if not stories:
        return set()
    rows = db.execute(
        "SELECT DISTINCT a.story_id FROM matches m JOIN articles a ON a.id = m.article_id "
        f"WHERE m.watchlist_id = ? AND a.story_id IN ({', '.join(map(str, stories))})",
        (watchlist_id,),
    )
    return {row[0] for row in rows}


def _feeds_of(db: Database, article_ids: list[int]) -> dict[int, set[str]]:
    feeds: dict[int, set[str]] = {}
    if not article_ids:
        return feeds
    rows = db.execute(
        "SELECT e.article_id, f.url, f.title FROM entries e JOIN feeds f ON f.id = e.feed_id "
        f"WHERE e.article_id IN ({', '.join(map(str, article_ids))})"
    )
    for article_id, url, title in rows:
        feeds.setdefault(article_id, set()).update(v for v in (url, title) if v)
    return feeds


def _matches(db: Database, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Matches with their article, oldest first; ``id`` is the match's."""
    rows = list(
        db.query(
            "SELECT m.id, w.name AS watchlist, m.article_id, a.url, a.title, a.published, "
            "a.site_name, a.language, m.matched_terms, m.matched_at, a.duplicate_of "
            "FROM matches m JOIN watchlists w ON w.id = m.watchlist_id "
            "JOIN articles a ON a.id = m.article_id "
            f"WHERE {where} ORDER BY m.matched_at, coalesce(a.published, ''), m.id",
            params,
        )
    )
    for row in rows:
        row["matched_terms"] = json.loads(row["matched_terms"] or "[]")
    return rows


def new_matches(db: Database, name: str | None = None) -> list[dict[str, Any]]:
    """Matches not shown before (oldest first), then marked as seen; of one watchlist or all."""
    where = "m.seen_at IS NULL AND w.removed_at IS NULL"
    params: tuple[str, ...] = ()
    if name is not None:
        where += " AND w.name = ?"
        params = (name,)
    with db.atomic():
        rows = _matches(db, where, params)
        now = iso_utc(time.time())
        db.conn.executemany(
            "UPDATE matches SET seen_at = ? WHERE id = ?", [(now, row["id"]) for row in rows]
        )
    for row in rows:
        del row["id"]
    return rows


def last_match_id(db: Database) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM matches").fetchone()[0])


def matches_after(db: Database, match_id: int) -> list[dict[str, Any]]:
    """Matches found after match ``match_id`` (of watchlists still in the file)."""
    rows = _matches(db, "m.id > ? AND w.removed_at IS NULL", (match_id,))
    for row in rows:
        del row["id"]
    return rows
