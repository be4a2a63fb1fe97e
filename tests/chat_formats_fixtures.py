"""Generators for chat-export fixtures (Teams, SMS, Telegram, Slack, Signal, Messenger, screenshots),
including damaged variants, and a small recording IngestContext for ingestor unit tests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disclose.items import Item, Kind, child_id
from indexer.context import Native
from indexer.detect import sniff
from indexer.registry import HEAD_BYTES, Probe

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def probe_for(path: Path, hint: str = "") -> Probe:
    data = path.read_bytes()
    head = data[:HEAD_BYTES]
    return Probe(head=head, filename=path.name, mime=sniff(head, whole=data), size=len(data), hint=hint)


def native_for(path: Path, hint: str = "") -> Native:
    data = path.read_bytes()
    return Native(sha256=hashlib.sha256(data).hexdigest(), path=path, filename=path.name, size=len(data),
                  probe=probe_for(path, hint))


@dataclass
class RecordingContext:
    """Records what an ingestor emits; stands in for the pipeline in unit tests."""

    timezone: str = "Europe/London"
    depth: int = 0
    emitted: list[Item] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    children: list[tuple[Item, bytes]] = field(default_factory=list)
    scratch_dir: Path | None = None

    def derived(self, parent: Item, locator: str, kind: Kind, **fields: Any) -> Item:
        item = Item(id=child_id(parent.id, locator), kind=kind, family_id=parent.family_id, parent_id=parent.id,
                    root_id=parent.root_id or parent.id, locator=locator, custodians=list(parent.custodians))
        for name, value in fields.items():
            setattr(item, name, value)
        return item

    def emit(self, item: Item) -> None:
        self.emitted.append(item)

    def problem(self, item: Item | None, stage: str, reason: str) -> None:
        self.problems.append((item.id if item else "", stage, reason))

    def child(self, parent: Item, locator: str, *, filename: str, data: bytes | None = None, path: Path | None = None,
              stream: Any = None, kind: Kind = Kind.ATTACHMENT, hint: str = "", fields: dict[str, Any] | None = None):
        payload = data if data is not None else (path.read_bytes() if path else stream.read())
        item = self.derived(parent, locator, kind, filename=filename, title=filename)
        self.children.append((item, payload))
        self.emitted.append(item)
        return item

    def scratch(self) -> Path:
        assert self.scratch_dir is not None
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir

    def messages(self) -> list[Item]:
        return [i for i in self.emitted if i.kind == Kind.CHAT_MESSAGE]

    def conversations(self) -> list[Item]:
        return [i for i in self.emitted if i.kind == Kind.CHAT_CONVERSATION]


def root_item(path: Path, custodian: str = "Jane Doe") -> Item:
    return Item(id="root" + hashlib.sha256(str(path).encode()).hexdigest()[:28], kind=Kind.FILE, family_id="fam",
                source=path.as_uri(), custodians=[custodian], filename=path.name, title=path.name)


def ingest_with(ingestor: Any, path: Path, hint: str = "", timezone: str = "Europe/London") -> tuple[Item, RecordingContext]:
    item = root_item(path)
    ctx = RecordingContext(timezone=timezone, scratch_dir=path.parent / (path.name + ".scratch"))
    ingestor.ingest(item, native_for(path, hint), ctx)
    return item, ctx


# --- Microsoft Teams (Graph chatMessage) ---------------------------------------------------------

def teams_message(id: str, when: str, name: str, html: str, **extra: Any) -> dict[str, Any]:
    message = {
        "id": id, "replyToId": None, "messageType": "message", "createdDateTime": when,
        "lastModifiedDateTime": when, "lastEditedDateTime": None, "deletedDateTime": None, "subject": None,
        "chatId": "19:abc@thread.v2", "importance": "normal", "locale": "en-gb",
        "from": {"application": None, "device": None,
                 "user": {"id": f"id-{name}", "displayName": name, "userIdentityType": "aadUser"}},
        "body": {"contentType": "html", "content": html}, "attachments": [], "mentions": [], "reactions": [],
    }
    message.update(extra)
    return message


def teams_chat_export() -> dict[str, Any]:
    return {
        "chat": {"id": "19:abc@thread.v2", "topic": "Planning committee", "chatType": "group",
                 "members": [{"displayName": "Jane Doe", "email": "jane@council.gov.uk"},
                             {"displayName": "Raj Patel", "email": "raj@council.gov.uk"}]},
        "messages": [
            teams_message("3", "2024-03-05T09:05:00.000Z", "Raj Patel", "<p>Agreed &amp; sent</p>", replyToId="1",
                          reactions=[{"reactionType": "like", "createdDateTime": "2024-03-05T09:06:00Z",
                                      "user": {"user": {"id": "id-Jane", "displayName": "Jane Doe"}}}],
                          attachments=[{"id": "a1", "contentType": "reference", "name": "minutes.docx",
                                        "contentUrl": "https://council.sharepoint.com/minutes.docx"}]),
            teams_message("1", "2024-03-05T09:00:00.000Z", "Jane Doe",
                          "<div>Can you <b>approve</b> the <at id=\"0\">Raj</at> draft?<br>Thanks "
                          "<emoji id=\"smile\" alt=\"🙂\" title=\"Smile\"></emoji><script>alert(1)</script></div>"),
            teams_message("2", "2024-03-05T09:01:00.000Z", "Jane Doe", "", deletedDateTime="2024-03-05T09:02:00Z"),
            {**teams_message("4", "2024-03-05T09:10:00.000Z", "", "<systemEventMessage/>"),
             "messageType": "systemEventMessage", "from": None,
             "eventDetail": {"@odata.type": "#microsoft.graph.membersAddedEventDetail",
                             "initiator": {"user": {"id": "id-Jane", "displayName": "Jane Doe"}},
                             "members": [{"id": "id-Sam", "displayName": "Sam Lee"}]}},
        ],
    }


def teams_channel_page() -> dict[str, Any]:
    channel = {"teamId": "team-1", "channelId": "19:general@thread.skype"}
    other = {"teamId": "team-1", "channelId": "19:finance@thread.skype"}
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#chats('x')/messages", "value": [
        teams_message("10", "2024-04-01T10:00:00Z", "Jane Doe", "<p>General hello</p>", chatId=None, channelIdentity=channel),
        teams_message("11", "2024-04-01T11:00:00Z", "Raj Patel", "<p>Budget</p>", chatId=None, channelIdentity=other),
        "not a message",
    ]}


# --- SMS Backup & Restore --------------------------------------------------------------------------

def sms_backup_xml(*, corrupt_part: bool = False, truncated: bool = False) -> str:
    image = base64.b64encode(PNG_1PX).decode()
    bad = '<part seq="0" ct="image/jpeg" name="broken.jpg" data="@@not base64@@" />' if corrupt_part else ""
    text = f"""<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<?xml-stylesheet type="text/xsl" href="sms.xsl"?>
