"""The shape every chat parser returns, and how a parsed conversation becomes items."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Callable

from disclose.items import Item, Kind, Participants, Person
from indexer.context import IngestContext


@dataclass
class ChatMessage:
    sender: Person
    sent: datetime | None  # aware; converted to UTC when stored
    text: str
    kind: str = "message"  # message, system, call, poll, location, contact
    attachments: list[str] = field(default_factory=list)  # file names the message refers to
    edited: bool = False
    deleted: bool = False
    reply_to: str = ""  # the id the platform gives the quoted message, if any
    first_line: int = 0  # 1-based line span in a text export, for "never drops a line"
    last_line: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParseError:
    line: int  # 1-based
    text: str
    reason: str


@dataclass
class Conversation:
    platform: str  # whatsapp, teams, sms, telegram, slack, signal, messenger, screenshot
    title: str
    messages: list[ChatMessage]
    participants: list[Person] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def everyone(self) -> list[Person]:
        seen: dict[tuple[str, str], Person] = {}
        for person in [*self.participants, *(m.sender for m in self.messages if m.kind != "system")]:
            seen.setdefault((person.name, person.address), person)
        return list(seen.values())


def message_hash(platform: str, message: ChatMessage) -> str:
    """Two custodians' exports of the same chat give the same hash for the same message."""
    moment = message.sent.isoformat() if message.sent else ""
    key = "\x1f".join([platform, message.sender.name or message.sender.address, moment, message.text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def emit_conversation(
    conversation_item: Item,
    conversation: Conversation,
    ctx: IngestContext,
    media: Callable[[str], bytes | None] | None = None,
) -> None:
    """Make `conversation_item` the chat_conversation and emit one chat_message per message.

    Attachments the messages name are fetched with `media` and become `attachment` children of
    their message. Parse errors become exceptions-report entries naming the line.
    """
    dates = [m.sent for m in conversation.messages if m.sent]
    people = describe_conversation(
        conversation_item,
        conversation,
        ctx,
        people=conversation.everyone(),
        message_count=len(conversation.messages),
        first=min(dates) if dates else None,
        last=max(dates) if dates else None,
    )
    for position, message in enumerate(conversation.messages, start=1):
        emit_message(conversation_item, conversation.platform, people, position, message, ctx, media)


def describe_conversation(
    item: Item,
    conversation: Conversation,
    ctx: IngestContext,
    *,
    people: list[Person],
    message_count: int,
    first: datetime | None,
    last: datetime | None,
) -> list[Person]:
    """Fill in the chat_conversation item from a summary, so a streaming parser need not hold every
    message (`conversation.messages` is not read). Returns the participants for `emit_message`."""
    item.kind = Kind.CHAT_CONVERSATION
    item.title = conversation.title or item.title
    item.participants = Participants(sender=[], to=people)
    item.metadata.update(
        {
            "platform": conversation.platform,
            "conversation_id": item.id,
            "message_count": message_count,
            "first_message": first.isoformat() if first else None,
            "last_message": last.isoformat() if last else None,
            **conversation.metadata,
        }
    )
    if first:
        item.set_date(first, "export")
    item.text = "\n".join(p.label() for p in people)
    for error in conversation.errors:
        ctx.problem(item, "parse", f"line {error.line}: {error.reason}: {error.text[:200]}")
    return people


def emit_message(
    item: Item,
    platform: str,
    people: list[Person],
    position: int,
    message: ChatMessage,
    ctx: IngestContext,
    media: Callable[[str], bytes | None] | None = None,
) -> Item:
    """Emit one chat_message (and its attachment children) under the chat_conversation `item`."""
    others = [p for p in people if (p.name, p.address) != (message.sender.name, message.sender.address)]
    fields: dict[str, Any] = {
        "title": f"{message.sender.label()}: {message.text[:80]}",
        "text": message.text,
        "participants": Participants(sender=[message.sender], to=others),
        "content_hash": message_hash(platform, message),
        "metadata": {
            "platform": platform,
            "conversation_id": item.id,
            "conversation_title": item.title,
            "position": position,
            "message_kind": message.kind,
            "edited": message.edited,
            "deleted": message.deleted,
            "reply_to": message.reply_to,
            "lines": [message.first_line, message.last_line],
            "has_attachment": bool(message.attachments),
            **message.metadata,
        },
    }
    child = ctx.derived(item, f"message/{position}", Kind.CHAT_MESSAGE, **fields)
    child.set_date(message.sent, "export")
    ctx.emit(child)
    for number, name in enumerate(message.attachments, start=1):
        data = media(name) if media else None
        if data is None:
            ctx.problem(child, "attachment", f"media not in the export: {name}")
            continue
        # The export's folder path is kept in the locator and metadata; the file name is just the name.
        ctx.child(child, f"media/{number}/{name}", filename=PurePosixPath(name.replace("\\", "/")).name, data=data,
                  kind=Kind.ATTACHMENT, fields={"metadata": {"export_path": name}})
    return child
