"""What every crawler yields: a native original with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable, Protocol, Iterator


@dataclass
class Collected:
    """One original as found in a source. The pipeline stores it and ingests it.

    `source` is a URI naming exactly where it was found (file:///…, imap://host/folder;UID=…,
    smb://server/share/path, ews://…); the same location always gives the same item id.
    """

    source: str
    source_kind: str  # filesystem, imap, ews, graph, smb, upload
    filename: str
    custodians: list[str]
    opener: Callable[[], BinaryIO]
    display_path: str = ""  # what a person would call it (a UNC or local path, a folder path in a mailbox)
    size: int | None = None
    created: datetime | None = None
    modified: datetime | None = None
    accessed: datetime | None = None
    format_hint: str = ""  # a MIME type the source vouches for (e.g. message/rfc822 from IMAP)
    custodian_rule: str = ""  # which attribution rule chose the custodian
    local_path: Path | None = None  # when the original is already a local file, so it can be hashed in place
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionProblem:
    """Something a crawler could not collect (permission denied, vanished, locked)."""

    source: str
    reason: str




@dataclass(frozen=True)
class Checkpoint:
    """A crawler's resumable position (UIDs seen, a sync state, a delta link).

    The pipeline saves `state` to the case store only after everything yielded before it has been
    stored, so a crawl stopped at any point and run again resumes without losing or repeating items.
    Never put credentials in it.
    """

    state: dict[str, Any]


@dataclass(frozen=True)
class Removed:
    """A location the source no longer holds: recorded as no longer present, never deleted from evidence."""

    source: str


class Crawler(Protocol):
    """A crawler is built with its source settings and its last saved state, and yields what it finds."""

    source_id: str  # stable: the same source always gives the same id
    source_kind: str
    source_uri: str

    def crawl(self, state: dict[str, Any]) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]: ...
