"""Recall on the region's names in every case form, in their Latin spellings, and on inflected
pairs: the fixtures of ``tests.search.regional_names``."""

from __future__ import annotations

import pytest

from tests.search.regional_names import NAMES, Recall, measure


@pytest.fixture(scope="module")
def recall(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recall]:
    return measure(tmp_path_factory.mktemp("recall"))


def test_fixtures_hold_every_case() -> None:
    counts = {language: {len(n.forms) for n in NAMES if n.language == language}
              for language in ("ru", "uk", "kk", "ky")}  # fmt: skip
    assert counts == {"ru": {6}, "uk": {7}, "kk": {7}, "ky": {6}}


@pytest.mark.parametrize("language", ["ru", "uk", "kk", "ky"])
def test_the_nominative_finds_every_case_form(recall: dict[str, Recall], language: str) -> None:
    category = recall[f"nominative, {language}"]
    assert category.share >= 0.95, category.missed


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_the_english_spelling_finds_the_cyrillic_forms(
    recall: dict[str, Recall], language: str
) -> None:
    category = recall[f"Latin spelling, {language}"]
    assert category.share >= 0.8, category.missed


@pytest.mark.parametrize("language", ["en", "ru"])
def test_inflected_pairs_meet(recall: dict[str, Recall], language: str) -> None:
    category = recall[f"inflected pairs, {language}"]
    assert category.share >= 0.9, category.missed


def test_known_misses_are_irregular_english_verbs(recall: dict[str, Recall]) -> None:
    # Snowball stems, it does not lemmatize: suppletive past tenses stay apart.
    assert recall["inflected pairs, en"].missed == ("flee → fled", "say → said")


def test_measure_counts_misses() -> None:
    # The measure itself can fail: a query that is not a form of the name finds nothing.
    category = Recall()
    category.add(True, "a")
    category.add(False, "b")
    assert (category.found, category.total, category.missed, str(category)) == (
        1, 2, ("b",), "1/2 (50%)",
    )  # fmt: skip
