"""Every column of an article's page has its label: the page shows the columns as a list, with
the names given by newsmon.css (datasette's row table has no names beside its cells)."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.db.connection import open_db

CSS = Path(__file__).parents[2] / "pipeline" / "datasette" / "static" / "newsmon.css"


def test_every_article_column_has_a_label(tmp_path: Path) -> None:
    with open_db(tmp_path / "news.db") as db:
        columns = {column.name for column in db["articles"].columns}
    labelled = set(re.findall(r"td\.col-(\w+)::before \{ content: \"", CSS.read_text()))
    assert columns - labelled == set()
