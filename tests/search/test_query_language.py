"""The query language: its syntax, its errors, and FTS5 expressions that cannot be injected."""

from __future__ import annotations

import pytest

from pipeline.exceptions import QueryError
from pipeline.search.query_language import (
    All,
    Any,
    Near,
    Term,
    compile_query,
    matched_terms,
    parse,
    to_fts,
)


def test_query_syntax() -> None:
    assert parse("border crossing") == All((Term(("border",), text="border"),
                                            Term(("crossing",), text="crossing")))  # fmt: skip
    node = parse('mobilisation AND (Kazakhstan OR "Верхний Ларс")')
    assert isinstance(node, All)
    assert isinstance(node.include[1], Any)
    assert node.include[1].options[1] == Term(("верхний", "ларс"), text="Верхний Ларс", exact=True)
    negated = parse("border NOT football")
    assert isinstance(negated, All)
    assert negated.exclude == (Term(("football",), text="football"),)
    assert parse("mobili*") == Term(("mobili",), prefix=True, text="mobili*")
    assert parse("COVID-19") == Term(("covid", "19"), text="COVID-19")  # a phrase
    assert parse('NEAR(Tokayev "state visit", 5)') == Near(
        (
            Term(("tokayev",), text="Tokayev"),
            Term(("state", "visit"), text="state visit", exact=True),
        ),
        5,
    )
    assert parse("NEAR(border queue)") == Near(
        (Term(("border",), text="border"), Term(("queue",), text="queue")), 10
    )
    near_or = parse("NEAR(a b, 3) OR c")
    assert isinstance(near_or, Any)
    assert isinstance(near_or.options[0], Near)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "(border", "border)", "NOT border", "border OR", "OR border", "—", "()",
     "NEAR(border)", "NEAR(border, 5)", "NEAR()"],
)  # fmt: skip
def test_bad_queries_are_refused_with_a_reason(query: str) -> None:
    with pytest.raises(QueryError, match="query"):
        parse(query)


@pytest.mark.parametrize("query", ["", "   ", '"', "*", "-", "...", "—"])
def test_a_query_without_words_says_so(query: str) -> None:
    with pytest.raises(QueryError, match="no words to search for"):
        parse(query)


def test_fts_syntax_cannot_be_injected() -> None:
    # Words are always quoted; column filters, FTS5 operators and stray quotes are text.
    expression = compile_query('title: a* OR b^ "unclosed', ("english",))
    assert expression == (
        '(stemmer : (english) AND {title text} : (("titl" AND "a") OR ("b" AND "unclos")))'
    )
    # Inside NEAR too: its words are quoted, its distance is a number.
    near = compile_query('NEAR(title: "x" OR y, 5)', ("english",))
    assert near == '(stemmer : (english) AND {title text} : NEAR("titl" "x" "or" "y", 5))'
    with pytest.raises(QueryError):
        parse("NEAR(a b, 5) NEAR(c")


def test_a_word_is_any_of_its_stems_and_spellings() -> None:
    # Latin letters in a Russian article: the Cyrillic spellings of the word, stemmed.
    russian = to_fts(parse("Tokayev"), "russian")
    assert russian.startswith('("tokayev" OR "тока"')
    assert to_fts(parse("Tokayev"), "english") == '"tokayev"'
    # A phrase and a prefix are matched as written: no other spellings.
    assert to_fts(parse('"Tokayev"'), "russian") == '"tokayev"'
    assert to_fts(parse("Tokay*"), "russian") == '"tokay" *'


def test_near_with_several_stems_is_one_near_per_combination() -> None:
    expression = to_fts(parse("NEAR(Bishkek protest, 4)"), "russian")
    assert 'NEAR("bishkek" "protest", 4)' in expression
    assert 'NEAR("бишкек" "протест", 4)' in expression  # both words in Cyrillic
    assert to_fts(parse("NEAR(border queue, 4)"), "english") == 'NEAR("border" "queue", 4)'


def test_matched_terms_name_the_terms_as_written() -> None:
    node = parse("Tokayev OR Japarov OR Putin")
    stems = ["президент", "тока", "провел", "встречу"]
    assert matched_terms(node, "russian", stems) == ["Tokayev"]
