"""Exchange EWS crawling with the real exchangelib client against a local FAKE EWS (tests/fakes/ews_fake.py)."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed
from crawler.exchange_ews import EwsCrawler
from fakes.ews_fake import FakeEws, ews_fake  # noqa: F401  (the fixture)


def _mime(number: int) -> bytes:
    return (
        f"From: Bob <bob@council.example>\r\nTo: clerk@council.example\r\nSubject: Bridge {number}\r\n"
        f"Message-ID: <e{number}@council.example>\r\n\r\nBody {number} \u00e9\r\n"
    ).encode()


def _mailbox(fake: FakeEws) -> None:
    state = fake.state
    state.add_folder("projects-id", "Projects", "inbox-id")
    state.add_folder("sent-id", "Sent Items", "msgroot-id", distinguished="sentitems")
    for number in range(1, 6):
        state.add_item("inbox-id", f"AAMk-inbox-{number}", _mime(number), f"Bridge {number}")
    state.add_item("projects-id", "AAMk-projects-6", _mime(6), "Bridge 6")
    state.add_item("calendar-id", "AAMk-meeting-7", b"BEGIN:VCALENDAR\r\n", "Meeting")


def _crawler(fake: FakeEws, **overrides: Any) -> EwsCrawler:
    settings: dict[str, Any] = dict(
        server=fake.url, mailbox=fake.state.mailbox, username=fake.state.username,
        password=Secret(fake.state.password), custodians=["Bob Officer"], page_size=2,
    )
    settings.update(overrides)
    return EwsCrawler(**settings)


def _run(crawler: EwsCrawler, state: dict) -> tuple[list[Collected], list[Removed], dict, list]:
    collected, removed, problems = [], [], []
    for event in crawler.crawl(state):
        if isinstance(event, Collected):
            collected.append(event)
        elif isinstance(event, Removed):
            removed.append(event)
        elif isinstance(event, Checkpoint):
            state = event.state
        elif isinstance(event, CollectionProblem):
            problems.append(event)
    return collected, removed, state, problems


def test_first_crawl_walks_mail_folders_and_fetches_mime_content(ews_fake: FakeEws) -> None:
    _mailbox(ews_fake)
    collected, removed, state, problems = _run(_crawler(ews_fake), {})
    assert problems == [] and removed == []
    assert sorted(item.metadata["ews_item_id"] for item in collected) == sorted(
        [f"AAMk-inbox-{n}" for n in range(1, 6)] + ["AAMk-projects-6"]
    )  # the calendar item is not mail
    projects = next(item for item in collected if item.metadata["folder"] == "Inbox/Projects")
    assert projects.opener().read() == _mime(6)
    assert projects.format_hint == "message/rfc822"
    assert projects.display_path == "clerk@council.example/Inbox/Projects"
    assert projects.custodians == ["Bob Officer"]
    assert set(state["folders"]) == {"inbox-id", "projects-id", "sent-id"}
    assert {"SyncFolderItems", "GetItem", "FindFolder"} <= set(ews_fake.state.operations)


def test_next_crawl_uses_the_stored_sync_state_for_changes_and_deletions(ews_fake: FakeEws) -> None:
    _mailbox(ews_fake)
    _, _, state, _ = _run(_crawler(ews_fake), {})
    assert _run(_crawler(ews_fake), state)[:2] == ([], [])
    ews_fake.state.add_item("sent-id", "AAMk-sent-8", _mime(8), "Bridge 8")
    ews_fake.state.delete_item("AAMk-inbox-3")
    new, removed, _, _ = _run(_crawler(ews_fake), state)
    assert [item.metadata["ews_item_id"] for item in new] == ["AAMk-sent-8"]
    assert [gone.source for gone in removed] == [_crawler(ews_fake).item_uri("inbox-id", "AAMk-inbox-3")]


def test_interrupted_crawl_resumes_from_the_sync_state_without_duplicates(ews_fake: FakeEws) -> None:
    _mailbox(ews_fake)
    uninterrupted = _run(_crawler(ews_fake), {})[0]
    stored, pending, saved = [], [], {}
    for event in _crawler(ews_fake).crawl({}):
        if isinstance(event, Collected):
            pending.append(event.source)
        elif isinstance(event, Checkpoint):
            stored, pending, saved = stored + pending, [], event.state
            break  # stopped after the first page of the Inbox
    assert len(stored) == 2
    resumed = _run(_crawler(ews_fake), saved)[0]
    everything = stored + [item.source for item in resumed]
    assert len(everything) == len(set(everything))
    assert sorted(everything) == sorted(item.source for item in uninterrupted)


def test_item_deleted_between_sync_and_fetch_is_a_problem_not_a_failure(ews_fake: FakeEws) -> None:
    _mailbox(ews_fake)
    crawler = _crawler(ews_fake)
    events = crawler.crawl({})
    first = next(events)  # Inbox page one fetched; delete an item in the next page before it is fetched
    ews_fake.state.vanish_before_fetch.add("AAMk-inbox-3")
    rest = list(events)
    problems = [event for event in rest if isinstance(event, CollectionProblem)]
    assert isinstance(first, Collected)
    assert [problem.source for problem in problems] == [crawler.item_uri("inbox-id", "AAMk-inbox-3")]
    assert sum(isinstance(event, Collected) for event in rest) == 4


def test_wrong_password_is_a_login_failure(ews_fake: FakeEws) -> None:
    _mailbox(ews_fake)
    with pytest.raises(SourceLoginFailed):
        _run(_crawler(ews_fake, password=Secret("wrong"), auth_type="basic"), {})
