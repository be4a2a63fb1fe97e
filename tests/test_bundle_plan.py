"""The order and grouping of a bundle's documents, as the schedule lists them, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from disclose.store.casework import RequestRow
from disclose.workspace import Workspace
from indexer.services import Services
from search_api.bundle.builder import build_bundle
from search_api.bundle.selection import plan_bundle
from test_bundle_fixtures import Case, chat_items, child_item, email_item, file_item, new_case, pdftotext, squash


def planned(case):  # type: ignore[no-untyped-def]
    with case.services.store.session() as session:
        return list(plan_bundle(session, case.ref).documents)


def when(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 1, day, hour, 0, tzinfo=timezone.utc)


def test_documents_by_date_families_together_undated_last(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    later = case.add(email_item(case, "later", "Second email", subject="Later email", when=when(20)))
    undated = file_item(case, "undated.txt", "no date at all")
    undated.date = None
    case.add(undated)
    early = case.add(email_item(case, "early", "First email", subject="Early email", when=when(10)))
    outside = case.add(child_item(case, early, "bundle.zip", "zip listing"), review=False)  # not in the review set
    inner = case.add(child_item(case, outside, "inside.txt", "a file inside the zip"))
    b = case.add(child_item(case, early, "b.txt", "attachment b"))
    a = case.add(child_item(case, early, "a.txt", "attachment a"), decision="withhold")
    b_child = case.add(child_item(case, b, "b-inner.txt", "inside b"))
    case.add(file_item(case, "feb.txt", "a February file"))  # dated 1 February

    titles = [d.title for d in planned(case)]
    # The early email, then what it holds (by locator), its grandchild through a parent outside the
    # review set, then the later email, February's file, and the undated file last.
    assert titles == ["Early email", "a.txt", "b.txt", "b-inner.txt", "inside.txt", "Later email", "feb.txt", "undated.txt"]
    by_title = {d.title: d for d in planned(case)}
    assert by_title["a.txt"].decision == "withhold" and not by_title["a.txt"].released
    assert by_title["inside.txt"].sources[0].id == inner.id and by_title["b-inner.txt"].sources[0].id == b_child.id
    assert [d.number for d in planned(case)] == list(range(1, 9))
    assert later.id in {d.sources[0].id for d in planned(case)} and a.id in {d.sources[0].id for d in planned(case)}


def test_conversation_alone_brings_its_messages_a_day_at_a_time(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    conversation, messages = chat_items(case, [
        ("Ann", when(3, 23), "late on the third"),
        ("Bob", when(3, 8), "early on the third"),
        ("Ann", when(4, 10), "on the fourth"),
    ], title="Estates")
    case.add(conversation)
    for message in messages:
        case.add(message, review=False)
    case.add(email_item(case, "between", "An email", subject="Email on the fourth", when=when(4, 9)))

    documents = planned(case)
    # a conversation's days stay together, placed by its first message
    assert [d.title for d in documents] == ["Estates (2024-01-03)", "Estates (2024-01-04)", "Email on the fourth"]
    day = documents[0]
    assert day.kind == "chat" and day.day == "2024-01-03"
    # the conversation first, then its messages in time order, whatever order they were exported in
    assert [s.id for s in day.sources] == [conversation.id, messages[1].id, messages[0].id]
    assert all(d.decision == "release" and not d.reviewed for d in documents if d.kind == "chat")


def test_chat_days_ordered_and_split_with_withheld_messages(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    conversation, messages = chat_items(case, [
        ("Ann", when(5, 9), "first day"),
        ("Bob", when(5, 10), "first day, withheld"),
        ("Ann", when(6, 9), "second day"),
    ], title="Repairs")
    case.add(conversation, review=False)  # only the messages are in the review set
    case.add(messages[0])
    case.add(messages[1], decision="withhold")
    case.add(messages[2], decision="withhold")

    documents = planned(case)
    assert [(d.title, d.decision) for d in documents] == [("Repairs (2024-01-05)", "release_in_part"), ("Repairs (2024-01-06)", "withhold")]
    assert documents[0].withheld_ids == frozenset({messages[1].id})
    assert documents[0].sources[0].id == conversation.id  # the conversation is read from the case store for its title


def test_markers_make_a_release_in_part_and_count_by_code(tmp_path: Path) -> None:
    case = new_case(tmp_path)
    email = case.add(email_item(case, "m", "Ring Mrs Patel or Mr Khan", when=when(2)), decision="release")
    case.mark(email, "Mrs Patel")
    case.mark(email, "Mr Khan", code="s38")
    (document,) = planned(case)
    assert document.decision == "release_in_part" and document.reviewed
    assert document.marker_codes == {"s40(2)": 1, "s38": 1} and document.exemptions == ["s40(2)", "s38"]
    assert document.marked_ids == (email.id,) and document.markers_digest


def test_bundle_planned_and_rendered_from_a_postgresql_case_store(tmp_path: Path, postgres_url: str) -> None:
    """The scale deployment's case store: planning streams the review set out of PostgreSQL (server-side
    cursors beside other queries) and the render workers read the items back from it."""
    services = Services(Workspace(home=tmp_path / "pg", database_url=postgres_url, index_url="tantivy:", broker_url="").ensure())
    try:
        with services.store.session() as session:
            request = RequestRow(ref="FOI-PG-1", type="foi", received=date(2024, 3, 1))
            session.add(request)
            session.flush()
            case = Case(services, "FOI-PG-1", request.id)
        email = case.add(email_item(case, "pg", "Call Mrs Patel about the roof.", subject="Roof", when=when(8)))
        case.add(child_item(case, email, "notes.txt", "Roof survey notes."))
        conversation, messages = chat_items(case, [("Ann", when(9), "Mrs Patel rang again"), ("Bob", when(9, 10), "Noted")])
        case.add(conversation)
        for message in messages:
            case.add(message)
        case.mark(email, "Mrs Patel")
        case.mark(messages[0], "Mrs Patel")
        assert [d.title for d in planned(case)] == ["Roof", "notes.txt", "Housing team (2024-01-09)"]
        summary = build_bundle(services.store, services.evidence, case.ref, tmp_path / "out")
        text = squash(pdftotext(Path(summary.out) / summary.combined_pdf))
        assert "Patel" not in text and "Call" in text and "about the roof" in text and "rang again" in text
        assert summary.released == 3 and summary.markers == 2
    finally:
        services.close()
