"""Microsoft Teams chats and channel messages as Microsoft Graph chatMessage JSON.

Accepted shapes: one chatMessage, a collection page `{"value": [...]}`, or the Graph crawler's
`{"chat": {...}, "messages": [...]}`. Bodies are HTML: sanitised with nh3, then reduced to text.
Attachments are references (names and URLs in metadata); they are not fetched.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from typing import Any, ClassVar

import nh3
from dateutil import parser as dateparser

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import CONTENT_SCORE, emit_conversations, read_native_json, report_errors
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError, emit_conversation
from indexer.registry import Probe, register

FORMAT_HINT = "application/vnd.microsoft.graph.chatmessages+json"
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_EMOJI = re.compile(r"<emoji\b[^>]*\balt=\"([^\"]*)\"[^>]*>(?:\s*</emoji>)?", re.I)


def html_to_text(content: str) -> str:
    """Visible text of an HTML body: sanitised first, so hostile markup never reaches a renderer."""
    content = _EMOJI.sub(lambda m: m.group(1), content)
    clean = nh3.clean(content, tags={"p", "br", "div", "li", "ul", "ol", "tr", "td", "blockquote", "b", "i", "a", "span"})
    text = _TAG.sub("", _BLOCK.sub("\n", clean))
    text = html.unescape(text).replace("\xa0", " ")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _moment(value: Any):  # type: ignore[no-untyped-def]
    if not value:
        return None
    try:
        return dateparser.isoparse(str(value))
    except (ValueError, OverflowError):
        return None


def _identity_name(identity: Any) -> tuple[str, str]:
    """(display name, id) of a Graph identitySet's user, application or device."""
    if not isinstance(identity, dict):
        return "", ""
    for key in ("user", "application", "device"):
        part = identity.get(key)
        if isinstance(part, dict):
            return str(part.get("displayName") or ""), str(part.get("id") or "")
    return "", ""


def _event_text(message: dict[str, Any]) -> str:
    detail = message.get("eventDetail") or {}
    kind = str(detail.get("@odata.type", "")).rsplit(".", 1)[-1].replace("EventDetail", "")
    initiator, _ = _identity_name(detail.get("initiator"))
    members = [str(m.get("displayName") or m.get("id") or "") for m in detail.get("members") or [] if isinstance(m, dict)]
    words = re.sub(r"(?<!^)([A-Z])", r" \1", kind).lower() if kind else "system event"
    text = f"{initiator or 'Someone'}: {words}"
    if members:
        text += " " + ", ".join(members)
    for key in ("chatDisplayName", "channelDisplayName", "callDuration"):
        if detail.get(key):
            text += f" ({key}: {detail[key]})"
    body = html_to_text(str((message.get("body") or {}).get("content") or ""))
    return f"{text}\n{body}".strip() if body else text


def message_from_graph(message: dict[str, Any]) -> ChatMessage:
    name, user_id = _identity_name(message.get("from"))
    body = message.get("body") or {}
    content = str(body.get("content") or "")
    text = html_to_text(content) if str(body.get("contentType", "html")).lower() == "html" else content
    kind = "system" if message.get("messageType") in ("systemEventMessage", "chatEvent") else "message"
    if kind == "system":
        text = _event_text(message)
    if message.get("subject"):
        text = f"{message['subject']}\n{text}"
    attachments = [
        {"name": a.get("name") or "", "url": a.get("contentUrl") or "", "content_type": a.get("contentType") or ""}
        for a in message.get("attachments") or []
        if isinstance(a, dict)
    ]
    reactions = []
    for reaction in message.get("reactions") or []:
        who, _ = _identity_name(reaction.get("user"))
        reactions.append({"reaction": reaction.get("reactionType") or reaction.get("displayName") or "", "by": who,
                          "at": reaction.get("createdDateTime")})
    # Files and link cards are referenced by name so they are searchable, never fetched.
    extra = [f"[attachment: {a['name'] or a['url']}]" for a in attachments if a["content_type"] != "messageReference"]
    if reactions:
        extra.append("[reactions: " + ", ".join(f"{r['reaction']} by {r['by'] or 'someone'}" for r in reactions) + "]")
    deleted = bool(message.get("deletedDateTime"))
    if deleted and not text:
        text = "[message deleted]"
    channel = message.get("channelIdentity") or {}
    return ChatMessage(
        sender=Person(name=name or ("System" if kind == "system" else "Unknown"), address=""),
        sent=_moment(message.get("createdDateTime")),
        text="\n".join([text, *extra]).strip(),
        kind=kind,
        edited=bool(message.get("lastEditedDateTime")),
        deleted=deleted,
        reply_to=str(message.get("replyToId") or ""),
        metadata={
            "message_id": str(message.get("id") or ""),
            "sender_id": user_id,
            "attachments": attachments,
            "has_attachment": bool(attachments),
            "reactions": reactions,
            "mentions": [m.get("mentionText") for m in message.get("mentions") or [] if isinstance(m, dict)],
            "importance": message.get("importance") or "",
            "web_url": message.get("webUrl") or "",
            "deleted_at": message.get("deletedDateTime"),
            "team_id": channel.get("teamId") or "",
            "channel_id": channel.get("channelId") or "",
        },
    )


