"""Stemmed search over stored articles: the index and queries against it."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from pipeline.search import index as search_index
from pipeline.search.index import bring_up_to_date, find, index_article
from tests.conftest import add_article


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


def test_latin_names_find_cyrillic_text_and_the_other_way(indexed_db: Database) -> None:
    add_article(indexed_db, 10, "ru", "Визит", "Токаева встретили в Бишкеке.")
    add_article(indexed_db, 11, "uk", "Обстріл", "У Харкові пролунали вибухи.")
    add_article(indexed_db, 12, "en", "Visit", "Tokayev arrived in Bishkek on Monday.")
    assert ids(indexed_db, "Tokayev") == {10, 12}
    assert ids(indexed_db, "Tokaev Bishkek") == {10}  # Tokaev: not the English text's spelling
    assert ids(indexed_db, "Kharkiv") == {11}
    assert ids(indexed_db, "Токаев Бишкек") == {10, 12}
    # A quoted word is matched as written, in its own script only.
    assert ids(indexed_db, '"Tokayev"') == {12}


def test_the_region_s_names_are_found_in_every_case(indexed_db: Database) -> None:
    add_article(indexed_db, 10, "ru", "", "Переговоры в Казахстане.")
    add_article(indexed_db, 11, "ru", "", "Казахстан и Россия.")
    add_article(indexed_db, 12, "kk", "", "Қазақстанда сайлау өтті.")
    assert ids(indexed_db, "Казахстан") == {2, 10, 11}  # 2: Казахстаном
    assert ids(indexed_db, "Қазақстан") == {7, 12}


def test_near_finds_words_close_to_each_other(indexed_db: Database) -> None:
    add_article(indexed_db, 10, "en", "", "Tokayev met the visiting delegation.")
    add_article(indexed_db, 11, "en", "", "Tokayev spoke. " + "Other words here. " * 5 + "A visit.")
    add_article(indexed_db, 12, "ru", "", "Токаев совершит визит в Ташкент.")
    assert ids(indexed_db, "NEAR(Tokayev visit, 3)") == {10}
    assert ids(indexed_db, "NEAR(Tokayev visit)") == {10}
    assert ids(indexed_db, "NEAR(Tokayev visit, 20)") == {10, 11}
    assert ids(indexed_db, "NEAR(Tokayev визит, 3)") == {12}
    assert ids(indexed_db, "NEAR(Tokayev visit, 3) NOT delegation") == set()


def test_results_say_which_forms_matched(indexed_db: Database) -> None:
    add_article(
        indexed_db,
        10,
        "ru",
        "Визит Токаева",
        "Президент Токаев прибыл в Бишкек. Токаеву показали город.",
    )
    (result,) = find(indexed_db, "Tokayev Bishkek")
    assert result["matched"] == ["Tokayev", "Bishkek"]
    assert result["matched_forms"] == ["Токаева", "Токаев", "Бишкек", "Токаеву"]
    assert result["excerpt"] == (
        "Президент **Токаев** прибыл в **Бишкек**. **Токаеву** показали город."
    )


def test_british_and_american_spellings_and_verb_forms_meet(indexed_db: Database) -> None:
    add_article(
        indexed_db, 10, "en", "", "The army mobilized reservists and decided to organize drills."
    )
    assert ids(indexed_db, "mobilisation") == {1, 10}
    assert ids(indexed_db, "decides") == {10}
    assert ids(indexed_db, "organising") == {10}


def test_a_changed_index_definition_queues_every_article_for_the_watchlists(
    indexed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed_db.execute("DELETE FROM watchlist_queue")
    assert bring_up_to_date(indexed_db) == 0  # up to date
    assert indexed_db.execute("SELECT count(*) FROM watchlist_queue").fetchone() == (0,)
    monkeypatch.setattr(search_index, "INDEX_DEFINITION", search_index.INDEX_DEFINITION + 1)
    assert bring_up_to_date(indexed_db) == 7
    queued = [row[0] for row in indexed_db.execute("SELECT article_id FROM watchlist_queue")]
    assert sorted(queued) == [1, 2, 3, 4, 5, 6, 7]
