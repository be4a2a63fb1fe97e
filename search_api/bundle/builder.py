"""Building a bundle: plan, render each document to its own file, number pages, schedule, combine, check, seal.

Everything is written to a staging folder next to the target; only a bundle that passed the
leak check is moved into place, so a failed build leaves nothing a recipient could be sent.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import pymupdf

from disclose.evidence import EvidenceStore
from disclose.memory import return_freed_memory
from disclose.store import CaseStore
from search_api.bundle.leakcheck import Finding
from search_api.bundle.manifest import MANIFEST, DocumentSources, Manifest, write_manifest
from search_api.bundle.model import BundleError, BundleSummary, LeakError, PlannedDocument, RenderedDocument, Spilled, with_renderings
from search_api.bundle.pages import finish, page_label, stamp_pages
from search_api.bundle.pdfstream import MuPdfSource, Outline, PageTree, PdfWriter
from search_api.bundle.render import Masker
from search_api.bundle.schedule import (
    ScheduleRow,
    annex_rows,
    schedule_rows,
    write_annex_csv,
    write_csv,
    write_schedule_pdf,
    write_xlsx,
)
from search_api.bundle.selection import Plan, bundle_store, plan_bundle
from search_api.bundle.workers import CheckJob, RenderJob, SealJob, check_part, render_part, results, seal_part, worker_pool

Progress = Callable[[dict[str, object]], None]
BRANCH_PAGES = 500  # pages under each node of the combined PDF's page tree
AHEAD = 8  # documents rendered or sealed but not yet collected: enough to keep both workers busy, no more
VIEW_PAGES = 500  # pages of the combined PDF read back per leak-check job (memory of the readers grows with it)


def safe_ref(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ref).strip(".-") or "bundle"


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
    database = database_url(store)
    with bundle_store(database) as reading, reading.session() as session:
        plan = plan_bundle(session, ref)
    return_freed_memory()  # planning's rows and texts are gone; their heap would otherwise stay under every later stage
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        summary = _build(plan, database, evidence, staging, progress)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.out = str(out)
    summary.seconds = round(time.monotonic() - began, 2)
    return summary


def database_url(store: CaseStore) -> str:
    """Where the render workers read items from: the same case store, opened in their own process."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise BundleError("bundles need a case store on disk (an in-memory SQLite store cannot be shared with the render workers)")
    return url.render_as_string(hide_password=False)


