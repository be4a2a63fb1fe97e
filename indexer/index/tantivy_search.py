"""One page of an exactly compiled tantivy query with its counts, in as few passes over the matches as possible.

Every pass re-runs the query, and for phrases and proximity each pass re-reads word positions, so a
page and its counts come from at most two passes (facets of a small result add one):

* a top-N search over every match, duplicates included, without counting. When the query's own words
  show it cannot match more than SMALL_RESULT items, or it reads positions (phrases, W/, PRE/, which
  usually match far fewer items than their words), N is large enough to bring back every match; fewer
  hits than N means these are all of them, and their duplicate flags and families (read from fast
  fields) give every count exactly;
* otherwise one aggregation: duplicates against primaries, facets, and families — a HyperLogLog
  estimate (counts="fast", above EXACT_FAMILIES_UP_TO matches) or exactly, from the families that more
  than one hit falls in (families = hits − Σ(hits in a family − 1)), which tantivy lists about twice as
  fast as Python can walk every hit.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import tantivy

from disclose.query.folding import stem
from disclose.query.nodes import TEXT, And, Keyword, Near, Node, Not, Or, Phrase, Stem, Word, has_node
from indexer.index.base import EXACT_FAMILIES_UP_TO, FACET_SIZE, CountMode, FacetBucket, Facets
from indexer.index.tantivy_query import KEYWORD_INDEX_FIELDS

SMALL_RESULT = 3_000  # matches one top-N search brings back whole, rather than counting them in a second pass
DUPLICATE = "is_duplicate"
FAMILY = "family_key"
FACET_FIELDS = {"custodian": "custodian_facet", "kind": "kind", "source": "source_kind", "sender": "sender_facet"}
_ALL_FAMILIES = 100_000_000  # a terms aggregation size above any family count

Hits = list[tuple[Any, Any]]  # (order key: score or date, DocAddress)


@dataclass
class Outcome:
    page: Hits
    total: int
    unique: int
    families: int
    families_exact: bool
    duplicates_hidden: int
    facets: Facets | None


def facet_aggregations() -> dict[str, Any]:
    spec: dict[str, Any] = {name: {"terms": {"field": field, "size": FACET_SIZE}} for name, field in FACET_FIELDS.items()}
    spec["month"] = {"terms": {"field": "month", "size": 1000}}
    return spec


def facets_from(result: dict[str, Any]) -> Facets:
    def buckets(name: str) -> list[FacetBucket]:
        return [FacetBucket(str(b["key"]), int(b["doc_count"])) for b in result.get(name, {}).get("buckets", [])]

    months = sorted(buckets("month"), key=lambda b: b.value)
    years: Counter[str] = Counter()
    for bucket in months:
        years[bucket.value[:4]] += bucket.count
    return Facets(
        custodian=buckets("custodian"), kind=buckets("kind"), source=buckets("source"), sender=buckets("sender"),
        year=[FacetBucket(y, c) for y, c in sorted(years.items())], month=months,
    )


def upper_bound(searcher: tantivy.Searcher, node: Node) -> float:
    """At most how many items the tree can match, from its words' document frequencies (inf: unknown)."""
    if isinstance(node, (Word, Phrase)):
        return min((_doc_freq(searcher, node.field, t) for t in node.terms), default=0)
    if isinstance(node, Stem):
        return _doc_freq(searcher, "text_stem", stem(node.term)) if node.field == TEXT else _doc_freq(searcher, node.field, node.term)
    if isinstance(node, Keyword):
        return _doc_freq(searcher, KEYWORD_INDEX_FIELDS[node.field], node.value) if node.field in KEYWORD_INDEX_FIELDS else math.inf
    if isinstance(node, And):
        return min((upper_bound(searcher, c) for c in node.children if not isinstance(c, Not)), default=math.inf)
    if isinstance(node, Or):
        return sum(upper_bound(searcher, c) for c in node.children)
    if isinstance(node, Near):
        return min(upper_bound(searcher, node.left), upper_bound(searcher, node.right))
    return math.inf  # wildcards, fuzzy words, dates and NOT: no cheap bound


def _doc_freq(searcher: tantivy.Searcher, field: str, value: str) -> float:
    try:
        return float(searcher.doc_freq(field, value))  # deleted items included: still an upper bound
    except ValueError:
        return math.inf


def reads_positions(node: Node) -> bool:
    return has_node(node, lambda n: isinstance(n, Near) or (isinstance(n, (Word, Phrase)) and len(n.terms) > 1))


def first_limit(searcher: tantivy.Searcher, tree: Node, wanted: int) -> int:
    bound = upper_bound(searcher, tree)
    if bound <= SMALL_RESULT:
        return max(wanted, int(bound), 1)
    if reads_positions(tree):
        return max(wanted, SMALL_RESULT)
    return wanted + wanted // 4 + 10  # room for the duplicates among the top hits


