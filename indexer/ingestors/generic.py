"""Office documents, PDFs, HTML, RTF and anything else Apache Tika reads; plain text read directly."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import pymupdf as fitz

from disclose.items import Item, Kind
from indexer.context import IngestContext, Native
from indexer.registry import Probe, register

MAX_OCR_PAGES = 300
OCR_DPI = 300
PAGE_BREAK = "\f"

TIKA_DATES = ("dcterms:created", "meta:creation-date", "Creation-Date", "created", "dcterms:modified", "Last-Modified")
TIKA_TITLES = ("dc:title", "title", "pdf:docinfo:title")
TIKA_AUTHORS = ("dc:creator", "meta:author", "Author", "creator")


def _parse_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file, preferring what its byte-order mark says; returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def apply_tika_metadata(item: Item, extraction_metadata: dict) -> None:  # type: ignore[type-arg]
    def first(keys: tuple[str, ...]) -> str:
        for key in keys:
            value = extraction_metadata.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                return str(value)
        return ""

    title = first(TIKA_TITLES)
    if title:
        item.metadata["document_title"] = title
    author = first(TIKA_AUTHORS)
    if author:
        item.metadata["author"] = author
    created = _parse_date(first(TIKA_DATES))
    if created is not None and item.date_source in ("", "mtime"):
        item.set_date(created, "document")
    content_type = first(("Content-Type",))
    if content_type:
        item.metadata["tika_content_type"] = content_type


@register
class PlainTextIngestor:
    name: ClassVar[str] = "text"

    def score(self, probe: Probe) -> int:
        return 2 if probe.mime in ("text/plain", "text/csv") else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        item.text, encoding = decode_text(native.read())
        item.metadata["encoding"] = encoding


@register
class TikaIngestor:
    """The fallback for every format without its own ingestor: Tika in a sandboxed worker."""

    name: ClassVar[str] = "tika"

    def score(self, probe: Probe) -> int:
        return 1

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        extraction = ctx.extract(native)
        item.text = extraction.text.strip()
        apply_tika_metadata(item, extraction.metadata)


@register
class PdfIngestor:
    """PDFs: Tika for the text layer; pages with no text layer are rendered and OCR'd."""

    name: ClassVar[str] = "pdf"

    def score(self, probe: Probe) -> int:
        return 5 if probe.mime == "application/pdf" else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        try:
            document = fitz.open(native.path)
        except (fitz.FileDataError, RuntimeError) as error:
            raise ValueError(f"damaged or truncated PDF: {error}") from error
        with document:
            if document.needs_pass:
                ctx.problem(item, "extract", "encrypted or password-protected PDF: no text could be read")
                item.metadata["encrypted"] = True
                return
            item.metadata["pages"] = document.page_count
            pages = [page.get_text("text") for page in document]
            if sum(len(text.strip()) for text in pages) >= 20 * max(1, document.page_count):
                extraction = ctx.extract(native)
                apply_tika_metadata(item, extraction.metadata)
                item.text = PAGE_BREAK.join(text.rstrip() for text in pages) if pages else extraction.text.strip()
                return
            item.text = self._ocr_pages(item, document, pages, ctx)
            item.metadata["ocr"] = True

    def _ocr_pages(self, item: Item, document: fitz.Document, pages: list[str], ctx: IngestContext) -> str:
        scratch = ctx.scratch()
        texts: list[str] = []
        confidences: list[float] = []
        for number, page in enumerate(document):
            if number >= MAX_OCR_PAGES:
                ctx.problem(item, "ocr", f"only the first {MAX_OCR_PAGES} pages were OCR'd")
                break
            if len(pages[number].strip()) >= 20:
                texts.append(pages[number].rstrip())
                continue
            image = scratch / f"page-{number + 1}.png"
            page.get_pixmap(dpi=OCR_DPI, colorspace=fitz.csGRAY).save(image)
            result = ctx.ocr(image)
            confidences.append(result.mean_confidence)
            texts.append(result.text)
            image.unlink()
        if confidences:
            item.metadata["ocr_confidence"] = round(sum(confidences) / len(confidences), 1)
        return PAGE_BREAK.join(texts)


def kind_for_mime(mime: str) -> Kind:
    return Kind.IMAGE if mime.startswith("image/") else Kind.FILE
