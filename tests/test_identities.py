"""The identity table links one person's names, numbers, emails and handles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from disclose.store import open_store
from indexer.identities import identifiers_for, link, normalise_identifier, people


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'case.db'}")


def test_normalise_identifier_puts_phones_in_e164_and_lowercases_emails():
    assert normalise_identifier("phone", "07700 900123") == "+447700900123"
    assert normalise_identifier("phone", "+44 (0)7700-900-123") == "+447700900123"
    assert normalise_identifier("phone", "+1 555 010 0000") == "+15550100000"
    assert normalise_identifier("email", " Jane.Doe@Example.ORG ") == "jane.doe@example.org"
    assert normalise_identifier("handle", "@JaneD") == "janed"


def test_a_number_finds_the_persons_email_and_name(tmp_path: Path):
    store = _store(tmp_path)
    with store.session() as session:
        jane = link(session, "Jane Doe", [("email", "jane@example.org"), ("phone", "07700 900123")])
        other = link(session, "Bob", [("email", "bob@example.org")])
        assert jane != other
    with store.session() as session:
        found = identifiers_for(session, "+44 7700 900123")
        assert "jane@example.org" in found and "jane doe" in found
        assert "bob@example.org" not in found
        assert identifiers_for(session, "Jane Doe") == identifiers_for(session, "JANE@example.org")
        assert identifiers_for(session, "nobody@example.org") == ["nobody@example.org"]


def test_linking_a_known_identifier_extends_and_merges_people(tmp_path: Path):
    store = _store(tmp_path)
    with store.session() as session:
        first = link(session, "Jane Doe", [("email", "jane@example.org")])
        second = link(session, "J. Doe", [("phone", "07700900123")])
        merged = link(session, "Jane Doe", [("phone", "+447700900123"), ("handle", "@janed")])
        assert merged == first
        assert second != first
    with store.session() as session:
        everyone = people(session)
        assert len(everyone) == 1
        values = {i.value for i in everyone[0].identifiers}
        assert {"jane@example.org", "+447700900123", "janed", "j. doe"} <= values


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "disclose"), "--home", str(home), *args],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if not k.startswith("DISCLOSE_")},
    )


def test_identity_cli_add_and_list(tmp_path: Path):
    added = _cli(tmp_path, "identity", "add", "Jane Doe", "--email", "Jane@Example.org", "--phone", "07700 900123", "--json")
    assert added.returncode == 0, added.stderr
    person = json.loads(added.stdout)
    assert {"kind": "phone", "value": "+447700900123"} in person["identifiers"]
    listed = _cli(tmp_path, "identity", "list", "--json")
    assert listed.returncode == 0
    assert [p["display_name"] for p in json.loads(listed.stdout)["people"]] == ["Jane Doe"]
    bad = _cli(tmp_path, "identity", "add", "X", "--email", "not-an-address", "--json")
    assert bad.returncode == 2
    assert "not an email address" in bad.stderr
