"""The schedule of documents (CSV, XLSX, a PDF at the front of the bundle) and the exemptions annex."""

from __future__ import annotations

import csv
import html
import tempfile
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import pymupdf
from openpyxl import Workbook

from search_api.bundle.layout import DEJAVU_DIR
from search_api.bundle.model import PlannedDocument, RenderedDocument
from search_api.bundle.pdfstream import MuPdfSource, PageTree, PdfWriter
from search_api.bundle.render import Masker, shown_date

COLUMNS = ["Document", "Date", "Custodian", "Type", "Title", "Decision", "Review", "Exemptions applied", "Pages"]
ANNEX_COLUMNS = ["Exemption", "Redactions", "Documents"]
DECISION_LABELS = {
    "release": "Released",
    "release_in_part": "Released in part",
    "withhold": "Withheld",
    "not_held": "Not held",
    "duplicate": "Duplicate (not repeated)",
}
FOI_TYPES = ("foi", "eir", "foisa", "eisr")


@dataclass(frozen=True)
class ScheduleRow:
    document: int
    date: str
    custodian: str
    type: str
    title: str
    decision: str
    review: str
    exemptions: str
    pages: str

    def cells(self) -> list[str | int]:
        return [self.document, self.date, self.custodian, self.type, self.title, self.decision, self.review, self.exemptions, self.pages]


@dataclass(frozen=True)
class AnnexRow:
    exemption: str
    redactions: int
    documents: int


def schedule_rows(documents: Iterable[tuple[PlannedDocument, RenderedDocument | None]], mask: Masker) -> Iterator[ScheduleRow]:
    """A row for each planned document, with its rendering when it has one (see `with_renderings`)."""
    for planned, done in documents:
        pages = f"{done.first_page} - {done.last_page}" if done and done.first_page != done.last_page else (done.first_page if done else "-")
        yield ScheduleRow(
            document=planned.number,
            date=shown_date(planned.date, planned.date_offset_minutes),
            custodian=mask(", ".join(planned.custodians)),
            type=planned.kind,
            title=mask(planned.title),
            decision=DECISION_LABELS.get(planned.decision, planned.decision),
            review="reviewed" if planned.reviewed else "not yet reviewed",
            exemptions=", ".join(planned.exemptions),
            pages=pages,
        )


def annex_rows(documents: Iterable[PlannedDocument], request_type: str) -> list[AnnexRow]:
    """Each exemption relied on, with its number of redactions; only for FOI/EIR refusals in part."""
    if request_type not in FOI_TYPES:
        return []
    refused = False
    redactions: Counter[str] = Counter()
    used_in: Counter[str] = Counter()
    for planned in documents:
        refused = refused or planned.decision in ("release_in_part", "withhold")
        redactions.update(planned.marker_codes)
        for code in planned.exemptions:
            used_in[code] += 1
    return [AnnexRow(code, redactions[code], used_in[code]) for code in sorted(used_in)] if refused else []


def write_csv(path: Path, rows: Iterable[ScheduleRow]) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row.cells())


def write_annex_csv(path: Path, rows: list[AnnexRow]) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(ANNEX_COLUMNS)
        for row in rows:
            writer.writerow([row.exemption, row.redactions, row.documents])


