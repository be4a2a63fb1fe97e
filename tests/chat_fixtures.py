"""WhatsApp export fixtures: one conversation rendered as many real-world export variants.

`CONVERSATION` is the truth (senders, UTC times, texts, system events, media, edited/deleted);
`render(variant)` writes it the way a phone in that language and clock setting would export it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
ALICE = "Alice Smith"
PHONE = "+44 7700 900123"
PHONE_E164 = "+447700900123"
BOB = "Bob Jones"


@dataclass(frozen=True)
class Line:
    """One message of the truth conversation. `event` names a system message; `kind` the message kind."""

    utc: datetime
    sender: str = ""
    text: str = ""
    event: str = ""  # encryption, added, left, deleted
    kind: str = "message"
    media: str = ""  # a media file name
    edited: bool = False


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


CONVERSATION: list[Line] = [
    Line(_utc(2021, 3, 3, 9, 0), event="encryption", kind="system"),
    Line(_utc(2021, 3, 3, 9, 5), ALICE, "Morning all"),
    Line(_utc(2021, 3, 4, 0, 15), PHONE, "Can we meet at 10:30?\nThe draft: see below\n\n- item one"),
    Line(_utc(2021, 3, 4, 12, 30), event="added", kind="system"),
    Line(_utc(2021, 3, 5, 14, 45), BOB, "The site plan", media="IMG-20210305-WA0001.jpg"),
    Line(_utc(2021, 3, 8, 8, 1), ALICE, "Revised figures", edited=True),
    Line(_utc(2021, 3, 9, 17, 20), PHONE, event="deleted", kind="system"),
    Line(_utc(2021, 3, 10, 11, 0), BOB, "https://maps.google.com/?q=51.5007,-0.1246", kind="location"),
    Line(_utc(2021, 3, 11, 19, 59), ALICE, "", kind="contact", media="Alex.vcf"),
    Line(_utc(2021, 3, 15, 10, 10), BOB, "POLL:\nLunch?\nOPTION: Pizza (2 votes)\nOPTION: Sushi (1 vote)", kind="poll"),
    Line(_utc(2021, 7, 15, 13, 0), ALICE, "Summer update: all fine"),
    Line(_utc(2021, 7, 16, 23, 30), event="left", kind="system"),
]


@dataclass(frozen=True)
class Locale:
    code: str
    date_android: str  # strftime-like with {d} {m} {y} {dd} {mm} {yyyy} {yy}
    date_ios: str
    join_android: str
    join_ios: str
    twelve: bool  # the locale's usual clock
    am: str = "AM"
    pm: str = "PM"
    marker_before: bool = False
    digits: str = "0123456789"
    year_offset: int = 0  # Buddhist era: +543
    era: str = ""  # Japanese era prefix (Reiwa from 2019)
    encryption: str = "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them."
    added: str = "{a} added {b}"
    left: str = "{b} left"
    deleted: str = "This message was deleted"
    edited: str = "<This message was edited>"
    attached_android: str = "{name} (file attached)"
    attached_ios: str = "<attached: {name}>"
    location: str = "location: {url}"
    mark: str = ""  # a direction mark the locale scatters (RLM for Arabic and Persian)


LOCALES: dict[str, Locale] = {
    "en_GB": Locale("en_GB", "{dd}/{mm}/{yyyy}", "{dd}/{mm}/{yyyy}", ", ", ", ", False),
    "en_US": Locale("en_US", "{m}/{d}/{yy}", "{m}/{d}/{yy}", ", ", ", ", True),
    "de": Locale("de", "{dd}.{mm}.{yy}", "{dd}.{mm}.{yy}", ", ", ", ", False,
                 encryption="Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.", added="{a} hat {b} hinzugefügt.",
                 left="{b} hat die Gruppe verlassen.", deleted="Diese Nachricht wurde gelöscht.",
                 edited="<Diese Nachricht wurde bearbeitet>", attached_android="{name} (Datei angehängt)",
                 attached_ios="<Anhang: {name}>", location="Standort: {url}"),
    "fr": Locale("fr", "{dd}/{mm}/{yyyy}", "{dd}/{mm}/{yyyy}", " à ", " ", False,
                 encryption="Les messages et les appels sont chiffrés de bout en bout.", added="{a} a ajouté {b}",
                 left="{b} est parti", deleted="Ce message a été supprimé", edited="<Ce message a été modifié>",
                 attached_android="{name} (fichier joint)", attached_ios="<pièce jointe : {name}>",
                 location="localisation : {url}"),
    "es": Locale("es", "{d}/{m}/{yy}", "{d}/{m}/{yy}", " ", ", ", False, am="a.\u00a0m.", pm="p.\u00a0m.",
                 encryption="Los mensajes y las llamadas están cifrados de extremo a extremo.", added="{a} añadió a {b}",
                 left="{b} salió del grupo", deleted="Se eliminó este mensaje.", edited="<Se editó este mensaje.>",
                 attached_android="{name} (archivo adjunto)", attached_ios="<adjunto: {name}>", location="ubicación: {url}"),
    "it": Locale("it", "{dd}/{mm}/{yy}", "{dd}/{mm}/{yy}", ", ", ", ", False,
                 encryption="I messaggi e le chiamate sono protetti con la crittografia end-to-end.",
                 added="{a} ha aggiunto {b}", left="{b} è uscito", deleted="Questo messaggio è stato eliminato",
                 edited="<Questo messaggio è stato modificato>", attached_android="{name} (file allegato)",
                 attached_ios="<allegato: {name}>", location="posizione: {url}"),
    "pt_BR": Locale("pt_BR", "{dd}/{mm}/{yyyy}", "{dd}/{mm}/{yyyy}", " ", " ", False,
                    encryption="As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta.",
                    added="{a} adicionou {b}", left="{b} saiu", deleted="Mensagem apagada",
                    edited="<Mensagem editada>", attached_android="{name} (arquivo anexado)",
                    attached_ios="<anexado: {name}>", location="localização: {url}"),
    "nl": Locale("nl", "{dd}-{mm}-{yyyy}", "{dd}-{mm}-{yyyy}", " ", " ", False,
                 encryption="Berichten en oproepen worden end-to-end versleuteld.", added="{a} heeft {b} toegevoegd",
                 left="{b} heeft de groep verlaten", deleted="Dit bericht is verwijderd", edited="<Dit bericht is bewerkt>",
                 attached_android="{name} (bestand bijgevoegd)", attached_ios="<bijgevoegd: {name}>",
                 location="locatie: {url}"),
    "ru": Locale("ru", "{dd}.{mm}.{yyyy}", "{dd}.{mm}.{yyyy}", ", ", ", ", False,
                 encryption="Сообщения и звонки защищены сквозным шифрованием.", added="{a} добавил(-а) {b}",
                 left="{b} вышел(-а)", deleted="Данное сообщение удалено", edited="<Сообщение изменено>",
                 attached_android="{name} (файл добавлен)", attached_ios="<вложение: {name}>", location="место: {url}"),
    "ar": Locale("ar", "{d}/{m}/{yyyy}", "{d}/{m}/{yyyy}", "، ", "، ", True, am="ص", pm="م", digits="٠١٢٣٤٥٦٧٨٩",
                 encryption="الرسائل والمكالمات مشفرة تمامًا بين الطرفين. التشفير التام بين الطرفين",
                 added="{a} أضاف {b}", left="{b} غادر", deleted="تم حذف هذه الرسالة",
                 edited="<تم تعديل هذه الرسالة>", attached_android="{name} (ملف مرفق)", attached_ios="<مرفق: {name}>",
                 location="الموقع: {url}", mark="\u200f"),
    "fa": Locale("fa", "{yyyy}/{m}/{d}", "{yyyy}/{m}/{d}", "، ", "، ", True, am="ق.ظ.", pm="ب.ظ.", digits="۰۱۲۳۴۵۶۷۸۹",
                 encryption="پیام‌ها و تماس‌ها با رمزگذاری سرتاسری محافظت می‌شوند.", added="{a} {b} را اضافه کرد",
                 left="{b} خارج شد", deleted="این پیام حذف شد", edited="<این پیام ویرایش شد>",
                 attached_android="{name} (فایل پیوست شد)", attached_ios="<پیوست: {name}>", location="مکان: {url}",
                 mark="\u200f"),
    "ja": Locale("ja", "{yyyy}/{mm}/{dd}", "{yyyy}/{mm}/{dd}", " ", " ", False, am="午前", pm="午後", marker_before=True,
                 encryption="メッセージと通話はエンドツーエンド暗号化されています。", added="{a}が{b}を追加しました",
                 left="{b}が退出しました", deleted="このメッセージは削除されました", edited="<このメッセージは編集されました>",
                 attached_android="{name} (ファイル添付)", attached_ios="<添付ファイル: {name}>", location="位置情報: {url}"),
    "ko": Locale("ko", "{yyyy}. {m}. {d}.", "{yyyy}. {m}. {d}.", " ", " ", True, am="오전", pm="오후", marker_before=True,
                 encryption="메시지와 통화는 종단간 암호화로 보호됩니다.", added="{a}님이 {b}님을 초대했습니다.",
                 left="{b}님이 나갔습니다.", deleted="삭제된 메시지입니다.", edited="<메시지가 수정되었습니다>",
                 attached_android="{name} (파일 첨부됨)", attached_ios="<첨부: {name}>", location="위치: {url}"),
    "zh": Locale("zh", "{yyyy}/{m}/{d}", "{yyyy}/{m}/{d}", " ", " ", True, am="上午", pm="下午", marker_before=True,
                 encryption="消息和通话都进行端到端加密。", added="{a}添加了{b}", left="{b}已退出",
                 deleted="此消息已删除", edited="<此消息已编辑>", attached_android="{name} (文件已附上)",
                 attached_ios="<附件: {name}>", location="位置: {url}"),
    "th": Locale("th", "{d}/{m}/{yyyy}", "{d}/{m}/{yyyy}", " ", " ", False, year_offset=543,
                 encryption="ข้อความและการโทรได้รับการเข้ารหัสจากต้นทางถึงปลายทาง", added="{a} เพิ่ม {b}",
                 left="{b} ออกจากกลุ่ม", deleted="ข้อความนี้ถูกลบแล้ว", edited="<ข้อความนี้ถูกแก้ไข>",
                 attached_android="{name} (ไฟล์แนบ)", attached_ios="<ไฟล์แนบ: {name}>", location="ตำแหน่ง: {url}"),
}


@dataclass(frozen=True)
class Variant:
    locale: str
    platform: str  # android (dash) or ios (brackets)
    twelve: bool
    seconds: bool
    bom: bool = False
    marks: bool = False  # LRM/RLM/FSI/PDI/LRE/PDF scattered around headers and senders
    narrow_space: bool = False  # U+202F before the AM/PM marker, as newer exports print it
    time_first: bool = False
    era: bool = False  # Japanese era year (Reiwa)
    crlf: bool = False

    @property
    def name(self) -> str:
        flags = [k for k in ("bom", "marks", "narrow_space", "time_first", "era", "crlf") if getattr(self, k)]
        clock = "12h" if self.twelve else "24h"
        return "-".join([self.locale, self.platform, clock, "sec" if self.seconds else "min", *flags])


def variants() -> list[Variant]:
    """Every locale on both platforms in both clocks, plus the awkward extras."""
    found: list[Variant] = []
    for code, locale in LOCALES.items():
        for platform in ("android", "ios"):
            for twelve in (False, True):
                found.append(Variant(code, platform, twelve, seconds=platform == "ios"))
        found.append(Variant(code, "android", locale.twelve, seconds=True, bom=True, marks=True))
        found.append(Variant(code, "ios", locale.twelve, seconds=False, marks=True, narrow_space=True, crlf=True))
    found.append(Variant("en_GB", "android", False, seconds=False, time_first=True))
    found.append(Variant("en_GB", "ios", True, seconds=True, time_first=True, bom=True))
    found.append(Variant("ja", "android", False, seconds=False, era=True))
    found.append(Variant("ja", "ios", True, seconds=True, era=True, marks=True))
    return found


def _digits(text: str, locale: Locale) -> str:
    if locale.digits == "0123456789":
        return text
    return text.translate(str.maketrans("0123456789", locale.digits))


def _date(moment: datetime, locale: Locale, variant: Variant) -> str:
    pattern = locale.date_ios if variant.platform == "ios" else locale.date_android
    year = moment.year + locale.year_offset
    text = pattern.format(
        d=moment.day, m=moment.month, dd=f"{moment.day:02d}", mm=f"{moment.month:02d}", yyyy=year, yy=f"{year % 100:02d}"
    )
    if variant.era:
        text = text.replace(str(year), f"令和{year - 2018}" if variant.platform == "ios" else f"R{year - 2018}", 1)
    if locale.mark:
        text = text.replace("/", f"{locale.mark}/")
    return _digits(text, locale)


def _time(moment: datetime, locale: Locale, variant: Variant) -> str:
    hour = moment.hour
    if variant.twelve:
        marker = locale.am if hour < 12 else locale.pm
        hour = hour % 12 or 12
        clock = f"{hour}:{moment.minute:02d}"
    else:
        marker = ""
        clock = f"{hour:02d}:{moment.minute:02d}"
    if variant.seconds:
        clock += f":{moment.second:02d}"
    clock = _digits(clock, locale)
    if not marker:
        return clock
    if locale.marker_before:
        return f"{marker} {clock}" if locale.code == "ko" else f"{marker}{clock}"
    space = "\u202f" if variant.narrow_space else " "
    return f"{clock}{space}{marker}"


def _header(moment: datetime, locale: Locale, variant: Variant) -> str:
    date, time = _date(moment, locale, variant), _time(moment, locale, variant)
    join = locale.join_ios if variant.platform == "ios" else locale.join_android
    stamp = f"{time}, {date}" if variant.time_first else f"{date}{join}{time}"
    if variant.platform == "ios":
        return f"\u200e[{stamp}] " if variant.marks else f"[{stamp}] "
    return f"\u2068{stamp}\u2069 - " if variant.marks else f"{stamp} - "


def _sender(sender: str, variant: Variant) -> str:
    if sender == PHONE and variant.platform == "ios":
        shown = PHONE.replace(" ", "\u00a0")
        return f"\u202a{shown}\u202c"
    if variant.marks:
        return f"\u2066{sender}\u2069"
    return sender


def _body(line: Line, locale: Locale, variant: Variant) -> str:
    ios = variant.platform == "ios"
    mark = "\u200e" if variant.marks else ""
    if line.event == "encryption":
        return locale.encryption
    if line.event == "added":
        return locale.added.format(a=ALICE, b=BOB)
    if line.event == "left":
        return locale.left.format(b=BOB)
    if line.event == "deleted":
        return f"{_sender(line.sender, variant)}: {mark}{locale.deleted}"
    text = line.text
    if line.kind == "location":
        text = locale.location.format(url=line.text)
    if line.media:
        marker = (locale.attached_ios if ios else locale.attached_android).format(name=line.media)
        text = f"{mark}{marker}\n{text}" if text else f"{mark}{marker}"
    if line.edited:
        text = f"{text} {mark}{locale.edited}"
    return f"{_sender(line.sender, variant)}: {text}"


def render(variant: Variant, lines: list[Line] | None = None) -> str:
    """The export text a phone in `variant`'s settings would write for the conversation."""
    locale = LOCALES[variant.locale]
    out: list[str] = []
    for line in lines or CONVERSATION:
        local = line.utc.astimezone(LONDON).replace(tzinfo=None)
        out.append(_header(local, locale, variant) + _body(line, locale, variant))
    text = "\n".join(out) + "\n"
    if variant.crlf:
        text = text.replace("\n", "\r\n")
    return ("\ufeff" + text) if variant.bom else text


