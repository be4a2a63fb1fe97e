"""Shared fixtures: a fresh workspace per test, the `disclose` command run in-process, a PostgreSQL database of its own."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

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


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"  # the machine's PostgreSQL (trust authentication)


@pytest.fixture
def postgres_url():  # type: ignore[no-untyped-def]
    """A database of its own on the local PostgreSQL, dropped afterwards."""
    admin = sa.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"disclose_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        admin.dispose()
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required for this test and is not reachable: {error}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
