"""OCR of images and image-only PDFs with the real tesseract."""

from __future__ import annotations

from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw

from ui.demo.corpus import font


def _text_image(path: Path, lines: list[str]) -> None:
    image = Image.new("RGB", (1600, 200 + 90 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((60, 60 + 90 * number), line, font=font(48), fill="black")
    image.save(path)


def test_image_text_is_searchable_with_word_boxes(cli, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    _text_image(folder / "notice.png", ["Temporary accommodation notice", "Riverside scheme approved"])
    assert cli("ingest", str(folder), "--custodian", "Records", "--json").exit_code == 0
    hits = cli("search", "Riverside", "--json").json()
    assert hits["total"] == 1
    item = cli("show", hits["hits"][0]["id"], "--json").json()
    assert item["kind"] == "image"
    assert item["metadata"]["ocr_confidence"] > 60
    words = {word[0]: word for word in item["metadata"]["ocr_words"]}
    assert "Riverside" in words
    text, left, top, width, height, start, end = words["Riverside"]
    assert item["text"][start:end] == "Riverside" and width > 50 and height > 10


def test_image_only_pdf_is_ocrd(cli, tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    picture = tmp_path / "page.png"
    _text_image(picture, ["Scanned letter about Eastgate damp"])
    document = pymupdf.open()
    page = document.new_page()
    page.insert_image(page.rect, filename=str(picture))
    document.save(folder / "scan.pdf")
    cli("ingest", str(folder), "--custodian", "Records")
    hits = cli("search", "Eastgate", "--json").json()
    assert hits["total"] == 1
    item = cli("show", hits["hits"][0]["id"], "--json").json()
    assert item["metadata"]["ocr"] is True
