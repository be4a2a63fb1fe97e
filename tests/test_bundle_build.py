"""Bundles as a recipient reads them (through poppler's pdftotext): redactions gone, neighbours kept, pages numbered."""

from __future__ import annotations

import csv
import hashlib
import re
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymupdf
import pytest
from openpyxl import load_workbook

from disclose.items import Kind
from search_api.bundle import builder, schedule
from search_api.bundle.builder import build_bundle
from search_api.bundle.manifest import verify_manifest
from search_api.bundle.model import BundleError, LeakError
from search_api.bundle.schedule import AnnexRow, ScheduleRow, write_schedule_pdf
from test_bundle_fixtures import (
    chat_items,
    child_item,
    email_item,
    file_item,
    multipage_pdf,
    new_case,
    ocr_words_of,
    pdftotext,
    screenshot,
    squash,
)


def build(case, out: Path):  # type: ignore[no-untyped-def]
    return build_bundle(case.services.store, case.services.evidence, case.ref, out)


def test_email_with_attachment_redacted_and_numbered(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m1", "Hi Bob,\nPlease ring Mrs Patel on 07700 900123 about the flat.\nThanks, Alice"))
    attachment = case.add(child_item(case, email, "minutes.txt", "Minutes of the meeting.\nAttendees: Mrs Patel and the housing officer.\nActions agreed."))
    case.mark(email, "Mrs Patel")
    case.mark(email, "07700 900123", code="s40(2)")
    case.mark(attachment, "Mrs Patel", code="s40(2)")
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)

    combined = out / summary.combined_pdf
    text = squash(pdftotext(combined))
    assert "Patel" not in text and "07700" not in text and "900123" not in text
    assert "Please ring" in text and "on" in text and "about the flat" in text
    assert "Attendees:" in text and "and the housing officer" in text
    assert "s40(2)" in text  # the box carries its exemption code
    assert "From: Alice Jones" in text and "Subject: Budget meeting" in text
    # the email comes first, its attachment straight after, pages numbered in order
    assert text.index("Please ring") < text.index("Attendees:")
    labels = [f"{case.ref}-{n:06d}" for n in range(1, summary.pages + 1)]
    positions = [text.index(label) for label in labels]
    assert positions == sorted(positions)
    assert summary.released == 2 and summary.pages == 2
    # one PDF per document as well
    documents = sorted((out / "documents").glob("*.pdf"))
    assert len(documents) == 2
    assert "Patel" not in pdftotext(documents[0]) and "Please ring" in pdftotext(documents[0])


def test_schedule_csv_xlsx_and_annex(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m1", "Call Mr Singh today."), decision="release_in_part", exemptions=["s40(2)"])
    case.add(file_item(case, "legal-advice.txt", "Counsel's advice on the scheme."), decision="withhold", exemptions=["s42"])
    case.add(file_item(case, "timetable.txt", "Bin collections are on Tuesdays."))
    case.mark(email, "Mr Singh")
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)

    with open(out / "schedule.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Document"] for r in rows] == ["1", "2", "3"]
    by_title = {r["Title"]: r for r in rows}
    assert by_title["Budget meeting"]["Decision"] == "Released in part"
    assert by_title["Budget meeting"]["Exemptions applied"] == "s40(2)"
    assert by_title["Budget meeting"]["Pages"] == f"{case.ref}-000001"
    assert by_title["legal-advice.txt"]["Decision"] == "Withheld" and by_title["legal-advice.txt"]["Pages"] == "-"
    assert by_title["timetable.txt"]["Review"] == "not yet reviewed"
    assert by_title["timetable.txt"]["Pages"] == f"{case.ref}-000002"
    assert by_title["Budget meeting"]["Custodian"] == "Alice Jones"

    sheet = load_workbook(out / "schedule.xlsx").worksheets
    cells = [[c.value for c in row] for row in sheet[0].iter_rows()]
    assert cells[0][0] == "Document" and len(cells) == 4
    annex = [[c.value for c in row] for row in sheet[1].iter_rows()]
    assert ["s40(2)", 1, 1] in annex and ["s42", 0, 1] in annex

    # the schedule is the front page of the combined PDF, with bookmarks to every document
    front = squash(pdftotext(out / summary.combined_pdf, 1))
    assert "schedule of documents" in front and "Withheld" in front and "s42" in front
    with pymupdf.open(out / summary.combined_pdf) as doc:
        toc = doc.get_toc()
        assert toc[0][1] == "Schedule of documents"
        assert len(toc) == 3 and "Budget meeting" in toc[1][1]
        assert not any(doc.metadata.get(k) for k in ("author", "title", "producer", "creator"))


