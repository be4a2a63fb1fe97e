"""The open stores of one workspace, shared by the pipeline, the search API and the CLI."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from disclose.evidence import EvidenceStore
from disclose.items import Item
from disclose.store import CaseStore, open_store
from disclose.store.records import iter_items
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
                    # An index emptied by a schema upgrade is refilled before first use.
                    self._refill(self._index, empty=True)
            return self._index

    def reindex(self) -> int:
        """Rebuild every index entry from the case store; returns how many items were indexed."""
        return self._refill(self.index, empty=False)

    def _refill(self, index: SearchIndex, *, empty: bool) -> int:
        count = 0
        batch: list[Item] = []
        with self.store.session() as session:
            for item in iter_items(session):
                batch.append(item)
                if len(batch) >= 1000:
                    count += self._write_batch(index, batch, empty)
                    batch = []
        count += self._write_batch(index, batch, empty)
        if count:
            index.commit()
        return count

    @staticmethod
    def _write_batch(index: SearchIndex, batch: list[Item], empty: bool) -> int:
        if batch and empty:
            index.add_new(batch)  # nothing to replace: skip the delete per id
        elif batch:
            index.upsert(batch)
        return len(batch)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def open_services(workspace: Workspace | None = None) -> Services:
    return Services((workspace or open_workspace()).ensure())
