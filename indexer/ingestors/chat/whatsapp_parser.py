"""WhatsApp "Export chat" text files (Android and iOS, any language) parsed into a Conversation.

Two passes over the lines, so a million-message export streams in flat memory:

1. `scan_layout` reads only the message headers and decides, from the whole file, the order of the
   date fields (never line by line). Rules, in order: a first field with 3-4 digits or an era
   prefix means year-first; a first field > 12 means day-first, a second field > 12 means
   month-first (if both occur the majority wins); otherwise the order whose dates run forward
   more often wins, then the order whose dates span fewer days; a remaining tie goes to
   month-first only for US-style files (slashes, unpadded fields, and an AM/PM clock or a two-digit
   year, as en_US exports print them), else day-first (en_GB and most locales).
2. `iter_messages` yields ChatMessages; local times become UTC through `zoneinfo` (ambiguous
   autumn hour: first occurrence, recorded; missing spring hour: shifted forward, recorded).

Every input line ends up in exactly one message's [first_line, last_line] span or in the errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from disclose.items import Person
from indexer.ingestors.chat.model import ChatMessage, Conversation, ParseError

DEFAULT_TIMEZONE = "Europe/London"

# Byte-order marks and Unicode direction marks: exports scatter them anywhere, even inside brackets.
INVISIBLE_MARKS = re.compile("[\ufeff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

_AM = r"(?i:a\.?\s?m\.?)|(?i:vorm\.)|π\.\s?μ\.|ص|ق\.\s?ظ\.?|午前|오전|上午|凌晨|早上|ก่อนเที่ยง|पूर्वाह्न"
_PM = r"(?i:p\.?\s?m\.?)|(?i:nachm\.)|μ\.\s?μ\.|م|ب\.\s?ظ\.?|午後|오후|下午|中午|晚上|หลังเที่ยง|अपराह्न"
_AM_WORDS = re.compile(rf"^(?:{_AM})$")
_MARKER = rf"(?:{_AM}|{_PM})"
_ERA = r"(?P<era>令和|平成|昭和|R|H|S)?"
_DATE = (
    rf"(?:{_ERA}(?P<a>\d{{1,4}})\s?(?P<sep>[./\-])\s?(?P<b>\d{{1,2}})\s?(?P=sep)\s?(?P<c>\d{{1,4}})\.?"
    rf"|(?P<cera>令和|平成)?(?P<cy>\d{{1,4}})\s?[年년]\s?(?P<cm>\d{{1,2}})\s?[月월]\s?(?P<cd>\d{{1,2}})\s?[日일])"
)
_TIME = (
    rf"(?:(?P<pre>{_MARKER})\s?)?(?P<h>\d{{1,2}})[:.](?P<mi>\d{{2}})(?:[:.](?P<se>\d{{2}}))?"
    rf"(?:\s?(?P<post>{_MARKER}))?"
)
_JOIN = r"(?:\s?[,،]\s?|\s+(?:klo|at|um|à|às|a las|в|kl\.)\s+|\s+)"
_BRACKET_OPEN = r"\[\s?"
_BRACKET_CLOSE = r"\s?\]\s?"
_DASH = r"\s?[-–]\s"
_HEADERS = [
    ("ios", re.compile(rf"{_BRACKET_OPEN}{_DATE}{_JOIN}{_TIME}{_BRACKET_CLOSE}")),
    ("android", re.compile(rf"{_DATE}{_JOIN}{_TIME}{_DASH}")),
    ("ios", re.compile(rf"{_BRACKET_OPEN}{_TIME}{_JOIN}{_DATE}{_BRACKET_CLOSE}")),
    ("android", re.compile(rf"{_TIME}{_JOIN}{_DATE}{_DASH}")),
]
# A header starts with a bracket, a digit, an era letter or a clock marker; anything else is a continuation.
_HEADER_START = re.compile(rf"[\[\d]|{_ERA[:-1].replace('?P<era>', '?:')}|{_MARKER}")

_ERA_BASE = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}

_SENDER_SYSTEM_WORDS = re.compile(
    r"\b(?:changed|created|added|removed|joined|left|deleted|turned|updated|pinned|invited|"
    r"hinzugefügt|geändert|entfernt|erstellt|verlassen|ajouté|modifié|retiré|créé|añadió|cambió|"
    r"eliminó|creó|aggiunto|cambiato|rimosso|adicionou|mudou|removeu|toegevoegd|gewijzigd|verwijderd)\b",
    re.I,
)
_PHONE = re.compile(r"^\+?[\d\s\-().]{6,}$")
_EDITED = re.compile(r"\s?<(?P<marker>[^<>\n]{3,60})>\s*$")
_EDITED_MARKERS = {
    "this message was edited", "diese nachricht wurde bearbeitet", "ce message a été modifié",
    "se editó este mensaje.", "se editó este mensaje", "questo messaggio è stato modificato",
    "esta mensagem foi editada", "mensagem editada", "dit bericht is bewerkt", "сообщение изменено",
    "это сообщение было изменено", "تم تعديل هذه الرسالة", "این پیام ویرایش شد",
    "このメッセージは編集されました", "메시지가 수정되었습니다", "此消息已编辑", "已编辑", "ข้อความนี้ถูกแก้ไข",
}
_ATTACHED = re.compile(r"\s?<(?P<label>[^<>:]{1,40}?)\s?:\s?(?P<name>[^<>\n]+\.[A-Za-z0-9]{1,8})>\s*$")
_FILE_ATTACHED = re.compile(r"^(?P<name>[^\n()<>]+?\.[A-Za-z0-9]{1,8}) \((?P<label>[^()\n]{3,40})\)$")
_FILE_ATTACHED_LABELS = {
    "file attached", "datei angehängt", "bestand bijgevoegd", "fichier joint", "archivo adjunto",
    "file allegato", "arquivo anexado", "файл добавлен", "فایل پیوست شد", "الملف مرفق", "ملف مرفق",
    "ファイル添付", "파일 첨부됨", "文件已附上", "附件", "ไฟล์แนบ", "dosya ekli", "plik załączony",
}
_WHATSAPP_MEDIA_NAME = re.compile(r"^(?:IMG|VID|AUD|PTT|STK|DOC|PHOTO|VIDEO)-\d{8}-WA\d+", re.I)
_OMITTED_BRACKETED = re.compile(r"^<(?P<label>[^<>:\n]{3,40})>$")
_OMITTED_IOS = re.compile(
    r"(?:^|\s)(?P<what>image|video|audio|sticker|GIF|document|Contact card|Bild|Video|Audio|Sticker|Dokument|"
    r"Kontaktkarte|imagen|vídeo|documento|immagine|imagem|afbeelding|document|изображение|видео)\s"
    r"(?:omitted|weggelassen|ausgelassen|omitida|omitido|omessa|omesso|ocultada|ocultado|weggelaten|absente|"
    r"отсутствует)$",
    re.I,
)
_LOCATION = re.compile(
    r"^(?:[^\s:]{2,20}\s?:\s?)?(?P<url>https?://maps\.google\.com/\?q=(?P<lat>-?\d+(?:\.\d+)?),(?P<lon>-?\d+(?:\.\d+)?)\S*)\s*$"
)
_VENUE = re.compile(r"https?://foursquare\.com/v/\S+")
_LIVE_LOCATION = re.compile(r"^(?:live location shared|Live-Standort wird geteilt\.?|Ubicación en tiempo real compartida)$", re.I)
_POLL = re.compile(r"^(?:POLL|UMFRAGE|SONDAGE|ENCUESTA|SONDAGGIO|ENQUETE|PEILING|ОПРОС):\s*$")
_OPTION = re.compile(r"^(?:OPTION|OPCIÓN|OPZIONE|OPÇÃO|OPTIE|ВАРИАНТ):\s*(?P<option>.*?)(?:\s\((?P<votes>\d+)[^()]*\))?$")
_DELETED = re.compile(
    r"^(?:This message was deleted\.?|You deleted this message\.?|Diese Nachricht wurde gelöscht\.?|"
    r"Du hast diese Nachricht gelöscht\.?|Dit bericht is verwijderd\.?|(?:U hebt|Je hebt) dit bericht verwijderd\.?|"
    r"Ce message a été supprimé\.?|Vous avez supprimé ce message\.?|Se eliminó este mensaje\.?|"
    r"Eliminaste este mensaje\.?|Questo messaggio è stato eliminato\.?|Hai eliminato questo messaggio\.?|"
    r"Mensagem apagada\.?|Você apagou esta mensagem\.?|Это сообщение удалено\.?|Данное сообщение удалено\.?|"
    r"Вы удалили это сообщение\.?|Вы удалили данное сообщение\.?|تم حذف هذه الرسالة\.?|لقد حذفت هذه الرسالة\.?|"
    r"این پیام حذف شد\.?|شما این پیام را حذف کردید\.?|このメッセージは削除されました。?|"
    r"このメッセージを削除しました。?|삭제된 메시지입니다\.?|메시지를 삭제했습니다\.?|此消息已删除|你删除了此消息|"
    r"ข้อความนี้ถูกลบแล้ว|คุณลบข้อความนี้แล้ว)$"
)
_ENCRYPTION = re.compile(
    r"end-to-end|Ende-zu-Ende|de extremo a extremo|de bout en bout|crittografia end-to-end|ponta a ponta|"
    r"сквозным шифрованием|التشفير التام|رمزگذاری سرتاسری|エンドツーエンド暗号化|종단간 암호화|端到端加密|"
    r"การเข้ารหัสจากต้นทางถึงปลายทาง",
    re.I,
)
_SECURITY_CODE = re.compile(r"^Your security code with .* changed|^Deine Sicherheitsnummer für .* hat sich geändert|^Tu código de seguridad con .* cambió|^Votre code de sécurité avec .* a changé", re.I)
_CALL = re.compile(r"^(?:Missed (?:voice|video) call|Verpasster (?:Sprach|Video)anruf|Gemiste (?:spraak|video)oproep|"
                   r"Llamada perdida|Appel (?:vocal|vidéo) manqué|Chiamata (?:vocale|video) persa)\.?", re.I)
_SYSTEM_EVENTS = [
    ("encryption", _ENCRYPTION),
    ("disappearing_messages", re.compile(r"disappearing messages|message timer|selbstlöschende|verdwijnende|mensajes temporales|messages éphémères|messaggi effimeri|mensagens temporárias", re.I)),
    ("changed_number", re.compile(r"changed (?:their|his|her|your) phone number|changed to \+|Telefonnummer geändert|changé de numéro|cambió su número", re.I)),
    ("subject", re.compile(r"changed the (?:subject|group name)|created group|Gruppe .* erstellt|Gruppennamen|a créé le groupe|creó el grupo|cambió el asunto|changed the group description", re.I)),
    ("icon", re.compile(r"group'?s? (?:icon|photo)|Gruppenbild|l'icône du groupe|ícono del grupo|icona del gruppo", re.I)),
    ("settings", re.compile(r"group's settings|Gruppeneinstellungen", re.I)),
    ("joined", re.compile(r"\bjoined\b|beigetreten|a rejoint|se unió|si è unito|entrou|is lid geworden", re.I)),
    ("added", re.compile(r"\badded\b|\bwere added\b|hinzugefügt|a ajouté|añadió|ha aggiunto|adicionou|toegevoegd", re.I)),
    ("removed", re.compile(r"\bremoved\b|entfernt|a retiré|eliminó a|ha rimosso|removeu|verwijderd", re.I)),
    ("left", re.compile(r"\bleft\b|hat die Gruppe verlassen|est parti|salió|è uscito|saiu|heeft de groep verlaten", re.I)),
]
_SUBJECT = re.compile(r"(?:created group|changed the subject (?:from .+ )?to|changed the group name (?:from .+ )?to)\s+[\"“](?P<subject>[^\"”]+)[\"”]", re.I)


def input_lines(text: str) -> list[str]:
    """The lines line numbers count: split on LF only (a trailing LF ends the last line), CR dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


