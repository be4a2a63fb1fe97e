"""A legal production: natives, text and PDF images per document, Bates-numbered, families together, with load files.

A document with redactions is produced as its redacted image and redacted text only: its native
would carry the words the markers cover, so it is left out (NATIVE is empty for it).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from disclose.evidence import EvidenceError, EvidenceStore
from disclose.items import Item
from disclose.store import CaseStore
from search_api.bundle.builder import finish, prepare_target, stamp_pages
from search_api.bundle.layout import merged_markers
from search_api.bundle.leakcheck import LeakChecker, normal
from search_api.bundle.manifest import DocumentSources, Manifest, write_manifest
from search_api.bundle.model import LeakError, LoadedDocument, PlannedDocument
from search_api.bundle.render import DocumentRenderer, Masker
from search_api.bundle.selection import load_document, plan_bundle
from search_api.export.loadfiles import OpticonPage, write_csv, write_dat, write_opt

PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
SAFE_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,8}$")
MIME_EXTENSIONS = {
    "message/rfc822": "eml", "application/pdf": "pdf", "text/plain": "txt", "image/png": "png", "image/jpeg": "jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx", "application/msword": "doc",
    "application/vnd.ms-outlook": "msg",
}


@dataclass
class LegalExportSummary:
    ref: str
    out: str
    format: str
    documents: int
    pages: int
    first_bates: str
    last_bates: str
    natives: int
    redacted: int
    load_files: list[str]
    manifest: str
    seconds: float


def bates(prefix: str, number: int, width: int = 7) -> str:
    return f"{prefix}{number:0{width}d}"


def native_name(begbates: str, item: Item) -> str:
    """Generated from the Bates number; only a short alphanumeric extension survives from the item's name."""
    suffix = PurePosixPath(item.filename.replace("\\", "/")).suffix.lstrip(".")
    extension = suffix.lower() if SAFE_EXTENSION.match(suffix) else MIME_EXTENSIONS.get(item.mime_type, "bin")
    return f"{begbates}.{extension}"


def redacted_text(text: str, markers) -> str:  # type: ignore[no-untyped-def]
    parts, cursor = [], 0
    for start, end, code in merged_markers(markers, 0, len(text)):
        parts.append(text[cursor:start])
        parts.append(f"[REDACTED {code}]")
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def export_legal(store: CaseStore, evidence: EvidenceStore, ref: str, out: Path, *, prefix: str = "", start: int = 1) -> LegalExportSummary:
    began = time.monotonic()
    prefix = prefix or re.sub(r"[^A-Za-z0-9]", "", ref)[:12].upper() or "DOC"
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"Bates prefix {prefix!r} must be 1-20 letters, digits, '-' or '_'")
    if start < 0:
        raise ValueError("the start number must be 0 or more")
    out = out.resolve()
    prepare_target(out)
    with store.session() as session:
        plan = plan_bundle(session, ref)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    for folder in ("NATIVES", "TEXT", "IMAGES", "DATA"):
        (staging / folder).mkdir(parents=True)
    try:
        summary = _export(plan, store, evidence, staging, prefix, start)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.out = str(out)
    summary.seconds = round(time.monotonic() - began, 2)
    return summary


def _export(plan, store: CaseStore, evidence: EvidenceStore, root: Path, prefix: str, start: int) -> LegalExportSummary:  # type: ignore[no-untyped-def]
    mask = Masker(plan.redactions)
    renderer = DocumentRenderer(evidence, mask, plan.ref)
    released = [d for d in plan.documents if d.released]
    number = start
    records: list[dict[str, str]] = []
    pages: list[OpticonPage] = []
    sources: list[DocumentSources] = []
    natives = redacted = 0
    for planned in released:
        with store.session() as session:  # one document's items at a time: the plan holds no text
            loaded = load_document(session, planned, plan.request_id)
        doc, _ = renderer.render(loaded)
        count = doc.page_count
        begin, end = bates(prefix, number), bates(prefix, number + count - 1)
        stamp_pages(doc, prefix, number, label=bates)
        finish(doc, root / "IMAGES" / f"{begin}.pdf", thorough=True)
        item = loaded.primary
        has_markers = planned.marker_count > 0
        redacted += has_markers
        text = _document_text(loaded)
        (root / "TEXT" / f"{begin}.txt").write_text(text, encoding="utf-8")
        native = ""
        md5 = ""
        if not has_markers and planned.kind != "chat" and item.sha256:
            try:
                name = native_name(begin, item)
                evidence.copy_out(item.sha256, root / "NATIVES" / name)
                native = f"NATIVES/{name}"
                md5 = _md5(root / native)
                natives += 1
            except EvidenceError:
                native = ""
        records.append(_record(loaded, begin, end, mask, native, md5, has_markers))
        for page in range(count):
            pages.append(OpticonPage(bates(prefix, number + page), plan.ref, f"IMAGES\\{begin}.pdf", page == 0, count))
        sources.append(DocumentSources(planned.number, f"IMAGES/{begin}.pdf", planned.item_ids,
                                       sorted({i.sha256 for i in planned.sources if i.sha256}), f"{begin}-{end}"))
        number += count
    _attach_ranges(records, released)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", plan.ref)
    write_dat(root / "DATA" / f"{name}.dat", records)
    write_opt(root / "DATA" / f"{name}.opt", pages)
    write_csv(root / "DATA" / f"{name}.csv", records)
    _leak_check(root, plan)
    write_manifest(root, Manifest(ref=plan.ref, kind="legal-export", generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                  documents=sources))
    return LegalExportSummary(
        ref=plan.ref, out=str(root), format="legal", documents=len(released), pages=number - start,
        first_bates=bates(prefix, start), last_bates=bates(prefix, number - 1) if number > start else "",
        natives=natives, redacted=redacted,
        load_files=[f"DATA/{name}.dat", f"DATA/{name}.opt", f"DATA/{name}.csv"], manifest="manifest.json", seconds=0.0,
    )


