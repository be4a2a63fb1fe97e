"""Item text cut into pieces for display: plain runs and marked runs (search matches, redaction
markers), and pages (a form feed in extracted text is a page break)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class Piece:
    text: str
    start: int  # offset of the piece in the whole item text (the review page posts offsets back)
    mark: Any = None  # what covers this piece: None for plain text


def pieces(text: str, spans: Sequence[tuple[int, int, Any]], offset: int = 0) -> list[Piece]:
    """`text` cut at the spans (offsets relative to `offset`); overlapping spans are clipped to the earlier one."""
    cut: list[Piece] = []
    cursor = 0
    for start, end, mark in sorted(spans, key=lambda s: (s[0], -s[1])):
        start, end = max(start - offset, cursor), min(end - offset, len(text))
        if end <= start:
            continue
        if start > cursor:
            cut.append(Piece(text[cursor:start], offset + cursor))
        cut.append(Piece(text[start:end], offset + start, mark))
        cursor = end
    if cursor < len(text):
        cut.append(Piece(text[cursor:], offset + cursor))
    return cut


@dataclass
class Page:
    number: int
    start: int  # offset of the page's first character in the item text
    pieces: list[Piece]


def paged(text: str, spans: Sequence[tuple[int, int, Any]], start: int = 0) -> list[Page]:
    """The text from `start` split at form feeds, each page with its own pieces."""
    pages: list[Page] = []
    position = start
    for number, chunk in enumerate(text[start:].split("\f"), start=1):
        inside = [s for s in spans if s[1] > position and s[0] < position + len(chunk)]
        pages.append(Page(number, position, pieces(chunk, inside, position)))
        position += len(chunk) + 1
    return pages
