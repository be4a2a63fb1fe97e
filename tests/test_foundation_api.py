"""The FastAPI application: health, search, items, exceptions and its OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from ui.web.app import create_app


def test_api_searches_and_shows_items(cli, services, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "memo.txt").write_text("Memo: the Riverside housing budget is £1.25m.", encoding="utf-8")
    (folder / "empty.pdf").write_bytes(b"%PDF-1.4 truncated")
    cli("ingest", str(folder), "--custodian", "Jane Smith")
    client = TestClient(create_app(services=services))

    assert client.get("/health").json()["status"] == "ok"
    found = client.get("/search", params={"q": "Riverside"}).json()
    assert found["total"] == 1
    hit = found["hits"][0]
    assert {"id", "kind", "title", "custodians", "date", "snippet", "family_id"} <= set(hit)
    assert "<mark>Riverside</mark>" in hit["snippet"]
    item = client.get(f"/items/{hit['id']}", headers={"Accept": "application/json"}).json()
    assert item["text"].startswith("Memo:") and item["custodians"] == ["Jane Smith"]
    assert client.get("/items/" + "0" * 32, headers={"Accept": "application/json"}).status_code == 404
    bad = client.get("/search", params={"q": "a AND (b"})
    assert bad.status_code == 400 and bad.json()["position"] == 8
    assert any(entry["path"].endswith("empty.pdf") for entry in client.get("/exceptions").json())
    schema = client.get("/openapi.json").json()
    assert {"/health", "/search", "/items/{item_id}"} <= set(schema["paths"])
    assert "Content-Security-Policy" in client.get("/health").headers
