"""The per-document work of a bundle, run in a pool of processes so a build uses every core.

Each document goes through two jobs: `render_part` lays it out with its markers burned in and
saves it unnumbered (page counts are only known once it is rendered); once every document before
it has a page count, `seal_part` stamps its page numbers, scrubs and saves it, and reads it back
for the leak check. Jobs carry one planned document (ids and a tally of markers) and file paths,
never the whole plan, item text or markers: the worker reads the document's items and markers from
the case store itself, so the parent process holds no text and no markers at all. Each worker
builds its masker and leak checker once, from the redacted strings handed to `start_worker`, and
opens the case store once.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from array import array
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pymupdf

from disclose.evidence import EvidenceStore
from disclose.store import CaseStore
from search_api.bundle.leakcheck import Finding, LeakChecker, adjacent_words
from search_api.bundle.model import PlannedDocument
from search_api.bundle.pages import finish, stamp_pages
from search_api.bundle.pdfstream import write_page_range
from search_api.bundle.render import DocumentRenderer, Masker
from search_api.bundle.selection import bundle_store, load_document

WORKERS = 2  # the machines this runs on have two cores; more processes only add memory


@dataclass(frozen=True)
class RenderJob:
    planned: PlannedDocument
    database_url: str  # the case store the worker reads the document's items and markers from
    request_id: int  # whose accepted markers are burned in
    evidence_root: str
    ref: str
    work_file: str


@dataclass(frozen=True)
class RenderedPart:
    number: int
    pages: int
    source: str  # text, original-pdf, image, transcript, placeholder
    neighbours: frozenset[str]  # words next to markers that must still be readable


@dataclass(frozen=True)
class SealJob:
    work_file: str
    target: str
    name: str  # the target relative to the bundle folder, as findings report it
    ref: str
    first_page: int
    thorough: bool
    neighbours: frozenset[str]


@dataclass(frozen=True)
class CheckJob:
    path: str
    name: str
    # A file written by PdfWriter is read back a range of pages at a time: its index, the listing of
    # its page objects, and the range (the first page counted from 0, and how many); a copy of just
    # those pages goes to `view` while they are read. No range: the whole file is read.
    index: str = ""
    listing: str = ""
    first: int = 0
    count: int = 0
    view: str = ""


@dataclass
class _WorkerState:
    mask: Masker
    checker: LeakChecker
    renderers: dict[tuple[str, str], DocumentRenderer]
    stores: dict[str, CaseStore]
    closing: ExitStack


_state: _WorkerState | None = None


def start_worker(redactions: list[tuple[str, str]], redacted: list[str]) -> None:
    global _state
    _state = _WorkerState(Masker(redactions), LeakChecker(redacted), {}, {}, ExitStack())


def _current() -> _WorkerState:
    if _state is None:
        raise RuntimeError("bundle worker used before start_worker")
    return _state


def _store(state: _WorkerState, url: str) -> CaseStore:
    if url not in state.stores:  # open for the worker's life (it ends with the pool)
        state.stores[url] = state.closing.enter_context(bundle_store(url))
    return state.stores[url]


def render_part(job: RenderJob) -> RenderedPart:
    state = _current()
    key = (job.evidence_root, job.ref)
    if key not in state.renderers:
        state.renderers[key] = DocumentRenderer(EvidenceStore(Path(job.evidence_root)), state.mask, job.ref)
    with _store(state, job.database_url).session() as session:
        loaded = load_document(session, job.planned, job.request_id)
    doc, source = state.renderers[key].render(loaded)
    pages = doc.page_count
    doc.save(job.work_file)  # unnumbered and uncompressed: sealing rewrites it
    doc.close()
    words: set[str] = set()
    if source != "image":  # an image's words are pixels: there is no text to read back
        for item in loaded.items:
            spans = [(m.start, m.end) for m in loaded.markers.get(item.id, [])]
            if spans:
                words |= adjacent_words(item.text, spans)
    return RenderedPart(job.planned.number, pages, source, frozenset(words))


def seal_part(job: SealJob) -> list[Finding]:
    doc = pymupdf.open(job.work_file)
    stamp_pages(doc, job.ref, job.first_page)
    finish(doc, Path(job.target), thorough=job.thorough)
    os.unlink(job.work_file)
    return _current().checker.check_file(Path(job.target), job.name, set(job.neighbours))


def check_part(job: CheckJob) -> list[Finding]:
    if not job.count:
        return _current().checker.check_file(Path(job.path), job.name, set())
    pages = array("i")
    with open(job.listing, "rb") as listing:
        listing.seek(job.first * pages.itemsize)
        pages.fromfile(listing, job.count)
    view = Path(job.view)
    try:
        with tempfile.TemporaryFile(dir=view.parent) as scratch:
            write_page_range(Path(job.path), Path(job.index), pages, view, scratch)
        return _current().checker.check_file(view, job.name, set(), first_number=job.first + 1)
    finally:
        view.unlink(missing_ok=True)


@contextmanager
def worker_pool(redactions: list[tuple[str, str]], redacted: list[str]) -> Iterator[ProcessPoolExecutor]:
    """Spawned (not forked) workers: the caller may be a server with threads and open connections."""
    pool = ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(redactions, redacted),
    )
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def results(futures: list[Future[list[Finding]]]) -> list[Finding]:
    return [finding for future in futures for finding in future.result()]
