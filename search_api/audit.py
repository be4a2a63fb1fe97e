"""The append-only, hash-chained audit log: who searched, viewed, decided, redacted and exported what.

Each entry's hash is the SHA-256 of the canonical JSON of (prev_hash, seq, at, actor, action,
target, detail), and prev_hash is the hash of the entry before it, so changing, deleting or
reordering rows breaks the chain at the first entry touched. (Deleting the newest entries
leaves a valid shorter chain; export the head hash with `disclose audit list` to detect that.)
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from disclose.store.base import CaseStore, now
from disclose.store.casework import AuditEntry

GENESIS = "0" * 64


def resolve_actor(explicit: str | None = None) -> str:
    """--actor, else $DISCLOSE_USER, else the OS user name."""
    if explicit:
        return explicit
    if os.environ.get("DISCLOSE_USER"):
        return os.environ["DISCLOSE_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _canonical_time(moment: datetime) -> str:
    # Stored at microsecond precision on SQLite and PostgreSQL alike, so hash exactly that.
    return moment.isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, target: str, detail: dict[str, Any]) -> str:
    payload = {
        "prev_hash": prev_hash,
        "seq": seq,
        "at": _canonical_time(at),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def _plain_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so what is hashed is exactly what the JSON column gives back.
    return json.loads(json.dumps(detail or {}, sort_keys=True, default=str))


def record(session: Session, actor: str, action: str, target: str, detail: dict[str, Any] | None = None) -> AuditRecord:
    """Append one entry. The seq is chosen explicitly so a concurrent writer fails on the primary
    key instead of forking the chain; on PostgreSQL an advisory lock serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7368301)"))
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS
    at = now()
    plain = _plain_detail(detail)
    digest = entry_hash(prev_hash, seq, at, actor, action, target, plain)
    session.add(AuditEntry(seq=seq, at=at, actor=actor, action=action, target=target, detail=plain, prev_hash=prev_hash, hash=digest))
    session.flush()
    return AuditRecord(seq, at, actor, action, target, plain, prev_hash, digest)


def _as_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(row.seq, row.at, row.actor, row.action, row.target, dict(row.detail or {}), row.prev_hash, row.hash)


def list_entries(
    session: Session, *, action: str | None = None, target: str | None = None, limit: int | None = None
) -> list[AuditRecord]:
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    if limit:
        query = query.limit(limit)
    return [_as_record(row) for row in session.scalars(query)]


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""


def verify(session: Session) -> Verification:
    """Walk the chain from the start; name the first entry whose seq, link or hash is wrong."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        count += 1
        if row.seq != expected_seq:
            return Verification(False, count, expected_prev, row.seq, f"entry {row.seq}: expected seq {expected_seq} (entries missing)")
        if row.prev_hash != expected_prev:
            return Verification(False, count, expected_prev, row.seq, f"entry {row.seq}: does not follow entry {row.seq - 1}")
        actual = entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.target, dict(row.detail or {}))
        if actual != row.hash:
            return Verification(False, count, expected_prev, row.seq, f"entry {row.seq}: contents changed since it was written")
        expected_prev = row.hash
        expected_seq += 1
    return Verification(True, count, expected_prev)


def record_item_view(store: "CaseStore", item_id: str, actor: str | None = None) -> AuditRecord:
    """For `disclose show` and GET /items/{id}: who looked at which item, in its own transaction."""
    with store.session() as session:
        return record(session, resolve_actor(actor), "item.view", item_id, {})
