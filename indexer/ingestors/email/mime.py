"""RFC 822 / MIME messages (EML, MBOX members, Maildir files, IMAP and EWS MIME) parsed with the stdlib `email` package."""

from __future__ import annotations

import mimetypes
import re
from datetime import datetime
from email import errors, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from dateutil import parser as dateparser

from disclose.items import Person
from indexer.ingestors.email.bodytext import html_to_text, rtf_to_text, tidy_text
from indexer.ingestors.email.model import Attachment, EmailRecord

MAX_PARTS = 2000  # a message with more parts than this is a bomb; the rest are reported, not read
BOUNDARY_DEFECTS = (
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
    errors.NoBoundaryInMultipartDefect,
    errors.MissingHeaderBodySeparatorDefect,
)
X500 = re.compile(r"^/o=", re.IGNORECASE)
PRIORITY = {"1": "high", "2": "high", "3": "normal", "4": "low", "5": "low"}
TEXT_TYPES = ("text/plain", "text/html", "text/rtf", "text/enriched", "application/rtf")


def parse_message(data: bytes) -> EmailRecord:
    # Most mail has plain ASCII headers, for which the legacy (compat32) header handling reads the
    # same values as the modern policy at a fraction of the cost; anything else is re-read in full.
    quick = BytesParser(_class=EmailMessage, policy=policy.compat32).parsebytes(data)
    if _plain_enough(quick):
        return record_from_message(quick)  # type: ignore[arg-type]
    message = BytesParser(policy=policy.default).parsebytes(data)
    return record_from_message(message)  # type: ignore[arg-type]


def _plain_enough(message: Message) -> bool:
    """No part has a parse defect, an encoded word, an RFC 2231 parameter, a non-ASCII header byte
    or a nested message: the cases where the modern policy's decoding would read something else."""
    for part in message.walk():
        if part.defects:
            return False
        for _name, value in part.raw_items():
            if not isinstance(value, str) or not value.isascii() or "=?" in value or "*=" in value or "*0" in value:
                return False
        if part.get_content_maintype() == "message":
            return False
    return True


def record_from_message(message: EmailMessage) -> EmailRecord:
    record = EmailRecord()
    _settle_content_types(message)
    _read_headers(message, record)
    _read_parts(message, record)
    return record


def _settle_content_types(message: Message) -> None:
    """Parse each part's Content-Type once: the policy re-parses it on every call, which dominated parse time."""
    for part in message.walk():
        content_type = part.get_content_type()
        part.get_content_type = lambda value=content_type: value  # type: ignore[method-assign]


# --- headers -------------------------------------------------------------------------------------


def _raw(message: Message, name: str) -> str:
    """An unstructured header without the policy's parser (cheap); encoded words are still decoded."""
    raw = next((str(v) for k, v in message.raw_items() if k.lower() == name), "")
    if "=?" in raw:
        try:
            return unmangle(" ".join(str(make_header(decode_header(raw))).split()))
        except (LookupError, ValueError, UnicodeError):
            return unmangle(" ".join(raw.split()))
    return unmangle(" ".join(raw.split()))


def _header(message: Message, name: str, record: EmailRecord) -> str:
    """A header as text. Headers the policy cannot parse are decoded leniently and reported."""
    try:
        value = message.get(name)
    except Exception as error:  # the stdlib header parsers raise on some hostile input
        record.problems.append(("parse", f"malformed {name} header ({type(error).__name__}); raw value kept"))
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return unmangle(" ".join(str(raw).split()))
    if value is None:
        return ""
    for defect in getattr(value, "defects", ()):
        if isinstance(defect, errors.InvalidHeaderDefect | errors.HeaderDefect) and name.lower() in ("from", "to", "cc", "bcc"):
            record.problems.append(("parse", f"malformed {name} header: {defect}"))
            break
    return unmangle(" ".join(str(value).split()))


