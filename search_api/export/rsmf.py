"""Chat in RSMF 2.0 (Relativity Short Message Format): one .rsmf (an EML wrapping rsmf.zip) per conversation-day.

Field names follow Relativity's RSMF 2.0 manifest schema (rsmf_schema_2_0_0.json, vendored beside
this file; see rsmf_schema_2_0_0.SOURCE.md): top-level `version`, `eventcollectionid`,
`participants` (id, display, email), `conversations` (id, display, platform, type, participants)
and `events` (id, type, participant, conversation, timestamp, body, attachments (id, display,
size)). Every manifest is validated against that schema, and its references (participants,
conversation, attachment files) checked, before it is zipped: a manifest that fails stops the
export with the reasons, nothing is written. Redacted words never reach the manifest: a marked
range is replaced by "[REDACTED code]"; withheld messages are left out.

The EML wrapper follows Relativity's "Creating an RSMF file" and "Processing an RSMF file": a
`.rsmf` file, `X-RSMF-Version` (the one required header), exactly one base64 attachment named
`rsmf.zip`, one participant in From and all of them in To, and the optional roll-up headers
`X-RSMF-Generator`, `-BeginDate`, `-EndDate`, `-EventCount`, `-AttachmentCount`, `-Application`,
`-Participants`, `-Custodian` and `-EventCollectionID` (the same for every day of one
conversation, so a reviewer's tool keeps the days together).
"""

from __future__ import annotations

import email
import io
import json
import re
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker

from disclose import __version__
from disclose.evidence import EvidenceError, EvidenceStore
from disclose.items import Item, Kind
from disclose.store import CaseStore
from search_api.bundle.builder import prepare_target
from search_api.bundle.leakcheck import LeakChecker, normal
from search_api.bundle.manifest import DocumentSources, Manifest, write_manifest
from disclose.store.records import load_items
from search_api.bundle.model import LeakError, LoadedDocument
from search_api.bundle.render import Masker
from search_api.bundle.selection import load_document, plan_bundle
from search_api.export.legal import redacted_text

RSMF_VERSION = "2.0.0"
GENERATOR = f"disclose {__version__}"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SCHEMA = Path(__file__).with_name("rsmf_schema_2_0_0.json")
MANIFEST_NAME = "rsmf_manifest.json"
ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


class RsmfSchemaError(RuntimeError):
    """A manifest we built does not meet Relativity's RSMF 2.0 schema: a fault of ours, so nothing is written."""


@dataclass
class RsmfExportSummary:
    ref: str
    out: str
    format: str
    archive: str
    files: list[str]
    conversations: int
    events: int
    manifest: str
    seconds: float


