"""Real WhatsApp exports from the shared corpus (see its SOURCES.tsv) parse cleanly."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from indexer.ingestors.chat.whatsapp_parser import looks_like_whatsapp, parse_whatsapp

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "whatsapp"
FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.exists() else []
pytestmark = pytest.mark.skipif(not FILES, reason="shared WhatsApp corpus not present")

# What SOURCES.tsv says each family of files holds: the first message's UTC date and a sender.
EXPECTED = {
    "WhatsR__english": (datetime(2018, 1, 29, tzinfo=timezone.utc), "Alice"),
    "WhatsR__german": (datetime(2018, 1, 29, tzinfo=timezone.utc), "Alice"),
    "chat-miner__": (datetime(2019, 1, 1, tzinfo=timezone.utc), "John Doe"),
    "port-whatsapp-datadonation__data__chat": (datetime(2022, 3, 16, tzinfo=timezone.utc), "person1"),
    "whats_json__WhatsApp_Chat_-_Dmitry_S": (datetime(2022, 3, 18, tzinfo=timezone.utc), "Dmitry S"),
    "whats_json__WhatsApp_Chat_-_Elon_Musk": (datetime(2022, 3, 18, tzinfo=timezone.utc), "Dmitry S"),
    "whats_json__WhatsApp_Chat_-_Group_Chat_XXX": (datetime(2023, 1, 11, tzinfo=timezone.utc), "Dmitry S"),
    "whats_json__WhatsApp_Chat_with_Dmitry_S": (datetime(2022, 3, 23, tzinfo=timezone.utc), "Dmitry S"),
    "whats_json__deutch_android_media": (datetime(2022, 3, 23, tzinfo=timezone.utc), "Dmitry S"),
    "whatstk__lorem": (datetime(2020, 1, 15, tzinfo=timezone.utc), "Mary"),
    "whatstk__pokemon": (datetime(2016, 4, 15, tzinfo=timezone.utc), "Ash Ketchum"),
}


def expectation(path: Path) -> tuple[datetime, str]:
    [key] = [key for key in EXPECTED if path.name.startswith(key)]
    return EXPECTED[key]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_export_parses_without_errors_and_with_sensible_senders_and_dates(path: Path):
    text = path.read_text(encoding="utf-8")
    assert looks_like_whatsapp(text[:4000])
    conversation = parse_whatsapp(text)
    assert conversation.errors == []
    assert len(conversation.messages) >= 9
    first_date, sender = expectation(path)
    assert conversation.messages[0].sent.astimezone(timezone.utc).date() == first_date.date()
    names = {m.sender.name for m in conversation.messages}
    assert sender in names
    for message in conversation.messages:
        assert message.sent is not None and 2015 <= message.sent.year <= 2024
        assert len(message.sender.name) < 40 and ":" not in message.sender.name


def test_media_deleted_and_system_lines_in_the_android_corpus_export():
    path = CORPUS / "whats_json__WhatsApp_Chat_with_Dmitry_S_EN_Android.txt"
    conversation = parse_whatsapp(path.read_text(encoding="utf-8"))
    kinds = [m.kind for m in conversation.messages]
    assert kinds[0] == "system" and conversation.messages[0].metadata["system_event"] == "encryption"
    assert sum(m.deleted for m in conversation.messages) == 8
    assert ["Alex.vcf"] in [m.attachments for m in conversation.messages]
    assert sum(bool(m.metadata.get("media_omitted")) for m in conversation.messages) >= 20
    assert "location" in kinds and "call" in kinds


def test_ios_attachments_and_phone_sender_in_the_ios_corpus_export():
    conversation = parse_whatsapp((CORPUS / "whats_json__WhatsApp_Chat_-_Dmitry_S.txt").read_text(encoding="utf-8"))
    attachments = [name for m in conversation.messages for name in m.attachments]
    assert "00000035-PHOTO-2022-03-27-21-41-55.jpg" in attachments and "00000046-Some file.txt" in attachments
    assert {"", "+405210286218"} >= {m.sender.address for m in conversation.messages}
    assert any(m.sender.address == "+405210286218" and m.deleted for m in conversation.messages)


def test_group_subject_is_taken_from_the_system_messages():
    conversation = parse_whatsapp((CORPUS / "whats_json__WhatsApp_Chat_-_Group_Chat_XXX.txt").read_text(encoding="utf-8"))
    assert conversation.title == "Group Chat XXX"
    events = {m.metadata.get("system_event") for m in conversation.messages if m.kind == "system"}
    assert {"encryption", "subject", "icon", "disappearing_messages", "joined", "removed"} <= events
