"""Email file formats: what an EML, emlx, MBOX, Maildir, TNEF, MSG and PST message becomes."""

from __future__ import annotations

import io
import zipfile
from datetime import timezone
from pathlib import Path

import pytest

from disclose.items import Kind, Status
from email_fixtures import (
    BASE_DATE, RecordingContext, broken_messages, emlx_bytes, make_email, mbox_bytes, tnef_bytes, write_maildir,
)
from indexer.ingestors.email.mbox import iter_mbox

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path / "work")


def test_eml_headers_participants_dates_and_safe_html_body(tmp_path: Path, ctx: RecordingContext) -> None:
    html = "<html><head><style>p{color:red}</style><script>stealCookies()</script></head><body><p>Budget is <b>£1.2m</b></p></body></html>"
    data = make_email(cc="Carol <carol@council.gov.uk>", body="", html=html, headers={"Thread-Index": "AdqXYZ==", "Importance": "High"},
                      in_reply_to="<m0@council.gov.uk>", references="<m0@council.gov.uk>")
    path = tmp_path / "message.bin"  # no extension: recognised by content
    path.write_bytes(data)
    item = ctx.ingest_file(path)
    assert item.kind is Kind.EMAIL and item.status is Status.OK
    assert item.title == "Budget for the Riverside scheme"
    assert [(p.name, p.address) for p in item.participants.sender] == [("Jane Smith", "jane.smith@council.gov.uk")]
    assert [p.address for p in item.participants.to] == ["bob.jones@council.gov.uk"]
    assert [p.name for p in item.participants.cc] == ["Carol"]
    assert item.date == BASE_DATE.astimezone(timezone.utc) and item.date_offset_minutes == 60
    assert "Budget is £1.2m" in item.text
    assert "stealCookies" not in item.text and "color:red" not in item.text
    meta = item.metadata
    assert meta["message_id"] == "<m1@council.gov.uk>" and meta["in_reply_to"] == "<m0@council.gov.uk>"
    assert meta["references"] == ["<m0@council.gov.uk>"] and meta["thread_index"] == "AdqXYZ=="
    assert meta["importance"] == "high" and meta["body_format"] == "html" and meta["has_attachment"] is False


def test_attachments_become_children_recursively(tmp_path: Path, ctx: RecordingContext) -> None:
    inner = make_email(subject="Inner note", message_id="<inner@x>", body="Inner body",
                       attachments=[("evidence.zip", _zip("a.txt", "zipped"), "application/zip")])
    outer = make_email(subject="Outer", attachments=[("report.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")], inner=inner)
    path = tmp_path / "outer.eml"
    path.write_bytes(outer)
    item = ctx.ingest_file(path)
    assert item.metadata["has_attachment"] is True and item.metadata["attachment_count"] == 2
    children = ctx.children(item)
    assert [(c.kind, c.filename) for c in children] == [(Kind.ATTACHMENT, "report.pdf"), (Kind.EMAIL, "forwarded.eml")]
    assert all(c.family_id == item.family_id for c in children)
    nested = children[1]
    assert nested.title == "Inner note" and "Inner body" in nested.text
    grandchildren = ctx.children(nested)
    assert [(c.kind, c.filename) for c in grandchildren] == [(Kind.ATTACHMENT, "evidence.zip")]
    assert grandchildren[0].family_id == item.family_id


def test_same_message_gives_the_same_hash_wherever_it_is_held(tmp_path: Path) -> None:
    message = make_email(attachments=[("a.txt", b"alpha", "text/plain")])
    (tmp_path / "one.eml").write_bytes(message)
    (tmp_path / "box.mbox").write_bytes(mbox_bytes([make_email(subject="Other", message_id="<o@x>"), message]))
    changed = make_email(body="Different words.", attachments=[("a.txt", b"alpha", "text/plain")])
    (tmp_path / "changed.eml").write_bytes(changed)
    first = RecordingContext(tmp_path / "w1").ingest_file(tmp_path / "one.eml")
    box_ctx = RecordingContext(tmp_path / "w2")
    box = box_ctx.ingest_file(tmp_path / "box.mbox", custodian="bob")
    in_box = [c for c in box_ctx.children(box) if c.locator == "msg/2"][0]
    other = RecordingContext(tmp_path / "w3").ingest_file(tmp_path / "changed.eml")
    assert first.content_hash == in_box.content_hash
    assert other.content_hash != first.content_hash
    assert first.content_hash != first.sha256  # a message hash, not a file hash


