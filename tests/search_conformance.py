"""One conformance table for every search backend: a small generated corpus and (query, expected ids).

tantivy runs it always; a real Elasticsearch runs it when DISCLOSE_ES_URL is set; the Elasticsearch
Query DSL each query compiles to is kept as a golden file (tests/golden/es_*.json).
"""

from __future__ import annotations

from datetime import datetime, timezone

from disclose.items import Item, Kind, Participants, Person


def _item(key: str, text: str, *, kind: Kind = Kind.EMAIL, title: str = "", custodians: tuple[str, ...] = ("Alice Smith",),
          date: tuple[int, int, int] = (2021, 3, 15), family: str | None = None, parent: str | None = None,
          sender: Person | None = None, to: tuple[Person, ...] = (), cc: tuple[Person, ...] = (), filename: str = "",
          duplicate_of: str | None = None, metadata: dict | None = None) -> Item:
    return Item(
        id=key, kind=kind, family_id=family or key, parent_id=parent, title=title, filename=filename,
        custodians=list(custodians), date=datetime(*date, 10, 0, tzinfo=timezone.utc), text=text,
        participants=Participants(sender=[sender] if sender else [], to=list(to), cc=list(cc)),
        content_hash=f"hash-{duplicate_of or key}", duplicate_of=duplicate_of, metadata=metadata or {},
    )


ALICE = Person("Alice Smith", "alice@council.gov.uk")
BOB = Person("Bob Jones", "bob.jones@council.gov.uk")
CARA = Person("Cara Núñez", "cara@example.org")


def corpus() -> list[Item]:
    return [
        _item("e01", "The housing benefit review is due next week. Please check the rent arrears figures.",
              title="Housing benefit review", sender=ALICE, to=(BOB,), date=(2021, 3, 1),
              metadata={"source_kind": "imap", "thread_id": "t-housing", "has_attachment": True, "lang": "en"}),
        _item("a01", "Attached contract for the housing repairs. Contractor: Acme Ltd.", kind=Kind.ATTACHMENT,
              title="contract.pdf", filename="contract.pdf", family="e01", parent="e01", date=(2021, 3, 1),
              metadata={"source_kind": "imap", "lang": "en"}),
        _item("e02", "Rent arrears are rising; the benefit cap hurts housing associations.",
              title="Arrears update", sender=BOB, to=(ALICE,), cc=(CARA,), custodians=("Bob Jones",), date=(2021, 3, 20),
              metadata={"source_kind": "imap", "thread_id": "t-housing", "lang": "en"}),
        _item("e03", "The café on the high street asked about business rates. Managers managed the managing of it.",
              title="Café rates", sender=CARA, to=(BOB,), custodians=("Bob Jones",), date=(2021, 4, 2),
              metadata={"source_kind": "pst", "lang": "en"}),
        _item("c01", "can we talk about the womens refuge funding", kind=Kind.CHAT_MESSAGE, sender=Person("Dan", "+447700900123"),
              custodians=("Dan Brown",), date=(2022, 1, 10), family="conv1", metadata={"source_kind": "whatsapp", "lang": "en"}),
        _item("c02", "the woman from the refuge called about funding again", kind=Kind.CHAT_MESSAGE, sender=Person("Eve", ""),
              custodians=("Dan Brown",), date=(2022, 1, 11), family="conv1", metadata={"source_kind": "whatsapp", "lang": "en"}),
        _item("f01", "Minutes: the committee agreed the contracts for housing. Contractual terms attached.", kind=Kind.FILE,
              title="Committee minutes", filename="minutes 2020.docx", date=(2020, 12, 5), custodians=("Alice Smith",),
              metadata={"source_kind": "file", "lang": "en"}),
        _item("f02", "Minutes: the committee agreed the contracts for housing. Contractual terms attached.", kind=Kind.FILE,
              title="Committee minutes", filename="minutes 2020 copy.docx", date=(2020, 12, 5), custodians=("Bob Jones",),
              duplicate_of="f01", metadata={"source_kind": "file", "lang": "en"}),
        _item("f03", "Le conseil municipal a voté. Rendez-vous à la mairie.", kind=Kind.FILE, title="Procès-verbal",
              filename="pv.txt", date=(2021, 6, 30), custodians=("Cara Núñez",), metadata={"source_kind": "file", "lang": "fr"}),
        _item("e04", "Hosuing complaint: the tenant says the housing officer never replied. text:foo^10 AND id:[a TO z]",
              title="Complaint", sender=BOB, to=(CARA,), custodians=("Bob Jones",), date=(2021, 3, 31),
              metadata={"source_kind": "imap", "lang": "en"}),
    ]


