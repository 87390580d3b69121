"""The story decision: scores, no chaining, and its quality on the evaluation set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from benchmarks.story_eval import evaluate
from pipeline.text.story_match import (
    Candidate,
    StoryGrouper,
    StoryRules,
    choose_story,
    common_names,
    conflicting_figures,
    outlet_of,
    pair_scores,
)

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
HELD_OUT = Path(__file__).parent / "story_events_heldout.json"


def unit(*components: float) -> np.ndarray:
    vector = np.array(components, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def candidate(
    url: str, story: str, keys: frozenset[str] = frozenset(), hours: float = 0
) -> Candidate:
    return Candidate(url, story, keys, outlet_of(url), NOW + timedelta(hours=hours))


def test_shared_names_and_numbers_add_to_the_cosine() -> None:
    rules = StoryRules(day_penalty=0, same_outlet_penalty=0)
    mine = frozenset({"n:tkv", "#12", "#410", "h#12"})
    others = [
        candidate("https://a.example/1", "s1", frozenset({"n:tkv", "#12", "#410", "h#12"})),
        candidate("https://b.example/1", "s2", frozenset()),
        candidate("https://c.example/1", "s3", frozenset({"h#85"})),  # another figure
    ]
    matrix = np.vstack([unit(1, 0)] * 3)
    shared, plain, conflicting = pair_scores(unit(1, 0), mine, None, NOW, others, matrix, rules)
    assert shared == pytest.approx(1 + rules.name_weight + 2 * rules.number_weight)
    assert plain == pytest.approx(1.0)
    assert conflicting == pytest.approx(1 - rules.number_conflict_penalty)


def test_a_pair_across_languages_gets_the_cross_language_bonus() -> None:
    rules = StoryRules(day_penalty=0, same_outlet_penalty=0)
    at = NOW
    others = [
        Candidate("https://a.example/ru", "s1", frozenset(), "a.example", at, "ru"),
        Candidate("https://b.example/en", "s2", frozenset(), "b.example", at, "en"),
        Candidate("https://c.example/x", "s3", frozenset(), "c.example", at, None),
    ]
    matrix = np.vstack([unit(1, 0)] * 3)
    russian, english, unknown = pair_scores(
        unit(1, 0), frozenset(), None, NOW, others, matrix, rules, "en"
    )
    assert russian == pytest.approx(1 + rules.cross_language_bonus)
    assert english == pytest.approx(1.0)
    assert unknown == pytest.approx(1.0)  # no bonus without both languages
    assert rules.cross_language_bonus > 0


def test_names_count_only_across_languages() -> None:
    """Within one language the model reads the names itself; the name keys are evidence where
    spellings differ (Токаев, Tokayev) or the languages are unknown."""
    rules = StoryRules(day_penalty=0, same_outlet_penalty=0, cross_language_bonus=0)
    mine = frozenset({"n:tkv", "n:astn", "#410"})
    others = [
        Candidate("https://a.example/ru", "s1", mine, "a.example", NOW, "ru"),
        Candidate("https://b.example/en", "s2", mine, "b.example", NOW, "en"),
        Candidate("https://c.example/x", "s3", mine, "c.example", NOW, None),
    ]
    matrix = np.vstack([unit(1, 0)] * 3)
    russian, english, unknown = pair_scores(
        unit(1, 0), mine, None, NOW, others, matrix, rules, "ru"
    )
    assert russian == pytest.approx(1 + rules.number_weight)
    assert english == pytest.approx(1 + 2 * rules.name_weight + rules.number_weight)
    assert unknown == english


def test_same_outlet_and_distance_in_time_lower_the_score() -> None:
    rules = StoryRules()
    others = [
        candidate("https://www.a.example/2", "s1"),
        candidate("https://b.example/2", "s2", hours=48),
    ]
    matrix = np.vstack([unit(1, 0)] * 2)
    same_outlet, two_days = pair_scores(
        unit(1, 0), frozenset(), "a.example", NOW, others, matrix, rules
    )
    assert same_outlet == pytest.approx(1 - rules.same_outlet_penalty)
    assert two_days == pytest.approx(1 - 2 * rules.day_penalty)


def test_conflicting_figures_need_figures_in_both_headlines() -> None:
    assert conflicting_figures(frozenset({"h#5.8"}), frozenset({"h#4.2"}))
    assert not conflicting_figures(frozenset({"h#5.8"}), frozenset({"h#5.8", "h#160"}))
    assert not conflicting_figures(frozenset({"h#5.8"}), frozenset({"#4.2"}))


def test_one_near_match_does_not_pull_an_article_into_a_story_it_does_not_resemble() -> None:
    rules = StoryRules(threshold=0.9, mean_threshold=0.88)
    members = [candidate(f"https://o{i}.example/", "story") for i in range(3)]
    # Close to one member only: single-link would join, and chain the next article on.
    assert choose_story([0.95, 0.70, 0.72], members, rules) is None
    joined = choose_story([0.95, 0.90, 0.89], members, rules)
    assert joined is not None and joined[0] is members[0]


def test_the_best_story_by_mean_wins() -> None:
    rules = StoryRules(threshold=0.9, mean_threshold=0.85)
    a = [candidate("https://a.example/1", "a"), candidate("https://a.example/2", "a")]
    b = [candidate("https://b.example/1", "b")]
    chosen = choose_story([0.97, 0.80, 0.92], a + b, rules)
    assert chosen is not None and chosen[0].story == "b"


def test_the_grouper_forgets_articles_outside_the_window() -> None:
    grouper = StoryGrouper(StoryRules(), timedelta(days=3))
    first = grouper.add("https://a.example/1", unit(1, 0), frozenset(), NOW)
    assert first == "https://a.example/1"
    assert (
        grouper.add("https://b.example/1", unit(1, 0), frozenset(), NOW + timedelta(hours=2))
        == first
    )
    later = grouper.add("https://c.example/1", unit(1, 0), frozenset(), NOW + timedelta(days=5))
    assert later == "https://c.example/1"
    assert len(grouper.candidates) == 1


def test_stories_on_the_evaluation_set_across_languages() -> None:
    """The evaluation set (tests/text/story_events.json): eight events told in Russian,
    Ukrainian, Kazakh and English, and unrelated articles on the same subjects, grouped in 10
    orders of arrival with the default rules. Figures of the default: docs/stories.md."""
    result = evaluate(orders=10)
    overall = result["pairs"]["all"]
    assert overall["precision"] >= 0.8 and overall["recall"] >= 0.9, overall
    cross = [row for key, row in result["pairs"].items() if key[:2] != key[3:] and key != "all"]
    assert cross and min(row["f1"] for row in cross) >= 0.85, result["pairs"]
    assert result["order_disagreement"] < 0.03


def test_stories_on_the_held_out_set() -> None:
    """The second set (tests/text/story_events_heldout.json), written after the first rules
    and thresholds were fixed."""
    result = evaluate(orders=10, path=HELD_OUT)
    overall = result["pairs"]["all"]
    assert overall["precision"] >= 0.9 and overall["recall"] >= 0.9, result["pairs"]


@pytest.mark.parametrize(
    "name", ["story_events_angles", "story_events_blind", "story_events_blind2"]
)
def test_stories_on_sets_where_each_outlet_tells_its_own_angle(name: str) -> None:
    """Sets where the outlets do not translate one another (headlines on different aspects,
    figures rounded differently) and hard unrelated articles published beside them; the second
    and third were written without sight of the method, the third with several outlets per
    language. The headline alone found about a third of the pairs of the first two
    (docs/stories.md)."""
    result = evaluate(orders=10, path=Path(__file__).parent / f"{name}.json")
    overall = result["pairs"]["all"]
    assert overall["precision"] >= 0.85 and overall["recall"] >= 0.65, result["pairs"]
    cross = [0, 0]
    for key, row in result["pairs"].items():
        if key != "all" and key[:2] != key[3:]:
            cross[0] += row["precision"] >= 0.7
            cross[1] += 1
    assert cross[0] >= cross[1] - 1, result["pairs"]  # at most one language pair below


def test_names_common_among_the_candidates_do_not_count() -> None:
    rules = StoryRules(day_penalty=0, same_outlet_penalty=0, common_name_share=0.1)
    mine = frozenset({"n:trmp", "n:bjng"})
    crowd = [candidate(f"https://o{i}.example/", f"s{i}", frozenset({"n:trmp"})) for i in range(8)]
    other = candidate("https://x.example/", "x", frozenset({"n:trmp", "n:bjng"}))
    candidates = [*crowd, other]
    matrix = np.vstack([unit(1, 0)] * len(candidates))
    scores = pair_scores(unit(1, 0), mine, None, NOW, candidates, matrix, rules)
    assert scores[0] == pytest.approx(1.0)  # Trump: in 9 of 9 candidates, no evidence
    assert scores[-1] == pytest.approx(1 + rules.name_weight)  # Beijing still counts
    assert common_names(mine, candidates, rules) == {"n:trmp"}
    every = StoryRules(day_penalty=0, same_outlet_penalty=0, common_name_share=0)
    assert pair_scores(unit(1, 0), mine, None, NOW, candidates, matrix, every)[0] == pytest.approx(
        1 + every.name_weight
    )
