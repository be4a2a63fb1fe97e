"""Laying text out on PDF pages so that every redacted character range lands in a known box.

The marked characters are never written: a marked range becomes a run of spaces wide enough
for its exemption label, and the labelled box is burned over it with a redaction annotation.
Because we place every glyph ourselves, the box positions are exact (no text search needed)
and boxes sit inside their own line, never touching the lines above and below.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pymupdf

from search_api.bundle.model import Marker

PAGE_WIDTH, PAGE_HEIGHT = pymupdf.paper_size("a4")
MARGIN = 50.0
BOTTOM_MARGIN = 60.0  # room for the page number stamp
LEADING = 1.35  # line height as a multiple of the font size: boxes stay inside their line
LABEL_SCALE = 0.8

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class FontSet:
    """Two faces (regular, bold) by the names insert_text uses, with files when they must be embedded."""

    regular: str
    bold: str
    regular_file: str | None
    bold_file: str | None

    def measure(self, bold: bool) -> pymupdf.Font:
        return _font(self.bold if bold else self.regular, self.bold_file if bold else self.regular_file)


@lru_cache(maxsize=8)
def _font(name: str, file: str | None) -> pymupdf.Font:
    return pymupdf.Font(fontfile=file) if file else pymupdf.Font(name)


BASE14 = FontSet("helv", "hebo", None, None)


def unicode_fonts() -> FontSet:
    regular, bold = DEJAVU_DIR / "DejaVuSans.ttf", DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        return FontSet("dejavu", "dejavub", str(regular), str(bold))
    return BASE14  # without fonts-dejavu-core, characters outside Latin-1 show as '?'


def fonts_for(texts: list[str]) -> FontSet:
    """Helvetica (not embedded, small files) when everything fits WinAnsi; DejaVu otherwise."""
    for text in texts:
        try:
            text.encode("cp1252")
        except UnicodeEncodeError:
            return unicode_fonts()
    return BASE14


class _Widths:
    """Glyph advances cached per character: measuring strings with Font.text_length is slow."""

    def __init__(self, font: pymupdf.Font, size: float) -> None:
        self.font = font
        self.size = size
        self.cache: dict[str, float] = {}
        self.words: dict[str, float] = {}

    def char(self, ch: str) -> float:
        width = self.cache.get(ch)
        if width is None:
            width = self.font.glyph_advance(ord(ch)) * self.size
            self.cache[ch] = width
        return width

    def text(self, text: str) -> float:
        width = self.words.get(text)
        if width is None:
            width = sum(self.char(ch) for ch in text)
            if len(self.words) < 50_000:
                self.words[text] = width
        return width


@dataclass
class Box:
    """A burned-in redaction: where it is and the label it carries."""

    page: int
    rect: pymupdf.Rect
    code: str


@dataclass
class _Line:
    text: str
    x: float
    baseline: float
    size: float
    bold: bool


@dataclass
class _Page:
    lines: list[_Line] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)


def merged_markers(markers: list[Marker], start: int, end: int) -> list[tuple[int, int, str]]:
    """Markers clipped to [start, end) and merged where they overlap; codes are joined."""
    spans = sorted((max(m.start, start), min(m.end, end), m.code) for m in markers if m.end > start and m.start < end)
    merged: list[tuple[int, int, list[str]]] = []
    for s, e, code in spans:
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            last = merged[-1]
            codes = last[2] if code in last[2] else [*last[2], code]
            merged[-1] = (last[0], max(last[1], e), codes)
        else:
            merged.append((s, e, [code]))
    return [(s, e, ", ".join(codes)) for s, e, codes in merged]


def clean(text: str) -> str:
    return _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))


class TextFlow:
    """Greedy line filling over A4 pages; call `render` once to write the pages into a document."""

    def __init__(self, fonts: FontSet, size: float = 10.0) -> None:
        self.fonts = fonts
        self.size = size
        self.pages: list[_Page] = [_Page()]
        self.y = MARGIN
        self.bottom = PAGE_HEIGHT - BOTTOM_MARGIN
        self._widths: dict[tuple[bool, float], _Widths] = {}
        self._label = _Widths(_font("helv", None), 1.0)

    def widths(self, bold: bool, size: float) -> _Widths:
        key = (bold, size)
        if key not in self._widths:
            self._widths[key] = _Widths(self.fonts.measure(bold), size)
        return self._widths[key]

    # ----- building
    def page_break(self) -> None:
        if self.pages[-1].lines or self.pages[-1].boxes:
            self.pages.append(_Page())
            self.y = MARGIN

    def gap(self, points: float) -> None:
        self.y += points

    def rule(self) -> None:
        self.gap(self.size * 0.6)

    def paragraph(
        self,
        text: str,
        markers: list[Marker] | None = None,
        offset: int = 0,
        *,
        bold: bool = False,
        size: float | None = None,
        indent: float = 0.0,
    ) -> None:
        """Lay out `text`, which is item text starting at character `offset`; markers are absolute offsets."""
        size = size or self.size
        tokens = self._tokens(text, markers or [], offset, size)
        self._fill(tokens, bold, size, indent)

    def _tokens(self, text: str, markers: list[Marker], offset: int, size: float) -> list[tuple[str, str]]:
        """('text', s) | ('box', code) | ('nl', '') | ('page', '')."""
        tokens: list[tuple[str, str]] = []
        cursor = offset
        end = offset + len(text)

        def plain(segment: str) -> None:
            pages = segment.split("\f")
            for number, part in enumerate(pages):
                if number:
                    tokens.append(("page", ""))
                lines = clean(part).split("\n")
                for index, line in enumerate(lines):
                    if index:
                        tokens.append(("nl", ""))
                    if line:
                        tokens.append(("text", line))

        for start, stop, code in merged_markers(markers, offset, end):
            plain(text[cursor - offset:start - offset])
            tokens.append(("box", code))
            cursor = stop
        plain(text[cursor - offset:])
        return tokens

    def _newline(self, size: float) -> float:
        self.y += size * LEADING
        if self.y > self.bottom:
            self.pages.append(_Page())
            self.y = MARGIN + size * LEADING
        return self.y

    def _fill(self, tokens: list[tuple[str, str]], bold: bool, size: float, indent: float) -> None:
        widths = self.widths(bold, size)
        space = widths.char(" ") or size * 0.28
        left = MARGIN + indent
        limit = PAGE_WIDTH - MARGIN - left
        baseline = self._newline(size)
        line: list[str] = []
        line_width = 0.0
        pending_boxes: list[tuple[float, float, str]] = []  # x offset, width, code

        def flush() -> None:
            nonlocal line, line_width, pending_boxes, baseline
            page = self.pages[-1]
            if line:
                page.lines.append(_Line("".join(line), left, baseline, size, bold))
            for x, width, code in pending_boxes:
                rect = pymupdf.Rect(left + x + 1, baseline - size * 0.95, left + x + width - 1, baseline + size * 0.25)
                page.boxes.append(Box(len(self.pages) - 1, rect, code))
            line, line_width, pending_boxes = [], 0.0, []

        def place(piece: str, width: float) -> None:
            nonlocal line_width, baseline
            if line and line_width + width > limit:
                flush()
                baseline = self._newline(size)
            line.append(piece)
            line_width += width

        for kind, value in tokens:
            if kind == "nl":
                flush()
                baseline = self._newline(size)
            elif kind == "page":
                flush()
                self.pages.append(_Page())
                self.y = MARGIN
                baseline = self._newline(size)
            elif kind == "box":
                label = self._label.text(value) * size * LABEL_SCALE
                count = max(2, math.ceil((label + 6) / space))
                if line and line_width + count * space > limit:
                    flush()
                    baseline = self._newline(size)
                pending_boxes.append((line_width, min(count * space, limit), value))
                line.append(" " * count)
                line_width += count * space
            else:
                for word in re.findall(r"\S+\s*|\s+", value):
                    width = widths.text(word)
                    if width <= limit:
                        place(word, width)
                        continue
                    for ch in word:  # a word longer than the line is broken where it must be
                        place(ch, widths.char(ch))
        flush()

    # ----- writing
    def render(self, doc: pymupdf.Document) -> list[Box]:
        """Write the laid-out pages into `doc`; return the boxes still to burn in."""
        boxes: list[Box] = []
        first = doc.page_count
        for number, laid in enumerate(self.pages):
            page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
            self._write_lines(page, laid.lines)
            boxes.extend(Box(first + number, b.rect, b.code) for b in laid.boxes)
        return boxes

    def _write_lines(self, page: pymupdf.Page, lines: list[_Line]) -> None:
        registered: set[str] = set()
        # consecutive lines with one face, size and spacing go out in a single insert_text call
        block: list[_Line] = []

        def emit() -> None:
            if not block:
                return
            head = block[0]
            name = self.fonts.bold if head.bold else self.fonts.regular
            file = self.fonts.bold_file if head.bold else self.fonts.regular_file
            if file and name not in registered:
                page.insert_font(fontname=name, fontfile=file)
                registered.add(name)
            texts: list[str] = []
            expected = head.baseline
            step = head.size * LEADING
            for line in block:
                while expected < line.baseline - 0.01:
                    texts.append("")
                    expected += step
                texts.append(line.text)
                expected += step
            page.insert_text((head.x, head.baseline), texts, fontname=name, fontsize=head.size, lineheight=LEADING)
            block.clear()

        for line in lines:
            if block:
                head = block[0]
                step = head.size * LEADING
                gap = line.baseline - block[-1].baseline
                same = line.bold == head.bold and line.size == head.size and line.x == head.x
                if not same or gap < step - 0.01 or abs(gap / step - round(gap / step)) > 0.001:
                    emit()
            block.append(line)
        emit()


def draw_boxes(doc: pymupdf.Document, boxes: list[Box]) -> None:
    """Labelled boxes over text we laid out ourselves: the covered characters were never written, so
    there is nothing under the box to remove and the (slow) redaction pass is not needed."""
    by_page: dict[int, list[Box]] = {}
    for box in boxes:
        by_page.setdefault(box.page, []).append(box)
    for number, page_boxes in by_page.items():
        shape = doc[number].new_shape()
        for box in page_boxes:
            shape.draw_rect(box.rect)
            shape.finish(color=None, fill=(0, 0, 0))
        for box in page_boxes:
            options = label_options(box.rect, box.code)
            if "text" in options:
                size = float(options["fontsize"])  # type: ignore[arg-type]
                width = _font("helv", None).text_length(box.code, fontsize=size)
                x = box.rect.x0 + (box.rect.width - width) / 2
                y = box.rect.y0 + (box.rect.height + size * 0.7) / 2
                shape.insert_text((x, y), box.code, fontname="helv", fontsize=size, color=(1, 1, 1))
        shape.commit()


def burn_in(doc: pymupdf.Document, boxes: list[Box], *, image_pixels: bool = False) -> None:
    """Apply each box as a redaction: whatever lies under it goes, a black box with the code stays."""
    by_page: dict[int, list[Box]] = {}
    for box in boxes:
        by_page.setdefault(box.page, []).append(box)
    for number, page_boxes in by_page.items():
        page = doc[number]
        for box in page_boxes:
            page.add_redact_annot(box.rect, **label_options(box.rect, box.code))
        page.apply_redactions(
            images=pymupdf.PDF_REDACT_IMAGE_PIXELS if image_pixels else pymupdf.PDF_REDACT_IMAGE_NONE,
            graphics=pymupdf.PDF_REDACT_LINE_ART_REMOVE_IF_COVERED if image_pixels else pymupdf.PDF_REDACT_LINE_ART_NONE,
            text=pymupdf.PDF_REDACT_TEXT_REMOVE,
        )


def label_options(rect: pymupdf.Rect, code: str) -> dict[str, object]:
    """A label size that fits the box (MuPDF leaves the label out when it does not fit)."""
    if not code:
        return {"fill": (0, 0, 0)}
    width = _font("helv", None).text_length(code, fontsize=1.0) or 1.0
    size = min(rect.height * 0.75, (rect.width - 2) / width, 9.0)
    if size < 3:
        return {"fill": (0, 0, 0)}
    return {"text": code, "fill": (0, 0, 0), "text_color": (1, 1, 1), "fontsize": size, "fontname": "helv", "align": pymupdf.TEXT_ALIGN_CENTER}
