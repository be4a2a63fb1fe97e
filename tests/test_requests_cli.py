"""`disclose request …`: create returns the due date; clock events, scope, updates and bad input."""

from __future__ import annotations


def test_create_returns_the_due_date_and_days_left(cli):
    result = cli("request", "create", "--type", "foi", "--ref", "FOI-2025-001", "--received", "2024-12-20",
                 "--requester", "A. Journalist", "--assignee", "sam", "--as-of", "2025-01-20", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["ref"], data["type"], data["received"], data["due"], data["status"]) == (
        "FOI-2025-001", "foi", "2024-12-20", "2025-01-23", "open")
    assert data["working_days_left"] == 3 and data["days_left"] == 3 and data["overdue"] is False
    sar = cli("request", "create", "--type", "sar", "--ref", "SAR-1", "--received", "2025-01-31", "--as-of", "2025-02-01", "--json").json()
    assert sar["due"] == "2025-02-28" and sar["working_days_left"] is None and sar["days_left"] == 27
    listed = cli("request", "list", "--as-of", "2025-03-01", "--overdue", "--json").json()
    assert sorted(r["ref"] for r in listed["requests"]) == ["FOI-2025-001", "SAR-1"]


def test_bad_input_exits_2_with_a_reason(cli):
    bad_type = cli("request", "create", "--type", "fio", "--ref", "X", "--received", "2025-01-01")
    assert bad_type.exit_code == 2 and "foi, eir" in bad_type.stderr
    bad_date = cli("request", "create", "--type", "foi", "--ref", "X", "--received", "31/01/2025", "--json")
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.json()["error"]
    cli("request", "create", "--type", "foi", "--ref", "X", "--received", "2025-01-06")
    assert cli("request", "create", "--type", "foi", "--ref", "X", "--received", "2025-01-06").exit_code == 2
    assert cli("request", "show", "NOPE").exit_code == 2
    assert cli("request", "extend", "X", "--reason", "pit", "--months", "1").exit_code == 2
    assert cli("request", "resume", "X").exit_code == 2  # not paused


def test_sar_pause_resume_extend_answer_keeps_every_event(cli):
    cli("request", "create", "--type", "sar", "--ref", "SAR-2", "--received", "2025-03-03")
    paused = cli("request", "pause", "SAR-2", "--reason", "awaiting proof of identity", "--on", "2025-03-05", "--json").json()
    assert paused["paused"] is True and paused["due"] is None and paused["status"] == "on_hold"
    resumed = cli("request", "resume", "SAR-2", "--on", "2025-03-20", "--json").json()
    assert resumed["due"] == "2025-04-22" and resumed["status"] == "open"  # month from 20 Mar, past Easter
    extended = cli("request", "extend", "SAR-2", "--reason", "complex: many records", "--months", "2", "--on", "2025-03-25", "--json").json()
    assert extended["due"] == "2025-06-20"  # 20 Jun 2025 is a Friday
    assert cli("request", "extend", "SAR-2", "--reason", "more", "--months", "1").exit_code == 2
    answered = cli("request", "answer", "SAR-2", "--on", "2025-06-19", "--as-of", "2025-07-01", "--json").json()
    assert answered["answered"] == "2025-06-19" and answered["overdue"] is False and answered["status"] == "answered"
    assert [e["event"] for e in answered["events"]] == ["received", "paused", "resumed", "extended", "answered"]
    assert answered["events"][3]["reason"] == "complex: many records"


def test_foi_public_interest_extension_and_closure_days(cli):
    cli("request", "create", "--type", "foi", "--ref", "FOI-E", "--received", "2025-06-02")
    assert cli("request", "show", "FOI-E", "--json").json()["due"] == "2025-06-30"
    assert cli("request", "closures", "add", "2025-06-10", "--reason", "office move").exit_code == 0
    assert cli("request", "show", "FOI-E", "--json").json()["due"] == "2025-07-01"
    extended = cli("request", "extend", "FOI-E", "--reason", "public interest test (s36)", "--until", "2025-07-25", "--on", "2025-06-20", "--json").json()
    assert extended["due"] == "2025-07-25" and extended["extended"] is True
    cli("request", "create", "--type", "foisa", "--ref", "FOISA-E", "--received", "2025-06-02")
    refused = cli("request", "extend", "FOISA-E", "--reason", "pit")
    assert refused.exit_code == 2 and "FOISA" in refused.stderr


def test_update_and_scope(cli):
    cli("request", "create", "--type", "sar", "--ref", "SAR-U", "--received", "2025-06-02", "--assignee", "sam")
    updated = cli("request", "update", "SAR-U", "--status", "in_review", "--assignee", "kim", "--unassign", "sam", "--note", "called requester", "--json").json()
    assert updated["status"] == "in_review" and updated["assignees"] == ["kim"] and updated["notes"] == "called requester"
    assert cli("request", "update", "SAR-U", "--status", "lost").exit_code == 2
    scoped = cli("request", "scope", "SAR-U", "--custodian", "alice", "--from", "2024-01-01", "--to", "2024-12-31",
                 "--name", "Jane Doe", "--alias", "JD", "--email", "jane@example.org", "--phone", "07700 900123",
                 "--ni", "AB123456C", "--nhs", "9434765919", "--json").json()["scope"]
    assert scoped["custodians"] == ["alice"] and scoped["date_to"] == "2024-12-31"
    assert scoped["subject"]["ni_numbers"] == ["AB123456C"] and scoped["subject"]["nhs_numbers"] == ["9434765919"]
    cli("request", "create", "--type", "foi", "--ref", "FOI-U", "--received", "2025-06-02")
    assert cli("request", "scope", "FOI-U", "--name", "Jane Doe").exit_code == 2  # subject identifiers are for SARs