def run(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    tree: Node,
    *,
    offset: int,
    limit: int,
    sort: Literal["relevance", "date"],
    include_duplicates: bool,
    facets: bool,
    counts: CountMode,
) -> Outcome:
    order: dict[str, Any] = {"order_by_field": "date", "order": tantivy.Order.Desc} if sort == "date" else {}
    wanted = offset + limit
    # No count: fewer hits than asked for already says they are all, and without counting tantivy can skip
    # blocks of low-scoring matches.
    asked = first_limit(searcher, tree, wanted)
    hits: Hits = list(searcher.search(query, limit=asked, count=False, **order).hits)
    duplicate = searcher.fast_field_values(DUPLICATE, [a for _, a in hits]) if hits else []
    shown = hits if include_duplicates else [h for h, dup in zip(hits, duplicate) if not dup]
    shown_query = query if include_duplicates else _without_duplicates(schema, query)
    if len(hits) < asked:
        return _from_every_hit(searcher, shown_query, hits, shown, duplicate, offset, wanted, include_duplicates, facets)
    return _from_aggregation(searcher, query, shown_query, shown, offset, limit, order, include_duplicates, facets, counts)


def _without_duplicates(schema: tantivy.Schema, query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, query), (tantivy.Occur.MustNot, tantivy.Query.term_query(schema, DUPLICATE, 1))]
    )


def _from_every_hit(
    searcher: tantivy.Searcher, shown_query: tantivy.Query, hits: Hits, shown: Hits, duplicate: list[Any],
    offset: int, wanted: int, include_duplicates: bool, facets: bool,
) -> Outcome:
    primaries = sum(1 for dup in duplicate if not dup)
    families = len(set(searcher.fast_field_values(FAMILY, [a for _, a in shown]))) if shown else 0
    facet_counts = None
    if facets:
        facet_counts = facets_from(searcher.aggregate(shown_query, facet_aggregations())) if shown else Facets()
    return Outcome(
        page=shown[offset:wanted], total=len(shown), unique=primaries, families=families, families_exact=True,
        duplicates_hidden=0 if include_duplicates else len(hits) - len(shown), facets=facet_counts,
    )


def exact_families(searcher: tantivy.Searcher, query: tantivy.Query, total: int) -> int:
    """Distinct families among `total` matches: the matches less the extra hits of every family holding
    more than one, which tantivy lists. It refuses to list more than 65,000 buckets; then every hit's
    family is read instead."""
    shared = {"terms": {"field": FAMILY, "size": _ALL_FAMILIES, "min_doc_count": 2, "order": {"_key": "asc"}}}
    try:
        buckets = searcher.aggregate(query, {"families": shared}).get("families", {}).get("buckets", [])
    except ValueError:  # "Aborting aggregation because bucket limit was exceeded"
        everything = tantivy.Query.const_score_query(query, 1.0)
        addresses = [a for _, a in searcher.search(everything, limit=max(1, searcher.num_docs), count=False).hits]
        return len(set(searcher.fast_field_values(FAMILY, addresses))) if addresses else 0
    return total - sum(int(b["doc_count"]) - 1 for b in buckets)


def _from_aggregation(
    searcher: tantivy.Searcher, query: tantivy.Query, shown_query: tantivy.Query, shown: Hits,
    offset: int, limit: int, order: dict[str, Any], include_duplicates: bool, facets: bool, counts: CountMode,
) -> Outcome:
    # What is counted over the shown items: facets and, for counts="fast", the families estimate. Without
    # duplicates they sit under the primaries' bucket of the duplicate split, so one pass serves them all.
    # How many match is not known before this pass: the estimate is asked for and, when few match after
    # all, replaced by the exact count.
    measured: dict[str, Any] = facet_aggregations() if facets else {}
    if counts == "fast":
        measured["families"] = {"cardinality": {"field": FAMILY}}
    split = {"terms": {"field": DUPLICATE, "size": 2}}
    if include_duplicates:
        result = searcher.aggregate(query, {"split": split, **measured})
        over_shown = result
    else:
        result = searcher.aggregate(query, {"split": {**split, "aggs": measured}})
        over_shown = next((b for b in result["split"]["buckets"] if int(b["key"]) == 0), {})
    by_flag = {int(b["key"]): int(b["doc_count"]) for b in result["split"]["buckets"]}
    primaries = by_flag.get(0, 0)
    everything = sum(by_flag.values())
    total = everything if include_duplicates else primaries
    estimate = counts == "fast" and total > EXACT_FAMILIES_UP_TO
    if estimate:
        families = max(1 if total else 0, min(total, round(float(over_shown.get("families", {}).get("value", 0)))))
    else:
        families = exact_families(searcher, shown_query, total)
    if len(shown) >= offset + limit or len(shown) >= total:
        page = shown[offset : offset + limit]
    else:  # too many duplicates among the top hits: ask for the page itself
        page = list(searcher.search(shown_query, limit=limit, offset=offset, count=False, **order).hits)
    return Outcome(
        page=page, total=total, unique=primaries, families=families, families_exact=not estimate,
        duplicates_hidden=everything - total, facets=facets_from(over_shown) if facets else None,
    )

