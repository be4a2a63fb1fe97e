"""Signal plain-text exports (Signal has no native text export; third-party tools write these).

Documented line format, one message per header line, continuation lines belong to the message above:

    [YYYY-MM-DD, HH:MM] Sender Name: text        (chat-miner / signal-export text)
    [YYYY-MM-DD HH:MM] Sender Name: text         (signal-export markdown, optional :SS)
    [YYYY-MM-DD HH:MM:SS] Sender Name: text      (signalbackup-tools --exporttxt)

Times are local to the export's phone and converted with the run's timezone. A `> ` prefix on
the first text line marks a quoted reply; attachments appear as `![name](media/file)` links.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import localise
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError, emit_conversation
from indexer.registry import Probe, register

HEADER = re.compile(r"^\[(\d{4})-(\d{2})-(\d{2})(,?) (\d{1,2}):(\d{2})(?::(\d{2}))?\] ([^:\n]{1,100}?): ?(.*)$")
ATTACHMENT = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
MAX_BYTES = 512 * 1024 * 1024


def parse_signal_text(text: str, zone: str = "Europe/London", title: str = "Signal chat") -> Conversation:
    """Messages from a Signal text export; lines before the first header are errors, never dropped."""
    messages: list[ChatMessage] = []
    errors: list[ParseError] = []
    lines = text.lstrip("\ufeff").splitlines()
    for number, line in enumerate(lines, start=1):
        match = HEADER.match(line)
        if match:
            year, month, day, _comma, hour, minute, second, sender, body = match.groups()
            try:
                moment = localise(datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0)), zone)
            except ValueError:
                errors.append(ParseError(number, line, "the date or time is not a real one"))
                continue
            messages.append(ChatMessage(sender=Person(name=sender.strip()), sent=moment, text=body,
                                        first_line=number, last_line=number))
        elif messages:
            messages[-1].text += "\n" + line
            messages[-1].last_line = number
        elif line.strip():
            errors.append(ParseError(number, line, "recognised a Signal text export but this line is before the first message"))
    for message in messages:
        message.attachments = ATTACHMENT.findall(message.text)
        if message.text.startswith("> "):
            message.metadata["quoted"] = True
    return Conversation("signal", title, messages, errors=errors)


def _signal_headers(head: str) -> tuple[int, bool]:
    """How many of the first lines are Signal headers, and whether they have WhatsApp iOS's 'date, time:seconds' form."""
    lines = [line for line in head.lstrip("\ufeff").splitlines()[:20] if line.strip()]
    matches = [HEADER.match(line) for line in lines]
    found = [m for m in matches if m]
    whatsapp_like = bool(found) and all(m.group(4) == "," and m.group(7) for m in found)
    return len(found), whatsapp_like


@register
class SignalIngestor:
    name: ClassVar[str] = "signal"

    def score(self, probe: Probe) -> int:
        if probe.mime not in ("text/plain", "application/json"):  # a leading "[" sniffs as JSON
            return 0
        count, whatsapp_like = _signal_headers(probe.text_head()[:8192])
        if not count:
            return 0
        named = "signal" in probe.filename.lower()
        # "[yyyy-mm-dd, hh:mm:ss]" is also how WhatsApp on iOS writes ISO dates: leave those to it.
        # WhatsApp never brackets an ISO date without seconds, so the other forms are Signal's and
        # must beat the WhatsApp ingestor's score (50).
        if whatsapp_like and not named:
            return 3
        return 60

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        if native.size > MAX_BYTES:
            ctx.problem(item, "parse", f"Signal export of {native.size} bytes is over the {MAX_BYTES} byte limit")
            return
        text = native.read().decode("utf-8", errors="replace")
        title = f"Signal: {native.filename.rsplit('.', 1)[0]}"
        emit_conversation(item, parse_signal_text(text, ctx.timezone, title), ctx)
