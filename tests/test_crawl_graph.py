"""Microsoft Graph crawling through MSAL and httpx against a local FAKE Graph (tests/fakes/graph_fake.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed
from crawler.exchange_graph import TEAMS_FORMAT_HINT, GraphCrawler
from fakes.graph_fake import FakeGraph, graph_fake  # noqa: F401  (the fixture)


def _mime(number: int) -> bytes:
    return (
        f"From: Alice <alice@council.example>\r\nTo: foi@council.example\r\nSubject: Message {number}\r\n"
        f"Message-ID: <g{number}@council.example>\r\n\r\nBody {number}\r\n"
    ).encode()


def _mailbox(fake: FakeGraph) -> None:
    state = fake.state
    state.add_folder("inbox-id", "Inbox")
    state.add_folder("projects-id", "Projects", parent="inbox-id")
    state.add_folder("bridge-id", "Bridge", parent="projects-id")
    state.add_folder("sent-id", "Sent Items")
    for number in range(1, 6):
        state.add_message("inbox-id", f"msg-{number}", _mime(number))
    state.add_message("bridge-id", "msg-6", _mime(6))
    state.add_message("sent-id", "msg-7", _mime(7))


def _crawler(fake: FakeGraph, sleeps: list[float] | None = None, **overrides: Any) -> GraphCrawler:
    settings: dict[str, Any] = dict(
        tenant=fake.state.tenant,
        client_id=fake.state.client_id,
        client_secret=Secret(fake.state.client_secret),
        mailbox=fake.state.mailbox,
        custodians=["Alice Clerk"],
        authority_url=fake.authority_url,
        graph_url=fake.graph_url,
        ca_file=fake.ca_file,
        sleep=(sleeps.append if sleeps is not None else (lambda seconds: None)),
    )
    settings.update(overrides)
    return GraphCrawler(**settings)


def _run(crawler: GraphCrawler, state: dict) -> tuple[list[Collected], list[Removed], dict, list]:
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


def test_first_crawl_walks_nested_folders_across_pages_and_fetches_mime(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    collected, removed, state, problems = _run(_crawler(graph_fake), {})
    assert problems == [] and removed == []
    assert len(collected) == 7
    paths = {item.metadata["folder"] for item in collected}
    assert paths == {"Inbox", "Inbox/Projects/Bridge", "Sent Items"}
    bridge = next(item for item in collected if item.metadata["folder"] == "Inbox/Projects/Bridge")
    assert bridge.opener().read() == _mime(6)
    assert bridge.format_hint == "message/rfc822"
    assert bridge.display_path == "clerk@council.example/Inbox/Projects/Bridge"
    assert bridge.source == f"graph://{graph_fake.state.tenant}/users/clerk@council.example/mailFolders/bridge-id/messages/msg-6"
    assert all(folder.get("delta_link") and not folder.get("next_link") for folder in state["folders"].values())
    # five Inbox messages at two per page: the crawler followed @odata.nextLink
    assert sum("inbox-id/messages/delta" in line and "skiptoken" in line for line in graph_fake.state.requests) == 2


def test_next_crawl_uses_delta_links_for_additions_and_removals(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    _, _, state, _ = _run(_crawler(graph_fake), {})
    nothing, none_removed, state, _ = _run(_crawler(graph_fake), state)
    assert nothing == [] and none_removed == []
    graph_fake.state.add_message("sent-id", "msg-8", _mime(8))
    graph_fake.state.remove_message("inbox-id", "msg-2")
    new, removed, _, _ = _run(_crawler(graph_fake), state)
    assert [item.metadata["graph_id"] for item in new] == ["msg-8"]
    assert [gone.source for gone in removed] == [
        f"graph://{graph_fake.state.tenant}/users/clerk@council.example/mailFolders/inbox-id/messages/msg-2"
    ]


def test_throttling_honours_retry_after_and_still_collects_everything(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    graph_fake.state.throttle += [(r"/messages/delta$", 429, "7"), (r"/\$value$", 503, "3"), (r"/\$value$", 429, "")]
    sleeps: list[float] = []
    collected, _, _, problems = _run(_crawler(graph_fake, sleeps=sleeps), {})
    assert len(collected) == 7 and problems == []
    assert sleeps[:2] == [7.0, 3.0]
    assert sleeps[2] == 2.0  # no Retry-After on the second try of that request: backoff 1s doubled


def test_persistent_throttling_gives_up_with_a_clear_error(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    graph_fake.state.throttle += [(r"/mailFolders$", 429, "1")] * 10
    with pytest.raises(Exception, match="kept refusing"):
        _run(_crawler(graph_fake, max_attempts=3), {})


def test_interrupted_crawl_resumes_from_the_stored_next_link_without_duplicates(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    uninterrupted, _, _, _ = _run(_crawler(graph_fake), {})
    stored, pending, saved = [], [], {}
    for event in _crawler(graph_fake).crawl({}):
        if isinstance(event, Collected):
            pending.append(event.source)
        elif isinstance(event, Checkpoint):
            stored, pending, saved = stored + pending, [], event.state
            if saved["folders"].get("inbox-id", {}).get("next_link"):
                break  # stopped half way through the Inbox pages
    assert saved["folders"]["inbox-id"]["next_link"]
    resumed, _, _, _ = _run(_crawler(graph_fake), saved)
    everything = stored + [item.source for item in resumed]
    assert len(everything) == len(set(everything))
    assert sorted(everything) == sorted(item.source for item in uninterrupted)


def test_wrong_client_secret_is_a_login_failure_and_the_secret_is_not_echoed(graph_fake: FakeGraph) -> None:
    _mailbox(graph_fake)
    with pytest.raises(SourceLoginFailed) as raised:
        _run(_crawler(graph_fake, client_secret=Secret("not-the-secret")), {})
    assert "not-the-secret" not in str(raised.value)
    assert "not-the-secret" not in repr(_crawler(graph_fake, client_secret=Secret("not-the-secret")))


def test_teams_chats_are_collected_as_one_json_document_per_chat(graph_fake: FakeGraph) -> None:
    state = graph_fake.state
    state.chats["19:abc@thread.v2"] = {"id": "19:abc@thread.v2", "topic": "Bridge repairs", "chatType": "group",
                                       "lastUpdatedDateTime": "2024-03-01T10:00:00Z"}
    state.chat_messages["19:abc@thread.v2"] = [
        {"id": str(n), "messageType": "message", "createdDateTime": f"2024-03-01T09:0{n}:00Z",
         "from": {"user": {"displayName": "Alice", "id": "u1"}}, "body": {"contentType": "html", "content": f"<p>hi {n}</p>"}}
        for n in range(5)
    ]
    state.chats["19:def@unq.gbl.spaces"] = {"id": "19:def@unq.gbl.spaces", "topic": None, "chatType": "oneOnOne",
                                            "lastUpdatedDateTime": "2024-03-02T10:00:00Z"}
    collected, _, saved, _ = _run(_crawler(graph_fake, teams=True, mail=False), {})
    assert [item.format_hint for item in collected] == [TEAMS_FORMAT_HINT] * 2
    document = json.loads(collected[0].opener().read())
    assert document["chat"]["topic"] == "Bridge repairs"
    assert [m["body"]["content"] for m in document["messages"]] == [f"<p>hi {n}</p>" for n in range(5)]
    assert json.loads(collected[1].opener().read())["messages"] == []
    # unchanged chats are not collected again; a chat with new activity is
    assert _run(_crawler(graph_fake, teams=True, mail=False), saved)[0] == []
    state.chats["19:abc@thread.v2"]["lastUpdatedDateTime"] = "2024-03-05T10:00:00Z"
    again = _run(_crawler(graph_fake, teams=True, mail=False), saved)[0]
    assert [item.metadata["chat_id"] for item in again] == ["19:abc@thread.v2"]


def test_disclose_crawl_graph_ingests_mail_and_teams_chats(graph_fake: FakeGraph, tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    _mailbox(graph_fake)
    graph_fake.state.chats["19:abc@thread.v2"] = {"id": "19:abc@thread.v2", "topic": "Bridge", "chatType": "group",
                                                  "lastUpdatedDateTime": "2024-03-01T10:00:00Z"}
    graph_fake.state.chat_messages["19:abc@thread.v2"] = [
        {"id": "1", "messageType": "message", "createdDateTime": "2024-03-01T09:00:00Z", "chatId": "19:abc@thread.v2",
         "from": {"user": {"displayName": "Alice", "id": "u1"}}, "body": {"contentType": "html", "content": "<p>hi</p>"}}
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSE_")}
    env["DISCLOSE_GRAPH_CLIENT_SECRET"] = graph_fake.state.client_secret
    result = subprocess.run(
        [str(Path(sys.executable).parent / "disclose"), "--home", str(tmp_path / "ws"), "crawl", "graph",
         "--tenant", graph_fake.state.tenant, "--client-id", graph_fake.state.client_id, "--mailbox",
         graph_fake.state.mailbox, "--custodian", "Alice Clerk", "--teams", "--authority", graph_fake.authority_url,
         "--graph-url", graph_fake.graph_url, "--ca-file", graph_fake.ca_file, "--json"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["collected"] == 8 and report["problems"] == 0
    assert report["items_added"] >= 8  # seven emails, the chat conversation and its message
    assert graph_fake.state.client_secret.encode() not in (tmp_path / "ws" / "case.db").read_bytes()
