"""The workspace folder: where the case store, the evidence store and the index live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "./disclose-data"


@dataclass(frozen=True)
class Workspace:
    home: Path
    database_url: str  # SQLite in the folder by default; PostgreSQL at scale
    index_url: str  # "tantivy:" (in the folder) or an Elasticsearch URL
    broker_url: str  # empty: run pipeline tasks in-process

    @property
    def evidence_dir(self) -> Path:
        return self.home / "evidence"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    def ensure(self) -> "Workspace":
        for folder in (self.home, self.evidence_dir, self.index_dir, self.work_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    chosen = home or os.environ.get("DISCLOSE_HOME") or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def open_workspace(home: str | os.PathLike[str] | None = None) -> Workspace:
    """Settings come from the environment so that Celery workers see the same workspace as the CLI."""
    path = resolve_home(home)
    return Workspace(
        home=path,
        database_url=os.environ.get("DISCLOSE_DATABASE_URL") or f"sqlite:///{path / 'case.db'}",
        index_url=os.environ.get("DISCLOSE_INDEX_URL") or "tantivy:",
        broker_url=os.environ.get("DISCLOSE_BROKER_URL", ""),
    )
