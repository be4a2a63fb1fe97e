"""Facebook Messenger and Instagram direct messages from Meta's JSON download (`message_1.json`).

Meta writes UTF-8 text as if each byte were a Latin-1 character ("Ã©" for "é"); every string
is repaired where that reading is the consistent one. A single thread file, or a whole
download zip (`messages/inbox/<thread>/message_N.json`, with photos beside them) are read.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from typing import Any, ClassVar

from disclose.items import Item, Person
from indexer.context import IngestContext, Native
from indexer.ingestors.chat.exports import (
    CONTENT_SCORE, ZIP_SCORE, ZipExport, emit_conversations, from_epoch, is_zip, load_json, read_native_json,
    report_errors, zip_names_in_head,
)
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError, emit_conversation
from indexer.registry import Probe, register

_THREAD_FILE = re.compile(r"(^|/)message_\d+\.json$")
MEDIA_KEYS = ("photos", "videos", "audio_files", "files", "gifs")


def repair_mojibake(value: Any) -> Any:
    """Undo Meta's latin-1 reading of UTF-8 in every string of a decoded JSON value."""
    if isinstance(value, str):
        try:
            return value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return value  # real non-Latin-1 text, or Latin-1 that is not UTF-8 bytes: already right
    if isinstance(value, list):
        return [repair_mojibake(v) for v in value]
    if isinstance(value, dict):
        return {k: repair_mojibake(v) for k, v in value.items()}
    return value


def message_from_meta(raw: dict[str, Any]) -> ChatMessage:
    attachments = [str(m.get("uri")) for key in MEDIA_KEYS for m in raw.get(key) or [] if isinstance(m, dict) and m.get("uri")]
    if isinstance(raw.get("sticker"), dict) and raw["sticker"].get("uri"):
        attachments.append(str(raw["sticker"]["uri"]))
    parts = [str(raw.get("content") or "")]
    share = raw.get("share")
    if isinstance(share, dict):
        parts.append(f"[shared: {share.get('link') or ''} {share.get('share_text') or ''}]".replace(" ]", "]"))
    reactions = [{"reaction": r.get("reaction"), "by": r.get("actor")} for r in raw.get("reactions") or [] if isinstance(r, dict)]
    if reactions:
        parts.append("[reactions: " + ", ".join(f"{r['reaction']} by {r['by']}" for r in reactions) + "]")
    kind = "message"
    if raw.get("type") == "Call" or "call_duration" in raw:
        kind = "call"
        parts.append(f"[call, {raw.get('call_duration', 0)} s]")
    elif raw.get("type") in ("Subscribe", "Unsubscribe"):
        kind = "system"
    parts += [f"[media: {posixpath.basename(a)}]" for a in attachments]
    unsent = bool(raw.get("is_unsent"))
    return ChatMessage(
        sender=Person(name=str(raw.get("sender_name") or "Unknown")),
        sent=from_epoch(raw.get("timestamp_ms"), millis=True),
        text="\n".join(p for p in parts if p) or ("[message unsent]" if unsent else ""),
        kind=kind, attachments=attachments, deleted=unsent,
        metadata={"reactions": reactions, "meta_type": raw.get("type") or ""},
    )


def parse_meta_thread(documents: list[Any], platform: str = "messenger") -> Conversation:
    """One thread from its message_N.json files (each newest first); messages oldest first."""
    participants: list[Person] = []
    messages: list[ChatMessage] = []
    errors: list[ParseError] = []
    title = ""
    for document in documents:
        document = repair_mojibake(document)
        if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
            errors.append(ParseError(1, str(document)[:200], "recognised JSON but not a Messenger/Instagram thread (no messages)"))
            continue
        title = title or str(document.get("title") or "")
        for person in document.get("participants") or []:
            if isinstance(person, dict) and Person(name=str(person.get("name"))) not in participants:
                participants.append(Person(name=str(person.get("name"))))
        for number, raw in enumerate(document["messages"], start=1):
            if not isinstance(raw, dict) or "timestamp_ms" not in raw:
                errors.append(ParseError(number, str(raw)[:200], f"message {number} has no timestamp_ms"))
                continue
            messages.append(message_from_meta(raw))
    messages.sort(key=lambda m: (m.sent is None, m.sent))
    if not title:
        title = ", ".join(p.name for p in participants) or ", ".join(sorted({m.sender.name for m in messages}))
    label = "Instagram" if platform == "instagram" else "Messenger"
    return Conversation(platform, f"{label}: {title}", messages, participants=participants, errors=errors)


def _platform(filename: str, names: list[str] | None = None) -> str:
    text = " ".join([filename, *(names or [])[:50]]).lower()
    return "instagram" if "instagram" in text else "messenger"


@register
class MessengerIngestor:
    name: ClassVar[str] = "messenger"

    def score(self, probe: Probe) -> int:
        if is_zip(probe):
            names = zip_names_in_head(probe.head)
            return ZIP_SCORE if any("messages/inbox/" in n and _THREAD_FILE.search(n) for n in names) else 0
        head = probe.text_head()
        if probe.mime == "application/json" and '"sender_name"' in head and '"timestamp_ms"' in head:
            return CONTENT_SCORE
        return 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        if native.probe.head.startswith(b"PK"):
            self._ingest_zip(item, native, ctx)
            return
        loaded = read_native_json(native, "Messenger/Instagram JSON")
        item.metadata["platform"] = _platform(native.filename)
        if loaded.error is not None:
            report_errors(item, [loaded.error], ctx)
            return
        emit_conversation(item, parse_meta_thread([loaded.value], _platform(native.filename)), ctx)

    def _ingest_zip(self, item: Item, native: Native, ctx: IngestContext) -> None:
        export = ZipExport(native.path)
        try:
            threads: dict[str, list[str]] = defaultdict(list)
            for name in export.names():
                if "messages/" in name and _THREAD_FILE.search(name):
                    threads[posixpath.dirname(name)].append(name)
            platform = _platform(native.filename, export.names())
            conversations: list[tuple[str, Conversation]] = []
            errors: list[ParseError] = []
            for folder in sorted(threads):
                documents = []
                for name in sorted(threads[folder], key=lambda n: int(re.findall(r"\d+", posixpath.basename(n))[0])):
                    loaded = load_json(export.read(name) or b"", name)
                    if loaded.error is not None:
                        errors.append(loaded.error)
                    else:
                        documents.append(loaded.value)
                if documents:
                    conversations.append((posixpath.basename(folder), parse_meta_thread(documents, platform)))
            # Media URIs are relative to the download's root, which may sit inside a top folder.
            prefix = next((n.split("messages/")[0] for n in export.names() if "messages/" in n), "")

            def media(uri: str) -> bytes | None:
                return export.read(prefix + uri) or export.read(uri)

            emit_conversations(item, conversations, ctx, platform=platform, title=f"{platform.capitalize()} download: {native.filename}",
                               media=media, errors=errors)
        finally:
            export.close()
