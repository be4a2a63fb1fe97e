"""One registry that maps a file type to the ingestor that reads it (as in Aleph's ingestors).

Each ingestor scores a `Probe` (the file's first bytes, name and sniffed MIME type); the highest
score wins. Ingestors register with `@register`; plugins add more through the
`disclose.ingestors` entry-point group.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from disclose.items import Item
    from indexer.context import IngestContext, Native

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Probe:
    head: bytes  # the first HEAD_BYTES of the file
    filename: str
    mime: str  # sniffed from content by indexer.detect
    size: int
    hint: str = ""  # a type the source vouched for (IMAP gives message/rfc822)

    @property
    def extension(self) -> str:
        name = self.filename.lower()
        return name.rsplit(".", 1)[-1] if "." in name else ""

    def text_head(self) -> str:
        """The head decoded leniently, with byte-order marks removed."""
        return self._text_head

    @cached_property
    def _text_head(self) -> str:
        # Decoded once per probe: every text-format ingestor's score() asks for it.
        for encoding in ("utf-8-sig", "utf-16"):
            try:
                return self.head.decode(encoding)
            except UnicodeDecodeError:
                continue
        return self.head.decode("utf-8", errors="replace")


class Ingestor(Protocol):
    name: ClassVar[str]

    def score(self, probe: Probe) -> int:
        """0 when the file is not this ingestor's; higher beats lower (generic Tika is 1)."""

    def ingest(self, item: "Item", native: "Native", ctx: "IngestContext") -> None:
        """Fill in `item` (kind, text, dates, participants) and emit its children through `ctx`."""


_INGESTORS: list[Ingestor] = []
_LOADED = False
_LOAD_LOCK = threading.Lock()

# Modules that register built-in ingestors when imported. Each one is a format family.
BUILTIN_MODULES = [
    "indexer.ingestors.generic",
    "indexer.ingestors.archive",
    "indexer.ingestors.image",
    "indexer.ingestors.email",
    "indexer.ingestors.chat",
]


def register(cls: type) -> type:
    _INGESTORS.append(cls())
    return cls


def _load() -> None:
    global _LOADED
    with _LOAD_LOCK:  # ingest threads start together; none may see a half-filled registry
        if _LOADED:
            return
        for module in BUILTIN_MODULES:
            try:
                import_module(module)
            except ModuleNotFoundError as error:
                if error.name != module:
                    raise
        for entry in entry_points(group="disclose.ingestors"):
            entry.load()
        _LOADED = True


def ingestors() -> list[Ingestor]:
    _load()
    return list(_INGESTORS)


def choose(probe: Probe) -> Ingestor:
    best: tuple[int, Ingestor] | None = None
    for ingestor in ingestors():
        points = ingestor.score(probe)
        if points > 0 and (best is None or points > best[0]):
            best = (points, ingestor)
    if best is None:
        raise LookupError(f"no ingestor for {probe.filename} ({probe.mime})")
    return best[1]
