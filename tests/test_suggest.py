"""Suggested redactions: UK personal data and people from the identity table; nothing redacted until accepted."""

from __future__ import annotations

from datetime import date

from indexer.identities import link
from search_api.redaction import accepted_markers
from search_api.requests import create_request, update_scope, SubjectIdentifiers
from request_fixtures import make_item, put_in_review_set, store_items

TEXT = (
    "Please call Jane Doe on 07700 900123 or email jane.doe@example.org. "
    "NI number AB 12 34 56 C, NHS number 943 476 5919 (not 943 476 5918). "
    "She lives at 1 High St, London SW1A 1AA. Pay sort code 12-34-56 account 12345678 "
    "or IBAN GB82 WEST 1234 5698 7654 32. The officer was Bob Jones."
)


def _suggested(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m["text"]: m["reason"] for m in result["created"]}


def test_foi_suggestions_cover_uk_personal_data_and_known_people(services, cli):
    item = make_item("letter.txt", TEXT)
    store_items(services, [item])
    with services.store.session() as session:
        link(session, "Bob Jones", [("email", "bob.jones@council.gov.uk")])
        create_request(session, ref="FOI-S", kind="foi", received=date(2025, 6, 2), actor="officer")
    put_in_review_set(services, "FOI-S", [item])
    result = cli("suggest", "FOI-S", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    found = _suggested(data)
    for expected in ["07700 900123", "jane.doe@example.org", "AB 12 34 56 C", "943 476 5919", "SW1A 1AA",
                     "12-34-56 account 12345678", "GB82 WEST 1234 5698 7654 32", "Bob Jones"]:
        assert expected in found, (expected, found)
    assert "943 476 5918" not in found  # fails the NHS checksum
    assert data["code"] == "s40(2)"
    assert all(m["status"] == "suggested" and m["origin"] == "suggestion" for m in data["created"])
    with services.store.session() as session:
        assert accepted_markers(session, "FOI-S", item.id) == []  # nothing redacted silently
    first, second = data["created"][0]["id"], data["created"][1]["id"]
    assert cli("markers", "accept", str(first), "--json").json()["status"] == "accepted"
    assert cli("markers", "reject", str(second), "--json").json()["status"] == "rejected"
    with services.store.session() as session:
        assert [m.id for m in accepted_markers(session, "FOI-S", item.id)] == [first]
    again = cli("suggest", "FOI-S", "--json").json()
    assert again["created"] == []  # a rejected suggestion is not made again


def test_sar_suggests_third_parties_only(services, cli):
    item = make_item("case-note.txt", "Jane Doe (07700 900123) complained about Bob Jones, bob.jones@council.gov.uk.")
    store_items(services, [item])
    with services.store.session() as session:
        link(session, "Jane Doe", [("phone", "07700 900123")])
        link(session, "Bob Jones", [("email", "bob.jones@council.gov.uk")])
        create_request(session, ref="SAR-S", kind="sar", received=date(2025, 6, 2), actor="dpo")
        update_scope(session, "SAR-S", actor="dpo", subject=SubjectIdentifiers(names=["Jane Doe"]))
    put_in_review_set(services, "SAR-S", [item])
    data = cli("suggest", "SAR-S", "--json").json()
    found = _suggested(data)
    assert set(found) == {"Bob Jones", "bob.jones@council.gov.uk"}  # the subject's own name and phone stay
    assert data["code"] == "Sch2 Para16" and data["skipped_data_subject"] == 2
