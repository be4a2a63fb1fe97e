"""What every email parser returns, the documented message hash, and how a parsed email becomes items."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from disclose.items import Item, Kind, Participants, Person, Status
from indexer.context import IngestContext
from indexer.enrich.email_threads import guessed_thread_id, own_message_id, replied_ids

HASH_VERSION = "disclose-email-v1"
MAX_NAME = 120


@dataclass
class Attachment:
    filename: str
    data: bytes
    mime_type: str = ""
    inline: bool = False
    content_id: str = ""
    is_message: bool = False  # an email inside the email (message/rfc822, embedded MSG)
    hint: str = ""  # a MIME type the container vouches for, passed on to the child's ingestor
    fields: dict[str, Any] = field(default_factory=dict)  # pre-set item fields (a derived email's parsed record)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class EmailRecord:
    """One message as any format gives it. Dates are aware datetimes; `problems` are what could not be read."""

    subject: str = ""
    sender: list[Person] = field(default_factory=list)
    to: list[Person] = field(default_factory=list)
    cc: list[Person] = field(default_factory=list)
    bcc: list[Person] = field(default_factory=list)
    sent: datetime | None = None
    received: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    thread_index: str = ""
    thread_topic: str = ""
    importance: str = ""  # low, normal, high
    flags: list[str] = field(default_factory=list)
    folder: str = ""
    body: str = ""
    body_format: str = ""  # plain, html, rtf
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (stage, reason)
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific metadata (item class, calendar fields)

    def participants(self) -> Participants:
        return Participants(sender=list(self.sender), to=list(self.to), cc=list(self.cc), bcc=list(self.bcc))


def _person_key(person: Person) -> str:
    address = person.address.strip().lower()
    if "@" in address:
        return address
    return " ".join((person.name or person.address).lower().split())


def _normal_text(text: str) -> str:
    return " ".join(text.split())


def message_hash(record: EmailRecord, attachment_hashes: list[str]) -> str:
    """The de-duplication key of an email (documented in README, "Email formats, threads and de-duplication").

    SHA-256 over, joined by U+001F: the version tag; the sender (lower-cased SMTP address, or the
    display name when there is no address); the sorted To, Cc and Bcc lists (each as the sender);
    the sent time in UTC to the second; the subject with whitespace collapsed; the body text with
    whitespace collapsed; the sorted SHA-256s of the attachments. The same message held by two
    custodians, or in two folders, or as EML in one place and in an MBOX in another, gives the same hash.
    """
    sent = record.sent.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if record.sent else ""
    parts = [
        HASH_VERSION,
        ",".join(_person_key(p) for p in record.sender),
        ",".join(sorted(_person_key(p) for p in record.to)),
        ",".join(sorted(_person_key(p) for p in record.cc)),
        ",".join(sorted(_person_key(p) for p in record.bcc)),
        sent,
        _normal_text(record.subject),
        _normal_text(record.body),
        ",".join(sorted(attachment_hashes)),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def safe_name(name: str, fallback: str) -> str:
    """An attachment name that cannot climb out of a folder or carry control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name or "").replace("\\", "/")
    base = PurePosixPath(name).name.strip().lstrip(".") if name else ""
    return (base or fallback)[:MAX_NAME]


def header_block(record: EmailRecord) -> str:
    """The header lines a reviewer reads above the body (and can redact, since they are in the text)."""
    lines = []
    for label, people in (("From", record.sender), ("To", record.to), ("Cc", record.cc), ("Bcc", record.bcc)):
        if people:
            lines.append(f"{label}: {'; '.join(p.label() for p in people)}")
    if record.sent:
        lines.append(f"Sent: {record.sent.isoformat()}")
    if record.subject:
        lines.append(f"Subject: {record.subject}")
    names = [a.filename for a in record.attachments if not a.inline]
    if names:
        lines.append(f"Attachments: {'; '.join(names)}")
    return "\n".join(lines)


