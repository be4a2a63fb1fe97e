"""Our own highlighter: every word that made an item match, including wildcard, fuzzy, stemmed and
proximity matches (tantivy's snippet generator leaves those empty), marked in an HTML-escaped snippet."""

from __future__ import annotations

import html
from dataclasses import dataclass

from disclose.query.matcher import Matcher
from disclose.query.nodes import Node

SNIPPET_CHARS = 240


@dataclass
class Highlight:
    snippet: str  # HTML: escaped text with <mark> around matches
    matches: list[tuple[int, int]]  # character offsets of every match in the item text


def _window(text: str, matches: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """The stretch of `width` characters holding the most matches, widened to word boundaries."""
    if not matches:
        end = min(len(text), width)
    else:
        best_start, best_count = matches[0][0], 0
        j = 0
        for i, (start, _) in enumerate(matches):
            while j < len(matches) and matches[j][1] <= start + width:
                j += 1
            if j - i > best_count:
                best_start, best_count = start, j - i
        start = max(0, best_start - width // 4)
        end = min(len(text), start + width)
        return _to_boundaries(text, start, end)
    return _to_boundaries(text, 0, end)


def _to_boundaries(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and not text[start - 1].isspace() and start > 0:
        start -= 1
        if start == 0:
            break
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def snippet_html(text: str, matches: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    start, end = _window(text, matches, width)
    parts: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for m_start, m_end in matches:
        if m_end <= start or m_start >= end:
            continue
        m_start, m_end = max(m_start, start), min(m_end, end)
        parts.append(html.escape(text[cursor:m_start]))
        parts.append("<mark>" + html.escape(text[m_start:m_end]) + "</mark>")
        cursor = m_end
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append("…")
    return " ".join("".join(parts).split())


def highlight(tree: Node, text: str, *, width: int = SNIPPET_CHARS, matcher: Matcher | None = None) -> Highlight:
    """Snippet and match offsets of `text` for a parsed query."""
    found = (matcher or Matcher(tree)).text_matches(text)
    return Highlight(snippet=snippet_html(text, found, width), matches=found)
