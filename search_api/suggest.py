"""Suggested redactions: personal data found by presidio-analyzer (no NLP model: its no-op engine)
with UK recognisers and the names and identifiers of people in the workspace identity table.

Suggestions are markers with status "suggested": nothing is redacted until a reviewer accepts one.
For a SAR, the data subject's own identifiers are not suggested (it is their data); everything
else personal is suggested under the third-party code (DPA 2018 Sch 2 para 16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from pydantic import BaseModel
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import IbanRecognizer, NhsRecognizer
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.store.casework import MarkerRow
from disclose.store.tables import Identifier, ItemRow, Person
from search_api import audit
from search_api.clock import RequestType
from search_api.exemptions import THIRD_PARTY_CODE
from search_api.redaction import MarkerView, marker_view, review_item_ids
from search_api.requests import CaseworkError, Scope, request_row, request_type

MIN_SCORE = 0.4
PERSON_ENTITY = "KNOWN_PERSON"
LABELS = {
    "EMAIL_ADDRESS": "email address",
    "UK_PHONE": "UK phone number",
    "UK_NINO": "National Insurance number",
    "UK_NHS": "NHS number",
    "UK_POSTCODE": "postcode",
    "UK_BANK_ACCOUNT": "sort code and account number",
    "IBAN_CODE": "IBAN",
    PERSON_ENTITY: "person in the identity table",
}


def _pattern(entity: str, regex: str, score: float, context: list[str] | None = None) -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity=entity, patterns=[Pattern(entity.lower(), regex, score)], context=context or [], supported_language="en"
    )


def uk_recognisers() -> list:
    """Pattern recognisers written for UK formats; NHS numbers and IBANs use presidio's checksum-validating ones.

    (Presidio's own e-mail recogniser looks domains up in an online suffix list, so a plain pattern is used.)"""
    return [
        _pattern("EMAIL_ADDRESS", r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", 0.9),
        _pattern(
            "UK_PHONE",
            r"(?<![\w+])(?:\+44\s?\(0\)\s?|\+44\s?|0)(?:\d[\s-]?){8,9}\d(?!\d)",
            0.6,
            ["phone", "tel", "mobile", "call", "ring"],
        ),
        _pattern(
            "UK_NINO",
            r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
            0.85,
        ),
        _pattern(
            "UK_POSTCODE",
            r"\b(?:GIR\s?0AA|[A-PR-UWYZ](?:\d[A-HJKPS-UW\d]?|[A-HK-Y]\d[ABEHMNPRV-Y\d]?)\s?\d[ABD-HJLNP-UW-Z]{2})\b",
            0.6,
        ),
        _pattern(
            "UK_BANK_ACCOUNT",
            r"\b\d{2}-\d{2}-\d{2}\b(?:[\s,;:]*(?:(?:a/?c|acc(?:oun)?t)(?:\s*(?:no\.?|number))?)?[\s,;:]*\d{8})?",
            0.5,
            ["sort code", "account", "bank"],
        ),
        NhsRecognizer(),
        IbanRecognizer(),
    ]


@lru_cache(maxsize=1)
def _nlp_engine():  # type: ignore[no-untyped-def]
    # No model download: presidio's no-op engine does tokenising only and no NER.
    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]})
    return provider.create_engine()


@dataclass(frozen=True)
class KnownPerson:
    person_id: int
    display_name: str
    values: tuple[str, ...]


def known_people(session: Session) -> list[KnownPerson]:
    people = {p.id: p for p in session.scalars(select(Person))}
    values: dict[int, list[str]] = {pid: [p.display_name] for pid, p in people.items() if p.display_name}
    for identifier in session.scalars(select(Identifier)):
        values.setdefault(identifier.person_id, []).append(identifier.value)
    return [
        KnownPerson(pid, people[pid].display_name if pid in people else "", tuple(dict.fromkeys(v for v in vals if len(v.strip()) >= 3)))
        for pid, vals in values.items()
    ]


def _normal(value: str) -> str:
    """Compare identifiers loosely: case, spaces and punctuation do not matter (0770 0900 123 == 07700900123)."""
    value = value.strip().lower()
    if value.startswith("+44"):
        value = "0" + value[3:]
    return re.sub(r"[^a-z0-9@]", "", value)


