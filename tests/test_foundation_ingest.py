"""The walking skeleton: ingest files and folders, zips, broken files; incremental; show; exceptions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pymupdf
import pytest

from ui.demo.corpus import docx_bytes


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "minutes.txt").write_text("Minutes: the housing budget was approved by cabinet.\n", encoding="utf-8")
    (root / "briefing.docx").write_bytes(docx_bytes("Briefing", ["The Riverside scheme costs £1.25m."]))
    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 72), "Planning committee agenda for Hillcrest estate retrofit")
    pdf.save(root / "agenda.pdf")
    with zipfile.ZipFile(root / "bundle.zip", "w") as archive:
        archive.writestr("inner/letter.txt", "Dear resident, the damp survey is booked.")
        archive.writestr("../escape.txt", "this member tries to leave the archive")
    (root / "truncated.docx").write_bytes(docx_bytes("Cut", ["short"])[:200])
    return root


def test_ingest_builds_items_with_families_and_provenance(cli, folder: Path) -> None:
    result = cli("ingest", str(folder), "--custodian", "Jane Smith", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["stored"] == 5
    assert report["problems"] >= 2  # the escaping zip member and the truncated document

    found = cli("search", "damp", "--json").json()
    assert found["total"] == 1
    hit = found["hits"][0]
    assert hit["kind"] == "file" and hit["custodians"] == ["Jane Smith"]
    shown = cli("show", hit["id"], "--json").json()
    assert "damp survey" in shown["text"]
    assert shown["parent_id"] is not None and shown["family_id"] == shown["parent_id"]
    zip_view = cli("show", shown["parent_id"], "--json").json()
    assert zip_view["filename"] == "bundle.zip"
    assert zip_view["custody"][0]["sha256"] == zip_view["sha256"]
    assert zip_view["custody"][0]["custodian"] == "Jane Smith"

    pdf_hit = cli("search", "Hillcrest", "--json").json()["hits"][0]
    assert pdf_hit["title"] == "agenda.pdf"


def test_ingest_twice_adds_nothing(cli, folder: Path) -> None:
    first = cli("ingest", str(folder), "--custodian", "Jane Smith", "--json").json()
    second = cli("ingest", str(folder), "--custodian", "Jane Smith", "--json").json()
    assert first["items_added"] > 0
    assert second["items_added"] == 0 and second["stored"] == 0 and second["unchanged"] == first["collected"]


def test_broken_files_are_reported_and_still_findable_by_name(cli, folder: Path) -> None:
    cli("ingest", str(folder), "--custodian", "Jane Smith")
    report = cli("exceptions", "--json").json()
    reasons = {Path(entry["path"].split("#")[0]).name: entry["reason"] for entry in report["exceptions"]}
    assert "truncated.docx" in reasons
    assert any("escapes the archive" in entry["reason"] for entry in report["exceptions"])
    by_name = cli("search", "truncated", "--json").json()
    assert by_name["total"] == 1 and by_name["hits"][0]["title"] == "truncated.docx"


def test_originals_are_kept_read_only_and_unchanged(cli, folder: Path, home: Path) -> None:
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    cli("ingest", str(folder), "--custodian", "Jane Smith")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    stored = [p for p in (home / "evidence").rglob("*") if p.is_file()]
    assert stored and all(not (p.stat().st_mode & 0o222) for p in stored)


def test_bad_input_exits_2_with_a_reason(cli, tmp_path: Path) -> None:
    missing = cli("ingest", str(tmp_path / "nope"), "--custodian", "X", "--json")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert missing.json()["error"]
    zone = cli("ingest", str(tmp_path), "--custodian", "X", "--timezone", "Mars/Olympus")
    assert zone.exit_code == 2 and "time zone" in zone.stderr
    unknown = cli("show", "0" * 32, "--json")
    assert unknown.exit_code == 2


def test_status_counts_and_evidence_verifies(cli, folder: Path, home: Path) -> None:
    cli("ingest", str(folder), "--custodian", "Jane Smith")
    status = cli("status", "--json").json()
    assert status["custodians"] == {"Jane Smith": 5}
    assert status["items"] == status["indexed"] >= 6
    assert cli("verify-evidence", "--json").json()["damaged"] == []
    victim = next(p for p in (home / "evidence").rglob("*") if p.is_file())
    victim.chmod(0o644)
    victim.write_bytes(b"tampered")
    damaged = cli("verify-evidence", "--json")
    assert damaged.exit_code == 1 and damaged.json()["damaged"] == [victim.name]


def test_custodian_map_attributes_each_file(cli, tmp_path: Path) -> None:
    share = tmp_path / "fs"
    (share / "home" / "jsmith").mkdir(parents=True)
    (share / "foi-uploads" / "Priya Shah").mkdir(parents=True)
    (share / "misc").mkdir()
    (share / "home" / "jsmith" / "a.txt").write_text("alpha budget", encoding="utf-8")
    (share / "foi-uploads" / "Priya Shah" / "b.txt").write_text("bravo budget", encoding="utf-8")
    (share / "misc" / "c.txt").write_text("charlie budget", encoding="utf-8")
    rules = tmp_path / "custodians.map"
    rules.write_text(f"{share}/home/jsmith/** -> Jane Smith\n{share}/foi-uploads/{{name}}/** -> {{name}}\n", encoding="utf-8")
    assert cli("ingest", str(share), "--custodian-map", str(rules), "--json").exit_code == 0
    found = {hit["title"]: hit["custodians"] for hit in cli("search", "budget", "--json").json()["hits"]}
    assert found == {"a.txt": ["Jane Smith"], "b.txt": ["Priya Shah"], "c.txt": []}
    unassigned = cli("custodians", "unassigned", "--json").json()
    assert [entry["filename"] for entry in unassigned["items"]] == ["c.txt"]


def test_the_same_email_in_two_mailboxes_is_one_hit_with_both_custodians(cli, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from ui.demo.corpus import ALEX, PRIYA, email_bytes

    message = email_bytes(ALEX, [PRIYA], "Budget papers", "See the attached papers.", datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc),
                          attachments=[("papers.txt", "text/plain", b"Quarterly housing papers for Riverside")])
    for person in ("alex", "priya"):
        (tmp_path / person).mkdir()
        (tmp_path / person / "papers.eml").write_bytes(message.as_bytes())
    cli("ingest", str(tmp_path / "alex"), "--custodian", "Alex Morgan")
    report = cli("ingest", str(tmp_path / "priya"), "--custodian", "Priya Shah", "--json").json()
    assert report["duplicates"] >= 1
    email = cli("search", "Budget papers", "--json").json()
    assert email["total"] == 1 and sorted(email["hits"][0]["custodians"]) == ["Alex Morgan", "Priya Shah"]
    attachment = cli("search", "Quarterly", "--json").json()
    assert attachment["total"] == 1  # the duplicate email's attachment is hidden with it
    everything = cli("search", "Quarterly", "--duplicates", "--json").json()
    assert everything["total"] == 2


def test_an_index_from_an_older_schema_is_rebuilt_from_the_case_store(cli, folder: Path, home: Path) -> None:
    """After an upgrade changes the index schema, search still finds everything without a manual reindex."""
    assert cli("ingest", str(folder), "--custodian", "Jane Smith", "--json").exit_code == 0
    before = cli("search", "damp OR cabinet", "--json").json()["total"]
    assert before == 2
    (home / "index" / "disclose-schema").write_text("1")  # as an older release left it
    assert cli("search", "damp OR cabinet", "--json").json()["total"] == before


def test_a_zip_member_in_an_unsupported_compression_method_is_reported_and_the_rest_ingested(cli, tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    with zipfile.ZipFile(root / "archive.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readable.txt", "The Riverside damp survey is booked for Tuesday.")
        archive.writestr("deflate64.txt", "Contents nobody can read without Deflate64.")
    data = bytearray((root / "archive.zip").read_bytes())
    # Mark the second member as Deflate64 (method 9) in its local header and its central-directory entry.
    local = data.index(b"PK\x03\x04", 1)
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)
    data[local + 8 : local + 10] = (9).to_bytes(2, "little")
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    (root / "archive.zip").write_bytes(bytes(data))

    assert cli("ingest", str(root), "--custodian", "Jane Smith", "--json").exit_code == 0
    assert cli("search", "riverside", "--json").json()["total"] == 1
    reasons = [entry["reason"] for entry in cli("exceptions", "--json").json()["exceptions"]]
    assert any("compression method 9 is not supported" in reason and "deflate64.txt" in reason for reason in reasons), reasons


def test_reindex_rebuilds_every_entry_without_doubling_any(cli, folder: Path) -> None:
    assert cli("ingest", str(folder), "--custodian", "Jane Smith", "--json").exit_code == 0
    items = cli("status", "--json").json()["items"]
    before = cli("search", "damp OR cabinet OR riverside", "--json").json()["total"]
    assert cli("reindex", "--json").json() == {"reindexed": items}
    assert cli("search", "damp OR cabinet OR riverside", "--json").json()["total"] == before
