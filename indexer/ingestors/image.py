"""Images and screenshots: OCR text with word boxes, the moment a screenshot shows, and chat bubbles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import ClassVar

from PIL import Image, UnidentifiedImageError

from disclose.items import Item, Kind
from indexer.context import IngestContext, Native
from indexer.registry import Probe, register

TESSERACT_READS = {"image/png", "image/jpeg", "image/tiff", "image/bmp", "image/gif"}
SMALL_WIDTH = 1200  # phone screenshots OCR far better at twice the size
MAX_PIXELS = 80_000_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses larger images (decompression bombs)


def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_register_heif()


def prepared_for_ocr(native: Native, scratch: Path) -> tuple[Path, float, tuple[int, int]]:
    """A file tesseract can read well, the scale applied to it, and the original size."""
    with Image.open(native.path) as image:
        size = image.size
        scale = 2.0 if image.width < SMALL_WIDTH else 1.0
        if scale == 1.0 and native.mime in TESSERACT_READS and image.mode in ("L", "RGB", "1", "P"):
            return native.path, 1.0, size
        converted = image.convert("L")
        if scale != 1.0:
            converted = converted.resize((int(image.width * scale), int(image.height * scale)), Image.LANCZOS)
        target = scratch / "ocr.png"
        converted.save(target)
        return target, scale, size


@register
class ImageIngestor:
    name: ClassVar[str] = "image"

    def score(self, probe: Probe) -> int:
        return 5 if probe.mime.startswith("image/") else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        if item.kind is Kind.FILE:
            item.kind = Kind.IMAGE
        self._date(item, native, ctx)
        try:
            path, scale, (width, height) = prepared_for_ocr(native, ctx.scratch())
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise ValueError(f"unreadable or damaged image: {error}") from error
        item.metadata.update({"width": width, "height": height})
        result = ctx.ocr(path)
        if scale != 1.0:
            result = _rescaled(result, scale)
        item.text = result.text
        item.metadata.update({"ocr": True, "ocr_confidence": result.mean_confidence, "ocr_words": result.words_as_lists()})
        self._chat(item, result, width, height, ctx)

    def _date(self, item: Item, native: Native, ctx: IngestContext) -> None:
        from indexer.dates import screenshot_date

        modified = item.metadata.get("modified")
        moment = screenshot_date(
            native.filename or item.filename,
            native.path,
            datetime.fromisoformat(modified) if modified else None,
            ctx.timezone,
        )
        if moment is not None:
            item.set_date(moment.moment, moment.source)

    def _chat(self, item: Item, result, width: int, height: int, ctx: IngestContext) -> None:  # type: ignore[no-untyped-def]
        from indexer.ingestors.chat.model import emit_conversation
        from indexer.ingestors.chat.screenshot_parser import chat_from_ocr

        conversation = chat_from_ocr(result, width, height)
        if conversation is None or not conversation.messages:
            return
        for message in conversation.messages:
            message.metadata.update({"derived_from_ocr": True, "ocr_confidence": result.mean_confidence})
        # The screenshot stays an image with its own OCR text and date: its pixels are what a
        # bundle shows and redacts. Only the messages read from its bubbles are added.
        kept = (item.kind, item.text, item.title, item.date, item.date_offset_minutes, item.date_source, item.participants)
        emit_conversation(item, conversation, ctx)
        item.kind, item.text, item.title, item.date, item.date_offset_minutes, item.date_source, item.participants = kept
        item.metadata["chat_screenshot"] = True


def _rescaled(result, scale: float):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    words = [
        replace(w, left=int(w.left / scale), top=int(w.top / scale), width=int(w.width / scale), height=int(w.height / scale))
        for w in result.words
    ]
    return replace(result, words=words, width=int(result.width / scale), height=int(result.height / scale))
