"""Language identification of article texts (CLD2)."""

from __future__ import annotations

import pytest

from pipeline.text.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Мужчины призывного возраста пытаются выехать из страны.", "ru"),
        ("Қазақстан шекарасында кезек ұзарды. Ресейден келгендер саны өсті.", "kk"),
        ("Одеські порти відновили відвантаження зерна.", "uk"),
        ("Queues grow at the Kazakh border\x03 as men leave\ufffe Russia.\ud800", "en"),
        ("בירושלים נפתח היום כנס בינלאומי על מים", "he"),  # CLD2 says "iw"
        ("12345 — 67 890", None),
        ("", None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language
