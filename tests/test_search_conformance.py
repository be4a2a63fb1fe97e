"""The conformance table on every backend: tantivy always, a real Elasticsearch when DISCLOSE_ES_URL is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from disclose.query import parse
from indexer.index.base import SearchRequest
from indexer.index.tantivy_backend import TantivyIndex
from search_conformance import CASES, corpus

ES_URL = os.environ.get("DISCLOSE_ES_URL", "")


@pytest.fixture(scope="module")
def tantivy_index(tmp_path_factory: pytest.TempPathFactory) -> TantivyIndex:
    index = TantivyIndex(Path(tmp_path_factory.mktemp("conformance")))
    index.upsert(corpus())
    index.commit()
    return index


@pytest.fixture(scope="module")
def elastic_index():  # type: ignore[no-untyped-def]
    from indexer.index.elastic_backend import ElasticIndex

    index = ElasticIndex(ES_URL, name=f"disclose-conformance-{uuid.uuid4().hex[:8]}")
    index.upsert(corpus())
    index.commit()
    yield index
    index.drop()
    index.close()


def _check(index, query: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    page = index.search(SearchRequest(parse(query), limit=100, facets=False))
    assert {hit.id for hit in page.hits} == expected, query
    assert page.total == len(expected), query
    assert set(index.matching_ids(parse(query), include_duplicates=False)) == expected, query


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_tantivy_conformance(tantivy_index: TantivyIndex, query: str, expected: set[str]) -> None:
    _check(tantivy_index, query, expected)


@pytest.mark.skipif(not ES_URL, reason="set DISCLOSE_ES_URL to run against a real Elasticsearch (see README: Search)")
@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_elasticsearch_conformance(elastic_index, query: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    _check(elastic_index, query, expected)


def test_duplicates_hidden_by_default_and_counted(tantivy_index: TantivyIndex) -> None:
    page = tantivy_index.search(SearchRequest(parse("committee"), limit=10))
    assert [h.id for h in page.hits] == ["f01"]
    assert page.duplicates_hidden == 1
    shown = tantivy_index.search(SearchRequest(parse("committee"), limit=10, include_duplicates=True))
    assert {h.id for h in shown.hits} == {"f01", "f02"} and shown.unique == 1


def test_deep_pagination_cursor_walks_every_hit_once(tantivy_index: TantivyIndex) -> None:
    for sort in ("relevance", "date"):
        seen: list[str] = []
        cursor = None
        while True:
            page = tantivy_index.search(SearchRequest(parse("NOT zzz"), limit=3, cursor=cursor, sort=sort))  # type: ignore[arg-type]
            seen.extend(h.id for h in page.hits)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 9


def test_date_sort_is_newest_first(tantivy_index: TantivyIndex) -> None:
    page = tantivy_index.search(SearchRequest(parse("housing"), limit=10, sort="date"))
    dates = [h.date for h in page.hits]
    assert dates == sorted(dates, reverse=True)


def test_facets_count_custodians_kinds_sources_senders_and_months(tantivy_index: TantivyIndex) -> None:
    facets = tantivy_index.search(SearchRequest(parse("housing"), limit=1)).facets
    assert facets is not None
    assert {b.value: b.count for b in facets.custodian} == {"Alice Smith": 3, "Bob Jones": 2}
    assert {b.value: b.count for b in facets.kind} == {"email": 3, "attachment": 1, "file": 1}
    assert {b.value: b.count for b in facets.source} == {"imap": 4, "file": 1}
    assert {b.value: b.count for b in facets.sender} == {"bob.jones@council.gov.uk": 2, "alice@council.gov.uk": 1}
    assert [(b.value, b.count) for b in facets.month] == [("2020-12", 1), ("2021-03", 4)]
    assert [(b.value, b.count) for b in facets.year] == [("2020", 1), ("2021", 4)]
