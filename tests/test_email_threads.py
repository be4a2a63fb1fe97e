"""Email end to end through `disclose ingest`: duplicates across custodians, threads and inclusive emails."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from disclose.store.records import item_from_row
from disclose.store.tables import ItemRow
from email_fixtures import BASE_DATE, make_email, mbox_bytes, reply_to
from indexer.enrich.email_threads import normalised_subject


def _emails(services) -> list:  # type: ignore[no-untyped-def]
    with services.store.session() as session:
        return [item_from_row(r) for r in session.scalars(select(ItemRow).where(ItemRow.kind == "email"))]


def _by_title(items: list, title: str) -> list:  # type: ignore[no-untyped-def]
    return [i for i in items if i.title == title]


def test_duplicates_threads_and_inclusive_across_custodians(cli, services, tmp_path: Path) -> None:
    jane, bob = "Jane <jane@council.gov.uk>", "Bob <bob@council.gov.uk>"
    root = make_email(subject="Damp survey", sender=jane, to=bob, body="Can you book the damp survey?", message_id="<r1@x>")
    reply = reply_to(root, sender=bob, to=jane, body="Booked for Tuesday.", message_id="<r2@x>", date=BASE_DATE + timedelta(hours=1))
    last = reply_to(reply, sender=jane, to=bob, body="Thanks.", message_id="<r3@x>", date=BASE_DATE + timedelta(hours=2))
    # A reply from a client that drops In-Reply-To/References still joins by subject and participants.
    headerless = make_email(subject="RE: Damp survey", sender=bob, to=jane, body="Also the roof, separately.",
                            message_id="<r4@x>", date=BASE_DATE + timedelta(hours=3))
    unrelated = make_email(subject="Parking permits", sender=jane, to=bob, body="Unrelated.", message_id="<p1@x>")

    jane_dir, bob_dir = tmp_path / "jane", tmp_path / "bob"
    jane_dir.mkdir()
    bob_dir.mkdir()
    (jane_dir / "Sent").write_bytes(mbox_bytes([root, last, unrelated]))
    (bob_dir / "reply.eml").write_bytes(reply)
    (bob_dir / "copy-of-root.eml").write_bytes(root)  # the same message in another custodian's mailbox
    (bob_dir / "headerless.eml").write_bytes(headerless)

    assert cli("ingest", str(jane_dir), "--custodian", "Jane", "--json").exit_code == 0
    result = cli("ingest", str(bob_dir), "--custodian", "Bob", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["duplicates"] == 1

    services.close()
    emails = _emails(services)
    roots = _by_title(emails, "Damp survey")
    assert len(roots) == 2
    primary = [r for r in roots if r.duplicate_of is None][0]
    copy = [r for r in roots if r.duplicate_of is not None][0]
    assert copy.duplicate_of == primary.id and copy.content_hash == primary.content_hash
    assert set(primary.custodians) == {"Jane", "Bob"}

    thread = {e.metadata.get("thread_id") for e in emails if "Damp survey" in e.title}
    assert len(thread) == 1 and None not in thread
    parking = _by_title(emails, "Parking permits")[0]
    assert parking.metadata["thread_id"] not in thread

    inclusive = {e.metadata["message_id"]: e.metadata["inclusive"] for e in emails if e.duplicate_of is None}
    # r1 is quoted in r2, r2 in r3: only the last reply and the separate headerless reply need reading.
    assert inclusive == {"<r1@x>": False, "<r2@x>": False, "<r3@x>": True, "<r4@x>": True, "<p1@x>": True}

    again = cli("ingest", str(bob_dir), "--custodian", "Bob", "--json").json()
    assert again["items_added"] == 0


def test_subject_normalisation_for_thread_fallback() -> None:
    assert normalised_subject("RE: Fwd: AW:  Damp   Survey") == "damp survey"
    assert normalised_subject("Re[2]: budget") == "budget"
    assert normalised_subject("Record of decision") == "record of decision"


def _thread_facts(services) -> dict[str, tuple[str, bool]]:  # type: ignore[no-untyped-def]
    return {e.metadata["message_id"]: (e.metadata["thread_id"], e.metadata["inclusive"]) for e in _emails(services)}


def _conversation() -> list[bytes]:
    """Two threads: a quoted reply chain, and a reply that only names its parent (In-Reply-To, no References)."""
    jane, bob = "Jane <jane@council.gov.uk>", "Bob <bob@council.gov.uk>"
    root = make_email(subject="Roof repairs", sender=jane, to=bob, body="Is the roof on the list?", message_id="<t1@x>")
    reply = reply_to(root, sender=bob, to=jane, body="It is now.", message_id="<t2@x>", date=BASE_DATE + timedelta(hours=1))
    last = reply_to(reply, sender=jane, to=bob, body="Good.", message_id="<t3@x>", date=BASE_DATE + timedelta(hours=2))
    other = make_email(subject="Bins", sender=bob, to=jane, body="Bin day moves.", message_id="<b1@x>")
    loose = make_email(subject="Re: Bins", sender=jane, to=bob, body="Noted.", message_id="<b2@x>", in_reply_to="<b1@x>",
                       date=BASE_DATE + timedelta(days=1))
    looser = make_email(subject="Re: Bins", sender=bob, to=jane, body="Thanks.", message_id="<b3@x>", in_reply_to="<b2@x>",
                        date=BASE_DATE + timedelta(days=2))
    return [root, reply, last, other, loose, looser]


def test_threads_are_the_same_whatever_order_and_batches_the_emails_arrive_in(services, tmp_path: Path, monkeypatch) -> None:
    from disclose.workspace import open_workspace
    from indexer.enrich import email_threads
    from indexer.pipeline import ingest_paths
    from indexer.services import open_services

    messages = _conversation()
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "all.mbox").write_bytes(mbox_bytes(messages))
    ingest_paths(services, [whole], ["Jane"], workers=1)
    together = _thread_facts(services)
    assert len({together[m][0] for m in ("<t1@x>", "<t2@x>", "<t3@x>")}) == 1
    assert len({together[m][0] for m in ("<b1@x>", "<b2@x>", "<b3@x>")}) == 1
    assert together["<t1@x>"][0] != together["<b1@x>"][0]
    assert {m: inclusive for m, (_, inclusive) in together.items()} == {
        "<t1@x>": False, "<t2@x>": False, "<t3@x>": True, "<b1@x>": True, "<b2@x>": True, "<b3@x>": True}

    # Latest first, one email per run, settled one email per batch: the same threads and flags.
    monkeypatch.setattr(email_threads, "BATCH", 1)
    monkeypatch.setattr(email_threads, "QUERY_CHUNK", 1)
    other = open_services(open_workspace(tmp_path / "other-home"))
    try:
        for number, message in reversed(list(enumerate(messages))):
            folder = tmp_path / f"run-{number}"
            folder.mkdir()
            (folder / f"{number}.eml").write_bytes(message)
            ingest_paths(other, [folder], ["Jane"], workers=1)
        assert _thread_facts(other) == together
    finally:
        other.close()


def test_a_settled_thread_is_not_rewritten_or_reindexed_again(services, tmp_path: Path) -> None:
    from indexer.enrich.email_threads import enrich
    from indexer.pipeline import ingest_paths

    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "all.mbox").write_bytes(mbox_bytes(_conversation()))
    ingest_paths(services, [folder], ["Jane"], workers=1)
    with services.store.session() as session:
        stamps = dict(session.execute(select(ItemRow.id, ItemRow.updated_at).where(ItemRow.kind == "email")).all())
    assert enrich(services, sorted(stamps)) == []
    with services.store.session() as session:
        assert dict(session.execute(select(ItemRow.id, ItemRow.updated_at).where(ItemRow.kind == "email")).all()) == stamps


def test_a_mailbox_in_date_order_is_indexed_once_with_its_final_threads(services, tmp_path: Path, monkeypatch) -> None:
    """A reply that names only its parent takes the thread its parent was given earlier in the mailbox,
    so the thread pass finds nothing to rewrite or re-index, even past the hints kept in memory."""
    from indexer.enrich import email_threads
    from indexer.ingestors.email import thread_hints
    from indexer.pipeline import ingest_paths

    monkeypatch.setattr(thread_hints, "IN_MEMORY", 2)  # most of the hints come back from the hints' database
    changed: list[list[str]] = []
    real_enrich = email_threads.enrich
    monkeypatch.setattr(email_threads, "enrich", lambda services, ids: changed.append(real_enrich(services, ids)) or changed[-1])
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "all.mbox").write_bytes(mbox_bytes(_conversation()))
    ingest_paths(services, [folder], ["Jane"], workers=1)
    facts = _thread_facts(services)
    assert changed == [[]]
    assert len({facts[m][0] for m in ("<b1@x>", "<b2@x>", "<b3@x>")}) == 1 and facts["<b1@x>"][0] != facts["<t1@x>"][0]
