"""Group the stored articles into stories again, after the method changed (``newsmon regroup``).

Two steps, each safe to kill:

1. **Embed** every original article (with text, not a near-copy) that has no vector of the
   current method (``NEWSMON_STORY_EMBEDDING_WORDS``: a new model or input makes every vector
   stale). Vectors are committed every ``batch`` articles, so a killed run resumes where it
   stopped.
2. **Group**, in memory, every embedded article in order of publication, as the crawl would
   (``story_match.StoryGrouper``, the ``NEWSMON_STORY_*`` rules and window); a near-copy follows
   its original, an article without a vector keeps a story of its own. Then one transaction
   writes the result: a new group keeps the id of the old story most of its articles were in
   (so links to stories stay valid where the grouping did not change), only articles whose
   story changed are rewritten, emptied stories are deleted, and the articles a crawl left
   waiting for their story (``story_pending``: its stories phase was killed) are decided with the
   rest. Killed before the commit, nothing has changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from pipeline.pipelines.dedup import parse_time
from pipeline.pipelines.dedup_tables import count_story, file_vector, stored_keys
from pipeline.text.embeddings import embed_stories, from_blobs, method_name
from pipeline.text.story_match import StoryGrouper, StoryRules

if TYPE_CHECKING:
    from sqlite_utils import Database

Progress = Callable[[str, int, int], None]  # (step, done, total)


def embed_missing(
    db: Database, words: int, batch: int = 32, progress: Progress | None = None
) -> int:
    """Embed the original articles without a vector of the method; returns how many."""
    method = method_name(words)
    missing = """
        FROM articles a WHERE a.text_hash IS NOT NULL AND a.duplicate_of IS NULL
        AND NOT EXISTS (SELECT 1 FROM story_vectors v WHERE v.article_id = a.id AND v.method = ?)
    """
    (total,) = db.execute(f"SELECT count(*) {missing}", (method,)).fetchone()
    done, last_id = 0, 0
    while True:
        rows = db.execute(
            f"SELECT a.id, a.title, a.text, a.published, a.first_seen_at {missing} AND a.id > ? "
            "ORDER BY a.id LIMIT ?",
            (method, last_id, batch),
        ).fetchall()
        if not rows:
            break
        embeddings = embed_stories([(title, text) for _, title, text, _, _ in rows], words)
        with db.atomic():
            for (article_id, _, _, published, stored_at), embedding in zip(
                rows, embeddings, strict=True
            ):
                if embedding["vector"] is not None:
                    file_vector(
                        db,
                        article_id,
                        method,
                        published or stored_at,
                        embedding["vector"],
                        embedding["keys"],
                    )
        done += len(rows)
        last_id = rows[-1][0]
        if progress:
            progress("embed", done, total)
    return done


def regroup_stories(
    db: Database,
    words: int,
    rules: StoryRules,
    window: timedelta,
    limit: int = 1000,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Group the embedded articles again and write the stories in one transaction; returns
    counts: articles grouped, stories, articles whose story changed."""
    method = method_name(words)
    grouper = StoryGrouper(rules, window, limit)
    (total,) = db.execute(
        "SELECT count(*) FROM story_vectors WHERE method = ?", (method,)
    ).fetchone()
    rows = db.execute(
        "SELECT a.id, a.url, v.vector, v.keys, v.published, a.language FROM story_vectors v "
        "JOIN articles a ON a.id = v.article_id WHERE v.method = ? AND a.duplicate_of IS NULL "
        "ORDER BY v.published IS NULL, v.published, a.id",
        (method,),
    )
    story_of: dict[int, int] = {}  # article id -> id of the first article of its story
    first_of_url: dict[str, int] = {}
    for done, (article_id, url, vector, keys, published, language) in enumerate(rows, 1):
        root = grouper.add(
            url, from_blobs([vector])[0], stored_keys(keys), parse_time(published), language
        )
        first_of_url.setdefault(url, article_id)
        story_of[article_id] = first_of_url[root]
        if progress and (done % 500 == 0 or done == total):
            progress("group", done, total)
    return write_stories(db, story_of)


def write_stories(db: Database, story_of: dict[int, int]) -> dict[str, int]:
    """Write a grouping (article id -> first article of its story) in one transaction."""
    old: dict[int, int | None] = {}
    originals: dict[int, int | None] = {}
    published: dict[int, str] = {}
    titles: dict[int, str | None] = {}
    for article_id, story_id, duplicate_of, when, title in db.execute(
        "SELECT id, story_id, duplicate_of, coalesce(published, first_seen_at), title "
        "FROM articles WHERE text_hash IS NOT NULL"
    ):
        old[article_id], originals[article_id] = story_id, duplicate_of
        published[article_id], titles[article_id] = when, title
    groups: dict[int, list[int]] = {}
    for article_id in old:
        original = originals[article_id] or article_id
        root = story_of.get(original, original)
        groups.setdefault(root, []).append(article_id)
    changed = 0
    with db.atomic():
        taken: set[int] = set()
        new_story: dict[int, int] = {}
        for root, members in sorted(groups.items(), key=lambda item: -len(item[1])):
            votes = Counter(old[m] for m in members if old[m] is not None)
            reused = next((sid for sid, _ in votes.most_common() if sid not in taken), None)
            first = min(members, key=lambda m: (published[m] or "", m))
            when = [published[m] for m in members if published[m]]
            low, high = (min(when), max(when)) if when else (None, None)
            if reused is None:
                cursor = db.execute(
                    "INSERT INTO stories (title, first_seen, last_seen) VALUES (?, ?, ?)",
                    (titles[first], low, high),
                )
                assert cursor.lastrowid is not None
                reused = int(cursor.lastrowid)
            else:
                db.execute(
                    "UPDATE stories SET title = ?, first_seen = ?, last_seen = ? WHERE id = ?",
                    (titles[first], low, high, reused),
                )
            taken.add(reused)
            new_story[root] = reused
        for root, members in groups.items():
            for article_id in members:
                if old[article_id] != new_story[root]:
                    db.execute(
                        "UPDATE articles SET story_id = ? WHERE id = ?",
                        (new_story[root], article_id),
                    )
                    changed += 1
        for root, members in groups.items():
            count_story(db, new_story[root], published[members[0]] or "")
        db.execute(
            "DELETE FROM stories WHERE id NOT IN "
            "(SELECT story_id FROM articles WHERE story_id IS NOT NULL)"
        )
        db.execute("DELETE FROM story_pending")  # decided here, with all the others
    return {"articles": len(old), "stories": len(groups), "changed": changed}