def test_chat_transcript_redacts_each_message_and_slices_by_day(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    day1 = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
    conversation, messages = chat_items(case, [
        ("Dan Green", day1, "Morning, tenant at 12 Acacia Road complained again"),
        ("Eve Black", day1 + timedelta(minutes=5), "I will call 12 Acacia Road later today"),
        ("Dan Green", day1 + timedelta(days=1), "Visited, the damp is bad"),
    ])
    case.add(conversation)
    for message in messages:
        case.add(message)
    case.mark(messages[0], "12 Acacia Road")  # only the first message is marked...
    case.mark(messages[1], "12 Acacia Road", code="s40(2)")  # ...and the second separately
    summary = build(case, tmp_path / "out")
    text = squash(pdftotext(Path(summary.out) / summary.combined_pdf))
    assert "Acacia" not in text
    assert "tenant at" in text and "complained again" in text and "I will call" in text and "later today" in text
    assert "Dan Green" in text and "Eve Black" in text and "09:05:00" in text
    assert "(2024-03-04)" in text and "(2024-03-05)" in text  # one transcript per day
    assert summary.released == 2


def test_chat_message_withheld_inside_released_day(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    day = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
    conversation, messages = chat_items(case, [("Dan Green", day, "Public update on repairs"),
                                               ("Eve Black", day + timedelta(minutes=1), "Personal matter about my health")])
    case.add(conversation)
    case.add(messages[0], decision="release")
    case.add(messages[1], decision="withhold", exemptions=["s40(2)"])
    summary = build(case, tmp_path / "out")
    text = squash(pdftotext(Path(summary.out) / summary.combined_pdf))
    assert "Public update on repairs" in text
    assert "health" not in text and "[message withheld]" in text


def test_screenshot_pixels_inside_marker_are_blacked_out(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    path = screenshot(tmp_path / "shot.png", ["Meeting notes for Tuesday", "Contact Zara Quinn tomorrow"])
    ocr_text, words = ocr_words_of(path)
    assert "Zara Quinn" in ocr_text
    sha, size = case.services.evidence.put_file(path)
    image = case.add(file_item(case, "shot.png", ocr_text, mime="image/png", sha256=sha, kind=Kind.IMAGE,
                               metadata={"ocr_words": words, "width": 900, "height": 200}))
    case.mark(image, "Zara Quinn")
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)
    document = next((out / "documents").glob("*.pdf"))
    with pymupdf.open(document) as doc:
        page = doc[0]
        images = page.get_images(full=True)
        assert len(images) == 1
        placed = page.get_image_rects(images[0][0])[0]
        pixmap = pymupdf.Pixmap(doc, images[0][0])
    original = pymupdf.Pixmap(str(path))
    zara = next(w for w in words if w[0] == "Zara")
    meeting = next(w for w in words if w[0] == "Meeting")
    scale = pixmap.width / original.width

    def colours(pix: pymupdf.Pixmap, word: list, factor: float) -> set[tuple[int, ...]]:
        _, left, top, width, height = word[:5]
        return {
            tuple(pix.pixel(x, y)[:3])
            for x in range(int(left * factor) + 1, int((left + width) * factor) - 1)
            for y in range(int(top * factor) + 1, int((top + height) * factor) - 1)
        }

    # the original has the letters' pixels; the bundle's image data has one flat colour there
    assert len(colours(original, zara, 1.0)) > 10
    assert len(colours(pixmap, zara, scale)) == 1
    assert len(colours(pixmap, meeting, scale)) > 10  # the first line is untouched
    # and what a recipient sees on the page is a black box
    with pymupdf.open(document) as doc:
        view = doc[0].get_pixmap(dpi=72, clip=placed)
    factor = view.width / original.width
    _, left, top, width, height = zara[:5]
    centre = view.pixel(int((left + width / 2) * factor), int((top + height / 2) * factor))
    assert sum(centre[:3]) < 60
    assert placed.width > 100
    assert "s40(2)" in pdftotext(document)


def test_multipage_pdf_redacted_on_every_page_with_close_neighbours(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    pages = [
        ["Report on housing allocations", "Line above the secret line", "The applicant Victor Krum was housed", "Line below the secret line"],
        ["Second page heading", "Appeal lodged by Victor Krum in May", "Closing remarks of the panel"],
        ["Third page mentions Victor Krum once more", "End of report"],
    ]
    path = multipage_pdf(tmp_path / "report.pdf", pages, line_gap=10.5)
    sha, _ = case.services.evidence.put_file(path)
    with pymupdf.open(path) as doc:
        text = "\f".join(page.get_text("text").rstrip() for page in doc)
    report = case.add(file_item(case, "report.pdf", text, mime="application/pdf", sha256=sha))
    assert case.mark_all(report, "Victor Krum") == 3
    summary = build(case, tmp_path / "out")
    document = next((Path(summary.out) / "documents").glob("*.pdf"))
    for number in (1, 2, 3):
        page_text = squash(pdftotext(document, number))
        assert "Victor" not in page_text and "Krum" not in page_text
        assert f"{case.ref}-{number:06d}" in page_text
    first = squash(pdftotext(document, 1))
    assert "Line above the secret line" in first and "Line below the secret line" in first
    assert "The applicant" in first and "was housed" in first
    assert "Appeal lodged by" in squash(pdftotext(document, 2)) and "in May" in squash(pdftotext(document, 2))
    with pymupdf.open(document) as doc:
        assert doc.page_count == 3
        assert not doc.metadata.get("author") and "Secret Author" not in doc.tobytes().decode("latin-1")
    assert summary.pages == 3


def test_leak_check_fails_and_removes_output_when_text_is_left_elsewhere(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m1", "The informant is Harriet Vane, keep this quiet."))
    case.add(child_item(case, email, "notes.txt", "Notes: spoke to Harriet Vane on Friday."))
    case.mark(email, "Harriet Vane")  # marked in the email, forgotten in the attachment
    out = tmp_path / "out"
    with pytest.raises(LeakError) as failure:
        build(case, out)
    message = str(failure.value)
    assert "harriet vane" in message and "page 1" in message and "documents/" in message
    assert not out.exists() and not any(p.name.startswith(".out.partial") for p in tmp_path.iterdir())


def test_manifest_verifies_then_names_the_tampered_file(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m1", "Nothing sensitive here at all."))
    for number in range(2, 13):
        case.add(email_item(case, f"m{number}", f"Email number {number}.", when=datetime(2024, 2, number, tzinfo=timezone.utc)))
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["documents"][0]["item_ids"] == [email.id]
    assert set(manifest["files"]) >= {"schedule.csv", "schedule.xlsx", "schedule.pdf", summary.combined_pdf}
    # every file of the bundle, each once, in path order
    written = [str(p.relative_to(out)) for p in sorted(out.rglob("*")) if p.is_file() and p.name != "manifest.json"]
    assert list(manifest["files"]) == written and len([f for f in written if f.startswith("documents/")]) == 12
    assert verify_manifest(out).ok
    (out / "schedule.csv").write_text("tampered")
    result = verify_manifest(out)
    assert not result.ok and result.changed == ["schedule.csv"]
    (out / summary.combined_pdf).unlink()
    assert verify_manifest(out).missing == [summary.combined_pdf]


def test_unknown_request_and_full_folder_are_refused(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    with pytest.raises(BundleError, match="no request"):
        build_bundle(case.services.store, case.services.evidence, "NOPE", tmp_path / "x")
    case.add(email_item(case, "m1", "hello there"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not an empty folder"):
        build(case, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_combined_pdf_assembled_and_read_back_in_ranges(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A long bundle's page tree is split into nodes of a few pages and it is leak-checked a few pages at
    a time (small here, so these few documents span several): every document keeps its bookmark, and
    a leak on a late page is still found, at that page of the combined file."""
    monkeypatch.setattr(builder, "BRANCH_PAGES", 2)
    monkeypatch.setattr(builder, "VIEW_PAGES", 2)
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m1", "The informant is Harriet Vane, keep this quiet."))
    case.mark(email, "Harriet Vane")
    for n in range(5):
        case.add(file_item(case, f"note-{n}.txt", f"Note {n}: the estate survey is booked."))
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)
    with pymupdf.open(out / summary.combined_pdf) as doc:
        toc = doc.get_toc()
        assert len(toc) == summary.released + 1 and doc.page_count == summary.pages + 1  # a one-page schedule in front
        for _, title, page in toc[1:]:  # each bookmark opens the page stamped with the number its title gives
            assert title.split()[0] in doc[page - 1].get_text()
    assert not list(out.rglob("view-*"))

    leaky = new_case(tmp_path / "leaky")
    email = leaky.add(email_item(leaky, "m1", "The informant is Harriet Vane, keep this quiet."))
    leaky.mark(email, "Harriet Vane")
    for n in range(5):
        leaky.add(file_item(leaky, f"note-{n}.txt", f"Note {n}: the estate survey is booked."))
    leaky.add(file_item(leaky, "zz-late.txt", "Late note: Harriet Vane rang again."))
    with pytest.raises(LeakError) as failure:
        build(leaky, tmp_path / "leaky-out")
    message = str(failure.value)
    number = int(re.search(r"documents/[\w.-]+-(\d{5})\.pdf page 1", message).group(1))  # type: ignore[union-attr]
    assert number > 2 and f"-bundle.pdf page {number + 1} " in message  # one page per document, after the schedule


def test_marker_accepted_while_building_is_refused_not_missed(tmp_path: Path) -> None:
    """The plan keeps only a tally of each document's markers and the render workers read the markers
    themselves: one accepted after planning, whose string the plan's masking and leak check never
    saw, stops the build rather than going out half-applied."""
    case = new_case(tmp_path)
    for n in range(12):  # more documents than are rendered ahead, so the last one is read after the change
        case.add(file_item(case, f"note-{n:02d}.txt", f"Note {n}: the estate survey is booked."))
    late = case.add(file_item(case, "zz-late.txt", "Late note: Harriet Vane rang again."))
    case.mark(late, "rang again")
    changed: list[bool] = []

    def accept_another_marker(event: dict[str, object]) -> None:
        if event["stage"] == "render" and not changed:
            case.mark(late, "Harriet Vane")
            changed.append(True)

    out = tmp_path / "out"
    with pytest.raises(BundleError, match="markers changed"):
        build_bundle(case.services.store, case.services.evidence, case.ref, out, accept_another_marker)
    assert changed and not out.exists() and not any(p.name.startswith(".out.partial") for p in tmp_path.iterdir())
    summary = build(case, out)  # built again, the new marker is burned in
    assert summary.markers == 2 and "Harriet" not in pdftotext(Path(summary.out) / summary.combined_pdf)


def test_long_schedule_pdf_written_in_pieces_reads_as_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The schedule PDF is written a few pages at a time and the pieces joined: every row is there
    once, in order, on the same pages as when it is written in one go, and the font is embedded
    cut down to what is used rather than whole in every piece."""
    rows = [ScheduleRow(n, "2024-01-15 09:30 (UTC+00:00)", "Alice Jones", "email", f"Budget meeting {n}", "Released in part",
                        "reviewed", "s40(2)", f"FOI-1-{n:06d}") for n in range(1, 181)]
    annex = [AnnexRow("s40(2)", 180, 180)]
    write_schedule_pdf(tmp_path / "whole.pdf", "FOI-1", rows, annex)
    monkeypatch.setattr(schedule, "SCHEDULE_PIECE_PAGES", 1)
    write_schedule_pdf(tmp_path / "pieces.pdf", "FOI-1", rows, annex)
    with pymupdf.open(tmp_path / "whole.pdf") as whole, pymupdf.open(tmp_path / "pieces.pdf") as pieces:
        assert whole.page_count == pieces.page_count > 3
        assert [p.get_text() for p in whole] == [p.get_text() for p in pieces]
    text = pdftotext(tmp_path / "pieces.pdf")
    positions = [text.index(f"FOI-1-{n:06d}") for n in range(1, 181)]
    assert positions == sorted(positions) and "Annex: exemptions relied on" in text
    assert not list(tmp_path.glob(".pieces.pdf.*"))
    assert (tmp_path / "pieces.pdf").stat().st_size < 760_000  # DejaVu Sans alone is 760 KB


def _hostile_pdf(path: Path, *, hidden_layer: bool = False) -> Path:
    """A PDF carrying what must never reach a recipient: a note annotation, a link, an embedded file, a
    JavaScript action run on opening, metadata and (optionally) text on a layer that is switched off."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Visible housing report for release", fontname="helv", fontsize=11)
    page.add_text_annot((72, 120), "Annotation text ANNOTSECRET")
    page.insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(72, 60, 200, 75), "uri": "https://linksecret.example/"})
    doc.embfile_add("notes.txt", b"EMBEDSECRET attached file", filename="notes.txt")
    action = doc.get_new_xref()
    doc.update_object(action, "<</S/JavaScript/JS(app.alert('JSSECRET'))>>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{action} 0 R")
    if hidden_layer:
        layer = doc.add_ocg("Draft notes", on=False)
        page.insert_text((72, 200), "Hidden layer HIDDENSECRET", fontname="helv", fontsize=11, oc=layer)
    doc.set_metadata({"author": "Secret Author Name", "title": "Internal draft"})
    doc.save(path)
    return path


def _everything_in(path: Path) -> str:
    """Every object of a PDF, streams decompressed: what a determined recipient could dig out."""
    with pymupdf.open(path) as doc:
        parts = [doc.xref_object(xref, compressed=False) for xref in range(1, doc.xref_length())]
        parts += [doc.xref_stream(xref).decode("latin-1") for xref in range(1, doc.xref_length()) if doc.xref_is_stream(xref)]
    return "\n".join(parts)


@pytest.mark.parametrize("hidden_layer", [False, True])
def test_original_pdf_released_without_annotations_attachments_javascript_or_layers(tmp_path: Path, hidden_layer: bool) -> None:
    case = new_case(tmp_path)
    path = _hostile_pdf(tmp_path / "report.pdf", hidden_layer=hidden_layer)
    # what the original really carries (text on a layer that is off is found by no text extractor, only its layer)
    secrets = ["ANNOTSECRET", "EMBEDSECRET", "JSSECRET", "linksecret", "/JavaScript", "/OpenAction"] + (["/OCProperties"] if hidden_layer else [])
    assert all(secret in _everything_in(path) for secret in secrets)
    sha, _ = case.services.evidence.put_file(path)
    case.add(file_item(case, "report.pdf", "Visible housing report for release", mime="application/pdf", sha256=sha))
    summary = build(case, tmp_path / "out")
    out = Path(summary.out)
    for output in [next((out / "documents").glob("*.pdf")), out / summary.combined_pdf]:
        assert "Visible housing report for release" in squash(pdftotext(output))
        with pymupdf.open(output) as doc:
            assert doc.embfile_count() == 0 and not doc.get_ocgs() and not doc.metadata.get("author")
            assert all(not list(page.annots()) and not page.get_links() for page in doc)
        dug_out = _everything_in(output)
        for secret in [*secrets, "Secret Author"]:
            assert secret not in dug_out, secret
    assert hashlib.sha256(case.services.evidence.read(sha)).hexdigest() == sha  # the original is untouched
