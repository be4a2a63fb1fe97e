"""Telegram Desktop JSON export (`result.json`): one chat, or a full export with `chats.list`.

Old exports give `text` as a string, new ones as an array of strings and entities (plus
`text_entities`). Times come from `date_unixtime` (UTC) when present, else `date` in the export's
local zone. Media paths (`photo`, `file`) are resolved against the export folder when the export
is ingested as a zip; a lone result.json reports "media not in the export".
"""

from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Any, ClassVar

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import (
    CONTENT_SCORE, ZIP_SCORE, ZipExport, emit_conversations, from_epoch, is_zip, load_json, localise,
    read_native_json, report_errors, zip_names_in_head,
)
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError, emit_conversation
from indexer.registry import Probe, register

NOT_INCLUDED = "(File not included"
MEDIA_KEYS = ("photo", "file")


def flatten_text(value: Any) -> str:
    """Plain text from a Telegram `text`: a string, or a list of strings and {type, text, href} entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for piece in value:
            if isinstance(piece, str):
                parts.append(piece)
            elif isinstance(piece, dict):
                text = str(piece.get("text") or "")
                href = piece.get("href")
                parts.append(f"{text} ({href})" if href and href != text else text)
        return "".join(parts)
    return ""


def _moment(message: dict[str, Any], zone: str) -> datetime | None:
    moment = from_epoch(message.get("date_unixtime"))
    if moment is not None:
        return moment
    try:
        return localise(datetime.fromisoformat(str(message.get("date"))), zone)
    except (TypeError, ValueError):
        return None


def _service_text(message: dict[str, Any]) -> str:
    actor = message.get("actor") or "Someone"
    action = str(message.get("action") or "service").replace("_", " ")
    text = f"{actor}: {action}"
    if message.get("members"):
        text += " " + ", ".join(str(m) for m in message["members"] if m)
    if message.get("title"):
        text += f" \u201c{message['title']}\u201d"
    if message.get("duration_seconds") is not None:
        text += f" ({message['duration_seconds']} s)"
    if message.get("discard_reason"):
        text += f" ({message['discard_reason']})"
    body = flatten_text(message.get("text"))
    return f"{text}\n{body}" if body else text


def message_from_telegram(message: dict[str, Any], zone: str) -> ChatMessage:
    service = message.get("type") == "service"
    sender = Person(name=str(message.get("from") or message.get("actor") or ("System" if service else "Unknown")),
                    address=str(message.get("from_id") or message.get("actor_id") or ""))
    text = _service_text(message) if service else flatten_text(message.get("text"))
    attachments: list[str] = []
    extra: list[str] = []
    kind = "system" if service else "message"
    for key in MEDIA_KEYS:
        reference = message.get(key)
        if not isinstance(reference, str) or not reference:
            continue
        if reference.startswith(NOT_INCLUDED):
            extra.append(f"[{key} not included in the export]")
        else:
            attachments.append(reference)
            extra.append(f"[{message.get('media_type') or key}: {posixpath.basename(reference)}]")
    if message.get("sticker_emoji"):
        extra.append(f"[sticker {message['sticker_emoji']}]")
    if isinstance(message.get("poll"), dict):
        kind = "poll"
        poll = message["poll"]
        answers = ", ".join(f"{a.get('text')} ({a.get('voters', 0)})" for a in poll.get("answers") or [] if isinstance(a, dict))
        extra.append(f"POLL: {poll.get('question', '')}: {answers}")
    if isinstance(message.get("location_information"), dict):
        kind = "location"
        where = message["location_information"]
        extra.append(f"[location {where.get('latitude')}, {where.get('longitude')}]")
    if isinstance(message.get("contact_information"), dict):
        kind = "contact"
        card = message["contact_information"]
        extra.append(f"[contact {card.get('first_name', '')} {card.get('last_name', '')} {card.get('phone_number', '')}]".replace("  ", " "))
    forwarded = message.get("forwarded_from")
    if forwarded:
        text = f"[forwarded from {forwarded}]\n{text}"
    return ChatMessage(
        sender=sender,
        sent=_moment(message, zone),
        text="\n".join(part for part in [text, *extra] if part),
        kind=kind,
        attachments=attachments,
        edited=bool(message.get("edited") or message.get("edited_unixtime")),
        reply_to=str(message.get("reply_to_message_id") or ""),
        metadata={"message_id": str(message.get("id", "")), "forwarded_from": forwarded or "",
                  "via_bot": message.get("via_bot") or "", "media_type": message.get("media_type") or ""},
    )


def _chat(chat: dict[str, Any], zone: str, number: int) -> tuple[str, Conversation]:
    messages: list[ChatMessage] = []
    errors: list[ParseError] = []
    for position, message in enumerate(chat.get("messages") or [], start=1):
        if not isinstance(message, dict) or "type" not in message:
            errors.append(ParseError(position, str(message)[:200], f"message {position} of chat {chat.get('name')!r} is not a Telegram message"))
            continue
        messages.append(message_from_telegram(message, zone))
    name = str(chat.get("name") or chat.get("type") or f"chat {number}")
    key = str(chat.get("id") or number)
    return key, Conversation("telegram", f"Telegram: {name}", messages, errors=errors,
                             metadata={"telegram_chat_id": chat.get("id"), "telegram_chat_type": chat.get("type", "")})


def parse_telegram_export(document: Any, zone: str = "Europe/London") -> list[tuple[str, Conversation]]:
    """Every chat in a Telegram Desktop export; unrecognised JSON gives one empty conversation with the error."""
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        return [_chat(document, zone, 1)]
    if isinstance(document, dict) and isinstance(document.get("chats"), dict):
        chats = [c for section in ("chats", "left_chats") for c in (document.get(section) or {}).get("list") or []
                 if isinstance(c, dict)]
        return [_chat(chat, zone, number) for number, chat in enumerate(chats, start=1)]
    return [("unknown", Conversation("telegram", "Telegram export", [], errors=[
        ParseError(1, str(document)[:200], "recognised JSON but not a Telegram Desktop export (no messages or chats.list)")]))]


def _looks_like_telegram(head: str) -> bool:
    if '"date_unixtime"' in head and ('"from"' in head or '"actor"' in head):
        return True
    return '"messages"' in head and '"type": "message"' in head and '"from_id"' in head or (
        '"chats"' in head and '"list"' in head and '"messages"' in head
    )


@register
class TelegramIngestor:
    name: ClassVar[str] = "telegram"

    def score(self, probe: Probe) -> int:
        if is_zip(probe):
            names = zip_names_in_head(probe.head)
            return ZIP_SCORE if any(posixpath.basename(n) == "result.json" for n in names) else 0
        if probe.mime == "application/json" and _looks_like_telegram(probe.text_head()):
            return CONTENT_SCORE
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        if native.probe.head.startswith(b"PK"):
            self._ingest_zip(item, native, ctx)
            return
        loaded = read_native_json(native, "Telegram export")
        self._emit(item, loaded.value, loaded.error, ctx, None, native.filename)

    def _ingest_zip(self, item: Item, native: Native, ctx: IngestContext) -> None:
        export = ZipExport(native.path)
        try:
            results = sorted((n for n in export.names() if posixpath.basename(n) == "result.json"), key=len)
            if not results:
                report_errors(item, [ParseError(1, "", "zip has no result.json: not a Telegram Desktop export")], ctx)
                return
            data = export.read(results[0]) or b""
            loaded = load_json(data, results[0])
            self._emit(item, loaded.value, loaded.error, ctx, export.media(posixpath.dirname(results[0])), native.filename)
        finally:
            export.close()

    def _emit(self, item: Item, document: Any, error: ParseError | None, ctx: IngestContext, media: Any, filename: str) -> None:
        item.metadata["platform"] = "telegram"
        if error is not None:
            report_errors(item, [error], ctx)
            return
        conversations = parse_telegram_export(document, ctx.timezone)
        full_export = isinstance(document, dict) and "chats" in document
        if len(conversations) == 1 and not full_export:
            emit_conversation(item, conversations[0][1], ctx, media)
            return
        emit_conversations(item, conversations, ctx, platform="telegram", title=f"Telegram export: {filename}", media=media)
