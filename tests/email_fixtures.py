"""Generated email fixtures (EML, MBOX, emlx, Maildir, TNEF, broken ones) and a recording ingest context for unit tests."""

from __future__ import annotations

import hashlib
import struct
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from disclose.items import Item, Kind, stable_id
from indexer.context import ChildSpec, Native
from indexer.detect import sniff
from indexer.registry import HEAD_BYTES, Probe, choose

# ---------------------------------------------------------------------------------------------------
# A real (not mocked) ingest context: it runs the registered ingestors recursively, like the pipeline,
# but keeps the items in memory so a test can look at them.


@dataclass
class RecordingContext:
    root: Path
    timezone: str = "Europe/London"
    depth: int = 0
    items: list[Item] = field(default_factory=list)
    problems: list[tuple[str | None, str, str]] = field(default_factory=list)

    def native_for(self, data: bytes, filename: str, hint: str = "") -> Native:
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / "natives" / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        head = data[:HEAD_BYTES]
        probe = Probe(head=head, filename=filename, mime=sniff(head, whole=data if head.startswith(b"PK") else None), size=len(data), hint=hint)
        return Native(sha256=sha, path=path, filename=filename, size=len(data), probe=probe)

    def ingest_file(self, path: Path, *, source: str | None = None, hint: str = "", custodian: str = "alice") -> Item:
        data = path.read_bytes()
        native = self.native_for(data, path.name, hint)
        source = source or path.absolute().as_uri()
        item_id = stable_id(source)
        item = Item(id=item_id, kind=Kind.FILE, family_id=item_id, root_id=item_id, source=source, custodians=[custodian],
                    title=path.name, filename=path.name, size=len(data), sha256=native.sha256, content_hash=native.sha256)
        return self.run(item, native)

    def run(self, item: Item, native: Native) -> Item:
        try:
            ingestor = choose(native.probe)
        except LookupError:
            ingestor = None
        item.metadata.setdefault("ingestor", getattr(ingestor, "name", ""))
        # Only the email ingestors run here; other formats are the pipeline's business (end-to-end tests).
        if ingestor is not None and ingestor.name.startswith("email."):
            self.depth += 1
            try:
                ingestor.ingest(item, native, self)
            finally:
                self.depth -= 1
        self.emit(item)
        return item

    def extract(self, native: Native) -> Any:
        raise RuntimeError("Tika is not used by the email ingestors")

    def ocr(self, image: Path) -> Any:
        raise RuntimeError("OCR is not used by the email ingestors")

    def child(self, parent: Item, locator: str, *, filename: str, data: bytes | None = None, path: Path | None = None,
              stream: Any = None, kind: Kind = Kind.ATTACHMENT, hint: str = "", fields: dict[str, Any] | None = None) -> Item | None:
        if data is None:
            data = path.read_bytes() if path is not None else stream.read()
        native = self.native_for(data, filename, hint)
        spec = ChildSpec(parent=parent, locator=locator, kind=kind, filename=filename, fields=dict(fields or {}))
        return self.run(spec.make_item(native.sha256, len(data), native.mime), native)

    def derived(self, parent: Item, locator: str, kind: Kind, **fields: Any) -> Item:
        spec = ChildSpec(parent=parent, locator=locator, kind=kind, filename=fields.pop("filename", ""), fields=fields)
        item = spec.make_item("", 0, "")
        item.content_hash = fields.get("content_hash", "")
        return item

    def emit(self, item: Item) -> None:
        self.items.append(item)

    def problem(self, item: Item | None, stage: str, reason: str) -> None:
        self.problems.append((item.id if item else None, stage, reason))

    def scratch(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root))

    def of_kind(self, kind: Kind) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def children(self, parent: Item) -> list[Item]:
        return [i for i in self.items if i.parent_id == parent.id]


# ---------------------------------------------------------------------------------------------------
# Generators. Every fixture is built here, in the test's tmp_path; nothing is copied from elsewhere.

