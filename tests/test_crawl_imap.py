"""IMAP crawling against a real Dovecot: every folder, incremental, resumable, read-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select


from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed
from disclose.store.tables import ItemRow, SourceEntry, SourceRow
from disclose.workspace import open_workspace
from indexer.services import open_services
from crawler.imap import ImapCrawler, decode_folder_name, encode_folder_name, parse_uid_set, uid_set_text
from servers.dovecot import DovecotServer, dovecot  # noqa: F401  (the fixture)


def _message(number: int, folder: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Clerk <alice@council.example>"
    message["To"] = "foi@council.example"
    message["Subject"] = f"Planning file {number} in {folder}"
    message["Message-ID"] = f"<m{number}.{abs(hash(folder))}@council.example>"
    message.set_content(f"Body of message {number}.\n")
    return message.as_bytes().replace(b"\n", b"\r\n")


def _crawler(server: DovecotServer, **overrides: Any) -> ImapCrawler:
    settings: dict[str, Any] = dict(
        host=server.host,
        port=server.imaps_port,
        user=server.user,
        password=Secret(server.password),
        custodians=["Alice Clerk"],
        ca_file=server.certificate.ca_file,
        batch_size=2,
    )
    settings.update(overrides)
    return ImapCrawler(**settings)


def _run(crawler: ImapCrawler, state: dict) -> tuple[list[Collected], dict, list]:
    collected, problems = [], []
    for event in crawler.crawl(state):
        if isinstance(event, Collected):
            collected.append(event)
        elif isinstance(event, Checkpoint):
            state = event.state
        elif isinstance(event, CollectionProblem):
            problems.append(event)
    return collected, state, problems


def _removed(crawler: ImapCrawler, state: dict) -> tuple[list[str], list[Collected], dict]:
    removed, collected = [], []
    for event in crawler.crawl(state):
        if isinstance(event, Removed):
            removed.append(event.source)
        elif isinstance(event, Collected):
            collected.append(event)
        elif isinstance(event, Checkpoint):
            state = event.state
    return removed, collected, state


def _fill(server: DovecotServer) -> None:
    for number in range(1, 6):
        server.append("INBOX", _message(number, "INBOX"))
    server.append("Archive/2024", _message(6, "Archive"), flags="(\\Flagged)")
    server.append("Entw&APw-rfe", _message(7, "Drafts"))


def test_first_crawl_collects_every_folder_with_folder_flags_and_rfc822(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    collected, state, problems = _run(_crawler(dovecot), {})
    assert problems == []
    assert len(collected) == 7
    folders = sorted({item.metadata["folder"] for item in collected})
    assert folders == ["Archive/2024", "Entwürfe", "INBOX"]
    archived = next(item for item in collected if item.metadata["folder"] == "Archive/2024")
    assert "\\Flagged" in archived.metadata["flags"]
    assert archived.metadata["internal_date"]
    assert archived.format_hint == "message/rfc822"
    assert archived.source.startswith(f"imap://clerk%40council.example@127.0.0.1:{dovecot.imaps_port}/Archive/2024;UIDVALIDITY=")
    assert archived.source.endswith(";UID=1")
    assert b"Subject: Planning file 6 in Archive" in archived.opener().read()
    assert collected[0].custodians == ["Alice Clerk"]
    assert set(state["folders"]) == {"INBOX", "Archive/2024", "Entw&APw-rfe"}


def test_crawl_never_marks_messages_seen(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    _run(_crawler(dovecot), {})
    assert all("\\Seen" not in line for line in dovecot.flags_of("INBOX"))


def test_second_crawl_collects_only_new_messages(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    first, state, _ = _run(_crawler(dovecot), {})
    again, state, _ = _run(_crawler(dovecot), state)
    assert again == []
    dovecot.append("INBOX", _message(8, "INBOX"))
    dovecot.append("Archive/2024", _message(9, "Archive"))
    new, _, _ = _run(_crawler(dovecot), state)
    assert sorted(item.metadata["uid"] for item in new) == [2, 6]
    assert {item.source for item in new}.isdisjoint({item.source for item in first})


def test_interrupted_crawl_resumes_with_exactly_the_same_items(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    uninterrupted, _, _ = _run(_crawler(dovecot), {})

    # Stop after the second checkpoint, keeping only what a pipeline would have stored by then.
    stored: list[str] = []
    pending: list[str] = []
    saved_state: dict = {}
    checkpoints = 0
    for event in _crawler(dovecot).crawl({}):
        if isinstance(event, Collected):
            pending.append(event.source)
        elif isinstance(event, Checkpoint):
            stored += pending
            pending = []
            saved_state = event.state
            checkpoints += 1
            if checkpoints == 2:
                break
    assert 0 < len(stored) < len(uninterrupted)
    resumed, _, _ = _run(_crawler(dovecot), saved_state)
    everything = stored + [item.source for item in resumed]
    assert len(everything) == len(set(everything))
    assert sorted(everything) == sorted(item.source for item in uninterrupted)


def test_changed_uidvalidity_resyncs_that_folder(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    _, state, _ = _run(_crawler(dovecot), {})
    old_validity = state["folders"]["Archive/2024"]["uidvalidity"]
    dovecot.delete_folder("Archive/2024")  # a recreated folder gets a new UIDVALIDITY
    dovecot.append("Archive/2024", _message(6, "Archive"))
    removed, resynced, state = _removed(_crawler(dovecot), state)
    assert [item.metadata["folder"] for item in resynced] == ["Archive/2024"]
    assert state["folders"]["Archive/2024"]["uidvalidity"] != old_validity
    assert f"UIDVALIDITY={old_validity};" not in resynced[0].source
    # The old numbering names nothing now: what was collected under it is reported gone.
    assert [source.split("/")[-1] for source in removed] == [f"2024;UIDVALIDITY={old_validity};UID=1"]


def test_expunged_messages_and_deleted_folders_are_reported_removed_once(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    crawler = _crawler(dovecot)
    first, state, _ = _run(crawler, {})
    by_uid = {item.metadata["uid"]: item.source for item in first if item.metadata["folder"] == "INBOX"}
    dovecot.expunge("INBOX", 2)
    dovecot.expunge("INBOX", 4)
    removed, collected, state = _removed(crawler, state)
    assert removed == [by_uid[2], by_uid[4]] and collected == []
    assert parse_uid_set(state["folders"]["INBOX"]["uids"]) == {1, 3, 5}

    again, _, state = _removed(crawler, state)
    assert again == []
    drafts = next(item.source for item in first if item.metadata["folder"] == "Entwürfe")
    dovecot.delete_folder("Entw&APw-rfe")
    gone, _, state = _removed(crawler, state)
    assert gone == [drafts] and "Entw&APw-rfe" not in state["folders"]


def test_uid_sets_are_kept_as_ranges() -> None:
    assert uid_set_text({1, 2, 3, 5, 7, 8}) == "1:3,5,7:8"
    assert parse_uid_set("1:3,5,7:8") == {1, 2, 3, 5, 7, 8}
    assert uid_set_text(set()) == "" and parse_uid_set("") == set()


def test_starttls_and_folder_selection(dovecot: DovecotServer) -> None:
    _fill(dovecot)
    crawler = _crawler(dovecot, port=dovecot.imap_port, security="starttls", folders=["Entwürfe"])
    collected, _, _ = _run(crawler, {})
    assert [item.metadata["folder"] for item in collected] == ["Entwürfe"]


def test_wrong_password_is_a_login_failure_not_a_crash(dovecot: DovecotServer) -> None:
    with pytest.raises(SourceLoginFailed):
        list(_crawler(dovecot, password=Secret("wrong")).crawl({}))


def test_tls_refuses_a_certificate_it_does_not_trust(dovecot: DovecotServer) -> None:
    with pytest.raises(Exception) as raised:
        list(_crawler(dovecot, ca_file=None).crawl({}))
    assert "certificate" in str(raised.value).lower()


def test_modified_utf7_round_trips() -> None:
    for name in ["Entwürfe", "Répertoire/Été", "日本語", "A&B", "Inbox"]:
        assert decode_folder_name(encode_folder_name(name)) == name
    assert encode_folder_name("Entwürfe") == "Entw&APw-rfe"
    assert encode_folder_name("A&B") == "A&-B"


def _cli(home, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSE_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "disclose"), "--home", str(home), *args],
        capture_output=True, text=True, env={**clean, **env}, stdin=subprocess.DEVNULL, timeout=300,
    )


def test_disclose_crawl_imap_ingests_emails_and_a_rerun_adds_nothing(dovecot: DovecotServer, tmp_path) -> None:
    _fill(dovecot)
    args = ["crawl", "imap", "--host", "127.0.0.1", "--port", str(dovecot.imaps_port), "--user", dovecot.user,
            "--ca-file", str(dovecot.certificate.ca_file), "--custodian", "Alice Clerk", "--json"]
    first = _cli(tmp_path / "ws", *args, env={"DISCLOSE_IMAP_PASSWORD": dovecot.password})
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["collected"] == 7 and report["stored"] == 7 and report["problems"] == 0
    again = json.loads(_cli(tmp_path / "ws", *args, env={"DISCLOSE_IMAP_PASSWORD": dovecot.password}).stdout)
    assert again["collected"] == 0 and again["stored"] == 0
    assert dovecot.password.encode() not in (tmp_path / "ws" / "case.db").read_bytes()  # secrets never stored

    dovecot.expunge("INBOX", 3)
    after = json.loads(_cli(tmp_path / "ws", *args, env={"DISCLOSE_IMAP_PASSWORD": dovecot.password}).stdout)
    assert after["removed"] == 1 and after["collected"] == 0
    services = open_services(open_workspace(tmp_path / "ws"))
    try:
        with services.store.session() as session:
            rows = list(session.scalars(select(ItemRow).where(ItemRow.kind == "email", ItemRow.parent_id.is_(None))))
            gone = [row for row in rows if row.meta.get("present") is False]
            assert [row.title for row in gone] == ["Planning file 3 in INBOX"] and gone[0].meta["no_longer_present_at"]
            assert all(row.meta.get("present", True) for row in rows if row is not gone[0])
            entry = session.get(SourceEntry, (next(s.id for s in session.scalars(select(SourceRow))), gone[0].source))
            assert entry is not None and entry.present is False
        assert services.evidence.path_for(gone[0].sha256).exists()  # evidence is never deleted
    finally:
        services.close()
    last = json.loads(_cli(tmp_path / "ws", *args, env={"DISCLOSE_IMAP_PASSWORD": dovecot.password}).stdout)
    assert last["removed"] == 0


def test_disclose_crawl_imap_without_a_password_or_terminal_is_bad_input(dovecot: DovecotServer, tmp_path) -> None:
    result = _cli(tmp_path / "ws", "crawl", "imap", "--host", "127.0.0.1", "--user", dovecot.user,
                  "--custodian", "A", "--json", env={})
    assert result.returncode == 2
    assert "DISCLOSE_IMAP_PASSWORD" in result.stderr
    wrong = _cli(tmp_path / "ws", "crawl", "imap", "--host", "127.0.0.1", "--port", str(dovecot.imaps_port),
                 "--user", dovecot.user, "--ca-file", str(dovecot.certificate.ca_file), "--custodian", "A", "--json",
                 env={"DISCLOSE_IMAP_PASSWORD": "wrong"})
    assert wrong.returncode == 2 and "login refused" in wrong.stderr