@dataclass
class Header:
    style: str
    era: str
    a: str
    b: str
    c: str
    sep: str
    cjk: bool
    hour: int
    minute: int
    second: int
    marker: str
    rest: str


_GROUPS = ("era", "a", "b", "c", "sep", "cera", "cy", "cm", "cd", "pre", "h", "mi", "se", "post")
_LAST_PATTERN = [0]  # a file uses one header style: trying it first keeps one match per line


def match_header(line: str) -> Header | None:
    """The message header at the start of a (mark-free) line, or None for a continuation line."""
    if not line or not _HEADER_START.match(line):
        return None
    first = _LAST_PATTERN[0]
    for index in (first, *(i for i in range(len(_HEADERS)) if i != first)):
        style, pattern = _HEADERS[index]
        found = pattern.match(line)
        if found is None:
            continue
        _LAST_PATTERN[0] = index
        era, a, b, c, sep, cera, cy, cm, cd, pre, h, mi, se, post = found.group(*_GROUPS)
        if cy is not None:
            era, a, b, c, sep = cera, cy, cm, cd, "年"
        return Header(style, era or "", a, b, c, sep, cy is not None, int(h), int(mi), int(se or 0), pre or post or "", line[found.end():])
    return None


def clean_line(line: str) -> str:
    return INVISIBLE_MARKS.sub("", line) if line else line