def expected_messages(lines: list[Line] | None = None) -> list[tuple]:
    """What any variant must parse to: (sender address or name, UTC time, kind, deleted, edited, text or None)."""
    result = []
    for line in lines or CONVERSATION:
        who = PHONE_E164 if line.sender == PHONE else line.sender
        if line.kind == "system":
            result.append(("" if line.event != "deleted" else who, line.utc, "system", line.event == "deleted", False, None))
        else:
            result.append((who, line.utc, line.kind, False, line.edited, line.text if line.kind != "poll" else line.text))
    return result


def media_bytes(name: str) -> bytes:
    """Recognisable media content: a tiny JPEG header for images, a vCard for contacts."""
    if name.endswith(".vcf"):
        return b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alex Example\r\nTEL:+447700900999\r\nEND:VCARD\r\n"
    return b"\xff\xd8\xff\xe0" + name.encode() + b"\x00" * 64 + b"\xff\xd9"


def export_zip(path: Path, variant: Variant | None = None, chat_name: str = "_chat.txt") -> Path:
    """A WhatsApp 'Export chat' zip with media: the chat text plus every media file it names."""
    variant = variant or Variant("en_GB", "ios", False, seconds=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(chat_name, render(variant).encode("utf-8"))
        for line in CONVERSATION:
            if line.media:
                archive.writestr(line.media, media_bytes(line.media))
    path.write_bytes(buffer.getvalue())
    return path


def dmy_ambiguous_lines() -> list[Line]:
    """A chat whose days are all <= 12: only consistency across the file can settle the order."""
    return [
        Line(_utc(2022, 2, 1, 10, 0), ALICE, "one"),
        Line(_utc(2022, 2, 2, 10, 0), BOB, "two"),
        Line(_utc(2022, 2, 3, 10, 0), ALICE, "three"),
        Line(_utc(2022, 2, 7, 10, 0), BOB, "four"),
    ]


def with_locale(variant: Variant, **changes: object) -> Variant:
    return replace(variant, **changes)
