"""`disclose search` and `disclose saved` on a workspace built by `disclose ingest` of generated text files."""

from __future__ import annotations

from pathlib import Path

import pytest

FILES = {
    "alice/housing.txt": "The housing benefit review is due. Rent arrears are rising across the borough.",
    "alice/minutes.txt": "Committee minutes: contracts for housing repairs were agreed.",
    "alice/minutes-copy.txt": "Committee minutes: contracts for housing repairs were agreed.",
    "alice/cafe.txt": "The café asked about business rates; managers managed it.",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One ingested workspace for the module (ingest runs Tika: once is enough)."""
    from cli_helpers import cli_for

    tmp_path = tmp_path_factory.mktemp("search-cli")
    cli = cli_for(tmp_path / "home")

    for name, text in FILES.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    result = cli("ingest", str(tmp_path / "src"), "--custodian", "Alice Smith", "--json")
    assert result.exit_code == 0, result.stderr
    return cli


def test_search_json_has_the_public_fields(workspace) -> None:  # type: ignore[no-untyped-def]
    result = workspace("search", "housing", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["total"] == 2  # the byte-identical copy of the minutes is hidden
    assert data["duplicates_hidden"] == 1
    for hit in data["hits"]:
        assert {"id", "kind", "title", "custodians", "date", "snippet", "family_id"} <= hit.keys()
        assert "<mark>housing</mark>" in hit["snippet"].lower()
        assert hit["custodians"] == ["Alice Smith"]
    with_copies = workspace("search", "housing", "--duplicates", "--json").json()
    assert with_copies["total"] == 3


def test_fuzzy_and_stem_and_proximity_through_the_cli(workspace) -> None:  # type: ignore[no-untyped-def]
    assert workspace("search", "hosuing~1", "--json").json()["total"] == 2
    stemmed = workspace("search", "manage~stem", "--json").json()
    assert stemmed["total"] == 1 and "<mark>managers</mark>" in stemmed["hits"][0]["snippet"]
    assert workspace("search", "rent W/2 arrears", "--json").json()["total"] == 1
    assert workspace("search", "arrears PRE/2 rent", "--json").json()["total"] == 0
    assert workspace("search", "cafe", "--json").json()["total"] == 1


def test_syntax_error_exits_2_with_position(workspace) -> None:  # type: ignore[no-untyped-def]
    result = workspace("search", "a AND (b", "--json")
    assert result.exit_code == 2
    data = result.json()
    assert data["position"] == 8 and "expected )" in data["error"]
    assert result.stderr.count("\n") == 1


def test_pages_follow_the_cursor(workspace) -> None:  # type: ignore[no-untyped-def]
    first = workspace("search", "NOT zzzz", "--limit", "1", "--sort", "date", "--json").json()
    ids = [h["id"] for h in first["hits"]]
    cursor = first["next_cursor"]
    while cursor:
        page = workspace("search", "NOT zzzz", "--limit", "1", "--sort", "date", "--cursor", cursor, "--json").json()
        ids += [h["id"] for h in page["hits"]]
        cursor = page["next_cursor"]
    assert len(ids) == len(set(ids)) == first["total"] == 3
    assert workspace("search", "housing", "--cursor", "garbage", "--json").exit_code == 2


def test_saved_searches_record_who_when_and_counts(workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DISCLOSE_USER", "foi.officer")
    saved = workspace("saved", "save", "housing-terms", "housing OR rates", "--json")
    assert saved.exit_code == 0, saved.stderr
    assert saved.json()["counts"]["total"] == 3 and saved.json()["author"] == "foi.officer"
    listed = workspace("saved", "list", "--json").json()
    assert [s["name"] for s in listed] == ["housing-terms"] and listed[0]["run_at"]
    ran = workspace("saved", "run", "housing-terms", "--json").json()
    assert ran["total"] == 3 and ran["saved"]["counts"]["total"] == 3
    assert workspace("saved", "run", "nope", "--json").exit_code == 2
    assert workspace("saved", "save", "bad", "a AND (", "--json").exit_code == 2


def test_api_search_terms_and_saved_searches(services) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from search_api.app import create_api
    from search_conformance import corpus

    services.index.upsert(corpus())
    services.index.commit()
    client = TestClient(create_api(services=services))
    found = client.get("/search", params={"q": "housing~1 W/3 complaint"}).json()
    assert found["total"] == 1 and "<mark>Hosuing</mark>" in found["hits"][0]["snippet"]
    bad = client.get("/search", params={"q": "a AND (b"})
    assert bad.status_code == 400 and bad.json()["position"] == 8
    report = client.post("/terms", json={"queries": ["housing", "refuge"]}).json()
    assert [line["hits"] for line in report["lines"]] == [5, 2] and report["total"] == 7
    assert client.post("/saved-searches", json={"name": "refuge", "query": "refuge", "author": "officer"}).json()["counts"]["total"] == 2
    ran = client.post("/saved-searches/refuge/run").json()
    assert ran["results"]["total"] == 2 and ran["saved"]["name"] == "refuge"
    assert client.post("/saved-searches/nope/run").status_code == 404
    schema = client.get("/openapi.json").json()
    assert "SearchResults" in schema["components"]["schemas"]
