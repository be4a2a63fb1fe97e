"""WhatsApp "Export chat" files: a `.txt` recognised by its message headers, or a `.zip` with media.

The text is read as a stream three times (header scan, summary, emit), so a million-message export
never sits in memory; zip members are read through `zipfile`, never extracted to disk.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import IO, Callable, ClassVar, Iterable, Iterator

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import MAX_MEMBER_BYTES, is_zip, zip_names_in_head
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError, describe_conversation, emit_message
from indexer.ingestors.chat.whatsapp_parser import (
    Layout,
    WhatsAppReader,
    conversation_metadata,
    input_lines,
    looks_like_whatsapp,
    scan_layout,
    sender_person,
)
from indexer.ingestors.zipmembers import read_member, safe_member_name
from indexer.registry import Probe, register

TEXT_SCORE = 50  # a text whose first lines are WhatsApp headers, whatever the file is called
ZIP_SCORE = 50  # above the generic archive ingestor and the other chat zips (40)
MAX_REPORTED_ERRORS = 1000  # exceptions-report entries per export; the rest are counted
_CHAT_MEMBER = re.compile(r"(?:^|/)(?:_chat\.txt|WhatsApp Chat (?:with|-|mit|con|avec|com|met) .+\.txt)$", re.I)
_TITLE = re.compile(r"^WhatsApp[ _-]Chat(?:[ _-]+(?:with|mit|con|avec|com|met|-)[ _-]+|[ _-]+-[ _-]+)(?P<title>.+?)(?:\.txt|\.zip)?$", re.I)


def chat_member(names: Iterable[str]) -> str | None:
    """The chat text inside an export zip: `_chat.txt` (iOS) or `WhatsApp Chat with X.txt` (Android)."""
    candidates = sorted((n for n in names if _CHAT_MEMBER.search(n)), key=lambda n: (n.count("/"), n))
    return candidates[0] if candidates else None


def title_from_filename(filename: str) -> str:
    found = _TITLE.match(PurePosixPath(filename.replace("\\", "/")).name)
    return found.group("title").strip() if found else ""


def _decoded_lines(open_binary: Callable[[], IO[bytes]]) -> Callable[[], Iterator[str]]:
    """A repeatable line source over a byte stream, split the way `input_lines` splits text."""

    def lines() -> Iterator[str]:
        with open_binary() as handle:
            if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                handle.seek(0)
                yield from input_lines(handle.read().decode("utf-16", errors="replace"))
                return
            handle.seek(0)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = ""
            for raw in handle:  # binary iteration splits on LF only, as input_lines does
                pending += decoder.decode(raw)
                if pending.endswith("\n"):
                    yield pending[:-2] if pending.endswith("\r\n") else pending[:-1]
                    pending = ""
            pending += decoder.decode(b"", final=True)
            if pending:
                yield pending[:-1] if pending.endswith("\r") else pending

    return lines


@dataclass
class ExportSummary:
    """What the second pass learns: who took part, the date span and the parse errors."""

    layout: Layout
    people: dict[tuple[str, str], Person] = field(default_factory=dict)
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    errors: list[ParseError] = field(default_factory=list)
    error_count: int = 0

    def add(self, message: ChatMessage) -> None:
        self.count += 1
        if message.kind != "system":
            self.people.setdefault((message.sender.name, message.sender.address), message.sender)
        if message.sent is not None:
            if self.first is None or message.sent < self.first:
                self.first = message.sent
            if self.last is None or message.sent > self.last:
                self.last = message.sent


def emit_export(
    item: Item,
    lines: Callable[[], Iterable[str]],
    ctx: IngestContext,
    *,
    title: str,
    media: Callable[[str], bytes | None] | None,
) -> int:
    """Make `item` the chat_conversation and stream its messages out. Returns the message count.

    Two streaming passes: the header scan (date order, senders, group subject), then one parse
    that emits each message as it is read and sums up the conversation, which is filled in last.
    """
    zone = getattr(ctx, "timezone", "") or "Europe/London"
    layout = scan_layout(lines())
    people = list({(p.name, p.address): p for p in map(sender_person, layout.senders)}.values())
    item.title = title or layout.subject or "WhatsApp chat with " + ", ".join(p.label() for p in people[:5])
    reader = WhatsAppReader(layout, zone)
    summary = ExportSummary(layout)
    for message in reader.messages(lines()):
        summary.add(message)
        emit_message(item, "whatsapp", people, summary.count, message, ctx, media)
    summary.error_count = len(reader.errors)
    summary.errors = reader.errors[:MAX_REPORTED_ERRORS]
    conversation = Conversation(
        platform="whatsapp",
        title=item.title,
        messages=[],
        participants=list(summary.people.values()),
        errors=summary.errors,
        metadata=conversation_metadata(layout, zone),
    )
    if reader.subject:
        conversation.metadata["group_subject"] = reader.subject
    describe_conversation(item, conversation, ctx, people=conversation.participants, message_count=summary.count,
                          first=summary.first, last=summary.last)
    if summary.error_count > len(summary.errors):
        ctx.problem(item, "parse", f"{summary.error_count - len(summary.errors)} more unreadable lines not listed")
    if summary.count == 0:
        ctx.problem(item, "parse", "recognised as a WhatsApp export but no message could be read")
    return summary.count


class _ZipMedia:
    """Media files of an export zip, looked up by the name the chat gives (same folder, else anywhere)."""

    def __init__(self, archive: zipfile.ZipFile, folder: str) -> None:
        self.archive = archive
        self.folder = folder
        self.by_path: dict[str, zipfile.ZipInfo] = {}
        self.by_name: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = safe_member_name(info.filename)
            if path is None:
                continue  # a hostile member name; nothing outside the export is read
            self.by_path[path] = info
            self.by_name.setdefault(posixpath.basename(path), info)

    def __call__(self, name: str) -> bytes | None:
        wanted = posixpath.normpath(posixpath.join(self.folder, name.replace("\\", "/"))).lstrip("/")
        info = self.by_path.get(wanted) or self.by_name.get(posixpath.basename(name))
        return None if info is None else read_member(self.archive, info, MAX_MEMBER_BYTES)


@register
class WhatsAppIngestor:
    name: ClassVar[str] = "whatsapp"

    def score(self, probe: Probe) -> int:
        if is_zip(probe):
            names = zip_names_in_head(probe.head)
            if chat_member(names) or (title_from_filename(probe.filename) and probe.extension == "zip"):
                return ZIP_SCORE
            return 0
        if probe.head[:4] == b"PK\x03\x04" or probe.mime.startswith("message/") or probe.hint.startswith("message/"):
            return 0  # a zip that is not an export, or an email (an mbox holds thousands)
        return TEXT_SCORE if looks_like_whatsapp(probe.text_head()[:8000]) else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        item.metadata["platform"] = "whatsapp"
        if is_zip(native.probe):
            self._ingest_zip(item, native, ctx)
            return
        lines = _decoded_lines(native.open)
        emit_export(item, lines, ctx, title=title_from_filename(native.filename), media=None)

    def _ingest_zip(self, item: Item, native: Native, ctx: IngestContext) -> None:
        try:
            archive = zipfile.ZipFile(native.path)
        except (zipfile.BadZipFile, OSError) as error:
            ctx.problem(item, "extract", f"WhatsApp export zip could not be opened: {error}")
            return
        with archive:
            member = chat_member(info.filename for info in archive.infolist())
            if member is None:
                ctx.problem(item, "parse", "zip has no _chat.txt or 'WhatsApp Chat with ….txt' member")
                return
            info = archive.getinfo(member)
            item.metadata["chat_member"] = member
            title = title_from_filename(native.filename) or title_from_filename(member)
            media = _ZipMedia(archive, posixpath.dirname(member))
            emit_export(item, _decoded_lines(lambda: archive.open(info)), ctx, title=title, media=media)
