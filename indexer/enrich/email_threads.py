"""Email threads across custodians (`thread_id`) and inclusive emails (`inclusive`), computed from stored emails.

Emails are linked when they share a Message-ID through In-Reply-To/References, or the conversation
part (first 22 bytes) of an Outlook Thread-Index; an email with neither reply header is also keyed by
its normalised subject plus its participants, so replies from clients that drop headers still join.
An email is *not* inclusive when a later email in its thread contains its whole body (quoted, with
`>` markers and whitespace ignored) and all of its attachments: a reviewer reading the later one has
read it.

Memory stays small whatever the size of the case: the emails are streamed once to join their keys
(a position per email in memory; ids and key hashes in a temporary SQLite database, which sorts
them on disk), then the threads a run touched are settled a batch at a time, reading bodies only
for the emails of that batch. A thread is named after the first key of
its earliest email, which the ingestor can usually guess on its own (`guessed_thread_id`), so most
emails are indexed with their final `thread_id` and are neither rewritten nor reindexed here; only
emails whose `thread_id` or `inclusive` actually changed are written.
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from array import array
from bisect import bisect_right
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from sqlalchemy import bindparam, select, update

from disclose.items import stable_id
from disclose.store.tables import ItemRow
from indexer.sink import WRITE_LOCK

SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|i)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
MAX_INCLUSIVE_THREAD = 2000  # bigger threads keep `inclusive` True rather than cost n² comparisons
BATCH = 2000  # emails settled (and bodies held) at a time
QUERY_CHUNK = 900  # ids per IN (...) query, well under every database's parameter limit
QUOTE_MARKERS = re.compile(r"^[\s>|]+", re.MULTILINE)  # at the start of every line (one pass, not one per line)
KINDS = ("email",)  # what the pipeline hands this enricher: the emails a run added


@dataclass(frozen=True)
class EmailFacts:
    """What settling a thread needs of one email: no text beyond its normalised body."""

    id: str
    date: datetime | None
    content_hash: str
    attachments: frozenset[str]
    first_key: str
    thread_id: str | None  # as stored now
    inclusive: bool | None  # as stored now
    body: str = ""  # normalised (quoted_normal); empty when the thread is too big to compare


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


def quoted_normal(text: str) -> str:
    """Body text with quote markers, case and whitespace removed, for containment tests."""
    return " ".join(QUOTE_MARKERS.sub("", text.replace("\r", "\n")).lower().split())




def first_key(meta: dict[str, Any], title: str, participants: dict[str, Any] | None) -> str:
    """The key a thread is named after when this email is its earliest.

    The conversation of an Outlook Thread-Index, else the first Message-ID in References (the
    thread's first message), else In-Reply-To, else the email's own Message-ID, else its subject
    and participants. A reply carrying References or a Thread-Index thus names the same key as the
    message that started its thread, so the ingestor's guess is usually the final thread id.
    """
    conversation = _conversation(str(meta.get("thread_index") or ""))
    if conversation:
        return f"ti:{conversation}"
    for value in [*(meta.get("references") or []), meta.get("in_reply_to") or "", meta.get("message_id") or ""]:
        message_id = _message_id(str(value))
        if message_id:
            return f"mid:{message_id}"
    return f"subj:{normalised_subject(title)}|{_participants(participants)}"


def replied_ids(meta: dict[str, Any]) -> list[str]:
    """The Message-IDs an email replies to, normalised: References (the thread's first message first), then In-Reply-To."""
    found = [_message_id(str(r)) for r in meta.get("references") or []] + [_message_id(str(meta.get("in_reply_to") or ""))]
    return list(dict.fromkeys(m for m in found if m))


def own_message_id(meta: dict[str, Any]) -> str:
    return _message_id(str(meta.get("message_id") or ""))


def guessed_thread_id(meta: dict[str, Any], title: str, participants: dict[str, Any] | None) -> str:
    """The thread id an email will have if it is, or replies to, the first message of its thread."""
    return stable_id("thread", first_key(meta, title, participants))


def thread_id_of(members: list[EmailFacts]) -> str:
    """Named after the earliest email (undated last, ties by id): the same whatever order emails arrive in."""
    earliest = min(members, key=lambda m: (m.date is None, m.date.timestamp() if m.date else 0.0, m.id))
    return stable_id("thread", earliest.first_key)


def _contains(later: EmailFacts, email: EmailFacts) -> bool:
    return (
        later.id != email.id
        and later.content_hash != email.content_hash
        and email.attachments <= later.attachments
        and email.body in later.body
    )


def inclusive_flags(members: list[EmailFacts]) -> dict[str, bool]:
    """False for an email whose body and attachments a later email of the thread contains.

    An undated email may be contained by any other; a dated one only by a strictly later dated one.
    """
    if len(members) > MAX_INCLUSIVE_THREAD:
        return {m.id: True for m in members}
    dated = sorted((m for m in members if m.date is not None), key=lambda m: m.date)  # type: ignore[arg-type, return-value]
    stamps = [m.date for m in dated]
    flags = {}
    for email in members:
        later = dated[bisect_right(stamps, email.date) :] if email.date is not None else members  # type: ignore[arg-type]
        flags[email.id] = not any(_contains(other, email) for other in later)
    return flags


# --- joining every email's keys, compactly --------------------------------------------------------


def _root(parent: array, position: int) -> int:
    while parent[position] != position:
        parent[position] = parent[parent[position]]  # path halving keeps later look-ups short
        position = parent[position]
    return position


def _join(parent: array, one: int, other: int) -> None:
    first, second = _root(parent, one), _root(parent, other)
    if first != second:
        parent[max(first, second)] = min(first, second)


def _wanted(scratch: sqlite3.Connection, item_ids: Iterable[str]) -> int:
    """Put the ids a run added in `scratch`; returns how many."""
    scratch.execute("CREATE TABLE wanted (id TEXT PRIMARY KEY) WITHOUT ROWID")
    chunk: list[tuple[str]] = []
    for item_id in item_ids:
        chunk.append((item_id,))
        if len(chunk) >= BATCH:
            scratch.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", chunk)
            chunk.clear()
    scratch.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", chunk)
    return scratch.execute("SELECT count(*) FROM wanted").fetchone()[0]


def _linked_emails(session: Any, scratch: sqlite3.Connection) -> array:
    """A union-find parent array joining the emails that share a thread key, indexed by position;
    each email's id is kept in `scratch` (table `email`) under its position.

    Rows are streamed; only 64-bit key hashes are compared (a false join needs a hash collision,
    about one chance in 10^7 at a million keys). The (key hash, position) pairs go to `scratch` and
    come back sorted, so that emails sharing a key are neighbours: SQLite sorts in a few MB and
    spills to disk, where a dict of key hashes and a list of ids cost some 300 bytes an email.
    """
    scratch.execute("CREATE TABLE email (position INTEGER PRIMARY KEY, id TEXT)")
    scratch.execute("CREATE TABLE pair (key_hash INTEGER, position INTEGER)")
    parent = array("q")
    rows = session.execute(
        select(ItemRow.id, ItemRow.meta, ItemRow.title, ItemRow.participants)
        .where(ItemRow.kind == "email")
        .execution_options(yield_per=BATCH)
    )
    emails: list[tuple[int, str]] = []
    pairs: list[tuple[int, int]] = []
    for row in rows:
        position = len(parent)
        parent.append(position)
        emails.append((position, row.id))
        pairs.extend((hash(key), position) for key in thread_keys(row.meta or {}, row.title or "", row.participants))
        if len(emails) >= BATCH:
            scratch.executemany("INSERT INTO email VALUES (?, ?)", emails)
            scratch.executemany("INSERT INTO pair VALUES (?, ?)", pairs)
            emails.clear()
            pairs.clear()
    scratch.executemany("INSERT INTO email VALUES (?, ?)", emails)
    scratch.executemany("INSERT INTO pair VALUES (?, ?)", pairs)
    holder_hash, holder = None, 0  # the current key and the first email seen with it
    for key_hash, position in scratch.execute("SELECT key_hash, position FROM pair ORDER BY key_hash, position"):
        if key_hash == holder_hash:
            _join(parent, holder, position)
        else:
            holder_hash, holder = key_hash, position
    return parent


def _touched_threads(scratch: sqlite3.Connection, parent: array) -> Iterator[list[str]]:
    """The member ids of every thread holding a wanted email, one thread at a time (in the order
    of their earliest-stored member)."""
    roots = array("q", (_root(parent, position) for position in range(len(parent))))
    touched = bytearray(len(parent))  # 1 at the root of every thread a wanted email is in
    for (position,) in scratch.execute("SELECT email.position FROM email JOIN wanted ON wanted.id = email.id"):
        touched[roots[position]] = 1
    scratch.execute("CREATE TABLE member (root INTEGER, position INTEGER)")
    scratch.executemany("INSERT INTO member VALUES (?, ?)", ((roots[p], p) for p in range(len(parent)) if touched[roots[p]]))
    thread: list[str] = []
    current = -1
    members = "SELECT member.root, email.id FROM member JOIN email USING (position) ORDER BY member.root, member.position"
    for root, item_id in scratch.execute(members):
        if thread and root != current:
            yield thread
            thread = []
        current = root
        thread.append(item_id)
    if thread:
        yield thread


def _batches(threads: Iterator[list[str]]) -> Iterator[list[list[str]]]:
    batch: list[list[str]] = []
    size = 0
    for thread in threads:
        batch.append(thread)
        size += len(thread)
        if size >= BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


# --- settling a batch of threads --------------------------------------------------------------------


def _facts(session: Any, ids: list[str], *, with_body: bool) -> dict[str, EmailFacts]:
    columns = [ItemRow.id, ItemRow.meta, ItemRow.title, ItemRow.participants, ItemRow.date, ItemRow.content_hash]
    if with_body:
        columns.append(ItemRow.text)
    facts: dict[str, EmailFacts] = {}
    for start in range(0, len(ids), QUERY_CHUNK):
        for row in session.execute(select(*columns).where(ItemRow.id.in_(ids[start : start + QUERY_CHUNK]))):
            meta = row.meta or {}
            body = quoted_normal((row.text or "")[int(meta.get("body_offset") or 0) :]) if with_body else ""
            stored_inclusive = meta.get("inclusive")
            facts[row.id] = EmailFacts(
                id=row.id,
                date=row.date,
                content_hash=row.content_hash or row.id,
                attachments=frozenset(meta.get("attachment_hashes") or []),
                first_key=first_key(meta, row.title or "", row.participants),
                thread_id=meta.get("thread_id"),
                # an older version's `thread_size` is stale as soon as a thread grows: rewriting drops it
                inclusive=None if "thread_size" in meta else stored_inclusive,
                body=body,
            )
    return facts


def _settled(batch: list[list[str]], facts: dict[str, EmailFacts]) -> dict[str, tuple[str, bool]]:
    """(thread_id, inclusive) for each email of the batch whose stored values differ."""
    updates: dict[str, tuple[str, bool]] = {}
    for thread in batch:
        members = [facts[i] for i in thread if i in facts]
        if not members:
            continue
        thread_id = thread_id_of(members)
        flags = inclusive_flags(members)
        for email in members:
            if email.thread_id != thread_id or email.inclusive is not flags[email.id]:
                updates[email.id] = (thread_id, flags[email.id])
    return updates


def _write(services: Any, updates: dict[str, tuple[str, bool]]) -> None:
    """Merge the new values into each row's metadata as it is now (read under the write lock)."""
    table = ItemRow.__table__
    statement = update(table).where(table.c.id == bindparam("row_id")).values(meta=bindparam("new_meta"))
    ids = sorted(updates)
    with WRITE_LOCK, services.store.session() as session:
        for start in range(0, len(ids), QUERY_CHUNK):
            rows = session.execute(select(ItemRow.id, ItemRow.meta).where(ItemRow.id.in_(ids[start : start + QUERY_CHUNK])))
            params = []
            for row_id, meta in rows:
                thread_id, inclusive = updates[row_id]
                merged = {k: v for k, v in (meta or {}).items() if k != "thread_size"}
                merged.update(thread_id=thread_id, inclusive=inclusive)
                params.append({"row_id": row_id, "new_meta": merged})
            if params:
                session.connection().execute(statement, params)


def enrich(services: Any, item_ids: Iterable[str]) -> list[str]:
    """Settle every thread that `item_ids` touch; return the ids whose `thread_id` changed.

    Only those need their index entries refreshed: `inclusive` is kept in the case store, not the index.
    `item_ids` may be a stream: they, and every email's id, are held in a private temporary SQLite
    database (deleted when closed) rather than in memory, so memory does not grow with the case.
    """
    reindex: list[str] = []
    with closing(sqlite3.connect("")) as scratch:  # "": a temporary database on disk past a small cache
        if not _wanted(scratch, item_ids):
            return []
        with services.store.session() as session:
            parent = _linked_emails(session, scratch)
        for batch in _batches(_touched_threads(scratch, parent)):
            small = [i for thread in batch if len(thread) <= MAX_INCLUSIVE_THREAD for i in thread]
            large = [i for thread in batch if len(thread) > MAX_INCLUSIVE_THREAD for i in thread]
            with services.store.session() as session:
                facts = {**_facts(session, small, with_body=True), **_facts(session, large, with_body=False)}
            updates = _settled(batch, facts)
            if updates:
                _write(services, updates)
            reindex.extend(i for i, (thread_id, _) in updates.items() if facts[i].thread_id != thread_id)
    return reindex
