"""The review set: hits with their families and chat context, duplicates recorded once, search records, decisions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from disclose.items import Kind
from disclose.store.records import ExceptionEntry, record_exception
from request_fixtures import make_item, store_items


@pytest.fixture
def corpus(services):  # type: ignore[no-untyped-def]
    email = make_item("mail-1.eml", "The leisure centre budget is attached.", kind=Kind.EMAIL, title="Budget")
    attachment = make_item("budget.xlsx", "Rows of figures", kind=Kind.ATTACHMENT, parent=email)
    copy = make_item("mail-1-copy.eml", "The leisure centre budget is attached.", kind=Kind.EMAIL, custodian="bob",
                     duplicate_of=email.id)
    other = make_item("carol.txt", "leisure centre notes", custodian="carol")
    broken = make_item("broken.pdf", "", custodian="alice")
    conversation = make_item("chat.txt", "Alice, Bob", kind=Kind.CHAT_CONVERSATION, title="Team chat")
    messages = []
    for position in range(1, 8):
        day = 3 if position <= 5 else 4  # two days of chat
        text = "the leisure centre roof leaks" if position == 3 else f"message {position}"
        messages.append(
            make_item(f"chat.txt/{position}", text, kind=Kind.CHAT_MESSAGE, parent=conversation,
                      date=datetime(2025, 3, day, 9, position, tzinfo=timezone.utc),
                      metadata={"conversation_id": conversation.id, "position": position})
        )
    store_items(services, [email, attachment, copy, other, broken, conversation, *messages])
    with services.store.session() as session:
        record_exception(session, ExceptionEntry(path="/share/broken.pdf", stage="extract", reason="encrypted PDF", item_id=broken.id))
    return {"email": email, "attachment": attachment, "copy": copy, "other": other, "messages": messages, "broken": broken}


def _ids(review_list: dict) -> dict[str, tuple[str, str]]:
    return {i["item_id"]: (i["reason"], i["decision"]) for i in review_list["items"]}


def test_add_hits_families_duplicates_and_context(cli, corpus):
    assert cli("request", "create", "--type", "foi", "--ref", "FOI-9", "--received", "2025-06-02").exit_code == 0
    assert cli("request", "scope", "FOI-9", "--custodian", "alice", "--custodian", "bob", "--custodian", "dave").exit_code == 0
    added = cli("request", "add", "FOI-9", "leisure", "--context", "1", "--json")
    assert added.exit_code == 0, added.stderr
    items = _ids(cli("review", "list", "FOI-9", "--json").json())
    m = corpus["messages"]
    assert items[corpus["email"].id] == ("hit", "")
    assert items[corpus["attachment"].id] == ("family", "")
    assert items[corpus["copy"].id] == ("duplicate", "duplicate")  # recorded, not to be reviewed again
    assert items[m[2].id] == ("hit", "")
    assert items[m[1].id] == ("context", "") and items[m[3].id] == ("context", "")
    assert m[0].id not in items and m[4].id not in items
    assert corpus["other"].id not in items  # carol is outside the scope
    record = added.json()["records"][0]
    assert record["hits_in_scope"] == 3 and record["per_custodian"] == {"alice": 2, "bob": 1}
    assert record["sources_not_searched"] == [{"source": "custodian:dave", "why": "nothing has been collected for this custodian"}]
    assert [f["reason"] for f in record["extraction_failures"]] == ["encrypted PDF"]


def test_conversation_day_and_the_printed_record(cli, corpus):
    cli("request", "create", "--type", "foi", "--ref", "FOI-D", "--received", "2025-06-02")
    assert cli("request", "add", "FOI-D", "roof", "--day").exit_code == 0
    items = _ids(cli("review", "list", "FOI-D", "--json").json())
    m = corpus["messages"]
    assert {m[i].id for i in range(5)} <= set(items)  # the whole of 3 March
    assert m[5].id not in items and m[6].id not in items  # not 4 March
    record = cli("request", "record", "FOI-D", "--json").json()
    assert [r["query"] for r in record["searches"]] == ["roof"]
    assert record["searches"][0]["author"] and record["searches"][0]["hits"] == 1
    printed = cli("request", "record", "FOI-D")
    assert "'roof'" in printed.stdout and "encrypted PDF" in printed.stdout


def test_decisions_are_per_request(cli, corpus):
    email = corpus["email"].id
    for ref in ("FOI-1", "FOI-2"):
        cli("request", "create", "--type", "foi", "--ref", ref, "--received", "2025-06-02")
        cli("request", "add", ref, "budget")
    assert cli("review", "decide", "FOI-1", email, "--decision", "release", "--json").exit_code == 0
    withheld = cli("review", "decide", "FOI-2", email, "--decision", "withhold", "--exemption", "s43(2)", "--json")
    assert withheld.exit_code == 0 and withheld.json()["exemptions"] == ["s43(2)"]
    assert _ids(cli("review", "list", "FOI-1", "--json").json())[email] == ("hit", "release")
    assert _ids(cli("review", "list", "FOI-2", "--json").json())[email] == ("hit", "withhold")
    assert cli("review", "decide", "FOI-2", email, "--decision", "withhold").exit_code == 2  # needs its exemption
    assert cli("review", "decide", "FOI-2", email, "--decision", "withhold", "--exemption", "13").exit_code == 2  # EIR code
    nxt = cli("review", "next", "FOI-1", "--json").json()
    assert nxt["item"]["item_id"] == corpus["attachment"].id
    cli("review", "decide", "FOI-1", corpus["attachment"].id, "--decision", "not_held")
    assert cli("review", "next", "FOI-1", "--json").json()["item"] is None


def test_sar_subject_search(cli, services, corpus):
    extra = make_item("complaint.txt", "Complaint from Jane Doe about the leisure centre", custodian="alice")
    store_items(services, [extra])
    cli("request", "create", "--type", "sar", "--ref", "SAR-9", "--received", "2025-06-02")
    assert cli("request", "scope", "SAR-9", "--name", "Jane Doe", "--email", "jane@example.org").exit_code == 0
    added = cli("request", "add", "SAR-9", "--subject", "--json")
    assert added.exit_code == 0, added.stderr
    assert extra.id in _ids(cli("review", "list", "SAR-9", "--json").json())
    assert cli("request", "scope", "FOI-X", "--name", "x").exit_code == 2  # no such request
