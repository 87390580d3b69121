"""Stemming for search: inflected forms share a stem, in each language and script."""

from __future__ import annotations

import pytest

from pipeline.text.stemming import group_for, stem, stem_text, stem_ukrainian
from pipeline.text.tokens import search_tokens


@pytest.mark.parametrize(
    ("group", "forms"),
    [
        ("russian", "мобилизация мобилизации мобилизацию мобилизацией"),
        ("russian", "граница границе границу границы границей"),
        ("russian", "Верхний Верхнего Верхнем"),
        ("english", "border borders"),
        ("english", "crossing crossings crossed"),
        ("english", "election elections"),
        ("english", "party parties"),
        ("english", "hope hopes hoping hoped"),
        ("ukrainian", "мобілізація мобілізації мобілізацію мобілізацією"),
        ("ukrainian", "кордон кордону кордоні кордонів кордонами"),
        ("ukrainian", "порт порти портів портах"),
        ("ukrainian", "зерно зерна зерном"),
        ("ukrainian", "Одеські Одеської Одеська"),
        ("german", "Grenze Grenzen"),
    ],
)
def test_inflected_forms_share_a_stem(group: str, forms: str) -> None:
    stems = {stem(word, group) for word in search_tokens(forms)}
    assert len(stems) == 1, stems


def test_different_words_keep_different_stems() -> None:
    assert stem("border", "english") != stem("board", "english")
    # English keeps to inflection: derived words stay apart.
    assert stem("election", "english") != stem("elect", "english")
    assert stem("government", "english") != stem("governing", "english")
    assert stem("граница", "russian") != stem("гражданин", "russian")
    assert stem_ukrainian("кордон") != stem_ukrainian("корова")


def test_words_in_another_script_are_stemmed_by_that_script() -> None:
    # An English word in a Russian article, a Russian name in an English one.
    assert stem("borders", "russian") == stem("border", "english")
    assert stem("мобилизации", "english") == stem("мобилизация", "russian")
    assert stem("мобилизации", "other") == stem("мобилизация", "russian")


def test_words_are_case_folded_and_yo_is_e() -> None:
    assert search_tokens("Ещё НАТО, Kazakhstan's") == ["еще", "нато", "kazakhstan", "s"]


def test_languages_map_to_stemmer_groups() -> None:
    assert group_for("ru") == "russian"
    assert group_for("uk") == "ukrainian"
    assert group_for("EN") == "english"
    assert group_for("kk") == "other"
    assert group_for(None) == "other"


def test_text_as_stems() -> None:
    assert stem_text("Borders, borders!", "english") == "border border"
