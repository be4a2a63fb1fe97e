"""Saved searches: a name, the stored query, who last ran it and when, and the counts at that time."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel
from sqlalchemy import select

from disclose.store.casework import SavedSearch
from indexer.services import Services
from search_api.search import SearchResults, parse_query, run_search


class SavedSearchView(BaseModel):
    name: str
    query: str
    author: str
    run_at: datetime | None
    counts: dict[str, int]


class SavedSearchNotFound(LookupError):
    pass


def _view(row: SavedSearch) -> SavedSearchView:
    return SavedSearchView(name=row.name, query=row.query, author=row.author, run_at=row.run_at, counts=dict(row.counts or {}))


def _counts(results: SearchResults) -> dict[str, int]:
    return {"total": results.total, "unique": results.unique, "families": results.families, "duplicates_hidden": results.duplicates_hidden}


def save_search(services: Services, name: str, query: str, *, author: str) -> SavedSearchView:
    """Store (or replace) a named query after checking it parses; record its counts now."""
    parse_query(services, query)
    results = run_search(services, query, limit=1, facets=False)
    with services.store.session() as session:
        row = session.scalar(select(SavedSearch).where(SavedSearch.name == name))
        if row is None:
            row = SavedSearch(name=name)
            session.add(row)
        row.query, row.author, row.run_at, row.counts = query, author, datetime.now(timezone.utc), _counts(results)
        session.flush()
        return _view(row)


def list_saved(services: Services) -> list[SavedSearchView]:
    with services.store.session() as session:
        return [_view(row) for row in session.scalars(select(SavedSearch).order_by(SavedSearch.name))]


def run_saved(services: Services, name: str, *, author: str, limit: int = 50) -> tuple[SavedSearchView, SearchResults]:
    """Run a saved search and record who ran it, when, and the counts it gave."""
    with services.store.session() as session:
        row = session.scalar(select(SavedSearch).where(SavedSearch.name == name))
        if row is None:
            raise SavedSearchNotFound(f"no saved search named {name!r}")
        query = row.query
    results = run_search(services, query, limit=limit)
    with services.store.session() as session:
        row = session.scalar(select(SavedSearch).where(SavedSearch.name == name))
        assert row is not None
        row.author, row.run_at, row.counts = author, datetime.now(timezone.utc), _counts(results)
        session.flush()
        return _view(row), results
