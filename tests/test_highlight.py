"""The highlighter marks every word that made an item match, in an escaped snippet, with offsets."""

from __future__ import annotations

from disclose.query import parse
from search_api.highlight import highlight

TEXT = "The Housing budget was <discussed>. Managers managed the hosuing contract; the women agreed to contracts at the Café."


def marked(query: str) -> list[str]:
    result = highlight(parse(query), TEXT)
    return [TEXT[start:end] for start, end in result.matches]


def test_plain_words_ignore_case_and_accents() -> None:
    assert marked("housing cafe") == ["Housing", "Café"]


def test_fuzzy_wildcard_and_stemmed_matches_are_marked() -> None:
    assert marked("housing~1") == ["Housing", "hosuing"]
    assert marked("contract*") == ["contract", "contracts"]
    assert marked("wom?n") == ["women"]
    assert marked("manage~stem") == ["Managers", "managed"]


def test_proximity_marks_only_words_that_are_near_each_other() -> None:
    assert marked("housing W/2 budget") == ["Housing", "budget"]
    assert marked('"the women" PRE/3 contracts') == ["the", "women", "contracts"]
    assert marked("contracts PRE/3 women") == []


def test_words_under_not_are_not_marked() -> None:
    assert marked("budget NOT housing") == ["budget"]


def test_snippet_is_escaped_html_with_marks() -> None:
    snippet = highlight(parse("discussed"), TEXT).snippet
    assert "&lt;<mark>discussed</mark>&gt;" in snippet
    assert "<discussed>" not in snippet


def test_snippet_is_centred_on_matches_in_long_text() -> None:
    text = "filler " * 200 + "the rent arrears figure" + " filler" * 200
    result = highlight(parse('"rent arrears"'), text)
    assert "<mark>rent</mark> <mark>arrears</mark>" in result.snippet
    assert result.snippet.startswith("…") and result.snippet.endswith("…")
    assert len(result.snippet) < 400


def test_regex_highlighting_agrees_with_the_token_path_on_random_texts() -> None:
    # Queries without W/ or PRE/ are highlighted by a few regex scans over ASCII text; the token-and-span
    # path is the reference. Random texts from a tiny vocabulary make repeated, adjacent and punctuated words common.
    import random

    from disclose.query.matcher import Matcher

    rng = random.Random(5)
    vocabulary = ["rent", "arrears", "tenant", "tenants", "tenent", "a", "managed", "manager", "o", "brien", "rent2", "x_y"]
    separators = [" ", " ", " ", ", ", ". ", "-", "'", "\n", " (", ") ", "_"]
    queries = [
        "rent", "rent arrears", '"rent arrears"', '"a a"', '"rent rent arrears"', "tenant~1", "tenent~2", "ten*",
        "t?nant", "manage~stem", "o'brien", '"o\'brien" rent', "rent OR (tenant~1 AND NOT arrears)",
        '"arrears rent" OR arrears*', 'subject:rent arrears', "rent2 x", "kind:email tenant", "NOT rent",
    ]
    for _ in range(300):
        text = "".join(rng.choice(vocabulary).capitalize() * rng.randint(0, 1) + rng.choice(vocabulary) + rng.choice(separators) for _ in range(rng.randint(1, 25)))
        for query in queries:
            matcher = Matcher(parse(query))
            assert matcher.text_matches(text) == matcher.token_matches(text), (query, text)
