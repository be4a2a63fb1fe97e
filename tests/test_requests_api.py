"""The requests API over HTTP (FastAPI TestClient), on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from disclose.workspace import Workspace
from indexer.services import Services
from request_fixtures import make_item, store_items
from search_api.app import create_api

def _flow(services: Services) -> None:
    """The request flow end to end: create, scope, add hits, decide, redact, suggest, markers, s12, audit."""
    item = make_item("memo.txt", "Memo about the pool from John Smith, 07700 900123.", custodian="alice")
    store_items(services, [item])
    client = TestClient(create_api(services=services))
    headers = {"X-Disclose-User": "officer"}
    created = client.post("/requests", json={"ref": "FOI-API", "type": "foi", "received": "2025-06-02"}, headers=headers)
    assert created.status_code == 201 and created.json()["due"] == "2025-06-30"
    assert client.post("/requests", json={"ref": "FOI-API", "type": "foi", "received": "2025-06-02"}).status_code == 400
    assert client.post("/requests", json={"ref": "X", "type": "nope", "received": "2025-06-02"}).status_code == 422
    assert client.get("/requests/NOPE").status_code == 404
    assert client.patch("/requests/FOI-API/scope", json={"custodians": ["alice"]}).json()["scope"]["custodians"] == ["alice"]
    added = client.post("/requests/FOI-API/items", json={"query": "pool"}, headers=headers)
    assert added.status_code == 200, added.text
    assert added.json()["record"]["hits_in_scope"] == 1 and added.json()["review_total"] == 1
    assert client.get("/requests/FOI-API/review/next").json()["item"]["item_id"] == item.id
    decided = client.put(f"/requests/FOI-API/review/{item.id}", json={"decision": "release_in_part", "exemptions": ["s40(2)"]})
    assert decided.status_code == 200 and decided.json()["decision"] == "release_in_part"
    bad_code = client.post("/requests/FOI-API/redactions", json={"text": "John Smith", "code": "Sch2 Para16"})
    assert bad_code.status_code == 400 and "s40(2)" in bad_code.json()["detail"]
    redacted = client.post("/requests/FOI-API/redactions", json={"text": "John Smith", "code": "s40(2)"}, headers=headers)
    assert redacted.json()["occurrences"] == 1
    marker_id = redacted.json()["created"][0]["id"]
    assert client.patch(f"/markers/{marker_id}", json={"reason": "staff name"}).json()["reason"] == "staff name"
    suggested = client.post("/requests/FOI-API/suggestions", headers=headers).json()
    phone = [m for m in suggested["created"] if m["text"] == "07700 900123"]
    assert phone and phone[0]["status"] == "suggested"
    assert client.post(f"/markers/{phone[0]['id']}/accept").json()["status"] == "accepted"
    statuses = {m["text"]: m["status"] for m in client.get("/requests/FOI-API/markers").json()}
    assert statuses["John Smith"] == "accepted" and statuses["07700 900123"] == "accepted"
    assert client.delete("/markers/999999").status_code == 404
    estimate = client.post("/requests/FOI-API/estimate", json={"minutes_per_item": {"locate": 1, "retrieve": 1, "extract": 1}})
    assert estimate.json()["minutes"] == 3 and estimate.json()["exceeds_limit"] is False
    assert client.get("/requests/FOI-API/record").json()[0]["query"] == "pool"
    verify = client.get("/audit/verify").json()
    assert verify["ok"] is True and verify["entries"] >= 6
    actions = [e["action"] for e in client.get("/audit").json()["entries"]]
    assert {"request.create", "request.search", "review.decide", "redact.text", "redact.suggest"} <= set(actions)
    assert "/requests/{ref}/items" in client.get("/openapi.json").json()["paths"]


def test_request_flow_over_the_api(services):
    _flow(services)


def test_request_flow_on_postgresql(tmp_path, postgres_url):
    home = tmp_path / "pg-workspace"
    workspace = Workspace(home=home, database_url=postgres_url, index_url="tantivy:", broker_url="").ensure()
    services = Services(workspace)
    try:
        _flow(services)
    finally:
        services.close()
        services.store.engine.dispose()
