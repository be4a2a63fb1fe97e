"""Custodian attribution: explicit, map file (UNC and local, captures, case), owner, unassigned; in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.custodians import CustodianRules

MAP = r"""
# Home drives on the file server
\\fs\home$\jsmith\** -> Jane Smith
\\fs\foi-uploads\{name}\** -> {name}
\\fs\teams\*\finance\** -> Finance Team
/mnt/share/home/jsmith/** -> Jane Smith
/mnt/share/**/board-papers/*.pdf -> Board Secretary
"""

OWNERS = {"S-1-5-21-1-2-3-1104": "Raj Patel"}


@pytest.fixture
def rules(tmp_path: Path) -> CustodianRules:
    map_file = tmp_path / "custodians.map"
    map_file.write_text(MAP, encoding="utf-8")
    return CustodianRules.from_options(None, map_file, lambda owner: OWNERS.get(owner))


def test_map_patterns_match_unc_paths_case_insensitively(rules: CustodianRules) -> None:
    found = rules.attribute(r"\\FS\Home$\JSmith\Documents\letter.docx")
    assert (found.custodian, found.rule) == ("Jane Smith", "map")
    assert "line 3" in found.detail
    assert rules.attribute("//fs/home$/jsmith/a.txt").custodian == "Jane Smith"


def test_name_capture_becomes_the_custodian(rules: CustodianRules) -> None:
    assert rules.attribute(r"\\fs\foi-uploads\Kim Lee\2021\chat.zip").custodians == ["Kim Lee"]
    # A file directly in the uploads folder is nobody's folder: the capture needs a folder.
    assert rules.attribute(r"\\fs\foi-uploads\loose.png").rule == "unassigned"


def test_single_star_stays_within_one_folder(rules: CustodianRules) -> None:
    assert rules.attribute(r"\\fs\teams\housing\finance\q1.xlsx").custodian == "Finance Team"
    assert rules.attribute(r"\\fs\teams\housing\north\finance\q1.xlsx").rule == "unassigned"


def test_local_paths_match_exactly(rules: CustodianRules) -> None:
    assert rules.attribute("/mnt/share/home/jsmith/notes.txt").custodian == "Jane Smith"
    assert rules.attribute("/mnt/share/home/JSMITH/notes.txt").rule == "unassigned"
    assert rules.attribute("/mnt/share/board-papers/2021-03.pdf").custodian == "Board Secretary"
    assert rules.attribute("/mnt/share/archive/2020/board-papers/2020-01.pdf").custodian == "Board Secretary"
    assert rules.attribute("/mnt/share/archive/board-papers/minutes.docx").rule == "unassigned"


def test_owner_is_used_when_no_pattern_matches_and_unknown_owner_is_unassigned(rules: CustodianRules) -> None:
    owned = rules.attribute(r"\\fs\shared\report.docx", "S-1-5-21-1-2-3-1104")
    assert (owned.custodian, owned.rule, owned.detail) == ("Raj Patel", "owner", "S-1-5-21-1-2-3-1104")
    stranger = rules.attribute(r"\\fs\shared\report.docx", "S-1-5-21-9-9-9-500")
    assert (stranger.custodian, stranger.rule, stranger.custodians) == (None, "unassigned", [])


def test_map_wins_over_owner_and_explicit_wins_over_everything(tmp_path: Path) -> None:
    map_file = tmp_path / "m.map"
    map_file.write_text(MAP, encoding="utf-8")
    mapped = CustodianRules.from_options(None, map_file, lambda owner: "Raj Patel")
    assert mapped.attribute(r"\\fs\home$\jsmith\a.txt", "S-1").rule == "map"
    explicit = CustodianRules.from_options("Alex Jones", map_file, lambda owner: "Raj Patel")
    assert explicit.attribute(r"\\fs\home$\jsmith\a.txt", "S-1").custodian == "Alex Jones"
    assert explicit.attribute("/anywhere").rule == "explicit"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\\\\fs\\home$\\** Jane Smith\n", "line 1"),
        ("# fine\n\\\\fs\\{a}\\** -> {b}\n", "{b}"),
        ("\\\\fs\\{a}\\{a}\\** -> {a}\n", "twice"),
        (" -> Nobody\n", "line 1"),
    ],
)
def test_bad_map_lines_are_reported_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    map_file = tmp_path / "bad.map"
    map_file.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        CustodianRules.from_options(None, map_file, None)


def test_missing_map_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        CustodianRules.from_options(None, tmp_path / "absent.map", None)
