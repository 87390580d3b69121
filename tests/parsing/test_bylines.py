"""Bylines: people's names apart from credits (agencies, desks, the publication itself)."""

from __future__ import annotations

import pytest

from pipeline.parsing.bylines import join_names, split_byline


@pytest.mark.parametrize(
    ("byline", "people", "credits"),
    [
        ("Von Anna Müller, dpa", ["Anna Müller"], ["dpa"]),
        ("By REUTERS", [], ["REUTERS"]),
        ("Иван Петров, ТАСС", ["Иван Петров"], ["ТАСС"]),
        (
            "Мария Сидорова и Олег Ким / РИА Новости",
            ["Мария Сидорова", "Олег Ким"],
            ["РИА Новости"],
        ),
        ("Укрінформ", [], ["Укрінформ"]),
        ("Автор: Олена Коваль, Інтерфакс-Україна", ["Олена Коваль"], ["Інтерфакс-Україна"]),
        ("Айгүл Серікова, Kazinform", ["Айгүл Серікова"], ["Kazinform"]),
        ("Interfax", [], ["Interfax"]),
        ("AFP and AP", [], ["AFP", "AP"]),
        (
            "LISA MASCARO and ERIC TUCKER Associated Press",
            ["Lisa Mascaro", "Eric Tucker"],
            ["Associated Press"],
        ),
        ("Paul Takahashi; Staff writer", ["Paul Takahashi"], []),  # a job title is neither
        ("Ursula von der Leyen", ["Ursula von der Leyen"], []),
        ("jdadmin", [], []),  # a user name
        ("The Russian and Syrian defense ministries", [], []),
        ("Редакция сайта", [], ["Редакция сайта"]),
        ("Ann Lee (ann@example.com)", ["Ann Lee"], []),
    ],
)
def test_split_byline(byline: str, people: list[str], credits: list[str]) -> None:
    assert split_byline(byline) == (people, credits)


def test_the_sites_own_name_is_a_credit() -> None:
    assert split_byline("Jill Disis, CNN Business", site_names=("CNN",)) == (
        ["Jill Disis"],
        ["CNN Business"],
    )
    assert split_byline("Steppe Courier", site_names=("Steppe Courier",)) == (
        [],
        ["Steppe Courier"],
    )
    assert split_byline("Novaya Liniya", organisations=("Novaya Liniya",)) == (
        [],
        ["Novaya Liniya"],
    )


def test_join_names() -> None:
    assert join_names(["Anna Müller", "Ivan Petrov"]) == "Anna Müller; Ivan Petrov"
    assert join_names([]) is None
