"""Ordering a review set into the bundle's documents, with the working set in a temporary database.

The review set is copied a batch at a time into a private temporary SQLite database (deleted when
closed, on disk past a small cache) and grouped and sorted there: each item under the nearest
ancestor that is itself in the review set, chat messages into conversations and local days, and
documents by date. Memory then holds one document's items at a time, whatever the size of the
review set; the documents themselves go to a `Spilled` file as they are planned.
"""

from __future__ import annotations

import pickle
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.items import Kind
from disclose.store.tables import ItemRow
from search_api.bundle.model import DECISIONS, NOT_RELEASED, MarkerTally, PlannedDocument, SourceItem, Spilled

BATCH = 500  # ids per IN (...) query, and rows per scratch write
SCRATCH_CACHE_KIB = 256  # the scratch database's page cache: full at a few thousand documents, so memory stops there

# Roles of a row in the scratch database.
ITEM, CONVERSATION, MESSAGE = "item", "conversation", "message"

_SCHEMA = """
CREATE TABLE brief (
    seq INTEGER PRIMARY KEY,        -- the order rows arrived in: ties keep it
    id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    in_review INTEGER NOT NULL,     -- 0: brought in by a conversation, or a conversation its messages name
    parent_id TEXT,
    holder TEXT,                    -- the nearest ancestor in the review set: the document this one follows
    chat_key TEXT,                  -- the conversation a message or conversation belongs to
    sort_key TEXT NOT NULL,         -- sortable text of (undated last, date, title)
    position INTEGER NOT NULL,
    day TEXT NOT NULL,              -- local day, for chat
    locator TEXT NOT NULL,
    body BLOB NOT NULL              -- pickled (_Brief, Decision or None)
);
CREATE INDEX brief_holder ON brief(holder, locator, id);
CREATE INDEX brief_chat ON brief(chat_key, role);
CREATE TABLE tally (item_id TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE outside (id TEXT PRIMARY KEY, parent_id TEXT);  -- parents of items outside the review set, read once each
"""


@dataclass(frozen=True)
class Decision:
    decision: str
    reviewed: bool
    exemptions: list[str]


UNREVIEWED = Decision("release", False, [])


@dataclass(frozen=True, slots=True)
class _Brief:
    """What planning needs of an item: never its text or metadata."""

    id: str
    kind: Kind
    family_id: str
    parent_id: str | None
    locator: str
    custodians: tuple[str, ...]
    title: str
    filename: str
    mime_type: str
    date: datetime | None
    date_offset_minutes: int | None
    sha256: str
    conversation_id: str | None = None  # chat messages only
    position: int = 0

    def source(self) -> SourceItem:
        return SourceItem(self.id, self.kind.value, self.sha256, self.family_id, self.parent_id)


_BRIEF_COLUMNS = (
    ItemRow.id, ItemRow.kind, ItemRow.family_id, ItemRow.parent_id, ItemRow.locator, ItemRow.custodians, ItemRow.title,
    ItemRow.filename, ItemRow.mime_type, ItemRow.date, ItemRow.date_offset_minutes, ItemRow.sha256,
)


