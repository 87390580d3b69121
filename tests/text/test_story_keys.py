"""Names and numbers of a headline and lead, written so that scripts and languages meet."""

from __future__ import annotations

import pytest

from pipeline.text.story_keys import name_key, number_key, story_keys


@pytest.mark.parametrize(
    "spellings",
    [
        ("Токаев", "Тоқаев", "Токаєв", "Tokayev"),
        ("Кличко", "Klitschko"),
        ("Набиуллина", "Набіулліна", "Nabiullina"),
        ("Сулейменов", "Сүлейменов", "Suleimenov"),
        ("Жибек", "Жібек", "Zhibek"),
        ("Эмираты", "Емірати", "Emirates"),
        ("Кыргызстан", "Қырғызстан", "Kyrgyzstan"),
    ],
)
def test_a_name_has_one_key_in_every_script(spellings: tuple[str, ...]) -> None:
    keys = {name_key(word) for word in spellings}
    assert len(keys) == 1 and None not in keys, keys


def test_different_names_have_different_keys() -> None:
    assert name_key("Almaty") != name_key("Astana")
    assert name_key("Кличко") != name_key("Зеленский")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("5,8", "5.8"),
        ("5.8", "5.8"),
        ("80,000", "80"),
        ("80 000", "80"),
        ("80", "80"),
        ("2,3", "2.3"),
        ("16,50", "16.5"),
        ("410", "410"),
        ("2027", None),  # a year
        ("7", None),  # a single digit
    ],
)
def test_numbers_keep_their_significant_part(written: str, key: str | None) -> None:
    assert number_key(written) == key


def test_keys_of_a_headline_and_lead() -> None:
    keys = story_keys(
        "Землетрясение магнитудой 5,8 ощущалось в Алматы",
        "Толчки силой до 5 баллов ощущались в Алматы и Бишкеке, сообщило МЧС. " * 3,
    )
    assert "#5.8" in keys and "h#5.8" in keys  # the headline's figure, twice
    assert "n:almt" in keys and "n:bsk" in keys
    # A capital at the start of a sentence says nothing: Землетрясение, Толчки are not names.
    assert name_key("Землетрясение") not in {k[2:] for k in keys if k.startswith("n:")}
    assert "n:tlck" not in keys
    english = story_keys("Magnitude 5.8 quake shakes Almaty", "Buildings shook in Bishkek too.")
    assert {"#5.8", "h#5.8", "n:almt", "n:bsk"} <= set(english)


def test_no_keys_without_text() -> None:
    assert story_keys(None, None) == []
