"""The Elasticsearch side checked without a server: compiled Query DSL and index template as golden files,
and the real client's bulk-with-retries and point-in-time paging against a fake built from the documented API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from disclose.query import parse
from indexer.index.base import SearchRequest
from indexer.index.elastic_backend import ElasticIndex
from indexer.index.elastic_dsl import compile_query, index_template
from search_conformance import CASES, corpus

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DISCLOSE_UPDATE_GOLDEN") == "1"  # regenerate after a deliberate change, then review the diff


def _golden(name: str, actual: object) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(actual)), f"{name} differs"


def test_compiled_dsl_of_every_conformance_query_matches_golden() -> None:
    _golden("es_queries.json", {query: compile_query(parse(query)) for query, _ in CASES})


def test_index_template_and_mapping_match_golden() -> None:
    _golden("es_mapping.json", index_template("disclose-items-v*"))


def test_search_body_uses_spans_highlight_facets_and_pit_sort() -> None:
    from elasticsearch import Elasticsearch

    index = ElasticIndex.__new__(ElasticIndex)  # build the body without contacting a cluster
    index.client = Elasticsearch("http://127.0.0.1:9")
    body = index.search_body(SearchRequest(parse('"rent arrears" PRE/4 benefit date>=2021-01-01'), limit=50, sort="date"))
    _golden("es_search_body.json", body)
    near = body["query"]["bool"]["must"][0]["bool"]["must"][0]
    assert near["span_near"]["in_order"] is True and near["span_near"]["slop"] == 3
    assert body["query"]["bool"]["must_not"] == [{"term": {"is_duplicate": True}}]


def test_user_text_never_reaches_query_string() -> None:
    for query, _ in CASES:
        assert "query_string" not in json.dumps(compile_query(parse(query)))


@pytest.fixture
def fake_es():  # type: ignore[no-untyped-def]
    from fakes.es_fake import FakeElasticsearch

    server = FakeElasticsearch(reject_first_bulk_items=3)
    server.start()
    yield server
    server.stop()


def test_bulk_retries_rejected_items_and_pit_paging_reaches_every_id(fake_es) -> None:  # type: ignore[no-untyped-def]
    import indexer.index.elastic_backend as backend

    index = ElasticIndex(fake_es.url, initial_backoff=0.01)
    assert fake_es.templates["disclose-items"]["index_patterns"] == ["disclose-items-v*"]
    assert fake_es.aliases == {"disclose-items": "disclose-items-v1"}
    index.upsert(corpus())
    index.commit()
    assert fake_es.bulk_rejections == 3  # 429s were returned, and retried
    assert index.failed == [] and index.count() == len(corpus())
    old_page = backend.SCAN_PAGE
    backend.SCAN_PAGE = 3  # several pages, so search_after is exercised
    try:
        ids = index.matching_ids(parse("NOT zzzz"))
        housing = index.matching_ids(parse("housing"))
    finally:
        backend.SCAN_PAGE = old_page
    assert sorted(ids) == sorted(item.id for item in corpus())
    assert sorted(housing) == ["a01", "e01", "e02", "e04", "f01", "f02"]
    assert fake_es.open_pits == 0 and fake_es.pits_opened >= 1
    assert index.reindex_to_new_version() == "disclose-items-v2"
    assert fake_es.aliases == {"disclose-items": "disclose-items-v2"} and index.count() == len(corpus())