def test_mbox_streams_messages_and_undoes_from_quoting(tmp_path: Path, ctx: RecordingContext) -> None:
    bodies = ["First message.", "From the start of a line\n>From already quoted", "Third."]
    messages = [make_email(subject=f"S{n}", message_id=f"<{n}@x>", body=b) for n, b in enumerate(bodies, start=1)]
    path = tmp_path / "Sent"  # no extension: recognised by content
    path.write_bytes(mbox_bytes(messages, quoting="mboxrd"))
    box = ctx.ingest_file(path)
    emails = ctx.children(box)
    assert [e.locator for e in emails] == ["msg/1", "msg/2", "msg/3"]
    assert all(e.kind is Kind.EMAIL for e in emails)
    assert "From the start of a line\n>From already quoted" in emails[1].text
    assert emails[0].metadata["folder"] == "Sent"
    assert box.metadata["message_count"] == 3
    # mboxo quoting is undone too
    parsed = list(iter_mbox(io.BytesIO(mbox_bytes([messages[1]], quoting="mboxo"))))
    assert b"\nFrom the start of a line\n" in parsed[0][2]


def test_emlx_and_maildir_give_flags_and_folders(tmp_path: Path, ctx: RecordingContext) -> None:
    path = tmp_path / "12345.emlx"
    path.write_bytes(emlx_bytes(make_email(subject="Apple"), flags=0b10001))
    item = ctx.ingest_file(path)
    assert item.kind is Kind.EMAIL and item.title == "Apple"
    assert item.metadata["flags"] == ["seen", "flagged"] and item.metadata["container_format"] == "emlx"
    assert item.metadata["received"].startswith("2024-03-05")

    files = write_maildir(tmp_path / "Maildir", {"": [("1709631000.M1.host:2,FS", make_email(subject="In inbox"))],
                                                  "Archive.2023": [("1709631001.M2.host", make_email(subject="Archived", message_id="<a@x>"))]})
    inbox, archived = (ctx.ingest_file(f) for f in files)
    assert inbox.metadata["folder"] == "INBOX" and inbox.metadata["flags"] == ["flagged", "seen"]
    assert archived.metadata["folder"] == "Archive/2023" and archived.metadata["flags"] == []


def test_tnef_winmail_body_and_files(tmp_path: Path, ctx: RecordingContext) -> None:
    path = tmp_path / "winmail.dat"
    path.write_bytes(tnef_bytes("Rich text wrapper body", [("minutes.txt", b"minutes of the meeting"), ("plan.txt", b"plan")]))
    item = ctx.ingest_file(path)
    assert item.text == "Rich text wrapper body"
    assert [(c.filename, c.kind) for c in ctx.children(item)] == [("minutes.txt", Kind.ATTACHMENT), ("plan.txt", Kind.ATTACHMENT)]


@pytest.mark.parametrize(
    ("name", "readable", "reason"),
    [
        ("unknown_charset", "Readable words é here", "unknown charset"),
        ("broken_boundary", "The surviving first part", "broken MIME structure"),
        ("smime", "Subject: secret", "S/MIME-encrypted"),
        ("pgp", "Subject: pgp", "PGP-encrypted"),
        ("bad_header", "Body survives a bad header.", "unreadable Date header"),
    ],
)
def test_damaged_and_encrypted_mail_is_partial_with_a_reason(tmp_path: Path, ctx: RecordingContext, name: str, readable: str, reason: str) -> None:
    path = tmp_path / f"{name}.eml"
    path.write_bytes(broken_messages()[name])
    item = ctx.ingest_file(path)
    assert item.kind is Kind.EMAIL and item.status is Status.PARTIAL
    assert readable in item.text
    assert any(reason in problem[2] and problem[0] == item.id for problem in ctx.problems)


def test_broken_boundary_keeps_the_attachment_it_could_read(tmp_path: Path, ctx: RecordingContext) -> None:
    path = tmp_path / "cut.eml"
    path.write_bytes(broken_messages()["broken_boundary"])
    item = ctx.ingest_file(path)
    assert [c.filename for c in ctx.children(item)] == ["cut.pdf"]


