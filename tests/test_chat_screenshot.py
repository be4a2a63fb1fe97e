"""Chat screenshots: bubbles, sides, times and dates read from real tesseract OCR of rendered images."""

from __future__ import annotations

import shutil
from datetime import datetime, time, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, FONT, render_chat_screenshot
from indexer.ingestors.chat.screenshot_parser import chat_from_ocr, parse_date_separator, parse_time
from indexer.ocr import ocr_image

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None or not Path(FONT).exists(),
                                     reason="tesseract or the DejaVu font is not installed")


def test_times_survive_ocr_mangling():
    for shown in ("14:05", "1405", "14.05", "14 05", "14-05", "2:05 pm", "2:05 p.m.", "02:05PM"):
        assert parse_time(shown) == time(14, 5), shown
    assert parse_time("12:30 am") == time(0, 30)
    for not_time in ("2560", "99:99", "13:05 pm", "hello"):
        assert parse_time(not_time) is None, not_time


def test_date_separators():
    assert parse_date_separator("3 March 2021")[0].isoformat() == "2021-03-03"
    assert parse_date_separator("03/04/2021")[0].isoformat() == "2021-04-03"  # day first, as in the UK
    assert parse_date_separator("Yesterday") == (None, "Yesterday")
    assert parse_date_separator("09-41") is None and parse_date_separator("Are the minutes ready?") is None


@needs_tesseract
@pytest.mark.parametrize("style,separator", [("14:05", "3 March 2021"), ("dotted", "03/03/2021")])
def test_rendered_screenshot_becomes_messages(tmp_path: Path, style: str, separator: str):
    ocr = ocr_image(render_chat_screenshot(tmp_path / "chat.png", time_style=style, separator=separator))
    conversation = chat_from_ocr(ocr, ocr.width, ocr.height)
    assert conversation is not None and conversation.title == "Screenshot chat with Raj Patel"
    summary = [(m.sender.name, m.text) for m in conversation.messages]
    assert summary == [("Raj Patel", "Are the minutes ready?"), ("Screenshot owner", "Yes, sending them now"),
                       ("Raj Patel", "Thanks. Please copy Sam"), ("Screenshot owner", "Will do")]
    first, last = conversation.messages[0], conversation.messages[-1]
    assert first.sent == datetime(2021, 3, 3, 9, 41, tzinfo=timezone.utc)  # GMT in March
    assert last.sent == datetime(2021, 3, 3, 10, 2, tzinfo=timezone.utc)
    assert conversation.metadata["derived_from_ocr"] is True and conversation.metadata["ocr_confidence"] > 50


@needs_tesseract
def test_a_document_scan_is_not_a_chat(tmp_path: Path):
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 28)
    lines = ["Minutes of the Planning Committee held on 3 March 2021 at the Town Hall",
             "Present: the Chair, the Clerk and four members of the public who spoke",
             "1. Apologies for absence were received from two members of the committee",
             "2. The minutes of the previous meeting were agreed as a correct record"]
    for number, line in enumerate(lines):
        draw.text((60, 200 + number * 60), line, font=font, fill="black")
    path = tmp_path / "scan.png"
    image.save(path)
    ocr = ocr_image(path)
    assert "Planning Committee" in ocr.text
    assert chat_from_ocr(ocr, ocr.width, ocr.height) is None


@needs_tesseract
@pytest.mark.skipif(not (CORPUS / "chat_screenshots").exists(), reason="shared corpus not present")
def test_corpus_whatsapp_rendering():
    ocr = ocr_image(CORPUS / "chat_screenshots" / "WhatsApp-Chat-Exporter__pm.png")
    conversation = chat_from_ocr(ocr, ocr.width, ocr.height)
    assert conversation is not None
    texts = [m.text for m in conversation.messages]
    assert "Good to see you O Seafood!" in texts[0] or "Good to see you" in texts[0]
    assert conversation.messages[0].sent == datetime(2025, 12, 25, 18, 43, tzinfo=timezone.utc)
    assert any("Message deleted" in t for t in texts)


@needs_tesseract
@pytest.mark.skipif(__import__("importlib.util").util.find_spec("indexer.dates") is None,
                    reason="the image ingestor's indexer.dates module has not landed yet")
def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    render_chat_screenshot(folder / "Screenshot_20210303-100500.png")
    hits = ingest_end_to_end(cli, home, folder, "Sam")
    assert len(hits) == 1
    shown = hits[0]
    assert shown["metadata"]["derived_from_ocr"] is True and shown["metadata"]["ocr_confidence"] > 0
