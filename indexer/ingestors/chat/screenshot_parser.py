"""Chat bubbles from the OCR of a phone screenshot, or None when the image is not a chat.

Words are joined into rows (vertical overlap) and rows into segments (horizontal gaps), segments
into bubbles (small vertical gaps, same side). Left-aligned bubbles are the other party,
right-aligned ones the phone's owner. A time at a bubble's end is read even when OCR mangles it
(`14:05`, `2:05 pm`, `1405`, `14.05`, `14 05`, `09-41`); centred dates (`Today`, `3 March 2021`,
`03/03/2021`) set the day of the bubbles below them; the name in the top bar is the other party.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from statistics import median
from typing import TYPE_CHECKING

from dateutil import parser as dateparser

from disclose.items import Person
from indexer.ingestors.chat.exports import localise
from indexer.ingestors.chat.model import ChatMessage, Conversation

if TYPE_CHECKING:
    from indexer.ocr import OcrResult, OcrWord

OWNER = "Screenshot owner"
HEADER_BAND = 0.12  # the app's title bar: the other party's name
_TIME = re.compile(r"^(\d{1,2})[:.\-·,\s]?(\d{2})(?:\s*([ap])\.?\s*m\.?)?$", re.I)
_RELATIVE = {"today", "yesterday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_JUNK = re.compile(r"^[^\w]*$|^(v|vv|w|vw|wv|\u2713+)$", re.I)  # read-receipt ticks and stray marks


@dataclass
class Segment:
    words: list["OcrWord"]

    @property
    def left(self) -> int:
        return min(w.left for w in self.words)

    @property
    def right(self) -> int:
        return max(w.left + w.width for w in self.words)

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.top + w.height for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Bubble:
    side: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def bottom(self) -> int:
        return self.segments[-1].bottom

    def words(self) -> list["OcrWord"]:
        return [w for s in self.segments for w in s.words]


def _segments(words: list["OcrWord"]) -> list[Segment]:
    """Rows of words that overlap vertically, split where a horizontal gap separates two bubbles."""
    # Stand-alone punctuation is OCR noise from bubble tails, avatars and ticks.
    usable = [w for w in words if any(c.isalnum() for c in w.text) and w.height > 0]
    usable.sort(key=lambda w: (w.top + w.height / 2, w.left))
    rows: list[list["OcrWord"]] = []
    for word in usable:
        centre = word.top + word.height / 2
        for row in rows:
            top, bottom = min(w.top for w in row), max(w.top + w.height for w in row)
            if top <= centre <= bottom or abs(centre - (top + bottom) / 2) < word.height * 0.4:
                row.append(word)
                break
        else:
            rows.append([word])
    segments: list[Segment] = []
    for row in rows:
        row.sort(key=lambda w: w.left)
        height = median(w.height for w in row)
        current = [row[0]]
        for word in row[1:]:
            if word.left - (current[-1].left + current[-1].width) > 3 * height:
                segments.append(Segment(current))
                current = []
            current.append(word)
        segments.append(Segment(current))
    segments.sort(key=lambda s: s.top)
    return segments


def parse_time(text: str) -> time | None:
    """A clock time as a chat shows it, tolerating OCR's lost or changed colons."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2)), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _trailing_time(words: list["OcrWord"]) -> tuple[time | None, int]:
    """The time at the end of a bubble and how many words it (and any tick marks after it) take."""
    tokens = [w.text for w in words]
    ticks = 0
    while ticks < len(tokens) and ticks < 2 and _JUNK.match(tokens[-1 - ticks]):
        ticks += 1
    body = tokens[: len(tokens) - ticks]
    for size in (3, 2, 1):
        if len(body) < size:
            continue
        moment = parse_time(" ".join(body[-size:]))
        if moment is not None:
            return moment, size + ticks
    return None, 0


