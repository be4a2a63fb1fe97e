"""The WhatsApp ingestor: recognition by content, zips with media, and the whole pipeline."""

from __future__ import annotations

import zipfile
from datetime import timezone
from pathlib import Path

from sqlalchemy import select

from chat_fixtures import PHONE_E164, Variant, export_zip, render
from chat_formats_fixtures import ingest_with, probe_for
from disclose.items import Kind
from indexer.ingestors.chat.whatsapp import WhatsAppIngestor, chat_member, title_from_filename


def test_text_exports_are_recognised_by_content_not_name(tmp_path: Path):
    odd_name = tmp_path / "evidence-17.dat"
    odd_name.write_text(render(Variant("ar", "android", True, seconds=False, bom=True, marks=True)), encoding="utf-8")
    plain = tmp_path / "WhatsApp Chat with Nobody.txt"
    plain.write_text("Dear resident,\nthe survey is booked for 3/3/21.\n", encoding="utf-8")
    assert WhatsAppIngestor().score(probe_for(odd_name)) == 50
    assert WhatsAppIngestor().score(probe_for(plain)) == 0


def test_text_export_becomes_a_conversation_with_messages_and_title_from_the_file_name(tmp_path: Path):
    path = tmp_path / "WhatsApp Chat with Planning Team.txt"
    path.write_text(render(Variant("de", "android", False, seconds=False)), encoding="utf-8")
    item, ctx = ingest_with(WhatsAppIngestor(), path)
    assert item.kind == Kind.CHAT_CONVERSATION and item.title == "Planning Team"
    messages = ctx.messages()
    assert len(messages) == 12 and messages[0].metadata["position"] == 1
    assert messages[1].participants.sender[0].name == "Alice Smith"
    assert messages[2].participants.sender[0].address == PHONE_E164
    assert messages[2].text.startswith("Can we meet at 10:30?\nThe draft")
    assert messages[2].date.astimezone(timezone.utc).day == 4 and messages[2].custodians == ["Jane Doe"]
    assert item.metadata["message_count"] == 12 and item.metadata["date_order"] == "DMY"
    # a text-only export names media it does not carry: reported, not fatal
    assert any("media not in the export: IMG-20210305-WA0001.jpg" in p[2] for p in ctx.problems)


def test_zip_export_links_media_to_their_messages_without_extracting(tmp_path: Path):
    path = export_zip(tmp_path / "WhatsApp Chat - Site Visit.zip")
    assert WhatsAppIngestor().score(probe_for(path)) == 50
    item, ctx = ingest_with(WhatsAppIngestor(), path)
    assert item.title == "Site Visit" and item.metadata["chat_member"] == "_chat.txt"
    attachments = {child.filename: (child.parent_id, data) for child, data in ctx.children}
    assert set(attachments) == {"IMG-20210305-WA0001.jpg", "Alex.vcf"}
    photo_parent = next(m for m in ctx.messages() if m.id == attachments["IMG-20210305-WA0001.jpg"][0])
    assert photo_parent.text == "The site plan" and photo_parent.metadata["has_attachment"]
    assert attachments["Alex.vcf"][1].startswith(b"BEGIN:VCARD")
    assert not [p for p in ctx.problems if "media" in p[2]]
    assert not list(tmp_path.glob("*.jpg"))


def test_zip_with_hostile_member_names_reads_nothing_outside_and_finds_android_chat_name(tmp_path: Path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("WhatsApp Chat with Raj.txt", "03/03/2021, 09:05 - Raj: see ../../etc/passwd (file attached)\n"
                                                      "03/03/2021, 09:06 - Raj: IMG-20210303-WA0001.jpg (file attached)\n")
        archive.writestr("../IMG-20210303-WA0001.jpg", b"outside")
    assert chat_member(["a/_chat.txt", "WhatsApp Chat with Raj.txt"]) == "WhatsApp Chat with Raj.txt"
    item, ctx = ingest_with(WhatsAppIngestor(), path)
    assert item.title == "Raj" and ctx.children == []
    assert any("media not in the export: IMG-20210303-WA0001.jpg" in p[2] for p in ctx.problems)


def test_damaged_lines_are_reported_with_their_line_numbers(tmp_path: Path):
    path = tmp_path / "chat.txt"
    path.write_text("03/03/2021, 09:05 - Alice: hi\n03/03/2021, 09:06 - Bob: yo\n", encoding="utf-8")
    path.write_text("###corrupted###\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    item, ctx = ingest_with(WhatsAppIngestor(), path)
    assert len(ctx.messages()) == 2
    assert any(p[1] == "parse" and "line 1: first unreadable line" in p[2] and "###corrupted###" in p[2] for p in ctx.problems)


def test_titles_come_from_export_file_names():
    assert title_from_filename("WhatsApp Chat with Jane Doe.txt") == "Jane Doe"
    assert title_from_filename("WhatsApp Chat - Housing Group.zip") == "Housing Group"
    assert title_from_filename("notes.txt") == ""


def test_end_to_end_ingest_of_a_zip_with_media(cli, home: Path, tmp_path: Path):
    from disclose.store import open_store
    from disclose.store.tables import ItemRow

    folder = tmp_path / "in"
    folder.mkdir()
    export_zip(folder / "WhatsApp Chat - Site Visit.zip", Variant("en_US", "ios", True, seconds=True, marks=True))
    result = cli("ingest", str(folder), "--custodian", "Jane Doe", "--json")
    assert result.exit_code == 0, result.stderr
    store = open_store(f"sqlite:///{home / 'case.db'}")
    with store.session() as session:
        rows = list(session.scalars(select(ItemRow)))
    store.engine.dispose()
    kinds = [row.kind for row in rows]
    assert kinds.count("chat_conversation") == 1 and kinds.count("chat_message") == 12
    conversation = next(row for row in rows if row.kind == "chat_conversation")
    attachments = [row for row in rows if row.kind == "attachment"]
    assert sorted(row.filename for row in attachments) == ["Alex.vcf", "IMG-20210305-WA0001.jpg"]
    messages = {row.id: row for row in rows if row.kind == "chat_message"}
    assert all(row.parent_id in messages for row in attachments)
    assert all(row.parent_id == conversation.id for row in messages.values())
    [edited] = [row for row in messages.values() if row.text == "Revised figures"]
    shown = cli("show", edited.id, "--json").json()
    assert shown["kind"] == "chat_message" and shown["metadata"]["edited"] is True
    assert shown["custodians"] == ["Jane Doe"] and shown["date"].startswith("2021-03-08T08:01")
