"""Test data for bundles and exports: a workspace with items, a request, review rows and markers written directly."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from disclose.items import Item, Kind, Participants, Person, stable_id
from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
from disclose.store.records import save_item
from disclose.workspace import open_workspace
from indexer.services import Services, open_services

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass
class Case:
    services: Services
    ref: str
    request_id: int
    items: dict[str, Item] = field(default_factory=dict)

    def add(self, item: Item, *, decision: str = "", exemptions: list[str] | None = None, review: bool = True) -> Item:
        with self.services.store.session() as session:
            save_item(session, item)
            if review:
                session.add(ReviewItem(request_id=self.request_id, item_id=item.id, decision=decision, exemptions=exemptions or []))
        self.items[item.id] = item
        return item

    def mark(self, item: Item, words: str, code: str = "s40(2)", occurrence: int = 0, status: str = "accepted") -> tuple[int, int]:
        start = -1
        for _ in range(occurrence + 1):
            start = item.text.index(words, start + 1)
        end = start + len(words)
        with self.services.store.session() as session:
            session.add(MarkerRow(request_id=self.request_id, item_id=item.id, text_version=item.text_version,
                                  start=start, end=end, code=code, status=status))
        return start, end

    def mark_all(self, item: Item, words: str, code: str = "s40(2)") -> int:
        count = item.text.count(words)
        for occurrence in range(count):
            self.mark(item, words, code, occurrence)
        return count


def new_case(tmp_path: Path, ref: str = "FOI-2024-001", request_type: str = "foi") -> Case:
    services = open_services(open_workspace(tmp_path / "ws"))
    with services.store.session() as session:
        row = RequestRow(ref=ref, type=request_type, received=date(2024, 3, 1))
        session.add(row)
        session.flush()
        request_id = row.id
    return Case(services, ref, request_id)


def email_item(case: Case, name: str, body: str, *, subject: str = "Budget meeting", sender: str = "Alice Jones",
               to: str = "Bob Brown", when: datetime | None = None) -> Item:
    sent = when or datetime(2024, 1, 15, 9, 30, tzinfo=timezone.utc)
    head = f"From: {sender} <{sender.split()[0].lower()}@council.example>\nTo: {to} <{to.split()[0].lower()}@council.example>\nSent: {sent.isoformat()}\nSubject: {subject}"
    item_id = stable_id("test", name)
    item = Item(id=item_id, kind=Kind.EMAIL, family_id=item_id, root_id=item_id, title=subject, custodians=["Alice Jones"],
                participants=Participants(sender=[Person(sender, "")], to=[Person(to, "")]), text=f"{head}\n\n{body}",
                source=f"file:///mail/{name}.eml", filename=f"{name}.eml", mime_type="message/rfc822")
    item.set_date(sent, "header")
    item.metadata["body_offset"] = len(head) + 2
    return item


def child_item(case: Case, parent: Item, name: str, text: str, *, kind: Kind = Kind.ATTACHMENT, mime: str = "text/plain",
               sha256: str = "") -> Item:
    item_id = stable_id(parent.id, name)
    return Item(id=item_id, kind=kind, family_id=parent.family_id, parent_id=parent.id, root_id=parent.root_id or parent.id,
                title=name, filename=name, mime_type=mime, text=text, custodians=list(parent.custodians), sha256=sha256,
                locator=f"attachment/{name}")


def file_item(case: Case, name: str, text: str, *, mime: str = "text/plain", sha256: str = "", kind: Kind = Kind.FILE,
              metadata: dict | None = None) -> Item:
    item_id = stable_id("file", name)
    item = Item(id=item_id, kind=kind, family_id=item_id, root_id=item_id, title=name, filename=name, mime_type=mime, text=text,
                custodians=["Carol White"], sha256=sha256, source=f"file:///share/{name}", metadata=metadata or {})
    item.set_date(datetime(2024, 2, 1, 12, 0, tzinfo=timezone.utc), "mtime")
    return item


def chat_items(case: Case, messages: list[tuple[str, datetime, str]], title: str = "Housing team") -> tuple[Item, list[Item]]:
    conversation_id = stable_id("chat", title)
    people = sorted({sender for sender, _, _ in messages})
    conversation = Item(id=conversation_id, kind=Kind.CHAT_CONVERSATION, family_id=conversation_id, root_id=conversation_id,
                        title=title, custodians=["Dan Green"], text="\n".join(people),
                        participants=Participants(to=[Person(p) for p in people]),
                        metadata={"platform": "whatsapp", "conversation_id": conversation_id})
    conversation.set_date(messages[0][1], "export")
    items = []
    for position, (sender, moment, text) in enumerate(messages, start=1):
        message = Item(id=stable_id(conversation_id, f"message/{position}"), kind=Kind.CHAT_MESSAGE, family_id=conversation_id,
                       parent_id=conversation_id, root_id=conversation_id, title=f"{sender}: {text[:80]}", text=text,
                       custodians=["Dan Green"], participants=Participants(sender=[Person(sender)]),
                       metadata={"platform": "whatsapp", "conversation_id": conversation_id, "position": position,
                                 "conversation_title": title})
        message.set_date(moment, "export")
        items.append(message)
    return conversation, items


def screenshot(path: Path, lines: list[str]) -> Path:
    """A white PNG with black text lines: what a phone screenshot looks like to OCR."""
    image = Image.new("RGB", (900, 60 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(DEJAVU, 36)
    for number, line in enumerate(lines):
        draw.text((30, 30 + 70 * number), line, fill="black", font=font)
    image.save(path)
    return path


def ocr_words_of(path: Path) -> tuple[str, list[list]]:
    """OCR with tesseract as the image ingestor does: text and [text, left, top, width, height, start, end] words."""
    from indexer.ocr import parse_tsv

    tsv = subprocess.run(["tesseract", str(path), "-", "tsv"], capture_output=True, text=True, check=True,
                         env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}).stdout
    result = parse_tsv(tsv)
    return result.text, result.words_as_lists()


def multipage_pdf(path: Path, pages: list[list[str]], *, line_gap: float = 11.0, size: float = 10.0) -> Path:
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page()
        y = 72.0
        for line in lines:
            page.insert_text((72, y), line, fontname="helv", fontsize=size)
            y += line_gap
    doc.set_metadata({"author": "Secret Author Name", "title": "Internal draft"})
    doc.save(path)
    return path


def pdftotext(path: Path, *pages: int) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def squash(text: str) -> str:
    return " ".join(text.split())
