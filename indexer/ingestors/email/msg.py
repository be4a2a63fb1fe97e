"""Outlook MSG files (mail, appointments, contacts, tasks, embedded messages) read with `extract-msg`."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from email.utils import getaddresses, parseaddr
from typing import Any, ClassVar

from disclose.items import Item, Person, Status
from indexer.context import IngestContext, Native
from indexer.ingestors.email.bodytext import html_to_text, rtf_to_text, tidy_text
from indexer.ingestors.email.mime import X500, unmangle
from indexer.ingestors.email.model import Attachment, EmailRecord, fill_email
from indexer.registry import Probe, register

MSG_MIME = "application/vnd.ms-outlook"
OLE_MARKERS = ("__substg1.0_".encode("utf-16-le"), "__properties_version1.0".encode("utf-16-le"))
IMPORTANCE = {0: "low", 1: "normal", 2: "high"}
RECIPIENT_FIELD = {1: "to", 2: "cc", 3: "bcc"}

# Fields shown as text for Outlook items that are not mail. Each is an extract-msg attribute.
ITEM_FIELDS: dict[str, list[tuple[str, str]]] = {
    "IPM.Appointment": [
        ("Location", "location"), ("Start", "appointmentStartWhole"), ("End", "appointmentEndWhole"),
        ("Organizer", "organizer"), ("Required attendees", "requiredAttendees"), ("Optional attendees", "optionalAttendees"),
        ("Recurrence", "recurrencePattern"),
    ],
    "IPM.Schedule.Meeting": [
        ("Location", "location"), ("Start", "appointmentStartWhole"), ("End", "appointmentEndWhole"),
        ("Required attendees", "requiredAttendees"), ("Optional attendees", "optionalAttendees"),
    ],
    "IPM.Contact": [
        ("Name", "displayName"), ("Company", "companyName"), ("Job title", "jobTitle"), ("Department", "departmentName"),
        ("Email", "email1EmailAddress"), ("Email 2", "email2EmailAddress"), ("Email 3", "email3EmailAddress"),
        ("Business phone", "businessTelephoneNumber"), ("Home phone", "homeTelephoneNumber"), ("Mobile", "mobileTelephoneNumber"),
        ("Work address", "workAddress"), ("Home address", "homeAddress"), ("Birthday", "birthday"), ("Web page", "businessHomePage"),
    ],
    "IPM.Task": [
        ("Owner", "taskOwner"), ("Start", "taskStartDate"), ("Due", "taskDueDate"), ("Status", "taskStatus"),
        ("Percent complete", "percentComplete"), ("Completed", "taskDateCompleted"), ("Assigner", "taskAssigner"),
    ],
}  # fmt: skip

logging.getLogger("extract_msg").setLevel(logging.CRITICAL)


def looks_like_msg(head: bytes) -> bool:
    return any(marker in head for marker in OLE_MARKERS)


def _string(msg: Any, prop: str) -> str:
    try:
        value = msg.getStringStream(f"__substg1.0_{prop}")
    except Exception:
        return ""
    return str(value or "").strip()


def _binary(msg: Any, prop: str) -> bytes:
    try:
        value = msg.getStream(f"__substg1.0_{prop}")
    except Exception:
        return b""
    return value or b""


def _sender(msg: Any, record: EmailRecord) -> list[Person]:
    shown = unmangle(str(getattr(msg, "sender", "") or ""))
    # "Allison, Timothy B." is a display name, not an address list: only parse what looks like one.
    name, address = parseaddr(shown) if ("<" in shown or "@" in shown) else (shown, "")
    name = name or _string(msg, "0C1A")  # PR_SENDER_NAME
    if not address or "@" not in address:
        address = address or _string(msg, "0C1F")  # PR_SENDER_EMAIL_ADDRESS: X.500 for Exchange senders
    if X500.match(address) or "@" not in address:
        # Exchange senders: the SMTP form is in PR_SENDER_SMTP_ADDRESS or PR_SENT_REPRESENTING_SMTP_ADDRESS.
        smtp = _string(msg, "5D01") or _string(msg, "5D02") or _string(msg, "39FE")
        if smtp and "@" in smtp:
            record.extra["sender_x500"] = address
            address = smtp
        elif X500.match(address):
            record.extra["sender_x500"] = address
    if not name and not address:
        return []
    return [Person(name=name.strip(), address=address.strip())]


def _recipients(msg: Any, record: EmailRecord) -> None:
    found = False
    for recipient in getattr(msg, "recipients", None) or []:
        found = True
        address = str(getattr(recipient, "smtpAddress", "") or "") or str(getattr(recipient, "email", "") or "")
        person = Person(name=str(getattr(recipient, "name", "") or "").strip(), address=address.strip())
        field = RECIPIENT_FIELD.get(int(getattr(recipient, "type", 1) or 1), "to")
        getattr(record, field).append(person)
    if not found:  # some MSGs carry only the display strings
        for field in ("to", "cc", "bcc"):
            text = str(getattr(msg, field, "") or "")
            getattr(record, field).extend(Person(name=n, address=a) for n, a in getaddresses([text]) if n or a)


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(_as_text(v) for v in value)
    if isinstance(value, bytes):
        return ""
    return " ".join(str(value).split())


def _item_fields(msg: Any, class_type: str) -> list[str]:
    for prefix, fields in ITEM_FIELDS.items():
        if class_type.lower().startswith(prefix.lower()):
            lines = []
            for label, attribute in fields:
                try:
                    value = getattr(msg, attribute, None)
                except Exception:
                    value = None
                text = _as_text(value) if value not in (None, "", []) else ""
                if text:
                    lines.append(f"{label}: {text}")
            return lines
    return []


def _body(msg: Any, record: EmailRecord) -> None:
    try:
        plain = msg.body
    except Exception:
        plain = None
    if plain and plain.strip():
        record.body, record.body_format = tidy_text(plain), "plain"
        return
    try:
        html = msg.htmlBody
    except Exception:
        html = None
    if html:
        record.body, record.body_format = html_to_text(html.decode("utf-8", "replace") if isinstance(html, bytes) else html), "html"
        return
    try:
        rtf = msg.rtfBody
    except Exception as error:
        rtf = None
        record.problems.append(("parse", f"RTF body could not be decompressed ({type(error).__name__})"))
    if rtf:
        record.body, record.body_format = rtf_to_text(rtf), "rtf"


def _attachments(msg: Any, record: EmailRecord) -> None:
    for number, attachment in enumerate(getattr(msg, "attachments", None) or [], start=1):
        kind = str(getattr(attachment, "type", "")).rsplit(".", 1)[-1].lower()
        try:
            data = attachment.data
        except Exception as error:
            record.problems.append(("parse", f"attachment {number} could not be read ({type(error).__name__})"))
            continue
        name = (getattr(attachment, "longFilename", None) or getattr(attachment, "shortFilename", None)
                or getattr(attachment, "displayName", None) or "")
        if kind == "msg" or hasattr(data, "exportBytes"):
            try:
                blob = data.exportBytes()
            except Exception as error:
                record.problems.append(("parse", f"embedded message {number} could not be exported ({type(error).__name__})"))
                continue
            subject = str(getattr(data, "subject", "") or "message")
            record.attachments.append(Attachment(filename=name or f"{subject[:80]}.msg", data=blob, mime_type=MSG_MIME, is_message=True, hint=MSG_MIME))
        elif isinstance(data, bytes):
            cid = str(getattr(attachment, "contentId", "") or getattr(attachment, "cid", "") or "")
            hidden = bool(getattr(attachment, "hidden", False))
            record.attachments.append(Attachment(filename=name or f"attachment-{number}", data=data,
                                                 mime_type=str(getattr(attachment, "mimetype", "") or ""), inline=hidden and bool(cid), content_id=cid))
        else:
            record.problems.append(("parse", f"attachment {number} ({kind or 'unknown type'}) is not a file and was not read"))


def record_from_msg(msg: Any) -> EmailRecord:
    record = EmailRecord()
    class_type = str(getattr(msg, "classType", "") or "IPM.Note")
    record.extra["item_class"] = class_type
    record.subject = " ".join(str(getattr(msg, "subject", "") or "").split())
    record.sender = _sender(msg, record)
    _recipients(msg, record)
    record.sent = getattr(msg, "date", None) if isinstance(getattr(msg, "date", None), datetime) else None
    received = getattr(msg, "receivedTime", None)
    record.received = received if isinstance(received, datetime) else None
    header = getattr(msg, "headerDict", None) or {}
    record.message_id = str(getattr(msg, "messageId", "") or header.get("Message-Id", "") or header.get("Message-ID", "") or "").strip()
    record.in_reply_to = str(getattr(msg, "inReplyTo", "") or header.get("In-Reply-To", "") or "").strip()
    record.references = str(header.get("References", "") or "").split()
    index = _binary(msg, "00710102")  # PR_CONVERSATION_INDEX
    record.thread_index = base64.b64encode(index).decode("ascii") if index else str(header.get("Thread-Index", "") or "")
    record.thread_topic = _string(msg, "0070") or str(header.get("Thread-Topic", "") or "")
    importance = getattr(msg, "importance", None)
    record.importance = IMPORTANCE.get(int(importance), "") if importance is not None else ""
    if getattr(msg, "isRead", False):
        record.flags.append("seen")
    _body(msg, record)
    fields = _item_fields(msg, class_type)
    if fields:
        record.body = "\n".join(fields) + ("\n\n" + record.body if record.body else "")
        record.extra["item_fields"] = fields
    if "smime" in class_type.lower() or "rpmsg" in class_type.lower():
        record.problems.append(("decrypt", f"{class_type} item is encrypted or rights-protected: its content could not be read"))
    _attachments(msg, record)
    return record


def _ansi_encoding(msg: Any) -> str:
    """The code page of an old non-Unicode MSG when only PR_INTERNET_CPID names it (extract-msg would guess Latin-9)."""
    try:
        if msg.areStringsUnicode or msg.props.get("3FFD0003") is not None:
            return ""
        cpid = msg.props.get("3FDE0003")
        if cpid is None:
            return ""
        encoding = f"cp{int(cpid.value)}"
        "".encode(encoding)
        return encoding
    except (LookupError, ValueError, AttributeError):
        return ""


@register
class MsgIngestor:
    name: ClassVar[str] = "email.msg"

    def score(self, probe: Probe) -> int:
        if probe.hint == MSG_MIME:
            return 80
        if probe.mime != "application/x-ole-storage":
            return 0
        if looks_like_msg(probe.head):
            return 70
        return 60 if probe.extension in ("msg", "oft") else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        import extract_msg

        try:
            msg = extract_msg.openMsg(str(native.path), strict=False)
            encoding = _ansi_encoding(msg)
            if encoding:
                msg.close()
                msg = extract_msg.openMsg(str(native.path), strict=False, overrideEncoding=encoding)
        except Exception as error:
            item.status = Status.FAILED
            item.error = f"not a readable Outlook item: {type(error).__name__}: {error}"[:500]
            ctx.problem(item, "parse", item.error)
            return
        try:
            record = record_from_msg(msg)
        finally:
            try:
                msg.close()
            except Exception:
                pass
        item.metadata["container_format"] = "msg"
        fill_email(item, record, ctx)