<smses count="5" backup_set="x" backup_date="1709640000000" type="full">
  <sms protocol="0" address="07700 900123" date="1709632800000" type="1" subject="null" body="Are the minutes ready?" read="1" status="-1" locked="0" date_sent="0" readable_date="5 Mar 2024 10:00:00" contact_name="Raj Patel" />
  <sms protocol="0" address="+447700900123" date="1709632860000" type="2" subject="null" body="Yes, sending now &amp; copying Sam" read="1" status="-1" locked="0" date_sent="0" readable_date="5 Mar 2024 10:01:00" contact_name="Raj Patel" />
  <mms date="1709632920000" ct_t="application/vnd.wap.multipart.related" msg_box="1" address="+447700900123~+447700900456" read="1" sub="null" readable_date="5 Mar 2024 10:02:00" contact_name="Raj Patel, Sam Lee">
    <parts>
      <part seq="-1" ct="application/smil" name="null" text="&lt;smil&gt;&lt;/smil&gt;" />
      <part seq="0" ct="image/png" name="site-photo.png" cl="site-photo.png" data="{image}" />
      <part seq="0" ct="text/plain" name="text.txt" text="Photo of the site" />
      {bad}
    </parts>
    <addrs>
      <addr address="+447700900456" type="137" charset="106" />
      <addr address="+447700900123" type="151" charset="106" />
    </addrs>
  </mms>
  <mms date="1709633000000" msg_box="2" address="+447700900456~+447700900123" readable_date="5 Mar 2024 10:03:20" contact_name="Sam Lee, Raj Patel">
    <parts><part seq="0" ct="text/plain" name="text.txt" text="Thanks both" /></parts>
    <addrs><addr address="+447700900456" type="151" /><addr address="+447700900123" type="151" /></addrs>
  </mms>
  <sms protocol="0" address="+447700900789" date="1709719200000" type="1" body="Unrelated" readable_date="6 Mar 2024" contact_name="(Unknown)" />
