"""The case store migrates the same on SQLite and PostgreSQL; the evidence store is content-addressed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from disclose.evidence import EvidenceStore
from disclose.items import Item, Kind, Participants, Person
from disclose.store import open_store
from disclose.store.base import Base
from disclose.store.records import load_item, save_item

def _sample() -> Item:
    item = Item(id="a" * 32, kind=Kind.EMAIL, family_id="a" * 32, custodians=["Jane Smith"], title="Budget",
                text="The budget was approved.", participants=Participants(sender=[Person("Jane Smith", "jane@example.gov.uk")]))
    from datetime import datetime, timedelta, timezone

    item.set_date(datetime(2024, 3, 31, 1, 30, tzinfo=timezone(timedelta(hours=1))), "header")
    return item


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_create_every_table_and_items_round_trip(backend: str, tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'case.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = open_store(url)
    tables = set(sa.inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with store.session() as session:
        save_item(session, _sample())
    with store.session() as session:
        loaded = load_item(session, "a" * 32)
    assert loaded is not None
    assert loaded.date is not None and loaded.date.isoformat() == "2024-03-31T00:30:00+00:00"
    assert loaded.date_offset_minutes == 60
    assert loaded.participants.sender[0].address == "jane@example.gov.uk"
    store.engine.dispose()


def test_text_is_written_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'case.db'}")
    with store.session() as session:
        save_item(session, _sample())
    changed = _sample()
    changed.text = "Something else entirely"
    changed.custodians = ["Priya Shah"]
    with store.session() as session:
        save_item(session, changed)
    with store.session() as session:
        loaded = load_item(session, "a" * 32)
    assert loaded is not None and loaded.text == "The budget was approved."
    assert loaded.custodians == ["Jane Smith", "Priya Shah"]


def test_evidence_store_keeps_one_read_only_copy(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    sha, size = store.put_bytes(b"original")
    again, _ = store.put_bytes(b"original")
    assert sha == again and size == 8
    path = store.path_for(sha)
    assert path.read_bytes() == b"original" and not path.stat().st_mode & 0o222
    assert store.verify(sha)
    assert len(list(store.all_hashes())) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_save_stores_exactly_what_a_core_insert_stores(backend: str, tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    """`save_items` takes a fast DBAPI path on SQLite; a date range and the JSON columns must read
    back the same as rows written the ordinary way, or date filters and custodian lists break."""
    from disclose.store.records import _row_values, save_items
    from disclose.store.tables import ItemRow

    url = f"sqlite:///{tmp_path / 'case.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = open_store(url)
    fast, ordinary = _sample(), _sample()
    ordinary.id = "b" * 32
    with store.session() as session:
        assert save_items(session, [fast]).new_ids == [fast.id]
        session.execute(ItemRow.__table__.insert(), [_row_values(ordinary)])
    with store.session() as session:
        columns = [c for c in ItemRow.__table__.columns if c.name not in ("id", "created_at", "updated_at")]
        rows = {row.id: row for row in session.execute(sa.select(ItemRow.__table__))}
        assert [rows[fast.id]._mapping[c.name] for c in columns] == [rows[ordinary.id]._mapping[c.name] for c in columns]
        raw = session.execute(sa.text("SELECT id, date, custodians FROM items ORDER BY id")).all()
        assert raw[0][1:] == raw[1][1:]  # the stored text itself, not just the decoded values
        in_march = session.scalars(sa.select(ItemRow.id).where(ItemRow.date >= datetime(2024, 3, 31, tzinfo=timezone.utc))).all()
        assert sorted(in_march) == [fast.id, ordinary.id]
        loaded = load_item(session, fast.id)
    assert loaded is not None and loaded.custodians == ["Jane Smith"] and loaded.participants.sender[0].address == "jane@example.gov.uk"


def test_evidence_store_keeps_originals_read_only_and_ignores_cut_off_writes(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    sha, size = store.put_bytes(b"minutes of the housing committee")
    again, _ = store.put_bytes(b"minutes of the housing committee")
    assert again == sha and size == 32 and store.read(sha) == b"minutes of the housing committee"
    path = store.path_for(sha)
    assert not path.stat().st_mode & 0o222  # nobody may write to an original
    (path.parent / ".incoming-123-4-abcdef").write_bytes(b"half a file")  # as a crash mid-write leaves it
    assert list(store.all_hashes()) == [sha] and store.verify(sha)
