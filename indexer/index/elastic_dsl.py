"""The query tree compiled to Elasticsearch Query DSL dicts, and the index template/mapping.

User text only ever lands in term/wildcard/fuzzy/match_phrase values (never in query_string),
so nothing typed can change the structure of the query.
"""

from __future__ import annotations

from typing import Any

from disclose.query.folding import stem
from disclose.query.nodes import (
    TEXT,
    And,
    DateRange,
    Fuzzy,
    Keyword,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Stem,
    Wildcard,
    Word,
)

KEYWORD_INDEX_FIELDS = {"kind": "kind", "source": "source_kind", "thread": "thread_id", "lang": "lang"}
TEXT_INDEX_FIELDS = ("text", "title", "subject", "filename", "from", "to", "cc", "bcc", "participant", "custodian")
WIDE_SLOP = 10_000  # AND inside W/ or PRE/: every part somewhere in the same text

Dsl = dict[str, Any]


def index_settings() -> Dsl:
    """Analysis that splits and folds exactly as the query folding does (and as the tantivy backend does)."""
    return {
        "number_of_shards": 1,
        "analysis": {
            "tokenizer": {"letters_digits": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
            "filter": {"english_snowball": {"type": "snowball", "language": "English"}},
            "normalizer": {"folded_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
            "analyzer": {
                "folded": {"type": "custom", "tokenizer": "letters_digits", "filter": ["lowercase", "asciifolding"]},
                "stemmed": {"type": "custom", "tokenizer": "letters_digits", "filter": ["lowercase", "asciifolding", "english_snowball"]},
            },
        },
    }


def index_mappings() -> Dsl:
    folded = {"type": "text", "analyzer": "folded"}
    properties: Dsl = {name: dict(folded) for name in TEXT_INDEX_FIELDS}
    properties["text"] = {"type": "text", "analyzer": "folded", "fields": {"stem": {"type": "text", "analyzer": "stemmed"}}}
    properties["body"] = {"type": "text", "index": False}
    for name in ("id", "family_id", "parent_id", "content_hash", "custodian_facet", "sender_facet", "month"):
        properties[name] = {"type": "keyword"}
    for name in ("kind", "source_kind", "thread_id", "lang"):
        properties[name] = {"type": "keyword", "normalizer": "folded_keyword"}
    properties["date"] = {"type": "date"}
    properties["is_duplicate"] = {"type": "boolean"}
    properties["has_attachment"] = {"type": "boolean"}
    return {"dynamic": "strict", "properties": properties}


def index_template(pattern: str) -> Dsl:
    return {"index_patterns": [pattern], "template": {"settings": index_settings(), "mappings": index_mappings()}, "priority": 100}


def _field(node: Node) -> str:
    return getattr(node, "field", TEXT)


def compile_query(node: Node) -> Dsl:
    if isinstance(node, (Word, Phrase)):
        if not node.terms:
            return {"match_none": {}}
        if len(node.terms) == 1:
            return {"term": {node.field: node.terms[0]}}
        return {"match_phrase": {node.field: {"query": " ".join(node.terms), "analyzer": "folded"}}}
    if isinstance(node, Wildcard):
        return {"wildcard": {node.field: {"value": node.pattern}}}
    if isinstance(node, Fuzzy):
        return {"fuzzy": {node.field: {"value": node.term, "fuzziness": node.distance, "transpositions": True}}}
    if isinstance(node, Stem):
        if node.field == TEXT:
            return {"term": {"text.stem": stem(node.term)}}
        return {"term": {node.field: node.term}}
    if isinstance(node, Keyword):
        if node.field == "has":
            return {"term": {"has_attachment": True}}
        return {"term": {KEYWORD_INDEX_FIELDS[node.field]: node.value}}
    if isinstance(node, DateRange):
        bounds: Dsl = {}
        if node.start is not None:
            bounds["gte"] = node.start.isoformat()
        if node.end is not None:
            bounds["lt"] = node.end.isoformat()
        return {"range": {"date": bounds}}
    if isinstance(node, And):
        must = [compile_query(c) for c in node.children if not isinstance(c, Not)]
        must_not = [compile_query(c.child) for c in node.children if isinstance(c, Not)]
        body: Dsl = {}
        if must:
            body["must"] = must
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_query(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_query(node.child)]}}
    if isinstance(node, Near):
        return compile_span(node)
    raise TypeError(f"cannot compile {node!r}")


def compile_span(node: Node) -> Dsl:
    """A span query over `text`: positions, so W/N and PRE/N are exact."""
    if isinstance(node, (Word, Phrase)):
        if len(node.terms) == 1:
            return {"span_term": {TEXT: node.terms[0]}}
        return {"span_near": {"clauses": [{"span_term": {TEXT: t}} for t in node.terms], "slop": 0, "in_order": True}}
    if isinstance(node, Wildcard):
        return {"span_multi": {"match": {"wildcard": {TEXT: {"value": node.pattern}}}}}
    if isinstance(node, Fuzzy):
        return {"span_multi": {"match": {"fuzzy": {TEXT: {"value": node.term, "fuzziness": node.distance, "transpositions": True}}}}}
    if isinstance(node, Stem):
        return {"field_masking_span": {"query": {"span_term": {"text.stem": stem(node.term)}}, "field": TEXT}}
    if isinstance(node, Or):
        return {"span_or": {"clauses": [compile_span(c) for c in node.children]}}
    if isinstance(node, And):
        return {"span_near": {"clauses": [compile_span(c) for c in node.children], "slop": WIDE_SLOP, "in_order": False}}
    if isinstance(node, Near):
        # Lucene's slop counts the words between the two spans: "within N" allows N-1 between. Unordered
        # spans may overlap, so one occurrence of a word would be "near itself"; ordered ones may not.
        in_order = node.ordered or node.left == node.right
        return {"span_near": {"clauses": [compile_span(node.left), compile_span(node.right)], "slop": node.distance - 1, "in_order": in_order}}
    raise TypeError(f"{node!r} cannot be used inside W/ or PRE/")


def with_duplicates_hidden(query: Dsl, include_duplicates: bool) -> Dsl:
    if include_duplicates:
        return query
    return {"bool": {"must": [query], "must_not": [{"term": {"is_duplicate": True}}]}}


def facet_aggregations(size: int) -> Dsl:
    return {
        "custodian": {"terms": {"field": "custodian_facet", "size": size}},
        "kind": {"terms": {"field": "kind", "size": size}},
        "source": {"terms": {"field": "source_kind", "size": size}},
        "sender": {"terms": {"field": "sender_facet", "size": size}},
        "month": {"terms": {"field": "month", "size": 1000}},
    }