def _document_text(loaded: LoadedDocument) -> str:
    planned, items = loaded.planned, loaded.items
    if planned.kind == "chat":
        lines = []
        for item in items[1:] if items and items[0].kind.value == "chat_conversation" else items:
            sender = "; ".join(p.label() for p in item.participants.sender)
            when = item.date.isoformat() if item.date else ""
            body = "[message withheld]" if item.id in planned.withheld_ids else redacted_text(item.text, loaded.markers.get(item.id, []))
            lines.append(f"{when} {sender}: {body}")
        return "\n".join(lines)
    item = loaded.primary
    return redacted_text(item.text, loaded.markers.get(item.id, []))


def _record(loaded: LoadedDocument, begin: str, end: str, mask: Masker, native: str, md5: str, has_markers: bool) -> dict[str, str]:
    planned, item = loaded.planned, loaded.primary
    parts = item.participants

    def people(group) -> str:  # type: ignore[no-untyped-def]
        return mask("; ".join(p.label() for p in group))

    thread = item.metadata.get("thread_topic") or item.metadata.get("conversation_id") or item.metadata.get("in_reply_to") or ""
    return {
        "BEGBATES": begin, "ENDBATES": end, "BEGATTACH": "", "ENDATTACH": "",
        "CUSTODIANS": mask("; ".join(planned.custodians)),
        "DATESENT": item.date.isoformat() if item.date else "",
        "FROM": people(parts.sender), "TO": people(parts.to), "CC": people(parts.cc), "BCC": people(parts.bcc),
        "SUBJECT": mask(item.title) if item.kind.value == "email" else "",
        "TITLE": mask(planned.title), "FILENAME": mask(item.filename), "KIND": planned.kind,
        "MD5": md5, "SHA256": "" if has_markers else item.sha256,
        "FAMILY_ID": item.family_id, "THREAD_ID": mask(str(thread)),
        "PAGES": str(int(end[-7:]) - int(begin[-7:]) + 1) if end[-7:].isdigit() and begin[-7:].isdigit() else "",
        "REDACTED": "Y" if has_markers else "N",
        "NATIVE": native, "TEXT": f"TEXT/{begin}.txt", "IMAGE": f"IMAGES/{begin}.pdf",
    }


def _attach_ranges(records: list[dict[str, str]], documents: list[PlannedDocument]) -> None:
    """BEGATTACH/ENDATTACH: the first and last Bates of each family (parents come before their children)."""
    families: dict[str, list[int]] = {}
    for index, planned in enumerate(documents):
        families.setdefault(planned.primary.family_id, []).append(index)
    for indexes in families.values():
        first, last = records[indexes[0]]["BEGBATES"], records[indexes[-1]]["ENDBATES"]
        for index in indexes:
            records[index]["BEGATTACH"], records[index]["ENDATTACH"] = first, last


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _leak_check(root: Path, plan) -> None:  # type: ignore[no-untyped-def]
    checker = LeakChecker(plan.redacted_strings)
    findings = [f.message() for f in checker.check(sorted((root / "IMAGES").glob("*.pdf")), root, {})]
    for path in [*sorted((root / "TEXT").glob("*.txt")), *sorted((root / "DATA").glob("*"))]:
        text = normal(path.read_text(encoding="utf-8-sig", errors="replace"))
        for needle in checker.needles:
            if checker.pattern(needle).search(text):
                findings.append(f"redacted text {needle!r} is readable in {path.relative_to(root)}")
    if findings:
        raise LeakError("leak check failed, nothing was written: " + "; ".join(findings[:5]))
