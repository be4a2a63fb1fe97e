"""Shared fixtures: a fresh workspace per test, and the `disclose` command run in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from disclose.workspace import open_workspace
from indexer.services import Services, open_services

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.stdout)


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
    from ui.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> CliResult:
        result = runner.invoke(app, ["--home", str(home), *args], input=input, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
