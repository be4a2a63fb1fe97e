"""s12 cost estimates: locate, retrieve and extract time against the appropriate limit, kept as a record."""

from __future__ import annotations

from datetime import date

from search_api.requests import create_request
from request_fixtures import make_item, put_in_review_set, store_items


def _request_with_items(services, ref: str, kind: str, count: int) -> None:  # type: ignore[no-untyped-def]
    items = [make_item(f"{ref}-{n}.txt", f"document {n}", custodian="alice" if n % 2 else "bob") for n in range(count)]
    store_items(services, items)
    with services.store.session() as session:
        create_request(session, ref=ref, kind=kind, received=date(2025, 6, 2), actor="officer")
    put_in_review_set(services, ref, items)


def test_foia_estimate_against_the_18_and_24_hour_limits(services, cli):
    _request_with_items(services, "FOI-C", "foi", 300)
    # 300 items x (1 + 1 + 2) minutes = 1200 minutes = 20 hours: over 18, under 24
    data = cli("request", "estimate", "FOI-C", "--json").json()
    assert (data["items"], data["hours"], data["limit"]["hours"], data["exceeds_limit"]) == (300, 20.0, 18.0, True)
    assert data["cost_pounds"] == 500.0 and data["per_custodian"] == {"alice": 150, "bob": 150}
    assert "redact" in data["excluded"]
    central = cli("request", "estimate", "FOI-C", "--central-government", "--json").json()
    assert (central["limit"]["pounds"], central["limit"]["hours"], central["exceeds_limit"]) == (600, 24.0, False)
    # configurable minutes: 300 x 3 = 900 minutes = 15 hours
    quicker = cli("request", "estimate", "FOI-C", "--extract-minutes", "1", "--json").json()
    assert quicker["hours"] == 15.0 and quicker["exceeds_limit"] is False
    from search_api.s12 import saved_estimates
    with services.store.session() as session:
        assert [e.hours for e in saved_estimates(session, "FOI-C")] == [20.0, 20.0, 15.0]


def test_foisa_limit_is_600_pounds_at_15_an_hour(services, cli):
    _request_with_items(services, "FOISA-C", "foisa", 500)
    # 500 x 4 minutes = 2000 minutes = 33.33 hours; FOISA allows 40 hours (£600 / £15)
    data = cli("request", "estimate", "FOISA-C", "--json").json()
    assert (data["hours"], data["limit"]["hours"], data["limit"]["hourly_rate"], data["exceeds_limit"]) == (33.33, 40.0, 15, False)


def test_no_cost_limit_for_a_sar(services, cli):
    with services.store.session() as session:
        create_request(session, ref="SAR-C", kind="sar", received=date(2025, 6, 2), actor="dpo")
    result = cli("request", "estimate", "SAR-C")
    assert result.exit_code == 2 and "no cost limit" in result.stderr
