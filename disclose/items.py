"""The item model: one record per searchable unit, whatever source it came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    EMAIL = "email"
    ATTACHMENT = "attachment"
    FILE = "file"
    IMAGE = "image"
    CHAT_MESSAGE = "chat_message"
    CHAT_CONVERSATION = "chat_conversation"


class Status(StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # some content could not be read; what could be read is kept
    FAILED = "failed"  # nothing could be extracted; the native is still stored and findable by name


def stable_id(*parts: str) -> str:
    """An id that the same input always gives: a hash of where the item came from."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def child_id(parent_id: str, locator: str) -> str:
    return stable_id(parent_id, locator)


def text_version(text: str) -> str:
    """Redaction markers are anchored to this hash of the immutable extracted text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Person:
    """A participant as the source gave it: a display name and/or an address (email, phone, handle)."""

    name: str = ""
    address: str = ""

    def label(self) -> str:
        if self.name and self.address and self.name != self.address:
            return f"{self.name} <{self.address}>"
        return self.name or self.address

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> "Person":
        return cls(name=data.get("name", ""), address=data.get("address", ""))


@dataclass
class Participants:
    sender: list[Person] = field(default_factory=list)  # email From, chat sender
    to: list[Person] = field(default_factory=list)
    cc: list[Person] = field(default_factory=list)
    bcc: list[Person] = field(default_factory=list)

    def everyone(self) -> list[Person]:
        return [*self.sender, *self.to, *self.cc, *self.bcc]

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {
            "from": [p.to_dict() for p in self.sender],
            "to": [p.to_dict() for p in self.to],
            "cc": [p.to_dict() for p in self.cc],
            "bcc": [p.to_dict() for p in self.bcc],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Participants":
        data = data or {}

        def people(key: str) -> list[Person]:
            return [Person.from_dict(p) for p in data.get(key, [])]

        return cls(sender=people("from"), to=people("to"), cc=people("cc"), bcc=people("bcc"))


def utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass
class Item:
    """A searchable unit. `text` is immutable once written: redaction markers are offsets into it."""

    id: str
    kind: Kind
    family_id: str
    parent_id: str | None = None
    root_id: str | None = None
    source: str = ""  # URI of where the item was collected (file://, imap://, ews://, smb://, …)
    locator: str = ""  # where inside its parent (zip member path, attachment index, message number)
    custodians: list[str] = field(default_factory=list)
    title: str = ""
    filename: str = ""
    mime_type: str = ""
    size: int = 0
    date: datetime | None = None  # UTC
    date_offset_minutes: int | None = None  # the original UTC offset, so local time can be shown
    date_source: str = ""  # where the date came from (header, exif, filename, mtime, export)
    participants: Participants = field(default_factory=Participants)
    text: str = ""
    sha256: str = ""  # of the native, when the item has one
    content_hash: str = ""  # for de-duplication; the format decides what goes in it
    status: Status = Status.OK
    error: str = ""
    duplicate_of: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text_version(self) -> str:
        return text_version(self.text)

    def set_date(self, moment: datetime | None, source: str) -> None:
        if moment is None:
            return
        offset = moment.utcoffset() if moment.tzinfo else None
        self.date = utc(moment)
        self.date_offset_minutes = int(offset.total_seconds() // 60) if offset is not None else None
        self.date_source = source