def parse_date_separator(text: str) -> tuple[date | None, str] | None:
    """(the date, the label) when a centred line is a date separator; None when it is not one."""
    label = text.strip().strip("-\u2014 ")
    if not label or len(label) > 30:
        return None
    if label.lower() in _RELATIVE:
        return None, label
    if parse_time(label) is not None:
        return None
    month_named = re.search(r"\d.*\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d", label, re.I)
    numeric = re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}", label)
    if not (month_named or numeric):
        return None
    try:
        moment = dateparser.parse(label, dayfirst=True, fuzzy=False, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    if moment.year == 1900:
        return None, label
    return moment.date(), label


def _side(segment: Segment, width: int) -> str:
    centre = (segment.left + segment.right) / 2
    if segment.left < 0.25 * width and segment.right < 0.85 * width:
        return "left"
    if segment.right > 0.75 * width and segment.left > 0.2 * width:
        return "right"
    if abs(centre - width / 2) < 0.08 * width:
        return "centre"
    return "left" if centre < width / 2 else "right"


def chat_from_ocr(ocr: "OcrResult", image_width: int, image_height: int, zone: str = "Europe/London") -> Conversation | None:
    """The conversation a chat screenshot shows, or None when the OCR does not look like one."""
    width = image_width or ocr.width
    height = image_height or ocr.height
    if not ocr.words or not width or not height:
        return None
    segments = _segments(ocr.words)
    header_segments = [s for s in segments if s.bottom < HEADER_BAND * height and parse_date_separator(s.text) is None]
    body = [s for s in segments if s not in header_segments]
    if body and sum(s.right - s.left > 0.8 * width for s in body) > len(body) / 2:
        return None  # full-width lines: a document or web page, not bubbles
    header = ""
    for segment in header_segments:
        letters = sum(c.isalpha() for c in segment.text)
        if letters >= 2 and parse_time(segment.text) is None and letters > sum(c.isalpha() for c in header):
            header = segment.text
    line_height = median(w.height for s in body for w in s.words) if body else 0
    bubbles: list[Bubble] = []
    day: tuple[date | None, str] | None = None
    days: dict[int, tuple[date | None, str] | None] = {}
    for segment in body:
        side = _side(segment, width)
        if side == "centre" or not bubbles:
            separator = parse_date_separator(segment.text)
            if separator is not None:
                day = separator
                continue
        is_time = parse_time(segment.text) is not None
        previous = bubbles[-1] if bubbles else None
        close = previous is not None and segment.top - previous.bottom < 1.1 * line_height
        if previous is not None and close and (is_time or side == previous.side):
            previous.segments.append(segment)
            continue
        if side == "centre":
            side = "system"
        bubbles.append(Bubble(side, [segment]))
        days[id(bubbles[-1])] = day
    messages: list[ChatMessage] = []
    timed = 0
    for bubble in bubbles:
        words = bubble.words()
        moment, used = _trailing_time(words)
        text_words = words[: len(words) - used] if used else words
        text = "\n".join(" ".join(w.text for w in s.words if w in text_words) for s in bubble.segments).strip()
        if not text:
            continue
        timed += moment is not None
        shown_day = days.get(id(bubble))
        sent = None
        if moment is not None and shown_day is not None and shown_day[0] is not None:
            sent = localise(datetime.combine(shown_day[0], moment), zone)
        other = Person(name=header or "Other party")
        sender = Person(name=OWNER) if bubble.side == "right" else other
        confidences = [w.confidence for w in words if w.confidence >= 0]
        messages.append(ChatMessage(
            sender=sender if bubble.side != "system" else Person(name="System"),
            sent=sent,
            text=text,
            kind="system" if bubble.side == "system" else "message",
            metadata={
                "time_shown": moment.strftime("%H:%M") if moment else "",
                "date_shown": shown_day[1] if shown_day else "",
                "bubble_side": bubble.side,
                "bubble_box": [min(s.left for s in bubble.segments), bubble.segments[0].top,
                               max(s.right for s in bubble.segments), bubble.bottom],
                "word_confidence": round(sum(confidences) / len(confidences), 1) if confidences else None,
            },
        ))
    sides = {m.metadata["bubble_side"] for m in messages}
    chatty = len(messages) >= 2 and (timed * 2 >= len(messages) or ({"left", "right"} <= sides and timed >= 1))
    if not chatty:
        return None
    title = f"Screenshot chat with {header}" if header else "Screenshot chat"
    return Conversation("screenshot", title, messages, participants=[Person(name=header or "Other party"), Person(name=OWNER)],
                        metadata={"derived_from_ocr": True, "ocr_confidence": ocr.mean_confidence})
