"""The audit log is append-only and hash-chained: tampering with any row is detected and named."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from search_api import audit
from search_api.requests import create_request


def _log_three(services) -> None:  # type: ignore[no-untyped-def]
    with services.store.session() as session:
        create_request(session, ref="FOI-A", kind="foi", received=date(2025, 6, 2), actor="officer")
        audit.record(session, "officer", "item.view", "abc123", {"why": "review"})
        audit.record(session, "dpo", "export", "FOI-A", {"pages": 12})


def test_an_untouched_log_verifies(services, cli):
    _log_three(services)
    with services.store.session() as session:
        result = audit.verify(session)
        entries = audit.list_entries(session)
    assert result.ok and result.entries == 3
    assert [e.action for e in entries] == ["request.create", "item.view", "export"]
    assert entries[1].prev_hash == entries[0].hash and result.head_hash == entries[2].hash
    shown = cli("audit", "verify", "--json")
    assert shown.exit_code == 0 and shown.json()["ok"] is True


def test_a_changed_row_is_named(services, cli):
    _log_three(services)
    with services.store.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"))
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    assert result.json()["first_bad_seq"] == 2 and result.json()["ok"] is False
    assert "entry 2" in result.json()["problem"]


def test_a_deleted_row_is_named(services, cli):
    _log_three(services)
    with services.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "entry 3" in result.stderr


def test_reordered_rows_are_detected(services):
    _log_three(services)
    with services.store.engine.begin() as connection:
        rows = connection.execute(text("SELECT seq, actor, action, target FROM audit_log WHERE seq IN (2, 3) ORDER BY seq")).all()
        for (seq, _, _, _), (_, actor, action, target) in zip(rows, reversed(rows)):
            connection.execute(text("UPDATE audit_log SET actor=:a, action=:b, target=:c WHERE seq=:s"), {"a": actor, "b": action, "c": target, "s": seq})
    with services.store.session() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == 2


def test_actor_comes_from_option_then_environment(monkeypatch):
    monkeypatch.setenv("DISCLOSE_USER", "env-user")
    assert audit.resolve_actor("given") == "given"
    assert audit.resolve_actor(None) == "env-user"
    monkeypatch.delenv("DISCLOSE_USER")
    assert audit.resolve_actor(None)  # the OS user name
