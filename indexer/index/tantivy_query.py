"""The query tree compiled to tantivy Query objects (never to tantivy's query-string syntax).

Proximity is exact where tantivy can express it: `a W/N b` is one sloppy phrase with both words at
the same offset (tantivy's slop is the allowed distance from each word's offset, in either
direction, so [a@0, b@0]~N is exactly "within N" and word positions are read once), and ordered
or multi-word proximity is a set of phrases at fixed offsets. What tantivy cannot express (fuzzy or
stemmed words, nested groups inside W/ and PRE/) compiles to a wider query whose candidates the
backend checks with the shared matcher, so results stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import product

import tantivy

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
MAX_NEAR_ALTERNATIVES = 64
Occur = tantivy.Occur


@dataclass
class Compiled:
    query: tantivy.Query
    exact: bool  # False: the query is wider than the tree; check candidates with the matcher


def wildcard_to_regex(pattern: str) -> str:
    # Folded index words hold letters and digits only; escape anything else so it stays literal.
    return "".join(".*" if c == "*" else "." if c == "?" else c if c.isalnum() else "\\" + c for c in pattern)


class TantivyCompiler:
    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema

    def compile(self, node: Node) -> Compiled:
        self.exact = True
        query = self._node(node, negative=False)
        return Compiled(query, self.exact)

    # --- leaves ---------------------------------------------------------------------------

    def _terms(self, field: str, terms: tuple[str, ...]) -> tantivy.Query:
        if not terms:
            return tantivy.Query.empty_query()
        if len(terms) == 1:
            return tantivy.Query.term_query(self.schema, field, terms[0])
        return tantivy.Query.phrase_query(self.schema, field, list(terms))

    def _leaf(self, node: Node) -> tantivy.Query:
        if isinstance(node, (Word, Phrase)):
            return self._terms(node.field, node.terms)
        if isinstance(node, Wildcard):
            return tantivy.Query.regex_query(self.schema, node.field, wildcard_to_regex(node.pattern))
        if isinstance(node, Fuzzy):
            return tantivy.Query.fuzzy_term_query(self.schema, node.field, node.term, distance=node.distance, transposition_cost_one=True)
        if isinstance(node, Stem):
            if node.field == TEXT:
                return tantivy.Query.term_query(self.schema, "text_stem", stem(node.term))
            return tantivy.Query.term_query(self.schema, node.field, node.term)
        if isinstance(node, Keyword):
            if node.field == "has":
                return tantivy.Query.term_query(self.schema, "has_attachment", 1)
            return tantivy.Query.term_query(self.schema, KEYWORD_INDEX_FIELDS[node.field], node.value)
        if isinstance(node, DateRange):
            return tantivy.Query.range_query(
                self.schema, "date", tantivy.FieldType.Date,
                _naive(node.start), _naive(node.end), include_lower=True, include_upper=node.end is None,
            )
        raise TypeError(f"not a leaf: {node!r}")

    # --- structure --------------------------------------------------------------------------

    def _node(self, node: Node, negative: bool) -> tantivy.Query:
        if isinstance(node, And):
            clauses = []
            for child in node.children:
                if isinstance(child, Not):
                    clauses.append((Occur.MustNot, self._node(child.child, not negative)))
                else:
                    clauses.append((Occur.Must, self._node(child, negative)))
            if all(occur == Occur.MustNot for occur, _ in clauses):
                clauses.insert(0, (Occur.Must, tantivy.Query.all_query()))
            return tantivy.Query.boolean_query(clauses)
        if isinstance(node, Or):
            return tantivy.Query.boolean_query([(Occur.Should, self._node(c, negative)) for c in node.children])
        if isinstance(node, Not):
            return tantivy.Query.boolean_query(
                [(Occur.Must, tantivy.Query.all_query()), (Occur.MustNot, self._node(node.child, not negative))]
            )
        if isinstance(node, Near):
            return self._near(node, negative)
        return self._leaf(node)

    def _near(self, node: Near, negative: bool) -> tantivy.Query:
        native = self._near_native(node)
        if native is not None:
            return native
        self.exact = False
        if negative:
            return tantivy.Query.empty_query()  # under NOT, a narrower query keeps the whole wider
        return tantivy.Query.boolean_query([(Occur.Must, self._node(node.left, False)), (Occur.Must, self._node(node.right, False))])

    def _near_native(self, node: Near) -> tantivy.Query | None:
        left, right = _sequences(node.left), _sequences(node.right)
        if left is None or right is None or len(left) * len(right) > MAX_NEAR_ALTERNATIVES:
            return None
        alternatives: list[tantivy.Query] = []
        for a, b in product(left, right):
            if not a or not b:
                continue
            if not node.ordered and len(a) == 1 and len(b) == 1 and a != b:
                alternatives.append(self._phrase([(0, a[0]), (0, b[0])], slop=node.distance))
                continue
            # A word near itself needs two occurrences, which a slop (it lets one occurrence pair with
            # itself) cannot say: a fixed-offset phrase per gap does.
            orders = [(a, b)] if node.ordered or a == b else [(a, b), (b, a)]
            for first, second in orders:
                for gap in range(1, node.distance + 1):
                    words = [(i, w) for i, w in enumerate(first)] + [(len(first) - 1 + gap + i, w) for i, w in enumerate(second)]
                    alternatives.append(self._phrase(words, slop=0))
        if not alternatives:
            return tantivy.Query.empty_query()
        if len(alternatives) == 1:
            return alternatives[0]
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in alternatives])

    def _phrase(self, words: list[tuple[int, tuple[str, str]]], slop: int) -> tantivy.Query:
        if any(kind == "regex" for _, (kind, _) in words):
            patterns = [(offset, value if kind == "regex" else wildcard_to_regex(value)) for offset, (kind, value) in words]
            return tantivy.Query.regex_phrase_query(self.schema, TEXT, patterns, slop=slop)
        return tantivy.Query.phrase_query(self.schema, TEXT, [(offset, value) for offset, (_, value) in words], slop=slop)


def _sequences(node: Node) -> list[tuple[tuple[str, str], ...]] | None:
    """The word sequences a proximity side stands for, when each is plain words or wildcards."""
    if isinstance(node, (Word, Phrase)):
        return [tuple(("term", t) for t in node.terms)]
    if isinstance(node, Wildcard):
        return [(("regex", wildcard_to_regex(node.pattern)),)]
    if isinstance(node, Or):
        found: list[tuple[tuple[str, str], ...]] = []
        for child in node.children:
            inner = _sequences(child)
            if inner is None:
                return None
            found.extend(inner)
        return found
    return None


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
