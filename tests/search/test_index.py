"""Stemming, the query language, and stemmed search over stored articles."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from pipeline.exceptions import QueryError
from pipeline.search.index import find, index_article
from pipeline.search.query_language import All, Any, Term, compile_query, parse
from pipeline.text.stemming import group_for, stem, stem_text, stem_ukrainian
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
    ],
)
def test_inflected_forms_share_a_stem(group: str, forms: str) -> None:
    stems = {stem(word, group) for word in search_tokens(forms)}
    assert len(stems) == 1, stems


def test_different_words_keep_different_stems() -> None:
    assert stem("border", "english") != stem("board", "english")
    # English keeps to inflection: derived words stay apart.
    assert stem("election", "english") != stem("elect", "english")
    assert stem("government", "english") != stem("governing", "english")
    assert stem("граница", "russian") != stem("гражданин", "russian")
    assert stem_ukrainian("кордон") != stem_ukrainian("корова")


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
    assert group_for("kk") == "other"
    assert group_for(None) == "other"


def test_query_syntax() -> None:
    assert parse("border crossing") == All((Term(("border",), text="border"),
                                            Term(("crossing",), text="crossing")))  # fmt: skip
    node = parse('mobilisation AND (Kazakhstan OR "Верхний Ларс")')
    assert isinstance(node, All)
    assert isinstance(node.include[1], Any)
    assert node.include[1].options[1] == Term(("верхний", "ларс"), text="Верхний Ларс")
    negated = parse("border NOT football")
    assert isinstance(negated, All)
    assert negated.exclude == (Term(("football",), text="football"),)
    assert parse("mobili*") == Term(("mobili",), prefix=True, text="mobili*")
    assert parse("COVID-19") == Term(("covid", "19"), text="COVID-19")  # a phrase


@pytest.mark.parametrize(
    "query", ["", "   ", "(border", "border)", "NOT border", "border OR", "OR border", "—", "()"]
)
def test_bad_queries_are_refused_with_a_reason(query: str) -> None:
    with pytest.raises(QueryError, match="query"):
        parse(query)


def test_fts_syntax_cannot_be_injected() -> None:
    # Words are always quoted; column filters, NEAR and stray quotes in the input are text.
    expression = compile_query('title: NEAR(a b) "unclosed', ("english",))
    assert "NEAR(" not in expression.replace('"near"', "")
    assert expression.count('"') % 2 == 0


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


def test_text_as_stems() -> None:
    assert stem_text("Borders, borders!", "english") == "border border"


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
