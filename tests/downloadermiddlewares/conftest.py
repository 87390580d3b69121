"""Fixtures of the middlewares that read the crawl's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.db.connection import open_db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The crawl's database, held open by its writer (the store) as during a crawl."""
    with open_db(tmp_path / "news.db") as database:
        yield database
