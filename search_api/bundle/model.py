"""What a bundle is made of: the documents planned from a request's review set, and what was written."""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Iterable, Iterator, TypeVar

from disclose.items import Item

RELEASED = ("release", "release_in_part")
NOT_RELEASED = ("withhold", "not_held", "duplicate")
DECISIONS = RELEASED + NOT_RELEASED


T = TypeVar("T")


class Spilled(Generic[T]):
    """A list kept in a temporary file as it grows, read back in order: for the lists of a build whose
    length follows the bundle's (its planned documents, what was rendered), so that memory holds one
    entry at a time whatever the number of documents. Each pass reads the file from its start."""

    def __init__(self) -> None:
        self._file = tempfile.NamedTemporaryFile(prefix="bundle-", suffix=".list")
        self._count = 0

    def append(self, value: T) -> None:
        pickle.dump(value, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        self._file.flush()
        count = self._count
        with open(self._file.name, "rb") as stored:
            for _ in range(count):
                yield pickle.load(stored)


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


def markers_digest(markers: Iterable[Marker]) -> str:
    """A short fingerprint of markers, in order: the plan keeps it instead of the markers themselves,
    and the render worker compares it with the markers it reads back, so a marker changed after
    planning cannot slip into a bundle whose masking and leak check were planned without it."""
    digest = hashlib.blake2b(digest_size=8)
    for marker in markers:
        digest.update(f"{marker.item_id}\0{marker.start}\0{marker.end}\0{marker.code}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class MarkerTally:
    """What a plan keeps of one item's accepted markers: how many there are of each exemption code
    (in the order the codes first appear) and their digest, never the markers themselves."""

    codes: dict[str, int]
    digest: str


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

    Small on purpose: a plan holds one per document of the bundle, so it carries ids, titles and a
    tally of markers, never item text or the markers themselves: the process that renders the
    document reads both from the case store (see `load_document`)."""

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
    marker_codes: dict[str, int] = field(default_factory=dict)  # markers burned in, by exemption code
    marked_ids: tuple[str, ...] = ()  # the items whose markers are burned in ...
    markers_digest: str = ""  # ... and the digest of those markers, item by item (see `markers_digest`)
    withheld_ids: frozenset[str] = frozenset()  # chat messages withheld inside a released day (one shared empty set)
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

    @property
    def marker_count(self) -> int:
        return sum(self.marker_codes.values())


@dataclass
class LoadedDocument:
    """A planned document with its items and markers read back from the case store, items in the order of its sources."""

    planned: PlannedDocument
    items: list[Item]
    markers: dict[str, list[Marker]] = field(default_factory=dict)  # by item id

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


def with_renderings(documents: Iterable[PlannedDocument], rendered: Iterable[RenderedDocument]) -> Iterator[tuple[PlannedDocument, RenderedDocument | None]]:
    """Each planned document with its rendering (None when it is not released); both in document order."""
    renderings = iter(rendered)
    for planned in documents:
        done = next(renderings) if planned.released else None
        if done is not None and done.number != planned.number:
            raise RuntimeError(f"document {planned.number} was paired with the rendering of document {done.number}")
        yield planned, done


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
