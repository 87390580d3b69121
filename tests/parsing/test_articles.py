"""Article extraction (the worker function) on fixture pages: body, metadata, Cyrillic pages, dates,
headlines, bylines, split bodies and teaser pages."""

from __future__ import annotations

import pytest

from pipeline.parsing.articles import extract_article
from pipeline.text.language import detect_language
from pipeline.text.stemming import group_for, stem_text
from tests.conftest import fixture_bytes

BASE = "http://news.test"


def page(name: str) -> str:
    return fixture_bytes(f"news/{name}", BASE).decode("utf-8")


def test_extracts_body_paragraphs_and_metadata() -> None:
    result = extract_article(page("en-border.html"), f"{BASE}/news/en-border.html")
    assert result is not None
    text = result["text"]
    assert text.count("\n") >= 4  # paragraphs are kept apart
    assert "Hundreds of cars stood in a line" in text
    assert "would look for remote work in the meantime." in text
    for boilerplate in ("All rights reserved", "Markets close higher", "About us"):
        assert boilerplate not in text
    assert result["title"] == "Queues grow at the Kazakh border as men leave Russia"
    assert result["author"] == "Dana Serikova"
    assert result["date"] == "2022-09-25T08:30:00Z"  # with its time, from the page's zone
    assert not result["text"].startswith(result["title"])
    assert detect_language(text) == "en"
    assert result["site_name"] == "Steppe Courier"
    assert result["canonical_url"] == f"{BASE}/news/en-border.html"
    assert result["image"] == f"{BASE}/img/en-border.jpg"
    assert result["description"].startswith("Hundreds of cars")


@pytest.mark.parametrize(
    ("name", "language", "phrase"),
    [
        ("ru-border.html", "ru", "выстроилась очередь из автомобилей"),
        ("uk-grain.html", "uk", "відновили відвантаження зерна"),
    ],
)
def test_cyrillic_pages(name: str, language: str, phrase: str) -> None:
    result = extract_article(page(name), f"{BASE}/news/{name}")
    assert result is not None
    assert phrase in result["text"]
    assert result["language"] == language
    group = group_for(language)
    assert result["text_stems"] == (group, stem_text(result["text"], group))


def test_a_date_with_a_zone_a_headline_and_an_agency_byline() -> None:
    result = extract_article(page("en-zoned-agency.html"), f"{BASE}/news/en-zoned-agency.html")
    assert result is not None
    assert result["date"] == "2024-03-05T05:30:00Z"  # 10:30 at UTC+5 (JSON-LD)
    assert result["modified"] == "2024-03-05T07:05:00Z"
    assert result["title"] == "Caspian ferry line to Baku reopens after storm damage"
    assert result["site_name"] == "Steppe Courier"
    assert result["author"] == "Dana Serikova"  # a person (JSON-LD Person)
    assert result["credits"] == "Reuters"  # an organisation (JSON-LD Organization)
    # the headline, shown above the text, is not its first line
    assert result["text"].startswith("AKTAU, March 5 - The ferry line")
    assert result["text"].endswith("could no longer close the whole crossing.")
    assert "Most read" not in result["text"]


def test_a_date_without_a_zone_and_a_russian_agency_byline() -> None:
    result = extract_article(page("ru-local-time.html"), f"{BASE}/news/ru-local-time.html")
    assert result is not None
    assert result["date"] == "2024-03-05T14:20:00"  # the page's local time, no zone invented
    assert result["modified"] is None
    assert result["title"] == "В Омске открыли новый мост через Иртыш"
    assert (result["author"], result["credits"]) == ("Иван Петров", "ТАСС")
    assert result["text"].startswith("ОМСК, 5 марта.")
    assert result["language"] == "ru"


def test_a_midnight_date_a_split_body_and_an_agency_alone() -> None:
    result = extract_article(page("uk-midnight-split.html"), f"{BASE}/news/uk-midnight-split.html")
    assert result is not None
    assert result["date"] == "2024-03-05"  # T00:00:00+02:00 is a day, not 22:00 UTC the eve
    assert (result["author"], result["credits"]) == (None, "Укрінформ")
    assert result["title"] == "Львівські трамваї отримають нові вагони"
    text = result["text"]
    # every part of the body, between the ad blocks, and none of the ads
    assert text.startswith("Львівське комунальне підприємство")
    assert "зберегти кілька сотень робочих місць." in text
    assert text.endswith("ще восени.")
    assert "Реклама" not in text and "Знижки" not in text
    assert result["language"] == "uk"


def test_a_teaser_page_keeps_the_body_in_unmarked_divs() -> None:
    result = extract_article(page("kk-teasers.html"), f"{BASE}/news/kk-teasers.html")
    assert result is not None
    text = result["text"]
    assert text.startswith("Алматының Медеу ауданында сейсенбі күні жаңа саябақ ашылды.")
    assert text.endswith("осындай саябақтар салуды жоспарлап отыр.")
    for teaser in ("Астанада қар тазалау", "Шымкентте жаңа мектеп", "Басты бет"):
        assert teaser not in text
    assert result["title"] == "Алматыда жаңа саябақ ашылды"
    assert result["date"] == "2024-03-05"  # JSON-LD gives a day only
    assert result["author"] == "Айгүл Серікова"
    assert result["language"] == "kk"


def test_a_short_wire_item() -> None:
    result = extract_article(page("en-wire-short.html"), f"{BASE}/news/en-wire-short.html")
    assert result is not None
    assert result["text"] == (
        "ALMATY, March 5 (Reuters) - Kazakhstan's central bank raised its base rate by 50 basis "
        "points to 16.75% on Tuesday, citing persistent inflation, and said further increases "
        "were possible."
    )
    assert result["extracted_chars"] >= 200  # with its headline: long enough to keep
    assert result["title"] == "Kazakhstan raises base rate to 16.75%"
    assert result["site_name"] == "news.test"  # not the headline, as trafilatura guessed
    assert (result["author"], result["credits"]) == (None, "REUTERS")
    assert result["date"] == "2024-03-05T09:02:00Z"


def test_metadata_is_kept_when_there_is_no_main_text() -> None:
    result = extract_article(page("en-video-only.html"), f"{BASE}/news/en-video-only.html")
    assert result is not None
    assert result["extracted_chars"] < 200  # no main text: stored as no_text, with its metadata
    assert result["title"] == "Watch: the first ferry leaves Aktau"
    assert result["date"] == "2024-03-05T06:45:00Z"
    assert result["author"] == "Dana Serikova"
