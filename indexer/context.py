"""What an ingestor may do while reading one original: extract, OCR, emit children, report problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from disclose.items import Item, Kind, child_id

if TYPE_CHECKING:
    from indexer.extract import Extraction
    from indexer.ocr import OcrResult
    from indexer.registry import Probe

MAX_DEPTH = 12  # containers inside containers; deeper is a bomb or a loop


@dataclass(frozen=True)
class Native:
    """An original in the evidence store, ready to read (never to write)."""

    sha256: str
    path: Path
    filename: str
    size: int
    probe: "Probe"
    # The bytes themselves when the pipeline already holds them (an mbox member, an attachment):
    # `read` then costs no second trip to the evidence store.
    content: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def mime(self) -> str:
        return self.probe.mime

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def read(self) -> bytes:
        return self.content if self.content is not None else self.path.read_bytes()


class IngestContext(Protocol):
    """Handed to every ingestor. The pipeline implements it; ingestors never touch the stores directly."""

    timezone: str  # IANA zone for sources that give local times without an offset (chat exports)
    depth: int
    # Optional: a context may also carry `thread_hints` (indexer.ingestors.email.thread_hints.ThreadHints),
    # the thread ids of the emails of the same original seen so far.

    def extract(self, native: Native) -> "Extraction":
        """Text and metadata from Apache Tika, in a sandboxed worker with time and memory limits."""

    def ocr(self, image: Path) -> "OcrResult":
        """Words, boxes and confidence from Tesseract."""

    def child(
        self,
        parent: Item,
        locator: str,
        *,
        filename: str,
        data: bytes | None = None,
        path: Path | None = None,
        stream: BinaryIO | None = None,
        kind: Kind = Kind.ATTACHMENT,
        hint: str = "",
        fields: dict[str, Any] | None = None,
    ) -> Item | None:
        """Store a child original (attachment, archive member), ingest it recursively and emit it.

        `fields` pre-sets Item attributes (date, title, metadata…) before the child's own ingestor runs.
        Returns None when the child could not be stored (the problem is reported).
        """

    def derived(self, parent: Item, locator: str, kind: Kind, **fields: Any) -> Item:
        """A new item with no native of its own (a chat message inside an export). Call `emit` once it is filled in."""

    def emit(self, item: Item) -> None:
        """Save an item (and index it). Ingestors that build items themselves call this."""

    def problem(self, item: Item | None, stage: str, reason: str) -> None:
        """An exceptions-report entry. The run goes on."""

    def scratch(self) -> Path:
        """A private temporary folder, removed when the original is done."""


@dataclass
class ChildSpec:
    """Everything needed to make a child item before its ingestor runs."""

    parent: Item
    locator: str
    kind: Kind
    filename: str
    fields: dict[str, Any] = field(default_factory=dict)

    def make_item(self, sha256: str, size: int, mime: str) -> Item:
        item = Item(
            id=child_id(self.parent.id, self.locator),
            kind=self.kind,
            family_id=self.parent.family_id,
            parent_id=self.parent.id,
            root_id=self.parent.root_id or self.parent.id,
            source=f"{self.parent.source}#{self.locator}" if self.parent.source else self.locator,
            locator=self.locator,
            custodians=list(self.parent.custodians),
            title=self.filename,
            filename=self.filename,
            mime_type=mime,
            size=size,
            sha256=sha256,
            content_hash=sha256,
        )
        for name, value in self.fields.items():
            if name == "metadata":
                item.metadata.update(value)
            else:
                setattr(item, name, value)
        return item