def _full_year(value: int, digits: int, era: str) -> int:
    if era:
        return _ERA_BASE[era] + value
    if digits <= 2:
        this_year = datetime.now().year
        if 2000 + value <= this_year + 1:
            return 2000 + value
        buddhist = 2500 + value - 543  # Thai exports with two-digit Buddhist years
        return buddhist if buddhist <= this_year + 1 else 1900 + value
    if value > 2400:  # Thai Buddhist era
        return value - 543
    return value


@dataclass
class Layout:
    """What the header scan learnt about the whole file."""

    date_order: str = "DMY"  # DMY, MDY or YMD: how to read the three date fields
    reason: str = "default"
    headers: int = 0
    styles: dict[str, int] = field(default_factory=dict)
    clock: str = "24h"
    # Who writes and what the group is called, read off the headers, so that messages can be
    # emitted in the same pass that parses them.
    senders: dict[str, None] = field(default_factory=dict)
    subject: str = ""

    def ymd(self, header: Header) -> tuple[int, int, int]:
        a, b, c = int(header.a), int(header.b), int(header.c)
        if header.cjk or self.date_order == "YMD" or header.era or len(header.a) >= 3:
            return _full_year(a, len(header.a), header.era), b, c
        year = _full_year(c, len(header.c), "")
        return (year, b, a) if self.date_order == "DMY" else (year, a, b)


