"""tantivy answers a page in one of two ways — every match brought back by one top-N search, or counts and
facets from one aggregation when there are too many — and both must agree with each other and with a
brute-force count over the same documents (totals, duplicates, families, facets, pages and cursors)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from disclose.query import parse
from indexer.index import tantivy_search
from indexer.index.base import IndexPage, SearchRequest
from indexer.index.documents import IndexDocument
from indexer.index.tantivy_backend import TantivyIndex

WORDS = "housing benefit rent arrears tenant repairs tenent contract contracts budget the of and a to".split()
QUERIES = [
    "housing", "rent arrears", '"rent arrears"', "tenant W/3 repairs", "rent PRE/2 arrears", "contract*", "tenent~1",
    "housing OR benefit", "NOT housing", "kind:chat_message budget", "(housing OR rent) AND NOT tenant date>=2021-06-01",
    "custodian:\"Ann Lee2\"", "zzzz",
]


def _documents() -> list[IndexDocument]:
    rng = random.Random(11)
    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    docs = []
    family = 0
    while len(docs) < 900:
        family += 1
        for member in range(rng.choice([1, 1, 2, 3, 4])):
            n = len(docs)
            chat = n % 5 == 4
            docs.append(IndexDocument(
                id=f"{n:08d}", kind="chat_message" if chat else "email", family_id=f"{family:016x}", parent_id="",
                title="", text=" ".join(rng.choices(WORDS, k=rng.randint(3, 25))), custodians=[f"Ann Lee{n % 4}"],
                source_kind="teams" if chat else "pst", filename="", date=start + timedelta(hours=7 * n),
                sender=[f"s{n % 7}@x.org"], to=[], cc=[], bcc=[], thread_id="", content_hash=f"h{n}",
                is_duplicate=rng.random() < 0.15, has_attachment=False, lang="en", subject="", source="test://",
                sender_label=f"s{n % 7}@x.org",
            ))
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[TantivyIndex, dict[str, IndexDocument]]:
    index = TantivyIndex(Path(tmp_path_factory.mktemp("paths")))
    docs = _documents()
    for batch in (docs[:301], docs[301:602], docs[602:]):  # families straddle the segments
        index.upsert_documents(batch)
        index.commit()
    return index, {d.id: d for d in docs}


def _pages(index: TantivyIndex, query: str, **options) -> tuple[IndexPage, list[str]]:  # type: ignore[no-untyped-def]
    """The first page and the ids of every page, followed by cursor."""
    first = index.search(SearchRequest(parse(query), limit=7, **options))
    ids, page = [h.id for h in first.hits], first
    while page.next_cursor:
        page = index.search(SearchRequest(parse(query), limit=7, cursor=page.next_cursor, **options))
        ids += [h.id for h in page.hits]
    return first, ids


def _every_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tantivy_search, "first_limit", lambda searcher, tree, wanted: (1_000_000, False))


def _aggregated(monkeypatch: pytest.MonkeyPatch) -> None:
    # Exactly the page asked for: duplicates among the top hits then force the second search too.
    monkeypatch.setattr(tantivy_search, "first_limit", lambda searcher, tree, wanted: (wanted, False))


def _counted_alongside(monkeypatch: pytest.MonkeyPatch) -> None:
    # As a broad query is answered: counts and facets started on other threads before the top hits.
    monkeypatch.setattr(tantivy_search, "first_limit", lambda searcher, tree, wanted: (wanted, True))


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("include_duplicates", [False, True])
def test_both_paths_count_exactly_what_brute_force_counts(corpus, monkeypatch: pytest.MonkeyPatch, query: str, include_duplicates: bool) -> None:  # type: ignore[no-untyped-def]
    index, docs = corpus
    matching = [docs[i] for i in index.matching_ids(parse(query), include_duplicates=True)]
    shown = [d for d in matching if include_duplicates or not d.is_duplicate]
    results = {}
    for name, force in (("every hit", _every_hit), ("aggregated", _aggregated), ("counted alongside", _counted_alongside)):
        force(monkeypatch)
        for sort in ("relevance", "date"):
            first, ids = _pages(index, query, sort=sort, include_duplicates=include_duplicates, counts="exact")
            assert first.total == len(shown), (name, sort)
            assert first.unique == sum(1 for d in matching if not d.is_duplicate), (name, sort)
            assert first.duplicates_hidden == (0 if include_duplicates else len(matching) - len(shown)), (name, sort)
            assert first.families == len({d.family_id for d in shown}) and first.families_exact, (name, sort)
            assert sorted(ids) == sorted(d.id for d in shown), (name, sort)
            assert first.facets is not None
            custodians = Counter(c for d in shown for c in d.custodians)
            assert {b.value: b.count for b in first.facets.custodian} == dict(custodians), (name, sort)
            months = Counter(d.date.strftime("%Y-%m") for d in shown if d.date)
            assert {b.value: b.count for b in first.facets.month} == dict(months), (name, sort)
            results[name, sort] = ids
    assert results["every hit", "relevance"] == results["aggregated", "relevance"] == results["counted alongside", "relevance"]
    assert results["every hit", "date"] == results["aggregated", "date"] == results["counted alongside", "date"]
    dates = [docs[i].date for i in results["aggregated", "date"]]
    assert dates == sorted(dates, reverse=True)


def test_fast_counts_estimate_families_only_for_broad_searches_and_say_so(corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    index, docs = corpus
    _aggregated(monkeypatch)
    shown = [docs[i] for i in index.matching_ids(parse("housing OR benefit"), include_duplicates=False)]
    exact = len({d.family_id for d in shown})
    monkeypatch.setattr(tantivy_search, "EXACT_FAMILIES_UP_TO", 10)
    page = index.search(SearchRequest(parse("housing OR benefit"), counts="fast"))
    assert not page.families_exact and page.total == len(shown)
    assert abs(page.families - exact) <= exact * 0.05
    monkeypatch.setattr(tantivy_search, "EXACT_FAMILIES_UP_TO", 100_000)
    page = index.search(SearchRequest(parse("housing OR benefit"), counts="fast"))
    assert page.families_exact and page.families == exact


def test_first_search_brings_back_every_match_of_a_selective_query(corpus) -> None:  # type: ignore[no-untyped-def]
    index, _ = corpus
    searcher = index.searcher()
    # A bound from the words' document frequencies: never below the true count.
    for query in QUERIES:
        tree = parse(query)
        assert tantivy_search.upper_bound(searcher, tree) >= len(index.matching_ids(tree, include_duplicates=True)), query
    assert tantivy_search.first_limit(searcher, parse('custodian:"Ann Lee2"'), 50)[0] <= tantivy_search.SMALL_RESULT
    assert tantivy_search.first_limit(searcher, parse("housing"), 50)[1] is False  # 900 items: cannot be broad


def test_exact_families_are_still_counted_when_tantivy_refuses_to_list_them(corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # tantivy aborts an aggregation of more than 65,000 buckets; past that the families are read hit by hit.
    index, docs = corpus
    shown = [docs[i] for i in index.matching_ids(parse("housing OR rent"), include_duplicates=False)]
    real_aggregate = tantivy_search.tantivy.Searcher.aggregate

    class Refusing:
        def __init__(self, searcher) -> None:  # type: ignore[no-untyped-def]
            self.searcher = searcher

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.searcher, name)

        def aggregate(self, query, spec):  # type: ignore[no-untyped-def]
            if "families" in spec and "terms" in spec["families"]:
                raise ValueError("Aborting aggregation because bucket limit was exceeded. Limit: 65000")
            return real_aggregate(self.searcher, query, spec)

    real_searcher = index.searcher
    monkeypatch.setattr(index, "searcher", lambda: Refusing(real_searcher()))
    _aggregated(monkeypatch)
    page = index.search(SearchRequest(parse("housing OR rent"), counts="exact"))
    assert page.families_exact and page.families == len({d.family_id for d in shown})


def _family_corpus(folder: Path, families: int, items: int) -> TantivyIndex:
    """`items` short documents spread over `families` families with sequential ids, as a mailbox's are."""
    index = TantivyIndex(folder)
    rng = random.Random(5)
    index.upsert_documents([
        IndexDocument(
            id=f"{n:016x}", kind="email", family_id=f"{rng.randrange(families):016x}", parent_id="", title="",
            text=rng.choice(["rent arrears", "housing repairs", "rent review"]), custodians=["Ann Lee"], source_kind="pst",
            filename="", date=None, sender=[], to=[], cc=[], bcc=[], thread_id="", content_hash="", is_duplicate=False,
            has_attachment=False, lang="en", subject="", source="test://", sender_label="",
        )
        for n in range(items)
    ])
    index.commit()
    return index


