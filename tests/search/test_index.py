"""Stemmed search over stored articles: the index and queries against it."""

from __future__ import annotations

from sqlite_utils import Database

from pipeline.search.index import find, index_article


def ids(db: Database, query: str, **kwargs: object) -> set[int]:
    return {row["id"] for row in find(db, query, **kwargs)}  # type: ignore[arg-type]


def test_search_finds_inflected_forms_in_each_language(indexed_db: Database) -> None:
    assert ids(indexed_db, "borders") == {1, 4}
    assert ids(indexed_db, "граница") == {2}
    assert ids(indexed_db, "мобилизация") == {2, 7}  # Kazakh article: the Russian word, unstemmed
    assert ids(indexed_db, "порт") == {3}
    assert ids(indexed_db, "mobilisation") == {1}
    assert ids(indexed_db, "board") == {5}


def test_search_booleans_phrases_and_prefixes(indexed_db: Database) -> None:
    assert ids(indexed_db, "border NOT football") == {1}
    assert ids(indexed_db, "border AND (Kazakh OR derby)") == {1, 4}
    assert ids(indexed_db, '"верхний ларс"') == {6}
    assert ids(indexed_db, '"ларс верхний"') == set()
    assert ids(indexed_db, '"пункт пропуска"') == {6}  # пункте пропуска, inflected
    assert ids(indexed_db, "board*") == {5}
    assert ids(indexed_db, "nato") == {2}


def test_search_filters_and_results(indexed_db: Database) -> None:
    assert ids(indexed_db, "border OR граница", languages=["ru"]) == {2}
    assert ids(indexed_db, "border", article_ids=[4, 5]) == {4}
    results = find(indexed_db, "border")
    assert results[0]["id"] == 4  # in the title and twice in the text
    assert results[0]["matched"] == ["border"]
    assert "border" in results[0]["excerpt"]
    both = find(indexed_db, "Kazakh OR мобилизация")
    assert {tuple(r["matched"]) for r in both} == {("Kazakh",), ("мобилизация",)}


def test_stems_made_by_the_worker_are_used_if_the_language_is_the_same(
    indexed_db: Database,
) -> None:
    text = "Очереди на границах выросли"
    made = ("russian", "ворчер")  # not the text's stems: shows which were indexed
    index_article(indexed_db, 1, "Queues", text, "ru", made)
    assert ids(indexed_db, "ворчер") == {1}
    assert ids(indexed_db, "границы") == {2}
    # The store settled on another language (the feed's): the text is stemmed for that one.
    index_article(indexed_db, 1, "Queues", text, "en", made)
    assert ids(indexed_db, "ворчер") == set()
    assert ids(indexed_db, "границы") == {1, 2}
