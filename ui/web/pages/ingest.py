"""The ingest page: upload export files or name a server folder for a custodian, then watch each file."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from search_api.items import exceptions_report
from search_api.routes.ingest import INGEST, IncomingFile, IngestError, list_runs, load_run, start_folder_ingest, start_upload_ingest
from ui.web.pages.common import FieldError, path_part, see_other, services_of
from ui.web.templating import templates

router = APIRouter()
EXCEPTIONS_SHOWN = 200


def _page(request: Request, *, form: dict[str, str] | None = None, errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    services = services_of(request)
    report = exceptions_report(services)
    return templates.TemplateResponse(
        request, "ingest.html",
        {"title": "Ingest", "section": "ingest", "form": form or {}, "errors": errors or [],
         "runs": list_runs(services, INGEST, limit=10), "exceptions": report[-EXCEPTIONS_SHOWN:][::-1], "exceptions_total": len(report)},
        status_code=status,
    )


@router.get("/ingest", response_class=HTMLResponse)
def ingest_page(request: Request) -> HTMLResponse:
    return _page(request)


@router.post("/ingest/upload", response_class=HTMLResponse)
async def upload(request: Request) -> Response:
    form = await request.form()
    custodian = str(form.get("custodian", ""))
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    errors: list[FieldError] = []
    if not custodian.strip():
        errors.append(FieldError("custodian", "Enter the custodian: whose files these are"))
    if not files:
        errors.append(FieldError("files", "Choose at least one file to upload"))
    if errors:
        return _page(request, form={"custodian": custodian}, errors=errors, status=400)
    try:
        run = start_upload_ingest(services_of(request), [IncomingFile(f.filename or "upload", f.file) for f in files], custodian)
    except IngestError as error:
        return _page(request, form={"custodian": custodian}, errors=[FieldError("files", str(error))], status=400)
    return see_other(f"/ingest/runs/{path_part(run.id)}")


@router.post("/ingest/add-folder", response_class=HTMLResponse)
async def add_folder(request: Request) -> Response:
    form = await request.form()
    custodian, path = str(form.get("folder_custodian", "")), str(form.get("path", ""))
    values = {"folder_custodian": custodian, "path": path}
    if not custodian.strip():
        return _page(request, form=values, errors=[FieldError("folder_custodian", "Enter the custodian: whose files these are")], status=400)
    try:
        run = start_folder_ingest(services_of(request), path, custodian)
    except IngestError as error:
        return _page(request, form=values, errors=[FieldError("path", str(error)[0].upper() + str(error)[1:])], status=400)
    return see_other(f"/ingest/runs/{path_part(run.id)}")


@router.get("/ingest/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    services = services_of(request)
    run = load_run(services, run_id)
    if run is None or run.kind != INGEST:
        raise HTTPException(status_code=404, detail="There is no ingest with that id.")
    report = exceptions_report(services) if run.status in ("done", "failed") else []
    paths = {f["path"] for f in run.progress.get("files", [])}
    mine = [e for e in report if any(e.path.startswith(p) or p in e.path for p in paths)] or report[-EXCEPTIONS_SHOWN:]
    return templates.TemplateResponse(
        request, "ingest_run.html",
        {"title": "Ingest progress", "section": "ingest", "run": run, "files": run.progress.get("files", []),
         "exceptions": mine[:EXCEPTIONS_SHOWN], "errors": []},
    )
