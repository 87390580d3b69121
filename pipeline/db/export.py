"""Export of articles or watchlist matches as JSON Lines or CSV, for other tools.

``newsmon export`` writes it, through ``pipeline.api.export``.
"""

from __future__ import annotations

import csv
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sqlite_utils import Database

FORMATS = ("jsonl", "csv")
KINDS = ("articles", "matches")

QUERIES = {
    "articles": """
        SELECT a.id, a.url, a.canonical_url, a.title, a.published, a.language, a.site_name,
            a.author, f.title AS feed, a.status, a.duplicate_of, a.story_id, a.first_seen_at,
            a.text
        FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
        WHERE a.first_seen_at >= :since AND (NOT :with_text OR a.text IS NOT NULL)
        ORDER BY a.first_seen_at, a.id
    """,
    "matches": """
        SELECT w.name AS watchlist, m.article_id, a.url, a.title, a.published, a.language,
            a.site_name, m.matched_terms, m.matched_at, m.seen_at, a.text
        FROM matches m JOIN watchlists w ON w.id = m.watchlist_id
            JOIN articles a ON a.id = m.article_id
        WHERE m.matched_at >= :since AND (NOT :with_text OR a.text IS NOT NULL)
        ORDER BY m.matched_at, m.id
    """,
}
RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")


def parse_since(value: str | None, now: float | None = None) -> str:
    """An ISO 8601 UTC bound from ``2026-11-01``, ``2026-11-01T12:00``, ``24h``, ``7d`` or
    ``2w``."""
    if not value:
        return ""
    relative = RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        try:
            delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
            if unit == "w":
                delta *= 7
            moment = datetime.fromtimestamp(now if now is not None else time.time(), UTC) - delta
        except (OverflowError, ValueError):
            raise ValueError(
                f"cannot read --since {value!r}: an age goes back to the year 1 at most"
            ) from None
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"cannot read --since {value!r}: give a date (2026-11-01), a time "
                "(2026-11-01T12:00Z) or an age (24h, 7d, 2w)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export(
    db: Database, kind: str, since: str, output: TextIO, fmt: str, with_text: bool = False
) -> int:
    """Write the ``kind`` rows first stored at or after ``since`` to ``output``; returns how
    many. ``with_text``: only articles whose text was extracted (no failed fetches). CSV starts
    with a byte order mark, so that spreadsheets read it as UTF-8 (Cyrillic included)."""
    if kind not in QUERIES:
        raise ValueError(f"cannot export {kind!r}: choose one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    cursor = db.execute(QUERIES[kind], {"since": since, "with_text": with_text})
    columns = [column[0] for column in cursor.description]
    writer = csv.DictWriter(output, fieldnames=columns) if fmt == "csv" else None
    if writer is not None:
        output.write("\ufeff")
        writer.writeheader()
    count = 0
    for values in cursor:
        record: dict[str, Any] = dict(zip(columns, values, strict=True))
        if "matched_terms" in record:
            terms = json.loads(record["matched_terms"] or "[]")
            record["matched_terms"] = terms if writer is None else "; ".join(terms)
        if writer is None:
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            writer.writerow(record)
        count += 1
    return count