def write_xlsx(path: Path, rows: Iterable[ScheduleRow], annex: list[AnnexRow]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Schedule")
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([_cell(v) for v in row.cells()])
    if annex:
        extra = book.create_sheet("Exemptions annex")
        extra.append(ANNEX_COLUMNS)
        for a in annex:
            extra.append([a.exemption, a.redactions, a.documents])
    book.save(path)


def _cell(value: str | int) -> str | int:
    # a leading = + - @ would make a spreadsheet run the cell as a formula
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and value != "-":
        return "'" + value
    return value


SCHEDULE_CHUNK = 200  # rows laid out per Story: MuPDF holds a Story's whole layout until it is drawn
SCHEDULE_PIECE_PAGES = 10  # pages per DocumentWriter (see write_schedule_pdf)
CSS = (
    "* {font-family: sans-serif; font-size: 7pt;} h1 {font-size: 12pt;} h2 {font-size: 10pt;}"
    " table {border-collapse: collapse; width: 100%;} td, th {border: 0.5pt solid #888; padding: 2pt; vertical-align: top;}"
    " th {background-color: #ddd;}"
)


def _table(rows: list[ScheduleRow]) -> str:
    header = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr>"
    cells = ("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.cells()) + "</tr>" for row in rows)
    return "<table>" + header + "".join(cells) + "</table>"


def _schedule_parts(ref: str, rows: Iterable[ScheduleRow], annex: list[AnnexRow]) -> Iterator[str]:
    """The schedule as HTML pieces of at most SCHEDULE_CHUNK rows, each a table with its own header row."""
    title = f"<h1>{html.escape(ref)}: schedule of documents</h1>"
    remaining = iter(rows)
    chunk = list(islice(remaining, SCHEDULE_CHUNK))
    yield title + _table(chunk)  # the title and a header row even when there are no rows
    while chunk := list(islice(remaining, SCHEDULE_CHUNK)):
        yield _table(chunk)
    if annex:
        body = ["<h2>Annex: exemptions relied on</h2><table>"]
        body.append("<tr>" + "".join(f"<th>{c}</th>" for c in ANNEX_COLUMNS) + "</tr>")
        for a in annex:
            body.append(f"<tr><td>{html.escape(a.exemption)}</td><td>{a.redactions}</td><td>{a.documents}</td></tr>")
        body.append("</table>")
        yield "".join(body)


def write_schedule_pdf(path: Path, ref: str, rows: Iterable[ScheduleRow], annex: list[AnnexRow]) -> None:
    """The schedule as landscape A4 pages, laid out a chunk of rows at a time.

    A DocumentWriter holds every page it has written, uncompressed, until it is closed (about 2 KB
    a row), so the pages are written SCHEDULE_PIECE_PAGES at a time, each piece compressed to a file
    of its own, and the pieces joined a piece at a time (see `_joined`). Pieces break between pages,
    so the layout is the same as one writer's."""
    css, archive = CSS, None
    if (DEJAVU_DIR / "DejaVuSans.ttf").exists():
        css = "@font-face {font-family: dv; src: url(DejaVuSans.ttf);} " + css.replace("sans-serif", "dv")
        archive = pymupdf.Archive(str(DEJAVU_DIR))
    pieces: list[Path] = []
    try:
        writer, pages = None, 0
        mediabox = pymupdf.paper_rect("a4-l")
        page_area = mediabox + (36, 36, -36, -36)
        device, area = None, page_area
        for part in _schedule_parts(ref, rows, annex):
            story = pymupdf.Story(html=part, user_css=css, archive=archive)
            more = True
            while more:
                if device is None:
                    if writer is None or pages == SCHEDULE_PIECE_PAGES:
                        if writer is not None:
                            writer.close()
                        pieces.append(path.with_name(f".{path.name}.{len(pieces)}"))
                        writer, pages = pymupdf.DocumentWriter(str(pieces[-1]), "compress"), 0
                    device, area = writer.begin_page(mediabox), page_area
                more, filled = story.place(area)
                story.draw(device)
                area = pymupdf.Rect(area.x0, pymupdf.Rect(filled).y1 + 4, area.x1, area.y1)  # the next chunk goes on below
                if more or area.height < 40:
                    writer.end_page()  # type: ignore[union-attr]
                    pages += 1
                    device = None
        if writer is not None:
            if device is not None:
                writer.end_page()
            writer.close()
        _joined(pieces, path)
    finally:
        for piece in pieces:
            piece.unlink(missing_ok=True)


def _joined(pieces: list[Path], path: Path) -> None:
    """The pieces' pages, in order, as `path`, copied a piece at a time by the combined PDF's writer
    (see pdfstream), so only one piece's objects are in memory at a time. Each piece embeds the whole
    font (760 KB); it is cut down to the glyphs the piece uses before it is copied."""
    with tempfile.TemporaryFile() as index, tempfile.TemporaryFile() as listing:
        writer = PdfWriter(path, index)
        catalog, root = writer.reserve(), writer.reserve()
        tree = PageTree(writer, root, listing)
        for piece in pieces:
            with pymupdf.open(piece) as part:
                part.subset_fonts()
                tree.add(MuPdfSource(part))
        tree.close()
        writer.write(catalog, b"<</Type/Catalog/Pages %d 0 R>>" % root)
        writer.close(catalog)
