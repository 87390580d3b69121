"""When a stored article is due for a re-check, and which ones are due now.

Each article with text is re-checked at increasing ages after it was first stored: the steps of
``NEWSMON_REVISIT_AFTER`` (default ``1h,6h,24h,3d,7d``). ``articles.revisits`` counts the steps
done; a step is due once the article is that old, and a check marks done every step its age has
passed, so an article found late is not checked again for each step it missed. An article older
than twice the last step (the horizon: 14 days by default) is not checked any more. The schedule
``0`` makes every stored article due on every run, least recently checked first; an empty one
switches revisits off. A run checks at most ``NEWSMON_REVISIT_MAX_PER_RUN`` articles, newest
first, so that a backlog cannot swamp it.

``due_revisits`` reads the due list as plain ``Revisit`` values, for the revisits extension.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline import statuses
from pipeline.items import Revisit
from pipeline.parsing.feed_entries import iso_utc
from pipeline.parsing.sources import TELEGRAM
from pipeline.parsing.telegram import PERMALINK_BASE
from pipeline.pipelines.dedup import parse_time

if TYPE_CHECKING:
    from sqlite_utils import Database

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_durations(values: list[str] | str) -> tuple[float, ...]:
    """Durations such as ``["1h", "6h", "3d"]`` (or ``"1h,6h,3d"``) in seconds, in increasing
    order; units s, m, h, d, w (none: seconds). ValueError naming the value it cannot read."""
    if isinstance(values, str):
        values = values.split(",")
    seconds = []
    for value in values:
        if not value.strip():
            continue
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"NEWSMON_REVISIT_AFTER: cannot read {value.strip()!r} as a duration "
                "(examples: 0, 30m, 6h, 3d, 1w)"
            )
        seconds.append(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return tuple(sorted(seconds))


@dataclass(frozen=True)
class RevisitSchedule:
    """The ages (seconds after an article was first stored) at which it is re-checked."""

    steps: tuple[float, ...]

    @property
    def every_run(self) -> bool:
        """The schedule ``0``: every stored article is due now, on every run."""
        return self.steps == (0.0,)

    @property
    def horizon(self) -> float:
        """The age after which an article is not re-checked any more: twice the last step. An
        article found due late (newsmon did not run, or it was stored before revisits existed)
        is checked while it is younger; ``0`` re-checks every stored article."""
        return 2 * self.steps[-1] if self.steps else 0.0

    def steps_done(self, done: int, age: float) -> int:
        """``articles.revisits`` after a check at ``age`` of an article with ``done`` steps
        done: every step that age has passed (at least one more). The schedule ``0`` leaves it
        as it is, so that a full re-check does not skip the regular steps."""
        if self.every_run:
            return done
        return max(done + 1, sum(1 for step in self.steps if age >= step))


# The article's first sighting's feed title: choose_title makes the same choice as when the page
# was first stored, so that an unchanged page keeps its headline.
_DUE_COLUMNS = """
    a.id, a.url, coalesce(f.url, ''), a.etag, a.last_modified, a.removed_at IS NOT NULL,
    a.revisits, a.first_seen_at,
    (SELECT e.title FROM entries e WHERE e.article_id = a.id ORDER BY e.id LIMIT 1)
"""

# A channel's post was read whole from the channel's page, never fetched at its permalink: it is
# not re-checked there (its edits would be the permalink page's markup, not the post's).
_NOT_A_POST = f"NOT (coalesce(f.kind, '') = '{TELEGRAM}' AND a.url LIKE '{PERMALINK_BASE}%')"


def due_revisits(db: Database, schedule: RevisitSchedule, now: float, limit: int) -> list[Revisit]:
    """The stored articles due for a re-check at ``now`` (at most ``limit``), newest first, or
    least recently checked first under the schedule ``0``."""
    if not schedule.steps or limit <= 0:
        return []
    select = (
        f"SELECT {_DUE_COLUMNS} FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id "
        f"WHERE a.status = ? AND {_NOT_A_POST}"
    )
    params: list[object] = [statuses.OK]
    if schedule.every_run:
        sql = (
            f"{select} ORDER BY a.last_checked_at IS NOT NULL, a.last_checked_at, "
            "a.first_seen_at DESC LIMIT ?"
        )
    else:
        # One indexed range per step: articles with k steps done, stored before now - step k
        # (and after the horizon: an article past it is not checked any more).
        ranges = " OR ".join(
            "(a.revisits = ? AND a.first_seen_at BETWEEN ? AND ?)" for _ in schedule.steps
        )
        sql = f"{select} AND ({ranges}) ORDER BY a.first_seen_at DESC LIMIT ?"
        horizon = iso_utc(now - schedule.horizon)
        for done, step in enumerate(schedule.steps):
            params += [done, horizon, iso_utc(now - step)]
    params.append(limit)
    revisits = []
    for row in db.execute(sql, params).fetchall():
        article_id, url, feed_url, etag, last_modified, removed, done, first_seen, title = row
        revisits.append(
            Revisit(
                article_id=article_id,
                url=url,
                feed_url=feed_url,
                entry_title=title,
                etag=etag,
                last_modified=last_modified,
                removed=bool(removed),
                steps_done=schedule.steps_done(done, now - _seconds(first_seen)),
            )
        )
    return revisits


def _seconds(iso: str | None) -> float:
    """Seconds since the epoch of a stored UTC time; 0 if it is not one."""
    moment = parse_time(iso)
    return moment.timestamp() if moment else 0.0
