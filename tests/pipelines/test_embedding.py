"""Stories by embeddings: the embedding pipeline, dedup's decision with vectors, the stored
vectors, regrouping, and the stories a reader sees."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy.utils.test import get_crawler

from benchmarks.story_eval import load
from pipeline import api
from pipeline.cli import cli
from pipeline.exceptions import WorkerError
from pipeline.items import ArticleItem
from pipeline.pipelines.dedup import DedupPipeline
from pipeline.pipelines.embedding import StoryEmbedder
from pipeline.regroup import regroup_stories
from pipeline.text.embeddings import method_name
from pipeline.text.story_match import StoryRules
from pipeline.workers.crawl_tasks import run as run_task
from tests.pipelines.test_dedup import Run, query, text_item

ARTICLES = {(a["event"], a["lang"], a["outlet"]): a for a in load()}


def article(event: str, lang: str, outlet: str) -> ArticleItem:
    """An article of the evaluation set as extraction leaves it."""
    source = ARTICLES[(event, lang, outlet)]
    published = source["published"].strftime("%Y-%m-%dT%H:%M:%SZ")
    item = text_item(source["url"], source["lead"], source["title"], published=published)
    item.language, item.site_name = source["lang"], source["outlet"]
    return item


def wire_copy(original: ArticleItem, url: str) -> ArticleItem:
    """A near-copy of an article under another URL."""
    return text_item(
        url,
        (original.text or "") + " Copyright wire.",
        original.title,
        published=original.published or "",
    )


class FakePool:
    """The worker pool, in this process."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail
        self.recycled = 0

    async def run(self, task: str, *args: Any) -> Any:
        self.calls.append((task, *args))
        for _ in range(3):  # other calls go on meanwhile, as with real workers
            await asyncio.sleep(0)
        if self.fail:
            raise WorkerError("extract_timeout", "took too long")
        return run_task(task, *args)

    def recycle(self) -> None:
        self.recycled += 1


