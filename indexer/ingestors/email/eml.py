"""EML files, Apple Mail `.emlx`, Maildir message files and RFC 822 bytes handed over by mail crawlers."""

from __future__ import annotations

import plistlib
import re
from datetime import datetime, timezone
from typing import ClassVar

from disclose.items import Item
from indexer.context import IngestContext, Native
from indexer.ingestors.email.maildir import maildir_place
from indexer.ingestors.email.mime import parse_message
from indexer.ingestors.email.model import EmailRecord, fill_email
from indexer.registry import Probe, register

EMLX_HEAD = re.compile(rb"^\s*(\d{1,12})[ \t]*\r?\n")
MAX_PLIST = 1024 * 1024
# Apple Mail's message flags bitfield (the `flags` key of the emlx plist).
EMLX_FLAGS = {0: "seen", 1: "deleted", 2: "answered", 3: "encrypted", 4: "flagged", 5: "recent", 6: "draft", 8: "forwarded"}


def is_emlx(head: bytes) -> bool:
    match = EMLX_HEAD.match(head[:40])
    return bool(match) and b":" in head[match.end() : match.end() + 200].split(b"\n", 1)[0]


def split_emlx(data: bytes) -> tuple[bytes, dict]:
    """The RFC 822 message and the plist trailer of an .emlx file."""
    match = EMLX_HEAD.match(data)
    if not match:
        return data, {}
    start = match.end()
    length = int(match.group(1))
    message = data[start : start + length]
    trailer = data[start + length : start + length + MAX_PLIST]
    try:
        plist = plistlib.loads(trailer.strip()) if trailer.strip() else {}
    except Exception:
        plist = {}
    return message, plist if isinstance(plist, dict) else {}


def _apply_emlx_plist(record: EmailRecord, plist: dict) -> None:
    flags = plist.get("flags")
    if isinstance(flags, int):
        record.flags = [name for bit, name in EMLX_FLAGS.items() if flags & (1 << bit)]
    received = plist.get("date-received")
    if isinstance(received, (int, float)) and record.received is None:
        record.received = datetime.fromtimestamp(received, tz=timezone.utc)
    if isinstance(plist.get("remote-id"), str):
        record.extra["remote_id"] = plist["remote-id"]


@register
class EmlIngestor:
    name: ClassVar[str] = "email.eml"

    def score(self, probe: Probe) -> int:
        if probe.hint == "message/rfc822":
            return 80
        if is_emlx(probe.head):
            return 70
        if probe.mime == "message/rfc822":
            return 60
        if probe.extension == "eml" and probe.mime in ("text/plain", "application/octet-stream"):
            return 40
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        data = native.read()
        plist: dict = {}
        if is_emlx(data[:256]):
            data, plist = split_emlx(data)
            item.metadata["container_format"] = "emlx"
        record = parse_message(data)
        if plist:
            _apply_emlx_plist(record, plist)
        place = maildir_place(item.source, native.filename)
        if place is not None:
            record.folder = record.folder or place.folder
            record.flags = record.flags or place.flags
            item.metadata["container_format"] = "maildir"
        fill_email(item, record, ctx)
