"""From a request's review set, decisions and accepted markers to the ordered list of schedule entries.

The tables are read directly so that bundles do not depend on the review services' code. An item
in the review set with no decision yet is released (in part, when it carries accepted markers) and
shown as "not yet reviewed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.items import Item, Kind
from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
from disclose.store.records import children_of, load_item, load_items
from search_api.bundle.model import DECISIONS, NOT_RELEASED, BundleError, Marker, PlannedDocument


@dataclass(frozen=True)
class Decision:
    decision: str
    reviewed: bool
    exemptions: list[str]


@dataclass
class Plan:
    ref: str
    request_type: str
    documents: list[PlannedDocument]
    redacted_strings: dict[str, list[str]]  # item id -> the strings its markers cover


def plan_bundle(session: Session, ref: str) -> Plan:
    request = session.scalar(select(RequestRow).where(RequestRow.ref == ref))
    if request is None:
        raise BundleError(f"no request with reference {ref!r}")
    reviews = session.scalars(select(ReviewItem).where(ReviewItem.request_id == request.id).order_by(ReviewItem.id)).all()
    if not reviews:
        raise BundleError(f"request {ref} has nothing in its review set: add items first")
    rows = session.scalars(
        select(MarkerRow).where(MarkerRow.request_id == request.id, MarkerRow.status == "accepted").order_by(MarkerRow.id)
    ).all()
    items = {item.id: item for item in load_items(session, [r.item_id for r in reviews])}
    markers = _markers(session, rows, items)
    decisions = {r.item_id: _decision(r, markers.get(r.item_id, [])) for r in reviews if r.item_id in items}
    planner = _Planner(session, items, decisions, markers)
    documents = planner.documents()
    strings: dict[str, list[str]] = {}
    for item_id, item_markers in markers.items():
        text = items[item_id].text if item_id in items else (load_item(session, item_id) or Item(item_id, Kind.FILE, "")).text
        strings[item_id] = [m.covered(text) for m in item_markers]
    return Plan(ref=ref, request_type=request.type, documents=documents, redacted_strings=strings)


def _markers(session: Session, rows: list[MarkerRow], items: dict[str, Item]) -> dict[str, list[Marker]]:
    found: dict[str, list[Marker]] = {}
    for row in rows:
        item = items.get(row.item_id) or load_item(session, row.item_id)
        if item is None:
            continue
        if row.text_version and row.text_version != item.text_version:
            raise BundleError(f"marker {row.id} on item {row.item_id} was made on a different version of its text")
        if not (0 <= row.start < row.end <= len(item.text)):
            raise BundleError(f"marker {row.id} on item {row.item_id} lies outside its text ({row.start}-{row.end})")
        found.setdefault(row.item_id, []).append(Marker(row.item_id, row.start, row.end, row.code))
    return found


def _decision(review: ReviewItem, markers: list[Marker]) -> Decision:
    exemptions = list(review.exemptions or [])
    if review.decision in DECISIONS:
        decision = review.decision
        if decision == "release" and markers:
            decision = "release_in_part"  # a marker accepted after the decision still redacts
        return Decision(decision, True, exemptions)
    return Decision("release_in_part" if markers else "release", False, exemptions)


def local_day(item: Item) -> str:
    if item.date is None:
        return "undated"
    offset = timedelta(minutes=item.date_offset_minutes or 0)
    return (item.date + offset).date().isoformat()


def _sort_key(item: Item) -> tuple[int, datetime, str]:
    return (item.date is None, item.date or datetime.max.replace(tzinfo=timezone.utc), item.title or item.filename or item.id)


class _Planner:
    def __init__(self, session: Session, items: dict[str, Item], decisions: dict[str, Decision], markers: dict[str, list[Marker]]):
        self.session = session
        self.items = items
        self.decisions = decisions
        self.markers = markers
        self.out: list[PlannedDocument] = []
        self._holders: dict[str, str | None] = {}

    def documents(self) -> list[PlannedDocument]:
        chats: dict[str, list[Item]] = {}
        conversations: dict[str, Item] = {}
        tops: list[Item] = []
        for item in self.items.values():
            if item.kind is Kind.CHAT_MESSAGE:
                chats.setdefault(item.metadata.get("conversation_id") or item.parent_id or item.id, []).append(item)
            elif item.kind is Kind.CHAT_CONVERSATION:
                conversations[item.id] = item
                chats.setdefault(item.id, [])
            elif self._is_top(item):
                tops.append(item)
        units: list[tuple[tuple, str, object]] = []
        for item in tops:
            units.append((_sort_key(item), "item", item))
        for conversation_id, messages in chats.items():
            conversation = conversations.get(conversation_id) or load_item(self.session, conversation_id)
            if not messages:
                messages = [m for m in children_of(self.session, conversation_id) if m.kind is Kind.CHAT_MESSAGE]
            key_item = conversation or (messages[0] if messages else None)
            if key_item is None:
                continue
            units.append((_sort_key(min(messages, key=_sort_key) if messages else key_item), "chat", (conversation, messages)))
        units.sort(key=lambda unit: unit[0])
        for _, kind, payload in units:
            if kind == "item":
                self._family(payload)  # type: ignore[arg-type]
            else:
                conversation, messages = payload  # type: ignore[misc]
                self._chat(conversation, messages)
        return self.out

    def _is_top(self, item: Item) -> bool:
        return self._holder(item) is None

    def _holder(self, item: Item) -> str | None:
        """The nearest ancestor that is itself in the review set: the document this one follows."""
        if item.id not in self._holders:
            parent, holder, hops = item.parent_id, None, 0
            while parent and hops < 64:
                if parent in self.items:
                    holder = parent
                    break
                parent_item = load_item(self.session, parent)
                parent = parent_item.parent_id if parent_item else None
                hops += 1
            self._holders[item.id] = holder
        return self._holders[item.id]

    def _children(self, item: Item) -> list[Item]:
        kids = [
            i for i in self.items.values()
            if i.kind not in (Kind.CHAT_MESSAGE, Kind.CHAT_CONVERSATION) and i.parent_id and self._holder(i) == item.id
        ]
        return sorted(kids, key=lambda i: (i.locator, i.id))

    def _family(self, item: Item) -> None:
        self._single(item)
        for child in self._children(item):
            self._family(child)

    def _single(self, item: Item) -> None:
        decision = self.decisions.get(item.id, Decision("release", False, []))
        markers = self.markers.get(item.id, [])
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
                exemptions=_codes(decision.exemptions, markers),
                items=[item],
                markers={item.id: markers} if markers else {},
            )
        )

    def _chat(self, conversation: Item | None, messages: list[Item]) -> None:
        days: dict[str, list[Item]] = {}
        for message in sorted(messages, key=lambda m: (_sort_key(m), m.metadata.get("position", 0))):
            days.setdefault(local_day(message), []).append(message)
        title = (conversation.title if conversation else "") or "Chat"
        for day, day_messages in days.items():
            released = [m for m in day_messages if self._decision(m).decision not in NOT_RELEASED]
            released_ids = {m.id for m in released}
            withheld = {m.id for m in day_messages if m.id not in released_ids}
            exemptions: list[str] = []
            markers: dict[str, list[Marker]] = {}
            for message in day_messages:
                exemptions = _codes(exemptions + self._decision(message).exemptions, self.markers.get(message.id, []))
                if message.id in self.markers and message.id not in withheld:
                    markers[message.id] = self.markers[message.id]
            reviewed = all(self._decision(m).reviewed for m in day_messages)
            if not released:
                decision = "withhold"
            elif withheld or markers:
                decision = "release_in_part"
            else:
                decision = "release"
            custodians = sorted({c for m in day_messages for c in m.custodians} | set(conversation.custodians if conversation else []))
            items = ([conversation] if conversation else []) + day_messages
            self.out.append(
                PlannedDocument(
                    number=len(self.out) + 1,
                    kind="chat",
                    title=f"{title} ({day})",
                    date=day_messages[0].date,
                    date_offset_minutes=day_messages[0].date_offset_minutes,
                    custodians=custodians,
                    decision=decision,
                    reviewed=reviewed,
                    exemptions=exemptions,
                    items=items,
                    markers=markers,
                    withheld_ids=withheld,
                    day=day,
                )
            )
            for message in released:
                for child in self._children(message):
                    self._family(child)

    def _decision(self, item: Item) -> Decision:
        return self.decisions.get(item.id, Decision("release", False, []))


def _codes(exemptions: list[str], markers: list[Marker]) -> list[str]:
    seen: list[str] = []
    for code in [*exemptions, *(m.code for m in markers)]:
        if code and code not in seen:
            seen.append(code)
    return seen
