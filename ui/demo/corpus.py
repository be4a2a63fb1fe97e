"""A small, realistic council corpus: emails with attachments, office files, a WhatsApp export and
chat screenshots rendered as images, spread over three custodians. Everything is fictional."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageFont

FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]


@dataclass(frozen=True)
class Custodian:
    name: str
    email: str
    phone: str
    folder: str


ALEX = Custodian("Alex Morgan", "alex.morgan@northshire.gov.uk", "+447700900123", "alex-morgan")
PRIYA = Custodian("Priya Shah", "priya.shah@northshire.gov.uk", "+447700900456", "priya-shah")
SAM = Custodian("Sam Taylor", "cllr.sam.taylor@northshire.gov.uk", "+447700900789", "sam-taylor")
CUSTODIANS = [ALEX, PRIYA, SAM]
THIRD_PARTY = "Jordan Ellis"  # a member of the public: personal data the bundle must redact
START = datetime(2024, 3, 4, 9, 15, tzinfo=timezone.utc)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def docx_bytes(title: str, paragraphs: list[str]) -> bytes:
    """A minimal but valid Word document (WordprocessingML), so the demo needs no office suite."""
    def para(text: str) -> str:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<w:p><w:r><w:t xml:space="preserve">{escaped}</w:t></w:r></w:p>'

    body = "".join(para(text) for text in [title, *paragraphs])
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Housing budget 2024-25"
    sheet.append(["Scheme", "Ward", "Budget (£)", "Status"])
    for row in [
        ("Riverside temporary accommodation", "Riverside", 1_250_000, "Approved"),
        ("Damp and mould remediation", "Eastgate", 480_000, "Approved"),
        ("Hillcrest estate retrofit", "Hillcrest", 2_100_000, "Deferred"),
        ("Homelessness prevention fund", "All wards", 350_000, "Approved"),
    ]:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def email_bytes(
    sender: Custodian, to: list[Custodian], subject: str, body: str, sent: datetime,
    attachments: list[tuple[str, str, bytes]] = (), cc: list[str] = (), reply_to: EmailMessage | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{sender.name} <{sender.email}>"
    message["To"] = ", ".join(f"{c.name} <{c.email}>" for c in to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(domain="northshire.gov.uk")
    if reply_to is not None:
        message["In-Reply-To"] = reply_to["Message-ID"]
        message["References"] = reply_to["Message-ID"]
    message.set_content(body)
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def chat_screenshot(path: Path, title: str, messages: list[tuple[bool, str, str]]) -> None:
    """A phone-style chat screenshot: (mine, text, time) bubbles, right for the owner, left for others."""
    width, scale = 540, 2
    body, small, head = font(20 * scale), font(15 * scale), font(24 * scale)
    height = 180 + 110 * len(messages)
    image = Image.new("RGB", (width * scale, height * scale), "#ece5dd")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width * scale, 70 * scale], fill="#075e54")
    draw.text((20 * scale, 20 * scale), title, font=head, fill="white")
    draw.text(((width // 2 - 40) * scale, 85 * scale), "4 March 2024", font=small, fill="#333333")
    y = 120
    for mine, text, time in messages:
        box_w = 380
        x = width - box_w - 15 if mine else 15
        draw.rounded_rectangle([x * scale, y * scale, (x + box_w) * scale, (y + 72) * scale], radius=14, fill="#dcf8c6" if mine else "white")
        draw.text(((x + 14) * scale, (y + 10) * scale), text, font=body, fill="black")
        draw.text(((x + box_w - 70) * scale, (y + 44) * scale), time, font=small, fill="#555555")
        y += 92
    image.save(path)


WHATSAPP = """04/03/2024, 08:02 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.
04/03/2024, 08:05 - Alex Morgan: Morning Sam. The Riverside temporary accommodation budget goes to cabinet on Thursday.
04/03/2024, 08:07 - Sam Taylor: Thanks Alex. Residents are asking about the damp and mould complaints at Eastgate.
04/03/2024, 08:09 - Alex Morgan: Understood. Jordan Ellis has complained again about flat 4, their phone is 07700 900999.
04/03/2024, 08:10 - Sam Taylor: Can we keep that off email for now?
04/03/2024, 08:12 - Alex Morgan: No, it's official business, it all needs to be on the record for FOI.
Please send me the housing budget figures by Friday.
04/03/2024, 08:15 - Sam Taylor: <Media omitted>
04/03/2024, 08:16 - Sam Taylor: Will do. The Hillcrest retrofit is deferred to next year.
"""


def build(folder: Path) -> dict[str, list[Path]]:
    """Write the corpus under `folder`, one sub-folder per custodian; returns files per custodian."""
    files: dict[str, list[Path]] = {c.name: [] for c in CUSTODIANS}

    def write(custodian: Custodian, name: str, data: bytes) -> None:
        path = folder / custodian.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[custodian.name].append(path)

    briefing = docx_bytes(
        "Cabinet briefing: Riverside temporary accommodation",
        [
            "Purpose: to approve the housing budget for the Riverside temporary accommodation scheme.",
            "The scheme will provide 40 self-contained units for families in temporary accommodation.",
            f"A complaint from {THIRD_PARTY} about damp and mould at Eastgate is being investigated separately.",
            "Recommendation: Cabinet approves a capital budget of £1,250,000.",
        ],
    )
    first = email_bytes(
        ALEX, [PRIYA, SAM], "Riverside housing budget – cabinet briefing",
        "Priya, Sam,\n\nAttached is the cabinet briefing on the Riverside housing budget and the budget sheet.\n"
        f"Please note the complaint from {THIRD_PARTY} (jordan.ellis@example.com) is not for publication.\n\nAlex\n"
        "Director of Housing, Northshire Council",
        START,
        attachments=[
            ("Cabinet briefing - Riverside.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", briefing),
            ("Housing budget 2024-25.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes()),
        ],
    )
    reply = email_bytes(
        PRIYA, [ALEX], "RE: Riverside housing budget – cabinet briefing",
        "Thanks Alex. I will draft the press release on the housing budget for Thursday.\n"
        f"I won't mention {THIRD_PARTY} or the Eastgate complaint.\n\nPriya Shah\nPress Office",
        START + timedelta(hours=2, minutes=10),
        reply_to=first,
    )
    budget_note = email_bytes(
        SAM, [ALEX], "Eastgate damp and mould",
        "Alex, residents at Eastgate have raised damp and mould again. Can we add it to the budget discussion?\n\nCllr Sam Taylor",
        START + timedelta(days=1, hours=1),
    )
    write(ALEX, "mail/riverside-briefing.eml", first.as_bytes())
    write(PRIYA, "mail/riverside-briefing.eml", first.as_bytes())  # the same message in two mailboxes: a duplicate
    write(PRIYA, "mail/re-riverside-briefing.eml", reply.as_bytes())
    write(ALEX, "mail/re-riverside-briefing.eml", reply.as_bytes())
    write(SAM, "mail/eastgate-damp.eml", budget_note.as_bytes())
    write(ALEX, "documents/Housing budget 2024-25.xlsx", xlsx_bytes())
    write(
        PRIYA,
        "documents/Press release draft.docx",
        docx_bytes("DRAFT press release", ["Northshire Council invests £1.25m in Riverside housing.",
                                           "Councillor Sam Taylor said the housing budget puts families first."]),
    )
    write(SAM, "chats/WhatsApp Chat with Alex Morgan.txt", WHATSAPP.encode("utf-8"))
    screenshots = folder / SAM.folder / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    shot = screenshots / "Screenshot_20240304-081500.png"
    chat_screenshot(
        shot,
        "Alex Morgan",
        [
            (False, "Housing budget papers are ready", "08:13"),
            (True, "Thanks, I will read them tonight", "08:14"),
            (False, "Eastgate damp report attached", "08:15"),
        ],
    )
    files[SAM.name].append(shot)
    return files
