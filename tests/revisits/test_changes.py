"""The change rule: what is an edit (docs/revisions.md), and the word-level diff."""

from __future__ import annotations

import pytest

from pipeline.revisits.changes import (
    MAX_DIFF_PAIRS,
    compare,
    diff_html,
    normalised_text,
    word_diff,
)

TEXT = (
    "Queues at the Upper Lars crossing grew to 5,000 cars on Sunday.\n"
    "Officials said 1,200 people crossed in the morning."
)


@pytest.mark.parametrize(
    "other",
    [
        TEXT.replace(" ", "  ").replace("\n", "\n\n  "),  # white space
        TEXT + "\n1 234 views",  # a counter
        TEXT + "\nПросмотров: 56",
        "12 comments\n" + TEXT,
        TEXT + "\nUpdated at 12:30, 25 September 2022",  # an updated-at line
        "Обновлено 25.09.2022 14:05\n" + TEXT,
        TEXT + "\nОновлено: 25.09.2022",
        TEXT + "\nЖаңартылды 25.09.2022",
        "25.09.2022 14:05\n" + TEXT,  # a date alone
        TEXT.replace("Queues", "\uff31ueues").replace(" cars", "\u00a0cars"),  # NFKC
    ],
)
def test_noise_is_not_an_edit(other: str) -> None:
    assert not compare("Queues at Upper Lars", TEXT, "Queues at Upper Lars", other).edited


@pytest.mark.parametrize(
    "other",
    [
        TEXT.replace("5,000", "6,000"),  # a figure in a sentence
        TEXT.replace("Sunday", "Monday"),
        TEXT + "\nThe border service denied the reports.",
        TEXT.split("\n")[0],  # a paragraph removed
        TEXT + "\nUpdated figures show the queue has tripled since the weekend began, "
        "officials of the border service told reporters on Monday.",  # a long line counts
    ],
)
def test_a_change_of_substance_is_an_edit(other: str) -> None:
    change = compare("Queues at Upper Lars", TEXT, "Queues at Upper Lars", other)
    assert change.edited and change.text and not change.headline


def test_headlines_are_compared_loosely() -> None:
    assert not compare("Queues at «Upper Lars».", TEXT, 'queues at "Upper Lars"', TEXT).edited
    change = compare("Queues at Upper Lars", TEXT, "Border closed at Upper Lars", TEXT)
    assert change.headline and not change.text


def test_normalised_text_keeps_counts_inside_sentences() -> None:
    assert "5,000 cars" in normalised_text(TEXT + "\n42 views")
    assert "42 views" not in normalised_text(TEXT + "\n42 views")


def test_word_diff_marks_removed_and_added_words() -> None:
    pieces = word_diff("Queues grew on Sunday.", "Queues shrank on Sunday.")
    assert pieces == [
        ("same", "Queues "),
        ("removed", "grew"),
        ("added", "shrank"),
        ("same", " on Sunday."),
    ]


def test_word_diff_matches_words_whatever_the_white_space_between_them() -> None:
    """Words are matched without their white space: a re-wrapped line is no change, and the
    pieces, put together, give the new text (its line breaks included)."""
    old = "Очереди на границе\nвыросли до 5 км.  Власти молчат."
    new = "Очереди на границе выросли\nдо 7 км. Власти молчат."
    pieces = word_diff(old, new)
    assert [op for op, _ in pieces] == ["same", "removed", "added", "same"]
    assert pieces[1:3] == [("removed", "5"), ("added", "7")]
    assert "".join(words for op, words in pieces if op != "removed") == new
    assert "".join(words for op, words in pieces if op != "added").split() == old.split()
    assert word_diff("a b c", "a c") == [("same", "a "), ("removed", "b "), ("same", "c")]
    assert word_diff(None, "new text") == [("added", "new text")]


def test_a_text_too_repetitive_for_words_is_compared_by_lines_then_whole() -> None:
    """One word repeated (a hostile page) would have difflib compare every pair of its
    occurrences: such texts are compared line by line, and without lines, as a whole."""
    line = " ".join(["да"] * 1000)
    assert MAX_DIFF_PAIRS < 3000**2
    lines = f"{line}\n{line}\n{line}\n"
    old, new = lines + "Конец.", lines + "Конец текста."
    assert word_diff(old, new) == [
        ("same", lines),
        ("removed", "Конец."),
        ("added", "Конец текста."),
    ]
    flat_old, flat_new = " ".join([line] * 3), " ".join([line] * 3) + " нет"
    assert word_diff(flat_old, flat_new) == [("removed", flat_old), ("added", flat_new)]
    assert word_diff(flat_old, flat_old.replace(" ", "\n")) == [
        ("same", flat_old.replace(" ", "\n"))
    ]


def test_diff_html_escapes_every_word() -> None:
    html = diff_html("a <b>bold</b> claim\nend", "a <script>alert(1)</script> claim\nend")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<del>&lt;b&gt;bold&lt;/b&gt;</del>" in html
    assert "<br>" in html
