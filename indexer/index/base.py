"""The interface every search index backend implements."""

from __future__ import annotations

from typing import Protocol, Sequence

from disclose.items import Item


class SearchIndex(Protocol):
    def upsert(self, items: Sequence[Item]) -> None:
        """Add or replace items by id. Visible to search after `commit`."""

    def delete(self, ids: Sequence[str]) -> None: ...

    def commit(self) -> None: ...

    def count(self) -> int: ...

    def close(self) -> None: ...
