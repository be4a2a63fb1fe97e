"""The search page (query, syntax help, facets as filter links, highlighted results, families,
duplicates, sort) and the search term report with its CSV download."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from disclose.query import QuerySyntaxError
from indexer.index.base import BadCursor
from search_api.search import SearchResults, run_search
from search_api.terms import queries_from_text, report_csv, terms_report
from ui.web.pages.common import FieldError, services_of
from ui.web.templating import templates

router = APIRouter()
PAGE_SIZE = 25
FACET_LABELS = [("custodian", "Custodian"), ("kind", "Kind"), ("source", "Source"), ("sender", "Sender"), ("year", "Year"), ("month", "Month")]


@dataclass
class FilterLink:
    label: str
    count: int
    href: str
    active: bool


def quoted(value: str) -> str:
    return '"' + value.replace('"', " ").strip() + '"'


def facet_clause(facet: str, value: str) -> str:
    """The query words that keep only the items of one facet bucket."""
    if facet == "year":
        return f"date:{value}-01-01..{value}-12-31"
    if facet == "month":
        year, month = (int(part) for part in value.split("-")[:2])
        return f"date:{value}-01..{value}-{calendar.monthrange(year, month)[1]:02d}"
    if facet == "sender":
        return f"from:{quoted(value)}"
    if facet == "kind":
        return f"kind:{value}"
    return f"{facet}:{quoted(value)}"


def _href(**params: object) -> str:
    return "/search?" + urlencode({k: v for k, v in params.items() if v not in ("", None, False)})


def facet_links(results: SearchResults, q: str, sort: str, dups: bool, families: bool) -> list[tuple[str, list[FilterLink]]]:
    groups = []
    if results.facets is None:
        return groups
    for name, label in FACET_LABELS:
        links = []
        for bucket in getattr(results.facets, name):
            clause = facet_clause(name, bucket.value)
            active = clause in q
            target = q.replace(clause, "").strip() if active else f"{q} {clause}".strip()
            links.append(FilterLink(bucket.value.replace("_", " "), bucket.count, _href(q=target, sort=sort, dups=dups, families=families), active))
        if links:
            groups.append((label, links))
    return groups


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", sort: str = "relevance", dups: bool = False, families: bool = False,
                cursor: str = "") -> HTMLResponse:
    results, errors = None, []
    sort = sort if sort in ("relevance", "date") else "relevance"
    if q.strip():
        try:
            results = run_search(services_of(request), q, limit=PAGE_SIZE, cursor=cursor or None, sort=sort,  # type: ignore[arg-type]
                                 include_duplicates=dups, families=families)
        except QuerySyntaxError as error:
            errors.append(FieldError("q", f"The search could not be read: {error}"))
        except BadCursor as error:
            errors.append(FieldError("q", str(error)))
    return templates.TemplateResponse(
        request, "search.html",
        {"title": f"{q} – Search" if q else "Search", "section": "search", "q": q, "sort": sort, "dups": dups, "families": families,
         "results": results, "errors": errors,
         "facets": facet_links(results, q, sort, dups, families) if results else [],
         "next_href": _href(q=q, sort=sort, dups=dups, families=families, cursor=results.next_cursor) if results and results.next_cursor else "",
         "toggle_dups": _href(q=q, sort=sort, dups=not dups, families=families),
         "toggle_families": _href(q=q, sort=sort, dups=dups, families=not families)},
        status_code=400 if errors else 200,
    )


def _terms(request: Request, terms: str, dups: bool) -> tuple[object, list[FieldError]]:
    queries = queries_from_text(terms)
    if not queries:
        return None, [FieldError("terms", "Enter at least one search term, one on each line")]
    return terms_report(services_of(request), queries, include_duplicates=dups), []


@router.get("/search/terms", response_class=HTMLResponse)
def terms_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "terms.html", {"title": "Search term report", "section": "search", "terms": "",
                                                              "report": None, "errors": [], "dups": False})


@router.post("/search/terms", response_class=HTMLResponse)
def terms_run(request: Request, terms: str = Form(""), dups: bool = Form(False), download: str = Form("")) -> Response:
    report, errors = _terms(request, terms, dups)
    if report is not None and download:
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",  # type: ignore[arg-type]
                        headers={"Content-Disposition": 'attachment; filename="search-term-report.csv"'})
    return templates.TemplateResponse(
        request, "terms.html", {"title": "Search term report", "section": "search", "terms": terms, "report": report, "errors": errors,
                                "dups": dups}, status_code=400 if errors else 200,
    )
