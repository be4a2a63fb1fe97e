"""The e-discovery query language: one parser, one syntax tree, and the folding and matching rules every backend shares."""

from disclose.query.nodes import (
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
from disclose.query.parser import QuerySyntaxError, parse

__all__ = [
    "And", "DateRange", "Fuzzy", "Keyword", "Near", "Node", "Not", "Or", "Phrase", "QuerySyntaxError",
    "Stem", "Wildcard", "Word", "parse",
]