def record_metadata(record: EmailRecord, attachment_hashes: list[str]) -> dict[str, Any]:
    return {
        "message_id": record.message_id,
        "in_reply_to": record.in_reply_to,
        "references": record.references,
        "thread_index": record.thread_index,
        "thread_topic": record.thread_topic,
        "sent": record.sent.astimezone(timezone.utc).isoformat() if record.sent else None,
        "received": record.received.astimezone(timezone.utc).isoformat() if record.received else None,
        "importance": record.importance,
        "flags": record.flags,
        "folder": record.folder,
        "body_format": record.body_format,
        "has_attachment": bool(record.attachments),
        "attachment_count": len(record.attachments),
        "attachment_hashes": sorted(attachment_hashes),
        **record.extra,
    }


def fill_email(item: Item, record: EmailRecord, ctx: IngestContext, *, emit_children: bool = True) -> None:
    """Make `item` the email `record` describes, emit its attachments as children, report what was unreadable.

    A caller that builds a derived item passes `emit_children=False`, emits the item, then calls
    `emit_attachments`, so that parents are stored before their children.
    Container fields set before ingestion (folder path, flags from an IMAP or PST crawl) are kept
    when the message itself does not say.
    """
    preset = item.metadata
    record.folder = record.folder or str(preset.get("folder", "") or "")
    preset_flags = preset.get("flags")  # a crawler's flags (IMAP keywords, Graph flag objects) win over none
    hashes = [attachment.sha256 for attachment in record.attachments]
    item.kind = Kind.EMAIL
    item.title = record.subject or item.title
    item.participants = record.participants()
    if record.sent:
        item.set_date(record.sent, "header")
    elif record.received:
        item.set_date(record.received, "received")
    head = header_block(record)
    item.text = f"{head}\n\n{record.body}" if head else record.body
    item.content_hash = message_hash(record, hashes)
    item.metadata.update(record_metadata(record, hashes))
    item.metadata["body_offset"] = len(head) + 2 if head else 0
    if not record.flags and preset_flags:
        item.metadata["flags"] = preset_flags
    # Provisional until the thread enricher runs after the ingest: usually already right, so the
    # email is indexed once with its final thread id (see indexer/enrich/email_threads.py).
    item.metadata["thread_id"] = _thread_guess(item, ctx)
    item.metadata["inclusive"] = True
    if record.problems:
        item.status = Status.PARTIAL
        item.error = "; ".join(reason for _, reason in record.problems)[:2000]
        for stage, reason in record.problems:
            ctx.problem(item, stage, reason)
    if emit_children:
        emit_attachments(item, record.attachments, ctx)


def _thread_guess(item: Item, ctx: IngestContext) -> str:
    """The thread id the email will most likely end with: its own guess, or (for a reply without a
    Thread-Index) the thread of an email it replies to that came earlier in the same original."""
    meta = item.metadata
    guess = guessed_thread_id(meta, item.title, item.participants.to_dict())
    hints = getattr(ctx, "thread_hints", None)
    if hints is None:
        return guess
    if not meta.get("thread_index"):
        guess = hints.thread_of(replied_ids(meta)) or guess
    hints.remember(own_message_id(meta), guess)
    return guess


def emit_attachments(item: Item, attachments: list[Attachment], ctx: IngestContext) -> None:
    for number, attachment in enumerate(attachments, start=1):
        name = safe_name(attachment.filename, f"attachment-{number}")
        fields: dict[str, Any] = {**attachment.fields}
        fields["metadata"] = {
            "inline": attachment.inline,
            "content_id": attachment.content_id,
            "declared_mime": attachment.mime_type,
            **attachment.fields.get("metadata", {}),
        }
        hint = attachment.hint or ("message/rfc822" if attachment.is_message else "")
        ctx.child(
            item,
            f"attachment/{number}/{name}",
            filename=name,
            data=attachment.data,
            kind=Kind.EMAIL if attachment.is_message else Kind.ATTACHMENT,
            hint=hint,
            fields=fields,
        )