</smses>
"""
    if truncated:
        cut = text.index("<sms protocol=\"0\" address=\"+447700900789\"")
        return text[:cut] + '<sms protocol="0" address="+4477'
    return text


def calls_xml() -> str:
    return """<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<calls count="3" backup_set="x" backup_date="1709640000000" type="full">
  <call number="+447700900123" duration="125" date="1709632800000" type="1" presentation="1" readable_date="5 Mar 2024 10:00:00" contact_name="Raj Patel" />
  <call number="+447700900456" duration="0" date="1709636400000" type="3" presentation="1" readable_date="5 Mar 2024 11:00:00" contact_name="Sam Lee" />
  <call number="+447700900123" duration="61" date="1709640000000" type="2" presentation="1" readable_date="5 Mar 2024 12:00:00" contact_name="Raj Patel" />
</calls>
"""


def entity_bomb_xml() -> str:
    return ('<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
            '<smses count="1"><sms address="1" date="1" type="1" body="&b;" /></smses>\n')


# --- Telegram Desktop ------------------------------------------------------------------------------

def telegram_chat(new_schema: bool = True) -> dict[str, Any]:
    def text(value: str, bold: str = "") -> Any:
        if not new_schema:
            return value + bold
        return [value, {"type": "bold", "text": bold}] if bold else value

    def when(local: str, unix: int) -> dict[str, Any]:
        return {"date": local, "date_unixtime": str(unix)} if new_schema else {"date": local}

    return {"name": "Raj Patel", "type": "personal_chat", "id": 4242, "messages": [
        {"id": 1, "type": "message", **when("2024-07-01T09:00:00", 1719820800), "from": "Raj Patel", "from_id": "user1",
         "text": text("Site visit ", "tomorrow")},
        {"id": 2, "type": "message", **when("2024-07-01T09:05:00", 1719821100), "from": "Jane Doe", "from_id": "user2",
         "text": "Confirmed", "reply_to_message_id": 1},
        {"id": 3, "type": "message", **when("2024-07-01T09:06:00", 1719821160), "from": "Jane Doe", "from_id": "user2",
         "forwarded_from": "Planning Office", "text": "Visit at 10", "photo": "photos/photo_1@01-07-2024_09-06-00.jpg",
         "width": 1, "height": 1},
        {"id": 4, "type": "service", **when("2024-07-01T09:10:00", 1719821400), "actor": "Raj Patel", "actor_id": "user1",
         "action": "phone_call", "duration_seconds": 42, "text": ""},
    ]}


def telegram_full_export() -> dict[str, Any]:
    other = {"name": "Planning team", "type": "private_group", "id": 99, "messages": [
        {"id": 1, "type": "service", "date": "2024-07-02T08:00:00", "date_unixtime": "1719903600", "actor": "Jane Doe",
         "action": "create_group", "title": "Planning team", "members": ["Jane Doe", "Raj Patel"], "text": ""},
        {"id": 2, "type": "message", "date": "2024-07-02T08:01:00", "date_unixtime": "1719903660", "from": "Raj Patel",
         "from_id": "user1", "text": "", "file": "(File not included. Change data exporting settings to download.)",
         "media_type": "video_file"},
    ]}
    return {"about": "Here is the data you requested.", "personal_information": {"first_name": "Jane"},
            "chats": {"about": "", "list": [telegram_chat(), other]}}


def telegram_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ChatExport_2024-07-01/result.json", json.dumps(telegram_chat(), ensure_ascii=False, indent=1))
        archive.writestr("ChatExport_2024-07-01/photos/photo_1@01-07-2024_09-06-00.jpg", PNG_1PX)
    return path


# --- Slack workspace export ------------------------------------------------------------------------

def slack_zip(path: Path, *, damaged_day: bool = False) -> Path:
    users = [{"id": "U1", "name": "jane", "real_name": "Jane Doe", "profile": {"real_name": "Jane Doe"}},
             {"id": "U2", "name": "raj", "real_name": "Raj Patel", "profile": {"real_name": "Raj Patel"}}]
    channels = [{"id": "C1", "name": "planning", "created": 1700000000, "members": ["U1", "U2"]}]
    dms = [{"id": "D1", "created": 1700000000, "members": ["U1", "U2"]}]
    general = [
        {"type": "message", "user": "U1", "text": "Hi <@U2>, see <#C1|planning> &amp; <https://example.org|the plan>",
         "ts": "1709629200.000100", "thread_ts": "1709629200.000100", "reply_count": 1},
        {"type": "message", "user": "U2", "text": "On it", "ts": "1709629260.000200", "thread_ts": "1709629200.000100",
         "parent_user_id": "U1", "reactions": [{"name": "thumbsup", "users": ["U1"], "count": 1}]},
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined the channel", "ts": "1709629100.000050"},
    ]
    day2 = [{"type": "message", "user": "U2", "text": "Draft attached", "ts": "1709715600.000300",
             "files": [{"id": "F1", "name": "draft.pdf", "title": "Draft", "mimetype": "application/pdf",
                        "url_private": "https://files.slack.com/files-pri/T1-F1/draft.pdf"}]}]
    dm = [{"type": "message", "user": "U1", "text": "Private word", "ts": "1709632800.000400"}]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("channels.json", json.dumps(channels))
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("dms.json", json.dumps(dms))
        archive.writestr("planning/2024-03-05.json", json.dumps(general, indent=4))
        archive.writestr("planning/2024-03-06.json", '[\n  {"type": "message",\n  "ts": broken\n]' if damaged_day else json.dumps(day2))
        archive.writestr("D1/2024-03-05.json", json.dumps(dm))
    return path


# --- Signal text exports ---------------------------------------------------------------------------

def signal_text(style: str = "chat-miner", damaged: bool = False) -> str:
    stamp = {"chat-miner": "[2024-03-31, {t}]", "markdown": "[2024-03-31 {t}]", "backup-tools": "[2024-03-31 {t}:00]"}[style]
    lines = [
        f"{stamp.format(t='00:30')} Jane Doe: Before the clocks change",
        f"{stamp.format(t='09:15')} Raj Patel: Report attached",
        "![report.pdf](media/report.pdf)",
        "second line of the same message",
        f"{stamp.format(t='09:16')} Jane Doe: > Report attached",
        "Thanks",
    ]
    if damaged:
        lines.insert(0, "Signal conversation export (garbled header)")
    return "\n".join(lines) + "\n"


# --- Messenger / Instagram -------------------------------------------------------------------------

def meta_mojibake(text: str) -> str:
    """How Meta writes UTF-8 text in its JSON: each byte as a Latin-1 character."""
    return text.encode("utf-8").decode("latin-1")


def messenger_thread(title: str = "Raj Patel", part: int = 1) -> dict[str, Any]:
    messages = [
        {"sender_name": "Raj Patel", "timestamp_ms": 1709632860000, "content": meta_mojibake("Café at 10? 👍"),
         "reactions": [{"reaction": meta_mojibake("❤"), "actor": "Jane Doe"}]},
        {"sender_name": meta_mojibake("Zoë Jones"), "timestamp_ms": 1709632800000, "content": "Morning",
         "photos": [{"uri": "messages/inbox/rajpatel_123/photos/site.png", "creation_timestamp": 1709632800}]},
    ]
    if part == 2:
        messages = [{"sender_name": "Jane Doe", "timestamp_ms": 1709600000000, "content": "Older message",
                     "share": {"link": "https://example.org/plan"}}]
    return {"participants": [{"name": "Raj Patel"}, {"name": meta_mojibake("Zoë Jones")}, {"name": "Jane Doe"}],
            "messages": messages, "title": title, "is_still_participant": True, "thread_type": "RegularGroup",
            "thread_path": "inbox/rajpatel_123"}


def messenger_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("messages/inbox/rajpatel_123/message_1.json", json.dumps(messenger_thread(), indent=2))
        archive.writestr("messages/inbox/rajpatel_123/message_2.json", json.dumps(messenger_thread(part=2), indent=2))
        archive.writestr("messages/inbox/rajpatel_123/photos/site.png", PNG_1PX)
        archive.writestr("messages/inbox/broken_9/message_1.json", '{"messages": [\n  {"sender_name": \n')
    return path


# --- Chat screenshots ------------------------------------------------------------------------------

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def render_chat_screenshot(path: Path, *, header: str = "Raj Patel", separator: str = "3 March 2021",
                           bubbles: list[tuple[str, str, str]] | None = None, time_style: str = "14:05") -> Path:
    """A phone chat screenshot at 2x scale: header name, a date separator, left/right bubbles with times."""
    from PIL import Image, ImageDraw, ImageFont

    bubbles = bubbles or [
        ("left", "Are the minutes ready?", "09:41"),
        ("right", "Yes, sending them now", "09:43"),
        ("left", "Thanks. Please copy Sam", "09:44"),
        ("right", "Will do", "10:02"),
    ]
    scale = 2
    width, height = 540 * scale, 960 * scale
    image = Image.new("RGB", (width, height), (236, 229, 221))
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.truetype(FONT, 20 * scale), ImageFont.truetype(FONT, 13 * scale)
    draw.rectangle((0, 0, width, 70 * scale), fill=(7, 94, 84))
    draw.text((70 * scale, 22 * scale), header, font=big, fill=(255, 255, 255))
    box = draw.textbbox((0, 0), separator, font=small)
    draw.rounded_rectangle(((width - box[2]) // 2 - 12 * scale, 95 * scale, (width + box[2]) // 2 + 12 * scale, 125 * scale),
                           8 * scale, fill=(225, 245, 254))
    draw.text(((width - box[2]) // 2, 100 * scale), separator, font=small, fill=(60, 60, 60))
    top = 150 * scale
    for side, text, time in bubbles:
        shown = {"14:05": time, "dotted": time.replace(":", "."), "12h": _twelve_hour(time)}[time_style]
        text_box = draw.textbbox((0, 0), text, font=big)
        time_box = draw.textbbox((0, 0), shown, font=small)
        bubble_width = text_box[2] + time_box[2] + 40 * scale
        left = 16 * scale if side == "left" else width - 16 * scale - bubble_width
        fill = (255, 255, 255) if side == "left" else (220, 248, 198)
        draw.rounded_rectangle((left, top, left + bubble_width, top + 50 * scale), 10 * scale, fill=fill)
        draw.text((left + 12 * scale, top + 12 * scale), text, font=big, fill=(0, 0, 0))
        draw.text((left + bubble_width - time_box[2] - 10 * scale, top + 28 * scale), shown, font=small, fill=(110, 110, 110))
        top += 80 * scale
    image.save(path)
    return path


def _twelve_hour(time: str) -> str:
    hour, minute = (int(p) for p in time.split(":"))
    return f"{(hour % 12) or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'}"


def ingest_end_to_end(cli: Any, home: Path, folder: Path, word: str) -> list[dict[str, Any]]:
    """`disclose ingest` a folder, then `disclose show` each stored chat_message whose text has `word`."""
    from sqlalchemy import select

    from disclose.store import open_store
    from disclose.store.tables import ItemRow

    result = cli("ingest", str(folder), "--custodian", "Jane Doe", "--json")
    assert result.exit_code == 0, result.stderr
    store = open_store(f"sqlite:///{home / 'case.db'}")
    with store.session() as session:
        ids = [row.id for row in session.scalars(select(ItemRow).where(ItemRow.kind == "chat_message"))
               if word in row.text]
    store.engine.dispose()
    return [cli("show", item_id, "--json").json() for item_id in ids]
