"""The scale search index: Elasticsearch through the official client.

An index template carries the analysis and mapping; items live in a versioned index behind an alias
(`<name>`), so a reindex builds `<name>-v<N+1>` and swaps the alias in one step. Bulk indexing
retries rejected (429) chunks with back-off. Pages use a point in time with `search_after`, so deep
pagination is stable while the index changes underneath.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from elasticsearch import Elasticsearch, helpers

from disclose.items import Item
from disclose.query.nodes import Node
from indexer.index.base import (
    FACET_SIZE,
    FacetBucket,
    Facets,
    IndexHit,
    IndexPage,
    QueryStats,
    SearchRequest,
    decode_cursor,
    encode_cursor,
    query_fingerprint,
)
from indexer.index.documents import IndexDocument, document_for
from indexer.index.elastic_dsl import compile_query, facet_aggregations, index_template, with_duplicates_hidden

DEFAULT_NAME = "disclose-items"
PIT_KEEP_ALIVE = "5m"
SCAN_PAGE = 5_000
FAMILY_CHUNK = 10_000
CARDINALITY_PRECISION = 40_000  # exact below this many distinct families


def es_source(doc: IndexDocument) -> dict[str, Any]:
    """The _source of one item, shaped by the index mapping."""
    return {
        "id": doc.id,
        "kind": doc.kind,
        "family_id": doc.family_id,
        "parent_id": doc.parent_id,
        "thread_id": doc.thread_id.lower(),
        "content_hash": doc.content_hash,
        "source_kind": doc.source_kind.lower(),
        "lang": doc.lang.lower(),
        "custodian": doc.custodians,
        "custodian_facet": doc.custodians,
        "sender_facet": doc.sender_label or None,
        "title": doc.title,
        "subject": doc.subject,
        "filename": doc.filename,
        "from": doc.sender,
        "to": doc.to,
        "cc": doc.cc,
        "bcc": doc.bcc,
        "participant": doc.participants,
        "text": [doc.title, doc.text] if doc.title else [doc.text],
        "body": doc.text,
        "date": doc.date.isoformat() if doc.date else None,
        "month": doc.date.strftime("%Y-%m") if doc.date else None,
        "is_duplicate": doc.is_duplicate,
        "has_attachment": doc.has_attachment,
    }


def _hit(source: dict[str, Any], score: float | None) -> IndexHit:
    date = source.get("date")
    return IndexHit(
        id=source["id"], kind=source.get("kind", ""), title=source.get("title", ""),
        custodians=list(source.get("custodian_facet") or []),
        date=datetime.fromisoformat(date) if date else None, family_id=source.get("family_id", ""),
        text=source.get("body", ""), score=score, is_duplicate=bool(source.get("is_duplicate")),
        filename=source.get("filename", ""), sender=list(source.get("from") or []),
    )


class ElasticIndex:
    def __init__(self, url: str, *, name: str = DEFAULT_NAME, client: Elasticsearch | None = None,
                 max_retries: int = 5, initial_backoff: float = 1.0) -> None:
        self.client = client or Elasticsearch(url, request_timeout=60, retry_on_timeout=True, max_retries=3)
        self.name = name
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.failed: list[dict[str, Any]] = []  # bulk items rejected for good, kept for the exceptions report
        self._ensure()

    # --- index lifecycle -------------------------------------------------------------------

    def _ensure(self) -> None:
        self.client.indices.put_index_template(name=self.name, **index_template(f"{self.name}-v*"))
        if not self.client.indices.exists_alias(name=self.name):
            first = f"{self.name}-v1"
            if not self.client.indices.exists(index=first):
                self.client.indices.create(index=first)
            self.client.indices.update_aliases(actions=[{"add": {"index": first, "alias": self.name}}])

    def current_index(self) -> str:
        return next(iter(self.client.indices.get_alias(name=self.name).body))

    def reindex_to_new_version(self) -> str:
        """Copy into a fresh index (new mapping from the template) and point the alias at it atomically."""
        old = self.current_index()
        version = int(old.rsplit("-v", 1)[1]) + 1
        new = f"{self.name}-v{version}"
        self.client.indices.create(index=new)
        self.client.reindex(source={"index": old}, dest={"index": new}, wait_for_completion=True, refresh=True)
        self.client.indices.update_aliases(actions=[
            {"remove": {"index": old, "alias": self.name}}, {"add": {"index": new, "alias": self.name}},
        ])
        self.client.indices.delete(index=old)
        return new

    def drop(self) -> None:
        """Delete every version of this index and its template (tests and workspace removal)."""
        self.client.indices.delete(index=f"{self.name}-v*", ignore_unavailable=True, allow_no_indices=True)
        self.client.indices.delete_index_template(name=self.name)

    # --- writing ---------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> None:
        for ok, info in helpers.streaming_bulk(
            self.client, actions, chunk_size=500, max_retries=self.max_retries,
            initial_backoff=self.initial_backoff, max_backoff=30, raise_on_error=False, raise_on_exception=True,
        ):
            if not ok:
                self.failed.append(info)

    def upsert(self, items: Sequence[Item]) -> None:
        self._bulk({"_op_type": "index", "_index": self.name, "_id": item.id, "_source": es_source(document_for(item))} for item in items)

    def add_new(self, items: Sequence[Item]) -> None:
        self.upsert(items)  # an index op by _id is already an insert-or-replace

    def delete(self, ids: Sequence[str]) -> None:
        self._bulk({"_op_type": "delete", "_index": self.name, "_id": item_id} for item_id in ids)

    def commit(self) -> None:
        self.client.indices.refresh(index=self.name)

    def count(self) -> int:
        return int(self.client.count(index=self.name)["count"])

    def close(self) -> None:
        self.client.close()

    # --- searching -------------------------------------------------------------------------

    @staticmethod
    def _sort(sort: str) -> list[Any]:
        if sort == "date":
            return [{"date": {"order": "desc", "missing": "_last"}}, {"_shard_doc": "asc"}]
        return [{"_score": "desc"}, {"_shard_doc": "asc"}]

    def search_body(self, request: SearchRequest) -> dict[str, Any]:
        """The _search body for the first page (golden-tested)."""
        body: dict[str, Any] = {
            "query": with_duplicates_hidden(compile_query(request.tree), request.include_duplicates),
            "size": request.limit,
            "track_total_hits": True,
            "sort": self._sort(request.sort),
            "highlight": {"fields": {"text": {"number_of_fragments": 3}}, "pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html"},
            "aggs": {"families": {"cardinality": {"field": "family_id", "precision_threshold": CARDINALITY_PRECISION}}},
        }
        if request.facets:
            body["aggs"].update(facet_aggregations(FACET_SIZE))
        return body

    def search(self, request: SearchRequest) -> IndexPage:
        fingerprint = query_fingerprint(request.tree, request.sort, request.include_duplicates)
        body = self.search_body(request)
        if request.cursor:
            state = decode_cursor(request.cursor, fingerprint)
            pit_id, after = state["pit"], state["after"]
        else:
            pit_id, after = self.client.open_point_in_time(index=self.name, keep_alive=PIT_KEEP_ALIVE)["id"], None
        body["pit"] = {"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
        if after is not None:
            body["search_after"] = after
        response = self.client.search(**body)
        pit_id = response.get("pit_id", pit_id)
        raw_hits = response["hits"]["hits"]
        total = int(response["hits"]["total"]["value"])
        base = compile_query(request.tree)
        all_count = total if request.include_duplicates else self._count(base)
        primaries = total if not request.include_duplicates else self._count(with_duplicates_hidden(base, False))
        hits = [_hit(h["_source"], h.get("_score")) for h in raw_hits]
        aggs = response.get("aggregations", {})
        next_cursor = None
        if raw_hits and len(raw_hits) == request.limit:
            next_cursor = encode_cursor({"q": fingerprint, "pit": pit_id, "after": raw_hits[-1]["sort"]})
        else:
            self.client.close_point_in_time(id=pit_id)
        families = int(aggs.get("families", {}).get("value", 0))
        return IndexPage(
            total=total, unique=primaries, families=families,
            # Below its precision threshold Elasticsearch counts distinct values in a hash set
            # (exact but for hash collisions); above it the count is a HyperLogLog estimate.
            families_exact=families < CARDINALITY_PRECISION,
            duplicates_hidden=all_count - total if not request.include_duplicates else 0,
            hits=hits, facets=_facets(aggs) if request.facets else None, next_cursor=next_cursor,
        )

    def _count(self, query: dict[str, Any]) -> int:
        return int(self.client.count(index=self.name, query=query)["count"])

    def _scan(self, query: dict[str, Any], fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every matching document's `fields`, paged with a point in time and search_after."""
        pit_id = self.client.open_point_in_time(index=self.name, keep_alive=PIT_KEEP_ALIVE)["id"]
        after = None
        try:
            while True:
                extra = {"search_after": after} if after is not None else {}
                response = self.client.search(
                    query=query, size=SCAN_PAGE, sort=[{"_shard_doc": "asc"}], source_includes=fields,
                    pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}, track_total_hits=False, **extra,
                )
                pit_id = response.get("pit_id", pit_id)
                page = response["hits"]["hits"]
                yield from (h["_source"] for h in page)
                if len(page) < SCAN_PAGE:
                    return
                after = page[-1]["sort"]
        finally:
            self.client.close_point_in_time(id=pit_id)

    def matching_ids(self, tree: Node, *, include_duplicates: bool = True) -> list[str]:
        query = with_duplicates_hidden(compile_query(tree), include_duplicates)
        return [source["id"] for source in self._scan(query, ["id"])]

    def query_stats(self, trees: Sequence[Node], *, include_duplicates: bool = True) -> list[QueryStats]:
        stats = []
        for tree in trees:
            query = with_duplicates_hidden(compile_query(tree), include_duplicates)
            keys: set[Any] = set()
            families: set[str] = set()
            custodians: Counter[str] = Counter()
            for source in self._scan(query, ["id", "family_id", "custodian_facet"]):
                keys.add(source["id"])
                families.add(source.get("family_id", ""))
                custodians.update(source.get("custodian_facet") or [])
            stats.append(QueryStats(total=len(keys), keys=keys, family_ids=families, custodians=dict(custodians)))
        return stats

    def family_members(self, family_ids: Sequence[str]) -> list[IndexHit]:
        if not family_ids:
            return []
        query = {"terms": {"family_id": list(family_ids)}}
        return [_hit(source, None) for source in self._scan(query, ["id", "kind", "title", "custodian_facet", "date", "family_id", "body", "is_duplicate", "filename", "from"])]

    def count_in_families(self, family_ids: Sequence[str]) -> int:
        total = 0
        ids = list(family_ids)
        for start in range(0, len(ids), FAMILY_CHUNK):
            chunk = {"terms": {"family_id": ids[start : start + FAMILY_CHUNK]}}
            total += self._count(with_duplicates_hidden(chunk, False))
        return total


def _facets(aggs: dict[str, Any]) -> Facets:
    def buckets(name: str) -> list[FacetBucket]:
        return [FacetBucket(str(b["key"]), int(b["doc_count"])) for b in aggs.get(name, {}).get("buckets", [])]

    months = sorted(buckets("month"), key=lambda b: b.value)
    years: Counter[str] = Counter()
    for bucket in months:
        years[bucket.value[:4]] += bucket.count
    return Facets(custodian=buckets("custodian"), kind=buckets("kind"), source=buckets("source"), sender=buckets("sender"),
                  year=[FacetBucket(y, c) for y, c in sorted(years.items())], month=months)

