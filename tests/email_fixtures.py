"""Generated email fixtures (EML, MBOX, emlx, Maildir, TNEF, broken ones) and a recording ingest context for unit tests."""

from __future__ import annotations

import hashlib
import struct
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from disclose.items import Item, Kind, stable_id
from indexer.context import ChildSpec, Native
from indexer.detect import sniff
from indexer.registry import HEAD_BYTES, Probe, choose

# ---------------------------------------------------------------------------------------------------
# A real (not mocked) ingest context: it runs the registered ingestors recursively, like the pipeline,
# but keeps the items in memory so a test can look at them.


@dataclass
class RecordingContext:
    root: Path
    timezone: str = "Europe/London"
    depth: int = 0
    items: list[Item] = field(default_factory=list)
    problems: list[tuple[str | None, str, str]] = field(default_factory=list)

    def native_for(self, data: bytes, filename: str, hint: str = "") -> Native:
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / "natives" / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        head = data[:HEAD_BYTES]
        probe = Probe(head=head, filename=filename, mime=sniff(head, whole=data if head.startswith(b"PK") else None), size=len(data), hint=hint)
        return Native(sha256=sha, path=path, filename=filename, size=len(data), probe=probe)

    def ingest_file(self, path: Path, *, source: str | None = None, hint: str = "", custodian: str = "alice") -> Item:
        data = path.read_bytes()
        native = self.native_for(data, path.name, hint)
        source = source or path.absolute().as_uri()
        item_id = stable_id(source)
        item = Item(id=item_id, kind=Kind.FILE, family_id=item_id, root_id=item_id, source=source, custodians=[custodian],
                    title=path.name, filename=path.name, size=len(data), sha256=native.sha256, content_hash=native.sha256)
        return self.run(item, native)

    def run(self, item: Item, native: Native) -> Item:
        try:
            ingestor = choose(native.probe)
        except LookupError:
            ingestor = None
        item.metadata.setdefault("ingestor", getattr(ingestor, "name", ""))
        # Only the email ingestors run here; other formats are the pipeline's business (end-to-end tests).
        if ingestor is not None and ingestor.name.startswith("email."):
            self.depth += 1
            try:
                ingestor.ingest(item, native, self)
            finally:
                self.depth -= 1
        self.emit(item)
        return item

    def extract(self, native: Native) -> Any:
        raise RuntimeError("Tika is not used by the email ingestors")

    def ocr(self, image: Path) -> Any:
        raise RuntimeError("OCR is not used by the email ingestors")

    def child(self, parent: Item, locator: str, *, filename: str, data: bytes | None = None, path: Path | None = None,
              stream: Any = None, kind: Kind = Kind.ATTACHMENT, hint: str = "", fields: dict[str, Any] | None = None) -> Item | None:
        if data is None:
            data = path.read_bytes() if path is not None else stream.read()
        native = self.native_for(data, filename, hint)
        spec = ChildSpec(parent=parent, locator=locator, kind=kind, filename=filename, fields=dict(fields or {}))
        return self.run(spec.make_item(native.sha256, len(data), native.mime), native)

    def derived(self, parent: Item, locator: str, kind: Kind, **fields: Any) -> Item:
        spec = ChildSpec(parent=parent, locator=locator, kind=kind, filename=fields.pop("filename", ""), fields=fields)
        item = spec.make_item("", 0, "")
        item.content_hash = fields.get("content_hash", "")
        return item

    def emit(self, item: Item) -> None:
        self.items.append(item)

    def problem(self, item: Item | None, stage: str, reason: str) -> None:
        self.problems.append((item.id if item else None, stage, reason))

    def scratch(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root))

    def of_kind(self, kind: Kind) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def children(self, parent: Item) -> list[Item]:
        return [i for i in self.items if i.parent_id == parent.id]
