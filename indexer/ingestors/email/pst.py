"""Outlook PST/OST stores read with `libpff-python`: every folder walked, each message a derived `email` item."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from email import policy
from email.parser import BytesHeaderParser
from typing import Any, ClassVar, Iterator

from disclose.items import Item, Kind, Person, Status
from indexer.context import IngestContext, Native
from indexer.ingestors.email.bodytext import html_to_text, rtf_to_text, tidy_text
from indexer.ingestors.email.mime import X500, _read_headers
from indexer.ingestors.email.model import Attachment, EmailRecord, emit_attachments, fill_email
from indexer.registry import Probe, register

# MAPI property tags (MS-OXPROPS) read from libpff record sets.
PR_MESSAGE_CLASS = 0x001A
PR_IMPORTANCE = 0x0017
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL_ADDRESS = 0x0C1F
PR_SENDER_SMTP_ADDRESS = 0x5D01
PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D02
PR_MESSAGE_FLAGS = 0x0E07
PR_FLAG_STATUS = 0x1090
PR_INTERNET_MESSAGE_ID = 0x1035
PR_IN_REPLY_TO_ID = 0x1042
PR_INTERNET_REFERENCES = 0x1039
PR_DISPLAY_NAME = 0x3001
PR_EMAIL_ADDRESS = 0x3003
PR_SMTP_ADDRESS = 0x39FE
PR_RECIPIENT_TYPE = 0x0C15
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_MIME_TAG = 0x370E
PR_ATTACH_CONTENT_ID = 0x3712
ATTACH_EMBEDDED_MSG = 5
STRING_TYPES = (0x001E, 0x001F)
IMPORTANCE = {0: "low", 1: "normal", 2: "high"}
RECIPIENT_FIELD = {1: "to", 2: "cc", 3: "bcc"}
MAX_ATTACHMENT = 512 * 1024 * 1024


def _properties(record_sets: Any) -> dict[int, Any]:
    try:
        first = record_sets[0] if len(record_sets) else None
    except Exception:
        return {}
    return {entry.entry_type: entry for entry in first.entries} if first is not None else {}


def _text(props: dict[int, Any], tag: int) -> str:
    entry = props.get(tag)
    if entry is None:
        return ""
    try:
        if entry.value_type in STRING_TYPES:
            return (entry.get_data_as_string() or "").strip()
    except Exception:
        return ""
    return ""


def _number(props: dict[int, Any], tag: int) -> int | None:
    entry = props.get(tag)
    if entry is None:
        return None
    try:
        return int(entry.get_data_as_integer())
    except Exception:
        return None


def _decode(data: bytes | None) -> str:
    if not data:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _utc(moment: datetime | None) -> datetime | None:
    # libpff gives FILETIMEs as naive datetimes in UTC.
    if moment is None or moment.year < 1980:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def folder_messages(root: Any) -> Iterator[tuple[str, Any]]:
    """(folder path, message) for every message in every folder, depth first, in store order."""
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, folder = stack.pop()
        for index in range(folder.number_of_sub_messages):
            yield path, folder.get_sub_message(index)
        subs = [folder.get_sub_folder(i) for i in range(folder.number_of_sub_folders)]
        for sub in reversed(subs):
            name = (sub.name or f"folder-{sub.identifier}").replace("/", "_")
            stack.append((f"{path}/{name}" if path else name, sub))


def record_from_pst(message: Any, folder: str) -> EmailRecord:
    record = EmailRecord(folder=folder)
    props = _properties(message.record_sets)
    headers = message.transport_headers
    if headers:
        # Internet mail keeps its original headers: they carry Message-ID and References exactly.
        parsed = BytesHeaderParser(policy=policy.default).parsebytes(headers.encode("utf-8", "replace") if isinstance(headers, str) else headers)
        _read_headers(parsed, record)
        record.problems = [p for p in record.problems if "Date" not in p[1]]
    record.subject = record.subject or " ".join((message.subject or "").split())
    if not record.sender:
        name = _text(props, PR_SENDER_NAME) or (message.sender_name or "")
        address = _text(props, PR_SENDER_EMAIL_ADDRESS)
        smtp = _text(props, PR_SENDER_SMTP_ADDRESS) or _text(props, PR_SENT_REPRESENTING_SMTP_ADDRESS)
        if X500.match(address) or not address:
            if address:
                record.extra["sender_x500"] = address
            address = smtp or address
        if name or address:
            record.sender = [Person(name=name, address=address)]
    if not (record.to or record.cc or record.bcc):
        _recipients(message, record)
    record.sent = record.sent or _utc(message.client_submit_time)
    record.received = _utc(message.delivery_time) or record.received
    record.message_id = record.message_id or _text(props, PR_INTERNET_MESSAGE_ID)
    record.in_reply_to = record.in_reply_to or _text(props, PR_IN_REPLY_TO_ID)
    record.references = record.references or _text(props, PR_INTERNET_REFERENCES).split()
    index = message.conversation_index
    record.thread_index = base64.b64encode(index).decode("ascii") if index else record.thread_index
    record.thread_topic = message.conversation_topic or record.thread_topic
    importance = _number(props, PR_IMPORTANCE)
    record.importance = IMPORTANCE.get(importance, "") if importance is not None else record.importance
    flags = _number(props, PR_MESSAGE_FLAGS) or 0
    record.flags = [name for bit, name in ((0x1, "seen"), (0x8, "draft")) if flags & bit]
    if _number(props, PR_FLAG_STATUS) == 2:
        record.flags.append("flagged")
    record.extra["item_class"] = _text(props, PR_MESSAGE_CLASS) or "IPM.Note"
    if "smime" in record.extra["item_class"].lower():
        record.problems.append(("decrypt", "S/MIME item in the PST: its encrypted content could not be read"))
    _body(message, record)
    _attachments(message, record)
    return record


def _recipients(message: Any, record: EmailRecord) -> None:
    try:
        recipients = message.recipients
        sets = list(recipients.record_sets) if recipients is not None else []
    except Exception:
        return
    for recipient in sets:
        props = {entry.entry_type: entry for entry in recipient.entries}
        address = _text(props, PR_SMTP_ADDRESS) or _text(props, PR_EMAIL_ADDRESS)
        entry = props.get(PR_RECIPIENT_TYPE)
        kind = int.from_bytes(entry.data[:4], "little") if entry is not None and entry.data else 1
        field = RECIPIENT_FIELD.get(kind, "to")
        getattr(record, field).append(Person(name=_text(props, PR_DISPLAY_NAME).strip("'\""), address=address))


def _body(message: Any, record: EmailRecord) -> None:
    try:
        plain = _decode(message.plain_text_body)
    except Exception:
        plain = ""
    if plain.strip():
        record.body, record.body_format = tidy_text(plain), "plain"
        return
    try:
        html = _decode(message.html_body)
    except Exception:
        html = ""
    if html.strip():
        record.body, record.body_format = html_to_text(html), "html"
        return
    try:
        rtf = message.rtf_body
    except Exception as error:
        rtf = None
        record.problems.append(("parse", f"RTF body could not be read ({type(error).__name__})"))
    if rtf:
        record.body, record.body_format = rtf_to_text(rtf), "rtf"


def _attachments(message: Any, record: EmailRecord) -> None:
    for number in range(message.number_of_attachments):
        try:
            attachment = message.get_attachment(number)
            props = _properties(attachment.record_sets)
            name = attachment.long_filename or _text(props, PR_DISPLAY_NAME) or f"attachment-{number + 1}"
            if _number(props, PR_ATTACH_METHOD) == ATTACH_EMBEDDED_MSG:
                record.problems.append(("parse", f"embedded message {name!r} in attachment {number + 1}: libpff cannot open embedded messages; not read"))
                continue
            size = attachment.size or 0
            if size > MAX_ATTACHMENT:
                record.problems.append(("parse", f"attachment {name!r} is larger than {MAX_ATTACHMENT} bytes; not read"))
                continue
            data = attachment.read_buffer(size) if size else b""
        except Exception as error:
            record.problems.append(("parse", f"attachment {number + 1} could not be read ({type(error).__name__})"))
            continue
        cid = _text(props, PR_ATTACH_CONTENT_ID)
        record.attachments.append(Attachment(filename=name, data=data, mime_type=_text(props, PR_ATTACH_MIME_TAG), content_id=cid, inline=bool(cid)))


@register
class PstIngestor:
    name: ClassVar[str] = "email.pst"

    def score(self, probe: Probe) -> int:
        if probe.mime == "application/vnd.ms-outlook-pst" or probe.head.startswith(b"!BDN"):
            return 80
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        import pypff

        store = pypff.file()
        try:
            store.open(str(native.path))
        except Exception as error:
            item.status = Status.FAILED
            item.error = f"not a readable PST/OST store: {error}"[:500]
            ctx.problem(item, "parse", item.error)
            return
        count = 0
        try:
            for folder, message in folder_messages(store.get_root_folder()):
                count += 1
                self._one(item, folder, message, ctx)
        except Exception as error:
            item.status = Status.PARTIAL
            ctx.problem(item, "parse", f"PST walk stopped after {count} messages: {type(error).__name__}: {error}"[:500])
        finally:
            store.close()
        item.metadata.update({"container_format": "pst", "message_count": count})
        item.text = f"Outlook data file {native.filename}: {count} messages"

    def _one(self, item: Item, folder: str, message: Any, ctx: IngestContext) -> None:
        # Folder path plus the PST's own node identifier: stable across re-ingestion of the same file.
        locator = f"pst/{re.sub(r'[#?]', '_', folder)}/{message.identifier}"
        try:
            record = record_from_pst(message, folder)
        except Exception as error:
            ctx.problem(item, "parse", f"message {locator} could not be read: {type(error).__name__}: {error}"[:500])
            return
        email_item = ctx.derived(item, locator, Kind.EMAIL, title=record.subject, metadata={"folder": folder, "pst_identifier": message.identifier})
        email_item.kind = Kind.EMAIL
        fill_email(email_item, record, ctx, emit_children=False)
        ctx.emit(email_item)
        emit_attachments(email_item, record.attachments, ctx)