@pytest.mark.skipif(not (CORPUS / "msg").exists(), reason="shared corpus not present")
def test_outlook_msg_mail_items_and_embedded_messages(ctx: RecordingContext) -> None:
    mail = ctx.ingest_file(CORPUS / "msg" / "tika__testMSG_att_msg.msg")
    assert mail.kind is Kind.EMAIL and mail.title == "test email"
    assert mail.participants.sender[0].address == "nick.booth@pof.com.au"
    children = ctx.children(mail)
    assert [c.kind for c in children] == [Kind.EMAIL, Kind.ATTACHMENT]
    assert children[0].title == "Test Attachment" and children[0].metadata["container_format"] == "msg"
    assert children[1].filename.endswith(".pdf")
    appointment = ctx.ingest_file(CORPUS / "msg" / "tika__testMSG_Appointment.msg")
    assert "Location: under lazy dog" in appointment.text and appointment.metadata["item_class"] == "IPM.Appointment"
    contact = ctx.ingest_file(CORPUS / "msg" / "tika__testMSG_Contact.msg")
    assert "Company: Fence Co" in contact.text and "quickbrown@gmail.com" in contact.text
    task = ctx.ingest_file(CORPUS / "msg" / "tika__testMSG_Task.msg")
    assert "Due: 2017-03-10" in task.text
    chinese = ctx.ingest_file(CORPUS / "msg" / "tika__testMSG_chinese.msg")
    assert "格式測試" in chinese.title


@pytest.mark.skipif(not (CORPUS / "pst").exists(), reason="shared corpus not present")
def test_pst_folders_walked_with_stable_locators(tmp_path: Path) -> None:
    first = RecordingContext(tmp_path / "a")
    store = first.ingest_file(CORPUS / "pst" / "tika__testPST_variousBodyTypes.pst")
    emails = first.of_kind(Kind.EMAIL)
    assert store.metadata["message_count"] == len(emails) == 4
    assert {e.metadata["folder"] for e in emails} == {"Top of Outlook data file/Inbox/tmp"}
    assert all(e.participants.to[0].address == "tallison@mitre.org" for e in emails)  # X.500 recipients resolved to SMTP
    assert any("Forwarded RTF" in e.text for e in emails) and all(e.date is not None for e in emails)
    again = RecordingContext(tmp_path / "b")
    again.ingest_file(CORPUS / "pst" / "tika__testPST_variousBodyTypes.pst")
    assert sorted(e.id for e in again.of_kind(Kind.EMAIL)) == sorted(e.id for e in emails)

    other = RecordingContext(tmp_path / "c")
    other.ingest_file(CORPUS / "pst" / "tika__testPST.pst")
    forwarded = [e for e in other.of_kind(Kind.EMAIL) if e.title == "FW: First email"][0]
    assert forwarded.status is Status.PARTIAL  # libpff cannot open the embedded message: reported, not dropped
    assert any("embedded message" in p[2] for p in other.problems)


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
@pytest.mark.parametrize("folder", ["eml", "mbox", "msg", "pst", "tnef"])
def test_every_corpus_mail_file_is_read(tmp_path: Path, folder: str) -> None:
    for path in sorted((CORPUS / folder).iterdir()):
        ctx = RecordingContext(tmp_path / path.name)
        item = ctx.ingest_file(path)
        assert item.metadata["ingestor"].startswith("email."), path.name
        assert item.status is not Status.FAILED, (path.name, item.error)
        if folder != "tnef":
            assert ctx.of_kind(Kind.EMAIL), path.name


def test_simple_address_lists_read_the_same_as_the_stdlib_parser_reads_them() -> None:
    from email.utils import getaddresses

    from indexer.ingestors.email.mime import _simple_addresses

    simple = ["Officer 3 <officer3@council.gov.uk>", "a.b@c.org", "  Bob   Jones  <bob.jones@council.gov.uk> , x_y+tag@z.io",
              "O'Brien-Smith <ob@x.uk>", "1st Floor <desk.1@x.uk>"]
    for raw in simple:
        assert _simple_addresses([raw]) == getaddresses([raw]), raw
    # Quotes, comments, groups, encoded words and bare names are left to the stdlib parser.
    for raw in ['"Smith, Jane" <j@x.uk>', "j@x.uk (Jane)", "Team: a@x.uk, b@x.uk;", "=?utf-8?q?J=C3=BCrgen?= <j@x.de>", "Jane Smith"]:
        assert _simple_addresses([raw]) is None, raw
