"""The same WhatsApp conversation, exported in every language and clock style, parses identically."""

from __future__ import annotations

from datetime import timezone

import pytest

from chat_fixtures import (
    ALICE, BOB, CONVERSATION, LOCALES, Variant, dmy_ambiguous_lines, expected_messages, render, variants,
)
from indexer.ingestors.chat.whatsapp_parser import parse_whatsapp


def parsed_summary(text: str) -> list[tuple]:
    conversation = parse_whatsapp(text, "Europe/London")
    assert conversation.errors == []
    summary = []
    for m in conversation.messages:
        who = m.sender.address or m.sender.name
        body = None if m.kind == "system" else m.text
        summary.append((who, m.sent.astimezone(timezone.utc), m.kind, m.deleted, m.edited, body))
    return summary


@pytest.mark.parametrize("variant", variants(), ids=lambda v: v.name)
def test_every_variant_parses_to_the_same_messages(variant: Variant):
    assert parsed_summary(render(variant)) == expected_messages()


@pytest.mark.parametrize("variant", variants(), ids=lambda v: v.name)
def test_media_names_line_spans_and_poll_options_survive_every_variant(variant: Variant):
    conversation = parse_whatsapp(render(variant))
    media = [(m.attachments) for m in conversation.messages]
    assert media == [[line.media] if line.media else [] for line in CONVERSATION]
    assert [(m.first_line, m.last_line) for m in conversation.messages][2] == (3, 6)
    poll = next(m for m in conversation.messages if m.kind == "poll")
    assert poll.metadata["question"] == "Lunch?"
    assert poll.metadata["options"] == [{"option": "Pizza", "votes": 2}, {"option": "Sushi", "votes": 1}]
    location = next(m for m in conversation.messages if m.kind == "location")
    assert (location.metadata["latitude"], location.metadata["longitude"]) == (51.5007, -0.1246)


def test_summer_time_is_converted_with_the_british_summer_offset():
    conversation = parse_whatsapp(render(Variant("en_GB", "android", False, seconds=False)))
    summer = next(m for m in conversation.messages if m.text.startswith("Summer"))
    assert summer.sent.utcoffset().total_seconds() == 3600
    assert summer.sent.astimezone(timezone.utc).hour == 13


@pytest.mark.parametrize("locale", ["en_GB", "de", "fr", "en_US"])
def test_day_month_order_is_inferred_from_the_whole_file_when_no_field_exceeds_twelve(locale: str):
    lines = dmy_ambiguous_lines()
    text = render(Variant(locale, "android", LOCALES[locale].twelve, seconds=False), lines)
    conversation = parse_whatsapp(text)
    assert [m.sent.astimezone(timezone.utc) for m in conversation.messages] == [line.utc for line in lines]
    assert "span fewer days" in conversation.metadata["date_order_reason"] or "forward" in conversation.metadata["date_order_reason"]


def test_one_date_only_falls_back_to_the_documented_tie_rule():
    uk = parse_whatsapp("03/04/2021, 10:00 - Alice: hi\n03/04/2021, 10:01 - Bob: yo\n")
    us = parse_whatsapp("3/4/21, 10:00 AM - Alice: hi\n3/4/21, 10:01 AM - Bob: yo\n")
    assert (uk.messages[0].sent.month, uk.messages[0].sent.day) == (4, 3)
    assert (us.messages[0].sent.month, us.messages[0].sent.day) == (3, 4)
    assert uk.metadata["date_order_reason"].startswith("tie")


def test_a_single_line_cannot_flip_the_order_for_the_rest_of_the_file():
    text = "01/02/2021, 10:00 - Alice: a\n13/02/2021, 10:00 - Bob: b\n02/03/2021, 10:00 - Alice: c\n"
    months = [m.sent.month for m in parse_whatsapp(text).messages]
    assert months == [2, 2, 3]


def test_autumn_ambiguous_hour_is_recorded_and_spring_gap_shifted_forward():
    text = "31/10/2021, 01:30 - Alice: which one?\n28/03/2021, 01:30 - Bob: never happened\n"
    autumn, spring = parse_whatsapp(text, "Europe/London").messages
    assert autumn.metadata["ambiguous_time"] is True
    assert autumn.sent.astimezone(timezone.utc).hour == 0  # fold=0: the first 01:30 (BST)
    assert spring.metadata["nonexistent_time"] is True
    assert spring.sent.astimezone(timezone.utc).hour == 1 and spring.sent.hour == 2


def test_other_timezones_are_used_for_local_times():
    [message] = parse_whatsapp("15/01/2021, 09:00 - Alice: hi\n", "America/New_York").messages
    assert message.sent.astimezone(timezone.utc).hour == 14


def test_senders_given_as_numbers_go_in_the_address_in_e164():
    conversation = parse_whatsapp(render(Variant("en_GB", "ios", False, seconds=True)))
    people = {(p.name, p.address) for p in conversation.everyone()}
    assert people == {(ALICE, ""), (BOB, ""), ("", "+447700900123")}
