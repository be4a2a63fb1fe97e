"""The query parser: user text -> syntax tree, or a QuerySyntaxError naming the position and what was expected.

Grammar (operators are upper-case so the words "and", "or", "not" stay searchable):

    query    := or_expr EOF
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := not_expr (["AND"] not_expr)*            -- juxtaposition is AND
    not_expr := "NOT" not_expr | near
    near     := primary (("W/"N | "PRE/"N) primary)*
    primary  := "(" or_expr ")" | '"' words '"' | field ":" value | date | word ["~1" | "~2" | "~stem"]

Nothing the user types is passed on as backend query syntax: every leaf holds folded words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from disclose.items import Kind
from disclose.query.folding import fold, words
from disclose.query.nodes import (
    KEYWORD_FIELDS,
    TEXT,
    TEXT_FIELDS,
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
    leaves,
)

MAX_DISTANCE = 100
MAX_LENGTH = 10_000


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "phrase", "(", ")", "end"
    text: str
    position: int


_NEAR = re.compile(r"^(W|PRE)/(\d+)$", re.IGNORECASE)
_DATE_CMP = re.compile(r"^date(>=|<=|>|<|:)(.*)$", re.IGNORECASE | re.DOTALL)
_FIELD = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
_FUZZY = re.compile(r"^(.*?)~(.*)$", re.DOTALL)
_WILDCARD_WORD = re.compile(r"^[^\W_*?]*[*?][^\W_*?]*(?:[*?][^\W_*?]*)*$")
_KINDS = [k.value for k in Kind]


def _lex(text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            found.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError(f'expected a closing " for the phrase opened at position {i}', len(text))
            found.append(_Token("phrase", text[i + 1 : close], i))
            i = close + 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()"':
                i += 1
            found.append(_Token("word", text[start:i], start))
    found.append(_Token("end", "", len(text)))
    return found


def _day(value: str, position: int) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QuerySyntaxError(f"expected a date like 2021-03-31, found {value!r}", position) from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def _date_range(operator: str, value: str, position: int) -> DateRange:
    if not value:
        raise QuerySyntaxError("expected a date like 2021-03-31", position)
    if operator == ":":
        if ".." in value:
            low, high = value.split("..", 1)
            if not low and not high:
                raise QuerySyntaxError("expected a date on at least one side of ..", position)
            start = _midnight(_day(low, position)) if low else None
            end = _midnight(_day(high, position + len(low) + 2) + timedelta(days=1)) if high else None
            if start and end and start >= end:
                raise QuerySyntaxError("the first date of a range must not be after the second", position)
            return DateRange(start, end)
        day = _day(value, position)
        return DateRange(_midnight(day), _midnight(day + timedelta(days=1)))
    day = _day(value, position)
    if operator == ">=":
        return DateRange(_midnight(day), None)
    if operator == ">":
        return DateRange(_midnight(day + timedelta(days=1)), None)
    if operator == "<=":
        return DateRange(None, _midnight(day + timedelta(days=1)))
    return DateRange(None, _midnight(day))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_operator(self, token: _Token, *names: str) -> bool:
        return token.kind == "word" and token.text in names

    def is_near(self, token: _Token) -> bool:
        return token.kind == "word" and _NEAR.match(token.text) is not None

    def starts_operand(self, token: _Token) -> bool:
        if token.kind in ("phrase", "("):
            return True
        return token.kind == "word" and not self.is_operator(token, "AND", "OR") and not self.is_near(token)

    def expected_operand(self, after: str) -> QuerySyntaxError:
        token = self.current
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return QuerySyntaxError(f"expected a word, phrase or ( {after}, found {found}", token.position)

    # --- grammar -------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise QuerySyntaxError("expected a word, phrase or ( : the query is empty", 0)
        node = self.or_expr()
        token = self.current
        if token.kind == ")":
            raise QuerySyntaxError("found ) with no ( to close", token.position)
        if token.kind != "end":
            raise QuerySyntaxError(f"expected AND, OR or the end of the query, found {token.text!r}", token.position)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.is_operator(self.current, "OR"):
            self.advance()
            if not self.starts_operand(self.current):
                raise self.expected_operand("after OR")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while True:
            token = self.current
            if self.is_operator(token, "AND"):
                self.advance()
                if not self.starts_operand(self.current):
                    raise self.expected_operand("after AND")
                children.append(self.not_expr())
            elif self.starts_operand(token):
                children.append(self.not_expr())
            else:
                break
        # Bare punctuation ("{", "--") has no words: it separates, it does not make the AND unmatchable.
        kept = [c for c in children if c != Word(())] or children[:1]
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def not_expr(self) -> Node:
        if self.is_operator(self.current, "NOT"):
            self.advance()
            if not self.starts_operand(self.current):
                raise self.expected_operand("after NOT")
            return Not(self.not_expr())
        return self.near()

    def near(self) -> Node:
        node = self.primary()
        while self.is_near(self.current):
            token = self.advance()
            match = _NEAR.match(token.text)
            assert match is not None
            distance = int(match.group(2))
            if not 1 <= distance <= MAX_DISTANCE:
                raise QuerySyntaxError(f"expected a distance from 1 to {MAX_DISTANCE} in {token.text}", token.position)
            if not self.starts_operand(self.current) or self.is_operator(self.current, "NOT"):
                raise self.expected_operand(f"after {token.text}")
            right = self.primary()
            for side in (node, right):
                _check_near_side(side, token)
            node = Near(node, right, distance, ordered=match.group(1).upper() == "PRE")
        return node

    def primary(self, field: str | None = None) -> Node:
        token = self.current
        if token.kind == "(":
            self.advance()
            if not self.starts_operand(self.current) and not self.is_operator(self.current, "NOT"):
                raise self.expected_operand("after (")
            inner = self.or_expr() if field is None else self.field_group(field)
            if self.current.kind != ")":
                found = "the end of the query" if self.current.kind == "end" else repr(self.current.text)
                raise QuerySyntaxError(f"expected ) to close the ( at position {token.position}, found {found}", self.current.position)
            self.advance()
            return inner
        if token.kind == "phrase":
            self.advance()
            return self.phrase(token, field or TEXT)
        if token.kind == "word":
            if self.is_operator(token, "AND", "OR") or self.is_near(token):
                raise self.expected_operand("before " + token.text)
            if self.is_operator(token, "NOT") and field is None:
                raise self.expected_operand("here")
            self.advance()
            return self.word(token, field)
        raise self.expected_operand("here")

    def field_group(self, field: str) -> Node:
        """Inside `subject:( ... )`: the same grammar, every leaf searching `field`."""
        saved = self.or_expr()
        return _with_field(saved, field, self.current.position)

    def phrase(self, token: _Token, field: str) -> Node:
        terms = tuple(words(token.text))
        if field in KEYWORD_FIELDS.values():
            return self.keyword(field, token.text, token.position)
        if len(terms) == 1:
            return Word(terms, field)
        return Phrase(terms, field)

    def word(self, token: _Token, field: str | None) -> Node:
        text = token.text
        if field is None:
            date_match = _DATE_CMP.match(text)
            if date_match:
                operator, value = date_match.group(1), date_match.group(2)
                return _date_range(operator, value, token.position + 4 + len(operator))
            field_match = _FIELD.match(text)
            if field_match and field_match.group(1).lower() in {**TEXT_FIELDS, **KEYWORD_FIELDS}:
                name = field_match.group(1).lower()
                target = TEXT_FIELDS.get(name) or KEYWORD_FIELDS[name]
                value = field_match.group(2)
                value_position = token.position + len(name) + 1
                if value:
                    return self.word(_Token("word", value, value_position), target)
                nxt = self.current
                if nxt.kind == "phrase":
                    self.advance()
                    return self.phrase(nxt, target)
                if nxt.kind == "(" and target in TEXT_FIELDS.values():
                    return self.primary(target)
                if nxt.kind == "word" and not self.is_operator(nxt, "AND", "OR", "NOT") and not self.is_near(nxt):
                    self.advance()
                    return self.word(nxt, target)
                raise QuerySyntaxError(f"expected a value after {name}:", nxt.position)
        target = field or TEXT
        if target in KEYWORD_FIELDS.values():
            return self.keyword(target, text, token.position)
        return _term(text, target, token.position)

    def keyword(self, field: str, value: str, position: int) -> Node:
        folded = " ".join(words(value))
        if not folded:
            raise QuerySyntaxError(f"expected a value after {field}:", position)
        if field == "has":
            if folded not in ("attachment", "attachments"):
                raise QuerySyntaxError("expected has:attachment", position)
            return Keyword("has", "attachment")
        if field == "kind":
            folded = fold(value).strip()
            if folded not in _KINDS:
                raise QuerySyntaxError(f"expected one of {', '.join(_KINDS)} after kind:", position)
            return Keyword("kind", folded)
        if field in ("thread", "source"):
            return Keyword(field, fold(value).strip())
        return Keyword(field, folded)


def _term(text: str, field: str, position: int) -> Node:
    fuzzy = _FUZZY.match(text)
    if fuzzy and fuzzy.group(1):
        base, suffix = fuzzy.group(1), fuzzy.group(2).lower()
        terms = words(base)
        if len(terms) != 1 or any(c in base for c in "*?"):
            raise QuerySyntaxError("~ works on a single word", position)
        if suffix == "stem":
            return Stem(terms[0], field)
        if suffix in ("", "1", "2"):
            return Fuzzy(terms[0], int(suffix or "1"), field)
        raise QuerySyntaxError(f"expected ~1, ~2 or ~stem after {base!r}", position + len(base) + 1)
    if ("*" in text or "?" in text) and _WILDCARD_WORD.match(text) and any(c.isalnum() for c in text):
        return Wildcard(fold(text), field)
    terms = tuple(words(text))  # punctuation (including raw backend syntax such as *:* or ^) is only a separator
    return Word(terms, field) if len(terms) <= 1 else Phrase(terms, field)


def _with_field(node: Node, field: str, position: int) -> Node:
    if isinstance(node, (Word, Phrase, Wildcard, Fuzzy, Stem)):
        return type(node)(*[getattr(node, f) for f in node.__dataclass_fields__ if f != "field"], field=field)  # type: ignore[call-arg]
    if isinstance(node, And):
        return And(tuple(_with_field(c, field, position) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_with_field(c, field, position) for c in node.children))
    if isinstance(node, Not):
        return Not(_with_field(node.child, field, position))
    raise QuerySyntaxError("only words, phrases, wildcards, AND, OR and NOT can go inside a field's ( )", position)


def _check_near_side(node: Node, operator: _Token) -> None:
    for leaf in leaves(node):
        if isinstance(leaf, (Keyword, DateRange)) or getattr(leaf, "field", TEXT) != TEXT:
            raise QuerySyntaxError(f"{operator.text} works on words of the item text, not on fields or dates", operator.position)
    if _has_not(node):
        raise QuerySyntaxError(f"NOT cannot be used on either side of {operator.text}", operator.position)


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, (And, Or)):
        return any(_has_not(c) for c in node.children)
    if isinstance(node, Near):
        return _has_not(node.left) or _has_not(node.right)
    return False


def parse(text: str) -> Node:
    """The syntax tree of a query, or QuerySyntaxError(message, position) with a 0-based character position."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"the query is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text).parse()