def _ordinal(year: int, month: int, day: int) -> int | None:
    try:
        return date(year, month, day).toordinal()
    except ValueError:
        return None


class _OrderEvidence:
    """Counts, over the whole file, how well day-first and month-first readings fit."""

    def __init__(self) -> None:
        self.forced = {"DMY": 0, "MDY": 0}
        self.backward = {"DMY": 0, "MDY": 0}
        self.span = {"DMY": 0, "MDY": 0}
        self.previous: dict[str, int | None] = {"DMY": None, "MDY": None}
        self.year_first = 0
        self.year_last = 0
        self.us_style = 0
        self.other_style = 0

    def add(self, header: Header) -> None:
        if header.cjk or header.era or len(header.a) >= 3 or int(header.a) > 31:
            self.year_first += 1
            return
        self.year_last += 1
        a, b = int(header.a), int(header.b)
        year = _full_year(int(header.c), len(header.c), "")
        if a > 12:
            self.forced["DMY"] += 1
        if b > 12:
            self.forced["MDY"] += 1
        us = header.sep == "/" and not header.a.startswith("0") and not header.b.startswith("0")
        latin_12h = bool(header.marker) and header.marker[:1].lower() in "ap"
        if us and (latin_12h or len(header.c) == 2):
            self.us_style += 1
        else:
            self.other_style += 1
        for order, (month, day) in (("DMY", (b, a)), ("MDY", (a, b))):
            moment = _ordinal(year, month, day)
            if moment is None:
                continue
            before = self.previous[order]
            if before is not None:
                if moment < before:
                    self.backward[order] += 1
                self.span[order] += abs(moment - before)
            self.previous[order] = moment

    def decide(self) -> tuple[str, str]:
        if self.year_first > self.year_last:
            return "YMD", "year-first fields"
        dmy, mdy = self.forced["DMY"], self.forced["MDY"]
        if dmy or mdy:
            if dmy and mdy:
                order = "DMY" if dmy >= mdy else "MDY"
                return order, f"conflicting fields > 12 (day-first {dmy}, month-first {mdy}); majority"
            return ("DMY", "a first field > 12") if dmy else ("MDY", "a second field > 12")
        if self.backward["DMY"] != self.backward["MDY"]:
            order = "DMY" if self.backward["DMY"] < self.backward["MDY"] else "MDY"
            return order, "dates run forward in this order"
        if self.span["DMY"] != self.span["MDY"]:
            order = "DMY" if self.span["DMY"] < self.span["MDY"] else "MDY"
            return order, "dates span fewer days in this order"
        if self.us_style > self.other_style:
            return "MDY", "tie: US style (slashes, unpadded, AM/PM or two-digit year)"
        return "DMY", "tie: day-first default"


