"""Email threads across custodians (`thread_id`) and inclusive emails (`inclusive`), computed from stored emails.

Emails are linked when they share a Message-ID through In-Reply-To/References, or the conversation
part (first 22 bytes) of an Outlook Thread-Index; an email with neither reply header is also keyed by
its normalised subject plus its participants, so replies from clients that drop headers still join.
An email is *not* inclusive when a later email in its thread contains its whole body (quoted, with
`>` markers and whitespace ignored) and all of its attachments: a reviewer reading the later one has
read it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from disclose.items import stable_id
from disclose.store.tables import ItemRow

SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|i)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
MAX_INCLUSIVE_THREAD = 2000  # bigger threads keep `inclusive` True rather than cost n² comparisons


@dataclass
class EmailFacts:
    id: str
    keys: list[str]
    date: datetime | None
    content_hash: str
    attachments: frozenset[str]
    meta: dict[str, Any] = field(default_factory=dict)


def normalised_subject(subject: str) -> str:
    previous = None
    subject = subject or ""
    while previous != subject:
        previous = subject
        subject = SUBJECT_PREFIX.sub("", subject)
    return " ".join(subject.lower().split())


def _message_id(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


def _conversation(thread_index: str) -> str:
    """The conversation header of an Outlook Thread-Index: the same for every message in the conversation."""
    try:
        raw = base64.b64decode(thread_index.strip(), validate=False)
    except (binascii.Error, ValueError):
        return ""
    return raw[:22].hex() if len(raw) >= 22 else ""


def _participants(participants: dict[str, Any] | None) -> str:
    people = set()
    for field_name in ("from", "to", "cc", "bcc"):
        for person in (participants or {}).get(field_name, []):
            key = (person.get("address") or person.get("name") or "").strip().lower()
            if key:
                people.add(key)
    return ",".join(sorted(people))


def thread_keys(meta: dict[str, Any], title: str, participants: dict[str, Any] | None) -> list[str]:
    keys = []
    own = _message_id(str(meta.get("message_id") or ""))
    if own:
        keys.append(f"mid:{own}")
    replied = [_message_id(str(meta.get("in_reply_to") or ""))] + [_message_id(str(r)) for r in meta.get("references") or []]
    keys.extend(f"mid:{r}" for r in replied if r)
    conversation = _conversation(str(meta.get("thread_index") or ""))
    if conversation:
        keys.append(f"ti:{conversation}")
    if not any(replied):
        keys.append(f"subj:{normalised_subject(title)}|{_participants(participants)}")
    return keys


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        root = key
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def join(self, keys: list[str]) -> None:
        if not keys:
            return
        first = self.find(keys[0])
        for key in keys[1:]:
            other = self.find(key)
            if other != first:
                low, high = sorted((first, other))
                self.parent[high] = low  # the smallest key names the group: stable whatever the order
                first = low


def quoted_normal(text: str) -> str:
    """Body text with quote markers, case and whitespace removed, for containment tests."""
    lines = (re.sub(r"^[\s>|]+", "", line) for line in text.splitlines())
    return " ".join(" ".join(lines).lower().split())


def _body(row: Any) -> str:
    offset = int((row.meta or {}).get("body_offset") or 0)
    return (row.text or "")[offset:]


def inclusive_flags(members: list[EmailFacts], bodies: dict[str, str]) -> dict[str, bool]:
    if len(members) > MAX_INCLUSIVE_THREAD:
        return {m.id: True for m in members}
    normal = {m.id: quoted_normal(bodies.get(m.id, "")) for m in members}
    flags = {}
    for email in members:
        contained = False
        for later in members:
            if later.id == email.id or later.content_hash == email.content_hash:
                continue
            if email.date is not None and later.date is not None and later.date <= email.date:
                continue
            if email.date is not None and later.date is None:
                continue
            if email.attachments <= later.attachments and normal[email.id] in normal[later.id]:
                contained = True
                break
        flags[email.id] = not contained
    return flags


def enrich(services: Any, item_ids: list[str]) -> list[str]:
    """Set `thread_id` and `inclusive` on the emails of every thread that `item_ids` touch; return the ids changed."""
    wanted = set(item_ids)
    if not wanted:
        return []
    groups = _Groups()
    facts: dict[str, EmailFacts] = {}
    with services.store.session() as session:
        rows = session.execute(
            select(ItemRow.id, ItemRow.meta, ItemRow.title, ItemRow.participants, ItemRow.date, ItemRow.content_hash).where(ItemRow.kind == "email")
        ).all()
        for row in rows:
            meta = row.meta or {}
            keys = thread_keys(meta, row.title or "", row.participants)
            facts[row.id] = EmailFacts(row.id, keys, row.date, row.content_hash or row.id, frozenset(meta.get("attachment_hashes") or []), meta)
            groups.join(keys)
        threads: dict[str, list[EmailFacts]] = {}
        for email in facts.values():
            threads.setdefault(groups.find(email.keys[0]), []).append(email)
        touched = {groups.find(facts[i].keys[0]) for i in wanted if i in facts}
        changed: list[str] = []
        for thread_key in sorted(touched):
            members = threads[thread_key]
            member_rows = {r.id: r for r in session.scalars(select(ItemRow).where(ItemRow.id.in_([m.id for m in members])))}
            flags = inclusive_flags(members, {i: _body(r) for i, r in member_rows.items()})
            thread_id = stable_id("thread", thread_key)
            for email in members:
                row = member_rows[email.id]
                meta = dict(row.meta or {})
                update = {"thread_id": thread_id, "inclusive": flags[email.id], "thread_size": len(members)}
                if any(meta.get(k) != v for k, v in update.items()):
                    row.meta = {**meta, **update}
                    changed.append(email.id)
    return changed
