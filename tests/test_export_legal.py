"""Legal exports and RSMF as another tool reads them: load files parsed back, Bates order, nothing redacted leaks."""

from __future__ import annotations

import email
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from email.policy import SMTP
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker
from typer.testing import CliRunner

from disclose.items import Kind
from search_api.export.legal import export_legal
from search_api.export.loadfiles import FIELDS, NEWLINE, QUOTE, SEPARATOR, read_dat
from search_api.export import rsmf
from search_api.export.rsmf import export_rsmf
from test_bundle_fixtures import chat_items, child_item, email_item, file_item, new_case, pdftotext, squash
from ui.cli import app


def _case_with_family(tmp_path: Path):  # type: ignore[no-untyped-def]
    case = new_case(tmp_path, ref="LEGAL-7", request_type="legal")
    sha, _ = case.services.evidence.put_bytes(b"From: a\n\nplain native")
    email = email_item(case, "m1", "Please ask Quentin Blake for the figures.\nRegards")
    email.sha256 = sha
    case.add(email)
    native, _ = case.services.evidence.put_bytes(b"budget,1\n")
    attachment = child_item(case, email, "../../etc/passwd.csv", "budget,1", mime="text/csv", sha256=native)
    case.add(attachment)
    other, _ = case.services.evidence.put_bytes(b"rota")
    case.add(file_item(case, "rota.txt", "Weekend rota", sha256=other))
    case.mark(email, "Quentin Blake", code="privacy")
    return case, email, attachment


def test_legal_export_dat_opt_csv_and_natives(tmp_path: Path) -> None:
    case, email, attachment = _case_with_family(tmp_path)
    summary = export_legal(case.services.store, case.services.evidence, case.ref, tmp_path / "prod", prefix="ABC", start=5)
    out = Path(summary.out)
    raw = (out / "DATA" / "LEGAL-7.dat").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    first_line = raw.decode("utf-8-sig").split("\r\n")[0]
    assert first_line == SEPARATOR.join(f"{QUOTE}{f}{QUOTE}" for f in FIELDS)
    records = read_dat(out / "DATA" / "LEGAL-7.dat")
    assert [r["BEGBATES"] for r in records] == ["ABC0000005", "ABC0000006", "ABC0000007"]
    mail, attached, rota = records
    # the family stays together and says so
    assert mail["BEGATTACH"] == attached["BEGATTACH"] == "ABC0000005"
    assert mail["ENDATTACH"] == attached["ENDATTACH"] == "ABC0000006"
    assert rota["BEGATTACH"] == "ABC0000007"
    assert mail["FROM"].startswith("Alice Jones") and mail["SUBJECT"] == "Budget meeting" and mail["CUSTODIANS"] == "Alice Jones"
    assert mail["FAMILY_ID"] == email.family_id
    # the redacted email has no native and redacted text; the attachment's native got a generated name
    assert mail["REDACTED"] == "Y" and mail["NATIVE"] == ""
    text = (out / mail["TEXT"]).read_text(encoding="utf-8")
    assert "Quentin" not in text and "[REDACTED privacy]" in text and "for the figures" in text
    assert attached["NATIVE"] == "NATIVES/ABC0000006.csv" and (out / attached["NATIVE"]).read_bytes() == b"budget,1\n"
    assert len(attached["MD5"]) == 32 and attached["SHA256"] == attachment.sha256
    assert not any("passwd" in p.name for p in out.rglob("*"))
    assert "\n" in mail["FROM"] or NEWLINE not in mail["FROM"]
    # the image of the redacted email, read by poppler
    image_text = squash(pdftotext(out / mail["IMAGE"]))
    assert "Quentin" not in image_text and "Please ask" in image_text and "ABC0000005" in image_text
    # Opticon: one line per page, a document break on each first page
    opt = (out / "DATA" / "LEGAL-7.opt").read_text().splitlines()
    assert opt[0] == "ABC0000005,LEGAL-7,IMAGES\\ABC0000005.pdf,Y,,,1"
    assert [line.split(",")[0] for line in opt] == ["ABC0000005", "ABC0000006", "ABC0000007"]
    csv_text = (out / "DATA" / "LEGAL-7.csv").read_text(encoding="utf-8-sig")
    assert csv_text.startswith(",".join(FIELDS)) and "Quentin" not in csv_text
    assert json.loads((out / "manifest.json").read_text())["kind"] == "legal-export"


def test_dat_keeps_newlines_inside_fields(tmp_path: Path) -> None:
    from search_api.export.loadfiles import write_dat

    path = tmp_path / "x.dat"
    write_dat(path, [{"BEGBATES": "A1", "TITLE": "line one\nline two", "FROM": f"odd {QUOTE} and {SEPARATOR}"}])
    raw = path.read_bytes().decode("utf-8-sig")
    assert raw.count("\r\n") == 2 and f"line one{NEWLINE}line two" in raw
    (record,) = read_dat(path)
    assert record["TITLE"] == "line one\nline two" and record["BEGBATES"] == "A1"


