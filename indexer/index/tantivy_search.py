"""One page of an exactly compiled tantivy query with its counts, in as few passes over the matches as possible.

Every pass re-runs the query, and for phrases and proximity each pass re-reads word positions, so a
page and its counts come from at most two passes (facets of a small result add one):

* a top-N search over every match, duplicates included, without counting. When the query's own words
  show it cannot match more than SMALL_RESULT items, or it reads positions (phrases, W/, PRE/, which
  usually match far fewer items than their words), N is large enough to bring back every match; fewer
  hits than N means these are all of them, and their duplicate flags and families (read from fast
  fields) give every count exactly;
* otherwise aggregations: duplicates against primaries, facets, and families — estimated (counts="fast",
  above EXACT_FAMILIES_UP_TO matches) or exactly, from the families that more than one hit falls in
  (families = hits − Σ(hits in a family − 1)), which tantivy lists about twice as fast as Python can walk
  every hit. For a query whose words say it is broad, they run on other threads while this one finds the
  top hits (tantivy lets go of the GIL), so a page costs about the longer of the two, not their sum.

A broad estimate counts exactly the families of a fixed sample of families (one in FAMILY_SAMPLE_RATE,
chosen by hash at indexing) and scales it up, as sampling distinct-count sketches do. A HyperLogLog over
every match (tantivy's cardinality) costs more than the rest of the page and, measured at 1M items, is
off by 2–4%; the sample's count is off by the sampling error alone, 1.2% at 100,000 families.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import compress, islice
from typing import Any, Literal

import tantivy

from disclose.query.folding import stem
from disclose.query.nodes import TEXT, And, Keyword, Near, Node, Not, Or, Phrase, Stem, Word, has_node
from indexer.index.base import EXACT_FAMILIES_UP_TO, FACET_SIZE, CountMode, FacetBucket, Facets
from indexer.index.tantivy_query import KEYWORD_INDEX_FIELDS

SMALL_RESULT = 3_000  # matches one top-N search brings back whole, rather than counting them in a second pass
DUPLICATE = "is_duplicate"
FAMILY = "family_key"
SAMPLE = "family_sample"
FAMILY_SAMPLE_RATE = 16  # one family in this many is in the sample
SAMPLED_ABOVE = 40_000  # matches above which the families estimate scales up the sample's
# Fewer families in the sample are too few to scale up (a few large families): then tantivy's HyperLogLog
# estimates them all. With this many, the estimate's standard error is under 2% (binomial, p = 1/16:
# √((1−p)/n)).
MIN_SAMPLED_FAMILIES = 2_500
# Counting runs beside the top-hits search. Jobs never wait on each other, so two threads cannot deadlock
# however many searches share them.
_COUNTING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="disclose-counts")
FACET_FIELDS = {"custodian": "custodian_facet", "kind": "kind", "source": "source_kind", "sender": "sender_facet"}
_ALL_FAMILIES = 100_000_000  # a terms aggregation size above any family count

Hits = list[tuple[Any, Any]]  # (order key: score or date, DocAddress)


@dataclass
class Counts:
    total: int
    unique: int
    families: int
    families_exact: bool
    duplicates_hidden: int


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


def first_limit(searcher: tantivy.Searcher, tree: Node, wanted: int) -> tuple[int, bool]:
    """How many top hits to ask for, and whether the query looks broad: more matches than that, so that
    the counts will need their own pass and can start at once."""
    bound = upper_bound(searcher, tree)
    if bound <= SMALL_RESULT:
        return max(wanted, int(bound), 1), False
    if reads_positions(tree):
        return max(wanted, SMALL_RESULT), False
    return wanted + wanted // 4 + 10, True  # room for the duplicates among the top hits


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
    shown_query = query if include_duplicates else _without_duplicates(schema, query)
    asked, broad = first_limit(searcher, tree, wanted)

    def start_counting() -> tuple[Future[Counts], Future[Facets] | None]:
        counting = _COUNTING.submit(count_matches, searcher, schema, query, shown_query, include_duplicates, counts)
        return counting, _COUNTING.submit(facet_counts, searcher, shown_query) if facets else None

    started = start_counting() if broad else None
    # No count: fewer hits than asked for already says they are all, and without counting tantivy can skip
    # blocks of low-scoring matches.
    hits: Hits = searcher.search(query, limit=asked, count=False, **order).hits
    addresses = [a for _, a in hits]
    duplicate = searcher.fast_field_values(DUPLICATE, addresses) if hits else []
    # None: every hit is shown. Otherwise a flag per hit, applied with compress() so that the thousands of
    # hits a phrase brings back whole are filtered in C.
    keep = None if include_duplicates or 1 not in duplicate else list(map(operator.not_, duplicate))
    if len(hits) < asked:  # every match is here (a broad-looking query's counting, if started, goes unused)
        return _from_every_hit(searcher, shown_query, hits, addresses, keep, duplicate.count(1), offset, wanted, facets)
    shown = hits if keep is None else list(compress(hits, keep))
    counting, faceting = started or start_counting()
    counted = counting.result()
    if len(shown) >= wanted or len(shown) >= counted.total:
        page = shown[offset:wanted]
    else:  # too many duplicates among the top hits: ask for the page itself
        page = list(searcher.search(shown_query, limit=limit, offset=offset, count=False, **order).hits)
    return Outcome(
        page=page, total=counted.total, unique=counted.unique, families=counted.families,
        families_exact=counted.families_exact, duplicates_hidden=counted.duplicates_hidden,
        facets=faceting.result() if faceting else None,
    )


def every_hit(searcher: tantivy.Searcher, query: tantivy.Query) -> Hits:
    """Every match, unranked. One pass: a limit of every item needs no count first (tantivy grows its
    buffer with the hits, it does not fill the limit), and constant scores need no ranking."""
    if searcher.num_docs == 0:
        return []
    return searcher.search(tantivy.Query.const_score_query(query, 1.0), limit=searcher.num_docs, count=False).hits


def _without_duplicates(schema: tantivy.Schema, query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, query), (tantivy.Occur.MustNot, tantivy.Query.term_query(schema, DUPLICATE, 1))]
    )


def _from_every_hit(
    searcher: tantivy.Searcher, shown_query: tantivy.Query, hits: Hits, addresses: list[Any], keep: list[bool] | None,
    duplicates: int, offset: int, wanted: int, facets: bool,
) -> Outcome:
    """The page and every count from hits that are all the matches: their duplicate flags and families."""
    shown_total = len(hits) if keep is None else sum(keep)
    faceting = _COUNTING.submit(facet_counts, searcher, shown_query) if facets and shown_total else None
    families_of = searcher.fast_field_values(FAMILY, addresses) if addresses else []
    families = len(set(families_of if keep is None else compress(families_of, keep)))
    page = hits[offset:wanted] if keep is None else list(islice(compress(hits, keep), offset, wanted))
    facet_buckets = None
    if facets:
        facet_buckets = faceting.result() if faceting else Facets()
    return Outcome(
        page=page, total=shown_total, unique=len(hits) - duplicates, families=families, families_exact=True,
        duplicates_hidden=len(hits) - shown_total, facets=facet_buckets,
    )


def facet_counts(searcher: tantivy.Searcher, shown_query: tantivy.Query) -> Facets:
    return facets_from(searcher.aggregate(shown_query, facet_aggregations()))


def count_matches(
    searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, shown_query: tantivy.Query,
    include_duplicates: bool, counts: CountMode,
) -> Counts:
    """Every count of a broad query: duplicates against primaries in one pass, then its families."""
    split = searcher.aggregate(query, {"split": {"terms": {"field": DUPLICATE, "size": 2}}})
    by_flag = {int(b["key"]): int(b["doc_count"]) for b in split["split"]["buckets"]}
    primaries = by_flag.get(0, 0)
    everything = sum(by_flag.values())
    total = everything if include_duplicates else primaries
    if counts == "fast" and total > EXACT_FAMILIES_UP_TO:
        families, exact = estimated_families(searcher, schema, shown_query, total), False
    else:
        families, exact = exact_families(searcher, shown_query), True
    return Counts(total=total, unique=primaries, families=families, families_exact=exact, duplicates_hidden=everything - total)


def estimated_families(searcher: tantivy.Searcher, schema: tantivy.Schema, shown_query: tantivy.Query, total: int) -> int:
    """Distinct families among `total` matches, estimated: the sample's families, counted exactly and
    scaled up, when there are enough of them; else tantivy's HyperLogLog over every match."""
    if total > SAMPLED_ABOVE:
        sampled = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, shown_query), (tantivy.Occur.Must, tantivy.Query.term_query(schema, SAMPLE, 1))]
        )
        in_sample = exact_families(searcher, sampled)
        if in_sample >= MIN_SAMPLED_FAMILIES:
            return max(1, min(total, in_sample * FAMILY_SAMPLE_RATE))
    return max(1 if total else 0, min(total, round(searcher.cardinality(shown_query, FAMILY))))


def exact_families(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """Distinct families among the matches: the matches less the extra hits of every family holding more
    than one, which tantivy lists (with the matches counted in the same pass). It refuses to list more than
    65,000 buckets; then every hit's family is read instead."""
    spec = {
        "families": {"terms": {"field": FAMILY, "size": _ALL_FAMILIES, "min_doc_count": 2, "order": {"_key": "asc"}}},
        "matches": {"value_count": {"field": DUPLICATE}},  # every item has the flag: this counts them all
    }
    try:
        result = searcher.aggregate(query, spec)
    except ValueError:  # "Aborting aggregation because bucket limit was exceeded"
        addresses = [a for _, a in every_hit(searcher, query)]
        return len(set(searcher.fast_field_values(FAMILY, addresses))) if addresses else 0
    matches = int(result.get("matches", {}).get("value") or 0)
    return matches - sum(int(b["doc_count"]) - 1 for b in result.get("families", {}).get("buckets", []))
