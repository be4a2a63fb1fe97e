"""Helpers the chat-export ingestors share: times, JSON with line-numbered errors, zip members, emitting."""

from __future__ import annotations

import json
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from disclose.items import Item, Kind
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.model import Conversation, ParseError, emit_conversation
from indexer.ingestors.zipmembers import read_member, safe_member_name

MAX_JSON_BYTES = 1024 * 1024 * 1024  # one JSON document held in memory; bigger is refused, not read
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # one media file inside an export zip
CONTENT_SCORE = 20  # above generic Tika (1) and plain JSON/XML readers
ZIP_SCORE = 40  # above the generic archive ingestor for zips that are recognisably chat exports


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """A UTC datetime from epoch seconds (or milliseconds); None for blanks and nonsense."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    try:
        return datetime.fromtimestamp(number / 1000 if millis else number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def localise(moment: datetime, zone: str) -> datetime:
    """Attach the export's local zone to a naive time (fold=0: the first of an ambiguous hour)."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(zone or "Europe/London"))


@dataclass
class JsonResult:
    value: Any
    error: ParseError | None = None


def load_json(data: bytes, label: str) -> JsonResult:
    """Parse a JSON document; a failure names the first line that could not be read."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        return JsonResult(json.loads(text))
    except json.JSONDecodeError as error:
        lines = text.splitlines() or [""]
        bad = lines[min(error.lineno, len(lines)) - 1]
        return JsonResult(None, ParseError(error.lineno, bad[:200], f"{label}: not valid JSON ({error.msg})"))


def read_native_json(native: Native, label: str) -> JsonResult:
    if native.size > MAX_JSON_BYTES:
        return JsonResult(None, ParseError(1, "", f"{label}: {native.size} bytes is over the {MAX_JSON_BYTES} byte limit"))
    return load_json(native.read(), label)


def zip_names_in_head(head: bytes) -> list[str]:
    """Member names from the local headers in a zip's first bytes (the probe has only the head)."""
    names: list[str] = []
    position = head.find(b"PK\x03\x04")
    while 0 <= position and position + 30 <= len(head):
        flags, _method, _t, _d, _crc, compressed, _size, name_length, extra_length = struct.unpack(
            "<HHHHIIIHH", head[position + 6 : position + 30]
        )
        name = head[position + 30 : position + 30 + name_length].decode("utf-8", errors="replace")
        names.append(name)
        if flags & 0x08:  # sizes come after the data: find the next header by scanning
            position = head.find(b"PK\x03\x04", position + 30 + name_length)
        else:
            position = position + 30 + name_length + extra_length + compressed
            if head[position : position + 4] != b"PK\x03\x04":
                position = head.find(b"PK\x03\x04", position) if position < len(head) else -1
    return names


def is_zip(probe: Any) -> bool:
    return probe.head.startswith(b"PK\x03\x04") or probe.mime == "application/zip"


class ZipExport:
    """Read-only access to an export zip's members by normalised path; nothing is extracted to disk."""

    def __init__(self, path: Path) -> None:
        self.archive = zipfile.ZipFile(path)
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            name = self.normalise(info.filename)
            if name and not info.is_dir():
                self.members[name] = info

    @staticmethod
    def normalise(name: str) -> str:
        return safe_member_name(name) or ""

    def names(self) -> list[str]:
        return list(self.members)

    def read(self, name: str) -> bytes | None:
        info = self.members.get(self.normalise(name))
        return None if info is None else read_member(self.archive, info, MAX_MEMBER_BYTES)

    def media(self, folder: str) -> Callable[[str], bytes | None]:
        """A media reader for names given relative to `folder` inside the zip."""

        def read(name: str) -> bytes | None:
            return self.read(posixpath.join(folder, name))

        return read

    def close(self) -> None:
        self.archive.close()


def safe_title(text: str, fallback: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text[:200] or fallback


def emit_conversations(
    item: Item,
    conversations: Iterable[tuple[str, Conversation]],
    ctx: IngestContext,
    *,
    platform: str,
    title: str,
    media: Callable[[str], bytes | None] | None = None,
    errors: list[ParseError] | None = None,
) -> int:
    """Make `item` the export and each (id, conversation) a chat_conversation child of it. Returns the count."""
    item.kind = Kind.FILE
    item.title = title
    item.metadata["platform"] = platform
    for error in errors or []:
        ctx.problem(item, "parse", f"line {error.line}: {error.reason}: {error.text[:200]}")
    titles: list[str] = []
    for key, conversation in conversations:
        child = ctx.derived(item, f"conversation/{key}", Kind.CHAT_CONVERSATION, title=conversation.title)
        emit_conversation(child, conversation, ctx, media)
        ctx.emit(child)
        titles.append(f"{conversation.title} ({len(conversation.messages)} messages)")
    item.metadata["conversation_count"] = len(titles)
    item.text = f"{title}\n" + "\n".join(titles)
    return len(titles)


def report_errors(item: Item, errors: list[ParseError], ctx: IngestContext) -> None:
    for error in errors:
        ctx.problem(item, "parse", f"line {error.line}: {error.reason}: {error.text[:200]}")
