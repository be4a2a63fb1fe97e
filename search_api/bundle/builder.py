"""Building a bundle: plan, render each document to its own file, number pages, schedule, combine, check, seal.

Everything is written to a staging folder next to the target; only a bundle that passed the
leak check is moved into place, so a failed build leaves nothing a recipient could be sent.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import time
import uuid
from array import array
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pymupdf

from disclose.evidence import EvidenceStore
from disclose.store import CaseStore
from search_api.bundle.leakcheck import Finding
from search_api.bundle.manifest import DocumentSources, Manifest, write_manifest
from search_api.bundle.model import BundleError, BundleSummary, LeakError, PlannedDocument, RenderedDocument
from search_api.bundle.pages import finish, page_label, stamp_pages
from search_api.bundle.render import Masker
from search_api.bundle.schedule import (
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
COMBINE_CHUNK = 100  # documents appended to the combined PDF between incremental saves
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
    rendered: dict[int, RenderedDocument] = {}
    next_page = 1
    released = [d for d in plan.documents if d.released]
    findings: list[Finding] = []
    with worker_pool(plan.redactions, plan.redacted_strings) as pool:
        # A window of jobs in flight, not the whole bundle: queued jobs, their futures and their
        # results would otherwise grow with the number of documents.
        upcoming = iter(released)
        renders: deque[tuple[PlannedDocument, Future]] = deque()
        seals: deque[Future[list[Finding]]] = deque()

        def top_up() -> None:
            while len(renders) < AHEAD and (planned := next(upcoming, None)) is not None:
                job = RenderJob(planned, database, plan.request_id, str(evidence.root), plan.ref, str(work / f"{planned.number}.pdf"))
                renders.append((planned, pool.submit(render_part, job)))

        top_up()
        position = 0
        while renders:
            planned, future = renders.popleft()
            part = future.result()
            position += 1
            target = output.document(planned.number)
            name = str(target.relative_to(root))
            rendered[planned.number] = RenderedDocument(
                planned.number, name, part.pages, page_label(plan.ref, next_page), page_label(plan.ref, next_page + part.pages - 1), part.source
            )
            seal = SealJob(str(work / f"{planned.number}.pdf"), str(target), name, plan.ref, next_page,
                           part.source in ("original-pdf", "image"), part.neighbours)
            seals.append(pool.submit(seal_part, seal))
            next_page += part.pages
            while len(seals) > AHEAD:
                findings += seals.popleft().result()  # each document's own file is read back as soon as it is sealed
            top_up()
            if progress:
                progress({"stage": "render", "done": position, "total": len(released), "pages": next_page - 1})
        findings += results(list(seals))
        rows = schedule_rows(plan.documents, rendered, mask)
        annex = annex_rows(plan.documents, plan.request_type)
        write_csv(root / "schedule.csv", rows)
        write_xlsx(root / "schedule.xlsx", rows, annex)
        if annex:
            write_annex_csv(root / "exemptions-annex.csv", annex)
        write_schedule_pdf(root / "schedule.pdf", plan.ref, rows, annex)
        del rows
        if progress:
            progress({"stage": "combine", "done": 0, "total": len(rendered), "pages": next_page - 1})
        page_xrefs = combine(output, root / "schedule.pdf", plan.documents, rendered, mask)
        # The combined PDF is read back a range of VIEW_PAGES pages at a time, each range through a
        # view of the file holding just those pages (see write_page_range_view): both readers need
        # memory for every page of the file they open, so reading the file itself, even a page
        # range of it, would cost memory that grows with the bundle.
        views = [
            CheckJob(str(output.combined), output.combined.name, tuple(page_xrefs[start:start + VIEW_PAGES]), start + 1,
                     str(work / f"view-{start + 1}.pdf"))
            for start in range(0, len(page_xrefs), VIEW_PAGES)
        ]
        del page_xrefs
        if progress:
            progress({"stage": "leak-check", "done": 0, "total": len(views) + 1, "pages": next_page - 1})
        checks = [pool.submit(check_part, CheckJob(str(root / "schedule.pdf"), "schedule.pdf"))]
        checks += [pool.submit(check_part, view) for view in views]
        findings = _first_page_only(results(checks)) + findings
    work.rmdir()
    if findings:
        shown = "; ".join(f.message() for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        raise LeakError(f"leak check failed, nothing was written: {shown}{more}")
    write_manifest(root, _manifest(plan, rendered))
    markers = sum(d.marker_count for d in plan.documents if d.released)
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


def combine(output: _Output, schedule: Path, documents: list[PlannedDocument], rendered: dict[int, RenderedDocument], mask: Masker) -> array[int]:
    """Append each per-document file to the combined PDF, with one bookmark each; its page objects, in order.

    Memory stays the same however many pages there are. The file is saved incrementally and
    reopened every COMBINE_CHUNK documents, and each chunk's pages go into a page tree node of
    their own, which is the whole page tree while the chunk is appended: MuPDF reads every page of
    the tree it appends to (about 1 KB a page), so appending to one tree of the whole bundle cost
    memory that grew with it. The chunks' nodes are joined under one root at the end. Bookmarks
    are written as outline objects pointing at page objects noted while appending (set_toc would
    load every page of the file).
    """
    target = output.combined
    with pymupdf.open(schedule) as front:
        combined = pymupdf.open()
        combined.insert_pdf(front)
    combined.set_metadata({})
    combined.save(target, garbage=1, deflate=True)
    combined.close()
    with pymupdf.open(target) as combined:
        page_xrefs = array("i", (combined.page_xref(number) for number in range(combined.page_count)))
        branches = [_page_tree_root(combined)]  # the schedule's pages
    outline: list[tuple[str, int]] = [("Schedule of documents", page_xrefs[0])]
    titles = {d.number: d.title for d in documents}
    for index, (number, done) in enumerate(rendered.items()):
        if index % COMBINE_CHUNK == 0:
            if index:
                _save_and_close(combined)
            combined = pymupdf.open(target)
            branches.append(_start_branch(combined))
            before = len(page_xrefs)  # pages in the branches before this one
        with pymupdf.open(output.root / done.file) as part:
            combined.insert_pdf(part)
        added = range(len(page_xrefs) - before, len(page_xrefs) - before + done.pages)
        outline.append((mask(f"{done.first_page}  {number}. {titles.get(number, '')}")[:200], combined.page_xref(added[0])))
        page_xrefs.extend(combined.page_xref(page) for page in added)
    if rendered:
        _save_and_close(combined)
    combined = pymupdf.open(target)  # opened afresh: the page tree changes under it now
    _join_branches(combined, branches, len(page_xrefs))
    _write_outline(combined, outline)
    combined.set_metadata({})
    combined.saveIncr()
    combined.close()
    return page_xrefs


def _save_and_close(doc: pymupdf.Document) -> None:
    doc.saveIncr()
    doc.close()
    return_freed_memory()


def _page_tree_root(doc: pymupdf.Document) -> int:
    return int(doc.xref_get_key(doc.pdf_catalog(), "Pages")[1].split()[0])


def _start_branch(doc: pymupdf.Document) -> int:
    """An empty page tree node made the document's page tree, so the pages appended next go into it."""
    branch = doc.get_new_xref()
    doc.update_object(branch, "<</Type/Pages/Kids[]/Count 0>>")
    doc.xref_set_key(doc.pdf_catalog(), "Pages", f"{branch} 0 R")
    return branch


