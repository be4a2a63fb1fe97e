"""What every page handler needs: the services, the acting user, form errors and redirects."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from indexer.services import Services
from search_api import audit
from search_api.requests import CaseworkError, NotFound


@dataclass
class FieldError:
    field: str  # the id of the input the message is about, for the error summary's link
    message: str


def services_of(request: Request) -> Services:
    return request.app.state.services


def actor() -> str:
    return audit.resolve_actor(None)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def path_part(value: str) -> str:
    return quote(value, safe="")


@contextmanager
def casework(services: Services) -> Iterator[Session]:
    """A transaction for a page; a missing request or item is a 404 page."""
    try:
        with services.store.session() as session:
            yield session
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


class FormProblem(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@contextmanager
def form_transaction(services: Services, field: str = "") -> Iterator[Session]:
    """A transaction for a form post: casework errors become an error summary entry on `field`."""
    try:
        with services.store.session() as session:
            yield session
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except CaseworkError as error:
        raise FormProblem([FieldError(field, str(error))]) from None
