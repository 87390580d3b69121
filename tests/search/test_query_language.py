"""The query language: its syntax, its errors, and FTS5 expressions that cannot be injected."""

from __future__ import annotations

import pytest

from pipeline.exceptions import QueryError
from pipeline.search.query_language import All, Any, Term, compile_query, parse


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
