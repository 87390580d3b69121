from __future__ import annotations

import json

import pytest

from pipeline.extensions.runlog import run_summary


@pytest.mark.parametrize(
    ("stats", "reason", "status"),
    [
        ({"newsmon/feeds/ok": 3}, "finished", "ok"),
        ({"newsmon/feeds/ok": 3, "newsmon/feeds/failed": 1}, "finished", "partial"),
        ({"newsmon/feeds/ok": 3}, "shutdown", "interrupted"),
        ({"newsmon/feeds/ok": 3, "newsmon/db_errors": 1}, "database_error", "failed"),
        ({}, "closespider_timeout", "failed"),
    ],
)
def test_run_status(stats: dict[str, int], reason: str, status: str) -> None:
    assert run_summary(stats, reason)["status"] == status


def test_counts_and_reasons() -> None:
    stats = {
        "newsmon/feeds/ok": 2,
        "newsmon/feeds/failed": 1,
        "newsmon/feeds/status/fetch_failed:404": 1,
        "newsmon/articles/new": 5,
        "newsmon/articles/status/ok": 3,
        "newsmon/articles/status/no_text": 1,
        "newsmon/articles/status/fetch_failed:500": 1,
        "newsmon/articles/status/refused:robots": 2,
        "log_count/ERROR": 1,
    }
    row = run_summary(stats, "finished")
    assert row["feeds_total"] == 3
    assert (row["articles_ok"], row["articles_no_text"], row["articles_failed"]) == (3, 1, 1)
    assert row["articles_refused"] == 2
    assert row["errors"] == 1
    assert json.loads(row["reasons"])["newsmon/feeds/status/fetch_failed:404"] == 1