def rsmf_timestamp(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_rsmf(store: CaseStore, evidence: EvidenceStore, ref: str, out: Path) -> RsmfExportSummary:
    began = time.monotonic()
    out = out.resolve()
    prepare_target(out)
    with store.session() as session:
        plan = plan_bundle(session, ref)
    chats = [d for d in plan.documents if d.kind == "chat" and d.released]
    if not chats:
        raise ValueError(f"request {ref} has no released chat messages to export as RSMF")
    mask = Masker(plan.redactions)
    attachments: dict[str, list[str]] = {}  # message id -> its released, unredacted attachments' ids
    for document in plan.documents:
        if document.released and document.kind != "chat" and not document.marker_count and document.primary.parent_id:
            attachments.setdefault(document.primary.parent_id, []).append(document.primary.id)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", ref)
    archive = staging / f"{safe}-rsmf.zip"
    names: list[str] = []
    events = 0
    sources: list[DocumentSources] = []
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for planned in chats:
                with store.session() as session:  # one conversation-day's items at a time: the plan holds no text
                    loaded = load_document(session, planned, plan.request_id)
                    files: dict[str, list[Item]] = {}
                    for item in load_items(session, [a for i in planned.item_ids for a in attachments.get(i, [])]):
                        files.setdefault(item.parent_id or "", []).append(item)
                eml, count = rsmf_file(loaded, mask, evidence, files)
                name = f"{safe}-{planned.number:05d}-{planned.day}.rsmf"
                bundle.writestr(name, eml)
                names.append(name)
                events += count
                sources.append(DocumentSources(planned.number, name, planned.item_ids, [], ""))
        _leak_check(archive, plan.redacted_strings)
        write_manifest(staging, Manifest(ref=ref, kind="rsmf-export", generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                         documents=sources))
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RsmfExportSummary(ref=ref, out=str(out), format="rsmf", archive=archive.name, files=names, conversations=len(names),
                             events=events, manifest="manifest.json", seconds=round(time.monotonic() - began, 2))


def rsmf_manifest(loaded: LoadedDocument, mask: Masker, files: dict[str, list[Item]] | None = None) -> tuple[dict, list[tuple[str, Item]]]:
    """The manifest for one conversation-day, and the attachment items it names (id in the zip, item).

    `files` maps a message id to its released, unredacted attachments (redacted ones stay out).
    """
    files_by_message = files
    planned, items = loaded.planned, loaded.items
    conversation = items[0] if items and items[0].kind is Kind.CHAT_CONVERSATION else None
    messages = [i for i in items if i.kind is Kind.CHAT_MESSAGE and i.id not in planned.withheld_ids]
    people: dict[tuple[str, str], dict] = {}

    def participant(name: str, address: str) -> str:
        key = (name, address)
        if key not in people:
            entry = {"id": f"P{len(people) + 1}", "display": mask(name or address or "unknown")}
            if EMAIL.match(address or "") and mask(address) == address:
                entry["email"] = address
            people[key] = entry
        return people[key]["id"]

    conversation_id = (conversation.id if conversation else (messages[0].metadata.get("conversation_id") if messages else "")) or "C1"
    platform = ((conversation.metadata.get("platform") if conversation else "") or
                (messages[0].metadata.get("platform") if messages else "") or "chat")
    events = []
    attachments: list[tuple[str, Item]] = []
    for message in messages:
        sender = message.participants.sender[0] if message.participants.sender else None
        event = {
            "id": message.id,
            "type": "message",
            "participant": participant(sender.name, sender.address) if sender else participant("unknown", ""),
            "conversation": conversation_id,
            "timestamp": rsmf_timestamp(message.date),
            "body": redacted_text(message.text, loaded.markers.get(message.id, [])),
        }
        if not event["timestamp"]:
            del event["timestamp"]
        if message.metadata.get("deleted"):
            event["deleted"] = True
        files = (files_by_message or {}).get(message.id, [])
        if files:
            event["attachments"] = []
            for item in files:
                zip_id = f"{item.id}_{re.sub(r'[^A-Za-z0-9._-]+', '_', item.filename or 'file')[:100]}"
                attachments.append((zip_id, item))
                event["attachments"].append({"id": zip_id, "display": mask(item.filename or zip_id), "size": item.size})
        events.append(event)
    if conversation:
        for person in conversation.participants.everyone():
            participant(person.name, person.address)
    everyone = [p["id"] for p in people.values()]
    conv = {
        "id": conversation_id,
        "display": mask((conversation.title if conversation else "") or "Conversation"),
        "platform": platform,
        "type": "direct" if len(everyone) <= 2 else "channel",
        "participants": everyone,
    }
    manifest = {"version": RSMF_VERSION, "eventcollectionid": conversation_id, "participants": list(people.values()),
                "conversations": [conv], "events": events}
    return manifest, attachments


def _iso_date_time(value: object) -> bool:
    """The schema's date-time: "a format that conforms to the ISO8601 standard" (its examples carry no offset)."""
    if not isinstance(value, str):
        return True  # the schema's "type" reports non-strings
    if not ISO_DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def manifest_validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    checker = FormatChecker()  # email and idn-email are checked as shipped; date-time needs a checker of its own
    checker.checks("date-time")(_iso_date_time)
    return Draft7Validator(schema, format_checker=checker)


def manifest_problems(manifest: dict, zip_names: list[str]) -> list[str]:
    """Where the manifest breaks the schema, or names what is not there (Relativity's validator checks both)."""
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'manifest'}: {error.message}"
        for error in sorted(manifest_validator().iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path])
    ]
    if problems:
        return problems
    people = {p["id"] for p in manifest["participants"]}
    conversations = {c["id"] for c in manifest["conversations"]}
    for conversation in manifest["conversations"]:
        problems += [f"conversation {conversation['id']}: unknown participant {p}" for p in conversation["participants"] if p not in people]
    named: set[str] = set()
    for index, event in enumerate(manifest["events"]):
        if "participant" in event and event["participant"] not in people:
            problems.append(f"events/{index}: unknown participant {event['participant']}")
        if "conversation" in event and event["conversation"] not in conversations:
            problems.append(f"events/{index}: unknown conversation {event['conversation']}")
        for attachment in event.get("attachments", []):
            named.add(attachment["id"])
            if attachment["id"] not in zip_names:
                problems.append(f"events/{index}: attachment {attachment['id']} is not in rsmf.zip")
    problems += [f"rsmf.zip holds {name}, which no event names" for name in zip_names if name != MANIFEST_NAME and name not in named]
    return problems


