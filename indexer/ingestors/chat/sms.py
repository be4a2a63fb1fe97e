"""SMS Backup & Restore XML (`<smses>` with sms/mms, `<calls>`), read as a stream with entities forbidden.

Messages are grouped into conversations by the set of other parties' addresses. MMS text parts
become the message text; media parts are decoded from base64 into attachment children. Calls
become one "Call log" conversation with a `call` message per call.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import posixpath
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from xml.etree.ElementTree import ParseError as XmlSyntaxError

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.identities import normalise_identifier
from indexer.ingestors.chat.exports import CONTENT_SCORE, emit_conversations, from_epoch
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError
from indexer.registry import Probe, register

CHUNK = 1024 * 1024
SENT_SMS_TYPES = {"2", "3", "4", "5", "6"}  # sent, draft, outbox, failed, queued
SMS_STATUS = {"1": "received", "2": "sent", "3": "draft", "4": "outbox", "5": "failed", "6": "queued"}
SENT_MMS_BOXES = {"2", "3", "4"}
MMS_FROM = "137"
CALL_TYPES = {"1": "incoming", "2": "outgoing", "3": "missed", "4": "voicemail", "5": "rejected", "6": "refused"}
_UNSAFE = re.compile(r"[^\w.\- ]+")


def _attr(attributes: dict[str, str], name: str) -> str:
    value = attributes.get(name, "") or ""
    return "" if value == "null" else value


def _address_key(addresses: list[str]) -> str:
    return "~".join(sorted({normalise_identifier("phone", a) if any(c.isdigit() for c in a) else a.lower() for a in addresses}))


@dataclass
class SmsBackup:
    conversations: "OrderedDict[str, Conversation]" = field(default_factory=OrderedDict)
    calls: Conversation | None = None
    errors: list[ParseError] = field(default_factory=list)
    media: dict[str, Path] = field(default_factory=dict)  # attachment name -> decoded file
    recognised: str = ""  # smses or calls

    def read_media(self, name: str) -> bytes | None:
        path = self.media.get(name)
        return path.read_bytes() if path else None


class _Reader:
    """An expat target: builds messages as elements stream past (nothing is kept as a tree)."""

    def __init__(self, owner: Person, media_dir: Path | None) -> None:
        self.owner = owner
        self.media_dir = media_dir
        self.backup = SmsBackup()
        self.names: dict[str, str] = {}  # normalised address -> contact name
        self.mms: dict[str, Any] | None = None
        self.line = 0
        self.parser: DefusedXMLParser | None = None

    def _here(self) -> int:
        return self.parser.parser.CurrentLineNumber if self.parser else 0  # type: ignore[attr-defined]

    def _person(self, address: str, name: str = "") -> Person:
        key = _address_key([address]) if address else ""
        if name and name not in ("(Unknown)", "null"):
            self.names[key] = name
        return Person(name=self.names.get(key, ""), address=address)

    def _conversation(self, addresses: list[str]) -> Conversation:
        key = _address_key(addresses) or "unknown"
        conversation = self.backup.conversations.get(key)
        if conversation is None:
            people = [self._person(a) for a in addresses]
            title = "SMS with " + ", ".join(p.label() for p in people) if people else "SMS"
            conversation = Conversation("sms", title, [], participants=[self.owner, *people], metadata={"addresses": addresses})
            self.backup.conversations[key] = conversation
        for person in conversation.participants:  # names learnt later fill earlier gaps
            if not person.name and person.address:
                person.name = self.names.get(_address_key([person.address]), "")
        return conversation

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if not self.backup.recognised and tag in ("smses", "calls"):
            self.backup.recognised = tag
        if tag == "sms":
            self._sms(attributes)
        elif tag == "mms":
            self.mms = {"attributes": attributes, "parts": [], "addrs": [], "line": self._here()}
        elif tag == "part" and self.mms is not None:
            self.mms["parts"].append((attributes, self._here()))
        elif tag == "addr" and self.mms is not None:
            self.mms["addrs"].append(attributes)
        elif tag == "call":
            self._call(attributes)

    def end(self, tag: str) -> None:
        if tag == "mms" and self.mms is not None:
            self._finish_mms(self.mms)
            self.mms = None

    def data(self, _text: str) -> None:
        return None

    def close(self) -> SmsBackup:
        return self.backup

    def _sms(self, a: dict[str, str]) -> None:
        address = _attr(a, "address")
        addresses = [part for part in address.split("~") if part] or [""]
        other = self._person(addresses[0], _attr(a, "contact_name"))
        sent_by_owner = _attr(a, "type") in SENT_SMS_TYPES
        conversation = self._conversation(addresses)
        line = self._here()
        conversation.messages.append(ChatMessage(
            sender=self.owner if sent_by_owner else other,
            sent=from_epoch(_attr(a, "date"), millis=True),
            text=_attr(a, "body"),
            first_line=line, last_line=line,
            metadata={"sms_status": SMS_STATUS.get(_attr(a, "type"), _attr(a, "type")), "address": address,
                      "subject": _attr(a, "subject"), "readable_date": _attr(a, "readable_date")},
        ))

    def _finish_mms(self, mms: dict[str, Any]) -> None:
        a = mms["attributes"]
        addresses = [part for part in _attr(a, "address").split("~") if part]
        names = [n.strip() for n in _attr(a, "contact_name").split(",")]
        if len(names) == len(addresses):
            for address, name in zip(addresses, names):
                self._person(address, name)
        sent_by_owner = _attr(a, "msg_box") in SENT_MMS_BOXES
        sender = self.owner
        if not sent_by_owner:
            froms = [x.get("address", "") for x in mms["addrs"] if x.get("type") == MMS_FROM]
            sender = self._person(froms[0] if froms else (addresses[0] if addresses else ""))
        others = [x for x in addresses if _address_key([x]) != _address_key([self.owner.address])] if self.owner.address else addresses
        texts: list[str] = []
        attachments: list[str] = []
        for part, line in mms["parts"]:
            content_type = _attr(part, "ct")
            if content_type == "application/smil":
                continue
            if content_type.startswith("text/") and _attr(part, "text"):
                texts.append(_attr(part, "text"))
                continue
            name = _attr(part, "name") or _attr(part, "cl") or "attachment"
            data = _attr(part, "data")
            if not data:
                continue
            try:
                decoded = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                self.backup.errors.append(ParseError(line, f'<part ct="{content_type}" name="{name}">',
                                                     f"MMS attachment {name} is not valid base64"))
                continue
            attachments.append(self._store_media(name, decoded))
        conversation = self._conversation(others or addresses)
        conversation.messages.append(ChatMessage(
            sender=sender, sent=from_epoch(_attr(a, "date"), millis=True), text="\n".join(texts),
            attachments=attachments, first_line=mms["line"], last_line=self._here(),
            metadata={"mms": True, "address": _attr(a, "address"), "subject": _attr(a, "sub"),
                      "group": len(addresses) > 1, "readable_date": _attr(a, "readable_date")},
        ))

    def _store_media(self, name: str, data: bytes) -> str:
        base = _UNSAFE.sub("_", posixpath.basename(name.replace("\\", "/"))).strip(" .") or "attachment"
        unique = base
        stem, dot, extension = base.rpartition(".")
        for number in itertools.count(2):
            if unique not in self.backup.media:
                break
            unique = f"{stem} ({number}).{extension}" if dot else f"{base} ({number})"
        if self.media_dir is None:
            raise RuntimeError("a media folder is needed to keep MMS attachments")
        path = self.media_dir / f"{len(self.backup.media):08d}.bin"
        path.write_bytes(data)
        self.backup.media[unique] = path
        return unique

    def _call(self, a: dict[str, str]) -> None:
        if self.backup.calls is None:
            self.backup.calls = Conversation("sms", "Call log", [], participants=[self.owner])
        number = _attr(a, "number")
        caller = self._person(number, _attr(a, "contact_name"))
        direction = CALL_TYPES.get(_attr(a, "type"), f"type {_attr(a, 'type')}")
        seconds = int(_attr(a, "duration") or 0) if _attr(a, "duration").isdigit() else 0
        line = self._here()
        who = caller.label() or "a withheld number"
        preposition = "to" if direction == "outgoing" else "from"
        self.backup.calls.messages.append(ChatMessage(
            sender=self.owner if direction == "outgoing" else caller,
            sent=from_epoch(_attr(a, "date"), millis=True),
            text=f"{direction.capitalize()} call {preposition} {who}, {seconds // 60} min {seconds % 60} s",
            kind="call", first_line=line, last_line=line,
            metadata={"call_direction": direction, "duration_seconds": seconds, "number": number,
                      "counterparty": caller.to_dict()},
        ))
        if caller not in self.backup.calls.participants:
            self.backup.calls.participants.append(caller)


def parse_sms_backup(stream: BinaryIO, *, owner: Person, media_dir: Path | None = None) -> SmsBackup:
    """Read an SMS Backup & Restore file as a stream; damage ends the read with an error naming the line."""
    reader = _Reader(owner, media_dir)
    parser = DefusedXMLParser(target=reader)
    reader.parser = parser
    try:
        while chunk := stream.read(CHUNK):
            parser.feed(chunk)
        parser.close()
    except XmlSyntaxError as error:
        line = error.position[0] if error.position else reader._here()
        reader.backup.errors.append(ParseError(line, "", f"the XML cannot be read past this line ({error})"))
    except DefusedXmlException as error:
        reader.backup.errors.append(ParseError(reader._here(), "", f"refused: {error}"))
    if not reader.backup.recognised:
        reader.backup.errors.append(ParseError(1, "", "not an SMS Backup & Restore file: no <smses> or <calls> element"))
    return reader.backup


def _line_text(native: Native, number: int) -> str:
    with native.open() as handle:
        for index, raw in enumerate(handle, start=1):
            if index == number:
                return raw[:200].decode("utf-8", errors="replace").strip()
    return ""


@register
class SmsBackupIngestor:
    name: ClassVar[str] = "sms-backup"

    def score(self, probe: Probe) -> int:
        if probe.mime not in ("application/xml", "text/plain", "text/xml"):
            return 0
        head = probe.text_head()[:8192]
        if "<smses" in head or ("<calls" in head and "<call " in head) or "<calls count=" in head:
            return CONTENT_SCORE
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        owner = Person(name=item.custodians[0] if item.custodians else "Phone owner", address="")
        media_dir = ctx.scratch() / "sms-media"
        media_dir.mkdir(parents=True, exist_ok=True)
        with native.open() as stream:
            backup = parse_sms_backup(stream, owner=owner, media_dir=media_dir)
        errors = [ParseError(e.line, e.text or _line_text(native, e.line), e.reason) for e in backup.errors]
        conversations: list[tuple[str, Conversation]] = list(backup.conversations.items())
        if backup.calls is not None:
            conversations.append(("calls", backup.calls))
        label = "call log" if backup.recognised == "calls" else "SMS backup"
        count = emit_conversations(item, conversations, ctx, platform="sms", title=f"SMS Backup & Restore {label}: {native.filename}",
                                   media=backup.read_media, errors=errors)
        item.metadata["message_count"] = sum(len(c.messages) for _, c in conversations)
        item.metadata["conversation_count"] = count
