"""One released document to one PDF: emails, chat days, images, original PDFs and everything else as text."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pymupdf
from PIL import Image, ImageDraw

from disclose.evidence import EvidenceError, EvidenceStore
from disclose.items import Item, Kind
from search_api.bundle.layout import (
    BOTTOM_MARGIN,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Box,
    TextFlow,
    burn_in,
    draw_boxes,
    fonts_for,
    merged_markers,
)
from search_api.bundle.model import LoadedDocument, Marker, PlannedDocument

PAGE_BREAK = "\f"
MAX_IMAGE_SIDE = 2400  # larger images are scaled down for the bundle (the native stays in the evidence store)


class Masker:
    """Replaces every redacted string wherever it turns up in text we add (titles, names, headings)."""

    def __init__(self, redactions: list[tuple[str, str]]) -> None:
        codes: dict[str, str] = {}
        for covered, code in redactions:
            key = " ".join(covered.split()).casefold()
            if len(key.replace(" ", "")) >= 2:
                codes.setdefault(key, code)
        self.codes = codes
        patterns = sorted(codes, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(r"\s+".join(re.escape(w) for w in p.split(" ")) for p in patterns), re.IGNORECASE)
            if patterns else None
        )

    def __call__(self, text: str) -> str:
        if not text or self.pattern is None:
            return text
        return self.pattern.sub(lambda m: f"[{self.codes.get(' '.join(m.group(0).split()).casefold(), 'redacted')}]", text)


def local_time(moment: datetime | None, offset_minutes: int | None) -> datetime | None:
    if moment is None:
        return None
    return moment + timedelta(minutes=offset_minutes or 0)


def shown_date(moment: datetime | None, offset_minutes: int | None) -> str:
    local = local_time(moment, offset_minutes)
    if local is None:
        return ""
    sign = "+" if (offset_minutes or 0) >= 0 else "-"
    minutes = abs(offset_minutes or 0)
    return f"{local:%Y-%m-%d %H:%M} (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"


class DocumentRenderer:
    def __init__(self, evidence: EvidenceStore, mask: Masker, ref: str) -> None:
        self.evidence = evidence
        self.mask = mask
        self.ref = ref

    def render(self, loaded: LoadedDocument) -> tuple[pymupdf.Document, str]:
        """The document's pages with every marker burned in, and what they were rendered from."""
        planned, item, markers = loaded.planned, loaded.primary, loaded.markers
        if planned.kind == "chat":
            return self._chat(planned, loaded.items, markers), "transcript"
        if planned.kind == "image":
            rendered = self._image(planned, item, markers.get(item.id, []))
            if rendered is not None:
                return rendered, "image"
        if item.mime_type == "application/pdf" or item.filename.lower().endswith(".pdf"):
            rendered = self._original_pdf(planned, item, markers.get(item.id, []))
            if rendered is not None:
                return rendered, "original-pdf"
        if item.kind is Kind.EMAIL:
            return self._email(planned, item, markers.get(item.id, [])), "text"
        return self._text(planned, item, markers.get(item.id, [])), "text" if item.text.strip() else "placeholder"

    # ----- text-based renderings
    def _heading(self, flow: TextFlow, planned: PlannedDocument) -> None:
        flow.paragraph(self.mask(planned.title), bold=True, size=12)
        facts = [f"Document {planned.number}"]
        if planned.date:
            facts.append(shown_date(planned.date, planned.date_offset_minutes))
        if planned.custodians:
            facts.append("Custodian: " + ", ".join(planned.custodians))
        flow.paragraph(self.mask("   ".join(facts)), size=8)
        flow.rule()

    def _text(self, planned: PlannedDocument, item: Item, markers: list[Marker]) -> pymupdf.Document:
        flow = TextFlow(fonts_for([item.text, planned.title]))
        self._heading(flow, planned)
        if item.text.strip():
            flow.paragraph(item.text, markers, 0)
        else:
            flow.paragraph(self.mask(f"No text could be extracted from this document ({item.filename or item.mime_type or 'unknown type'})."))
        return _written(flow)

    def _email(self, planned: PlannedDocument, item: Item, markers: list[Marker]) -> pymupdf.Document:
        flow = TextFlow(fonts_for([item.text, planned.title]))
        flow.paragraph(f"Document {planned.number}", size=8)
        body_offset = int(item.metadata.get("body_offset") or 0)
        if 0 < body_offset <= len(item.text):
            flow.paragraph(item.text[:body_offset].rstrip("\n"), markers, 0, bold=True)
        else:
            flow.paragraph(self.mask(_header_from_fields(item)), bold=True)
            body_offset = 0
        flow.rule()
        flow.paragraph(item.text[body_offset:], markers, body_offset)
        return _written(flow)

    def _chat(self, planned: PlannedDocument, items: list[Item], markers: dict[str, list[Marker]]) -> pymupdf.Document:
        messages = [i for i in items if i.kind is Kind.CHAT_MESSAGE]
        conversation = items[0] if items and items[0].kind is Kind.CHAT_CONVERSATION else None
        flow = TextFlow(fonts_for([planned.title, *(m.text for m in messages), *(_sender(m) for m in messages)]))
        flow.paragraph(self.mask(planned.title), bold=True, size=12)
        platform = (conversation.metadata.get("platform") if conversation else None) or (messages[0].metadata.get("platform") if messages else "")
        people = sorted({_sender(m) for m in messages if _sender(m)})
        flow.paragraph(self.mask(f"Document {planned.number}   {platform or 'chat'} transcript for {planned.day}"), size=8)
        if people:
            flow.paragraph(self.mask("Participants: " + "; ".join(people)), size=8)
        flow.rule()
        for message in messages:
            local = local_time(message.date, message.date_offset_minutes)
            when = f"{local:%H:%M:%S}" if local else "--:--"
            if message.id in planned.withheld_ids:
                flow.paragraph(f"{when}  [message withheld]", size=9)
                continue
            flow.paragraph(self.mask(f"{when}  {_sender(message) or 'unknown sender'}"), bold=True, size=9)
            flow.paragraph(message.text or "(no text)", markers.get(message.id, []), 0, indent=14)
            flow.gap(2)
        return _written(flow)

    # ----- originals
    def _image(self, planned: PlannedDocument, item: Item, markers: list[Marker]) -> pymupdf.Document | None:
        words = item.metadata.get("ocr_words") or []
        if markers and not words:
            return None  # no word boxes: the marked text cannot be found on the pixels, so render the text instead
        try:
            data = self.evidence.read(item.sha256)
            image = Image.open(io.BytesIO(data))
            image.load()
        except (EvidenceError, OSError, ValueError, Image.DecompressionBombError):
            return None
        image = image.convert("RGB")  # also drops EXIF and other embedded metadata
        boxes = _pixel_boxes(words, markers)
        draw = ImageDraw.Draw(image)
        for left, top, right, bottom, _ in boxes:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=(0, 0, 0))  # the pixels go before the PDF exists
        scale_down = min(1.0, MAX_IMAGE_SIDE / max(image.width, image.height))
        if scale_down < 1.0:
            image = image.resize((int(image.width * scale_down), int(image.height * scale_down)))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False)
        doc = pymupdf.open()
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        area = pymupdf.Rect(MARGIN, MARGIN + 24, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - BOTTOM_MARGIN)
        fit = min(area.width / image.width, area.height / image.height)
        target = pymupdf.Rect(area.x0, area.y0, area.x0 + image.width * fit, area.y0 + image.height * fit)
        page.insert_text((MARGIN, MARGIN + 10), self.mask(f"Document {planned.number}: {planned.title}")[:120], fontname="helv", fontsize=9)
        page.insert_image(target, stream=buffer.getvalue())
        ratio = fit * scale_down
        marks = [
            Box(0, pymupdf.Rect(target.x0 + l * ratio, target.y0 + t * ratio, target.x0 + r * ratio, target.y0 + b * ratio), code)
            for l, t, r, b, code in boxes
        ]
        burn_in(doc, marks, image_pixels=True)
        return doc

    def _original_pdf(self, planned: PlannedDocument, item: Item, markers: list[Marker]) -> pymupdf.Document | None:
        try:
            source = pymupdf.open(stream=self.evidence.read(item.sha256), filetype="pdf")
        except (EvidenceError, RuntimeError, ValueError):
            return None
        if source.needs_pass or source.is_encrypted or source.get_ocgs() or source.page_count == 0:
            return None  # hidden layers and encryption: safer to render the text
        doc = pymupdf.open()
        doc.insert_pdf(source, annots=False, links=False, widgets=False)
        source.close()
        doc.scrub(redact_images=0)
        boxes = _pdf_boxes(doc, item.text, markers)
        if boxes is None:
            doc.close()
            return None
        burn_in(doc, boxes, image_pixels=True)
        return doc


