"""Article extraction (the worker function) on fixture pages: body, metadata, Cyrillic pages, dates."""

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
    assert result["date"] == "2022-09-25"
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