def _brute_families(index: TantivyIndex, query: str) -> int:
    searcher = index.searcher()
    return len({searcher.doc(a).to_dict()["family_id"][0] for _, a in tantivy_search.every_hit(searcher, index.compiler.compile(parse(query)).query)})


def test_a_broad_search_estimates_its_families_from_the_sample_within_a_few_per_cent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = _family_corpus(tmp_path, families=40_000, items=60_000)
    monkeypatch.setattr(tantivy_search, "EXACT_FAMILIES_UP_TO", 100)
    monkeypatch.setattr(tantivy_search, "SAMPLED_ABOVE", 10_000)
    monkeypatch.setattr(tantivy_search, "MIN_SAMPLED_FAMILIES", 1_200)
    whole_counts: list[float] = []
    monkeypatch.setattr(index, "searcher", lambda real=index.searcher: _Recording(real(), whole_counts))
    for query in ("rent", "rent OR housing", "housing"):
        whole_counts.clear()
        page = index.search(SearchRequest(parse(query), counts="fast"))
        exact = _brute_families(index, query)
        assert not page.families_exact
        assert abs(page.families - exact) <= exact * 0.05, (query, page.families, exact)
        if exact > 16 * 1_200 * 1.1:  # about 1,600 and 1,900 families in the sample: scaled up
            assert whole_counts == [], query
        else:  # "housing": about 1,000 in the sample, too few to scale up, so every match was estimated
            assert len(whole_counts) == 1, query


def test_few_large_families_are_counted_whole_not_scaled_up_from_a_handful(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 families (say, long chat conversations): the sample holds about five, too few to scale up.
    index = _family_corpus(tmp_path, families=40, items=6_000)
    monkeypatch.setattr(tantivy_search, "EXACT_FAMILIES_UP_TO", 100)
    monkeypatch.setattr(tantivy_search, "SAMPLED_ABOVE", 1_000)
    page = index.search(SearchRequest(parse("rent"), counts="fast"))
    assert not page.families_exact and page.families == _brute_families(index, "rent") == 40


class _Recording:
    """A searcher that notes what each HyperLogLog estimate over every match found."""

    def __init__(self, searcher, noted: list[float]) -> None:  # type: ignore[no-untyped-def]
        self.searcher, self.noted = searcher, noted

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.searcher, name)

    def cardinality(self, query, field: str) -> float:  # type: ignore[no-untyped-def]
        found = self.searcher.cardinality(query, field)
        self.noted.append(found)
        return found

