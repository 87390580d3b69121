"""datasette hooks: stemmed search in SQL, Atom feeds of queries, readable article text, a chart.

- ``newsmon_query(q)``: the FTS5 expression of a newsmon query (``pipeline.search.query_language``), for
  ``articles_search MATCH newsmon_query(:q)`` in saved queries.
- ``.atom``: any query returning ``atom_id``, ``atom_title`` and ``atom_updated`` (optional
  ``atom_link``, ``atom_content`` as plain text, ``atom_content_html`` which is sanitised,
  ``atom_published``, ``atom_author_name``) is also an Atom 1.0 feed, empty ones included.
- Article text is shown as escaped paragraphs; nothing from a feed or page is rendered as HTML.
- ``/-/chart``: articles per day per feed or per watchlist, as an SVG drawn on the server.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

import datasette
from datasette.utils.asgi import Response
from lxml import etree
from lxml_html_clean import Cleaner
from markupsafe import Markup, escape

from pipeline import statuses
from pipeline.exceptions import QueryError
from pipeline.search.query_language import compile_query
from pipeline.text.tokens import search_tokens

PLUGIN = "newsmon"  # the distribution name, under which datasette serves static/
ATOM = "http://www.w3.org/2005/Atom"
REQUIRED_ATOM_COLUMNS = frozenset({"atom_id", "atom_title", "atom_updated"})
SAFE_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "em",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "ul",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    ]
)
SERIES_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
]
MAX_SERIES = 9  # the rest is drawn as "others"

Hook = TypeVar("Hook", bound=Callable[..., Any])


def hookimpl(function: Hook) -> Hook:
    """datasette's hookimpl marker, typed."""
    return cast(Hook, datasette.hookimpl(function))


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    conn.create_function("newsmon_query", 1, fts_expression, deterministic=True)


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


