"""``/-/chart``: articles per day per feed or per watchlist, as an SVG drawn on the server.

Registered as a datasette route by ``pipeline.datasette.hooks``; the page is the template
``newsmon_chart.html``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from pipeline import statuses

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


CHART_QUERIES = {
    "feed": """
        SELECT substr(coalesce(a.published, a.first_seen_at), 1, 10) AS day,
            coalesce(f.title, f.url, 'unknown feed') AS series, count(*) AS n
        FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
        WHERE a.status = :with_text AND coalesce(a.published, a.first_seen_at) <= :until
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
            CHART_QUERIES[by], {"until": today + "T23:59:59Z", "with_text": statuses.OK}
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
    for label in sorted({0, top // 2, top}):  # whole numbers, each once: 0, 1 for a top of 1
        y = height - bottom - label / top * plot_height
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
