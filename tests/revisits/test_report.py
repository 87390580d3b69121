"""Reading changes: ``newsmon changes``, and alerts for watchlists with ``changes = true``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import api
from pipeline.cli import cli, summary_lines
from pipeline.db.connection import open_db
from pipeline.exceptions import WatchlistError
from pipeline.parsing.feed_entries import iso_utc
from pipeline.revisits.report import changes, last_change_id, watchlist_alerts
from pipeline.search import watchlists
from pipeline.search.index import index_new_article
from pipeline.search.watchlists import Watchlist

NOW = iso_utc(time.time())
OLD = "2022-09-25T08:00:00Z"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "news.db"
    with open_db(path) as db, db.atomic():
        for number, title in enumerate(["Border closed", "Grain deal"], start=1):
            db.table("articles").insert(
                {"id": number, "url": f"http://news.test/{number}", "title": title,
                 "text": f"{title}: the text.", "status": "ok", "first_seen_at": OLD,
                 "language": "en", "version": 2}
            )  # fmt: skip
            index_new_article(db, number, title, f"{title}: the text.", "en")
        db.table("article_versions").insert(
            {"article_id": 1, "version": 1, "title": "Queues at the border", "text": "Before",
             "replaced_at": NOW}
        )  # fmt: skip
        db.table("article_changes").insert_all(
            [
                {"article_id": 1, "kind": "edited", "version": 2, "detected_at": OLD},
                {"article_id": 1, "kind": "edited", "version": 2, "detected_at": NOW},
                {"article_id": 2, "kind": "removed", "version": 1, "status": "fetch_failed:410",
                 "detail": "HTTP 410", "detected_at": NOW},
            ]
        )  # fmt: skip
    return path


def test_changes_since_and_of_a_kind(db_path: Path) -> None:
    recent = api.changes(db_path, "24h")
    assert [(c["change"], c["article_id"]) for c in recent] == [("edited", 1), ("removed", 2)]
    assert recent[0]["previous_title"] == "Queues at the border"
    assert len(api.changes(db_path, None)) == 3
    assert [c["change"] for c in api.changes(db_path, "7d", ["removed"])] == ["removed"]


def test_changes_command(db_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["changes", "--since", "24h", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "edited" in result.output and "headline was: Queues at the border" in result.output
    assert "HTTP 410" in result.output
    as_json = runner.invoke(cli, ["changes", "--db", str(db_path), "--json", "--kind", "removed"])
    assert [c["url"] for c in json.loads(as_json.output)] == ["http://news.test/2"]
    bad = runner.invoke(cli, ["changes", "--since", "soon", "--db", str(db_path)])
    assert bad.exit_code != 0 and "cannot read --since" in bad.output


def test_watchlists_with_changes_get_alerts_of_their_matched_articles(db_path: Path) -> None:
    with open_db(db_path) as db:
        watchlists.sync(
            db,
            [Watchlist("border", "border", changes=True), Watchlist("grain", "grain")],
        )
        assert {row["watchlist_id"] for row in db.query("select * from matches")} == {1, 2}
        alerts = watchlist_alerts(db, 0)
        assert [(a["watchlist"], a["change"], a["article_id"]) for a in alerts] == [
            ("border", "edited", 1),
            ("border", "edited", 1),
        ]
        assert watchlist_alerts(db, last_change_id(db)) == []
        assert len(changes(db)) == 3


def test_the_changes_option_in_the_watchlists_file(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.toml"
    path.write_text("[watchlists.border]\nquery = 'border'\nchanges = true\n")
    (watchlist,) = watchlists.load(path)
    assert watchlist.changes
    # Without the option, a definition is the same as before the option existed.
    assert "changes" not in Watchlist("border", "border").definition
    path.write_text("[watchlists.border]\nquery = 'border'\nchanges = 'yes'\n")
    with pytest.raises(WatchlistError, match="changes must be true or false"):
        watchlists.load(path)


def test_the_crawl_summary_counts_the_re_checks(db_path: Path) -> None:
    stats = {
        "newsmon/revisits/requested": 30,
        "newsmon/revisits/checked": 30,
        "newsmon/revisits/not_modified": 15,
        "newsmon/revisits/edited": 10,
        "newsmon/revisits/removed": 5,
    }
    summary = api.crawl_summary(db_path, api.CrawlResult("finished", 1, stats))
    assert summary.revisits["edited"] == 10
    lines = summary_lines(summary, str(db_path), "newsmon.log")
    assert (
        "  revisits  30 re-checked (15 not modified), 10 edited, 5 removed, 0 failed: "
        "'newsmon changes' lists them"
    ) in lines
    quiet = api.crawl_summary(db_path, api.CrawlResult("finished", 1, {}))
    assert not [line for line in summary_lines(quiet, "x", "y") if "revisits" in line]