BASE_DATE = datetime(2024, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def make_email(
    subject: str = "Budget for the Riverside scheme",
    sender: str = "Jane Smith <jane.smith@council.gov.uk>",
    to: str = "Bob Jones <bob.jones@council.gov.uk>",
    cc: str = "",
    body: str = "Please find the figures attached.",
    html: str | None = None,
    date: datetime = BASE_DATE,
    message_id: str = "<m1@council.gov.uk>",
    in_reply_to: str = "",
    references: str = "",
    attachments: list[tuple[str, bytes, str]] | None = None,
    inner: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and body:
        message.set_content(body)
        message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    for name, data, mime in attachments or []:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if inner is not None:
        from email import message_from_bytes, policy

        message.add_attachment(message_from_bytes(inner, policy=policy.default), filename="forwarded.eml")
    return message.as_bytes()


def reply_to(original: bytes, *, sender: str, to: str, body: str, message_id: str, date: datetime,
             quote: bool = True, subject_prefix: str = "RE: ") -> bytes:
    """A reply that quotes the original's body with `>` markers, as mail clients do."""
    from email import message_from_bytes, policy

    parent = message_from_bytes(original, policy=policy.default)
    parent_body = parent.get_body(("plain",)).get_content() if parent.get_body(("plain",)) else ""
    quoted = "\n".join(f"> {line}" for line in parent_body.splitlines())
    references = f"{parent.get('References', '')} {parent['Message-ID']}".strip()
    return make_email(subject=f"{subject_prefix}{parent['Subject']}", sender=sender, to=to, message_id=message_id,
                      body=f"{body}\n\nOn an earlier date someone wrote:\n{quoted}" if quote else body,
                      date=date, in_reply_to=str(parent["Message-ID"]), references=references)


def mbox_bytes(messages: list[bytes], *, quoting: str = "mboxrd") -> bytes:
    """An mbox: each message after a From_ line, `From ` body lines quoted the mboxrd or mboxo way."""
    out = []
    for number, message in enumerate(messages, start=1):
        out.append(f"From sender{number}@example.org Tue Mar  5 09:30:00 2024\n".encode())
        for line in message.replace(b"\r\n", b"\n").split(b"\n"):
            if quoting == "mboxrd" and line.lstrip(b">").startswith(b"From "):
                line = b">" + line
            elif quoting == "mboxo" and line.startswith(b"From "):
                line = b">" + line
            out.append(line + b"\n")
        out.append(b"\n")
    return b"".join(out)


def emlx_bytes(message: bytes, *, flags: int = 0b10001, received: float = 1709631000.0) -> bytes:
    """Apple Mail .emlx: the byte count, the message, then an XML plist trailer."""
    import plistlib

    plist = plistlib.dumps({"flags": flags, "date-received": received, "remote-id": "4242"})
    return f"{len(message)}\n".encode() + message + plist


def write_maildir(root: Path, folders: dict[str, list[tuple[str, bytes]]]) -> list[Path]:
    """A Maildir++ tree: folder "" is INBOX, others are `.Name` sub-folders; entries are (file name, message)."""
    written = []
    for folder, messages in folders.items():
        base = root / (f".{folder}" if folder else "")
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        for name, message in messages:
            path = base / ("cur" if ":2," in name else "new") / name
            path.write_bytes(message)
            written.append(path)
    return written


def _tnef_attribute(level: int, attribute_id: int, attribute_type: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BI I", level, (attribute_type << 16) | attribute_id, len(data)) + data + struct.pack("<H", checksum)


def tnef_bytes(body: str, files: list[tuple[str, bytes]]) -> bytes:
    """A minimal TNEF stream (MS-OXTNEF): version, message class, plain body, then each attachment."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attribute(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _tnef_attribute(1, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    out += _tnef_attribute(1, 0x800C, 0x0002, body.encode("cp1252"))  # attBody
    for name, data in files:
        out += _tnef_attribute(2, 0x9002, 0x0006, b"\x01\x00\x00\x00" + b"\xff\xff\xff\xff" + b"\x00" * 6)  # attAttachRendData
        out += _tnef_attribute(2, 0x8010, 0x0001, name.encode("cp1252") + b"\x00")  # attAttachTitle
        out += _tnef_attribute(2, 0x800F, 0x0006, data)  # attAttachData
    return out


def broken_messages() -> dict[str, bytes]:
    """Messages that are damaged or unreadable in the ways real mailboxes are."""
    unknown_charset = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: charset\r\nDate: Tue, 5 Mar 2024 09:30:00 +0000\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-klingon-9\r\n\r\nReadable words \xe9 here\r\n"
    )
    broken_boundary = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: boundary\r\nDate: Tue, 5 Mar 2024 09:30:00 +0000\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
        b"--XYZ\r\nContent-Type: text/plain\r\n\r\nThe surviving first part\r\n--XYZ\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename=\"cut.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    )
    smime = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: secret\r\nDate: Tue, 5 Mar 2024 09:30:00 +0000\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n"
    )
    pgp = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: pgp\r\nDate: Tue, 5 Mar 2024 09:30:00 +0000\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"P\"\r\n\r\n"
        b"--P\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--P\r\nContent-Type: application/octet-stream\r\n\r\n"
        b"-----BEGIN PGP MESSAGE-----\r\nhQEMA1234\r\n-----END PGP MESSAGE-----\r\n--P--\r\n"
    )
    bad_header = (
        b"From: Jane <jane@@bad..example>, ((\r\nTo: b@example.org\r\nSubject: header\r\nDate: not a date at all\r\n"
        b"Message-ID: <x@y>\r\n\r\nBody survives a bad header.\r\n"
    )
    return {"unknown_charset": unknown_charset, "broken_boundary": broken_boundary, "smime": smime, "pgp": pgp, "bad_header": bad_header}
