"""What a bundle is made of: the documents planned from a request's review set, and what was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from disclose.items import Item

RELEASED = ("release", "release_in_part")
NOT_RELEASED = ("withhold", "not_held", "duplicate")
DECISIONS = RELEASED + NOT_RELEASED


class BundleError(ValueError):
    """The bundle cannot be built as asked (unknown request, empty review set, stale markers)."""


class LeakError(RuntimeError):
    """A redacted string is still readable in an output file, or text next to a marker was wiped."""


@dataclass(frozen=True, slots=True)
class Marker:
    """An accepted redaction marker: character offsets into one item's immutable text."""

    item_id: str
    start: int
    end: int
    code: str

    def covered(self, text: str) -> str:
        return text[self.start:self.end]


@dataclass(frozen=True, slots=True)
class SourceItem:
    """What a plan keeps of an item: who it is, for the manifest and families. Its text and
    metadata stay in the case store until the process that renders the document reads them."""

    id: str
    kind: str  # an items.Kind value
    sha256: str
    family_id: str
    parent_id: str | None = None


@dataclass(slots=True)
class PlannedDocument:
    """One entry of the schedule; it gets pages only when its decision releases it.

    Small on purpose: a plan holds one per document of the bundle, so it carries ids, titles and
    markers, never item text (see `load_document`)."""

    number: int
    kind: str  # email, attachment, file, image, chat
    title: str
    date: datetime | None
    date_offset_minutes: int | None
    custodians: list[str]
    decision: str
    reviewed: bool
    exemptions: list[str]
    sources: list[SourceItem]  # the primary item first; for a chat day, the conversation then its messages
    markers: dict[str, list[Marker]] = field(default_factory=dict)
    withheld_ids: set[str] = field(default_factory=set)  # chat messages withheld inside a released day
    day: str = ""  # for chat: the local day this transcript covers

    @property
    def released(self) -> bool:
        return self.decision in RELEASED

    @property
    def primary(self) -> SourceItem:
        return self.sources[0]

    @property
    def item_ids(self) -> list[str]:
        return [source.id for source in self.sources]

    def all_markers(self) -> list[Marker]:
        return [m for ms in self.markers.values() for m in ms]


@dataclass
class LoadedDocument:
    """A planned document with its items read back from the case store, in the order of its sources."""

    planned: PlannedDocument
    items: list[Item]

    @property
    def primary(self) -> Item:
        return self.items[0]


@dataclass
class RenderedDocument:
    number: int
    file: str  # relative to the bundle folder
    pages: int
    first_page: str  # e.g. REF-000001
    last_page: str
    rendered_from: str  # text, original-pdf, image, transcript, placeholder


@dataclass
class BundleSummary:
    ref: str
    out: str
    documents: int
    released: int
    withheld: int
    pages: int
    markers: int
    combined_pdf: str
    schedule: list[str]
    manifest: str
    seconds: float
    leak_check: str = "passed"
    warnings: list[str] = field(default_factory=list)