def _chat_case(tmp_path: Path):  # type: ignore[no-untyped-def]
    case = new_case(tmp_path, ref="SAR-9", request_type="sar")
    start = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    conversation, messages = chat_items(case, [
        ("Dan Green", start, "Did you see Yolanda Price's file?"),
        ("Eve Black", start + timedelta(minutes=3), "Yes, sent it on"),
        ("Dan Green", start + timedelta(days=1, hours=2), "Meeting moved to Friday"),
    ])
    case.add(conversation)
    for message in messages:
        case.add(message)
    photo, _ = case.services.evidence.put_bytes(b"\x89PNG fake")
    picture = child_item(case, messages[1], "photo.png", "", kind=Kind.ATTACHMENT, mime="image/png", sha256=photo)
    picture.size = 9
    case.add(picture)
    case.mark(messages[0], "Yolanda Price")
    return case, conversation, messages


def test_rsmf_zip_structure_and_manifest_fields(tmp_path: Path) -> None:
    case, conversation, messages = _chat_case(tmp_path)
    summary = export_rsmf(case.services.store, case.services.evidence, case.ref, tmp_path / "rsmf")
    out = Path(summary.out)
    with zipfile.ZipFile(out / summary.archive) as bundle:
        names = bundle.namelist()
        assert len(names) == 2 and all(n.endswith(".rsmf") for n in names)  # one file per conversation-day
        eml = email.message_from_bytes(bundle.read(names[0]), policy=SMTP)
    assert eml["X-RSMF-Version"] == "2.0.0" and eml["X-RSMF-Generator"].startswith("disclose")
    assert eml["X-RSMF-EventCount"] == "2"
    assert eml["X-RSMF-BeginDate"] == "2024-05-01T08:00:00Z" and eml["X-RSMF-EndDate"] == "2024-05-01T08:03:00Z"
    (zipped,) = [p for p in eml.walk() if p.get_filename() == "rsmf.zip"]
    with zipfile.ZipFile(io.BytesIO(zipped.get_payload(decode=True))) as inner:
        manifest = json.loads(inner.read("rsmf_manifest.json"))
        inner_names = inner.namelist()
    assert manifest["version"] == "2.0.0"
    assert {p["display"] for p in manifest["participants"]} == {"Dan Green", "Eve Black"}
    (conv,) = manifest["conversations"]
    assert conv["id"] == conversation.id and conv["platform"] == "whatsapp" and conv["type"] == "direct"
    ids = {p["id"] for p in manifest["participants"]}
    assert set(conv["participants"]) == ids
    first, second = manifest["events"]
    assert first["type"] == "message" and first["participant"] in ids and first["conversation"] == conv["id"]
    assert first["id"] == messages[0].id and first["timestamp"] == "2024-05-01T08:00:00Z"
    assert "Yolanda" not in first["body"] and "[REDACTED s40(2)]" in first["body"] and "'s file?" in first["body"]
    (attachment,) = second["attachments"]
    assert attachment["id"] in inner_names and attachment["display"] == "photo.png" and attachment["size"] == 9
    # what the documented schema requires of every entry
    for event in manifest["events"]:
        assert event["type"] in {"message", "disclaimer", "join", "leave", "history", "unknown"}
    assert all(p["id"] for p in manifest["participants"])
    assert b"Yolanda" not in (out / summary.archive).read_bytes()