def _value_pattern(value: str) -> str:
    """Identity-table values are normalised (E.164 phones, folded names): match the ways text writes them."""
    digits = re.fullmatch(r"\+(\d{7,15})", value)
    if digits:
        forms = [digits.group(1)]
        if forms[0].startswith("44"):
            forms.append("0" + forms[0][2:])
        spaced = ["[\\s-]?".join(re.escape(d) for d in form) for form in forms]
        return "(?:\\+?" + "|".join(spaced) + ")"
    return r"\s+".join(re.escape(part) for part in value.split())


def _people_recogniser(people: list[KnownPerson]) -> PatternRecognizer | None:
    values = sorted({v for p in people for v in p.values}, key=len, reverse=True)
    if not values:
        return None
    alternatives = "|".join(_value_pattern(v) for v in values)
    regex = rf"(?<!\w)(?:{alternatives})(?!\w)"
    return PatternRecognizer(
        supported_entity=PERSON_ENTITY, patterns=[Pattern("known_person", regex, 0.85)], global_regex_flags=re.IGNORECASE,
        supported_language="en",
    )


def analyzer_for(people: list[KnownPerson]) -> AnalyzerEngine:
    registry = RecognizerRegistry(supported_languages=["en"])
    for recogniser in uk_recognisers():
        registry.add_recognizer(recogniser)
    known = _people_recogniser(people)
    if known is not None:
        registry.add_recognizer(known)
    return AnalyzerEngine(registry=registry, nlp_engine=_nlp_engine(), supported_languages=["en"])


def _subject_values(session: Session, scope: Scope, people: list[KnownPerson]) -> set[str]:
    """The data subject's identifiers, widened with everything the identity table links to them."""
    own = {_normal(v) for v in scope.subject.all_values() if v.strip()}
    for person in people:
        if own & {_normal(v) for v in person.values}:
            own |= {_normal(v) for v in person.values}
    return own


def _best_spans(results: Iterable[RecognizerResult]) -> list[RecognizerResult]:
    """Drop overlaps, keeping the higher score (then the longer span)."""
    chosen: list[RecognizerResult] = []
    for result in sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start)):
        if all(result.end <= c.start or result.start >= c.end for c in chosen):
            chosen.append(result)
    return sorted(chosen, key=lambda r: r.start)


class SuggestResult(BaseModel):
    ref: str
    code: str
    items_scanned: int
    created: list[MarkerView]
    by_entity: dict[str, int]
    skipped_data_subject: int
    already_marked: int


def suggest(session: Session, ref: str, *, actor: str, item_id: str | None = None) -> SuggestResult:
    row = request_row(session, ref)
    kind = request_type(row)
    code = THIRD_PARTY_CODE[kind]
    scope = Scope.model_validate(row.scope or {})
    targets = review_item_ids(session, row)
    if item_id is not None:
        if item_id not in targets:
            raise CaseworkError(f"item {item_id} is not in the review set of {ref}")
        targets = [item_id]
    if not targets:
        raise CaseworkError(f"the review set of {ref} is empty; add items first with `disclose request add {ref} QUERY`")
    people = known_people(session)
    analyzer = analyzer_for(people)
    subject = _subject_values(session, scope, people) if kind is RequestType.SAR else set()
    created: list[MarkerRow] = []
    by_entity: dict[str, int] = {}
    skipped = already = 0
    for target in targets:
        item = session.get(ItemRow, target)
        if item is None or not item.text:
            continue
        existing = {
            (m.start, m.end)
            for m in session.scalars(select(MarkerRow).where(MarkerRow.request_id == row.id, MarkerRow.item_id == target))
        }
        results = analyzer.analyze(item.text, language="en", score_threshold=MIN_SCORE)
        for result in _best_spans(results):
            found = item.text[result.start : result.end]
            if subject and _normal(found) in subject:
                skipped += 1
                continue
            if (result.start, result.end) in existing:
                already += 1  # already marked, or a rejected suggestion: not suggested again
                continue
            marker = MarkerRow(
                request_id=row.id, item_id=target, text_version=item.text_version, start=result.start, end=result.end,
                code=code, reason=f"suggested: {LABELS.get(result.entity_type, result.entity_type)}",
                status="suggested", origin="suggestion", author=actor,
            )
            session.add(marker)
            created.append(marker)
            by_entity[result.entity_type] = by_entity.get(result.entity_type, 0) + 1
    session.flush()
    audit.record(session, actor, "redact.suggest", ref, {"code": code, "items": len(targets), "suggested": len(created), "by_entity": by_entity})
    return SuggestResult(
        ref=ref, code=code, items_scanned=len(targets), created=[marker_view(session, m, ref) for m in created],
        by_entity=by_entity, skipped_data_subject=skipped, already_marked=already,
    )