def _build(plan: Plan, database: str, evidence: EvidenceStore, root: Path, progress: Progress | None) -> BundleSummary:
    output = _Output(root, plan.ref)
    (root / "documents").mkdir()
    work = root / ".work"  # unnumbered renders, each removed once it is sealed
    work.mkdir()
    mask = Masker(plan.redactions)
    rendered: Spilled[RenderedDocument] = Spilled()  # in document order, like plan.documents
    next_page = 1
    released = sum(1 for d in plan.documents if d.released)
    findings: list[Finding] = []
    with worker_pool(plan.redactions, plan.redacted_strings) as pool:
        # A window of jobs in flight, not the whole bundle: queued jobs, their futures and their
        # results would otherwise grow with the number of documents.
        upcoming = (d for d in plan.documents if d.released)
        renders: deque[tuple[PlannedDocument, Future]] = deque()
        seals: deque[Future[list[Finding]]] = deque()

        def top_up() -> None:
            while len(renders) < AHEAD and (planned := next(upcoming, None)) is not None:
                job = RenderJob(planned, database, plan.request_id, str(evidence.root), plan.ref, str(work / f"{planned.number}.pdf"))
                renders.append((planned, pool.submit(render_part, job)))

        top_up()
        position = markers = 0
        while renders:
            planned, future = renders.popleft()
            part = future.result()
            position += 1
            markers += planned.marker_count
            target = output.document(planned.number)
            name = str(target.relative_to(root))
            rendered.append(RenderedDocument(
                planned.number, name, part.pages, page_label(plan.ref, next_page), page_label(plan.ref, next_page + part.pages - 1), part.source
            ))
            seal = SealJob(str(work / f"{planned.number}.pdf"), str(target), name, plan.ref, next_page,
                           part.source in ("original-pdf", "image"), part.neighbours)
            seals.append(pool.submit(seal_part, seal))
            next_page += part.pages
            while len(seals) > AHEAD:
                findings += seals.popleft().result()  # each document's own file is read back as soon as it is sealed
            top_up()
            if progress:
                progress({"stage": "render", "done": position, "total": released, "pages": next_page - 1})
        findings += results(list(seals))

        def rows() -> Iterator[ScheduleRow]:  # made afresh for each file, a row at a time
            return schedule_rows(with_renderings(plan.documents, rendered), mask)

        annex = annex_rows(plan.documents, plan.request_type)
        write_csv(root / "schedule.csv", rows())
        write_xlsx(root / "schedule.xlsx", rows(), annex)
        if annex:
            write_annex_csv(root / "exemptions-annex.csv", annex)
        write_schedule_pdf(root / "schedule.pdf", plan.ref, rows(), annex)
        if progress:
            progress({"stage": "combine", "done": 0, "total": len(rendered), "pages": next_page - 1})
        index, listing = work / "combined.index", work / "combined.pages"
        with open(index, "w+b") as where, open(listing, "wb") as pages:
            page_count = combine(output, root / "schedule.pdf", with_renderings(plan.documents, rendered), len(rendered), mask, pages, where)
        # The combined PDF is read back VIEW_PAGES pages at a time, each range copied out as a PDF of
        # its own (see write_page_range): both readers need memory for every object of the file they
        # open, so reading the combined file itself would cost memory that grows with the bundle.
        starts = range(0, page_count, VIEW_PAGES)
        views = (
            CheckJob(str(output.combined), output.combined.name, str(index), str(listing), start, min(VIEW_PAGES, page_count - start),
                     str(work / f"view-{start + 1}.pdf"))
            for start in starts
        )
        if progress:
            progress({"stage": "leak-check", "done": 0, "total": len(starts) + 1, "pages": next_page - 1})
        checks = [pool.submit(check_part, CheckJob(str(root / "schedule.pdf"), "schedule.pdf"))]
        checks += [pool.submit(check_part, view) for view in views]
        findings = _first_page_only(results(checks)) + findings
    index.unlink()
    listing.unlink()
    work.rmdir()
    if findings:
        shown = "; ".join(f.message() for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        raise LeakError(f"leak check failed, nothing was written: {shown}{more}")
    write_manifest(root, _manifest(plan, rendered), _bundle_files(root, rendered))
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


def _bundle_files(root: Path, rendered: Spilled[RenderedDocument]) -> Iterator[Path]:
    """Every file of the bundle in path order, as sorted(root.rglob) would give them, with the documents
    read from the rendered list (numbered, so in order) rather than from a listing of every one."""
    for entry in sorted(root.iterdir()):
        if entry.name == "documents" and entry.is_dir():
            yield from (root / done.file for done in rendered)
        elif entry.is_file() and entry.name != MANIFEST:
            yield entry


def _first_page_only(findings: list[Finding]) -> list[Finding]:
    """A string leaked in several ranges of the combined file is reported once, at its first page."""
    seen: set[tuple[str, str, str, str]] = set()
    kept = []
    for finding in sorted(findings, key=lambda f: (f.file, f.page)):
        key = (finding.file, finding.extractor, finding.string, finding.problem)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept


def combine(output: _Output, schedule: Path, documents: Iterable[tuple[PlannedDocument, RenderedDocument | None]], released: int,
            mask: Masker, listing: BinaryIO, index: BinaryIO) -> int:
    """The schedule's and each released document's pages copied to the combined PDF, with one bookmark
    each; the number of pages.

    Written an object at a time (see pdfstream), so memory stays at one document's objects however
    many pages there are: where each object went is kept in `index`, and each page's object number,
    in order, in `listing`, for the leak check to read the file back a range of pages at a time.
    """
    writer = PdfWriter(output.combined, index)
    catalog, root, bookmarks = writer.reserve(), writer.reserve(), writer.reserve()
    tree = PageTree(writer, root, listing, BRANCH_PAGES)
    outline = Outline(writer, bookmarks, 1 + released)
    with pymupdf.open(schedule) as front:
        outline.add("Schedule of documents", tree.add(MuPdfSource(front)))
    for planned, done in documents:
        if done is not None:
            with pymupdf.open(output.root / done.file) as part:
                first = tree.add(MuPdfSource(part))
            outline.add(mask(f"{done.first_page}  {planned.number}. {planned.title}")[:200], first)
    tree.close()
    outline.close()
    writer.write(catalog, b"<</Type/Catalog/Pages %d 0 R/Outlines %d 0 R>>" % (root, bookmarks))
    writer.close(catalog)
    return tree.count


def _manifest(plan: Plan, rendered: Spilled[RenderedDocument]) -> Manifest:
    """The bundle's manifest, its documents made one at a time as it is written (see write_manifest)."""
    documents = (
        DocumentSources(
            number=planned.number,
            file=done.file if done else None,
            item_ids=planned.item_ids,
            native_sha256=sorted({i.sha256 for i in planned.sources if i.sha256}),
            pages=f"{done.first_page}-{done.last_page}" if done else "",
        )
        for planned, done in with_renderings(plan.documents, rendered)
    )
    return Manifest(ref=plan.ref, kind="bundle", generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), documents=documents)