def _rsmf_files(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def _inner(eml: email.message.Message) -> tuple[dict, list[str]]:
    with zipfile.ZipFile(io.BytesIO(_attachment(eml).get_payload(decode=True))) as inner:
        return json.loads(inner.read("rsmf_manifest.json")), inner.namelist()


def _attachment(eml: email.message.Message) -> email.message.Message:
    (zipped,) = [p for p in eml.walk() if p.get_content_disposition() == "attachment"]
    return zipped


def _relativity_validator() -> Draft7Validator:
    """Relativity's published schema, read straight from the vendored file (not through the exporter's code)."""
    schema = json.loads((Path(rsmf.__file__).parent / "rsmf_schema_2_0_0.json").read_text(encoding="utf-8"))
    assert schema["$id"] == "http://relativity.com/RSMF/2.0.0/schema.json"
    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(lambda v: not isinstance(v, str) or bool(datetime.fromisoformat(v)))
    return Draft7Validator(schema, format_checker=checker)


def test_every_rsmf_manifest_validates_against_relativity_schema(tmp_path: Path) -> None:
    case, conversation, _ = _chat_case(tmp_path)
    summary = export_rsmf(case.services.store, case.services.evidence, case.ref, tmp_path / "rsmf")
    files = _rsmf_files(Path(summary.out) / summary.archive)
    assert len(files) == 2
    validator = _relativity_validator()
    for name, raw in files.items():
        eml = email.message_from_bytes(raw, policy=SMTP)
        manifest, inner_names = _inner(eml)
        assert list(validator.iter_errors(manifest)) == [], name
        # the wrapper Relativity Processing asks for: .rsmf, X-RSMF-Version, one base64 attachment named rsmf.zip
        assert name.endswith(".rsmf") and eml["X-RSMF-Version"] == manifest["version"] == "2.0.0"
        zipped = _attachment(eml)
        assert zipped.get_filename() == "rsmf.zip" and zipped["Content-Transfer-Encoding"] == "base64"
        assert int(eml["X-RSMF-EventCount"]) == len(manifest["events"])
        assert int(eml["X-RSMF-AttachmentCount"]) == len(inner_names) - 1
        # one conversation's days carry one collection id, so Relativity keeps them together
        assert eml["X-RSMF-EventCollectionID"] == manifest["eventcollectionid"] == conversation.id
        named = {a["id"] for e in manifest["events"] for a in e.get("attachments", [])}
        assert named == set(inner_names) - {"rsmf_manifest.json"}
        assert manifest["participants"][0]["display"] in str(eml["From"])  # one participant, the first sender, in From


def test_manifest_that_breaks_the_schema_is_rejected(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    case, _, _ = _chat_case(tmp_path)
    good, names = None, []

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal good, names
        manifest, attachments = real(*args, **kwargs)
        good, names = json.loads(json.dumps(manifest)), ["rsmf_manifest.json", *(z for z, _ in attachments)]
        manifest["events"][0]["type"] = "chat"  # not one of the schema's event types
        del manifest["conversations"][0]["platform"]  # required by the schema
        return manifest, attachments

    real = rsmf.rsmf_manifest
    monkeypatch.setattr(rsmf, "rsmf_manifest", broken)
    with pytest.raises(rsmf.RsmfSchemaError) as raised:
        export_rsmf(case.services.store, case.services.evidence, case.ref, tmp_path / "rsmf")
    message = str(raised.value)
    assert "events/0/type" in message and "'chat' is not one of" in message and "'platform' is a required property" in message
    assert not (tmp_path / "rsmf").exists() and not list(tmp_path.glob(".rsmf.partial-*"))  # nothing half-written
    # the same checks accept what the exporter really builds, and catch broken references the schema cannot see
    assert good is not None and rsmf.manifest_problems(good, names) == []
    dangling = json.loads(json.dumps(good))
    dangling["events"][0]["participant"] = "P99"
    assert rsmf.manifest_problems(dangling, names) == ["events/0: unknown participant P99"]
    assert rsmf.manifest_problems(good, [*names, "stray.bin"]) == ["rsmf.zip holds stray.bin, which no event names"]
    bad_time = json.loads(json.dumps(good))
    bad_time["events"][0]["timestamp"] = "1 May 2024"
    assert any("is not a 'date-time'" in p for p in rsmf.manifest_problems(bad_time, names))


def test_cli_bundle_verify_and_export(tmp_path: Path) -> None:
    case, _, _ = _case_with_family(tmp_path)
    home = str(tmp_path / "ws")
    runner = CliRunner()
    result = runner.invoke(app, ["--home", home, "bundle", case.ref, "--out", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["released"] == 3 and payload["pages"] == 3 and payload["leak_check"] == "passed"
    ok = runner.invoke(app, ["--home", home, "bundle", "verify", str(tmp_path / "b"), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    (tmp_path / "b" / "schedule.csv").write_text("changed")
    bad = runner.invoke(app, ["--home", home, "bundle", "verify", str(tmp_path / "b"), "--json"])
    assert bad.exit_code == 2 and json.loads(bad.stdout)["changed"] == ["schedule.csv"]
    exported = runner.invoke(app, ["--home", home, "export", case.ref, "--format", "legal", "--out", str(tmp_path / "e"),
                                   "--prefix", "XYZ", "--start", "100", "--json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["first_bates"] == "XYZ0000100"
    missing = runner.invoke(app, ["--home", home, "bundle", "NOPE", "--out", str(tmp_path / "n"), "--json"])
    assert missing.exit_code == 2 and "no request" in json.loads(missing.stdout)["error"]


def test_api_builds_bundle_in_background_and_serves_it(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_api

    case, _, _ = _case_with_family(tmp_path)
    client = TestClient(create_api(services=case.services))
    started = client.post(f"/requests/{case.ref}/bundle")
    assert started.status_code == 202
    run_id = started.json()["id"]
    run = client.get(f"/runs/{run_id}").json()  # TestClient runs background tasks before returning
    assert run["status"] == "done" and run["progress"]["pages"] == 3, run
    pdf = client.get(f"/requests/{case.ref}/bundle/{run_id}/combined.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "got.pdf").write_bytes(pdf.content)
    text = squash(pdftotext(tmp_path / "got.pdf"))
    assert "Quentin" not in text and "for the figures" in text and "LEGAL-7-000001" in text
    archive = client.get(f"/requests/{case.ref}/bundle/{run_id}/bundle.zip")
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "manifest.json" in names and "schedule.csv" in names
    assert client.post("/requests/NOPE/bundle").status_code == 404
