"""The bundle page of a request: build it in the background (progress kept in `runs`), read the
schedule, download the PDF and the zip; the s12 cost estimate and the search record."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from search_api import review, s12
from search_api import requests as casework
from search_api.routes import bundle as bundle_routes
from search_api.routes.ingest import list_runs
from ui.web.pages.common import FieldError, FormProblem, actor, casework as open_casework, form_transaction, path_part, see_other, services_of
from ui.web.templating import templates

router = APIRouter()


def _schedule(services, ref: str, run_id: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    folder = bundle_routes._folder(services, ref, run_id)  # the bundle routes own where bundles live
    path = folder / "schedule.csv"
    if not path.exists():
        return []
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _page(request: Request, ref: str, *, errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    services = services_of(request)
    with open_casework(services) as session:
        the_request = casework.show_request(session, ref)
        records = review.search_records(session, ref)
        estimates = s12.saved_estimates(session, ref)
    runs = list_runs(services, "bundle", limit=5, ref=ref)
    latest = runs[0] if runs else None
    built = next((r for r in runs if r.status == "done"), None)
    return templates.TemplateResponse(
        request, "bundle.html",
        {"title": f"Bundle for {ref}", "section": "requests", "req": the_request, "ref": ref, "latest": latest, "built": built,
         "schedule": _schedule(services, ref, built.id) if built else [], "records": records, "estimate": estimates[-1] if estimates else None,
         "errors": errors or [], "s12_applies": the_request.type in ("foi", "foisa", "eir", "eisr")},
        status_code=status,
    )


@router.get("/requests/{ref}/bundle", response_class=HTMLResponse)
def bundle_page(request: Request, ref: str) -> HTMLResponse:
    return _page(request, ref)


@router.post("/requests/{ref}/bundle/build", response_class=HTMLResponse)
def build(request: Request, ref: str, background: BackgroundTasks) -> Response:
    bundle_routes.start_bundle(ref, background, services_of(request))
    response = see_other(f"/requests/{path_part(ref)}/bundle#progress")
    response.background = background
    return response


@router.post("/requests/{ref}/estimate", response_class=HTMLResponse)
def estimate(request: Request, ref: str) -> Response:
    try:
        with form_transaction(services_of(request), "estimate") as session:
            s12.estimate(session, ref, actor=actor())
    except FormProblem as problem:
        return _page(request, ref, errors=problem.errors, status=400)
    return see_other(f"/requests/{path_part(ref)}/bundle#estimate")
