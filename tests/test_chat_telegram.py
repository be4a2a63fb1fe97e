"""Telegram Desktop JSON exports: old and new schema, full exports, service messages, media."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, PNG_1PX, ingest_with, probe_for, telegram_chat, telegram_full_export, telegram_zip
from disclose.items import Kind
from indexer.ingestors.chat.telegram import TelegramIngestor, parse_telegram_export


def test_old_and_new_schema_give_the_same_messages():
    [(_, new)] = parse_telegram_export(telegram_chat(new_schema=True))
    [(_, old)] = parse_telegram_export(telegram_chat(new_schema=False), "Europe/London")
    assert [(m.sender.name, m.sent, m.text) for m in new.messages] == [(m.sender.name, m.sent, m.text) for m in old.messages]
    first, reply, forward, call = new.messages
    assert first.text == "Site visit tomorrow"
    assert first.sent == datetime(2024, 7, 1, 8, 0, tzinfo=timezone.utc)  # 09:00 BST
    assert reply.reply_to == "1"
    assert forward.text.startswith("[forwarded from Planning Office]\nVisit at 10")
    assert forward.attachments == ["photos/photo_1@01-07-2024_09-06-00.jpg"]
    assert call.kind == "system" and call.text == "Raj Patel: phone call (42 s)"


def test_lone_result_json_reports_missing_media(tmp_path: Path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(telegram_chat(), indent=1))
    assert TelegramIngestor().score(probe_for(path)) > 1
    item, ctx = ingest_with(TelegramIngestor(), path)
    assert item.kind == Kind.CHAT_CONVERSATION and item.title == "Telegram: Raj Patel"
    assert len(ctx.messages()) == 4
    assert [p[2] for p in ctx.problems] == ["media not in the export: photos/photo_1@01-07-2024_09-06-00.jpg"]


def test_zip_export_links_photos(tmp_path: Path):
    path = telegram_zip(tmp_path / "telegram.zip")
    assert TelegramIngestor().score(probe_for(path)) >= 40
    item, ctx = ingest_with(TelegramIngestor(), path)
    assert ctx.problems == []
    [(photo, data)] = ctx.children
    assert data == PNG_1PX and photo.parent_id == ctx.messages()[2].id


def test_full_export_makes_one_conversation_per_chat(tmp_path: Path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(telegram_full_export(), indent=1))
    item, ctx = ingest_with(TelegramIngestor(), path)
    assert item.kind == Kind.FILE
    assert [c.title for c in ctx.conversations()] == ["Telegram: Raj Patel", "Telegram: Planning team"]
    created, video = [m for m in ctx.messages() if m.parent_id == ctx.conversations()[1].id]
    assert created.text == "Jane Doe: create group Jane Doe, Raj Patel \u201cPlanning team\u201d"
    assert video.text == "[file not included in the export]"


def test_damaged_export_names_the_line(tmp_path: Path):
    path = tmp_path / "result.json"
    text = json.dumps(telegram_chat(), indent=1)
    path.write_text(text[: len(text) // 2])
    item, ctx = ingest_with(TelegramIngestor(), path)
    assert ctx.messages() == []
    assert "not valid JSON" in ctx.problems[0][2] and ctx.problems[0][2].startswith("line ")


@pytest.mark.skipif(not (CORPUS / "telegram").exists(), reason="shared corpus not present")
def test_corpus_exports(tmp_path: Path):
    counts = {}
    for source in sorted((CORPUS / "telegram").glob("*.json")):
        path = tmp_path / source.name
        shutil.copy(source, path)
        assert TelegramIngestor().score(probe_for(path)) > 1, source.name
        item, ctx = ingest_with(TelegramIngestor(), path)
        counts[source.name] = [m.text for m in ctx.messages()]
    assert counts["chat-miner__test_batch_export.json"] == ["Minimal Message", "Link:https://telegram.org/"]
    assert counts["tg-parser__personal_chat.json"][2] == "Check this important message"
    assert counts["tg-parser__personal_chat.json"][4] == "Alice: phone call"


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    telegram_zip(folder / "telegram-export.zip")
    [hit] = ingest_end_to_end(cli, home, folder, "Confirmed")
    assert hit["metadata"]["reply_to"] == "1"
