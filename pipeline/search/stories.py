"""Stories for a reader: each with a headline in the reader's language, its outlets, languages,
articles, and when it was first and last seen (``newsmon stories``, ``api.stories``).

A story's headline in a language is the headline of its first article in that language (an
original, not a near-copy); a story nobody told in that language keeps its first headline,
and says which language that is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.text.story_match import outlet_of

if TYPE_CHECKING:
    from sqlite_utils import Database

ARTICLES_PER_STORY = 50


def list_stories(
    db: Database,
    language: str | None = None,
    since: str = "",
    limit: int = 20,
    min_outlets: int = 1,
) -> list[dict[str, Any]]:
    """Stories last seen at or after ``since`` (ISO 8601 UTC, "" for all) told by at least
    ``min_outlets`` outlets: most outlets first, then the most recent."""
    rows = db.execute(
        "SELECT id, title, first_seen, last_seen, article_count, outlet_count FROM stories "
        "WHERE coalesce(last_seen, '') >= ? AND coalesce(outlet_count, 1) >= ? "
        "ORDER BY outlet_count DESC, last_seen DESC, id DESC LIMIT ?",
        (since, min_outlets, limit),
    ).fetchall()
    return [story_view(db, row, language) for row in rows]


def story_view(db: Database, row: tuple[Any, ...], language: str | None) -> dict[str, Any]:
    story_id, title, first_seen, last_seen, article_count, outlet_count = row
    articles = [
        {
            "id": article_id,
            "title": article_title,
            "url": url,
            "language": article_language,
            "outlet": site_name or outlet_of(url),
            "published": published,
            "near_copy_of": duplicate_of,
        }
        for article_id, article_title, url, article_language, site_name, published, duplicate_of in db.execute(
            "SELECT id, title, url, language, site_name, published, duplicate_of FROM articles "
            "WHERE story_id = ? ORDER BY published, id LIMIT ?",
            (story_id, ARTICLES_PER_STORY),
        ).fetchall()
    ]
    originals = [a for a in articles if a["near_copy_of"] is None] or articles
    # The story's own headline is its first article's, whose place in the list (by the date
    # stored now) can have changed since: labelled with that article's language.
    titled = next(
        (a for a in originals if a["title"] == title), originals[0] if originals else None
    )
    headline, headline_language = title, titled["language"] if titled else None
    if language:
        told = [a for a in originals if a["language"] == language and a["title"]]
        if told:
            headline, headline_language = told[0]["title"], language
    return {
        "id": story_id,
        "headline": headline,
        "headline_language": headline_language,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "article_count": article_count,
        "outlet_count": outlet_count,
        "languages": sorted({a["language"] for a in articles if a["language"]}),
        # As ``outlet_count`` counts them: the outlets of the originals, not of copies.
        "outlets": sorted({a["outlet"] for a in originals if a["outlet"]}),
        "articles": articles,
    }