# (query, expected ids: duplicates hidden, which is the default)
CASES: list[tuple[str, set[str]]] = [
    ("housing", {"e01", "a01", "e02", "f01", "e04"}),
    ("HOUSING", {"e01", "a01", "e02", "f01", "e04"}),
    ("cafe", {"e03"}),
    ("café", {"e03"}),
    ("housing benefit", {"e01", "e02"}),
    ("housing AND benefit", {"e01", "e02"}),
    ("refuge OR arrears", {"e01", "e02", "c01", "c02"}),
    ("housing NOT benefit", {"a01", "f01", "e04"}),
    ("NOT housing", {"e03", "c01", "c02", "f03"}),
    ("(rent OR cafe) AND NOT arrears", {"e03"}),
    ('"rent arrears"', {"e01", "e02"}),
    ('"arrears rent"', set()),
    ("rent W/1 arrears", {"e01", "e02"}),
    ("arrears W/1 rent", {"e01", "e02"}),
    ("benefit W/3 review", {"e01"}),
    ("review W/3 benefit", {"e01"}),
    # W/N boundaries in both orders: e01 has housing ten words before rent, e02 has rent eight before housing
    ("housing W/10 rent", {"e01", "e02"}),
    ("rent W/9 housing", {"e02"}),
    ("housing W/8 rent", {"e02"}),
    ("rent W/7 housing", set()),
    # a word near itself: two occurrences of it within N words, not one
    ("the W/5 the", {"e03", "e04", "c02", "f01"}),
    ("the W/10 the", {"e01", "e03", "e04", "c02", "f01"}),
    ("benefit PRE/3 housing", {"e02"}),
    ("housing PRE/3 benefit", {"e01"}),
    ("review PRE/3 benefit", set()),
    ('"rent arrears" W/4 benefit', {"e02"}),
    ('(rent OR cap) W/2 (arrears OR hurts)', {"e01", "e02"}),
    ("refuge W/4 fund*", {"c01", "c02"}),
    ("housing~1 W/3 complaint", {"e04"}),
    ("contract*", {"a01", "f01"}),
    ("wom?n", {"c02"}),
    ("wom?n*", {"c01", "c02"}),
    ("hosuing", {"e04"}),
    ("hosuing~1", {"e01", "a01", "e02", "f01", "e04"}),
    ("refudge~2", {"c01", "c02"}),
    ("manage~stem", {"e03"}),
    ("manage", set()),
    ("custodian:\"Bob Jones\"", {"e02", "e03", "e04"}),
    ("custodian:bob", {"e02", "e03", "e04"}),
    ("from:alice@council.gov.uk", {"e01"}),
    ("from:bob", {"e02", "e04"}),
    ("to:alice", {"e02"}),
    ("cc:cara", {"e02"}),
    ("participant:cara@example.org", {"e02", "e03", "e04"}),
    ("subject:arrears", {"e02"}),
    ("filename:contract", {"a01"}),
    ('filename:"minutes 2020"', {"f01"}),
    ("kind:chat_message", {"c01", "c02"}),
    ("kind:attachment housing", {"a01"}),
    ("source:pst", {"e03"}),
    ("thread:t-housing", {"e01", "e02"}),
    ("has:attachment", {"e01"}),
    ("lang:fr", {"f03"}),
    ("mairie", {"f03"}),
    ("conseil AND lang:fr", {"f03"}),
    ("date:2021-03-01..2021-03-31", {"e01", "a01", "e02", "e04"}),
    ("date:2021-03-20", {"e02"}),
    ("date>=2022-01-01", {"c01", "c02"}),
    ("date>2022-01-10", {"c02"}),
    ("date<2021-01-01", {"f01"}),
    ("date<=2021-03-01", {"e01", "a01", "f01"}),
    ("housing date>=2021-03-15 custodian:bob", {"e02", "e04"}),
    ("custodian:(alice OR dan) refuge", {"c01", "c02"}),
    # user text is never backend syntax
    ("*:*", set()),
    ("text:foo^10 AND id:[a TO z]", {"e04"}),
    ("id:e01", set()),
]
