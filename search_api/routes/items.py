"""Items and the exceptions report."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from indexer.services import Services
from search_api.deps import get_services
from search_api.items import ExceptionView, ItemView, exceptions_report, item_view

router = APIRouter(tags=["items"])


@router.get("/items/{item_id}", response_model=ItemView)
def get_item(item_id: str, services: Services = Depends(get_services)) -> ItemView:
    view = item_view(services, item_id)
    if view is None:
        raise HTTPException(status_code=404, detail=f"no item with id {item_id}")
    return view


@router.get("/exceptions", response_model=list[ExceptionView])
def get_exceptions(services: Services = Depends(get_services)) -> list[ExceptionView]:
    return exceptions_report(services)
