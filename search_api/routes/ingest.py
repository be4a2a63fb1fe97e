"""Ingest from the browser: upload export files or name a server folder for a custodian; the ingest
runs in a background thread and its per-file progress is kept in the `runs` table, so a page reload
(or another officer) sees the same progress. Also the list of ingest runs (`/ingest/runs`); `/runs/{id}` reads any run."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, BinaryIO, Callable, Iterable

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select

from disclose.store.base import now
from disclose.store.tables import RunRow
from indexer.services import Services
from search_api.deps import get_services

router = APIRouter(tags=["ingest"])

INGEST = "ingest"
BACKGROUND_KINDS = (INGEST, "bundle")  # runs this server starts in threads (a restart interrupts them)
MAX_UPLOAD_BYTES = int(os.environ.get("DISCLOSE_MAX_UPLOAD_BYTES", str(50 * 1024**3)))
CHUNK = 1024 * 1024
PROGRESS_EVERY = 0.5  # seconds between progress writes while a file is ingesting
_one_ingest_at_a_time = threading.Lock()  # runs queue behind each other: one writer to the index


class RunView(BaseModel):
    id: str
    kind: str
    status: str  # waiting, running, done, failed
    params: dict[str, Any]
    progress: dict[str, Any]
    error: str
    started_at: datetime | None
    finished_at: datetime | None


class FolderBody(BaseModel):
    path: str = Field(min_length=1, description="A folder (or file) on the server.")
    custodian: str = Field(min_length=1)
    timezone: str = "Europe/London"


class IngestError(ValueError):
    """The ingest cannot start as asked (no custodian, no such folder, an upload too big)."""


# --- runs: progress of long work kept in the case store ------------------------------------


def run_view(row: RunRow) -> RunView:
    return RunView(id=row.id, kind=row.kind, status=row.status, params=dict(row.params or {}), progress=dict(row.progress or {}),
                   error=row.error or "", started_at=row.started_at, finished_at=row.finished_at)


def start_run(services: Services, kind: str, params: dict[str, Any], progress: dict[str, Any], status: str = "running") -> RunView:
    with services.store.session() as session:
        row = RunRow(id=uuid.uuid4().hex, kind=kind, status=status, params=params, progress=progress)
        session.add(row)
        session.flush()
        return run_view(row)


def update_run(services: Services, run_id: str, *, status: str | None = None, progress: dict[str, Any] | None = None,
               error: str | None = None, params: dict[str, Any] | None = None) -> None:
    with services.store.session() as session:
        row = session.get(RunRow, run_id)
        if row is None:
            return
        if progress is not None:
            row.progress = dict(progress)  # a new dict: JSON columns only save on reassignment
        if params is not None:
            row.params = dict(params)
        if error is not None:
            row.error = error
        if status is not None:
            row.status = status
            if status in ("done", "failed"):
                row.finished_at = now()


def load_run(services: Services, run_id: str) -> RunView | None:
    with services.store.session() as session:
        row = session.get(RunRow, run_id)
        return run_view(row) if row else None


def list_runs(services: Services, kind: str | None = None, limit: int = 50, **param_equals: str) -> list[RunView]:
    with services.store.session() as session:
        query = select(RunRow).order_by(RunRow.started_at.desc()).limit(limit * (4 if param_equals else 1))
        if kind:
            query = query.where(RunRow.kind == kind)
        rows = [run_view(r) for r in session.scalars(query)]
    chosen = [r for r in rows if all(r.params.get(k) == v for k, v in param_equals.items())]
    return chosen[:limit]


def recover_interrupted_runs(services: Services) -> int:
    """Background runs still marked running when a server starts died with the previous server."""
    with services.store.session() as session:
        rows = session.scalars(select(RunRow).where(RunRow.kind.in_(BACKGROUND_KINDS), RunRow.status.in_(("running", "waiting")))).all()
        for row in rows:
            row.status = "failed"
            row.error = "interrupted: the server stopped before the run finished; start it again"
            row.finished_at = now()
        return len(rows)


def in_background(name: str, work: Callable[[], None]) -> None:
    threading.Thread(target=work, name=name, daemon=True).start()


# --- ingest --------------------------------------------------------------------------------


@dataclass
class IncomingFile:
    client_name: str  # shown to people only; never used as a path
    stream: BinaryIO


def upload_root(services: Services) -> Path:
    return services.workspace.home / "uploads"


def safe_upload_name(position: int, client_name: str) -> str:
    """A generated name that keeps the extension and readable words (ingestors look at both) but
    cannot name another folder, a hidden file or a device."""
    base = PurePath(client_name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9 ._()+-]", "_", base).strip(" .")[-120:]
    return f"{position:03d}-{cleaned or 'upload'}"


def _file_entry(name: str, path: Path, size: int) -> dict[str, Any]:
    return {"name": name, "path": str(path), "size": size, "status": "waiting", "collected": 0, "items_added": 0,
            "duplicates": 0, "problems": 0, "error": ""}


def _check_custodian(custodian: str) -> str:
    custodian = custodian.strip()
    if not custodian:
        raise IngestError("enter the custodian: whose files these are")
    return custodian


def save_uploads(services: Services, run_id: str, files: Iterable[IncomingFile]) -> list[dict[str, Any]]:
    folder = upload_root(services) / run_id
    folder.mkdir(parents=True, exist_ok=False)
    entries = []
    for position, incoming in enumerate(files, start=1):
        target = folder / safe_upload_name(position, incoming.client_name)
        written = 0
        with open(target, "wb") as out:
            while chunk := incoming.stream.read(CHUNK):
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise IngestError(f"{incoming.client_name} is bigger than the upload limit of {MAX_UPLOAD_BYTES} bytes")
                out.write(chunk)
        entries.append(_file_entry(PurePath(incoming.client_name.replace("\\", "/")).name or target.name, target, written))
    if not entries:
        raise IngestError("choose at least one file to upload")
    return entries


def start_upload_ingest(services: Services, files: Iterable[IncomingFile], custodian: str, timezone: str = "Europe/London") -> RunView:
    custodian = _check_custodian(custodian)
    run_id = uuid.uuid4().hex
    try:
        entries = save_uploads(services, run_id, files)
    except IngestError:
        import shutil

        shutil.rmtree(upload_root(services) / run_id, ignore_errors=True)
        raise
    return _start_ingest(services, run_id, {"custodian": custodian, "timezone": timezone, "source": "upload"}, entries)


def start_folder_ingest(services: Services, path: str, custodian: str, timezone: str = "Europe/London") -> RunView:
    custodian = _check_custodian(custodian)
    folder = Path(path.strip()).expanduser()
    if not path.strip() or not folder.is_absolute():
        raise IngestError("enter the full path of a folder on the server, starting with /")
    if not folder.exists():
        raise IngestError(f"there is no folder {folder} on the server")
    entry = _file_entry(str(folder), folder, 0)
    return _start_ingest(services, uuid.uuid4().hex, {"custodian": custodian, "timezone": timezone, "source": "folder"}, [entry])


def _start_ingest(services: Services, run_id: str, params: dict[str, Any], entries: list[dict[str, Any]]) -> RunView:
    with services.store.session() as session:
        session.add(RunRow(id=run_id, kind=INGEST, status="waiting", params=params, progress={"files": entries}))
    in_background(f"ingest-{run_id[:8]}", lambda: _ingest(services, run_id, params, entries))
    return load_run(services, run_id)  # type: ignore[return-value]


def _ingest(services: Services, run_id: str, params: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    from indexer.pipeline import ingest_paths

    with _one_ingest_at_a_time:
        update_run(services, run_id, status="running")
        failed = 0
        for entry in entries:
            entry["status"] = "ingesting"
            update_run(services, run_id, progress={"files": entries, "current": entry["name"]})
            last_write = [0.0]

            def on_progress(report: Any, entry: dict[str, Any] = entry) -> None:
                entry.update(collected=report.collected, items_added=report.items_added, duplicates=report.duplicates,
                             problems=report.problems)
                if time.monotonic() - last_write[0] >= PROGRESS_EVERY:
                    last_write[0] = time.monotonic()
                    update_run(services, run_id, progress={"files": entries, "current": entry["name"]})

            try:
                report = ingest_paths(services, [Path(entry["path"])], [params["custodian"]], timezone=params.get("timezone") or "Europe/London",
                                      progress=on_progress)
                on_progress(report)
                entry["status"] = "done"
            except Exception as error:  # one unreadable upload must not stop the others
                failed += 1
                entry["status"] = "failed"
                entry["error"] = f"{type(error).__name__}: {error}"[:500]
            update_run(services, run_id, progress={"files": entries})
        error = f"{failed} of {len(entries)} could not be ingested" if failed else ""
        update_run(services, run_id, status="failed" if failed == len(entries) else "done", progress={"files": entries}, error=error)


# --- routes --------------------------------------------------------------------------------


def _bad_input(error: IngestError) -> HTTPException:
    return HTTPException(status_code=400, detail=str(error))


@router.post("/ingest/uploads", response_model=RunView, status_code=202)
def upload(
    services: Services = Depends(get_services),
    custodian: str = Form(...),
    timezone: str = Form("Europe/London"),
    files: list[UploadFile] = File(...),
) -> RunView:
    try:
        return start_upload_ingest(services, [IncomingFile(f.filename or "upload", f.file) for f in files], custodian, timezone)
    except IngestError as error:
        raise _bad_input(error) from None


@router.post("/ingest/folder", response_model=RunView, status_code=202)
def folder(body: FolderBody, services: Services = Depends(get_services)) -> RunView:
    try:
        return start_folder_ingest(services, body.path, body.custodian, body.timezone)
    except IngestError as error:
        raise _bad_input(error) from None


@router.get("/ingest/runs", response_model=list[RunView])
def ingest_runs(services: Services = Depends(get_services)) -> list[RunView]:
    return list_runs(services, INGEST)


@router.get("/ingest/runs/{run_id}", response_model=RunView)
def ingest_run(run_id: str, services: Services = Depends(get_services)) -> RunView:
    found = load_run(services, run_id)
    if found is None or found.kind != INGEST:
        raise HTTPException(status_code=404, detail=f"no ingest run {run_id}")
    return found