def _join_branches(doc: pymupdf.Document, branches: list[int], pages: int) -> None:
    """One root over the branches, in order: the page tree of the whole bundle."""
    root = doc.get_new_xref()
    doc.update_object(root, f"<</Type/Pages/Kids[{' '.join(f'{b} 0 R' for b in branches)}]/Count {pages}>>")
    for branch in branches:
        doc.xref_set_key(branch, "Parent", f"{root} 0 R")
    doc.xref_set_key(doc.pdf_catalog(), "Pages", f"{root} 0 R")


def _write_outline(doc: pymupdf.Document, entries: list[tuple[str, int]]) -> None:
    """One top-level bookmark per (title, page object), in order."""
    root = doc.get_new_xref()
    items = [doc.get_new_xref() for _ in entries]
    for index, ((title, page), xref) in enumerate(zip(entries, items)):
        fields = [f"/Title {pymupdf.get_pdf_str(title)}", f"/Parent {root} 0 R", f"/Dest [{page} 0 R /Fit]"]
        if index:
            fields.append(f"/Prev {items[index - 1]} 0 R")
        if index + 1 < len(items):
            fields.append(f"/Next {items[index + 1]} 0 R")
        doc.update_object(xref, "<<" + "".join(fields) + ">>")
    doc.update_object(root, f"<</Type/Outlines/First {items[0]} 0 R/Last {items[-1]} 0 R/Count {len(items)}>>")
    doc.xref_set_key(doc.pdf_catalog(), "Outlines", f"{root} 0 R")


def return_freed_memory() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim).

    Each reopening of the combined PDF parses its cross-reference table, which grows with the
    bundle, and each chunk leaves the objects it appended; freed, they leave the heap fragmented
    and glibc keeps it, so without this the process's memory would creep up with every chunk.
    Elsewhere (no glibc) it does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _manifest(plan: Plan, rendered: dict[int, RenderedDocument]) -> Manifest:
    """The bundle's manifest, its documents made one at a time as it is written (see write_manifest)."""
    documents = (
        DocumentSources(
            number=planned.number,
            file=done.file if done else None,
            item_ids=planned.item_ids,
            native_sha256=sorted({i.sha256 for i in planned.sources if i.sha256}),
            pages=f"{done.first_page}-{done.last_page}" if done else "",
        )
        for planned in plan.documents
        for done in [rendered.get(planned.number)]
    )
    return Manifest(ref=plan.ref, kind="bundle", generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), documents=documents)
