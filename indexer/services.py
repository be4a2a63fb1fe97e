"""The open stores of one workspace, shared by the pipeline, the search API and the CLI."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from disclose.evidence import EvidenceStore
from disclose.store import CaseStore, open_store
from disclose.workspace import Workspace, open_workspace
from indexer.index.base import SearchIndex
from indexer.index.factory import open_index


@dataclass
class Services:
    workspace: Workspace
    _index: SearchIndex | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def store(self) -> CaseStore:
        return open_store(self.workspace.database_url)

    @cached_property
    def evidence(self) -> EvidenceStore:
        return EvidenceStore(self.workspace.evidence_dir)

    @property
    def index(self) -> SearchIndex:
        with self._lock:  # one index (and so one writer) per workspace per process
            if self._index is None:
                self._index = open_index(self.workspace)
            return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def open_services(workspace: Workspace | None = None) -> Services:
    return Services((workspace or open_workspace()).ensure())