def _written(flow: TextFlow) -> pymupdf.Document:
    doc = pymupdf.open()
    boxes = flow.render(doc)
    draw_boxes(doc, boxes)
    return doc


def _sender(message: Item) -> str:
    return "; ".join(p.label() for p in message.participants.sender)


def _header_from_fields(item: Item) -> str:
    lines = []
    parts = item.participants
    for label, people in (("From", parts.sender), ("To", parts.to), ("Cc", parts.cc)):
        if people:
            lines.append(f"{label}: {'; '.join(p.label() for p in people)}")
    if item.date:
        lines.append(f"Sent: {shown_date(item.date, item.date_offset_minutes)}")
    lines.append(f"Subject: {item.title}")
    return "\n".join(lines)


def _pixel_boxes(words: list[list], markers: list[Marker]) -> list[tuple[int, int, int, int, str]]:
    """Pixel boxes (left, top, right, bottom, label) of OCR words inside each marker; one label per marker."""
    boxes: list[tuple[int, int, int, int, str]] = []
    for start, end, code in merged_markers(markers, 0, 1 << 62):
        first = True
        for word in words:
            _, left, top, width, height, char_start, char_end = word[:7]
            if char_start < end and char_end > start:
                pad = max(2, int(height * 0.15))
                boxes.append((int(left) - pad, int(top) - pad, int(left + width) + pad, int(top + height) + pad, code if first else ""))
                first = False
    return boxes


