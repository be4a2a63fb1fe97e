"""The search service: parse the query, expand participants, ask the index, highlight the hits."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from disclose.query import QuerySyntaxError, parse
from disclose.query.folding import words
from disclose.query.matcher import Matcher
from disclose.query.nodes import And, Near, Node, Not, Or, Phrase, Word
from indexer.index.base import BadCursor, CountMode, IndexHit, SearchIndex, SearchRequest
from indexer.services import Services
from search_api.highlight import highlight

__all__ = ["BadCursor", "QuerySyntaxError", "SearchResults", "matching_ids", "parse_query", "run_search"]


class Hit(BaseModel):
    id: str
    kind: str
    title: str
    custodians: list[str]
    date: datetime | None
    snippet: str = Field(description="HTML: the item text around the matches, escaped, with <mark> around each match")
    family_id: str
    matches: list[tuple[int, int]] = Field(default_factory=list, description="character offsets of every match in the item text")
    score: float | None = None
    duplicate: bool = False
    filename: str = ""
    sender: list[str] = Field(default_factory=list)
    family_member: bool = Field(False, description="shown because a member of its family matched (families=True)")


class Bucket(BaseModel):
    value: str
    count: int


class FacetCounts(BaseModel):
    custodian: list[Bucket] = Field(default_factory=list)
    kind: list[Bucket] = Field(default_factory=list)
    source: list[Bucket] = Field(default_factory=list)
    sender: list[Bucket] = Field(default_factory=list)
    year: list[Bucket] = Field(default_factory=list)
    month: list[Bucket] = Field(default_factory=list)


class SearchResults(BaseModel):
    query: str
    total: int = Field(description="exact number of matching items (duplicates excluded unless asked for)")
    unique: int = Field(description="matching items that are not duplicates of another item")
    families: int = Field(description="distinct families among the matching items")
    families_exact: bool = Field(True, description="false when `families` is the index's estimate (counts=\"fast\" on a broad search)")
    duplicates_hidden: int = Field(description="matching duplicate copies left out of total and hits")
    hits: list[Hit]
    facets: FacetCounts | None = None
    next_cursor: str | None = Field(None, description="pass as cursor for the next page; null on the last page")


def parse_query(services: Services | None, query_text: str) -> Node:
    """The syntax tree, with `participant:` values widened to every identifier of the same person."""
    tree = parse(query_text)
    if services is None or importlib.util.find_spec("indexer.identities") is None:
        return tree
    return _expand_participants(services, tree)


def _expand_participants(services: Services, tree: Node) -> Node:
    from indexer.identities import identifiers_for  # the workspace identity table (optional module)

    def expand(node: Node) -> Node:
        if isinstance(node, (Word, Phrase)) and node.field == "participant" and node.terms:
            with services.store.session() as session:
                values = identifiers_for(session, " ".join(node.terms))
            alternatives = {tuple(words(v)) for v in values} | {node.terms}
            nodes = [Word(t, "participant") if len(t) == 1 else Phrase(t, "participant") for t in sorted(alternatives) if t]
            return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))
        if isinstance(node, And):
            return And(tuple(expand(c) for c in node.children))
        if isinstance(node, Or):
            return Or(tuple(expand(c) for c in node.children))
        if isinstance(node, Not):
            return Not(expand(node.child))
        if isinstance(node, Near):
            return node
        return node

    return expand(tree)


def _searchable(services: Services) -> SearchIndex:
    return services.index


def _hit_model(hit: IndexHit, matcher: Matcher, tree: Node, *, family_member: bool = False) -> Hit:
    marked = highlight(tree, hit.text, matcher=matcher)
    return Hit(
        id=hit.id, kind=hit.kind, title=hit.title, custodians=hit.custodians, date=hit.date,
        snippet=marked.snippet, family_id=hit.family_id, matches=marked.matches, score=hit.score,
        duplicate=hit.is_duplicate, filename=hit.filename, sender=hit.sender, family_member=family_member,
    )


def run_search(
    services: Services,
    query_text: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    sort: Literal["relevance", "date"] = "relevance",
    include_duplicates: bool = False,
    families: bool = False,
    facets: bool = True,
    counts: CountMode = "exact",
) -> SearchResults:
    """One page of results. Raises QuerySyntaxError for a malformed query and BadCursor for a foreign cursor.

    counts="fast" (for interactive pages) keeps total/unique/duplicates_hidden exact but lets `families`
    be the index's estimate when more than EXACT_FAMILIES_UP_TO items match; the default is exact throughout."""
    tree = parse_query(services, query_text)
    index = _searchable(services)
    page = index.search(
        SearchRequest(tree=tree, limit=max(1, min(limit, 1000)), cursor=cursor, sort=sort, include_duplicates=include_duplicates, facets=facets, counts=counts)
    )
    matcher = Matcher(tree)
    hits = [_hit_model(h, matcher, tree) for h in page.hits]
    if families and hits:
        hits = _with_families(index, hits, matcher, tree, include_duplicates)
    facet_counts = None
    if page.facets is not None:
        facet_counts = FacetCounts(**{
            name: [Bucket(value=b.value, count=b.count) for b in getattr(page.facets, name)]
            for name in FacetCounts.model_fields
        })
    return SearchResults(
        query=query_text, total=page.total, unique=page.unique, families=page.families, families_exact=page.families_exact,
        duplicates_hidden=page.duplicates_hidden, hits=hits, facets=facet_counts, next_cursor=page.next_cursor,
    )


def _with_families(index: SearchIndex, hits: list[Hit], matcher: Matcher, tree: Node, include_duplicates: bool) -> list[Hit]:
    """Each hit followed by the other members of its family (parent first, by date)."""
    members: dict[str, list[IndexHit]] = {}
    for member in index.family_members(list(dict.fromkeys(h.family_id for h in hits))):
        if include_duplicates or not member.is_duplicate:
            members.setdefault(member.family_id, []).append(member)
    shown: set[str] = {h.id for h in hits}
    expanded: list[Hit] = []
    for hit in hits:
        expanded.append(hit)
        for member in sorted(members.get(hit.family_id, []), key=lambda m: (m.date is None, m.date or datetime.min, m.id)):
            if member.id not in shown:
                shown.add(member.id)
                expanded.append(_hit_model(member, matcher, tree, family_member=True))
    return expanded


def matching_ids(services: Services, query_text: str, include_duplicates: bool = True) -> list[str]:
    """Every matching item id (for adding hits to a request, or a term report)."""
    tree = parse_query(services, query_text)
    return _searchable(services).matching_ids(tree, include_duplicates=include_duplicates)
