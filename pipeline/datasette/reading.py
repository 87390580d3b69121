"""The reading view of newsmon's datasette pages: what a journalist sees, not a database user.

Template variables for the pages that ``pipeline.datasette.hooks`` passes on
(``extra_template_vars``):

- the home page: the biggest stories of the last week of news, then older ones (headline, outlets, languages, first and last seen)
  and the watchlists with their matches not seen yet;
- an article's page: its headline, source, date and language, the other articles of its story,
  its near-copies, the feeds it was seen in, and its earlier versions with what each edit
  changed, word by word (and whether it was found taken down);
- a saved query's page: a notice when its input cannot be used as given (a query that does not
  parse, a watchlist that does not exist), instead of a silent "0 results".

Also the default columns of the articles table (the others one click away) and readable dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pipeline.exceptions import QueryError
from pipeline.net.urls import FETCHABLE_SCHEMES, scheme_of
from pipeline.revisits.changes import diff_html
from pipeline.search.query_language import parse

FRONT_STORIES = 12
# The articles table shows these by default (the id always comes first); ?_all=1 shows all.
READING_COLUMNS = ("title", "site_name", "published", "language", "story_id", "status")
SHOW_ALL = "_all"
# Columns whose ISO 8601 values are shown as readable dates.
DATE_COLUMNS = frozenset(
    {
        "published",
        "first_seen_at",
        "fetched_at",
        "first_seen",
        "last_seen",
        "matched_at",
        "seen_at",
        "last_match",
        "started_at",
        "finished_at",
        "last_fetched_at",
        "last_ok_at",
        "next_due_at",
        "added_at",
        "removed_at",
        "last_checked_at",
        "replaced_at",
        "detected_at",
    }
)

STORIES_SQL = """
select s.id, s.title, s.outlet_count, s.article_count, s.languages, s.first_seen, s.last_seen
from stories s
order by s.last_seen >= (select date(max(last_seen), '-7 days') from stories) desc,
    s.outlet_count desc, s.article_count desc, s.last_seen desc
limit :limit
"""
WATCHLISTS_SQL = """
select w.name, w.query, sum(m.id is not null and m.seen_at is null) as unseen,
    count(m.id) as matches, max(m.matched_at) as last_match
from watchlists w left join matches m on m.watchlist_id = w.id
where w.removed_at is null
group by w.id order by unseen desc, last_match desc
"""
STORY_ARTICLES_SQL = """
select a.id, a.title, a.site_name, a.language, a.published
from articles a
where a.story_id = :story_id and a.id != :id and a.duplicate_of is null
order by a.published limit 50
"""
COPIES_SQL = """
select d.id, d.title, d.site_name, d.url, d.duplicate_similarity as similarity
from articles d where d.duplicate_of = :id order by d.first_seen_at limit 50
"""
VERSIONS_SQL = """
select version, title, text, fetched_at, replaced_at
from article_versions where article_id = :id order by version
"""
SIGHTINGS_SQL = """
select coalesce(f.title, f.url) as feed, e.link, e.first_seen_at
from entries e join feeds f on f.id = e.feed_id
where e.article_id = :id order by e.first_seen_at limit 50
"""


def readable_date(value: str) -> str | None:
    """``2022-09-25T08:30:00Z`` as ``2022-09-25 08:30 UTC``; None if it is not such a date."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) <= 10:  # a day without a time
        return moment.strftime("%Y-%m-%d")
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if not offset else f"{text} {moment.strftime('%z')}"


def reading_columns_redirect(path: str, query_string: str) -> str | None:
    """Where to send a plain request for the articles table: its reading columns. None when the
    request chose its columns (or all of them), or is not for the table's HTML page."""
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[1] != "articles":
        return None
    arguments = [pair.partition("=")[0] for pair in query_string.split("&") if pair]
    if any(name in ("_col", "_nocol", SHOW_ALL) for name in arguments):
        return None
    columns = urlencode([("_col", column) for column in READING_COLUMNS])
    return f"{path}?{query_string + '&' if query_string else ''}{columns}"


async def front_page(datasette: Any) -> dict[str, Any]:
    """The home page's stories and watchlists, from the first database served."""
    names = [name for name in datasette.databases if name != "_internal"]
    if not names:
        return {}
    database = names[0]
    db = datasette.get_database(database)
    tables = set(await db.table_names())
    if not {"stories", "watchlists", "matches"} <= tables:
        return {}
    stories = (await db.execute(STORIES_SQL, {"limit": FRONT_STORIES})).rows
    watchlists = (await db.execute(WATCHLISTS_SQL)).rows
    return {
        "database": database,
        "stories": [dict(row) for row in stories],
        "watchlists": [dict(row) for row in watchlists],
    }


async def article_page(datasette: Any, database: str, article: Any) -> dict[str, Any]:
    """What the page of one article shows around its row."""
    db = datasette.get_database(database)
    story = []
    if article["story_id"] is not None:
        params = {"story_id": article["story_id"], "id": article["id"]}
        story = [dict(row) for row in (await db.execute(STORY_ARTICLES_SQL, params)).rows]
    copies = (await db.execute(COPIES_SQL, {"id": article["id"]})).rows
    sightings = (await db.execute(SIGHTINGS_SQL, {"id": article["id"]})).rows
    versions = []
    if "version" in article and (article["version"] or 1) > 1:
        rows = (await db.execute(VERSIONS_SQL, {"id": article["id"]})).rows
        versions = versions_with_diffs([dict(row) for row in rows], article)
    return {
        "story": story,
        "copies": [dict(row) for row in copies],
        "sightings": [{**row, "web_link": web_link(row["link"])} for row in map(dict, sightings)],
        "versions": versions,
        "page_link": web_link(article["url"]),
        "published_shown": readable_date(article["published"]) if article["published"] else None,
    }


def web_link(url: str | None) -> str | None:
    """``url`` if a browser may follow it from the page (http or https); None for what a feed
    listed that is not (``javascript:``, ``data:``, ``urn:newsmon:entry:...``)."""
    return url.strip() if url and scheme_of(url) in FETCHABLE_SCHEMES else None


def versions_with_diffs(
    versions: list[dict[str, Any]], article: dict[str, Any]
) -> list[dict[str, Any]]:
    """An article's earlier versions, latest first, each with the word-level difference to the
    version after it (as escaped HTML: ``pipeline.revisits.changes.diff_html``)."""
    latest = {key: article[key] for key in ("version", "title", "text", "fetched_at")}
    for version, after in zip(versions, [*versions[1:], latest], strict=True):
        version["next_version"] = after["version"]
        version["next_fetched_at"] = after["fetched_at"]
        version["title_diff"] = (
            diff_html(version["title"], after["title"])
            if version["title"] != after["title"]
            else None
        )
        version["text_diff"] = diff_html(version["text"], after["text"])
    return versions[::-1]


async def query_notice(datasette: Any, database: str, query: str, request: Any) -> str | None:
    """Why a saved query's answer may be empty for a reason the user can fix, if it is."""
    if query == "search":
        text = request.args.get("q")
        if text:
            try:
                parse(text)
            except QueryError as exc:
                return f"Your query could not be read ({exc}); its words were searched instead."
    if query == "watchlist":
        name = request.args.get("name")
        if name:
            db = datasette.get_database(database)
            rows = await db.execute(
                "select name from watchlists where removed_at is null order by name"
            )
            names = [row[0] for row in rows.rows]
            if name not in names:
                known = ", ".join(names) or "none yet (see watchlists.example.toml)"
                return f"There is no watchlist named {name!r}. The watchlists are: {known}."
    return None
