"""The requests dashboard: every request with its deadline, and the form to log a new one."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from search_api import requests as casework
from ui.web.pages.common import FieldError, FormProblem, actor, casework as open_casework, form_transaction, path_part, see_other, services_of
from ui.web.templating import templates

router = APIRouter()

REQUEST_TYPES = [
    ("foi", "FOI – Freedom of Information Act 2000"),
    ("eir", "EIR – Environmental Information Regulations 2004"),
    ("foisa", "FOISA – Freedom of Information (Scotland) Act 2002"),
    ("eisr", "EISR – Environmental Information (Scotland) Regulations 2004"),
    ("sar", "SAR – Subject access request (UK GDPR)"),
    ("legal", "Legal disclosure"),
]
STATUS_TAGS = {"open": "govuk-tag--blue", "on_hold": "govuk-tag--yellow", "in_review": "govuk-tag--purple",
               "answered": "govuk-tag--green", "closed": "govuk-tag--grey", "withdrawn": "govuk-tag--grey"}


def _dashboard(request: Request, *, form: dict[str, str] | None = None, errors: list[FieldError] | None = None,
               created: str = "", status: int = 200) -> HTMLResponse:
    with open_casework(services_of(request)) as session:
        rows = casework.list_requests(session)
        just_created = next((r for r in rows if r.ref == created), None) if created else None
    rows.sort(key=lambda r: (not r.overdue, r.status in ("answered", "closed", "withdrawn"), r.due or date.max))
    return templates.TemplateResponse(
        request, "requests.html",
        {"title": "Requests", "section": "requests", "rows": rows, "types": REQUEST_TYPES, "tags": STATUS_TAGS,
         "form": form or {"received": date.today().isoformat()}, "errors": errors or [], "created": just_created},
        status_code=status,
    )


@router.get("/requests", response_class=HTMLResponse)
def dashboard(request: Request, created: str = "") -> HTMLResponse:
    return _dashboard(request, created=created)


@router.get("/", include_in_schema=False)
def home() -> Response:
    return see_other("/requests")


def _parsed_day(value: str, field: str, label: str, errors: list[FieldError], required: bool) -> date | None:
    if not value.strip():
        if required:
            errors.append(FieldError(field, f"Enter the {label}"))
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError(field, f"The {label} must be a real date, like 2024-03-27"))
        return None


@router.post("/requests/create", response_class=HTMLResponse)
def create(
    request: Request,
    ref: str = Form(""),
    type: str = Form(""),
    received: str = Form(""),
    requester: str = Form(""),
    assignee: str = Form(""),
    due: str = Form(""),
) -> Response:
    form = {"ref": ref, "type": type, "received": received, "requester": requester, "assignee": assignee, "due": due}
    errors: list[FieldError] = []
    if not ref.strip():
        errors.append(FieldError("ref", "Enter a reference for the request"))
    elif len(ref) > 128:
        errors.append(FieldError("ref", "The reference must be 128 characters or fewer"))
    if type not in dict(REQUEST_TYPES):
        errors.append(FieldError("type", "Select the type of request"))
    received_on = _parsed_day(received, "received", "date the request was received", errors, required=True)
    due_on = _parsed_day(due, "due", "date disclosure is due", errors, required=(type == "legal"))
    if errors:
        return _dashboard(request, form=form, errors=errors, status=400)
    try:
        with form_transaction(services_of(request), "ref") as session:
            casework.create_request(
                session, ref=ref.strip(), kind=type, received=received_on, actor=actor(), requester=requester.strip(),
                assignees=[a.strip() for a in assignee.split(",") if a.strip()], due=due_on if type == "legal" else None,
            )
    except FormProblem as problem:
        return _dashboard(request, form=form, errors=problem.errors, status=400)
    return see_other(f"/requests?created={path_part(ref.strip())}")