class EmbeddingRun(Run):
    """A crawl's dedup (with embeddings, the workers in this process) and store."""

    def __init__(self, db_path: Path, fail: bool = False) -> None:
        super().__init__(db_path)
        self.pool = FakePool(fail)
        self.dedup.embedder = StoryEmbedder(self.stats, self.pool, 0)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close as Scrapy does: the store, then dedup, which runs the stories phase."""
        self.store.close_spider()
        phase = self.dedup.close_spider()
        if phase is not None:
            asyncio.run(phase)

    @property
    def embedded(self) -> list[str | None]:
        """The headlines sent to the workers."""
        return [title for call in self.pool.calls for title, _ in call[1]]


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
    run = EmbeddingRun(db)
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
    run = EmbeddingRun(db)
    run(article(*QUAKE[0]), article(*PENSIONS[0]))
    run.close()
    stored = query(db, "select method, published, length(vector), keys from story_vectors")
    assert {row[0] for row in stored} == {method_name(0)}
    assert all(str(row[1]).endswith("Z") and row[2] == 384 for row in stored)
    run = EmbeddingRun(db)
    run(article(*QUAKE[1]))
    run.close()
    stories = stories_of(db)
    assert stories[ARTICLES[QUAKE[1]]["url"]] == stories[ARTICLES[QUAKE[0]]["url"]]
    assert stories[ARTICLES[PENSIONS[0]]["url"]] != stories[ARTICLES[QUAKE[0]]["url"]]


def test_articles_without_vectors_are_grouped_by_their_terms(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(*[article(*key) for key in PENSIONS[:2]])
    run.close()
    assert query(db, "select count(*) from story_vectors") == [(0,)]
    # Lexical stories never meet across scripts on these two: two stories.
    assert len(set(stories_of(db).values())) == 2


def test_regroup_embeds_and_groups_stored_articles_across_languages(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = Run(db)
    run(
        *[article(*key) for key in PENSIONS + QUAKE],
        article(*MINIMUM_WAGE),
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
    run(*[article(*key) for key in PENSIONS])
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
    run = EmbeddingRun(db)
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
    run = EmbeddingRun(db)
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
    assert "1 outlet, 1 article," in text.output  # the minimum-wage story, told once
    bad = CliRunner().invoke(cli, ["stories", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in bad.output


def test_only_unique_articles_are_embedded_after_the_page_phase_and_failures_use_terms(
    tmp_path: Path,
) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    original = article(*PENSIONS[0])
    copy = wire_copy(original, "https://wire.example/news/1")
    run(original, copy)
    run.store.flush()
    # The page phase: stored at once, in a story of its own that the copy joins, undecided.
    assert run.pool.calls == []
    assert original.story_pending and not copy.story_pending
    assert copy.duplicate_of_url == original.url and copy.story_of_url == original.url
    assert query(db, "select count(*) from story_pending") == [(1,)]
    assert len(set(stories_of(db).values())) == 1
    run.close()
    assert run.embedded == [original.title]  # the copy: not embedded
    assert run.pool.recycled == 1  # fresh workers for the model
    assert run.stats.get_value("newsmon/stories/embedded") == 1
    assert run.stats.get_value("newsmon/stories/decided") == 1
    assert query(db, "select count(*) from story_pending") == [(0,)]
    failing = EmbeddingRun(db, fail=True)
    other = article(*PENSIONS[1])
    failing(other)
    failing.close()
    assert query(db, "select count(*) from story_vectors") == [(1,)]
    assert failing.stats.get_value("newsmon/stories/embed_failed") == 1
    assert failing.stats.get_value("newsmon/stories/new") == 1  # grouped by its terms
    assert query(db, "select count(*) from story_pending") == [(0,)]


def test_a_failed_batch_is_embedded_article_by_article(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    bad = article(*MINIMUM_WAGE)
    real = run.pool.run

    async def one_bad_article(task: str, articles: list[Any], words: int) -> Any:
        if any(title == bad.title for title, _ in articles):
            run.pool.calls.append((task, articles, words))
            raise WorkerError("extract_timeout", "took too long")
        return await real(task, articles, words)

    run.pool.run = one_bad_article  # type: ignore[method-assign]
    run(*[article(*key) for key in PENSIONS], bad)
    run.close()
    assert [len(call[1]) for call in run.pool.calls] == [5, 1, 1, 1, 1, 1]
    assert run.stats.get_value("newsmon/stories/embedded") == 4
    assert run.stats.get_value("newsmon/stories/embed_failed") == 1
    stories = stories_of(db)
    assert len({stories[ARTICLES[key]["url"]] for key in PENSIONS}) == 1


def test_embeddings_can_be_switched_off() -> None:
    crawler = get_crawler(settings_dict={"NEWSMON_STORY_EMBEDDINGS": False})
    assert StoryEmbedder.from_crawler(crawler) is None
    assert DedupPipeline.from_crawler(crawler).embedder is None


def test_a_story_headline_is_labelled_with_its_own_language_and_its_outlets_counted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    items = [article(*key) for key in PENSIONS]
    run(*items, wire_copy(items[0], "https://wire.example/news/1"))
    run.close()
    (story,) = api.stories(db)
    assert len(story["articles"]) == 5
    assert len(story["outlets"]) == story["outlet_count"] == 4  # the copy's is not counted
    language = story["headline_language"]
    assert story["articles"][0]["language"] == language
    # A later sighting dated the headline's article last: the label stays the headline's.
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE articles SET published = '2026-11-30T00:00:00Z' WHERE title = ?",
            (story["headline"],),
        )
    (story,) = api.stories(db)
    assert story["articles"][0]["language"] != language
    assert story["headline_language"] == language


def test_a_watchlist_can_alert_once_per_story(tmp_path: Path) -> None:
    from pipeline.db.connection import open_db
    from pipeline.search.watchlists import Watchlist, load, match_queued, new_matches, stored, sync

    db_path = tmp_path / "news.db"
    run = EmbeddingRun(db_path)
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
    run = EmbeddingRun(db_path)
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


def test_datasette_lists_the_stories_across_languages_and_links_their_articles(
    tmp_path: Path,
) -> None:
    from tests.datasette.test_plugin import get, get_json

    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    run(*[article(*key) for key in PENSIONS], article(*MINIMUM_WAGE))
    run.close()
    rows = get_json(db, "/news/stories_across_languages.json?_shape=objects")["rows"]
    assert [set(row["languages"].split(",")) for row in rows] == [{"ru", "kk", "en", "uk"}]
    articles = get_json(db, f"/news/story.json?story_id={rows[0]['story']}&_shape=objects")["rows"]
    assert {a["language"] for a in articles} == {"ru", "kk", "en", "uk"}
    assert "stories_across_languages" in get(db, "/").text  # linked from the front page


def test_the_same_page_twice_is_one_article_with_two_sightings_embedded_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "news.db"
    run = EmbeddingRun(db)
    first = article(*PENSIONS[0])
    again = article(*PENSIONS[0])  # a redirect from another feed's link, landing on it
    again.entry.feed_url = "http://news.test/feeds/other.rss"
    again.entry.link = "http://news.test/redirect?to=pensions"
    run(first, again)
    run.close()
    assert run.embedded == [first.title]
    assert query(db, "select count(*) from articles") == [(1,)]
    assert query(db, "select count(*) from entries") == [(2,)]
    assert run.stats.get_value("newsmon/stories/decided") == 1
