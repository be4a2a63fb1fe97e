"""Slack workspace export zips: channels, DMs, threads, files, mentions, damage."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, ingest_with, probe_for, slack_zip
from disclose.items import Kind
from indexer.ingestors.chat.slack import SlackIngestor


def test_channels_dms_threads_mentions_and_files(tmp_path: Path):
    path = slack_zip(tmp_path / "export.zip")
    assert SlackIngestor().score(probe_for(path)) >= 40
    item, ctx = ingest_with(SlackIngestor(), path)
    assert item.kind == Kind.FILE and item.metadata["conversation_count"] == 2
    titles = {c.title: c for c in ctx.conversations()}
    assert set(titles) == {"Slack channel: #planning", "Slack DM: Jane Doe, Raj Patel"}
    planning = [m for m in ctx.messages() if m.parent_id == titles["Slack channel: #planning"].id]
    join, hello, reply, draft = planning
    assert join.metadata["message_kind"] == "system" and join.text == "@Raj Patel has joined the channel"
    assert hello.text == "Hi @Raj Patel, see #planning & the plan (https://example.org)"
    assert hello.date == datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
    assert reply.metadata["reply_to"] == "1709629200.000100" and hello.metadata["reply_to"] == ""
    assert "[reactions: :thumbsup: by Jane Doe]" in reply.text
    assert draft.metadata["files"][0]["url"].endswith("draft.pdf") and "[file: draft.pdf]" in draft.text
    assert ctx.problems == []


def test_damaged_day_file_is_reported_and_the_rest_kept(tmp_path: Path):
    item, ctx = ingest_with(SlackIngestor(), slack_zip(tmp_path / "export.zip", damaged_day=True))
    assert len(ctx.messages()) == 4
    [problem] = ctx.problems
    assert "planning/2024-03-06.json" in problem[2] and "line 3" in problem[2] and "broken" in problem[2]


def test_other_zips_are_not_claimed(tmp_path: Path):
    import zipfile
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    assert SlackIngestor().score(probe_for(path)) == 0


@pytest.mark.skipif(not (CORPUS / "slack").exists(), reason="shared corpus not present")
def test_corpus_export(tmp_path: Path):
    path = tmp_path / "slack.zip"
    shutil.copy(CORPUS / "slack" / "slack-export-viewer__testarchive.zip", path)
    assert SlackIngestor().score(probe_for(path)) >= 40
    item, ctx = ingest_with(SlackIngestor(), path)
    assert {c.title for c in ctx.conversations()} == {"Slack channel: #enrique", "Slack channel: #traveling-sailor"}
    assert len(ctx.messages()) > 100
    assert "Harry Potter" in {m.participants.sender[0].name for m in ctx.messages()}
    assert not any("<@U" in m.text for m in ctx.messages())


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    slack_zip(folder / "slack-export.zip")
    assert len(ingest_end_to_end(cli, home, folder, "Private")) == 1
