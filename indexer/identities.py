"""The workspace identity table: one person known by many names, numbers, addresses and handles.

Search (`participant:`) and subject access searches expand a value to every identifier of the
person it belongs to, so "Jane Doe", "+44 7700 900123" and "jane@example.org" find the same messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.store.tables import Identifier, Person

DEFAULT_REGION = "GB"
KINDS = ("name", "email", "phone", "handle")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]{6,}$")


@dataclass(frozen=True)
class IdentifierValue:
    kind: str
    value: str  # normalised


@dataclass
class PersonRecord:
    id: int
    display_name: str
    identifiers: list[IdentifierValue] = field(default_factory=list)


def normalise_identifier(kind: str, value: str) -> str:
    """The form an identifier is stored and compared in: lower-case email, E.164 phone, bare handle."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        try:
            number = phonenumbers.parse(value, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return re.sub(r"[^\d+]", "", value)
        if not phonenumbers.is_possible_number(number):
            return re.sub(r"[^\d+]", "", value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == "handle":
        return value.lstrip("@").lower()
    if kind == "name":
        return " ".join(value.split()).casefold()
    return value


def guess_kind(value: str) -> str:
    """What a bare value most likely is: an email, a phone number, a handle or a name."""
    value = value.strip()
    if "@" in value and not value.startswith("@") and "." in value.split("@", 1)[1]:
        return "email"
    if _PHONE_LIKE.match(value) and sum(c.isdigit() for c in value) >= 6:
        return "phone"
    if value.startswith("@"):
        return "handle"
    return "name"


def _find(session: Session, kind: str, value: str) -> Identifier | None:
    return session.scalars(select(Identifier).where(Identifier.kind == kind, Identifier.value == value)).first()


def link(session: Session, display_name: str, identifiers: list[tuple[str, str]]) -> int:
    """Record that all `identifiers` ((kind, value) pairs) belong to one person; returns the person id.

    An identifier already linked to someone makes that person the one extended, so adding a
    number to an existing email merges rather than duplicates. The display name is always an
    identifier too.
    """
    wanted = [(kind, normalise_identifier(kind, value)) for kind, value in identifiers if value.strip()]
    if display_name.strip():
        wanted.append(("name", normalise_identifier("name", display_name)))
    owners = sorted({found.person_id for kind, value in wanted if (found := _find(session, kind, value)) is not None})
    if owners:
        person_id = owners[0]  # the oldest record absorbs the others
    else:
        person = Person(display_name=display_name.strip() or (wanted[0][1] if wanted else ""))
        session.add(person)
        session.flush()
        person_id = person.id
    for merged_id in owners[1:]:
        # The values were someone else's: the two records are one person, so merge them.
        for other in session.scalars(select(Identifier).where(Identifier.person_id == merged_id)):
            other.person_id = person_id
        session.flush()
        merged = session.get(Person, merged_id)
        if merged is not None:
            session.delete(merged)
    session.flush()
    for kind, value in wanted:
        if _find(session, kind, value) is None:
            session.add(Identifier(person_id=person_id, kind=kind, value=value))
    session.flush()
    return person_id


def identifiers_for(session: Session, value: str) -> list[str]:
    """Every identifier of the person `value` belongs to (including `value` normalised); just it when unknown."""
    kind = guess_kind(value)
    candidates = {(kind, normalise_identifier(kind, value))}
    for other in ("name", "handle"):
        candidates.add((other, normalise_identifier(other, value)))
    person_id: int | None = None
    for candidate_kind, candidate in candidates:
        found = _find(session, candidate_kind, candidate)
        if found is not None:
            person_id = found.person_id
            break
    if person_id is None:
        return [normalise_identifier(kind, value)]
    rows = session.scalars(select(Identifier).where(Identifier.person_id == person_id).order_by(Identifier.id))
    return [row.value for row in rows]


def people(session: Session) -> list[PersonRecord]:
    records: dict[int, PersonRecord] = {}
    for person in session.scalars(select(Person).order_by(Person.id)):
        records[person.id] = PersonRecord(id=person.id, display_name=person.display_name)
    for row in session.scalars(select(Identifier).order_by(Identifier.id)):
        if row.person_id in records:
            records[row.person_id].identifiers.append(IdentifierValue(kind=row.kind, value=row.value))
    return list(records.values())