def scan_layout(lines: Iterable[str]) -> Layout:
    """First pass: read only the headers and decide the date order for the whole file."""
    evidence = _OrderEvidence()
    layout = Layout()
    twelve = 0
    for raw in lines:
        header = match_header(clean_line(raw))
        if header is None:
            continue
        layout.headers += 1
        layout.styles[header.style] = layout.styles.get(header.style, 0) + 1
        if header.marker:
            twelve += 1
        evidence.add(header)
        split = _split_sender(header.rest)
        if split is not None:
            layout.senders.setdefault(split[0])
        else:
            found = _SUBJECT.search(header.rest)
            if found:
                layout.subject = found.group("subject")
    layout.date_order, layout.reason = evidence.decide()
    layout.clock = "12h" if twelve > layout.headers // 2 else "24h"
    return layout


class LocalClock:
    """Local wall-clock times in one zone turned into aware datetimes, DST-correct."""

    def __init__(self, zone: str) -> None:
        try:
            self.zone = ZoneInfo(zone or DEFAULT_TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo(DEFAULT_TIMEZONE)
        self._hour_key: tuple[int, int, int, int] | None = None
        self._hour_offsets: tuple[timedelta | None, timedelta | None] = (None, None)

    def aware(self, naive: datetime) -> tuple[datetime, dict[str, object]]:
        key = (naive.year, naive.month, naive.day, naive.hour)
        if key != self._hour_key:  # consecutive messages share the hour: compute offsets once per hour
            first = naive.replace(minute=0, second=0, tzinfo=self.zone)
            last = naive.replace(minute=59, second=59, tzinfo=self.zone)
            self._hour_key = key
            self._hour_offsets = (first.utcoffset(), last.utcoffset()) if self._simple(first, last) else (None, None)
        offset = self._hour_offsets[0]
        if offset is not None:
            return naive.replace(tzinfo=self.zone), {}
        return self._careful(naive)

    def _simple(self, first: datetime, last: datetime) -> bool:
        """True when the whole hour has one offset and no fold or gap."""
        offsets = {first.utcoffset(), last.utcoffset(), first.replace(fold=1).utcoffset(), last.replace(fold=1).utcoffset()}
        return len(offsets) == 1

    def _careful(self, naive: datetime) -> tuple[datetime, dict[str, object]]:
        early = naive.replace(tzinfo=self.zone, fold=0)
        late = naive.replace(tzinfo=self.zone, fold=1)
        if early.utcoffset() == late.utcoffset():
            return early, {}
        round_trip = early.astimezone(dt_timezone.utc).astimezone(self.zone).replace(tzinfo=None)
        if round_trip == naive:
            return early, {"ambiguous_time": True}
        # In a spring-forward gap fold=0 uses the offset before the change: the same instant a
        # clock that skipped forward shows later, so the time moves forward by the gap.
        shifted = early.astimezone(dt_timezone.utc).astimezone(self.zone)
        return shifted, {"nonexistent_time": True, "local_time_given": naive.isoformat(), "shifted_to": shifted.isoformat()}


def _hour24(hour: int, marker: str) -> int:
    if not marker or hour > 12:  # some exports print a 24-hour clock and a marker ("23:59 PM")
        return hour
    morning = bool(_AM_WORDS.match(marker))
    if marker == "中午":  # midday: 11 is morning, 12 and 1 are afternoon
        morning = hour == 11
    if morning:
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


_PEOPLE: dict[str, Person] = {}


def sender_person(sender: str) -> Person:
    """A name in Person.name; a phone number, normalised to E.164, in Person.address."""
    known = _PEOPLE.get(sender)
    if known is None:
        known = _sender_person(sender)
        if len(_PEOPLE) > 50_000:  # bounded: a chat has few senders, hostile input may have many
            _PEOPLE.clear()
        _PEOPLE[sender] = known
    return Person(known.name, known.address)


def _sender_person(sender: str) -> Person:
    sender = sender.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if _PHONE.match(sender):
        digits = re.sub(r"\D", "", sender)
        try:
            number = phonenumbers.parse(sender, None if sender.startswith("+") else "GB")
            if phonenumbers.is_possible_number(number):
                return Person(address=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
        return Person(address=f"+{digits}" if sender.startswith("+") else digits)
    return Person(name=sender)


_SENDER_OK: dict[str, bool] = {}


def _plausible_sender(sender: str) -> bool:
    known = _SENDER_OK.get(sender)
    if known is None:
        known = not (
            (sender != sender.strip() and not sender.endswith(" "))
            or "http" in sender
            or '"' in sender
            or "“" in sender
            or _SENDER_SYSTEM_WORDS.search(sender)
        )
        if len(_SENDER_OK) > 50_000:
            _SENDER_OK.clear()
        _SENDER_OK[sender] = known
    return known


def _split_sender(rest: str) -> tuple[str, str] | None:
    colon = rest.find(":")
    if colon <= 0 or colon > 100:
        return None
    sender = rest[:colon]
    if not _plausible_sender(sender):
        return None
    text = rest[colon + 1 :]
    if text.startswith(" "):
        text = text[1:]
    return sender.rstrip(), text


@dataclass
class _Draft:
    header: Header
    first_line: int
    lines: list[str]
    last_line: int
    moment: tuple[datetime, dict[str, object]]


class WhatsAppReader:
    """Second pass: headers and continuation lines folded into ChatMessages."""

    def __init__(self, layout: Layout, zone: str) -> None:
        self.layout = layout
        self.clock = LocalClock(zone)
        self.errors: list[ParseError] = []
        self.subject = ""

    def messages(self, lines: Iterable[str]) -> Iterator[ChatMessage]:
        draft: _Draft | None = None
        orphaned = False  # continuation lines after an unreadable header belong to nothing
        number = 0
        for number, raw in enumerate(lines, start=1):
            line = clean_line(raw)
            header = match_header(line)
            if header is not None:
                if draft is not None:
                    yield self._finish(draft)
                    draft = None
                moment = self._moment(header)
                if moment is None:
                    self.errors.append(ParseError(number, raw, f"date or time not valid when read {self.layout.date_order}"))
                    orphaned = True
                    continue
                orphaned = False
                draft = _Draft(header, number, [header.rest], number, moment)
            elif draft is not None:
                draft.lines.append(line)
                draft.last_line = number
            elif orphaned:
                self.errors.append(ParseError(number, raw, "continuation of an unreadable message"))
            elif not self.errors and not line.strip():
                self.errors.append(ParseError(number, raw, "blank line before the first message"))
            else:
                first = not any(e.reason.startswith("first unreadable line") for e in self.errors)
                reason = "first unreadable line: no WhatsApp message header" if first else "line before the first message"
                self.errors.append(ParseError(number, raw, reason))
        if draft is not None:
            yield self._finish(draft)

    def _moment(self, header: Header) -> tuple[datetime, dict[str, object]] | None:
        try:
            year, month, day = self.layout.ymd(header)
            hour = _hour24(header.hour, header.marker)
            naive = datetime(year, month, day, hour, header.minute, header.second)
        except ValueError:
            return None
        return self.clock.aware(naive)

    def _finish(self, draft: _Draft) -> ChatMessage:
        header = draft.header
        sent, time_notes = draft.moment
        while len(draft.lines) > 1 and not draft.lines[-1].strip():
            draft.lines.pop()  # trailing blank lines stay in the span, not in the text
        split = _split_sender(draft.lines[0])
        metadata: dict[str, object] = dict(time_notes)
        if split is None:
            text = "\n".join(draft.lines)
            message = ChatMessage(sender=Person(), sent=sent, text=text, kind="system")
            metadata["system_event"] = _system_event(text)
            found = _SUBJECT.search(text)
            if found:
                self.subject = found.group("subject")
        else:
            sender, first = split
            draft.lines[0] = first
            message = ChatMessage(sender=sender_person(sender), sent=sent, text="\n".join(draft.lines))
            _classify(message, metadata)
        message.first_line = draft.first_line
        message.last_line = draft.last_line
        message.metadata = metadata
        return message


_OMITTED_WORDS = {"omitted", "weggelassen", "ausgelassen", "omitida", "omitido", "omessa", "omesso", "ocultada",
                  "ocultado", "weggelaten", "absente", "отсутствует"}
_ENCRYPTION_HINTS = ("end-to-end", "ende-zu-ende", "extremo", "bout en bout", "ponta a ponta", "сквозным", "التشفير",
                     "سرتاسری", "エンドツーエンド", "종단간", "端到端", "การเข้ารหัส", "security code", "sicherheitsnummer",
                     "código de seguridad", "code de sécurité")


def _maybe_omitted(text: str) -> bool:
    return text.rsplit(" ", 1)[-1].lower() in _OMITTED_WORDS


def _maybe_encryption(text: str) -> bool:
    """A cheap literal check before the many-language encryption and security-code patterns."""
    lowered = text.lower()
    return any(hint in lowered for hint in _ENCRYPTION_HINTS)


def _system_event(text: str) -> str:
    for name, pattern in _SYSTEM_EVENTS:
        if pattern.search(text):
            return name
    return "other"


def _classify(message: ChatMessage, metadata: dict[str, object]) -> None:
    """Kind, flags and attachments of a message from its text; markers come out of the text."""
    text = message.text
    tail = text.rstrip()
    edited = _EDITED.search(text) if tail.endswith(">") else None
    if edited and edited.group("marker").strip().lower() in _EDITED_MARKERS:
        message.edited = True
        text = text[: edited.start()]
    if len(text) < 60 and _DELETED.match(text.strip()):
        message.kind, message.deleted = "system", True
        metadata["system_event"] = "deleted"
        message.text = text.strip()
        return
    if "\n" not in text.strip() and _maybe_encryption(text) and (_ENCRYPTION.search(text) or _SECURITY_CODE.search(text)):
        message.kind = "system"
        metadata["system_event"] = "encryption" if _ENCRYPTION.search(text) else "security_code"
        message.text = text
        return
    first, _, more = text.partition("\n")
    stripped = first.strip()
    attached = _ATTACHED.search(first) if stripped.endswith(">") else None
    file_attached = _FILE_ATTACHED.match(stripped) if stripped.endswith(")") else None
    if attached:
        message.attachments.append(attached.group("name").strip())
        metadata["attachment_marker"] = attached.group(0).strip()
        first = first[: attached.start()].rstrip()
    elif file_attached and (
        file_attached.group("label").lower() in _FILE_ATTACHED_LABELS or _WHATSAPP_MEDIA_NAME.match(file_attached.group("name"))
    ):
        message.attachments.append(file_attached.group("name").strip())
        metadata["attachment_marker"] = first.strip()
        first = ""
    elif _OMITTED_BRACKETED.match(stripped) or (_maybe_omitted(stripped) and _OMITTED_IOS.search(stripped)):
        omitted = _OMITTED_IOS.search(stripped) if _maybe_omitted(stripped) else None
        metadata["media_omitted"] = True
        metadata["attachment_marker"] = first.strip()
        if omitted and omitted.group("what").lower() in ("contact card", "kontaktkarte"):
            message.kind = "contact"
        first = first.strip()[: omitted.start()].strip() if omitted else ""
    text = first if not more else (f"{first}\n{more}" if first else more)
    if any(name.lower().endswith(".vcf") for name in message.attachments):
        message.kind = "contact"
    location = _LOCATION.match(text.strip()) if "maps.google" in text else None
    if location:
        message.kind = "location"
        metadata["latitude"] = float(location.group("lat"))
        metadata["longitude"] = float(location.group("lon"))
        text = location.group("url")
    elif ("foursquare.com" in text and _VENUE.search(text)) or (len(text) < 60 and _LIVE_LOCATION.match(text.strip())):
        message.kind = "location"
    elif len(text) < 60 and _CALL.match(text.strip()):
        message.kind = "call"
    lines = text.split("\n")
    if lines[0].rstrip().endswith(":") and _POLL.match(lines[0].strip()):
        message.kind = "poll"
        metadata["question"] = lines[1].strip() if len(lines) > 1 else ""
        options = []
        for line in lines[2:]:
            option = _OPTION.match(line.strip())
            if option:
                options.append({"option": option.group("option"), "votes": int(option.group("votes") or 0)})
        metadata["options"] = options
    message.text = text


def parse_lines(lines_twice: Callable[[], Iterable[str]], timezone: str = DEFAULT_TIMEZONE) -> tuple[Layout, WhatsAppReader, Iterator[ChatMessage]]:
    """Scan then read: `lines_twice()` must give the same lines each time it is called."""
    layout = scan_layout(lines_twice())
    reader = WhatsAppReader(layout, timezone)
    return layout, reader, reader.messages(lines_twice())


def conversation_metadata(layout: Layout, timezone: str) -> dict[str, object]:
    return {
        "date_order": layout.date_order,
        "date_order_reason": layout.reason,
        "export_style": max(layout.styles, key=layout.styles.__getitem__) if layout.styles else "",
        "clock": layout.clock,
        "timezone": timezone,
    }


def parse_whatsapp(text: str, timezone: str = DEFAULT_TIMEZONE) -> Conversation:
    """A whole export held in memory, parsed. Errors name lines; nothing raises."""
    lines = input_lines(text)
    layout, reader, messages = parse_lines(lambda: lines, timezone)
    parsed = list(messages)
    conversation = Conversation(platform="whatsapp", title=reader.subject, messages=parsed, errors=reader.errors)
    conversation.metadata.update(conversation_metadata(layout, timezone))
    if reader.subject:
        conversation.metadata["group_subject"] = reader.subject
    return conversation


def looks_like_whatsapp(head: str, needed: int = 2) -> bool:
    """True when the first lines of a text are WhatsApp message headers."""
    found = 0
    checked = 0
    for line in input_lines(head)[:40]:
        line = clean_line(line)
        if not line.strip():
            continue
        checked += 1
        if match_header(line) is not None:
            found += 1
            if found >= needed:
                return True
        elif found == 0 and checked > 3:
            return False
    return found >= 1 and checked == found
