"""Spellings of a word in the other script: iuliia's schemes, forwards and backwards."""

from __future__ import annotations

import pytest

from pipeline.text.transliteration import cyrillic_spellings, latin_spellings


@pytest.mark.parametrize(
    ("word", "spellings"),
    [
        ("токаев", {"tokayev", "tokaev"}),
        ("харків", {"kharkiv"}),
        ("київ", {"kyiv"}),
        ("мирзиеев", {"mirziyoyev"}),  # ё written as е by search_tokens
        ("жапаров", {"zhaparov"}),
        ("зеленський", {"zelensky"}),
        ("україна", {"ukraine"}),  # an exonym
        ("казахстан", {"kazakhstan"}),
    ],
)
def test_cyrillic_words_in_latin_letters(word: str, spellings: set[str]) -> None:
    assert spellings <= set(latin_spellings(word))


@pytest.mark.parametrize(
    ("word", "russian", "ukrainian"),
    [
        ("tokayev", "токаев", "токаєв"),
        ("tokaev", "токаев", "токаєв"),
        ("mirziyoyev", "мирзиёев", "мірзійоєв"),
        ("zhaparov", "жапаров", "жапаров"),
        ("japarov", "жапаров", "жапаров"),  # j as in Kazakh and Kyrgyz names
        ("bishkek", "бишкек", "бішкек"),
        ("kazakhstan", "казахстан", "казахстан"),
        ("kyiv", "киев", "київ"),
        ("kharkiv", "харьков", "харків"),
        ("kharkov", "харьков", "харків"),
        ("tajikistan", "таджикистан", "таджикистан"),
    ],
)
def test_latin_words_in_cyrillic_letters(word: str, russian: str, ukrainian: str) -> None:
    assert russian in cyrillic_spellings(word)
    assert ukrainian in cyrillic_spellings(word, ukrainian=True)


def test_the_most_likely_spelling_comes_first() -> None:
    assert cyrillic_spellings("tokaev")[0] == "токаев"
    assert cyrillic_spellings("bishkek")[0] == "бишкек"
    assert cyrillic_spellings("kharkiv", ukrainian=True)[0] == "харків"


def test_words_that_are_not_latin_letters_have_no_cyrillic_spelling() -> None:
    assert cyrillic_spellings("covid19") == ()
    assert cyrillic_spellings("токаев") == ()
