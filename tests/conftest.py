"""Shared fixtures: a fresh workspace per test, and the `disclose` command run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import cli_for
from disclose.workspace import open_workspace
from indexer.services import Services, open_services

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def services(home: Path):  # type: ignore[no-untyped-def]
    opened: Services = open_services(open_workspace(home))
    yield opened
    opened.close()


@pytest.fixture
def cli(home: Path):  # type: ignore[no-untyped-def]
    """Run `disclose --home <tmp> ARGS…` in-process; stdout and stderr are kept apart."""
    return cli_for(home)
