"""How routes reach the workspace: the Services the app was started with."""

from __future__ import annotations

from fastapi import Request

from indexer.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services
