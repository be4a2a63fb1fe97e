"""Building a bundle: plan, render each document to its own file, number pages, schedule, combine, check, seal.

Everything is written to a staging folder next to the target; only a bundle that passed the
leak check is moved into place, so a failed build leaves nothing a recipient could be sent.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pymupdf

from disclose.evidence import EvidenceStore
from disclose.store import CaseStore
from search_api.bundle.leakcheck import LeakChecker, adjacent_words
from search_api.bundle.manifest import DocumentSources, Manifest, write_manifest
from search_api.bundle.model import BundleError, BundleSummary, LeakError, PlannedDocument, RenderedDocument
from search_api.bundle.render import DocumentRenderer, Masker
from search_api.bundle.schedule import (
    annex_rows,
    schedule_pdf,
    schedule_rows,
    write_annex_csv,
    write_csv,
    write_xlsx,
)
from search_api.bundle.selection import Plan, plan_bundle

Progress = Callable[[dict[str, object]], None]
COMBINE_CHUNK = 100  # documents appended to the combined PDF between incremental saves


def safe_ref(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ref).strip(".-") or "bundle"


def page_label(ref: str, number: int) -> str:
    return f"{ref}-{number:06d}"


@dataclass
class _Output:
    root: Path
    ref: str

    @property
    def name(self) -> str:
        return safe_ref(self.ref)

    def document(self, number: int) -> Path:
        return self.root / "documents" / f"{self.name}-{number:05d}.pdf"

    @property
    def combined(self) -> Path:
        return self.root / f"{self.name}-bundle.pdf"


def prepare_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} already exists and is not an empty folder: choose a new --out")


def build_bundle(store: CaseStore, evidence: EvidenceStore, ref: str, out: Path, progress: Progress | None = None) -> BundleSummary:
    began = time.monotonic()
    out = out.resolve()
    prepare_target(out)
    with store.session() as session:
        plan = plan_bundle(session, ref)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        summary = _build(plan, evidence, staging, progress)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.out = str(out)
    summary.seconds = round(time.monotonic() - began, 2)
    return summary


def _build(plan: Plan, evidence: EvidenceStore, root: Path, progress: Progress | None) -> BundleSummary:
    output = _Output(root, plan.ref)
    (root / "documents").mkdir()
    pairs = [(s, m.code) for d in plan.documents for m in d.all_markers() for s in [m.covered(_text_of(d, m.item_id))]]
    mask = Masker(pairs)
    renderer = DocumentRenderer(evidence, mask, plan.ref)
    rendered: dict[int, RenderedDocument] = {}
    neighbours: dict[str, set[str]] = {}
    next_page = 1
    released = [d for d in plan.documents if d.released]
    for position, planned in enumerate(released, start=1):
        doc, source = renderer.render(planned)
        pages = doc.page_count
        stamp_pages(doc, plan.ref, next_page)
        target = output.document(planned.number)
        finish(doc, target, thorough=source in ("original-pdf", "image"))
        name = str(target.relative_to(root))
        rendered[planned.number] = RenderedDocument(
            planned.number, name, pages, page_label(plan.ref, next_page), page_label(plan.ref, next_page + pages - 1), source
        )
        if source != "image":
            words = set()
            for item in planned.items:
                spans = [(m.start, m.end) for m in planned.markers.get(item.id, [])]
                if spans:
                    words |= adjacent_words(item.text, spans)
            if words:
                neighbours[name] = words
        next_page += pages
        if progress:
            progress({"stage": "render", "done": position, "total": len(released), "pages": next_page - 1})
    rows = schedule_rows(plan.documents, rendered, mask)
    annex = annex_rows(plan.documents, plan.request_type)
    write_csv(root / "schedule.csv", rows)
    write_xlsx(root / "schedule.xlsx", rows, annex)
    if annex:
        write_annex_csv(root / "exemptions-annex.csv", annex)
    schedule = schedule_pdf(plan.ref, rows, annex)
    (root / "schedule.pdf").write_bytes(schedule)
    if progress:
        progress({"stage": "combine", "done": 0, "total": len(rendered), "pages": next_page - 1})
    combine(output, schedule, plan.documents, rendered, mask)
    if progress:
        progress({"stage": "leak-check", "done": 0, "total": len(rendered) + 2, "pages": next_page - 1})
    pdfs = [root / "schedule.pdf", output.combined, *(root / r.file for r in rendered.values())]
    redacted = [s for strings in plan.redacted_strings.values() for s in strings]
    findings = LeakChecker(redacted).check(pdfs, root, neighbours)
    # the combined PDF holds every document: its neighbours must survive there too
    if findings:
        shown = "; ".join(f.message() for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        raise LeakError(f"leak check failed, nothing was written: {shown}{more}")
    write_manifest(root, _manifest(plan, rendered))
    markers = sum(len(d.all_markers()) for d in plan.documents if d.released)
    return BundleSummary(
        ref=plan.ref,
        out=str(root),
        documents=len(plan.documents),
        released=len(rendered),
        withheld=len(plan.documents) - len(rendered),
        pages=next_page - 1,
        markers=markers,
        combined_pdf=output.combined.name,
        schedule=["schedule.csv", "schedule.xlsx", "schedule.pdf"] + (["exemptions-annex.csv"] if annex else []),
        manifest="manifest.json",
        seconds=0.0,
    )


def _text_of(planned: PlannedDocument, item_id: str) -> str:
    for item in planned.items:
        if item.id == item_id:
            return item.text
    return ""


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


def combine(output: _Output, schedule: bytes, documents: list[PlannedDocument], rendered: dict[int, RenderedDocument], mask: Masker) -> None:
    """Append each per-document file to the combined PDF, saving incrementally so memory stays flat."""
    target = output.combined
    toc: list[list[object]] = []
    with pymupdf.open(stream=schedule, filetype="pdf") as front:
        combined = pymupdf.open()
        combined.insert_pdf(front)
        toc.append([1, "Schedule of documents", 1])
        page_count = front.page_count
    combined.set_metadata({})
    combined.save(target, garbage=1, deflate=True)
    combined.close()
    combined = pymupdf.open(target)
    appended = 0
    titles = {d.number: d.title for d in documents}
    for number, done in rendered.items():
        with pymupdf.open(output.root / done.file) as part:
            combined.insert_pdf(part)
        toc.append([1, mask(f"{done.first_page}  {number}. {titles.get(number, '')}")[:200], page_count + 1])
        page_count += done.pages
        appended += 1
        if appended % COMBINE_CHUNK == 0:
            combined.saveIncr()
            combined.close()
            combined = pymupdf.open(target)
    combined.set_toc(toc)
    combined.set_metadata({})
    combined.saveIncr()
    combined.close()


def _manifest(plan: Plan, rendered: dict[int, RenderedDocument]) -> Manifest:
    documents = []
    for planned in plan.documents:
        done = rendered.get(planned.number)
        documents.append(
            DocumentSources(
                number=planned.number,
                file=done.file if done else None,
                item_ids=[i.id for i in planned.items],
                native_sha256=sorted({i.sha256 for i in planned.items if i.sha256}),
                pages=f"{done.first_page}-{done.last_page}" if done else "",
            )
        )
    return Manifest(ref=plan.ref, kind="bundle", generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), documents=documents)
