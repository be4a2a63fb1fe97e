"""The interface every search index backend implements: writing items, and searching with the query tree."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, Sequence

from disclose.items import Item
from disclose.query.nodes import Node

SortOrder = Literal["relevance", "date"]
# "exact": every count exact. "fast": total, unique and duplicates_hidden exact; `families` exact up to
# EXACT_FAMILIES_UP_TO matching items and the engine's distinct-count estimate above (as Elasticsearch's
# cardinality aggregation is), so a broad interactive search does not walk every hit.
CountMode = Literal["exact", "fast"]
EXACT_FAMILIES_UP_TO = 10_000
FACET_SIZE = 20


@dataclass
class SearchRequest:
    tree: Node
    limit: int = 50
    cursor: str | None = None
    sort: SortOrder = "relevance"
    include_duplicates: bool = False
    facets: bool = True
    counts: CountMode = "exact"


@dataclass
class IndexHit:
    id: str
    kind: str
    title: str
    custodians: list[str]
    date: datetime | None
    family_id: str
    text: str
    score: float | None = None
    is_duplicate: bool = False
    filename: str = ""
    sender: list[str] = field(default_factory=list)


@dataclass
class FacetBucket:
    value: str
    count: int


@dataclass
class Facets:
    custodian: list[FacetBucket] = field(default_factory=list)
    kind: list[FacetBucket] = field(default_factory=list)
    source: list[FacetBucket] = field(default_factory=list)
    sender: list[FacetBucket] = field(default_factory=list)
    year: list[FacetBucket] = field(default_factory=list)
    month: list[FacetBucket] = field(default_factory=list)  # "2021-03", oldest first


@dataclass
class IndexPage:
    total: int  # exact: every item that matches (duplicates excluded unless asked for)
    unique: int  # matching items that are not duplicates of another
    families: int  # distinct families among the matching items
    duplicates_hidden: int  # matching duplicates left out of `total`
    hits: list[IndexHit]
    facets: Facets | None
    next_cursor: str | None
    families_exact: bool = True  # False: `families` is the engine's estimate (counts="fast" on a broad query)


@dataclass
class QueryStats:
    """One query's hits for a search term report. `keys` compare between queries of one `query_stats` call."""

    total: int
    keys: set[Any]
    family_ids: set[Any]  # opaque family keys the same backend's count_in_families takes (tantivy: ints)
    custodians: dict[str, int]


class SearchIndex(Protocol):
    def upsert(self, items: Sequence[Item]) -> None:
        """Add or replace items by id. Visible to search after `commit`."""

    def add_new(self, items: Sequence[Item]) -> None:
        """Index items the index has never held (just saved as new): a backend may skip the delete."""

    def delete(self, ids: Sequence[str]) -> None: ...

    def commit(self) -> None: ...

    def count(self) -> int: ...

    def close(self) -> None: ...

    def search(self, request: SearchRequest) -> IndexPage:
        """One page of hits for a parsed query, with exact totals and (optionally) facets."""

    def matching_ids(self, tree: Node, *, include_duplicates: bool = True) -> list[str]:
        """The id of every item that matches, in no particular order."""

    def query_stats(self, trees: Sequence[Node], *, include_duplicates: bool = True) -> list[QueryStats]:
        """Per query: hits, their families and custodian counts, all from one snapshot of the index."""

    def family_members(self, family_ids: Sequence[str]) -> list[IndexHit]:
        """Every item of these families (for expanding hits to whole families)."""

    def count_in_families(self, family_ids: Sequence[str]) -> int:
        """How many items (duplicates excluded) belong to these families."""


# --- cursors --------------------------------------------------------------------------------

def query_fingerprint(tree: Node, sort: str, include_duplicates: bool) -> str:
    text = f"{tree!r}|{sort}|{include_duplicates}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


class BadCursor(ValueError):
    """A cursor from another query, or not a cursor at all."""


def decode_cursor(cursor: str, fingerprint: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("that cursor is not one this search returned") from None
    if not isinstance(payload, dict) or payload.get("q") != fingerprint:
        raise BadCursor("that cursor belongs to a different query, sort or duplicates setting")
    return payload