def _conversation_key(message: dict[str, Any]) -> str:
    channel = message.get("channelIdentity") or {}
    if channel.get("channelId"):
        return f"channel-{channel.get('teamId', '')}-{channel['channelId']}"
    return f"chat-{message.get('chatId') or 'unknown'}"


def _looks_like_message(value: Any) -> bool:
    return isinstance(value, dict) and "body" in value and ("messageType" in value or "createdDateTime" in value)


def parse_graph_messages(document: Any) -> list[tuple[str, Conversation]]:
    """Conversations (keyed by chat or channel id) in a Graph chatMessage document, oldest message first."""
    chat: dict[str, Any] = {}
    errors: list[ParseError] = []
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        chat = document.get("chat") or {}
        raw = document["messages"]
    elif isinstance(document, dict) and isinstance(document.get("value"), list):
        raw = document["value"]
    elif _looks_like_message(document):
        raw = [document]
    elif isinstance(document, list):
        raw = document
    else:
        return [("unknown", Conversation("teams", "Teams messages", [], errors=[
            ParseError(1, str(document)[:200], "recognised JSON but not Microsoft Graph chatMessage JSON")]))]
    groups: OrderedDict[str, list[ChatMessage]] = OrderedDict()
    for number, entry in enumerate(raw, start=1):
        if not _looks_like_message(entry):
            errors.append(ParseError(number, str(entry)[:200], f"entry {number} is not a chatMessage"))
            continue
        key = f"chat-{chat['id']}" if chat.get("id") else _conversation_key(entry)
        groups.setdefault(key, []).append(message_from_graph(entry))
    conversations: list[tuple[str, Conversation]] = []
    members = [Person(name=str(m.get("displayName") or ""), address=str(m.get("email") or ""))
               for m in chat.get("members") or [] if isinstance(m, dict)]
    for key, messages in groups.items():
        messages.sort(key=lambda m: (m.sent is None, m.sent))
        if chat.get("topic"):
            title = str(chat["topic"])
        elif key.startswith("channel-"):
            title = f"Teams channel {key.rsplit('-', 1)[-1]}"
        else:
            names = sorted({m.sender.name for m in messages if m.kind == "message"} | {p.name for p in members if p.name})
            title = "Teams chat: " + ", ".join(names) if names else "Teams chat"
        conversations.append((key, Conversation("teams", title, messages, participants=list(members),
                                                metadata={"teams_key": key, "chat_type": chat.get("chatType", "")})))
    if not conversations:
        conversations.append(("empty", Conversation("teams", "Teams messages", [])))
    conversations[0][1].errors.extend(errors)
    return conversations


@register
class TeamsIngestor:
    name: ClassVar[str] = "teams"

    def score(self, probe: Probe) -> int:
        if probe.hint == FORMAT_HINT:
            return 50
        if probe.mime != "application/json":
            return 0
        head = probe.text_head()
        if '"messageType"' in head and '"body"' in head and ('"createdDateTime"' in head or '"chatId"' in head):
            return CONTENT_SCORE
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        loaded = read_native_json(native, "Teams chatMessage JSON")
        if loaded.error is not None:
            report_errors(item, [loaded.error], ctx)
            item.metadata["platform"] = "teams"
            return
        conversations = parse_graph_messages(loaded.value)
        if len(conversations) == 1:
            emit_conversation(item, conversations[0][1], ctx)
            return
        emit_conversations(item, conversations, ctx, platform="teams", title=f"Teams messages: {native.filename}")
