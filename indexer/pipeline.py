"""The pipeline: store each collected original, ingest it into items, save, de-duplicate and index them.

Stages are Celery tasks (`indexer.tasks`). With no broker configured (the embedded default) the
same tasks run in-process on a small thread pool; with a broker they run on workers.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.base import Checkpoint, Collected, CollectionProblem, Crawler, Removed
from disclose import __version__
from disclose.items import Item, Kind, Status, child_id, stable_id
from disclose.memory import return_freed_memory
from disclose.store.base import now
from disclose.store.records import ExceptionEntry, item_from_row, record_custody
from disclose.store.tables import ItemRow, RunRow, SourceEntry, SourceRow
from indexer.context import MAX_DEPTH, ChildSpec, Native
from indexer.detect import sniff
from indexer.extract import Extraction, TikaPool
from indexer.ingestors.email.thread_hints import ThreadHints
from indexer.ocr import OcrResult, ocr_image
from indexer.registry import HEAD_BYTES, Probe, choose
from indexer.services import Services
from indexer.sink import WRITE_LOCK, Sink

COLLECTOR = f"disclose {__version__}"
ENRICHERS_MODULE = "indexer.enrich"


@dataclass
class RootSpec:
    """A collected original already in the evidence store: everything a worker needs to ingest it."""

    source_id: str
    source: str
    source_kind: str
    filename: str
    custodians: list[str]
    sha256: str
    size: int
    display_path: str = ""
    created: str | None = None
    modified: str | None = None
    accessed: str | None = None
    format_hint: str = ""
    custodian_rule: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    timezone: str = "Europe/London"
    run_id: str = ""

    @property
    def item_id(self) -> str:
        # The same original at the same place is the same item; a changed file is a new version.
        return stable_id(self.source, self.sha256)


@dataclass
class RootOutcome:
    added: int = 0
    new_ids: list[str] = field(default_factory=list)  # only when the worker left indexing to the caller
    reindex_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    problems: int = 0


@dataclass
class RunReport:
    run_id: str
    source: str
    collected: int = 0  # originals the crawl yielded
    unchanged: int = 0  # skipped because already ingested
    stored: int = 0  # originals ingested this run
    items_added: int = 0
    duplicates: int = 0
    problems: int = 0
    removed: int = 0
    seconds: float = 0.0
    changed_ids: list[str] = field(default_factory=list, repr=False)
    duplicate_roots: list[str] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("changed_ids")
        data.pop("duplicate_roots")
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class Runtime:
    """What a worker holds open while it ingests: the stores, the index and the Tika pool."""

    def __init__(self, services: Services, *, tika_workers: int = 2, index_in_worker: bool = True) -> None:
        self.services = services
        self.tika = TikaPool(tika_workers)
        self.index_in_worker = index_in_worker

    def close(self) -> None:
        self.tika.close()


class RootIngestion:
    """The IngestContext for one original and everything inside it."""

    def __init__(self, runtime: Runtime, spec: RootSpec, sink: Sink) -> None:
        self.runtime = runtime
        self.spec = spec
        self.sink = sink
        self.timezone = spec.timezone
        self.depth = 0
        self.thread_hints = ThreadHints()  # emails of this original replying to earlier ones take their thread
        self._scratch: list[Path] = []

    # -- IngestContext -------------------------------------------------------------------------
    def extract(self, native: Native) -> Extraction:
        return self.runtime.tika.extract(native.path)

    def ocr(self, image: Path) -> OcrResult:
        return ocr_image(image)

    def scratch(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="disclose-", dir=self.runtime.services.workspace.work_dir))
        self._scratch.append(folder)
        return folder

    def emit(self, item: Item) -> None:
        self.sink.add(item)

    def problem(self, item: Item | None, stage: str, reason: str) -> None:
        path = (item.source if item else "") or self.spec.display_path or self.spec.source
        if item is not None and item.status is Status.OK:
            item.status = Status.PARTIAL
        if item is not None and not item.error:
            item.error = reason
        self.sink.problem(ExceptionEntry(path=path, stage=stage, reason=reason, item_id=item.id if item else None))

    def derived(self, parent: Item, locator: str, kind: Kind, **fields: Any) -> Item:
        spec = ChildSpec(parent=parent, locator=locator, kind=kind, filename="", fields=fields)
        item = spec.make_item(sha256="", size=0, mime="")
        item.content_hash = fields.get("content_hash", "")
        item.title = fields.get("title", "")
        return item

    def child(
        self,
        parent: Item,
        locator: str,
        *,
        filename: str,
        data: bytes | None = None,
        path: Path | None = None,
        stream: BinaryIO | None = None,
        kind: Kind = Kind.ATTACHMENT,
        hint: str = "",
        fields: dict[str, Any] | None = None,
    ) -> Item | None:
        evidence = self.runtime.services.evidence
        try:
            if data is not None:
                sha, size = evidence.put_bytes(data)
            elif path is not None:
                sha, size = evidence.put_file(path)
            elif stream is not None:
                sha, size = evidence.put_stream(stream)
            else:
                raise ValueError("child() needs data, path or stream")
        except (OSError, ValueError) as error:
            self.problem(parent, "collect", f"could not store {filename or locator}: {error}")
            return None
        native = self._native(sha, size, filename, hint, data)
        item = ChildSpec(parent=parent, locator=locator, kind=kind, filename=filename, fields=fields or {}).make_item(
            sha, size, native.mime
        )
        if self.depth >= MAX_DEPTH:
            self.problem(item, "extract", f"nested more than {MAX_DEPTH} levels deep; not opened")
            self.emit(item)
            return item
        self.depth += 1
        try:
            self.process(item, native)
        finally:
            self.depth -= 1
        return item

    # -- the work --------------------------------------------------------------------------------
    def _native(self, sha: str, size: int, filename: str, hint: str, data: bytes | None = None) -> Native:
        path = self.runtime.services.evidence.path_for(sha)
        if data is not None:
            head = data[:HEAD_BYTES]
        else:
            with open(path, "rb") as handle:
                head = handle.read(HEAD_BYTES)
        whole = None
        if head.startswith(b"PK") and size <= 64 * 1024 * 1024:
            whole = data if data is not None else path.read_bytes()  # zip central directories live at the end
        mime = sniff(head, whole=whole)
        # Small in-memory children keep their bytes so that the ingestor need not read them back.
        content = data if data is not None and size <= 16 * 1024 * 1024 else None
        return Native(sha256=sha, path=path, filename=filename, size=size, probe=Probe(head, filename, mime, size, hint), content=content)

    def process(self, item: Item, native: Native) -> None:
        """Run the right ingestor; whatever goes wrong, the item is still saved and findable by name."""
        try:
            ingestor = choose(native.probe)
            item.metadata.setdefault("ingestor", ingestor.name)
            ingestor.ingest(item, native, self)
        except Exception as error:  # noqa: BLE001  (one bad file never stops a run)
            item.status = Status.FAILED
            reason = f"{type(error).__name__}: {error}" if not str(error).startswith(type(error).__name__) else str(error)
            item.error = reason[:1000]
            self.sink.problem(ExceptionEntry(path=item.source or native.filename, stage="extract", reason=item.error, item_id=item.id))
        if not item.title:
            item.title = item.filename
        self.emit(item)

    def run(self) -> None:
        spec = self.spec
        native = self._native(spec.sha256, spec.size, spec.filename, spec.format_hint)
        item = Item(
            id=spec.item_id,
            kind=Kind.FILE,
            family_id=spec.item_id,
            root_id=spec.item_id,
            source=spec.source,
            custodians=list(spec.custodians),
            title=spec.filename,
            filename=spec.filename,
            mime_type=native.mime,
            size=spec.size,
            sha256=spec.sha256,
            content_hash=spec.sha256,
            metadata={
                "source_kind": spec.source_kind,
                "display_path": spec.display_path,
                "custodian_rule": spec.custodian_rule,
                "created": spec.created,
                "modified": spec.modified,
                "accessed": spec.accessed,
                **spec.metadata,
            },
        )
        if spec.modified:
            item.set_date(datetime.fromisoformat(spec.modified), "mtime")
        try:
            self.process(item, native)
        finally:
            self.thread_hints.close()
            for folder in self._scratch:
                shutil.rmtree(folder, ignore_errors=True)


def ingest_root(runtime: Runtime, spec: RootSpec) -> RootOutcome:
    """Ingest one stored original with all its children; the root is saved last so that an
    interrupted run leaves no half-ingested original that looks complete."""
    services = runtime.services
    sink = Sink(services.store, services.index if runtime.index_in_worker else None, spec.run_id or None)
    sink.also(lambda session: _record_collection(session, spec))
    RootIngestion(runtime, spec, sink).run()
    sink.also(lambda session: _remember_entry_in(session, spec))
    sink.flush()
    totals = sink.totals
    return RootOutcome(
        added=totals.added,
        new_ids=totals.new_ids, reindex_ids=sorted(totals.reindex_ids), duplicate_ids=totals.duplicate_ids, problems=totals.problems
    )


def _record_collection(session: Session, spec: RootSpec) -> None:
    if session.get(ItemRow, spec.item_id) is None:
        record_custody(
            session,
            item_id=spec.item_id,
            sha256=spec.sha256,
            source=spec.source,
            custodian=", ".join(spec.custodians),
            collector=COLLECTOR,
            detail={"display_path": spec.display_path, "source_kind": spec.source_kind, "size": spec.size},
        )


def _remember_entry(services: Services, spec: RootSpec) -> None:
    with WRITE_LOCK:
        with services.store.session() as session:
            _remember_entry_in(session, spec)


def _remember_entry_in(session: Session, spec: RootSpec) -> None:
    entry = session.get(SourceEntry, (spec.source_id, spec.source))
    if entry is None:
        entry = SourceEntry(source_id=spec.source_id, locator=spec.source, item_id=spec.item_id)
        session.add(entry)
    entry.item_id = spec.item_id
    entry.sha256 = spec.sha256
    entry.fingerprint = str(spec.metadata.get("fingerprint", ""))
    entry.present = True
    entry.seen_at = now()


class Pipeline:
    def __init__(self, services: Services, *, timezone: str = "Europe/London", workers: int = 2) -> None:
        self.services = services
        self.timezone = timezone
        self.workers = workers

    # -- orchestration ---------------------------------------------------------------------------
    def run(self, crawler: Crawler, progress: Callable[[RunReport], None] | None = None) -> RunReport:
        with _fewer_collections():
            return self._run(crawler, progress)

    def _run(self, crawler: Crawler, progress: Callable[[RunReport], None] | None = None) -> RunReport:
        started = time.monotonic()
        report = RunReport(run_id=uuid.uuid4().hex, source=crawler.source_uri)
        state = self._start(crawler, report)
        dispatcher = _dispatcher(self.services, self.workers)
        pending: list[Future[RootOutcome]] = []
        try:
            for found in crawler.crawl(state):
                if isinstance(found, Collected):
                    report.collected += 1
                    spec = self._stored(crawler, found, report)
                    if spec is not None:
                        pending.append(dispatcher.submit(spec))
                        if len(pending) >= self.workers * 4:
                            self._settle(pending[: self.workers * 2], report)
                            del pending[: self.workers * 2]
                elif isinstance(found, CollectionProblem):
                    self._collection_problem(found, report)
                elif isinstance(found, Removed):
                    self._removed(crawler, found, report)
                elif isinstance(found, Checkpoint):
                    self._settle(pending, report)
                    pending.clear()
                    self._index(report, commit=True)
                    self.services.evidence.make_durable()
                    self._save_state(crawler, found.state)
                if progress:
                    progress(report)
            self._settle(pending, report)
            pending.clear()
            return_freed_memory()  # each stage below starts from what is live, not from the import's high-water mark
            self._enrich(report)
            return_freed_memory()
            report.changed_ids.extend(duplicate_families(self.services, report.duplicate_roots))
            self._index(report, commit=True)
            return_freed_memory()
            self.services.evidence.make_durable()
        finally:
            dispatcher.close()
            report.seconds = round(time.monotonic() - started, 3)
            self._finish(report)
        return report

    def _start(self, crawler: Crawler, report: RunReport) -> dict[str, Any]:
        with WRITE_LOCK, self.services.store.session() as session:
            source = session.get(SourceRow, crawler.source_id)
            if source is None:
                source = SourceRow(id=crawler.source_id, kind=crawler.source_kind, uri=crawler.source_uri, state={})
                session.add(source)
            source.last_run_at = now()
            session.add(RunRow(id=report.run_id, kind=f"crawl:{crawler.source_kind}", params={"source": crawler.source_uri}))
            return dict(source.state or {})

    def _finish(self, report: RunReport) -> None:
        with WRITE_LOCK, self.services.store.session() as session:
            run = session.get(RunRow, report.run_id)
            if run is not None:
                run.status = "done"
                run.progress = report.summary()
                run.finished_at = now()

    def _save_state(self, crawler: Crawler, state: dict[str, Any]) -> None:
        with WRITE_LOCK, self.services.store.session() as session:
            source = session.get(SourceRow, crawler.source_id)
            if source is not None:
                source.state = state

    def _stored(self, crawler: Crawler, found: Collected, report: RunReport) -> RootSpec | None:
        """Put the original in the evidence store, unless this location is unchanged since last time."""
        fingerprint = str(found.metadata.get("fingerprint", ""))
        if fingerprint and self._unchanged(crawler.source_id, found.source, fingerprint, found.custodians):
            report.unchanged += 1
            return None
        try:
            if found.local_path is not None:
                sha, size = self.services.evidence.put_file(found.local_path)
            else:
                with found.opener() as stream:
                    sha, size = self.services.evidence.put_stream(stream)
        except OSError as error:
            self._collection_problem(CollectionProblem(source=found.display_path or found.source, reason=f"cannot read: {error}"), report)
            return None
        spec = RootSpec(
            source_id=crawler.source_id,
            source=found.source,
            source_kind=found.source_kind,
            filename=found.filename,
            custodians=list(found.custodians),
            sha256=sha,
            size=size,
            display_path=found.display_path,
            created=_iso(found.created),
            modified=_iso(found.modified),
            accessed=_iso(found.accessed),
            format_hint=found.format_hint,
            custodian_rule=found.custodian_rule,
            metadata=dict(found.metadata),
            timezone=self.timezone,
            run_id=report.run_id,
        )
        if self._already_ingested(spec):
            report.unchanged += 1
            _remember_entry(self.services, spec)
            return None
        report.stored += 1
        return spec

    def _unchanged(self, source_id: str, locator: str, fingerprint: str, custodians: list[str]) -> bool:
        with self.services.store.session() as session:
            entry = session.get(SourceEntry, (source_id, locator))
            if entry is None or entry.fingerprint != fingerprint or not entry.present:
                return False
            row = session.get(ItemRow, entry.item_id)
            return row is not None and all(c in (row.custodians or []) for c in custodians)

    def _already_ingested(self, spec: RootSpec) -> bool:
        with self.services.store.session() as session:
            row = session.get(ItemRow, spec.item_id)
            return row is not None and all(c in (row.custodians or []) for c in spec.custodians)

    def _settle(self, futures: list[Future[RootOutcome]], report: RunReport) -> None:
        for future in futures:
            outcome = future.result()
            report.items_added += outcome.added
            report.duplicates += len(outcome.duplicate_ids)
            report.problems += outcome.problems
            report.changed_ids.extend(outcome.reindex_ids)
            report.changed_ids.extend(outcome.duplicate_ids)
            report.duplicate_roots.extend(outcome.duplicate_ids)
            if not _dispatcher_indexes(self.services):
                report.changed_ids.extend(outcome.new_ids)

    def _collection_problem(self, problem: CollectionProblem, report: RunReport) -> None:
        report.problems += 1
        sink = Sink(self.services.store, None, report.run_id)
        sink.problem(ExceptionEntry(path=problem.source, stage="collect", reason=problem.reason))
        sink.flush()

    def _removed(self, crawler: Crawler, removed: Removed, report: RunReport) -> None:
        report.removed += 1
        with WRITE_LOCK, self.services.store.session() as session:
            entry = session.get(SourceEntry, (crawler.source_id, removed.source))
            if entry is None:
                return
            entry.present = False
            row = session.get(ItemRow, entry.item_id)
            if row is not None:
                row.meta = {**(row.meta or {}), "present": False, "no_longer_present_at": now().isoformat()}
                report.changed_ids.append(row.id)

    def _enrich(self, report: RunReport) -> None:
        try:
            package = import_module(ENRICHERS_MODULE)
        except ModuleNotFoundError:
            return
        for name in getattr(package, "ENRICHERS", []):
            enricher = import_module(name)
            # An enricher names the kinds it reads, so a million-message chat import does not hand
            # the email threader a million ids.
            kinds = getattr(enricher, "KINDS", None)
            report.changed_ids.extend(enricher.enrich(self.services, self._run_items(report.run_id, kinds)) or [])

    def _run_items(self, run_id: str, kinds: Sequence[str] | None) -> Iterator[str]:
        """The ids of the items this run stored, streamed (a large import's ids would fill memory)."""
        with self.services.store.session() as session:
            query = select(ItemRow.id).where(ItemRow.created_at >= _run_start(session, run_id))
            if kinds:
                query = query.where(ItemRow.kind.in_(list(kinds)))
            yield from session.scalars(query.execution_options(yield_per=1000))

    def _index(self, report: RunReport, *, commit: bool) -> None:
        ids = sorted(set(report.changed_ids))
        report.changed_ids.clear()
        index_items(self.services, ids)
        if commit:
            self.services.index.commit()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while ingesting.

    An import allocates millions of short-lived containers (items, their metadata dicts and
    participant lists) that reference counting frees; at the default thresholds the collector ran
    every 700 allocations and took a seventh of a chat import's time finding nothing to collect.
    """
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    # What exists before the run (modules, mappings, caches) is left out of every collection during it,
    # so that the full collection Sink.flush runs every COLLECT_EVERY items looks only at the run's objects.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def duplicate_families(services: Services, duplicate_ids: list[str]) -> list[str]:
    """The attachments of a duplicate email are duplicates of the primary's attachments.

    A child's id derives from its parent's id and its locator, so the primary's matching child is
    found without comparing content; children with no counterpart stay as they are.
    """
    changed: list[str] = []
    frontier = [(dup, primary) for dup, primary in _primaries(services, duplicate_ids)]
    while frontier:
        following: list[tuple[str, str]] = []
        with WRITE_LOCK, services.store.session() as session:
            for duplicate_id, primary_id in frontier:
                for child in session.scalars(select(ItemRow).where(ItemRow.parent_id == duplicate_id)):
                    counterpart = child_id(primary_id, child.locator)
                    if child.duplicate_of is None and session.get(ItemRow, counterpart) is not None:
                        child.duplicate_of = counterpart
                        changed.append(child.id)
                        following.append((child.id, counterpart))
        frontier = following
    return changed


def _primaries(services: Services, ids: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    with services.store.session() as session:
        for start in range(0, len(ids), 1000):
            rows = session.execute(select(ItemRow.id, ItemRow.duplicate_of).where(ItemRow.id.in_(ids[start : start + 1000])))
            pairs.extend((row_id, primary) for row_id, primary in rows if primary)
    return pairs


def _run_start(session, run_id: str) -> datetime:  # type: ignore[no-untyped-def]
    run = session.get(RunRow, run_id)
    return run.started_at if run else now()


def index_items(services: Services, ids: list[str], batch: int = 1000) -> int:
    """Refresh the index entries of these items from the case store."""
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with services.store.session() as session:
            rows = session.scalars(select(ItemRow).where(ItemRow.id.in_(chunk))).all()
            items = [item_from_row(row) for row in rows]
        services.index.upsert(items)
    return len(ids)


def _dispatcher_indexes(services: Services) -> bool:
    return services.workspace.embedded or not services.workspace.index_url.startswith("tantivy")


class _InProcess:
    """The embedded default: the Celery task bodies, run on a thread pool in this process."""

    def __init__(self, services: Services, workers: int) -> None:
        self.runtime = Runtime(services, tika_workers=workers)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")

    def submit(self, spec: RootSpec) -> Future[RootOutcome]:
        return self.pool.submit(ingest_root, self.runtime, spec)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.runtime.close()


class _OnWorkers:
    """Scale mode: each original is a Celery task on a worker over the broker."""

    def __init__(self, services: Services) -> None:
        from indexer.tasks import ingest_root_task

        self.task = ingest_root_task

    def submit(self, spec: RootSpec) -> "_CeleryFuture":
        return _CeleryFuture(self.task.delay(asdict(spec)))

    def close(self) -> None:
        return None


class _CeleryFuture:
    def __init__(self, result: Any) -> None:
        self._result = result

    def result(self) -> RootOutcome:
        return RootOutcome(**self._result.get(timeout=3600, propagate=True))


def _dispatcher(services: Services, workers: int) -> _InProcess | _OnWorkers:
    return _InProcess(services, workers) if services.workspace.embedded else _OnWorkers(services)


def run_crawl(services: Services, crawler: Crawler, *, timezone: str = "Europe/London", workers: int = 2,
              progress: Callable[[RunReport], None] | None = None) -> RunReport:
    return Pipeline(services, timezone=timezone, workers=workers).run(crawler, progress)


def ingest_paths(
    services: Services,
    paths: list[Path],
    custodians: list[str],
    *,
    timezone: str = "Europe/London",
    workers: int = 2,
    crawler_options: dict[str, Any] | None = None,
    progress: Callable[[RunReport], None] | None = None,
) -> RunReport:
    from crawler.filesystem import FilesystemCrawler

    crawler = FilesystemCrawler(paths=paths, custodians=custodians, **(crawler_options or {}))
    return run_crawl(services, crawler, timezone=timezone, workers=workers, progress=progress)