def batched(ids: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item_id in ids:
        chunk.append(item_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def briefs(session: Session, ids: Sequence[str]) -> dict[str, _Brief]:
    found: dict[str, _Brief] = {}
    for chunk in batched(dict.fromkeys(ids)):
        rows = session.execute(select(*_BRIEF_COLUMNS).where(ItemRow.id.in_(chunk))).all()
        chats: dict[str, tuple] = {}
        for row in rows:
            if row.kind == Kind.CHAT_MESSAGE.value:
                chats[row.id] = row
            else:
                found[row.id] = _brief(row)
        if chats:  # a chat message's metadata is small; an image's (OCR word boxes) is not, so only these are read
            for item_id, meta in session.execute(select(ItemRow.id, ItemRow.meta).where(ItemRow.id.in_(list(chats)))).all():
                meta = meta or {}
                found[item_id] = _brief(chats[item_id], meta.get("conversation_id"), meta.get("position", 0))
    return found


def _brief(row, conversation_id: str | None = None, position: object = 0) -> _Brief:  # type: ignore[no-untyped-def]
    return _Brief(
        id=row.id, kind=Kind(row.kind), family_id=row.family_id, parent_id=row.parent_id, locator=row.locator or "",
        custodians=tuple(row.custodians or ()), title=row.title or "", filename=row.filename or "", mime_type=row.mime_type or "",
        date=row.date, date_offset_minutes=row.date_offset_minutes, sha256=row.sha256 or "",
        conversation_id=conversation_id, position=position if isinstance(position, int) else 0,
    )


def decision_of(decision: str | None, exemptions: list[str] | None, marked: bool) -> Decision:
    codes = list(exemptions or [])
    if decision in DECISIONS:
        if decision == "release" and marked:
            decision = "release_in_part"  # a marker accepted after the decision still redacts
        return Decision(decision, True, codes)
    return Decision("release_in_part" if marked else "release", False, codes)


def local_day(item: _Brief) -> str:
    if item.date is None:
        return "undated"
    offset = timedelta(minutes=item.date_offset_minutes or 0)
    return (item.date + offset).date().isoformat()


def sort_key(item: _Brief) -> str:
    """Undated items last, then by date, then by title: as text that sorts the same way in SQLite
    (whose binary collation orders UTF-8 as Python orders code points)."""
    label = item.title or item.filename or item.id
    if item.date is None:
        return "1\x00" + label
    moment = item.date.astimezone(timezone.utc) if item.date.tzinfo else item.date
    return f"0{moment.year:04d}{moment:-%m-%dT%H:%M:%S.%f}\x00{label}"


class Scratch:
    """The planning database: a temporary SQLite file that SQLite deletes when it is closed."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": a private temporary database, on disk past its cache
        self.db.executescript(
            f"PRAGMA cache_size=-{SCRATCH_CACHE_KIB}; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;" + _SCHEMA
        )

    def close(self) -> None:
        self.db.close()

    def add_tallies(self, tallies: dict[str, MarkerTally]) -> None:
        self.db.executemany("INSERT INTO tally VALUES (?, ?)", [(i, pickle.dumps(t)) for i, t in tallies.items()])

    def tally(self, item_id: str) -> MarkerTally | None:
        row = self.db.execute("SELECT body FROM tally WHERE item_id = ?", (item_id,)).fetchone()
        return pickle.loads(row[0]) if row else None

    def tallied(self, item_ids: Sequence[str]) -> set[str]:
        marks = ",".join("?" * len(item_ids))
        return {row[0] for row in self.db.execute(f"SELECT item_id FROM tally WHERE item_id IN ({marks})", list(item_ids))}

    def add_briefs(self, entries: Iterable[tuple[_Brief, Decision | None]], *, in_review: bool, chat_key: str | None = None) -> None:
        """Rows for these items; a review row seen again keeps its place and takes the later decision."""
        rows = [self._row(brief, decision, in_review, chat_key) for brief, decision in entries]
        on_conflict = "DO UPDATE SET body = excluded.body" if in_review else "DO NOTHING"
        self.db.executemany(
            "INSERT INTO brief (id, role, in_review, parent_id, chat_key, sort_key, position, day, locator, body)"
            f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) {on_conflict}", rows,
        )

    @staticmethod
    def _row(brief: _Brief, decision: Decision | None, in_review: bool, chat_key: str | None) -> tuple:
        if chat_key is not None:
            role = MESSAGE if brief.kind is Kind.CHAT_MESSAGE else CONVERSATION
        elif brief.kind is Kind.CHAT_MESSAGE:
            role, chat_key = MESSAGE, brief.conversation_id or brief.parent_id or brief.id
        elif brief.kind is Kind.CHAT_CONVERSATION:
            role, chat_key = CONVERSATION, brief.id
        else:
            role = ITEM
        return (
            brief.id, role, int(in_review), brief.parent_id, chat_key, sort_key(brief), brief.position, local_day(brief), brief.locator,
            pickle.dumps((brief, decision), protocol=pickle.HIGHEST_PROTOCOL),
        )

    def in_review(self, item_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM brief WHERE id = ? AND in_review = 1", (item_id,)).fetchone() is not None

    def rows(self, query: str, *params: object) -> Iterator[tuple[_Brief, Decision]]:
        for (body,) in self.db.execute(query, params):
            yield _entry(body)

    def keyed_batches(self, query: str) -> Iterator[list[tuple]]:
        """The rows of `query` (its first column a unique key, `?` the key to start after) a batch at a time,
        so that the table may be written between batches."""
        after = ""
        while batch := self.db.execute(query, (after, BATCH)).fetchall():
            yield batch
            after = batch[-1][0]


def _entry(body: bytes) -> tuple[_Brief, Decision]:
    """A brief and its decision as stored; an item outside the review set is released, unreviewed."""
    brief, decision = pickle.loads(body)
    return brief, decision or UNREVIEWED


class Planner:
    """The documents of a review set copied into `scratch`, in bundle order."""

    def __init__(self, session: Session, scratch: Scratch) -> None:
        self.session = session
        self.scratch = scratch
        self.out: Spilled[PlannedDocument] = Spilled()

    def documents(self) -> Spilled[PlannedDocument]:
        self._settle_holders()
        self._add_missing_conversations()
        self._add_messages_of_empty_conversations()
        units = self.scratch.db.execute(
            "SELECT sort_key, 0, seq, id FROM brief WHERE role = ? AND in_review = 1 AND holder IS NULL"
            " UNION ALL"
            " SELECT COALESCE(MIN(CASE WHEN role = ? THEN sort_key END), MIN(sort_key)), 1, MIN(seq), chat_key"
            " FROM brief WHERE chat_key IS NOT NULL GROUP BY chat_key"
            " ORDER BY 1, 2, 3",
            (ITEM, MESSAGE),
        )
        for _, chat, _, key in units:
            if chat:
                self._chat(key)
            else:
                self._family(next(self.scratch.rows("SELECT body FROM brief WHERE id = ?", key)))
        return self.out

    def _settle_holders(self) -> None:
        """Each item's holder: the nearest ancestor that is itself in the review set."""
        query = "SELECT id, parent_id FROM brief WHERE id > ? AND role = 'item' AND parent_id IS NOT NULL ORDER BY id LIMIT ?"
        for batch in self.scratch.keyed_batches(query):
            settled = [(holder, item_id) for item_id, parent in batch if (holder := self._holder(parent)) is not None]
            self.scratch.db.executemany("UPDATE brief SET holder = ? WHERE id = ?", settled)

    def _holder(self, parent: str | None) -> str | None:
        hops = 0
        while parent and hops < 64:
            if self.scratch.in_review(parent):
                return parent
            parent = self._parent_outside(parent)
            hops += 1
        return None

    def _parent_outside(self, item_id: str) -> str | None:
        row = self.scratch.db.execute("SELECT parent_id FROM outside WHERE id = ?", (item_id,)).fetchone()
        if row is not None:
            return row[0]
        parent = self.session.scalar(select(ItemRow.parent_id).where(ItemRow.id == item_id))
        self.scratch.db.execute("INSERT INTO outside VALUES (?, ?)", (item_id, parent))
        return parent

    def _add_missing_conversations(self) -> None:
        """The conversations that review-set messages name but the review set does not hold."""
        query = (
            "SELECT DISTINCT chat_key FROM brief m WHERE chat_key > ? AND role = 'message'"
            " AND NOT EXISTS (SELECT 1 FROM brief c WHERE c.id = m.chat_key AND c.role = 'conversation') ORDER BY chat_key LIMIT ?"
        )
        for batch in self.scratch.keyed_batches(query):
            for key, brief in briefs(self.session, [key for key, in batch]).items():
                self.scratch.add_briefs([(brief, None)], in_review=False, chat_key=key)

    def _add_messages_of_empty_conversations(self) -> None:
        """A conversation put in the review set on its own brings every message it holds."""
        query = (
            "SELECT id FROM brief c WHERE id > ? AND role = 'conversation' AND in_review = 1"
            " AND NOT EXISTS (SELECT 1 FROM brief m WHERE m.chat_key = c.id AND m.role = 'message') ORDER BY id LIMIT ?"
        )
        for batch in self.scratch.keyed_batches(query):
            for (conversation_id,) in batch:
                ids = self.session.scalars(
                    select(ItemRow.id).where(ItemRow.parent_id == conversation_id, ItemRow.kind == Kind.CHAT_MESSAGE.value)
                    .order_by(ItemRow.created_at, ItemRow.id)
                ).yield_per(BATCH)
                for chunk in batched(ids):
                    found = briefs(self.session, chunk)
                    self.scratch.add_briefs([(found[i], None) for i in chunk if i in found], in_review=False, chat_key=conversation_id)

    def _children(self, item: _Brief) -> list[tuple[_Brief, Decision]]:
        return list(self.scratch.rows("SELECT body FROM brief WHERE holder = ? ORDER BY locator, id", item.id))

    def _family(self, entry: tuple[_Brief, Decision]) -> None:
        self._single(*entry)
        for child in self._children(entry[0]):
            self._family(child)

    def _single(self, item: _Brief, decision: Decision) -> None:
        tally = self.scratch.tally(item.id)
        kind = "image" if item.kind is Kind.IMAGE or item.mime_type.startswith("image/") else item.kind.value
        self.out.append(
            PlannedDocument(
                number=len(self.out) + 1,
                kind=kind,
                title=item.title or item.filename or item.id,
                date=item.date,
                date_offset_minutes=item.date_offset_minutes,
                custodians=list(item.custodians),
                decision=decision.decision,
                reviewed=decision.reviewed,
                exemptions=_codes(decision.exemptions, tally),
                sources=[item.source()],
                **(self._marked([item.id], [tally]) if tally else {}),
            )
        )

    def _chat(self, key: str) -> None:
        conversation = next((brief for brief, _ in self.scratch.rows(
            "SELECT body FROM brief WHERE chat_key = ? AND role = 'conversation'", key)), None)
        for day, messages in self._days(key):
            self._chat_day(conversation, day, messages)

    def _days(self, key: str) -> Iterator[tuple[str, list[tuple[_Brief, Decision]]]]:
        """A conversation's messages a local day at a time, days in order of their first message."""
        query = (
            "SELECT body, day FROM (SELECT body, day, sort_key, position, seq, MIN(sort_key) OVER (PARTITION BY day) AS first"
            " FROM brief WHERE chat_key = ? AND role = 'message') ORDER BY first, day, sort_key, position, seq"
        )
        day, messages = "", []
        for body, row_day in self.scratch.db.execute(query, (key,)):
            if messages and row_day != day:
                yield day, messages
                messages = []
            day = row_day
            messages.append(_entry(body))
        if messages:
            yield day, messages

    def _chat_day(self, conversation: _Brief | None, day: str, day_messages: list[tuple[_Brief, Decision]]) -> None:
        released = [(m, d) for m, d in day_messages if d.decision not in NOT_RELEASED]
        released_ids = {m.id for m, _ in released}
        withheld = {m.id for m, _ in day_messages if m.id not in released_ids}
        exemptions: list[str] = []
        marked: list[str] = []
        tallies: list[MarkerTally] = []
        for message, decision in day_messages:
            tally = self.scratch.tally(message.id)
            exemptions = _codes(exemptions + decision.exemptions, tally)
            if tally is not None and message.id not in withheld:
                marked.append(message.id)
                tallies.append(tally)
        reviewed = all(d.reviewed for _, d in day_messages)
        if not released:
            outcome = "withhold"
        elif withheld or marked:
            outcome = "release_in_part"
        else:
            outcome = "release"
        messages = [m for m, _ in day_messages]
        custodians = sorted({c for m in messages for c in m.custodians} | set(conversation.custodians if conversation else ()))
        items = ([conversation] if conversation else []) + messages
        title = (conversation.title if conversation else "") or "Chat"
        self.out.append(
            PlannedDocument(
                number=len(self.out) + 1,
                kind="chat",
                title=f"{title} ({day})",
                date=messages[0].date,
                date_offset_minutes=messages[0].date_offset_minutes,
                custodians=custodians,
                decision=outcome,
                reviewed=reviewed,
                exemptions=exemptions,
                sources=[i.source() for i in items],
                **self._marked(marked, tallies),
                withheld_ids=frozenset(withheld),
                day=day,
            )
        )
        for message, _ in released:
            for child in self._children(message):
                self._family(child)

    def _marked(self, item_ids: list[str], tallies: list[MarkerTally]) -> dict[str, object]:
        """A planned document's marker fields, for the marked items among its sources."""
        codes: dict[str, int] = {}
        for tally in tallies:
            for code, count in tally.codes.items():
                codes[code] = codes.get(code, 0) + count
        return {"marker_codes": codes, "marked_ids": tuple(item_ids), "markers_digest": "".join(t.digest for t in tallies)}


def _codes(exemptions: list[str], tally: MarkerTally | None) -> list[str]:
    seen: list[str] = []
    for code in [*exemptions, *(tally.codes if tally else ())]:
        if code and code not in seen:
            seen.append(code)
    return seen
