"""Stemming for search: inflected forms share a stem, in each language and script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.text.stemming import (
    american_spelling,
    group_for,
    query_stems,
    stem,
    stem_text,
    stem_turkic,
    stem_ukrainian,
)
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
        ("ukrainian", "Україна України Україні Україну Україною Україно"),
        ("kazakh", "Қазақстанның Қазақстанға Қазақстанды Қазақстанда Қазақстаннан"),
        ("kazakh", "Тоқаевтың Тоқаевқа Тоқаевты Тоқаевта Тоқаевтан Тоқаевпен"),
        ("kyrgyz", "Жапаровдун Жапаровго Жапаровду Жапаровдо Жапаровдон Жапаров"),
        ("kyrgyz", "Бишкектин Бишкекке Бишкекти Бишкекте Бишкектен Бишкек"),
        # English verbs ending in -e, and British and American spellings.
        ("english", "decide decided decides deciding"),
        ("english", "promote promotes promoted promoting"),
        ("english", "mobilise mobilised mobilisation mobilize mobilized mobilization"),
        ("english", "colour colours color coloured"),
        ("english", "analyse analysed analyzed"),
    ],
)
def test_inflected_forms_share_a_stem(group: str, forms: str) -> None:
    stems = {stem(word, group) for word in search_tokens(forms)}
    assert len(stems) == 1, stems


def test_different_words_keep_different_stems() -> None:
    assert stem("border", "english") != stem("board", "english")
    assert stem("four", "english") != stem("for", "english")  # not a British -our
    assert stem("граница", "russian") != stem("гражданин", "russian")
    assert stem("казахстан", "russian") != stem("узбекистан", "russian")
    assert stem_ukrainian("кордон") != stem_ukrainian("корова")
    assert stem("кордон", "ukrainian") != stem("корова", "ukrainian")


def test_american_spelling_of_british_words() -> None:
    assert american_spelling("mobilisation") == "mobilization"
    assert american_spelling("organised") == "organized"
    assert american_spelling("analyse") == "analyze"
    assert american_spelling("behaviour") == "behavior"
    assert american_spelling("labourers") == "laborers"
    assert american_spelling("hour") == "hour"
    assert american_spelling("four") == "four"
    assert american_spelling("crisis") == "crisis"


def test_kazakh_and_kyrgyz_case_endings_are_stripped_and_nothing_more() -> None:
    assert stem_turkic("қазақстанның", "kazakh") == "қазақстан"
    assert stem_turkic("ошко", "kyrgyz") == "ош"
    assert stem_turkic("ош", "kyrgyz") == "ош"
    assert stem_turkic("кезек", "kazakh") == "кезек"


@pytest.mark.parametrize(
    ("group", "forms"),
    [
        # The region's names, which Snowball alone splits (казахста against казахстан).
        ("russian", "Казахстан Казахстана Казахстану Казахстаном Казахстане"),
        ("russian", "Туркменистан Туркменистана Туркменистаном Туркменистане"),
        ("russian", "Астана Астаны Астане Астану Астаной"),
        ("russian", "Харьков Харькова Харькову Харьковом Харькове"),
        ("russian", "Токаев Токаева Токаеву Токаевым Токаеве"),
        ("russian", "Жапаров Жапарова Жапарову Жапаровым Жапарове"),
        ("russian", "Мирзиёев Мирзиёева Мирзиёеву Мирзиёевым Мирзиёеве"),
        ("ukrainian", "Харків Харкова Харкову Харковом Харкові Харкове"),
        ("ukrainian", "Київ Києва Києву Києвом Києві Києве"),
        ("ukrainian", "Токаєв Токаєва Токаєву Токаєвим Токаєві Токаєве"),
        ("russian", "человек люди"),  # a lemma from pymorphy3's dictionary
        ("russian", "идти шёл шла"),
        ("kazakh", "Қазақстан Қазақстанның Қазақстанға Қазақстанды Қазақстанда Қазақстаннан"),
        ("kazakh", "Астана Астананың Астанаға Астананы Астанада Астанадан"),
        ("kyrgyz", "Ош Оштун Ошко Ошту Ошто Оштон"),
    ],
)
def test_the_first_form_as_a_query_finds_the_others(group: str, forms: str) -> None:
    first, *others = search_tokens(forms)
    assert {stem(word, group) for word in others} <= set(query_stems(first, group))


def test_a_query_word_holds_the_stems_of_all_its_forms() -> None:
    # Whatever key the index gave each case form, the nominative query has it.
    for form in ("токаев", "токаева", "токаеву", "токаевым", "токаеве"):
        assert stem(form, "russian") in query_stems("токаев", "russian")
    for form in ("токаєв", "токаєва", "токаєву", "токаєвим", "токаєві", "токаєве"):
        assert stem(form, "ukrainian") in query_stems("токаєв", "ukrainian")
    # A name whose last syllable looks like a case ending: both the word and its stem.
    assert {"астана", stem("астана", "kazakh")} <= set(query_stems("астана", "kazakh"))
    assert query_stems("border", "english") == (stem("border", "english"),)


def test_a_query_word_holds_its_spellings_in_the_other_script() -> None:
    assert stem("токаева", "russian") in query_stems("tokayev", "russian")
    assert stem("токаева", "russian") in query_stems("tokaev", "russian")
    assert stem("харкові", "ukrainian") in query_stems("kharkiv", "ukrainian")
    assert stem("харькове", "russian") in query_stems("kharkiv", "russian")
    assert stem("жапарову", "russian") in query_stems("japarov", "russian")
    assert stem("kazakhstan", "english") in query_stems("казахстан", "english")
    assert stem("tokayev", "english") in query_stems("токаев", "english")
    # In a group of the word's own script nothing is transliterated, nor are two-letter words.
    assert query_stems("tokayev", "english") == ("tokayev",)
    assert query_stems("on", "russian") == ("on",)
    assert stem("ош", "russian") in query_stems("osh", "russian")


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
    assert group_for("kk") == "kazakh"
    assert group_for("ky") == "kyrgyz"
    assert group_for("ka") == "other"
    assert group_for(None) == "other"


def test_text_as_stems() -> None:
    assert stem_text("Borders, borders!", "english") == "border border"


def test_stemming_a_text_loads_no_dictionary() -> None:
    # The extraction workers stem every text: pymorphy3 and iuliia stay on the query side.
    code = (
        "import sys\n"
        "from pipeline.text.stemming import stem_text\n"
        "stem_text('Токаев прибыл в Казахстан. У Харкові. Tokayev decided.', 'russian')\n"
        "stem_text('У Харкові пролунали вибухи', 'ukrainian')\n"
        "stem_text('Tokayev mobilised', 'english')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymorphy3', 'iuliia')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
