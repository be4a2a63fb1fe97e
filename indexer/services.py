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
                if getattr(self._index, "was_reset", False):
                    self._rebuild_index(self._index)
            return self._index

    def _rebuild_index(self, index: SearchIndex) -> None:
        """An index emptied by a schema upgrade is refilled from the case store before first use."""
        from sqlalchemy import select

        from disclose.store.records import iter_items
        from disclose.store.tables import ItemRow

        with self.store.session() as session:
            if session.scalar(select(ItemRow.id).limit(1)) is None:
                return
            batch = []
            for item in iter_items(session):
                batch.append(item)
                if len(batch) >= 1000:
                    index.add_new(batch)
                    batch = []
            index.add_new(batch)
        index.commit()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def open_services(workspace: Workspace | None = None) -> Services:
    return Services((workspace or open_workspace()).ensure())
