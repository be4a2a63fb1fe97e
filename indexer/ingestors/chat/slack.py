"""Slack workspace export zip: channels, private channels, DMs and group DMs, one folder of daily JSON each.

User ids become names (users.json), `<@U123>` mentions are rendered as `@Name`, thread replies
keep `thread_ts` as the message they reply to, and shared files are references (names and URLs
in metadata; Slack exports do not contain the files).
"""

from __future__ import annotations

import html
import posixpath
import re
from collections import defaultdict
from typing import Any, ClassVar

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import ZIP_SCORE, ZipExport, emit_conversations, from_epoch, is_zip, load_json, zip_names_in_head
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError
from indexer.registry import Probe, register

INDEX_FILES = {"channels.json": "channel", "groups.json": "private channel", "dms.json": "DM", "mpims.json": "group DM"}
_DAY = re.compile(r"^(?:.*/)?[^/]+/\d{4}-\d{2}-\d{2}\.json$")
_LINK = re.compile(r"<([@#!])?([^>|]*)(?:\|([^>]*))?>")


def _user_names(users: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("id"):
            profile = user.get("profile") or {}
            names[str(user["id"])] = str(user.get("real_name") or profile.get("real_name") or profile.get("display_name")
                                         or user.get("name") or user["id"])
    return names


def render_text(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """Slack's mrkdwn escapes rendered for reading: mentions as names, links as their labels."""

    def replace(match: re.Match[str]) -> str:
        sigil, target, label = match.group(1), match.group(2), match.group(3)
        if sigil == "@":
            return "@" + (users.get(target) or label or target)
        if sigil == "#":
            return "#" + (label or channels.get(target) or target)
        if sigil == "!":
            return "@" + (label or target.split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_LINK.sub(replace, text or ""))


def message_from_slack(raw: dict[str, Any], users: dict[str, str], channels: dict[str, str]) -> ChatMessage:
    user_id = str(raw.get("user") or raw.get("bot_id") or "")
    profile = raw.get("user_profile") or {}
    name = users.get(user_id) or profile.get("real_name") or raw.get("username") or user_id or "Unknown"
    files = [f for f in ([*(raw.get("files") or []), raw.get("file")]) if isinstance(f, dict)]
    references = [{"name": f.get("name") or f.get("title") or "", "title": f.get("title") or "",
                   "url": f.get("url_private") or f.get("permalink") or "", "mimetype": f.get("mimetype") or ""} for f in files]
    cards = [a for a in raw.get("attachments") or [] if isinstance(a, dict)]
    text = render_text(str(raw.get("text") or ""), users, channels)
    extra = [f"[file: {r['name'] or r['title']}]" for r in references]
    extra += [f"[{c.get('service_name') or 'link'}: {c.get('title') or c.get('fallback') or ''}]" for c in cards if c.get("title") or c.get("fallback")]
    reactions = [{"reaction": r.get("name"), "by": [users.get(u, u) for u in r.get("users") or []]}
                 for r in raw.get("reactions") or [] if isinstance(r, dict)]
    if reactions:
        extra.append("[reactions: " + ", ".join(f":{r['reaction']}: by {', '.join(r['by'])}" for r in reactions) + "]")
    subtype = str(raw.get("subtype") or "")
    system = subtype in ("channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                         "channel_archive", "channel_unarchive", "group_join", "group_leave", "pinned_item")
    ts, thread = str(raw.get("ts") or ""), str(raw.get("thread_ts") or "")
    return ChatMessage(
        sender=Person(name=str(name), address=user_id),
        sent=from_epoch(ts.split(".")[0]),  # the part after the dot is a sequence number, not a fraction
        text="\n".join(p for p in [text, *extra] if p),
        kind="system" if system else "message",
        edited=bool(raw.get("edited")),
        deleted=subtype == "tombstone",
        reply_to=thread if thread and thread != ts else "",
        metadata={"slack_ts": ts, "thread_ts": thread, "subtype": subtype, "files": references,
                  "has_attachment": bool(references), "reactions": reactions, "reply_count": raw.get("reply_count", 0)},
    )


def parse_slack_export(export: ZipExport) -> tuple[list[tuple[str, Conversation]], list[ParseError]]:
    """Every channel and DM in a Slack export zip, messages in time order; damaged files are errors."""
    errors: list[ParseError] = []
    names = export.names()
    root = ""
    for name in names:
        if posixpath.basename(name) in ("channels.json", "users.json"):
            root = posixpath.dirname(name)
            break

    def read_json(name: str) -> Any:
        data = export.read(posixpath.join(root, name) if root else name)
        if data is None:
            return None
        loaded = load_json(data, name)
        if loaded.error is not None:
            errors.append(loaded.error)
        return loaded.value

    users = _user_names(read_json("users.json"))
    folders: dict[str, tuple[str, str, list[str]]] = {}  # folder -> (id, title, member names)
    channel_names: dict[str, str] = {}
    for index_file, label in INDEX_FILES.items():
        for entry in read_json(index_file) or []:
            if not isinstance(entry, dict):
                continue
            members = [users.get(m, m) for m in entry.get("members") or []]
            folder = str(entry.get("name") or entry.get("id") or "")
            if label == "DM":
                folder = str(entry.get("id"))
                title = f"Slack DM: {', '.join(members)}"
            else:
                title = f"Slack {label}: #{entry.get('name')}" if label != "group DM" else f"Slack group DM: {', '.join(members)}"
            channel_names[str(entry.get("id"))] = str(entry.get("name") or entry.get("id"))
            folders[folder] = (str(entry.get("id") or folder), title, members)
    days: dict[str, list[str]] = defaultdict(list)
    for name in names:
        relative = name[len(root) + 1:] if root else name
        if _DAY.match(relative) and relative.count("/") == 1:
            days[relative.split("/")[0]].append(name)
    conversations: list[tuple[str, Conversation]] = []
    for folder in sorted(days):
        key, title, members = folders.get(folder, (folder, f"Slack channel: #{folder}", []))
        messages: list[ChatMessage] = []
        for day in sorted(days[folder]):
            data = export.read(day)
            loaded = load_json(data or b"", day)
            if loaded.error is not None:
                errors.append(loaded.error)
                continue
            for number, raw in enumerate(loaded.value if isinstance(loaded.value, list) else [], start=1):
                if not isinstance(raw, dict) or "ts" not in raw:
                    errors.append(ParseError(number, f"{day}: {str(raw)[:150]}", f"{day}: entry {number} is not a Slack message"))
                    continue
                messages.append(message_from_slack(raw, users, channel_names))
        messages.sort(key=lambda m: (m.sent is None, m.sent))
        conversations.append((key, Conversation("slack", title, messages, participants=[Person(name=n) for n in members],
                                                metadata={"slack_folder": folder, "slack_id": key})))
    if not conversations and not folders:
        errors.append(ParseError(1, ", ".join(names[:5]), "zip has no channels.json, users.json or channel folders: not a Slack export"))
    return conversations, errors


@register
class SlackIngestor:
    name: ClassVar[str] = "slack"

    def score(self, probe: Probe) -> int:
        if not is_zip(probe):
            return 0
        names = zip_names_in_head(probe.head)
        index = sum(posixpath.basename(n) in ("channels.json", "users.json", "dms.json", "mpims.json") for n in names)
        days = sum(bool(_DAY.match(n)) for n in names)
        return ZIP_SCORE if index >= 1 and (days or index >= 2) or (days >= 2 and "slack" in probe.filename.lower()) else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        export = ZipExport(native.path)
        try:
            conversations, errors = parse_slack_export(export)
        finally:
            export.close()
        emit_conversations(item, conversations, ctx, platform="slack", title=f"Slack export: {native.filename}", errors=errors)
        item.metadata["message_count"] = sum(len(c.messages) for _, c in conversations)
