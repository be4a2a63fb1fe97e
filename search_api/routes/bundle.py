"""Bundles over HTTP: start a build in the background, follow it in `runs`, download the PDF or the whole bundle."""

from __future__ import annotations

import re
import tempfile
import threading
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select
from starlette.background import BackgroundTask

from disclose.store.base import now
from disclose.store.casework import RequestRow
from disclose.store.tables import RunRow
from indexer.services import Services
from search_api.bundle.builder import build_bundle
from search_api.deps import get_services

router = APIRouter(tags=["bundles"])
_builds = threading.Semaphore(1)  # one bundle at a time per process: rendering is CPU-bound


class RunView(BaseModel):
    id: str
    kind: str
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    error: str
    started_at: datetime
    finished_at: datetime | None


def _folder(services: Services, ref: str, run_id: str) -> Path:
    return services.workspace.home / "bundles" / re.sub(r"[^A-Za-z0-9._-]+", "-", ref) / run_id


def _update(services: Services, run_id: str, **fields: Any) -> None:
    with services.store.session() as session:
        row = session.get(RunRow, run_id)
        if row is not None:
            for key, value in fields.items():
                setattr(row, key, value)


def _run_build(services: Services, ref: str, run_id: str, out: Path) -> None:
    with _builds:
        try:
            summary = build_bundle(services.store, services.evidence, ref, out, progress=lambda p: _update(services, run_id, progress=dict(p)))
        except Exception as error:  # noqa: BLE001  (recorded on the run for the caller to read)
            _update(services, run_id, status="failed", error=f"{type(error).__name__}: {error}", finished_at=now())
            return
        _update(services, run_id, status="done", finished_at=now(),
                progress={"stage": "done", "pages": summary.pages, "documents": summary.documents, "released": summary.released,
                          "combined_pdf": summary.combined_pdf, "markers": summary.markers})


@router.post("/requests/{ref}/bundle", response_model=RunView, status_code=202)
def start_bundle(ref: str, background: BackgroundTasks, services: Services = Depends(get_services)) -> RunView:
    with services.store.session() as session:
        if session.scalar(select(RequestRow.id).where(RequestRow.ref == ref)) is None:
            raise HTTPException(status_code=404, detail=f"no request with reference {ref}")
        run_id = uuid.uuid4().hex
        row = RunRow(id=run_id, kind="bundle", status="running", params={"ref": ref}, progress={"stage": "queued"}, started_at=now())
        session.add(row)
    background.add_task(_run_build, services, ref, run_id, _folder(services, ref, run_id))
    return _view(services, run_id)


@router.get("/runs/{run_id}", response_model=RunView)
def get_run(run_id: str, services: Services = Depends(get_services)) -> RunView:
    return _view(services, run_id)


def _view(services: Services, run_id: str) -> RunView:
    with services.store.session() as session:
        row = session.get(RunRow, run_id)
        if row is None:
            raise HTTPException(status_code=404, detail=f"no run with id {run_id}")
        return RunView(id=row.id, kind=row.kind, status=row.status, params=dict(row.params or {}), progress=dict(row.progress or {}),
                       error=row.error, started_at=row.started_at, finished_at=row.finished_at)


def _finished(services: Services, ref: str, run_id: str) -> Path:
    view = _view(services, run_id)
    if view.kind != "bundle" or view.params.get("ref") != ref:
        raise HTTPException(status_code=404, detail=f"run {run_id} is not a bundle of {ref}")
    if view.status != "done":
        raise HTTPException(status_code=409, detail=f"bundle run {run_id} is {view.status}")
    folder = _folder(services, ref, run_id)
    if not folder.is_dir():
        raise HTTPException(status_code=410, detail="the bundle folder is no longer there")
    return folder


@router.get("/requests/{ref}/bundle/{run_id}/combined.pdf")
def download_combined(ref: str, run_id: str, services: Services = Depends(get_services)) -> FileResponse:
    folder = _finished(services, ref, run_id)
    (pdf,) = folder.glob("*-bundle.pdf")
    return FileResponse(pdf, media_type="application/pdf", filename=pdf.name)


@router.get("/requests/{ref}/bundle/{run_id}/bundle.zip")
def download_zip(ref: str, run_id: str, services: Services = Depends(get_services)) -> FileResponse:
    folder = _finished(services, ref, run_id)
    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)
    handle.close()
    with zipfile.ZipFile(handle.name, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ref)
    return FileResponse(handle.name, media_type="application/zip", filename=f"{name}-bundle.zip",
                        background=BackgroundTask(Path(handle.name).unlink, missing_ok=True))
