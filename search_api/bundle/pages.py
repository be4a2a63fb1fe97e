"""Page numbers stamped on rendered documents, and sealing a document into its output file."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pymupdf


def page_label(ref: str, number: int) -> str:
    return f"{ref}-{number:06d}"


def stamp_pages(doc: pymupdf.Document, ref: str, first: int, label: Callable[[str, int], str] = page_label) -> None:
    """Stamp every page bottom right (REF-000001, or a Bates number), over a white patch so it stays legible."""
    for index, page in enumerate(doc):
        if page.rotation:
            page.remove_rotation()
        text = label(ref, first + index)
        width = pymupdf.get_text_length(text, fontname="helv", fontsize=8)
        rect = page.rect
        box = pymupdf.Rect(rect.x1 - 36 - width - 4, rect.y1 - 30, rect.x1 - 32, rect.y1 - 18)
        page.draw_rect(box, color=None, fill=(1, 1, 1), overlay=True)
        page.insert_text((box.x0 + 2, box.y1 - 3), text, fontname="helv", fontsize=8, color=(0, 0, 0))


def finish(doc: pymupdf.Document, target: Path, *, thorough: bool) -> None:
    """No metadata, no XMP, no leftovers: unreferenced objects (such as replaced image data) are dropped."""
    doc.set_metadata({})
    doc.del_xml_metadata()
    if thorough:
        doc.scrub(redact_images=0)
    doc.save(target, garbage=3 if thorough else 1, deflate=True, no_new_id=True)
    doc.close()
