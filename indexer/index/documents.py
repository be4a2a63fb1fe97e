"""What of an item goes into a search index, as plain fields any backend can take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from disclose.items import Item, Person


def _people(people: list[Person]) -> list[str]:
    return [value for person in people for value in (person.name, person.address) if value]


@dataclass
class IndexDocument:
    id: str
    kind: str
    family_id: str
    parent_id: str
    title: str
    text: str
    custodians: list[str]
    source_kind: str
    filename: str
    date: datetime | None
    sender: list[str]
    to: list[str]
    cc: list[str]
    bcc: list[str]
    thread_id: str
    content_hash: str
    is_duplicate: bool
    has_attachment: bool
    lang: str
    subject: str
    source: str
    sender_label: str = ""  # the first sender's address (or name): what the sender facet counts
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def participants(self) -> list[str]:
        return [*self.sender, *self.to, *self.cc, *self.bcc]


def document_for(item: Item) -> IndexDocument:
    meta = item.metadata
    return IndexDocument(
        id=item.id,
        kind=item.kind.value,
        family_id=item.family_id,
        parent_id=item.parent_id or "",
        title=item.title,
        text=item.text,
        custodians=list(item.custodians),
        source_kind=str(meta.get("source_kind", "")),
        filename=item.filename,
        date=item.date,
        sender=_people(item.participants.sender),
        to=_people(item.participants.to),
        cc=_people(item.participants.cc),
        bcc=_people(item.participants.bcc),
        thread_id=str(meta.get("thread_id") or meta.get("conversation_id") or ""),
        content_hash=item.content_hash,
        is_duplicate=item.duplicate_of is not None,
        has_attachment=bool(meta.get("has_attachment")),
        lang=str(meta.get("lang", "")),
        subject=str(meta.get("subject", item.title if item.kind.value == "email" else "")),
        source=item.source,
        sender_label=next(((p.address or p.name).lower() for p in item.participants.sender if p.address or p.name), ""),
    )