def _pdf_boxes(doc: pymupdf.Document, text: str, markers: list[Marker]) -> list[Box] | None:
    """Boxes for each marked string on the page its offset falls on, shrunk to stay inside its own line.

    None when a marked string cannot be found on its page: the caller renders the text instead.
    """
    page_starts = [0]
    for index, ch in enumerate(text):
        if ch == PAGE_BREAK:
            page_starts.append(index + 1)
    boxes: list[Box] = []
    for start, end, code in merged_markers(markers, 0, len(text)):
        page_number = text.count(PAGE_BREAK, 0, start)
        for offset, part in enumerate(text[start:end].split(PAGE_BREAK)):
            needle = " ".join(part.split())
            number = page_number + offset
            if not needle:
                continue
            if number >= doc.page_count:
                return None
            hits = doc[number].search_for(needle)
            if not hits:
                return None
            for index, rect in enumerate(hits):
                boxes.append(Box(number, _shrunk(rect), code if index == 0 or rect.width > 20 else ""))
    return boxes


def _shrunk(rect: pymupdf.Rect) -> pymupdf.Rect:
    """search_for boxes span the font's full ascent and descent and overlap the lines above and below."""
    height = rect.height
    return pymupdf.Rect(rect.x0, rect.y0 + height * 0.22, rect.x1, rect.y1 - height * 0.22)

