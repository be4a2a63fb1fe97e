"""Teams chats and channel messages from Microsoft Graph chatMessage JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from chat_formats_fixtures import ingest_with, probe_for, teams_channel_page, teams_chat_export, teams_message
from disclose.items import Kind
from indexer.ingestors.chat.teams import FORMAT_HINT, TeamsIngestor, parse_graph_messages


def test_chat_export_parses_html_replies_reactions_attachments_deleted_and_system_messages():
    [(key, conversation)] = parse_graph_messages(teams_chat_export())
    assert conversation.title == "Planning committee"
    texts = [m.text for m in conversation.messages]
    first, deleted, reply, system = conversation.messages
    assert first.text.startswith("Can you approve the Raj draft?\nThanks 🙂")
    assert "alert(1)" not in "".join(texts) and "<" not in first.text
    assert first.sent == datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
    assert deleted.deleted and deleted.text == "[message deleted]"
    assert reply.reply_to == "1" and reply.text.startswith("Agreed & sent")
    assert "[attachment: minutes.docx]" in reply.text and "like by Jane Doe" in reply.text
    assert reply.metadata["attachments"][0]["url"] == "https://council.sharepoint.com/minutes.docx"
    assert reply.metadata["reactions"][0]["by"] == "Jane Doe"
    assert system.kind == "system" and "members added Sam Lee" in system.text
    assert "raj@council.gov.uk" in {p.address for p in conversation.everyone()}


def test_channel_page_splits_channels_and_reports_bad_entries(tmp_path: Path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps(teams_channel_page()))
    item, ctx = ingest_with(TeamsIngestor(), path)
    assert item.kind == Kind.FILE
    assert sorted(c.title for c in ctx.conversations()) == ["Teams channel 19:finance@thread.skype", "Teams channel 19:general@thread.skype"]
    assert [m.text for m in ctx.messages()] == ["General hello", "Budget"] or [m.text for m in ctx.messages()] == ["Budget", "General hello"]
    assert any("entry 3 is not a chatMessage" in p[2] for p in ctx.problems)


def test_single_message_is_recognised_by_content_and_hint(tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(teams_message("1", "2024-01-01T00:00:00Z", "Jane Doe", "<p>hi</p>")))
    assert TeamsIngestor().score(probe_for(path)) > 1
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"name": "x", "value": [1, 2]}))
    assert TeamsIngestor().score(probe_for(plain)) == 0
    assert TeamsIngestor().score(probe_for(plain, FORMAT_HINT)) == 50
    item, ctx = ingest_with(TeamsIngestor(), path)
    assert item.kind == Kind.CHAT_CONVERSATION
    assert [m.text for m in ctx.messages()] == ["hi"]
    assert ctx.messages()[0].participants.sender[0].name == "Jane Doe"


def test_damaged_json_names_the_line_and_does_not_crash(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{"value": [\n{"messageType": "message",\n "body": oops}\n]}')
    item, ctx = ingest_with(TeamsIngestor(), path)
    assert ctx.problems and "line 3" in ctx.problems[0][2] and "oops" in ctx.problems[0][2]


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "teams-chat.json").write_text(json.dumps(teams_chat_export()))
    [hit] = ingest_end_to_end(cli, home, folder, "approve")
    shown = hit
    assert shown["metadata"]["platform"] == "teams" and shown["custodians"] == ["Jane Doe"]
