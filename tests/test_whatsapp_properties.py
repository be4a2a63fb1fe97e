"""Property tests: the WhatsApp parser never crashes and never loses a line, whatever it is fed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_fixtures import Variant, render
from indexer.ingestors.chat.whatsapp_parser import input_lines, parse_whatsapp

HEADERS = [
    "03/03/2021, 09:05 - ", "[3/3/21, 9:05:12 AM] ", "2021-03-03 09:05 - ", "[29.01.18, 23:59:03] ",
    "٣\u200f/٣\u200f/٢٠٢١، ٩:٠٥ ص - ", "[2021. 3. 3. 오후 2:05:12] ", "31/13/2021, 25:61 - ", "\ufeff\u200e[",
]
PIECES = st.one_of(
    st.sampled_from(HEADERS),
    st.sampled_from(["Alice: ", "+44 7700 900123: ", "<Media omitted>", "POLL:", "OPTION: x (2 votes)", " <This message was edited>"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)
LINES = st.lists(st.lists(PIECES, max_size=4).map("".join), max_size=25)


def assert_every_line_accounted_for(text: str) -> None:
    conversation = parse_whatsapp(text)
    lines = input_lines(text)
    owners = [0] * (len(lines) + 1)
    for message in conversation.messages:
        assert 1 <= message.first_line <= message.last_line <= len(lines)
        for number in range(message.first_line, message.last_line + 1):
            owners[number] += 1
    for error in conversation.errors:
        owners[error.line] += 1
    assert owners[1:] == [1] * len(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES, st.sampled_from(["\n", "\r\n"]))
def test_any_text_parses_without_crashing_and_keeps_every_line(lines: list[str], newline: str):
    assert_every_line_accounted_for(newline.join(lines))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_unicode_never_crashes(text: str):
    assert_every_line_accounted_for(text)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_damaging_a_real_export_still_keeps_every_line(data: st.DataObject):
    lines = render(Variant("de", "ios", False, seconds=True, marks=True)).split("\n")
    position = data.draw(st.integers(0, len(lines) - 1))
    lines[position] = data.draw(st.text(max_size=40)) + lines[position][data.draw(st.integers(0, 12)):]
    assert_every_line_accounted_for("\n".join(lines))


def test_a_damaged_first_line_is_an_error_naming_that_line():
    conversation = parse_whatsapp("garbage at the top\n03/03/2021, 09:05 - Alice: hi\n")
    assert [(e.line, e.text) for e in conversation.errors] == [(1, "garbage at the top")]
    assert conversation.errors[0].reason.startswith("first unreadable line")
    assert [m.text for m in conversation.messages] == ["hi"]


def test_not_a_whatsapp_export_puts_every_line_in_errors():
    conversation = parse_whatsapp("Dear Sir,\nplease find attached.\n")
    assert conversation.messages == [] and [e.line for e in conversation.errors] == [1, 2]
