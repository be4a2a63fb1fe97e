"""Chat in RSMF 2.0 (Relativity Short Message Format): one .rsmf (an EML wrapping rsmf.zip) per conversation-day.

Field names follow Relativity's RSMF 2.0 manifest schema (rsmf_schema_2_0_0.json): top-level
`version`, `participants` (id, display, email), `conversations` (id, display, platform, type,
participants, custodian) and `events` (id, type, participant, conversation, timestamp, body,
attachments (id, display, size)). Redacted words never reach the manifest: a marked range is
replaced by "[REDACTED code]"; withheld messages are left out.
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
from email.utils import format_datetime
from pathlib import Path

from disclose import __version__
from disclose.evidence import EvidenceError, EvidenceStore
from disclose.items import Item, Kind
from disclose.store import CaseStore
from search_api.bundle.builder import prepare_target
from search_api.bundle.leakcheck import LeakChecker, normal
from search_api.bundle.manifest import DocumentSources, Manifest, write_manifest
from search_api.bundle.model import LeakError, PlannedDocument
from search_api.bundle.render import Masker
from search_api.bundle.selection import plan_bundle
from search_api.export.legal import redacted_text

RSMF_VERSION = "2.0.0"
GENERATOR = f"disclose {__version__}"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    pairs = [(m.covered(i.text), m.code) for d in plan.documents for i in d.items for m in d.markers.get(i.id, [])]
    mask = Masker(pairs)
    files: dict[str, list[Item]] = {}
    for document in plan.documents:
        if document.released and document.kind != "chat" and not document.all_markers() and document.primary.parent_id:
            files.setdefault(document.primary.parent_id, []).append(document.primary)
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
                eml, count = rsmf_file(planned, mask, evidence, files)
                name = f"{safe}-{planned.number:05d}-{planned.day}.rsmf"
                bundle.writestr(name, eml)
                names.append(name)
                events += count
                sources.append(DocumentSources(planned.number, name, [i.id for i in planned.items], [], ""))
        _leak_check(archive, [s for strings in plan.redacted_strings.values() for s in strings])
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


def rsmf_manifest(planned: PlannedDocument, mask: Masker, files: dict[str, list[Item]] | None = None) -> tuple[dict, list[tuple[str, Item]]]:
    """The manifest for one conversation-day, and the attachment items it names (id in the zip, item).

    `files` maps a message id to its released, unredacted attachments (redacted ones stay out).
    """
    files_by_message = files
    conversation = planned.items[0] if planned.items and planned.items[0].kind is Kind.CHAT_CONVERSATION else None
    messages = [i for i in planned.items if i.kind is Kind.CHAT_MESSAGE and i.id not in planned.withheld_ids]
    people: dict[tuple[str, str], dict] = {}

    def participant(name: str, address: str) -> str:
        key = (name, address)
        if key not in people:
            entry = {"id": f"P{len(people) + 1}", "display": mask(name or address or "unknown")}
            if EMAIL.match(address or "") and mask(address) == address:
                entry["email"] = address
            people[key] = entry
        return people[key]["id"]

    conversation_id = conversation.id if conversation else (messages[0].metadata.get("conversation_id") if messages else "C1")
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
            "body": redacted_text(message.text, planned.markers.get(message.id, [])),
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
    manifest = {"version": RSMF_VERSION, "participants": list(people.values()), "conversations": [conv], "events": events}
    return manifest, attachments


def rsmf_file(planned: PlannedDocument, mask: Masker, evidence: EvidenceStore, files: dict[str, list[Item]] | None = None) -> tuple[bytes, int]:
    manifest, attachments = rsmf_manifest(planned, mask, files)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rsmf_manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for zip_id, item in attachments:
            try:
                archive.writestr(zip_id, evidence.read(item.sha256))
            except EvidenceError:
                archive.writestr(zip_id, b"")
    stamps = [e["timestamp"] for e in manifest["events"] if "timestamp" in e]
    people = manifest["participants"]
    message = EmailMessage(policy=SMTP)
    message["From"] = people[0]["display"] if people else "unknown"
    message["To"] = ", ".join(p["display"] for p in people) or "unknown"
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
    message["X-RSMF-EventCollectionID"] = f"{manifest['conversations'][0]['id']}/{planned.day}"
    lines = [f"{e.get('timestamp', '')} {_display(people, e['participant'])}: {e['body']}" for e in manifest["events"]]
    message.set_content("\n".join(lines) or "(no messages)")
    message.add_attachment(inner.getvalue(), maintype="application", subtype="zip", filename="rsmf.zip")
    return message.as_bytes(), len(manifest["events"])


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
                        texts.append(inner.read("rsmf_manifest.json").decode("utf-8"))
            text = normal(" ".join(texts))
            for needle in checker.needles:
                if checker.pattern(needle).search(text):
                    findings.append(f"redacted text {needle!r} is readable in {name}")
    if findings:
        raise LeakError("leak check failed, nothing was written: " + "; ".join(findings[:5]))
