"""Search, search term reports and saved searches over HTTP."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from disclose.query import QuerySyntaxError
from indexer.index.base import BadCursor
from indexer.services import Services
from search_api.audit import resolve_actor
from search_api.deps import get_services
from search_api.saved import SavedSearchNotFound, SavedSearchView, list_saved, run_saved, save_search
from search_api.search import SearchResults, run_search
from search_api.terms import TermsReport, queries_from_text, terms_report

router = APIRouter(tags=["search"])


class QueryError(BaseModel):
    error: str
    position: int | None = Field(None, description="0-based character position in the query")


class TermsBody(BaseModel):
    queries: list[str] = Field(description="one query per entry (or one per line of a single entry)")
    duplicates: bool = False


class SaveBody(BaseModel):
    name: str
    query: str
    author: str | None = None


class SavedRun(BaseModel):
    saved: SavedSearchView
    results: SearchResults


def _bad(error: Exception) -> JSONResponse:
    if isinstance(error, QuerySyntaxError):
        return JSONResponse(status_code=400, content={"error": error.message, "position": error.position})
    return JSONResponse(status_code=400, content={"error": str(error), "position": None})


_ERRORS = {400: {"model": QueryError, "description": "the query (or cursor) is malformed"}}


@router.get("/search", response_model=SearchResults, responses=_ERRORS)
def search(
    q: str = Query(..., description='query, e.g. housing W/5 "rent arrears" date>=2021-01-01'),
    limit: int = Query(50, ge=1, le=1000),
    cursor: str | None = None,
    sort: Literal["relevance", "date"] = "relevance",
    duplicates: bool = False,
    families: bool = False,
    facets: bool = True,
    services: Services = Depends(get_services),
):  # type: ignore[no-untyped-def]
    try:
        return run_search(services, q, limit=limit, cursor=cursor, sort=sort, include_duplicates=duplicates, families=families, facets=facets)
    except (QuerySyntaxError, BadCursor) as error:
        return _bad(error)


@router.post("/terms", response_model=TermsReport)
def terms(body: TermsBody, services: Services = Depends(get_services)) -> TermsReport:
    queries = queries_from_text("\n".join(body.queries))
    return terms_report(services, queries, include_duplicates=body.duplicates)


@router.get("/saved-searches", response_model=list[SavedSearchView])
def saved_list(services: Services = Depends(get_services)) -> list[SavedSearchView]:
    return list_saved(services)


@router.post("/saved-searches", response_model=SavedSearchView, responses=_ERRORS)
def saved_save(body: SaveBody, services: Services = Depends(get_services)):  # type: ignore[no-untyped-def]
    try:
        return save_search(services, body.name, body.query, author=resolve_actor(body.author))
    except QuerySyntaxError as error:
        return _bad(error)


@router.post("/saved-searches/{name}/run", response_model=SavedRun, responses={404: {"model": QueryError}})
def saved_run(name: str, limit: int = Query(50, ge=1, le=1000), author: str | None = None, services: Services = Depends(get_services)):  # type: ignore[no-untyped-def]
    try:
        view, results = run_saved(services, name, author=resolve_actor(author), limit=limit)
    except SavedSearchNotFound as error:
        return JSONResponse(status_code=404, content={"error": str(error), "position": None})
    return SavedRun(saved=view, results=results)
