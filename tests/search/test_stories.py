"""Stories for a reader: a story longer than the list shown is described whole."""

from __future__ import annotations

from pathlib import Path

from pipeline import api
from pipeline.db.connection import open_db
from pipeline.search.stories import ARTICLES_PER_STORY


def test_a_long_story_gives_all_its_outlets_languages_and_headlines(tmp_path: Path) -> None:
    """A story of more articles than are listed: the Kazakh outlet that joined last is among
    its outlets and languages, and ``--lang kk`` finds its headline."""
    db_path = tmp_path / "news.db"
    with open_db(db_path) as db, db.atomic():
        db.execute(
            "INSERT INTO stories (id, title, first_seen, last_seen, article_count, outlet_count, "
            "languages) VALUES (1, 'Очереди на границе', '2026-11-01T00:00:00Z', "
            "'2026-11-03T00:00:00Z', 56, 2, 'ru,kk')"
        )
        rows = [
            (
                f"https://ru.example/{n}",
                "Очереди на границе",
                "ru",
                f"2026-11-01T{n % 24:02d}:00:00Z",
            )
            for n in range(ARTICLES_PER_STORY + 1)
        ]
        rows += [
            (f"https://kk.example/{n}", "Шекарадағы кезек", "kk", "2026-11-03T00:00:00Z")
            for n in range(5)
        ]
        for url, title, language, published in rows:
            db.execute(
                "INSERT INTO articles (url, title, language, published, status, story_id, first_seen_at) "
                "VALUES (?, ?, ?, ?, 'ok', 1, ?)",
                (url, title, language, published, published),
            )
    (story,) = api.stories(db_path, "kk")
    assert story["headline"] == "Шекарадағы кезек" and story["headline_language"] == "kk"
    assert story["languages"] == ["kk", "ru"]
    assert story["outlets"] == ["kk.example", "ru.example"]
    assert len(story["articles"]) == ARTICLES_PER_STORY and story["article_count"] == 56
