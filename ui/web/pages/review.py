"""The review page of a request: add hits, step through the review set (keyboard shortcuts in
app.js), record decisions and exemptions, accept or reject suggested redactions, redact a selection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from disclose.store.records import load_item
from search_api import redaction, review, suggest
from search_api import requests as casework
from search_api.exemptions import codes_for
from ui.web.pages.common import FieldError, FormProblem, actor, casework as open_casework, form_transaction, path_part, see_other, services_of
from ui.web.templating import templates
from ui.web.textspans import paged

router = APIRouter()
DECISION_LABELS = [("release", "Release", "r"), ("release_in_part", "Release in part", "p"), ("withhold", "Withhold", "w"),
                   ("not_held", "Not held", "n"), ("duplicate", "Duplicate", "d")]


def review_url(ref: str, item_id: str | None = None, anchor: str = "") -> str:
    url = f"/requests/{path_part(ref)}/review"
    return (url + f"?item={path_part(item_id)}" if item_id else url) + (f"#{anchor}" if anchor else "")


def _page(request: Request, ref: str, item_id: str | None, *, errors: list[FieldError] | None = None, form: dict[str, Any] | None = None,
          status: int = 200) -> HTMLResponse:
    services = services_of(request)
    with open_casework(services) as session:
        the_request = casework.show_request(session, ref)
        summary = review.review_summary(session, ref)
        codes = codes_for(casework.request_type(casework.request_row(session, ref)))
        items = summary.items
        current = next((i for i in items if i.item_id == item_id), None) if item_id else None
        if current is None and items:
            current = next((i for i in items if not i.decision), items[0])
        position = items.index(current) if current else -1
        item = load_item(session, current.item_id) if current else None
        markers = redaction.list_markers(session, ref, item_id=current.item_id) if current else []
        records = review.search_records(session, ref)
    shown = [m for m in markers if m.status != "rejected" and not m.stale]
    spans = [(m.start, m.end, m) for m in shown]
    return templates.TemplateResponse(
        request, "review.html",
        {"title": f"Review {ref}", "section": "requests", "req": the_request, "summary": summary, "current": current, "item": item,
         "position": position, "previous": items[position - 1] if position > 0 else None,
         "next": items[position + 1] if 0 <= position < len(items) - 1 else None,
         "pages": paged(item.text, spans) if item else [], "markers": markers, "codes": codes, "decisions": DECISION_LABELS,
         "records": records[-3:], "errors": errors or [], "form": form or {}, "ref": ref},
        status_code=status,
    )


@router.get("/requests/{ref}/review", response_class=HTMLResponse)
def review_page(request: Request, ref: str, item: str = "") -> HTMLResponse:
    return _page(request, ref, item or None)


@router.post("/requests/{ref}/review/add", response_class=HTMLResponse)
async def add_hits(request: Request, ref: str) -> Response:
    form = await request.form()
    query = str(form.get("query", "")).strip()
    if not query:
        return _page(request, ref, None, errors=[FieldError("query", "Enter a search to add its hits")], form={"query": query}, status=400)
    services = services_of(request)
    try:
        with form_transaction(services, "query") as session:
            review.add_hits(services, session, ref, query, actor=actor())
    except (FormProblem, ValueError) as problem:
        errors = problem.errors if isinstance(problem, FormProblem) else [FieldError("query", f"The search could not be read: {problem}")]
        return _page(request, ref, None, errors=errors, form={"query": query}, status=400)
    return see_other(review_url(ref))


@router.post("/requests/{ref}/review/{item_id}/decide", response_class=HTMLResponse)
async def decide(request: Request, ref: str, item_id: str) -> Response:
    form = await request.form()
    decision = str(form.get("decision", ""))
    exemptions = [str(c) for c in form.getlist("exemptions")]
    if not decision:
        return _page(request, ref, item_id, errors=[FieldError("decision-release", "Select a decision")], status=400)
    services = services_of(request)
    try:
        with form_transaction(services, "exemptions") as session:
            review.decide(session, ref, item_id, decision=decision, exemptions=exemptions, actor=actor())
            items = review.review_summary(session, ref).items
    except FormProblem as problem:
        return _page(request, ref, item_id, errors=problem.errors, form={"decision": decision, "exemptions": exemptions}, status=400)
    ids = [i.item_id for i in items]
    after = ids[ids.index(item_id) + 1 :] if item_id in ids else []
    following = next((i.item_id for i in items if i.item_id in after and not i.decision), after[0] if after else item_id)
    return see_other(review_url(ref, following))


@router.post("/requests/{ref}/review/{item_id}/suggest", response_class=HTMLResponse)
def suggest_redactions(request: Request, ref: str, item_id: str) -> Response:
    try:
        with form_transaction(services_of(request), "suggest") as session:
            suggest.suggest(session, ref, actor=actor(), item_id=item_id)
    except FormProblem as problem:
        return _page(request, ref, item_id, errors=problem.errors, status=400)
    return see_other(review_url(ref, item_id, "markers"))


@router.post("/requests/{ref}/review/{item_id}/redact", response_class=HTMLResponse)
async def redact(request: Request, ref: str, item_id: str) -> Response:
    form = await request.form()
    text, code, reason = str(form.get("text", "")), str(form.get("code", "")), str(form.get("reason", ""))
    start, end = str(form.get("start", "")), str(form.get("end", ""))
    values = {"text": text, "code": code, "reason": reason}
    errors = []
    if not text.strip():
        errors.append(FieldError("redact-text", "Select or type the exact text to redact"))
    if not code:
        errors.append(FieldError("redact-code", "Select the exemption code the redaction relies on"))
    if errors:
        return _page(request, ref, item_id, errors=errors, form=values, status=400)
    services = services_of(request)
    try:
        with form_transaction(services, "redact-text") as session:
            item = load_item(session, item_id)
            span = _selected_span(item.text if item else "", text, start, end)
            if span is not None:
                redaction.add_marker(session, ref, item_id=item_id, start=span[0], end=span[1], code=code, actor=actor(), reason=reason)
            else:
                result = redaction.redact_text(session, ref, text=text, code=code, actor=actor(), item_id=item_id, reason=reason)
                if not result.created and not result.already_marked:
                    raise FormProblem([FieldError("redact-text", "That exact text is not in this document")])
    except FormProblem as problem:
        return _page(request, ref, item_id, errors=problem.errors, form=values, status=400)
    return see_other(review_url(ref, item_id, "markers"))


def _selected_span(item_text: str, selected: str, start: str, end: str) -> tuple[int, int] | None:
    """The span the browser selected. Offsets come from the page's text, where line endings may
    have been normalised, so the selected words are checked and looked for near the offset."""
    if not (start.isdigit() and end.isdigit()):
        return None
    begin = int(start)
    if item_text[begin : int(end)] == selected:
        return begin, int(end)
    found, best = item_text.find(selected), None
    while found != -1:
        if best is None or abs(found - begin) < abs(best - begin):
            best = found
        found = item_text.find(selected, found + 1)
    return (best, best + len(selected)) if best is not None else None


@router.post("/requests/{ref}/markers/{marker_id}/{action}", response_class=HTMLResponse)
async def marker_action(request: Request, ref: str, marker_id: int, action: str) -> Response:
    form = await request.form()
    item_id = str(form.get("item", ""))
    try:
        with form_transaction(services_of(request), "markers") as session:
            if action == "accept":
                redaction.set_marker_status(session, marker_id, "accepted", actor=actor())
            elif action == "reject":
                redaction.set_marker_status(session, marker_id, "rejected", actor=actor())
            elif action == "remove":
                redaction.remove_marker(session, marker_id, actor=actor())
            else:
                raise FormProblem([FieldError("markers", f"Unknown action {action}")])
    except FormProblem as problem:
        return _page(request, ref, item_id or None, errors=problem.errors, status=400)
    return see_other(review_url(ref, item_id or None, "markers"))
