"""`disclose demo` runs the whole product end to end on a generated corpus."""

from __future__ import annotations

import subprocess
from pathlib import Path


def test_demo_builds_a_redacted_bundle(cli, home: Path) -> None:
    result = cli("demo", "--json")
    assert result.exit_code == 0, result.stderr
    demo = result.json()
    assert demo["custodians"] == ["Alex Morgan", "Priya Shah", "Sam Taylor"]
    assert demo["duplicates"] >= 1 and demo["redactions"] >= 1 and demo["pages"] >= 5
    assert demo["seconds"] < 120
    text = subprocess.run(["pdftotext", demo["bundle_pdf"], "-"], capture_output=True, text=True, check=True).stdout
    assert "Jordan Ellis" not in text  # the member of the public's name is burned out
    assert "s40(2)" in text and "FOI-2024-0001-000001" in text
    assert "Riverside" in text
    found = cli("search", "Riverside", "--json").json()
    assert found["total"] >= 3
    # The WhatsApp export and the chat screenshot are both searchable.
    assert cli("search", "kind:chat_message Eastgate", "--json").json()["total"] >= 1
    assert cli("search", "kind:image housing", "--json").json()["total"] == 1


def test_demo_chat_screenshot_becomes_messages_read_by_ocr(cli) -> None:
    assert cli("demo", "--json").exit_code == 0
    found = cli("search", 'kind:chat_message "papers are ready"', "--json").json()
    assert found["total"] == 1
    message = cli("show", found["hits"][0]["id"], "--json").json()
    assert message["metadata"]["derived_from_ocr"] is True
    assert message["participants"]["from"][0]["name"] == "Alex Morgan"
    assert message["date"].startswith("2024-03-04T08:13")
