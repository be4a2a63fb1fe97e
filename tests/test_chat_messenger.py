"""Facebook Messenger / Instagram JSON: mojibake repair, threads split over files, media, damage."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, PNG_1PX, ingest_with, messenger_thread, messenger_zip, probe_for
from disclose.items import Kind
from indexer.ingestors.chat.messenger import MessengerIngestor


def test_single_thread_is_repaired_and_ordered(tmp_path: Path):
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(messenger_thread(), indent=2))
    assert MessengerIngestor().score(probe_for(path)) > 1
    item, ctx = ingest_with(MessengerIngestor(), path)
    assert item.kind == Kind.CHAT_CONVERSATION and item.title == "Messenger: Raj Patel"
    morning, cafe = ctx.messages()
    assert morning.participants.sender[0].name == "Zoë Jones"
    assert cafe.text == "Café at 10? 👍\n[reactions: ❤ by Jane Doe]"
    assert morning.date == datetime(2024, 3, 5, 10, 0, tzinfo=timezone.utc)
    assert [p[2] for p in ctx.problems] == ["media not in the export: messages/inbox/rajpatel_123/photos/site.png"]


def test_download_zip_merges_thread_files_links_media_and_reports_damage(tmp_path: Path):
    path = messenger_zip(tmp_path / "facebook-janedoe.zip")
    assert MessengerIngestor().score(probe_for(path)) >= 40
    item, ctx = ingest_with(MessengerIngestor(), path)
    [conversation] = ctx.conversations()
    assert [m.text.split("\n")[0] for m in ctx.messages()] == ["Older message", "Morning", "Café at 10? 👍"]
    [(photo, data)] = ctx.children
    assert data == PNG_1PX
    [problem] = ctx.problems
    assert "broken_9/message_1.json" in problem[2] and "not valid JSON" in problem[2]


@pytest.mark.skipif(not (CORPUS / "instagram").exists(), reason="shared corpus not present")
def test_corpus_instagram(tmp_path: Path):
    path = tmp_path / "instagram_message_1.json"
    shutil.copy(CORPUS / "instagram" / "chat-miner__test_export.json", path)
    assert MessengerIngestor().score(probe_for(path)) > 1
    item, ctx = ingest_with(MessengerIngestor(), path)
    assert item.metadata["platform"] == "instagram"
    assert [m.text for m in ctx.messages()] == ["Hello John!", "Hello Jane!"]


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    messenger_zip(folder / "facebook-janedoe.zip")
    assert len(ingest_end_to_end(cli, home, folder, "Morning")) == 1