@hookimpl
def render_cell(
    value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    if table == "articles" and column == "text" and isinstance(value, str):
        return Markup(f'<div class="newsmon-text">{paragraphs_html(value)}</div>')
    if table is None and column == "article" and isinstance(value, int):
        # Saved queries name the article id "article": it links to the article's page.
        href = datasette.urls.row(database, "articles", str(value))
        return Markup(f'<a href="{escape(href)}">{value}</a>')
    return None


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


def render_atom(
    datasette: Any,
    request: Any,
    columns: list[str],
    rows: list[Any],
    database: str,
    query_name: str | None,
) -> Response:
    if not set(columns) >= REQUIRED_ATOM_COLUMNS:
        return Response.text(
            "An Atom feed needs the columns atom_id, atom_title and atom_updated", status=400
        )
    title = "newsmon"
    if query_name:
        queries = datasette.metadata("queries", database=database) or {}
        title = queries.get(query_name, {}).get("title") or query_name
    name = request.args.get("name")
    if name:
        title = f"{title}: {name}"
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(feed, "id", request.url)
    _text(feed, "title", title)
    _text(feed, "updated", max((rfc3339(r["atom_updated"]) for r in records), default=now))
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "newsmon")
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=request.url)
    _text(feed, "generator", "newsmon")
    for record in records:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", str(record["atom_id"]))
        _text(entry, "title", str(record["atom_title"] or "(no title)"))
        _text(entry, "updated", rfc3339(record["atom_updated"]))
        if record.get("atom_published"):
            _text(entry, "published", rfc3339(record["atom_published"]))
        if record.get("atom_link"):
            etree.SubElement(
                entry, f"{{{ATOM}}}link", rel="alternate", href=str(record["atom_link"])
            )
        if record.get("atom_author_name"):
            _text(etree.SubElement(entry, f"{{{ATOM}}}author"), "name", record["atom_author_name"])
        if record.get("atom_content_html"):
            content = sanitise(str(record["atom_content_html"]))
        elif record.get("atom_content"):
            content = paragraphs_html(str(record["atom_content"]))
        else:
            continue
        _text(entry, "content", content).set("type", "html")
    body = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def paragraphs_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs, one per line."""
    return "".join(f"<p>{escape(line)}</p>" for line in text.split("\n") if line.strip())


def _text(parent: Any, tag: str, value: str) -> Any:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    # XML 1.0 cannot carry most control characters: they are dropped, not the feed.
    element.text = "".join(c for c in value if c in "\t\n\r" or c >= " ")
    return element


def rfc3339(value: Any) -> str:
    """An Atom date from an ISO 8601 value (a date alone is midnight UTC)."""
    text = str(value or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CLEANER = Cleaner(
    allow_tags=SAFE_TAGS,
    remove_unknown_tags=False,
    safe_attrs_only=True,
    safe_attrs=frozenset({"href", "title"}),
    kill_tags={"script", "style"},
    embedded=True,
    forms=True,
    frames=True,
)


def sanitise(html: str) -> str:
    """Only harmless formatting tags and http(s) links survive; scripts, styles, event
    handlers, forms, frames and images are removed."""
    return str(CLEANER.clean_html(f"<div>{html}</div>"))


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/chart$", chart)]


CHART_QUERIES = {
    "feed": """
        SELECT substr(coalesce(a.published, a.first_seen_at), 1, 10) AS day,
            coalesce(f.title, f.url, 'unknown feed') AS series, count(*) AS n
        FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
        WHERE a.status = :ok AND coalesce(a.published, a.first_seen_at) <= :until
        GROUP BY day, series
    """,
    "watchlist": """
        SELECT substr(coalesce(a.published, a.first_seen_at), 1, 10) AS day,
            w.name AS series, count(*) AS n
        FROM matches m JOIN watchlists w ON w.id = m.watchlist_id
            JOIN articles a ON a.id = m.article_id
        WHERE w.removed_at IS NULL AND coalesce(a.published, a.first_seen_at) <= :until
        GROUP BY day, series
    """,
}


async def chart(datasette: Any, request: Any) -> Response:
    """Articles per day for the last ``days`` days, one colour per feed or per watchlist."""
    names = [name for name in datasette.databases if name != "_internal"]
    database = request.args.get("database") or (names[0] if names else "")
    if database not in names:
        return Response.text(f"no database named {database!r}", status=404)
    by = request.args.get("by", "feed")
    if by not in CHART_QUERIES:
        return Response.text("by must be feed or watchlist", status=400)
    try:
        days = min(max(int(request.args.get("days", "30")), 1), 366)
    except ValueError:
        return Response.text("days must be a number", status=400)
    db = datasette.get_database(database)
    today = datetime.fromtimestamp(time.time(), UTC).date().isoformat()
    try:
        result = await db.execute(
            CHART_QUERIES[by], {"until": today + "T23:59:59Z", "ok": statuses.OK}
        )
    except sqlite3.OperationalError as exc:
        return Response.text(f"cannot draw the chart: {exc}", status=400)
    # The window ends at the latest day with articles (never after today): an archive that
    # is no longer crawled still shows its last weeks.
    end = date.fromisoformat(max((row[0] for row in result.rows if row[0]), default=today))
    start = end - timedelta(days=days - 1)
    rows = [tuple(row) for row in result.rows if row[0] and row[0] >= start.isoformat()]
    day_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    svg, legend = draw_chart(day_list, rows)
    context = {
        "database": database,
        "by": by,
        "days": days,
        "svg": Markup(svg),
        "legend": legend,
        "total": sum(row[2] for row in rows),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    html = await datasette.render_template("newsmon_chart.html", context, request=request)
    return Response.html(html)


def draw_chart(
    days: list[str], rows: list[tuple[Any, ...]], width: int = 960, height: int = 320
) -> tuple[str, list[dict[str, Any]]]:
    """A stacked bar chart of counts per day as SVG, and its legend (series, colour, total)."""
    totals: dict[str, int] = {}
    for _, series, count in rows:
        totals[series] = totals.get(series, 0) + count
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    shown = ranked[:MAX_SERIES]
    if len(ranked) > MAX_SERIES:
        shown.append("others")
    colour = {series: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, series in enumerate(shown)}
    counts: dict[tuple[str, str], int] = {}
    for day, series, count in rows:
        key = (day, series if series in colour else "others")
        counts[key] = counts.get(key, 0) + count
    per_day = [sum(counts.get((day, s), 0) for s in shown) for day in days]
    top = max(per_day, default=0) or 1
    left, bottom, plot_height = 40, 40, height - 60
    step = (width - left - 10) / max(len(days), 1)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="Articles per day" class="newsmon-chart">'
        )
    ]
    for fraction in (0, 0.5, 1):
        y = height - bottom - fraction * plot_height
        label = round(top * fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{label}</text>'
        )
    for i, day in enumerate(days):
        x = left + i * step
        y = height - bottom
        for series in shown:
            count = counts.get((day, series), 0)
            if not count:
                continue
            bar = count / top * plot_height
            y -= bar
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{bar:.1f}" fill="{colour[series]}">'
                f"<title>{escape(day)} {escape(series)}: {count}</title></rect>"
            )
        if i % max(1, len(days) // 8) == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" font-size="11">{escape(day[5:])}</text>'
            )
    parts.append("</svg>")
    legend = [
        {
            "series": series,
            "colour": colour[series],
            "total": sum(counts.get((day, series), 0) for day in days),
        }
        for series in shown
    ]
    return "".join(parts), legend
