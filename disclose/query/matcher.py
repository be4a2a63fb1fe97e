"""Evaluate a syntax tree against one item's own values, with the index's folding rules.

Used by the highlighter (which words of the text made the item match, including wildcard,
fuzzy, stemmed and proximity matches) and by backends to verify candidates for queries their
engine can only approximate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Callable

from disclose.query.folding import _WORD as _WORD_RE
from disclose.query.folding import Token, stem, tokens
from disclose.query.nodes import (
    has_node,
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
    positive_leaves,
)


@dataclass(frozen=True)
class Span:
    """A match inside one value of a field: word positions `start..end` and the words that matched."""

    value: int
    start: int
    end: int
    positions: tuple[int, ...]


@dataclass
class DocumentView:
    """What the matcher needs of an item: analysed field values, keyword values (folded) and its date."""

    text_fields: dict[str, list[str]] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    date: datetime | None = None


def osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance counting a swap of neighbours as one edit (as Lucene/tantivy fuzzy queries do); stops past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """`*` any run of letters/digits, `?` exactly one; everything else literal."""
    body = "".join("[^\\W_]*" if c == "*" else "[^\\W_]" if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body)


@lru_cache(maxsize=262_144)  # shared across queries: the same words recur in every item
def _leaf_matches_word(leaf: Node, word: str) -> bool:
    if isinstance(leaf, Word):
        result = len(leaf.terms) == 1 and word == leaf.terms[0]
    elif isinstance(leaf, Wildcard):
        result = wildcard_regex(leaf.pattern).fullmatch(word) is not None
    elif isinstance(leaf, Fuzzy):
        result = osa_distance(word, leaf.term, leaf.distance) <= leaf.distance
    elif isinstance(leaf, Stem):
        result = stem(word) == stem(leaf.term)
    else:
        result = False
    return result


def _fuzzy_candidates(term: str, distance: int) -> str:
    """A regex for every word within `distance` edits of `term` (and some others).

    Any such word has a length within `distance` of the term's, and, cutting the term into 2*distance+1
    pieces, still holds one piece intact: an insertion, deletion or substitution breaks at most one piece
    and a swap of neighbours at most two."""
    low, high = max(1, len(term) - distance), len(term) + distance
    pieces = 2 * distance + 1
    if distance == 0 or len(term) < pieces:
        return f"[^\\W_]{{{low},{high}}}"
    cuts = [len(term) * i // pieces for i in range(pieces + 1)]
    kept = "|".join(re.escape(term[a:b]) for a, b in zip(cuts, cuts[1:]))
    return f"(?=[^\\W_]{{0,{high}}}?(?:{kept}))[^\\W_]{{{low},{high}}}"


def _has_near(node: Node) -> bool:
    return has_node(node, lambda n: isinstance(n, Near))


class Matcher:
    """One query's matching rules; word tests are cached so long texts are cheap to scan."""

    def __init__(self, tree: Node) -> None:
        self.tree = tree

    # --- single words ----------------------------------------------------------------------

    def _word_matches(self, leaf: Node, word: str) -> bool:
        if isinstance(leaf, Word):
            return len(leaf.terms) == 1 and word == leaf.terms[0]
        return _leaf_matches_word(leaf, word)


    # --- spans in token streams -------------------------------------------------------------

    def spans(self, node: Node, streams: list[list[Token]]) -> list[Span]:
        if isinstance(node, (Word, Phrase)) and len(node.terms) != 1:
            return self._phrase_spans(node.terms, streams)
        if isinstance(node, (Word, Wildcard, Fuzzy, Stem)):
            return [
                Span(v, t.position, t.position, (t.position,))
                for v, stream in enumerate(streams)
                for t in stream
                if self._word_matches(node, t.text)
            ]
        if isinstance(node, Or):
            return [s for child in node.children for s in self.spans(child, streams)]
        if isinstance(node, And):
            parts = [self.spans(child, streams) for child in node.children if not isinstance(child, Not)]
            return [s for part in parts for s in part] if parts and all(parts) else []
        if isinstance(node, Near):
            return self._near_spans(node, streams)
        return []

    @staticmethod
    def _phrase_spans(terms: tuple[str, ...], streams: list[list[Token]]) -> list[Span]:
        # By word position, not list index: a stream may hold only the candidate words (see text_matches).
        if not terms:
            return []
        found = []
        width = len(terms)
        for v, stream in enumerate(streams):
            at = {t.position: t.text for t in stream}
            for t in stream:
                i = t.position
                if t.text == terms[0] and all(at.get(i + k) == terms[k] for k in range(1, width)):
                    found.append(Span(v, i, i + width - 1, tuple(range(i, i + width))))
        return found

    def _near_spans(self, node: Near, streams: list[list[Token]]) -> list[Span]:
        left = self.spans(node.left, streams)
        if not left:
            return []
        right = self.spans(node.right, streams)
        found = []
        for a in left:
            for b in right:
                if a.value != b.value:
                    continue
                forward = 1 <= b.start - a.end <= node.distance
                backward = not node.ordered and 1 <= a.start - b.end <= node.distance
                if forward or backward:
                    found.append(Span(a.value, min(a.start, b.start), max(a.end, b.end), tuple(sorted({*a.positions, *b.positions}))))
        return found

    # --- whole items ---------------------------------------------------------------------------

    def matches(self, doc: DocumentView) -> bool:
        streams: dict[str, list[list[Token]]] = {}

        def field_streams(name: str) -> list[list[Token]]:
            if name not in streams:
                streams[name] = [tokens(value) for value in doc.text_fields.get(name, [])]
            return streams[name]

        def evaluate(node: Node) -> bool:
            if isinstance(node, And):
                return all(evaluate(c) for c in node.children)
            if isinstance(node, Or):
                return any(evaluate(c) for c in node.children)
            if isinstance(node, Not):
                return not evaluate(node.child)
            if isinstance(node, Near):
                return bool(self.spans(node, field_streams(TEXT)))
            if isinstance(node, Keyword):
                return node.value in doc.keywords.get(node.field, [])
            if isinstance(node, DateRange):
                if doc.date is None:
                    return False
                return (node.start is None or doc.date >= node.start) and (node.end is None or doc.date < node.end)
            return bool(self.spans(node, field_streams(node.field)))

        return evaluate(self.tree)

    def _ascii_plan(self) -> "_AsciiPlan | None":
        """For queries without W/ or PRE/ whose marked text leaves are ASCII: regexes that find every match in a
        lower-cased ASCII text without building a token per word (None: use the token path)."""
        if not hasattr(self, "_plan"):
            self._plan = _AsciiPlan.of(self.tree)
        return self._plan

    def _candidate_regex(self) -> re.Pattern[str] | None:
        """A regex that finds every word any marked leaf could match (a superset), or None when some leaf
        (a stemmed word) could match any word. Lets the highlighter skip building a token per word."""
        if not hasattr(self, "_candidates"):
            parts: list[str] | None = []
            for leaf in positive_leaves(self.tree):
                if isinstance(leaf, (Keyword, DateRange)) or getattr(leaf, "field", TEXT) != TEXT:
                    continue
                if isinstance(leaf, (Word, Phrase)) and all(t.isascii() for t in leaf.terms):
                    parts.extend(re.escape(t) for t in leaf.terms)
                elif isinstance(leaf, Wildcard) and leaf.pattern.isascii():
                    parts.append(wildcard_regex(leaf.pattern).pattern)
                elif isinstance(leaf, Fuzzy) and leaf.term.isascii():
                    # Any word within `distance` edits has a length within `distance` of the term's.
                    parts.append(_fuzzy_candidates(leaf.term, leaf.distance))
                else:
                    parts = None
                    break
            self._candidates = re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + r")(?![^\W_])") if parts else None
        return self._candidates

    def _candidate_tokens(self, lowered: str, candidates: re.Pattern[str]) -> list[Token]:
        """The candidate words of an ASCII text with their true word positions (words between them counted, not built)."""
        found: list[Token] = []
        position, cursor = 0, 0
        count_words = _WORD_RE.findall
        for m in candidates.finditer(lowered):
            start, end = m.span()
            position += len(count_words(lowered, cursor, start))
            found.append(Token(m.group(), start, end, position))
            position += 1
            cursor = end
        return found

    def text_matches(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of `text` (an item's text) that the query's positive words match, in order."""
        ascii_text = text.isascii()
        plan = self._ascii_plan() if ascii_text else None
        if plan is not None:
            return plan.matches(text.lower())
        return self.token_matches(text)

    def token_matches(self, text: str) -> list[tuple[int, int]]:
        """`text_matches` by word tokens and spans: the general path, and the reference the regex plan must agree with."""
        ascii_text = text.isascii()
        candidates = self._candidate_regex() if ascii_text else None
        stream = self._candidate_tokens(text.lower(), candidates) if candidates is not None else tokens(text)
        positions: set[int] = set()

        def collect(node: Node) -> None:
            if isinstance(node, Not):
                return
            if isinstance(node, (And, Or)):
                for child in node.children:
                    collect(child)
                return
            if isinstance(node, (Keyword, DateRange)):
                return
            if getattr(node, "field", TEXT) != TEXT:
                return
            for span in self.spans(node, [stream]):
                positions.update(span.positions)

        collect(self.tree)
        by_position = {t.position: t for t in stream}
        return [(by_position[p].start, by_position[p].end) for p in sorted(positions)]


# Every ASCII byte that is not a letter or digit becomes a space: bytes.split() then yields the index words.
_SEPARATORS = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
_AFTER = r"(?![^\W_])"  # not followed by a letter or digit: the end of an index word


def _starts_word(text: str, start: int) -> bool:
    # Checked in Python rather than by a look-behind so each regex starts with a literal and scans fast.
    return start == 0 or not text[start - 1].isalnum()


def _word_test(leaf: Node) -> "Callable[[str], bool]":
    """The single-word test of a wildcard, fuzzy or stemmed leaf, uncached (callers keep their own sets)."""
    if isinstance(leaf, Wildcard):
        fullmatch = wildcard_regex(leaf.pattern).fullmatch
        return lambda word: fullmatch(word) is not None
    if isinstance(leaf, Fuzzy):
        term, distance = leaf.term, leaf.distance
        return lambda word: abs(len(word) - len(term)) <= distance and osa_distance(word, term, distance) <= distance
    if isinstance(leaf, Stem):
        target = stem(leaf.term)
        return lambda word: stem(word) == target
    raise TypeError(f"not a single-word leaf: {leaf!r}")


@dataclass
class _TestedWords:
    """Which words one leaf was found to match or not, kept across queries: the same words recur in every item."""

    hits: set[bytes] = field(default_factory=set)
    misses: set[bytes] = field(default_factory=set)


_TESTED: dict[Node, _TestedWords] = {}
_TESTED_LEAVES = 256  # forget the oldest leaf past this many
_TESTED_WORDS = 500_000  # and a leaf's words past this many


def _tested_words(leaf: Node) -> _TestedWords:
    tested = _TESTED.pop(leaf, None)
    if tested is None or len(tested.misses) + len(tested.hits) > _TESTED_WORDS:
        tested = _TestedWords()
    _TESTED[leaf] = tested  # re-inserted: dicts keep insertion order, so the first key is the least recently used
    while len(_TESTED) > _TESTED_LEAVES:
        del _TESTED[next(iter(_TESTED))]
    return tested


@dataclass
class _AsciiPlan:
    """How to find a proximity-free query's matches in lower-cased ASCII text without a token per word.

    Without W/ or PRE/, the marked words are the union of each positive text leaf's matches on its own.
    Plain words and wildcards that start with a letter are one regex that begins with a literal (so it
    scans fast); whether a hit starts a word is checked in Python instead of by a look-behind. Fuzzy,
    stemmed and leading-wildcard leaves test each distinct word of the text (from one bytes split) once,
    remembering the answer, and the words that matched join the regex. A phrase is its words with
    nothing but separators between them, which one regex says directly."""

    exact: tuple[str, ...]  # regexes of plain words and wildcards with a literal start
    tested: tuple[tuple[Node, "Callable[[str], bool]"], ...]  # leaves whose words are tested one by one
    phrases: tuple[re.Pattern[str], ...]
    regexes: dict[frozenset[bytes], re.Pattern[str] | None] = field(default_factory=dict)
    known: tuple[_TestedWords, ...] | None = None

    @staticmethod
    def of(tree: Node) -> "_AsciiPlan | None":
        if _has_near(tree):
            return None
        exact: list[str] = []
        tested: list[tuple[Node, Callable[[str], bool]]] = []
        phrases: list[re.Pattern[str]] = []
        for leaf in positive_leaves(tree):
            if isinstance(leaf, (Keyword, DateRange)) or getattr(leaf, "field", TEXT) != TEXT:
                continue
            if isinstance(leaf, (Word, Phrase)):
                if not all(t.isascii() for t in leaf.terms):
                    return None
                if len(leaf.terms) == 1:
                    exact.append(re.escape(leaf.terms[0]))
                elif leaf.terms:
                    phrases.append(re.compile(r"[\W_]+".join(f"({re.escape(t)})" for t in leaf.terms) + _AFTER))
            elif isinstance(leaf, Wildcard) and leaf.pattern[:1].isalnum():
                exact.append(wildcard_regex(leaf.pattern).pattern)
            elif isinstance(leaf, (Wildcard, Fuzzy, Stem)):
                tested.append((leaf, _word_test(leaf)))
        return _AsciiPlan(tuple(exact), tuple(tested), tuple(phrases))

    def _tested_matches(self, lowered: str) -> frozenset[bytes]:
        words = set(lowered.encode("ascii").translate(_SEPARATORS).split())
        found: set[bytes] = set()
        if self.known is None:  # looked up once per query, not per item
            self.known = tuple(_tested_words(leaf) for leaf, _ in self.tested)
        for (_, test), known in zip(self.tested, self.known):
            for word in words.difference(known.misses, known.hits):
                (known.hits if test(word.decode()) else known.misses).add(word)
            found |= words & known.hits
        return frozenset(found)

    def _regex_for(self, words: frozenset[bytes]) -> re.Pattern[str] | None:
        if words not in self.regexes:
            alternatives = [*self.exact, *(re.escape(w.decode()) for w in sorted(words))]
            self.regexes[words] = re.compile("(?:" + "|".join(alternatives) + ")" + _AFTER) if alternatives else None
        return self.regexes[words]

    def matches(self, lowered: str) -> list[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        regex = self._regex_for(self._tested_matches(lowered) if self.tested else frozenset())
        if regex is not None:
            # The end check makes an alternation take whole words only; a hit inside a word ends at that
            # word's end, so skipping it never hides a real match.
            found.update(m.span() for m in regex.finditer(lowered) if _starts_word(lowered, m.start()))
        for phrase in self.phrases:
            at = phrase.search(lowered)
            while at is not None:  # again from the next character: phrases may overlap ("a a" in "a a a")
                if _starts_word(lowered, at.start()):
                    found.update(at.span(g) for g in range(1, phrase.groups + 1))
                at = phrase.search(lowered, at.start() + 1)
        return sorted(found)
