"""The syntax tree of a query. Backends compile it; the highlighter and verifier evaluate it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Union

TEXT = "text"  # the item's title and extracted text: where bare words search

# Text fields a user can name, mapped to index fields. Values are analysed like the text.
TEXT_FIELDS = {
    "custodian": "custodian",
    "from": "from",
    "to": "to",
    "cc": "cc",
    "participant": "participant",
    "subject": "subject",
    "filename": "filename",
    "title": "title",
}
# Exact-value fields: one keyword each, compared folded.
KEYWORD_FIELDS = {"kind": "kind", "source": "source", "thread": "thread", "lang": "lang", "has": "has"}


@dataclass(frozen=True)
class Word:
    """A word as typed; `terms` are its folded index words (more than one for "o'brien": a phrase)."""

    terms: tuple[str, ...]
    field: str = TEXT


@dataclass(frozen=True)
class Phrase:
    terms: tuple[str, ...]
    field: str = TEXT


@dataclass(frozen=True)
class Wildcard:
    """`pattern` is folded; `*` is any run of letters/digits, `?` exactly one."""

    pattern: str
    field: str = TEXT


@dataclass(frozen=True)
class Fuzzy:
    term: str
    distance: int
    field: str = TEXT


@dataclass(frozen=True)
class Stem:
    term: str  # folded, not yet stemmed
    field: str = TEXT


@dataclass(frozen=True)
class Keyword:
    field: str  # one of KEYWORD_FIELDS' values
    value: str  # folded


@dataclass(frozen=True)
class DateRange:
    """UTC; `start` inclusive, `end` exclusive; either may be open."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class Near:
    """`left` within `distance` words of `right` (word positions differ by at most `distance`);
    when `ordered`, `left` must come first."""

    left: "Node"
    right: "Node"
    distance: int
    ordered: bool


Leaf = Union[Word, Phrase, Wildcard, Fuzzy, Stem]
Node = Union[Word, Phrase, Wildcard, Fuzzy, Stem, Keyword, DateRange, And, Or, Not, Near]


def leaves(node: Node) -> list[Node]:
    """Every leaf of the tree, in order."""
    if isinstance(node, (And, Or)):
        return [leaf for child in node.children for leaf in leaves(child)]
    if isinstance(node, Not):
        return leaves(node.child)
    if isinstance(node, Near):
        return leaves(node.left) + leaves(node.right)
    return [node]


def positive_leaves(node: Node) -> list[Node]:
    """Leaves that make an item match (not those under NOT): what the highlighter marks."""
    if isinstance(node, (And, Or)):
        return [leaf for child in node.children for leaf in positive_leaves(child)]
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return positive_leaves(node.left) + positive_leaves(node.right)
    return [node]


def has_node(node: Node, found: Callable[[Node], bool]) -> bool:
    """True when `found` holds for this node or any node under an AND, OR or NOT (a NEAR is not
    opened: it is one node to the callers that ask)."""
    if found(node):
        return True
    if isinstance(node, (And, Or)):
        return any(has_node(child, found) for child in node.children)
    if isinstance(node, Not):
        return has_node(node.child, found)
    return False