def validate_manifest(manifest: dict, zip_names: list[str], where: str) -> None:
    problems = manifest_problems(manifest, zip_names)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise RsmfSchemaError(f"{where}: rsmf_manifest.json does not meet the RSMF {RSMF_VERSION} schema: "
                              + "; ".join(problems[:5]) + more)


def rsmf_file(loaded: LoadedDocument, mask: Masker, evidence: EvidenceStore, files: dict[str, list[Item]] | None = None) -> tuple[bytes, int]:
    planned = loaded.planned
    manifest, attachments = rsmf_manifest(loaded, mask, files)
    validate_manifest(manifest, [MANIFEST_NAME, *(zip_id for zip_id, _ in attachments)], f"document {planned.number} ({planned.day})")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1))
        for zip_id, item in attachments:
            try:
                archive.writestr(zip_id, evidence.read(item.sha256))
            except EvidenceError:
                archive.writestr(zip_id, b"")
    stamps = [e["timestamp"] for e in manifest["events"] if "timestamp" in e]
    people = manifest["participants"]
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(people[0]) if people else "unknown"  # the sender of the first message
    message["To"] = ", ".join(_address(p) for p in people) or "unknown"
    message["Subject"] = f"{manifest['conversations'][0]['display']} ({planned.day})"
    if planned.date:
        message["Date"] = format_datetime(planned.date)
    message["X-RSMF-Version"] = RSMF_VERSION
    message["X-RSMF-Generator"] = GENERATOR
    if stamps:
        message["X-RSMF-BeginDate"] = min(stamps)
        message["X-RSMF-EndDate"] = max(stamps)
    message["X-RSMF-EventCount"] = str(len(manifest["events"]))
    message["X-RSMF-AttachmentCount"] = str(len(attachments))
    message["X-RSMF-Application"] = manifest["conversations"][0]["platform"]
    message["X-RSMF-Participants"] = ", ".join(p["display"] for p in people)
    message["X-RSMF-Custodian"] = ", ".join(planned.custodians) or "unknown"
    message["X-RSMF-EventCollectionID"] = manifest["eventcollectionid"]
    lines = [f"{e.get('timestamp', '')} {_display(people, e['participant'])}: {e['body']}" for e in manifest["events"]]
    message.set_content("\n".join(lines) or "(no messages)")
    message.add_attachment(inner.getvalue(), maintype="application", subtype="zip", filename="rsmf.zip")
    return message.as_bytes(), len(manifest["events"])


def _address(person: dict) -> str:
    return formataddr((person["display"], person["email"])) if "email" in person else person["display"]


def _display(people: list[dict], participant_id: str) -> str:
    return next((p["display"] for p in people if p["id"] == participant_id), participant_id)


def _leak_check(archive: Path, redacted: list[str]) -> None:
    checker = LeakChecker(redacted)
    findings = []
    with zipfile.ZipFile(archive) as bundle:
        for name in bundle.namelist():
            parsed = email.message_from_bytes(bundle.read(name), policy=SMTP)
            texts = [str(v) for v in parsed.values()]
            for part in parsed.walk():
                if part.get_content_type() == "text/plain":
                    texts.append(part.get_content())
                elif part.get_filename() == "rsmf.zip":
                    with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True))) as inner:
                        texts.append(inner.read(MANIFEST_NAME).decode("utf-8"))
            text = normal(" ".join(texts))
            for needle in checker.needles:
                if checker.pattern(needle).search(text):
                    findings.append(f"redacted text {needle!r} is readable in {name}")
    if findings:
        raise LeakError("leak check failed, nothing was written: " + "; ".join(findings[:5]))
