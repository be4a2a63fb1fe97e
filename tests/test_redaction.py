"""Redaction markers: offsets into the immutable text, codes checked against the request's regime."""

from __future__ import annotations

from datetime import date

import pytest

from disclose.items import Kind
from search_api import redaction
from search_api.exemptions import canonical_code, UnknownCode
from search_api.clock import RequestType
from search_api.requests import CaseworkError, create_request
from request_fixtures import make_item, put_in_review_set, store_items


@pytest.fixture
def foi(services):  # type: ignore[no-untyped-def]
    one = make_item("memo.txt", "Meeting with John Smith. JOHN SMITH agreed; Johnsmith did not. john smith again.")
    two = make_item("note.txt", "Nothing about him here, only Smithson.")
    other = make_item("other.txt", "John Smith is also here but not in the request.")
    store_items(services, [one, two, other])
    with services.store.session() as session:
        create_request(session, ref="FOI-R", kind="foi", received=date(2025, 6, 2), actor="officer")
    put_in_review_set(services, "FOI-R", [one, two])
    return one, two, other


def test_redact_marks_every_whole_word_occurrence_case_insensitively(services, cli, foi):
    one, two, other = foi
    result = cli("redact", "FOI-R", "--text", "john smith", "--code", "s40(2)", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["occurrences"] == 3 and data["items_searched"] == 2
    spans = [(m["item_id"], m["text"]) for m in data["created"]]
    assert spans == [(one.id, "John Smith"), (one.id, "JOHN SMITH"), (one.id, "john smith")]
    first = data["created"][0]
    assert one.text[first["start"]:first["end"]] == "John Smith"
    assert first["text_version"] == one.text_version and first["code"] == "s40(2)" and first["status"] == "accepted"
    listed = cli("markers", "list", "FOI-R", "--json").json()
    assert listed["total"] == 3 and {m["item_id"] for m in listed["markers"]} == {one.id}  # never the item outside the request
    again = cli("redact", "FOI-R", "--text", "John Smith", "--code", "s40(2)", "--json").json()
    assert again["created"] == [] and again["already_marked"] == 3


def test_a_code_from_another_regime_is_refused_naming_the_valid_ones(services, cli, foi):
    result = cli("redact", "FOI-R", "--text", "John Smith", "--code", "12(5)(e)")
    assert result.exit_code == 2
    assert "s40(2)" in result.stderr and "s43(2)" in result.stderr


def test_one_item_edit_and_remove(services, cli, foi):
    one, two, _ = foi
    made = cli("redact", "FOI-R", "--text", "Smithson", "--code", "S.40(2)", "--item", two.id, "--json").json()
    assert len(made["created"]) == 1 and made["code"] == "s40(2)"
    marker_id = made["created"][0]["id"]
    edited = cli("markers", "edit", str(marker_id), "--code", "s43(2)", "--reason", "supplier", "--end", str(two.text.index("Smithson") + 5), "--json")
    assert edited.exit_code == 0 and edited.json()["text"] == "Smith" and edited.json()["code"] == "s43(2)"
    assert cli("markers", "edit", str(marker_id), "--end", "9999").exit_code == 2
    assert cli("markers", "remove", str(marker_id), "--json").exit_code == 0
    assert cli("markers", "list", "FOI-R", "--item", two.id, "--json").json()["total"] == 0
    assert cli("markers", "remove", "424242").exit_code == 2


def test_codes_per_regime():
    assert canonical_code(RequestType.EIR, "reg 12(5)(e)") == "12(5)(e)"
    assert canonical_code(RequestType.FOISA, "section 38(1)(b)") == "s38(1)(b)"
    assert canonical_code(RequestType.SAR, "Schedule 2 paragraph 16") == "Sch2 Para16"
    with pytest.raises(UnknownCode):
        canonical_code(RequestType.FOISA, "s43(2)")  # FOIA, not FOISA
    with pytest.raises(UnknownCode):
        canonical_code(RequestType.FOI, "s45")


def test_occurrences_of_non_word_text_are_not_bounded():
    assert redaction.occurrences("a@b.org, x a@b.org.", "a@b.org") == [(0, 7), (11, 18)]
    assert redaction.occurrences("£1,000 and £1,000", "£1,000") == [(0, 6), (11, 17)]
