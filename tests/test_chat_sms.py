"""SMS Backup & Restore XML: SMS, MMS with parts, group messages, call logs, damage."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chat_formats_fixtures import CORPUS, PNG_1PX, calls_xml, entity_bomb_xml, ingest_with, probe_for, sms_backup_xml
from disclose.items import Kind
from indexer.ingestors.chat.sms import SmsBackupIngestor


def _ingest(tmp_path: Path, text: str, name: str = "sms-20240305.xml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert SmsBackupIngestor().score(probe_for(path)) > 1
    return ingest_with(SmsBackupIngestor(), path)


def test_sms_and_group_mms_are_grouped_by_address_set_with_names_and_media(tmp_path: Path):
    item, ctx = _ingest(tmp_path, sms_backup_xml())
    conversations = {c.title: c for c in ctx.conversations()}
    assert set(conversations) == {
        "SMS with Raj Patel <07700 900123>",
        "SMS with Raj Patel <+447700900123>, Sam Lee <+447700900456>",
        "SMS with +447700900789",
    }
    one_to_one = [m for m in ctx.messages() if m.parent_id == conversations["SMS with Raj Patel <07700 900123>"].id]
    # "07700 900123" and "+447700900123" are the same number, so the same conversation.
    assert [m.text for m in one_to_one] == ["Are the minutes ready?", "Yes, sending now & copying Sam"]
    assert one_to_one[0].participants.sender[0].name == "Raj Patel"
    assert one_to_one[1].participants.sender[0].name == "Jane Doe"  # the custodian owns the phone
    assert one_to_one[0].date == datetime(2024, 3, 5, 10, 0, tzinfo=timezone.utc)
    group = [m for m in ctx.messages() if m.metadata.get("group")]
    assert [(m.participants.sender[0].name, m.text) for m in group] == [("Sam Lee", "Photo of the site"), ("Jane Doe", "Thanks both")]
    [(attachment, data)] = ctx.children
    assert attachment.filename == "site-photo.png" and data == PNG_1PX and attachment.parent_id == group[0].id
    assert ctx.problems == []


def test_corrupt_base64_is_a_problem_entry_and_the_rest_is_kept(tmp_path: Path):
    item, ctx = _ingest(tmp_path, sms_backup_xml(corrupt_part=True))
    assert len(ctx.messages()) == 5
    assert [p[2] for p in ctx.problems if "broken.jpg" in p[2]] == [
        'line 11: MMS attachment broken.jpg is not valid base64: <part ct="image/jpeg" name="broken.jpg">']


def test_truncated_backup_keeps_what_was_read_and_names_the_line(tmp_path: Path):
    item, ctx = _ingest(tmp_path, sms_backup_xml(truncated=True))
    assert len(ctx.messages()) == 4
    [problem] = ctx.problems
    assert "line 22" in problem[2] and "cannot be read" in problem[2] and '<sms protocol="0" address="+4477' in problem[2]


def test_call_log_becomes_call_messages(tmp_path: Path):
    item, ctx = _ingest(tmp_path, calls_xml(), "calls-20240305.xml")
    [log] = ctx.conversations()
    assert log.title == "Call log"
    calls = ctx.messages()
    assert [m.metadata["message_kind"] for m in calls] == ["call"] * 3
    assert calls[0].text == "Incoming call from Raj Patel <+447700900123>, 2 min 5 s"
    assert calls[1].metadata["call_direction"] == "missed"
    assert calls[2].participants.sender[0].name == "Jane Doe" and calls[2].text.startswith("Outgoing call to Raj Patel")


def test_entity_expansion_is_refused(tmp_path: Path):
    item, ctx = _ingest(tmp_path, entity_bomb_xml())
    assert ctx.messages() == []
    assert any("refused" in p[2] for p in ctx.problems)


def test_plain_xml_is_not_claimed(tmp_path: Path):
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?><catalogue><book/></catalogue>')
    assert SmsBackupIngestor().score(probe_for(path)) == 0


@pytest.mark.skipif(not (CORPUS / "sms_xml").exists(), reason="shared corpus not present")
def test_corpus_backups(tmp_path: Path):
    source = CORPUS / "sms_xml" / "sms-backup-reader-2__sample_mms.xml"
    path = tmp_path / source.name
    shutil.copy(source, path)
    item, ctx = ingest_with(SmsBackupIngestor(), path)
    assert len(ctx.messages()) == 4 and len(ctx.children) == 4 and ctx.problems == []
    corrupt = tmp_path / "corrupt.xml"
    shutil.copy(CORPUS / "sms_xml" / "sms-backup-reader-2__corrupt_attachments.xml", corrupt)
    item, ctx = ingest_with(SmsBackupIngestor(), corrupt)
    assert [m.text for m in ctx.messages()] == ["MMS with corrupted base64 image data", "MMS with unsupported attachment type"]
    assert len(ctx.problems) == 2


def test_end_to_end_ingest(cli, home: Path, tmp_path: Path):
    from chat_formats_fixtures import ingest_end_to_end
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "sms-20240305.xml").write_text(sms_backup_xml())
    (folder / "calls-20240305.xml").write_text(calls_xml())
    assert len(ingest_end_to_end(cli, home, folder, "minutes")) == 1
    assert len(ingest_end_to_end(cli, home, folder, "Incoming")) == 1
