"""Stories by embeddings: the embedding pipeline, dedup's decision with vectors, the stored
vectors, regrouping, and the stories a reader sees."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from benchmarks.story_eval import load
from pipeline import api
from pipeline.cli import cli
from pipeline.exceptions import WorkerError
from pipeline.items import ArticleItem
from pipeline.pipelines.embedding import EmbedPipeline
from pipeline.regroup import regroup_stories
from pipeline.text.embeddings import embed_story, method_name
from pipeline.text.story_match import StoryRules
from tests.pipelines.test_dedup import Run, query, text_item

ARTICLES = {(a["event"], a["lang"], a["outlet"]): a for a in load()}


def article(event: str, lang: str, outlet: str, embedded: bool = True) -> ArticleItem:
    """An article of the evaluation set as the embedding pipeline leaves it."""
    source = ARTICLES[(event, lang, outlet)]
    published = source["published"].strftime("%Y-%m-%dT%H:%M:%SZ")
    item = text_item(source["url"], source["lead"], source["title"], published=published)
    item.language, item.site_name = source["lang"], source["outlet"]
    if embedded:
        result = embed_story(item.title, item.text, 0)
        item.story_vector, item.story_keys = result["vector"], result["keys"]
        item.story_vector_method = method_name(0)
    return item


PENSIONS = [
    ("pensions-kz", "ru", "tengri.example"),
    ("pensions-kz", "kk", "egemen.example"),
    ("pensions-kz", "en", "astanatimes.example"),
    ("pensions-kz", "uk", "ukrinform.example"),
]
MINIMUM_WAGE = ("x-min-wage", "en", "astanatimes.example")
QUAKE = [("quake-almaty", "ru", "tengri.example"), ("quake-almaty", "en", "reuters.example")]


def stories_of(db: Path) -> dict[str, Any]:
    return {str(url): story for url, story in query(db, "select url, story_id from articles")}


def test_one_event_in_four_languages_is_one_story(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key) for key in PENSIONS], article(*MINIMUM_WAGE))
    run.close()
    stories = stories_of(db)
    pensions = {stories[ARTICLES[key]["url"]] for key in PENSIONS}
    assert len(pensions) == 1
    assert stories[ARTICLES[MINIMUM_WAGE]["url"]] not in pensions
    ((languages, outlets),) = query(
        db, f"select languages, outlet_count from stories where id = {pensions.pop()}"
    )
    assert set(str(languages).split(",")) == {"ru", "kk", "en", "uk"}
    assert outlets == 4


def test_an_article_joins_a_story_stored_by_an_earlier_run(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(article(*QUAKE[0]), article(*PENSIONS[0]))
    run.close()
    stored = query(db, "select method, published, length(vector), keys from story_vectors")
    assert {row[0] for row in stored} == {method_name(0)}
    assert all(str(row[1]).endswith("Z") and row[2] == 384 for row in stored)
    run = Run(db)
    run(article(*QUAKE[1]))
    run.close()
    stories = stories_of(db)
    assert stories[ARTICLES[QUAKE[1]]["url"]] == stories[ARTICLES[QUAKE[0]]["url"]]
    assert stories[ARTICLES[PENSIONS[0]]["url"]] != stories[ARTICLES[QUAKE[0]]["url"]]


def test_articles_without_vectors_are_grouped_by_their_terms(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key, embedded=False) for key in PENSIONS[:2]])
    run.close()
    assert query(db, "select count(*) from story_vectors") == [(0,)]
    # Lexical stories never meet across scripts on these two: two stories.
    assert len(set(stories_of(db).values())) == 2


def test_regroup_embeds_and_groups_stored_articles_across_languages(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(
        *[article(*key, embedded=False) for key in PENSIONS + QUAKE],
        article(*MINIMUM_WAGE, embedded=False),
    )
    run.close()
    steps: list[tuple[str, int, int]] = []
    result = api.regroup(db, progress=lambda *step: steps.append(step))
    assert result["embedded"] == 7
    assert steps[-1] == ("group", 7, 7) and ("embed", 7, 7) in steps
    stories = stories_of(db)
    assert len({stories[ARTICLES[key]["url"]] for key in PENSIONS}) == 1
    assert len({stories[ARTICLES[key]["url"]] for key in QUAKE}) == 1
    assert len(set(stories.values())) == 3
    assert query(db, "select count(*) from stories") == [(3,)]
    # Again: nothing to embed, nothing moves.
    again = api.regroup(db)
    assert again["embedded"] == 0 and again["changed"] == 0


def test_a_killed_regrouping_changes_no_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key, embedded=False) for key in PENSIONS])
    run.close()
    before = stories_of(db)

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.regroup.count_story", killed)
    with pytest.raises(KeyboardInterrupt):
        api.regroup(db)
    assert stories_of(db) == before
    assert query(db, "select count(*) from story_vectors") == [(4,)]  # kept: resumes from here
    monkeypatch.undo()
    assert api.regroup(db)["embedded"] == 0


def test_regroup_with_stricter_rules_splits_a_story(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key) for key in PENSIONS])
    run.close()
    assert len(set(stories_of(db).values())) == 1
    open_db = api._existing_db(db)
    try:
        rules = StoryRules(threshold=1.5, mean_threshold=1.5)
        counts = regroup_stories(open_db, 0, rules, timedelta(days=3))
    finally:
        open_db.close()
    assert counts["stories"] == 4 and counts["changed"] == 3
    assert len(set(stories_of(db).values())) == 4


def test_stories_for_a_reader(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key) for key in PENSIONS], article(*MINIMUM_WAGE))
    run.close()
    (first, second) = api.stories(db, "kk")
    assert first["headline"] == ARTICLES[PENSIONS[1]]["title"]
    assert first["headline_language"] == "kk"
    assert first["languages"] == ["en", "kk", "ru", "uk"]
    assert first["outlet_count"] == 4 and len(first["articles"]) == 4
    assert second["headline"] == ARTICLES[MINIMUM_WAGE]["title"]
    assert second["headline_language"] == "en"  # not told in Kazakh: its own headline
    assert [s["id"] for s in api.stories(db, min_outlets=2)] == [first["id"]]
    assert api.stories(db, since="2099-01-01") == []
    result = CliRunner().invoke(cli, ["stories", "--db", str(db), "--lang", "ru", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["headline"] == ARTICLES[PENSIONS[0]]["title"]
    text = CliRunner().invoke(cli, ["stories", "--db", str(db), "--lang", "uk"])
    assert ARTICLES[PENSIONS[3]]["title"] in text.output and "4 outlets" in text.output
    bad = CliRunner().invoke(cli, ["stories", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in bad.output


class FakePool:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail

    async def run(self, task: str, *args: Any) -> Any:
        self.calls.append((task, *args))
        if self.fail:
            raise WorkerError("extract_timeout", "took too long")
        return embed_story(*args)


def test_the_embedding_pipeline_sends_headline_and_text_to_the_workers() -> None:
    stats = MemoryStatsCollector(get_crawler())
    pool = FakePool()
    pipeline = EmbedPipeline(stats, pool, words=0)  # type: ignore[arg-type]
    item = article(*PENSIONS[0], embedded=False)
    no_text = text_item("http://news.test/empty", "", "Empty")
    no_text.status = "no_text"
    asyncio.run(pipeline.process_item(item))
    asyncio.run(pipeline.process_item(no_text))
    assert pool.calls == [("embed_story", item.title, item.text, 0)]
    assert item.story_vector is not None and item.story_vector_method == method_name(0)
    assert "n:tkv" in item.story_keys
    assert stats.get_value("newsmon/stories/embedded") == 1
    failing = EmbedPipeline(stats, FakePool(fail=True), words=0)  # type: ignore[arg-type]
    other = article(*PENSIONS[1], embedded=False)
    asyncio.run(failing.process_item(other))
    assert other.story_vector is None
    assert stats.get_value("newsmon/stories/embed_failed") == 1


def test_the_embedding_pipeline_can_be_switched_off() -> None:
    crawler = get_crawler(settings_dict={"NEWSMON_STORY_EMBEDDINGS": False})
    with pytest.raises(NotConfigured):
        EmbedPipeline.from_crawler(crawler)


def test_a_watchlist_can_alert_once_per_story(tmp_path: Path) -> None:
    from pipeline.db.connection import open_db
    from pipeline.search.watchlists import Watchlist, load, match_queued, new_matches, stored, sync

    db_path = tmp_path / "news.db"
    run = Run(db_path)
    run(*[article(*key) for key in PENSIONS[:3]])
    run.close()
    query_text = "pensions OR пенсий OR зейнетақыны"
    db = open_db(db_path)
    try:
        sync(db, [Watchlist("every", query_text), Watchlist("stories", query_text, per_story=True)])
        shown = new_matches(db)
        assert len([m for m in shown if m["watchlist"] == "every"]) == 3
        assert len([m for m in shown if m["watchlist"] == "stories"]) == 1
    finally:
        db.close()
    # A later article of the same story: no second alert; of a new story: one.
    run = Run(db_path)
    run(article(*PENSIONS[3]), article("x-pensions-ru", "ru", "rbc.example"))
    run.close()
    db = open_db(db_path)
    try:
        match_queued(db, stored(db))
        later = [m for m in new_matches(db) if m["watchlist"] == "stories"]
        assert [m["title"] for m in later] == [
            ARTICLES[("x-pensions-ru", "ru", "rbc.example")]["title"]
        ]
    finally:
        db.close()
    watchlists_file = tmp_path / "watchlists.toml"
    watchlists_file.write_text("[watchlists.a]\nquery = 'x'\nper_story = true\n", "utf-8")
    assert load(watchlists_file)[0].per_story
    # A watchlist without the option keeps the definition it had before the option existed.
    assert "per_story" not in Watchlist("a", "x").definition
