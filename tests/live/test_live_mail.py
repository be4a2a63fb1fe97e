"""Live mail crawls against real servers. Each runs only when its server and credentials are in the environment."""

from __future__ import annotations

import os

import pytest

from crawler.base import Checkpoint, Collected, CollectionProblem
from crawler.credentials import Secret
from crawler.exchange_ews import EwsCrawler
from crawler.exchange_graph import GraphCrawler
from crawler.imap import ImapCrawler

pytestmark = pytest.mark.live


def _first_items(crawler, limit: int = 5) -> tuple[list[Collected], list[Checkpoint]]:
    collected, checkpoints = [], []
    for event in crawler.crawl({}):
        if isinstance(event, Collected):
            collected.append(event)
        elif isinstance(event, Checkpoint):
            checkpoints.append(event)
        elif isinstance(event, CollectionProblem):
            continue
        if len(collected) >= limit and checkpoints:
            break
    return collected, checkpoints


def _env(*names: str) -> bool:
    return all(os.environ.get(name) for name in names)


@pytest.mark.skipif(not _env("DISCLOSE_LIVE_IMAP_HOST", "DISCLOSE_IMAP_USER", "DISCLOSE_IMAP_PASSWORD"),
                    reason="set DISCLOSE_LIVE_IMAP_HOST, DISCLOSE_IMAP_USER and DISCLOSE_IMAP_PASSWORD")
def test_live_imap_collects_rfc822_with_folders() -> None:
    crawler = ImapCrawler(host=os.environ["DISCLOSE_LIVE_IMAP_HOST"], user=os.environ["DISCLOSE_IMAP_USER"],
                          password=Secret(os.environ["DISCLOSE_IMAP_PASSWORD"]), custodians=["live test"],
                          port=int(os.environ.get("DISCLOSE_LIVE_IMAP_PORT", "993")))
    collected, checkpoints = _first_items(crawler)
    assert collected and checkpoints
    assert all(item.metadata["folder"] and item.opener().read(5) for item in collected)


@pytest.mark.skipif(not _env("DISCLOSE_LIVE_EWS_URL", "DISCLOSE_LIVE_EWS_MAILBOX", "DISCLOSE_EWS_PASSWORD"),
                    reason="set DISCLOSE_LIVE_EWS_URL, DISCLOSE_LIVE_EWS_MAILBOX and DISCLOSE_EWS_PASSWORD")
def test_live_ews_collects_mime_with_folders() -> None:
    mailbox = os.environ["DISCLOSE_LIVE_EWS_MAILBOX"]
    crawler = EwsCrawler(server=os.environ["DISCLOSE_LIVE_EWS_URL"], mailbox=mailbox,
                         username=os.environ.get("DISCLOSE_EWS_USERNAME", mailbox),
                         password=Secret(os.environ["DISCLOSE_EWS_PASSWORD"]), custodians=["live test"])
    collected, checkpoints = _first_items(crawler)
    assert collected and checkpoints
    assert all(item.metadata["folder"] and b":" in item.opener().read(200) for item in collected)


@pytest.mark.skipif(
    not _env("DISCLOSE_LIVE_GRAPH_TENANT", "DISCLOSE_LIVE_GRAPH_CLIENT_ID", "DISCLOSE_LIVE_GRAPH_MAILBOX",
             "DISCLOSE_GRAPH_CLIENT_SECRET"),
    reason="set DISCLOSE_LIVE_GRAPH_TENANT, _CLIENT_ID, _MAILBOX and DISCLOSE_GRAPH_CLIENT_SECRET",
)
def test_live_graph_collects_mime_and_keeps_a_delta_position() -> None:
    crawler = GraphCrawler(tenant=os.environ["DISCLOSE_LIVE_GRAPH_TENANT"], client_id=os.environ["DISCLOSE_LIVE_GRAPH_CLIENT_ID"],
                           client_secret=Secret(os.environ["DISCLOSE_GRAPH_CLIENT_SECRET"]),
                           mailbox=os.environ["DISCLOSE_LIVE_GRAPH_MAILBOX"], custodians=["live test"],
                           teams=bool(os.environ.get("DISCLOSE_LIVE_GRAPH_TEAMS")))
    collected, checkpoints = _first_items(crawler)
    assert collected and checkpoints
    folders = checkpoints[-1].state["folders"]
    assert any(entry.get("delta_link") or entry.get("next_link") for entry in folders.values())
