"""Run the demo: generate the corpus, ingest it per custodian, run a sample FOI request, write the bundle."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from disclose.store.casework import RequestRow
from disclose.workspace import Workspace
from indexer.pipeline import ingest_paths
from indexer.services import open_services
from ui.demo import corpus

REF = "FOI-2024-0001"
QUERY = '"housing budget" OR Riverside OR (damp W/3 mould)'
ACTOR = "demo"


@dataclass
class DemoResult:
    home: str
    corpus: str
    custodians: list[str]
    originals: int
    items: int
    duplicates: int
    exceptions: int
    request: str
    due: str
    review_items: int
    redactions: int
    bundle: str
    bundle_pdf: str
    pages: int
    seconds: float
    open_with: str
    steps: list[str] = field(default_factory=list)


def run_demo(workspace: Workspace, say: Callable[[str], None] = lambda _: None) -> DemoResult:
    from search_api.bundle.builder import build_bundle
    from search_api.redaction import redact_text
    from search_api.requests import create_request, request_row
    from search_api.review import add_hits

    began = time.monotonic()
    services = open_services(workspace)
    folder = workspace.home / "demo-corpus"
    shutil.rmtree(folder, ignore_errors=True)
    files = corpus.build(folder)
    say(f"Generated a sample corpus for {len(files)} custodians in {folder}")
    originals = items = duplicates = problems = 0
    for custodian in corpus.CUSTODIANS:
        report = ingest_paths(services, [folder / custodian.folder], [custodian.name])
        originals += report.stored
        items += report.items_added
        duplicates += report.duplicates
        problems += report.problems
        say(f"Ingested {custodian.name}: {report.stored} originals, {report.items_added} items, {report.duplicates} duplicates")
    with services.store.session() as session:
        if session.scalar(select(RequestRow.id).where(RequestRow.ref == REF)) is None:
            create_request(session, ref=REF, kind="foi", received=date(2024, 3, 11), actor=ACTOR,
                           requester="A member of the public", notes="All information about the Riverside housing budget.")
    with services.store.session() as session:
        record = add_hits(services, session, REF, QUERY, actor=ACTOR)
        due = request_row(session, REF).due
    say(f"FOI request {REF} (due {due}): search {QUERY!r} added {sum(record.added.values())} items to review")
    with services.store.session() as session:
        redacted = redact_text(session, REF, text=corpus.THIRD_PARTY, code="s40(2)", actor=ACTOR,
                               reason="Personal data of a third party")
    say(f"Redaction: {redacted.occurrences} occurrence(s) of a member of the public's name marked s40(2)")
    out = workspace.home / "bundles" / REF
    shutil.rmtree(out, ignore_errors=True)
    bundle = build_bundle(services.store, services.evidence, REF, out)
    say(f"Bundle written: {out / bundle.combined_pdf} ({bundle.pages} pages, leak check {bundle.leak_check})")
    services.close()
    return DemoResult(
        home=str(workspace.home), corpus=str(folder), custodians=[c.name for c in corpus.CUSTODIANS],
        originals=originals, items=items, duplicates=duplicates, exceptions=problems, request=REF, due=str(due),
        review_items=sum(record.added.values()), redactions=len(redacted.created) + redacted.already_marked,
        bundle=str(out), bundle_pdf=str(out / bundle.combined_pdf), pages=bundle.pages, seconds=round(time.monotonic() - began, 1),
        open_with=f"disclose --home {workspace.home} serve   then open http://127.0.0.1:8000/",
    )
