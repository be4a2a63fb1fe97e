"""Signal plain-text exports in the documented line formats."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, ingest_with, probe_for, signal_text
from indexer.ingestors.chat.signal import SignalIngestor, parse_signal_text


def _summary(text: str):
    return [(m.sender.name, m.sent.astimezone(timezone.utc), m.text) for m in parse_signal_text(text).messages]


def test_all_documented_styles_parse_to_the_same_messages_with_dst():
    expected = _summary(signal_text("chat-miner"))
    assert _summary(signal_text("markdown")) == expected == _summary(signal_text("backup-tools"))
    assert expected[0] == ("Jane Doe", datetime(2024, 3, 31, 0, 30, tzinfo=timezone.utc), "Before the clocks change")  # GMT
    assert expected[1][1] == datetime(2024, 3, 31, 8, 15, tzinfo=timezone.utc)  # BST after the change
    assert expected[1][2] == "Report attached\n![report.pdf](media/report.pdf)\nsecond line of the same message"


def test_every_line_is_in_a_message_or_an_error(tmp_path: Path):
    conversation = parse_signal_text(signal_text(damaged=True))
    covered = {line for m in conversation.messages for line in range(m.first_line, m.last_line + 1)}
    covered |= {e.line for e in conversation.errors}
    assert covered == set(range(1, 8))
    assert conversation.errors[0].text == "Signal conversation export (garbled header)"
    assert conversation.messages[1].attachments == ["media/report.pdf"]
    assert conversation.messages[2].metadata["quoted"] is True


def test_ingest_reports_damage_and_missing_media(tmp_path: Path):
    path = tmp_path / "signal-raj.txt"
    path.write_text(signal_text(damaged=True))
    assert SignalIngestor().score(probe_for(path)) > 1
    item, ctx = ingest_with(SignalIngestor(), path)
    assert len(ctx.messages()) == 3 and item.title == "Signal: signal-raj"
    reasons = sorted(p[2] for p in ctx.problems)
    assert reasons[0].startswith("line 1: recognised a Signal text export")
    assert reasons[1] == "media not in the export: media/report.pdf"


def test_whatsapp_ios_style_lines_are_left_to_whatsapp(tmp_path: Path):
    path = tmp_path / "_chat.txt"
    path.write_text("[2024-03-05, 10:00:00] Jane Doe: hi\n")
    assert SignalIngestor().score(probe_for(path)) < 5
    plain = tmp_path / "notes.txt"
    plain.write_text("Meeting notes\n- item\n")
    assert SignalIngestor().score(probe_for(plain)) == 0


@pytest.mark.skipif(not (CORPUS / "signal").exists(), reason="shared corpus not present")
def test_corpus_export(tmp_path: Path):
    path = tmp_path / "export.txt"
    shutil.copy(CORPUS / "signal" / "chat-miner__test_export.txt", path)
    assert SignalIngestor().score(probe_for(path)) > 50  # beats the WhatsApp ingestor
    item, ctx = ingest_with(SignalIngestor(), path)
    assert [m.text for m in ctx.messages()] == ["Hello John!", "Hello\nJane!"]
    assert ctx.problems == []


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "signal-raj.txt").write_text(signal_text())
    assert len(ingest_end_to_end(cli, home, folder, "clocks")) == 1
