"""datasette hooks: stemmed search in SQL, Atom feeds of queries, readable article text, a chart.

- ``newsmon_query(q)``: the FTS5 expression of a newsmon query
  (``pipeline.search.query_language``), for ``articles_search MATCH newsmon_query(:q)`` in saved
  queries.
- ``.atom``: any query returning ``atom_id``, ``atom_title`` and ``atom_updated`` is also an Atom
  1.0 feed (``pipeline.datasette.atom``).
- Article text is shown as escaped paragraphs; nothing from a feed or page is rendered as HTML.
- ``/-/chart``: articles per day per feed or per watchlist (``pipeline.datasette.chart``).
- Paths that datasette 0.65 would redirect off-site are refused; the articles table opens on
  its reading columns, and pages read as news (``pipeline.datasette.reading``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import datasette
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from pipeline.datasette.atom import REQUIRED_ATOM_COLUMNS, paragraphs_html, render_atom
from pipeline.datasette.chart import chart
from pipeline.datasette.reading import (
    DATE_COLUMNS,
    article_page,
    front_page,
    query_notice,
    readable_date,
    reading_columns_redirect,
)
from pipeline.exceptions import QueryError
from pipeline.search.query_language import MAX_QUERY_CHARS, compile_query
from pipeline.text.tokens import search_tokens

PLUGIN = "newsmon"  # the distribution name, under which datasette serves static/
Hook = TypeVar("Hook", bound=Callable[..., Any])


def hookimpl(function: Hook) -> Hook:
    """datasette's hookimpl marker, typed."""
    return cast(Hook, datasette.hookimpl(function))


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    conn.create_function("newsmon_query", 1, fts_expression, deterministic=True)
    conn.create_function("newsmon_exact", 1, exact_expression, deterministic=True)


# Matches no article: no stemmer group has this name.
NOTHING = "stemmer : nogroup"


def fts_expression(query: str | None) -> str:
    """A search box forgives: a query that does not parse is searched as its plain words
    (sqlite3 would only report "user-defined function raised exception")."""
    text = str(query or "")
    try:
        return compile_query(text)
    except QueryError:
        kept = (part for part in text.split() if part not in ("AND", "OR", "NOT"))
        plain = " ".join(search_tokens(" ".join(kept)))
        return compile_query(plain) if plain else NOTHING


EXACT_OPERATORS = ("OR", "AND", "NOT")
WORDS_OR_PHRASE = re.compile(r'"([^"]*)"?|(\S+)')


def exact_expression(query: str | None) -> str:
    """The "Search exact words" query for FTS5 over the words as written: each word and
    "phrase" quoted (``prefix*`` kept), ``OR``, ``AND`` and ``NOT`` kept between two terms.
    What FTS5 would read as its own syntax (COVID-19, border's, U.S., a column name) is only a
    word boundary, as in the text; a query without a word matches nothing."""
    parts: list[str] = []
    for match in WORDS_OR_PHRASE.finditer(str(query or "")[:MAX_QUERY_CHARS]):
        phrase, word = match.groups()
        if word in EXACT_OPERATORS:
            if parts and parts[-1] not in EXACT_OPERATORS:
                parts.append(word)
            continue
        words = search_tokens(phrase if phrase is not None else word)
        if words:
            prefix = phrase is None and word.endswith("*")
            parts.append('"' + " ".join(words) + '"' + ("*" if prefix else ""))
    while parts and parts[-1] in EXACT_OPERATORS:
        parts.pop()
    return " ".join(parts) or '""'


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    if table == "articles" and column == "text" and isinstance(value, str):
        return Markup(f'<div class="newsmon-text">{paragraphs_html(value)}</div>')
    # The headline links to the article's page ("id" is looked up last: row.keys() makes a
    # list, and a sqlite3.Row's "in" would look among its values, not its column names).
    if (
        table == "articles" and column == "title" and isinstance(value, str) and "id" in row.keys()  # noqa: SIM118
    ):
        href = datasette.urls.row(database, "articles", str(row["id"]))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    if table is None and column == "article" and isinstance(value, int):
        # Saved queries name the article id "article": it links to the article's page.
        href = datasette.urls.row(database, "articles", str(value))
        return Markup(f'<a href="{escape(href)}">{value}</a>')
    if column in ("story_id", "story") and isinstance(value, int):
        href = datasette.urls.database(database) + f"/story?story_id={value}"
        return Markup(f'<a href="{escape(href)}">{value}</a>')
    if column in DATE_COLUMNS and isinstance(value, str):
        shown = readable_date(value)
        if shown is not None:
            return Markup(f'<time datetime="{escape(value)}">{escape(shown)}</time>')
    return None


@hookimpl
def extra_template_vars(
    template: str, database: str | None, table: str | None, view_name: str, request: Any,
    datasette: Any,
) -> Callable[[], Awaitable[dict[str, Any]]]:  # fmt: skip
    """The reading view's variables (``pipeline.datasette.reading``) for the home page, an
    article's page and a saved query's page."""

    async def variables() -> dict[str, Any]:
        if template == "index.html":
            return {"newsmon_front": await front_page(datasette)}
        if template == "row.html" and table == "articles" and database and request is not None:
            article_id = request.url_vars.get("pks", "")
            db = datasette.get_database(database)
            rows = (await db.execute("select * from articles where id = ?", [article_id])).rows
            if rows:
                article = dict(rows[0])
                extra = await article_page(datasette, database, article)
                return {"newsmon_article": {**article, **extra}}
        if template == "query.html" and database and request is not None:
            query = request.url_vars.get("table")  # a saved query's name
            if query:
                notice = await query_notice(datasette, database, query, request)
                return {"newsmon_notice": notice} if notice else {}
        return {}

    return variables


@hookimpl
def asgi_wrapper() -> Callable[[Any], Any]:
    """Refuse paths that datasette 0.65 would redirect off-site (``/\\example.com/`` becomes
    ``Location: /\\example.com``, which browsers follow as ``//example.com``: datasette
    issue #2680, fixed only in 1.0a33)."""

    def wrap(app: Any) -> Any:
        async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            path = scope.get("path", "") if scope.get("type") == "http" else ""
            if "\\" in path or path.startswith("//"):
                response = Response.text("Not found", status=404)
                await response.asgi_send(send)
                return
            query = scope.get("query_string", b"").decode("latin-1")
            target = reading_columns_redirect(path, query) if path else None
            if target is not None:
                await Response.redirect(target).asgi_send(send)
                return
            await app(scope, receive, send)

        return guarded

    return wrap


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.static_plugins(PLUGIN, "newsmon.css")]


@hookimpl
def register_output_renderer() -> dict[str, Any]:
    return {
        "extension": "atom",
        "render": render_atom,
        "can_render": lambda columns: set(columns) >= REQUIRED_ATOM_COLUMNS,
    }


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/chart$", chart)]
