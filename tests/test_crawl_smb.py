"""Crawling a real Samba share: first crawl, recrawl, resume after a stop, unreadable folders, locked files, custodians."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
import smbclient
from sqlalchemy import select

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed
from crawler.custodians import CustodianRules
from crawler.smb import SmbCrawler, SmbTarget
from disclose.store.tables import ExceptionRow, ItemRow, SourceEntry
from indexer.identities import link
from indexer.pipeline import run_crawl
from servers.samba import SambaServer, samba  # noqa: F401  (the fixture)


@pytest.fixture
def smb_password(samba: SambaServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DISCLOSE_SMB_PASSWORD", samba.password)
    return samba.password


def _crawler(samba: SambaServer, folder: str, rules: CustodianRules | None = None, **options) -> SmbCrawler:  # type: ignore[no-untyped-def]
    return SmbCrawler(
        target=SmbTarget.parse(samba.target(folder)), username=samba.user, password=Secret(samba.password),
        rules=rules or CustodianRules(explicit="Jane Smith"), port=samba.port, **options,
    )


def _roots(services) -> dict[str, ItemRow]:  # type: ignore[no-untyped-def]
    with services.store.session() as session:
        rows = session.scalars(select(ItemRow).where(ItemRow.parent_id.is_(None))).all()
        session.expunge_all()
    return {row.source: row for row in rows}


def _zip_with(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def test_first_crawl_collects_files_with_unc_path_times_owner_and_file_id(cli, services, samba: SambaServer, smb_password: str) -> None:
    samba.write("first/minutes.txt", b"Minutes: the cabinet approved the Riverside housing budget.\n", mtime=1_600_000_000)
    samba.write("first/exports/chat.zip", _zip_with("notes/letter.txt", "Dear resident, the Hillcrest retrofit starts in May."))
    samba.write("first/Thumbs.db", b"thumbnail cache")
    before = {p: os.stat(p).st_mtime_ns for p in (samba.share_dir / "first").rglob("*") if p.is_file()}

    result = cli("crawl", "smb", samba.target("first"), "--user", samba.user, "--port", str(samba.port),
                 "--custodian", "Jane Smith", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["collected"] == 2 and report["stored"] == 2 and report["problems"] == 0

    roots = _roots(services)
    minutes = roots[f"smb://127.0.0.1/evidence/first/minutes.txt"]
    assert minutes.custodians == ["Jane Smith"]
    assert minutes.meta["display_path"] == r"\\127.0.0.1\evidence\first\minutes.txt"
    assert minutes.meta["unc_path"] == r"\\127.0.0.1\evidence\first\minutes.txt"
    assert minutes.meta["smb_file_id"] == os.stat(samba.share_dir / "first/minutes.txt").st_ino
    assert minutes.meta["modified"].startswith("2020-09-13T12:26:40")
    assert minutes.meta["owner_sid"] == samba.user_sid()
    assert minutes.meta["custodian_rule"] == "explicit"
    assert "Riverside" in minutes.text

    # The zip saved on the share is opened like any other: its member is an item in the family.
    archive = roots["smb://127.0.0.1/evidence/first/exports/chat.zip"]
    with services.store.session() as session:
        members = session.scalars(select(ItemRow).where(ItemRow.root_id == archive.id, ItemRow.id != archive.id)).all()
        assert [m.filename for m in members if "Hillcrest" in m.text] == ["letter.txt"]
        assert all(m.custodians == ["Jane Smith"] for m in members)

    # Nothing on the share was changed by being read.
    after = {p: os.stat(p).st_mtime_ns for p in before}
    assert after == before
    # The password went nowhere near the case store.
    assert smb_password.encode() not in (services.workspace.home / "case.db").read_bytes()


def test_recrawl_reads_only_changed_and_new_files_and_marks_deleted_ones(cli, services, samba: SambaServer, smb_password: str) -> None:
    samba.write("again/keep.txt", b"Keep: the planning committee agenda.\n", mtime=1_600_000_000)
    samba.write("again/change.txt", b"Version one of the briefing.\n", mtime=1_600_000_000)
    samba.write("again/delete.txt", b"A note that will be deleted.\n", mtime=1_600_000_000)
    arguments = ["crawl", "smb", samba.target("again"), "--user", samba.user, "--port", str(samba.port), "--custodian", "Jane Smith", "--json"]
    first = cli(*arguments).json()
    assert first["stored"] == 3
    deleted_before = _roots(services)["smb://127.0.0.1/evidence/again/delete.txt"]

    samba.write("again/change.txt", b"Version two of the briefing, with the new costs.\n", mtime=1_600_000_500)
    (samba.share_dir / "again/delete.txt").unlink()
    samba.write("again/new.txt", b"A new file.\n")
    second = cli(*arguments).json()
    assert second["collected"] == 3
    assert second["stored"] == 2  # the changed and the new file; keep.txt was not read again
    assert second["unchanged"] == 1
    assert second["removed"] == 1

    roots = _roots(services)
    gone = roots["smb://127.0.0.1/evidence/again/delete.txt"]
    assert gone.meta["present"] is False and "no_longer_present_at" in gone.meta
    assert services.evidence.path_for(deleted_before.sha256).exists()  # evidence is never deleted
    with services.store.session() as session:
        entry = session.scalars(select(SourceEntry).where(SourceEntry.locator == gone.source)).one()
        assert entry.present is False

    third = cli(*arguments).json()
    assert third["stored"] == 0 and third["removed"] == 0 and third["unchanged"] == 3


def test_interrupted_crawl_run_again_ends_with_the_same_items_and_no_duplicates(services, samba: SambaServer, tmp_path: Path) -> None:
    for number in range(12):
        samba.write(f"resume/{number // 4}/note-{number:02}.txt", f"Note {number} about case reference X{number}.\n".encode())

    class Stop(Exception):
        pass

    def stop_after_five(report) -> None:  # type: ignore[no-untyped-def]
        if report.collected >= 5:
            raise Stop()

    with pytest.raises(Stop):
        run_crawl(services, _crawler(samba, "resume", checkpoint_every=2), progress=stop_after_five)
    partial = _roots(services)
    assert 0 < len(partial) < 12

    report = run_crawl(services, _crawler(samba, "resume", checkpoint_every=2))
    assert report.problems == 0
    roots = _roots(services)
    assert len(roots) == 12
    with services.store.session() as session:
        files = session.scalars(select(ItemRow).where(ItemRow.kind == "file")).all()
        assert len(files) == 12 and len({row.sha256 for row in files}) == 12
    assert report.stored == 12 - len(partial)

    # A crawl that was never interrupted gives exactly the same item ids.
    from disclose.workspace import open_workspace
    from indexer.services import open_services

    clean = open_services(open_workspace(tmp_path / "clean"))
    try:
        run_crawl(clean, _crawler(samba, "resume"))
        assert set(_roots(clean)) == set(roots)
        assert {r.id for r in _roots(clean).values()} == {r.id for r in roots.values()}
    finally:
        clean.close()


def test_unreadable_folder_and_locked_file_are_exceptions_and_the_crawl_goes_on(cli, services, samba: SambaServer, smb_password: str) -> None:
    samba.write("denied/readable.txt", b"Readable notes on the housing repairs backlog.\n")
    samba.write("denied/locked.txt", b"Open in someone's editor.\n")
    samba.write("denied/private/secret.txt", b"Nobody may read this.\n")
    private = samba.share_dir / "denied/private"
    os.chown(private, 0, 0)
    private.chmod(0o700)

    holder_cache: dict = {}
    smbclient.register_session(samba.host, username=samba.user, password=samba.password, port=samba.port, connection_cache=holder_cache)
    # Held open with no sharing at all, as an application that locks its file does.
    held = smbclient.open_file(samba.unc("denied/locked.txt"), mode="rb", share_access=None, port=samba.port, connection_cache=holder_cache)
    try:
        result = cli("crawl", "smb", samba.target("denied"), "--user", samba.user, "--port", str(samba.port),
                     "--custodian", "Jane Smith", "--json")
    finally:
        held.close()
        smbclient.reset_connection_cache(connection_cache=holder_cache)
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["stored"] == 1 and report["problems"] == 2

    problems = cli("exceptions", "--json").json()
    entries = problems if isinstance(problems, list) else problems.get("exceptions", problems.get("entries", []))
    by_path = {entry["path"]: entry["reason"] for entry in entries}
    assert "permission denied" in by_path[r"\\127.0.0.1\evidence\denied\private"]
    assert "locked" in by_path[r"\\127.0.0.1\evidence\denied\locked.txt"]
    assert "smb://127.0.0.1/evidence/denied/readable.txt" in _roots(services)

    # The unreadable folder is not mistaken for deleted files on the next crawl once it can be read... or while it cannot.
    again = cli("crawl", "smb", samba.target("denied"), "--user", samba.user, "--port", str(samba.port), "--custodian", "Jane Smith", "--json").json()
    assert again["removed"] == 0 and again["stored"] == 1  # the no-longer-locked file


def test_unreadable_folder_files_are_not_reported_removed(samba: SambaServer) -> None:
    samba.write("flaky/inner/a.txt", b"a")
    crawler = _crawler(samba, "flaky")
    first = list(crawler.crawl({}))
    state = next(found.state for found in reversed(first) if isinstance(found, Checkpoint))
    assert set(state["files"]) == {"flaky/inner/a.txt"}
    inner = samba.share_dir / "flaky/inner"
    os.chown(inner, 0, 0)
    inner.chmod(0o700)
    try:
        second = list(_crawler(samba, "flaky").crawl(state))
    finally:
        inner.chmod(0o755)
    assert not [found for found in second if isinstance(found, Removed)]
    assert [found for found in second if isinstance(found, CollectionProblem)]
    assert set(second[-1].state["files"]) == {"flaky/inner/a.txt"}


def test_include_and_exclude_patterns(samba: SambaServer) -> None:
    samba.write("patterns/keep/a.png", b"png")
    samba.write("patterns/keep/b.txt", b"txt")
    samba.write("patterns/skip/c.png", b"png")
    crawler = _crawler(samba, "patterns", include=["*.png"], exclude=["skip/*"])
    names = [found.metadata["relative_path"] for found in crawler.crawl({}) if isinstance(found, Collected)]
    assert names == ["keep/a.png"]


def test_custodian_map_owner_and_unassigned_through_the_cli(cli, services, samba: SambaServer, smb_password: str, tmp_path: Path) -> None:
    samba.write("people/home/kim.lee/diary.txt", b"Kim's diary of the Hillcrest visits.\n")
    samba.write("people/finance/budget.txt", b"Finance team budget lines.\n")
    samba.write("people/owned/by-user.txt", b"Saved by the share's user.\n")
    stray = samba.write("people/stray/unknown.txt", b"Nobody's file.\n")
    os.chown(stray, 0, 0)  # owned by root: no one in the identity table
    map_file = tmp_path / "custodians.map"
    map_file.write_text(
        "# home folders\n"
        r"\\127.0.0.1\EVIDENCE\people\home\{name}\** -> {name}" "\n"
        r"\\127.0.0.1\evidence\people\finance\** -> Finance Team" "\n",
        encoding="utf-8",
    )
    with services.store.session() as session:
        link(session, "Sam Owner", [("sid", samba.user_sid())])
        session.commit()

    result = cli("crawl", "smb", samba.target("people"), "--user", samba.user, "--port", str(samba.port),
                 "--custodian-map", str(map_file), "--json")
    assert result.exit_code == 0, result.stderr
    roots = _roots(services)
    diary = roots["smb://127.0.0.1/evidence/people/home/kim.lee/diary.txt"]
    assert diary.custodians == ["kim.lee"] and diary.meta["custodian_rule"] == "map"
    assert "{name}" in diary.meta["custodian_detail"]
    assert roots["smb://127.0.0.1/evidence/people/finance/budget.txt"].custodians == ["Finance Team"]
    owned = roots["smb://127.0.0.1/evidence/people/owned/by-user.txt"]
    assert owned.custodians == ["Sam Owner"] and owned.meta["custodian_rule"] == "owner"
    unknown = roots["smb://127.0.0.1/evidence/people/stray/unknown.txt"]
    assert unknown.custodians == [] and unknown.meta["custodian_rule"] == "unassigned"

    listed = cli("custodians", "unassigned", "--json").json()
    assert [item["id"] for item in listed["items"]] == [unknown.id]
    assert listed["items"][0]["display_path"] == r"\\127.0.0.1\evidence\people\stray\unknown.txt"

    assigned = cli("custodians", "assign", unknown.id, "--custodian", "Jane Smith", "--json")
    assert assigned.exit_code == 0, assigned.stderr
    assert cli("custodians", "unassigned", "--json").json()["count"] == 0
    shown = cli("show", unknown.id, "--json").json()
    assert shown["custodians"] == ["Jane Smith"] and shown["metadata"]["custodian_rule"] == "assigned"
    assert cli("custodians", "assign", "nosuchitem", "--custodian", "X", "--json").exit_code == 2


def test_bad_login_and_bad_target_are_bad_input(cli, samba: SambaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCLOSE_SMB_PASSWORD", "wrong password")
    wrong = cli("crawl", "smb", samba.target(), "--user", samba.user, "--port", str(samba.port), "--custodian", "J", "--json")
    assert wrong.exit_code == 2 and "refused the login" in wrong.stderr
    assert "wrong password" not in wrong.stdout + wrong.stderr
    assert cli("crawl", "smb", "fileserver-without-share", "--user", "u", "--custodian", "J", "--json").exit_code == 2
    with pytest.raises(SourceLoginFailed):
        list(SmbCrawler(SmbTarget.parse(samba.target()), samba.user, Secret("nope"), CustodianRules(), port=samba.port).crawl({}))


def test_share_paths_parse_in_every_spelling() -> None:
    for spelling in ("//fs01/Home$/jsmith/Docs", r"\\fs01\Home$\jsmith\Docs", "smb://fs01/Home$/jsmith/Docs/"):
        target = SmbTarget.parse(spelling)
        assert (target.server, target.share, target.folder) == ("fs01", "Home$", "jsmith/Docs")
    assert SmbTarget.parse("//fs01/Home$").unc("a b/c.txt") == r"\\fs01\Home$\a b\c.txt"
    assert SmbTarget.parse("//fs01/Home$").uri("a b/c.txt") == "smb://fs01/Home$/a%20b/c.txt"
    for bad in ("fs01/share", "//fs01", "//fs01/share/../etc"):
        with pytest.raises(ValueError):
            SmbTarget.parse(bad)


def test_checkpoints_on_a_big_share_write_state_in_proportion_to_it_not_its_square(samba: SambaServer) -> None:
    for number in range(400):
        samba.write(f"many/{number // 100}/note-{number:03}.txt", f"Note {number}.\n".encode())
    found = list(_crawler(samba, "many", checkpoint_every=1).crawl({}))
    checkpoints = [item.state for item in found if isinstance(item, Checkpoint)]
    assert len(checkpoints[-1]["files"]) == 400 and checkpoints[-1]["complete"] is True
    # Written after every file, the states would hold 80,000 entries between them; each is the whole map so far.
    written = sum(len(state["files"]) for state in checkpoints)
    assert written <= 30 * 400
    assert len(checkpoints) > 20  # still saved often enough that a stop repeats little
