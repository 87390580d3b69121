"""The stories phase: unique articles stored during the page phase get their story from their
embedding once the pages are done, decided as the per-article decision would, kill-safe."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.story_eval import EVALUATION_SET, load
from pipeline import api
from pipeline.db.connection import open_db
from pipeline.pipelines import story_phase
from pipeline.pipelines.story_phase import StoryPhase
from pipeline.search.watchlists import Watchlist, match_queued, new_matches, stored, sync
from pipeline.text.embeddings import from_blobs, method_name
from pipeline.text.story_match import StoryGrouper, StoryRules
from tests.pipelines.test_dedup import Run, query, text_item
from tests.pipelines.test_embedding import EmbeddingRun, stories_of, wire_copy

HELDOUT = EVALUATION_SET.with_name("story_events_heldout.json")


def evaluation_items(path: Path = EVALUATION_SET) -> list:  # type: ignore[type-arg]
    """The articles of an evaluation set as extraction leaves them, in a shuffled order of
    arrival (the decision must not depend on it)."""
    items = []
    for source in load(path):
        published = source["published"].strftime("%Y-%m-%dT%H:%M:%SZ")
        item = text_item(source["url"], source["lead"], source["title"], published=published)
        item.language, item.site_name = source["lang"], source["outlet"]
        items.append(item)
    random.Random(7).shuffle(items)
    return items


def partition(stories: dict[str, object]) -> set[frozenset[str]]:
    groups: dict[object, set[str]] = {}
    for url, story in stories.items():
        groups.setdefault(story, set()).add(url)
    return {frozenset(group) for group in groups.values()}


def decided_one_by_one(db_path: Path) -> set[frozenset[str]]:
    """The stories of the embedded articles as the per-article decision gives them: each in
    order of publication against the earlier ones (``StoryGrouper``), on the stored vectors."""
    grouper = StoryGrouper(StoryRules(), timedelta(days=3))
    from pipeline.pipelines.dedup import parse_time

    rows = query(
        db_path,
        "select a.url, v.vector, v.keys, v.published, a.language from story_vectors v "
        "join articles a on a.id = v.article_id order by v.published, a.id",
    )
    for url, vector, keys, published, language in rows:
        assert isinstance(vector, bytes)
        grouper.add(
            str(url),
            from_blobs([vector])[0],
            frozenset(str(keys).split()),
            parse_time(str(published)),
            str(language) if language else None,
        )
    return partition(dict(grouper.stories))


def embedded_stories(db_path: Path) -> set[frozenset[str]]:
    return partition(
        {
            str(url): story
            for url, story in query(
                db_path,
                "select a.url, a.story_id from articles a "
                "join story_vectors v on v.article_id = a.id",
            )
        }
    )


def consistent(db_path: Path) -> None:
    """Every article in a story that exists, every story counted right and not empty."""
    assert query(
        db_path,
        "select count(*) from articles where text_hash is not null "
        "and story_id not in (select id from stories)",
    ) == [(0,)]
    assert query(
        db_path,
        "select count(*) from stories s where article_count != "
        "(select count(*) from articles a where a.story_id = s.id) or article_count = 0",
    ) == [(0,)]


@pytest.mark.parametrize("path", [EVALUATION_SET, HELDOUT], ids=["tuning", "heldout"])
@pytest.mark.parametrize("chunk", [256, 7])
def test_stories_decided_after_the_page_phase_equal_the_per_article_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path, chunk: int
) -> None:
    monkeypatch.setattr(story_phase, "CHUNK", chunk)
    order: list[object] = []
    vector_story = story_phase.vector_story

    def noting_the_order(*args: Any) -> Any:
        order.append(args[4])  # the article's publication time
        return vector_story(*args)

    monkeypatch.setattr(story_phase, "vector_story", noting_the_order)
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    items = evaluation_items(path)
    run(*items)
    run.close()
    assert query(db, "select count(*) from story_pending") == [(0,)]
    assert len(order) == len(items) and order == sorted(order)  # type: ignore[type-var]
    decided = embedded_stories(db)
    assert decided == decided_one_by_one(db)
    assert len(decided) < len(items)  # some stories were joined across the set
    consistent(db)


def test_a_killed_stories_phase_is_resumed_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(story_phase, "CHUNK", 5)
    items = evaluation_items()
    whole = tmp_path / "whole.db"
    run = EmbeddingRun(whole)
    run(*evaluation_items())
    run.close()

    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    copy = wire_copy(items[0], "https://wire.example/news/copy")
    run(*items, copy)
    decide = StoryPhase.decide
    calls = 0

    def killed_in_the_third_chunk(self: StoryPhase, *args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 13:
            raise KeyboardInterrupt
        decide(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(StoryPhase, "decide", killed_in_the_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run.close()
    # Two whole chunks decided, the third rolled back: whole decisions only.
    assert query(db, "select count(*) from story_vectors") == [(10,)]
    (pending,) = query(db, "select count(*) from story_pending")
    assert pending == (len(items) - 10,)
    consistent(db)
    monkeypatch.setattr(StoryPhase, "decide", decide)
    # The next run decides the rest first, in order of publication with the others.
    again = EmbeddingRun(db)
    again.close()
    assert again.stats.get_value("newsmon/stories/decided") == len(items) - 10
    assert query(db, "select count(*) from story_pending") == [(0,)]
    assert embedded_stories(db) == embedded_stories(whole)
    consistent(db)
    stories = stories_of(db)
    assert stories[copy.url] == stories[items[0].url]  # the copy followed its original


def test_regroup_decides_what_a_killed_crawl_left_pending(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    run(*evaluation_items(HELDOUT))
    run.store.close_spider()
    run.dedup._close()  # killed before the stories phase
    assert query(db, "select count(*) from story_vectors") == [(0,)]
    result = api.regroup(db)
    assert result["embedded"] == len(evaluation_items(HELDOUT))
    assert query(db, "select count(*) from story_pending") == [(0,)]
    assert embedded_stories(db) == decided_one_by_one(db)
    consistent(db)


def test_a_per_story_watchlist_alerts_once_per_story_decided_after_the_page_phase(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "news.db"
    db = open_db(db_path)
    query_text = "pensions OR пенсий OR зейнетақыны OR пенсій"
    try:
        sync(db, [Watchlist("every", query_text), Watchlist("stories", query_text, per_story=True)])
    finally:
        db.close()
    items = evaluation_items()
    run = EmbeddingRun(db_path)
    run(*items)
    run.store.flush()
    db = open_db(db_path)
    try:
        # The page phase: every article waits for its story, so nothing is matched yet.
        assert match_queued(db, stored(db)) == 0
        assert new_matches(db) == []
    finally:
        db.close()
    run.close()
    db = open_db(db_path)
    try:
        match_queued(db, stored(db))
        shown = new_matches(db)
        every = [m for m in shown if m["watchlist"] == "every"]
        per_story = [m for m in shown if m["watchlist"] == "stories"]
        stories = stories_of(db_path)
        assert len(every) > len(per_story) > 0
        matched_stories = [stories[m["url"]] for m in per_story]
        assert len(set(matched_stories)) == len(matched_stories)  # one alert per story
        assert {stories[m["url"]] for m in every} == set(matched_stories)
    finally:
        db.close()


def test_with_embeddings_off_articles_left_pending_keep_their_own_story(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    run(*evaluation_items(HELDOUT)[:3])
    run.store.close_spider()
    run.dedup._close()  # killed before the stories phase
    off = Run(db)  # embeddings off
    off.close()
    assert query(db, "select count(*) from story_pending") == [(0,)]
    assert len(set(stories_of(db).values())) == 3
    consistent(db)


def test_a_run_with_another_embedding_method_says_to_regroup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pipeline.pipelines.embedding import StoryEmbedder

    db = tmp_path / "news.db"
    items = evaluation_items()
    run = EmbeddingRun(db)  # the headline alone
    run(*items[:10])
    run.close()
    assert "another method" not in caplog.text
    run = EmbeddingRun(db)
    run.dedup.embedder = StoryEmbedder(run.stats, run.pool, 40)  # type: ignore[arg-type]
    run(*items[10:20])
    run.close()
    assert "newsmon regroup" in caplog.text and "another method" in caplog.text
    assert run.stats.get_value("newsmon/stories/other_method") == method_name(0)