def unmangle(text: str) -> str:
    """Raw 8-bit header bytes come back from the parser as surrogate escapes: read them as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


def _people(message: Message, name: str, record: EmailRecord) -> list[Person]:
    """An address list read leniently from the raw header (the policy's address parser is slow and brittle)."""
    raws = [str(v) for k, v in message.raw_items() if k.lower() == name]
    if not raws:
        return []
    people = []
    for display, address in _simple_addresses(raws) or getaddresses(raws):
        display = _raw_words(display)
        address = unmangle(address.strip())
        if address == "<>":
            address = ""
        if display or address:
            people.append(Person(name=unmangle(display.strip()), address=address))
    if not people and any(r.strip() for r in raws) and name in ("from", "to", "cc", "bcc"):
        record.problems.append(("parse", f"malformed {name.capitalize()} header: no address could be read"))
    return people


SIMPLE_ADDRESS = re.compile(r"^\s*(?:([A-Za-z0-9][A-Za-z0-9 _'-]*?)\s*<([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)>|([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+))\s*$")


def _simple_addresses(raws: list[str]) -> list[tuple[str, str]] | None:
    """`Name <a@b>` and bare `a@b` lists read without the stdlib's character-by-character address
    parser (a tenth of the ingest time); None for anything else (quotes, comments, groups, encoded
    words), which getaddresses reads as before and reads the same as this for these simple forms."""
    found: list[tuple[str, str]] = []
    for raw in raws:
        for piece in raw.split(","):
            match = SIMPLE_ADDRESS.match(piece)
            if match is None:
                return None
            found.append((" ".join((match[1] or "").split()), match[2] or match[3]))
    return found


def _raw_words(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, ValueError, UnicodeError):
        return text


def _person(address: Address) -> Person:
    spec = address.addr_spec if address.username else ""
    if spec == "<>":
        spec = ""
    return Person(name=unmangle(address.display_name.strip()), address=unmangle(spec.strip()))


def parse_date(text: str) -> datetime | None:
    """A header date: RFC 5322 first, then the looser forms mail clients write ("16 May 2016 at 09:30 GMT+1")."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
        if moment is not None:
            return moment
    except (TypeError, ValueError, IndexError):
        pass
    cleaned = re.sub(r"\bat\b", " ", text)
    # "GMT+1" means UTC+1 to a mail client, but dateutil reads it POSIX-style (inverted): spell it out.
    cleaned = re.sub(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\b", lambda m: f"{m[1]}{int(m[2]):02d}{m[3] or '00'}", cleaned)
    try:
        return dateparser.parse(cleaned, fuzzy=True)
    except (ValueError, OverflowError):
        return None


def _message_ids(text: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", text) or ([text.strip()] if text.strip() else [])


def _read_headers(message: Message, record: EmailRecord) -> None:
    record.subject = _header(message, "subject", record)
    record.sender = _people(message, "from", record) or _people(message, "sender", record)
    record.to = _people(message, "to", record)
    record.cc = _people(message, "cc", record)
    record.bcc = _people(message, "bcc", record)
    date_text = _raw(message, "date")
    record.sent = parse_date(date_text)
    if date_text and record.sent is None:
        record.problems.append(("parse", f"unreadable Date header: {date_text[:100]}"))
    received = _received_date(message)
    record.received = received
    ids = _message_ids(_raw(message, "message-id"))
    record.message_id = ids[0] if ids else ""
    replies = _message_ids(_raw(message, "in-reply-to"))
    record.in_reply_to = replies[0] if replies else ""
    record.references = _message_ids(_raw(message, "references"))
    record.thread_index = _raw(message, "thread-index")
    record.thread_topic = _raw(message, "thread-topic")
    record.importance = _importance(message, record)
    if X500.match(next((p.address for p in record.sender), "")):
        record.extra["sender_x500"] = record.sender[0].address


def _received_date(message: Message) -> datetime | None:
    """When the last hop (the first Received header) took the message."""
    for name, value in message.raw_items():
        if name.lower() == "received" and ";" in str(value):
            return parse_date(" ".join(str(value).rsplit(";", 1)[1].split()))
    return None


def _importance(message: Message, record: EmailRecord) -> str:
    importance = _raw(message, "importance").lower()
    if importance in ("high", "normal", "low"):
        return importance
    priority = _raw(message, "x-priority").strip()[:1]
    if priority in PRIORITY:
        return PRIORITY[priority]
    if _raw(message, "priority").lower() == "urgent":
        return "high"
    return ""


# --- parts ---------------------------------------------------------------------------------------


def _text_content(part: Message) -> str | bytes:
    if part.policy is policy.compat32:
        # What the modern policy's content manager does for text parts (contentmanager.get_text_content).
        payload = part.get_payload(decode=True)
        return payload.decode(str(part.get_param("charset", "ASCII")), errors="replace")
    return part.get_content()  # type: ignore[attr-defined]


def _part_text(part: Message, record: EmailRecord) -> str:
    try:
        content = _text_content(part)
        return content if isinstance(content, str) else content.decode("utf-8", "replace")
    except LookupError:
        charset = part.get_content_charset() or "?"
        record.problems.append(("parse", f"unknown charset {charset!r}; decoded as UTF-8, or Windows-1252 where that failed"))
    except Exception as error:
        record.problems.append(("parse", f"undecodable {part.get_content_type()} part ({type(error).__name__}); decoded leniently"))
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("cp1252", "replace")
    return str(part.get_payload())


def _as_text(part: Message, record: EmailRecord) -> tuple[str, str]:
    kind = part.get_content_type()
    if kind == "text/html":
        return html_to_text(_part_text(part, record)), "html"
    if kind in ("text/rtf", "application/rtf"):
        payload = part.get_payload(decode=True)
        return rtf_to_text(payload if isinstance(payload, bytes) else b""), "rtf"
    return tidy_text(_part_text(part, record)), "plain"


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(part.get_filename())


def _choose_body(message: Message) -> Message | None:
    """The part a reader sees: plain text preferred, then HTML, then RTF; never a named attachment."""
    if isinstance(message, EmailMessage):
        try:
            body = message.get_body(preferencelist=("plain", "html", "related"))
        except Exception:
            body = None
        if body is not None and body.get_content_type() == "multipart/related":
            body = next((p for p in body.iter_parts() if p.get_content_type() in TEXT_TYPES), None)  # type: ignore[attr-defined]
        if body is not None and not _is_attachment(body):
            return body
    for part in message.walk():
        if part.get_content_type() in TEXT_TYPES and not _is_attachment(part) and not part.is_multipart():
            return part
    return None


def _read_parts(message: Message, record: EmailRecord) -> None:
    _check_encryption(message, record)
    body_part = _choose_body(message)
    texts: list[str] = []
    if body_part is not None:
        text, record.body_format = _as_text(body_part, record)
        texts.append(text)
    counter = {"parts": 0}
    _walk(message, body_part, record, texts, counter, inside_alternative=False)
    record.body = "\n\n".join(t for t in texts if t)
    if "-----BEGIN PGP MESSAGE-----" in record.body:
        record.problems.append(("decrypt", "inline PGP-encrypted text: the encrypted block could not be read"))
    _report_defects(message, record)


def _walk(part: Message, body: Message | None, record: EmailRecord, texts: list[str], counter: dict[str, int], *, inside_alternative: bool) -> None:
    kind = part.get_content_type()
    if part is not body and kind == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        data = inner.as_bytes(policy=policy.default.clone(linesep="\r\n")) if inner is not None else b""
        name = part.get_filename() or (f"{_safe_subject(inner)}.eml" if inner is not None else "message.eml")
        _add(record, counter, Attachment(filename=name, data=data, mime_type=kind, is_message=True, hint="message/rfc822"))
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            _walk(sub, body, record, texts, counter, inside_alternative=inside_alternative or kind == "multipart/alternative")
        return
    if part is body:
        return
    if kind in TEXT_TYPES and not _is_attachment(part):
        if not inside_alternative:  # a second inline text part (a list footer, a forwarded note) is body text too
            texts.append(_as_text(part, record)[0])
        return
    if kind in ("application/pgp-encrypted", "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"):
        return  # control parts of encrypted or signed mail: reported by _check_encryption, not attachments
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        data = b""
        record.problems.append(("parse", f"undecodable {kind} attachment"))
    cid = str(part.get("content-id", "") or "").strip("<> ")
    disposition = (part.get_content_disposition() or "").lower()
    extension = mimetypes.guess_extension(kind) or ".bin"
    name = part.get_filename() or f"{cid or 'part'}{extension}"
    _add(record, counter, Attachment(filename=name, data=data, mime_type=kind, inline=disposition != "attachment" and bool(cid) or disposition == "inline", content_id=cid))


def _add(record: EmailRecord, counter: dict[str, int], attachment: Attachment) -> None:
    counter["parts"] += 1
    if counter["parts"] > MAX_PARTS:
        if counter["parts"] == MAX_PARTS + 1:
            record.problems.append(("parse", f"more than {MAX_PARTS} attachments; the rest were not read"))
        return
    record.attachments.append(attachment)


def _safe_subject(message: Message) -> str:
    try:
        subject = str(message.get("subject", "") or "")
    except Exception:
        subject = ""
    return re.sub(r"[^\w .,()-]+", "_", subject).strip()[:80] or "message"


def _check_encryption(message: Message, record: EmailRecord) -> None:
    kind = message.get_content_type()
    if kind == "multipart/encrypted":
        protocol = str(message.get_param("protocol", "") or "")
        scheme = "PGP" if "pgp" in protocol.lower() else protocol or "unknown"
        record.problems.append(("decrypt", f"{scheme}-encrypted message: the body and attachments could not be read"))
        record.extra["encrypted"] = scheme
    elif kind in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        smime_type = str(message.get_param("smime-type", "") or "enveloped-data").lower()
        if smime_type == "signed-data":
            record.problems.append(("decrypt", "S/MIME opaque-signed message: the signed content was not unpacked"))
        else:
            record.problems.append(("decrypt", "S/MIME-encrypted message: the body and attachments could not be read"))
            record.extra["encrypted"] = "S/MIME"


def _report_defects(message: Message, record: EmailRecord) -> None:
    seen: set[str] = set()
    for part in message.walk():
        for defect in part.defects:
            if isinstance(defect, BOUNDARY_DEFECTS):
                reason = f"broken MIME structure ({type(defect).__name__}): parts may be missing or merged"
                if reason not in seen:
                    seen.add(reason)
                    record.problems.append(("parse", reason))
