"""MBOX mailboxes (mboxo and mboxrd), read as a stream so memory does not grow with the mailbox."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import BinaryIO, ClassVar, Iterator

from disclose.items import Item, Kind, Status
from indexer.context import IngestContext, Native
from indexer.registry import Probe, register

FROM_LINE = re.compile(rb"^From \S*")
QUOTED_FROM = re.compile(rb"^>(>*From )")
MAX_MESSAGE = 256 * 1024 * 1024


def unquote_from(line: bytes) -> bytes:
    """Undo `>From ` quoting: mboxrd adds one `>` to every `>*From ` line; mboxo to `From ` lines only."""
    return QUOTED_FROM.sub(rb"\1", line, count=1) if line.startswith(b">") else line


def iter_mbox(stream: BinaryIO) -> Iterator[tuple[int, bytes, bytes, bool]]:
    """(number, From_ line, message bytes, truncated) for each message, one message in memory at a time.

    A `From ` line starts a message only at the start of the file or after a blank line, as every
    mbox writer puts one there; other `From ` lines are body text that a writer failed to quote.
    """
    number = 0
    envelope = b""
    lines: list[bytes] = []
    size = 0
    truncated = False
    previous_blank = True
    started = False
    for line in stream:
        if previous_blank and FROM_LINE.match(line):
            if started or lines:
                number += 1
                yield number, envelope, _join(lines), truncated
            envelope, lines, size, truncated, started = line.rstrip(b"\r\n"), [], 0, False, True
            previous_blank = False
            continue
        previous_blank = line in (b"\n", b"\r\n")
        size += len(line)
        if size > MAX_MESSAGE:
            truncated = True
            continue
        lines.append(unquote_from(line))
    if started or any(line.strip() for line in lines):
        number += 1
        yield number, envelope, _join(lines), truncated


def _join(lines: list[bytes]) -> bytes:
    # The blank line before the next From_ line belongs to the mbox, not to the message.
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)


@register
class MboxIngestor:
    name: ClassVar[str] = "email.mbox"

    def score(self, probe: Probe) -> int:
        if probe.mime == "application/mbox":
            return 70
        if probe.extension in ("mbox", "mbx") and probe.head.startswith(b"From "):
            return 60
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        folder = PurePosixPath(native.filename).stem if native.filename else ""
        count = 0
        failed = 0
        with native.open() as stream:
            for number, envelope, message, truncated in iter_mbox(stream):
                count = number
                fields = {"metadata": {"folder": folder, "mbox_envelope": envelope.decode("utf-8", "replace")[:500], "mbox_position": number}}
                child = ctx.child(item, f"msg/{number}", filename=f"message-{number}.eml", data=message, kind=Kind.EMAIL,
                                  hint="message/rfc822", fields=fields)
                if child is None:
                    failed += 1
                if truncated:
                    ctx.problem(item, "parse", f"message {number} is larger than {MAX_MESSAGE} bytes; only the start was kept")
                    item.status = Status.PARTIAL
        item.metadata.update({"container_format": "mbox", "message_count": count, "folder": folder})
        item.text = f"Mailbox {native.filename}: {count} messages"
        if failed:
            item.status = Status.PARTIAL
