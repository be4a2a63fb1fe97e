"""Search term reports: per line hits, unique hits, hits with families and custodians; set total; CSV and JSON."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from search_api.terms import queries_from_text, report_csv, terms_report
from search_conformance import corpus

TERMS = """# s12 estimate, request FOI-2021-001
housing
refuge
benefit W/3 review
a AND (b
=cmd|' /C calc'!A0
"""


@pytest.fixture
def loaded(services):  # type: ignore[no-untyped-def]
    services.index.upsert(corpus())
    services.index.commit()
    return services


def test_each_line_counts_hits_unique_hits_families_and_custodians(loaded) -> None:  # type: ignore[no-untyped-def]
    report = terms_report(loaded, queries_from_text(TERMS))
    by_line = {line.line: line for line in report.lines}
    housing, refuge, near, broken, formula = by_line[2], by_line[3], by_line[4], by_line[5], by_line[6]
    assert housing.hits == 5 and housing.unique_hits == 4  # e01 is also found by line 4
    assert housing.custodians == {"Alice Smith": 3, "Bob Jones": 2}
    assert housing.hits_with_families == 5  # e01's attachment a01 is already a hit
    assert refuge.hits == 2 and refuge.unique_hits == 2 and refuge.custodians == {"Dan Brown": 2}
    assert near.hits == 1 and near.unique_hits == 0 and near.hits_with_families == 2  # e01 brings a01
    assert broken.error and broken.position == 8 and broken.hits == 0
    assert formula.hits == 0 and formula.error is None
    assert report.total == 7  # housing's 5 + refuge's 2; line 4 adds nothing new


def test_csv_has_a_row_per_line_and_a_total_and_neutralises_formulas(loaded) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.reader(io.StringIO(report_csv(terms_report(loaded, queries_from_text(TERMS))))))
    assert rows[0][:5] == ["line", "query", "hits", "unique_hits", "hits_with_families"]
    assert rows[1][:5] == ["2", "housing", "5", "4", "5"]
    assert rows[5][1].startswith("'=")
    assert rows[-1][1] == "TOTAL (any line)" and rows[-1][2] == "7"


def test_terms_command_json_and_csv(cli, loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded.close()
    terms_file = tmp_path / "terms.txt"
    terms_file.write_text("housing\nrefuge\n", encoding="utf-8")
    out = tmp_path / "report.csv"
    result = cli("terms", str(terms_file), "--csv", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert [line["hits"] for line in data["lines"]] == [5, 2] and data["total"] == 7
    assert "TOTAL (any line)" in out.read_text()
    assert cli("terms", str(tmp_path / "missing.txt"), "--json").exit_code == 2
