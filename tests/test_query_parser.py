"""The query language parser: what users type becomes a tree of folded words, or an error naming the position."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from disclose.query import And, DateRange, Fuzzy, Keyword, Near, Not, Or, Phrase, QuerySyntaxError, Stem, Wildcard, Word, parse


def test_words_are_folded_and_implicitly_anded() -> None:
    assert parse("Housing CAFÉ") == And((Word(("housing",)), Word(("cafe",))))


def test_operators_precedence_and_groups() -> None:
    assert parse("a OR b c") == Or((Word(("a",)), And((Word(("b",)), Word(("c",))))))
    assert parse("(a OR b) AND NOT c") == And((Or((Word(("a",)), Word(("b",)))), Not(Word(("c",)))))
    # lower-case and/or/not are words, so they stay searchable
    assert parse("salt and pepper") == And((Word(("salt",)), Word(("and",)), Word(("pepper",))))


def test_phrases_proximity_wildcards_fuzzy_stem() -> None:
    assert parse('"Rent  Arrears"') == Phrase(("rent", "arrears"))
    assert parse('"rent arrears" W/5 (cap OR hurt*)') == Near(
        Phrase(("rent", "arrears")), Or((Word(("cap",)), Wildcard("hurt*"))), 5, ordered=False
    )
    assert parse("a pre/3 b") == Near(Word(("a",)), Word(("b",)), 3, ordered=True)
    assert parse("wom?n") == Wildcard("wom?n")
    assert parse("housing~2") == Fuzzy("housing", 2)
    assert parse("housing~") == Fuzzy("housing", 1)
    assert parse("manage~stem") == Stem("manage")


def test_fields_and_dates() -> None:
    assert parse('custodian:"Jane Doe"') == Phrase(("jane", "doe"), "custodian")
    assert parse("subject:(budget OR cuts)") == Or((Word(("budget",), "subject"), Word(("cuts",), "subject")))
    assert parse("from: jane") == Word(("jane",), "from")
    assert parse("has:attachment") == Keyword("has", "attachment")
    assert parse("kind:EMAIL") == Keyword("kind", "email")
    day = lambda d: datetime(2021, 3, d, tzinfo=timezone.utc)  # noqa: E731
    assert parse("date:2021-03-01..2021-03-30") == DateRange(day(1), day(31))
    assert parse("date>=2021-03-01") == DateRange(day(1), None)
    assert parse("date>2021-03-01") == DateRange(day(2), None)
    assert parse("date<=2021-03-01") == DateRange(None, day(2))
    assert parse("date<2021-03-01") == DateRange(None, day(1))


@pytest.mark.parametrize(
    ("query", "position", "expected_words"),
    [
        ("a AND (b", 8, "expected )"),
        ("a AND", 5, "after AND"),
        ("OR a", 0, "before OR"),
        ("a)", 1, "no ("),
        ('say "hello', 10, 'closing "'),
        ("a W/0 b", 2, "distance"),
        ("a W/5", 5, "after W/5"),
        ("date>=2021-02-30", 6, "date like"),
        ("kind:memo", 5, "expected one of"),
        ("has:pictures", 4, "has:attachment"),
        ("housing~9", 8, "~1, ~2 or ~stem"),
        ("subject:x W/3 y", 10, "not on fields"),
        ("a W/3 NOT b", 6, "after W/3"),
        ("", 0, "empty"),
    ],
)
def test_errors_name_position_and_what_was_expected(query: str, position: int, expected_words: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.position == position
    assert expected_words in caught.value.message


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("*:*", Word(())),  # matches nothing rather than everything
        ("text:foo^10", Phrase(("text", "foo", "10"))),
        ("id:[a TO z]", And((Phrase(("id", "a")), Word(("to",)), Word(("z",))))),
        ("title:x OR 1=1; DROP TABLE items", Or((Word(("x",), "title"), And((Phrase(("1", "1")), Word(("drop",)), Word(("table",)), Word(("items",))))))),
        ('{"match_all": {}}', Phrase(("match", "all"))),
        ("foo\\ bar", And((Word(("foo",)), Word(("bar",))))),
    ],
)
def test_backend_syntax_is_literal_text(query: str, tree: object) -> None:
    assert parse(query) == tree


def test_unterminated_quote_injection_is_an_error_not_a_query() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse('"); DROP')
    assert caught.value.position == len('"); DROP')
