"""Search benchmark: build a synthetic e-discovery corpus in a tantivy workspace and time the query language.

    .venv/bin/python bench/bench_search.py --items 1000000 --keep /tmp/bench-search-1m

Prints index size, indexing rate, p50/p95 latency of each query shape (top 50 with snippets and exact
totals, through the search service), facets, whether each families count was exact, and the time of a
50-line search term report. --keep builds the corpus once in that folder and reuses it (with the
indexing rate recorded when it was built).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from disclose.workspace import open_workspace
from indexer.index.documents import IndexDocument
from indexer.services import open_services
from search_api.search import run_search
from search_api.terms import terms_report

TOPIC_WORDS = (
    "housing benefit rent arrears tenant repairs council tax contract procurement tender budget planning "
    "application licence parking permit complaint refuse collection recycling school admissions social care "
    "safeguarding grant funding invoice payment supplier consultant agreement minutes committee meeting agenda "
    "policy review audit risk insurance claim highways pothole streetlight library leisure centre pool "
    "homelessness temporary accommodation allowance discretionary appeal tribunal decision officer manager "
    "director councillor ward resident letter email report draft final approved rejected urgent deadline"
).split()
COMMON = (
    "the of and to a in is it you that he was for on are with as I his they be at one have this from or had by "
    "but not what all were we when your can said there use an each which she do how their if will up other about "
    "out many then them these so some her would make like him into time has look two more write go see number no "
    "way could people my than first water been call who oil its now find long down day did get come made may part"
).split()
FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen".split()
LAST = "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright".split()


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Common words, topic words and a long tail of rarer words, with Zipf-like weights."""
    tail = ["".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))) for _ in range(20_000)]
    words = COMMON + TOPIC_WORDS + tail
    weights = [1.0 / (rank + 10) for rank in range(len(words))]
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    return words, cumulative


def documents(count: int, seed: int = 7):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    words, cumulative = vocabulary(rng)
    custodians = [f"{FIRST[i % 20]} {LAST[i // 20 % 10]}{i}" for i in range(200)]
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    span_seconds = int(timedelta(days=5 * 365).total_seconds())
    for n in range(count):
        chat = n % 3 == 2
        length = rng.randint(6, 30) if chat else rng.randint(40, 220)
        text = " ".join(rng.choices(words, cum_weights=cumulative, k=length))
        if not chat:
            text = text.capitalize() + ". Kind regards"
        custodian = custodians[rng.randrange(200)]
        sender = custodians[rng.randrange(200)]
        address = sender.lower().replace(" ", ".") + "@council.gov.uk"
        family = f"{n // 3:016x}" if not chat else f"{(n // 50) + 10**9:016x}"
        yield IndexDocument(
            id=f"{n:032x}", kind="chat_message" if chat else "email", family_id=family, parent_id="",
            title="" if chat else " ".join(rng.choices(TOPIC_WORDS, k=4)).capitalize(), text=text,
            custodians=[custodian], source_kind="teams" if chat else "pst", filename="",
            date=start + timedelta(seconds=rng.randrange(span_seconds)), sender=[sender, address], to=[], cc=[], bcc=[],
            thread_id="", content_hash=f"h{n}", is_duplicate=n % 20 == 19, has_attachment=not chat and n % 4 == 0,
            lang="en", subject="", source="bench://", sender_label=address,
        )


QUERIES = {
    "term": "housing",
    "phrase": '"rent arrears"',
    "W/5": "tenant W/5 repairs",
    "wildcard": "contract*",
    "fuzzy": "tenent~1",
    "boolean+date+custodian": '(housing OR benefit) AND NOT appeal date:2021-01-01..2021-06-30 custodian:"Mary Smith1"',
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None, help="Build (or reuse) the workspace here.")
    args = parser.parse_args()

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    home = args.keep or Path(tempfile.mkdtemp(prefix="disclose-bench-search-"))
    services = open_services(open_workspace(home))
    index = services.index
    built = home / "bench-search-build.json"  # the indexing rate of the run that built a kept corpus
    if index.count() < args.items:
        began = time.perf_counter()
        batch = []
        for doc in documents(args.items):
            batch.append(doc)
            if len(batch) == 10_000:
                index.upsert_documents(batch)  # type: ignore[attr-defined]
                batch = []
        index.upsert_documents(batch)  # type: ignore[attr-defined]
        index.commit()
        seconds = time.perf_counter() - began
        built.write_text(json.dumps({"items": args.items, "seconds": seconds, "load": os.getloadavg()}))
        print(f"indexed {args.items:,} items in {seconds:.1f} s: {args.items / seconds:,.0f} items/s")
    elif built.exists():
        record = json.loads(built.read_text())
        print(f"reused the kept index; when built: {record['items']:,} items in {record['seconds']:.1f} s: "
              f"{record['items'] / record['seconds']:,.0f} items/s (load then {record['load'][0]:.2f})")
    size = sum(p.stat().st_size for p in services.workspace.index_dir.rglob("*") if p.is_file())
    print(f"index size: {size / 2**20:,.0f} MiB ({size / max(1, index.count()):,.0f} bytes/item), items: {index.count():,}")

    # Interactive searches use counts="fast": total, unique and duplicates_hidden exact, families exact up
    # to EXACT_FAMILIES_UP_TO matches and estimated above ("families ~"). The "exact" lines count every family.
    shapes = [(name, query, False, "fast") for name, query in QUERIES.items()]
    shapes += [("term + facets", QUERIES["term"], True, "fast")]
    shapes += [(f"{name}, exact families", QUERIES[name], False, "exact") for name in ("term", "wildcard", "fuzzy")]
    print(f"top 50 with snippets, {args.runs} runs each:")
    for name, query, with_facets, counts in shapes:
        run_search(services, query, limit=50, facets=with_facets, counts=counts)  # warm
        times, results = [], None
        for _ in range(args.runs):
            began = time.perf_counter()
            results = run_search(services, query, limit=50, facets=with_facets, counts=counts)
            times.append((time.perf_counter() - began) * 1000)
        assert results is not None
        families = f"{results.families:,} exact" if results.families_exact else f"~{results.families:,} estimated"
        print(f"{name:<28} p50 {statistics.median(times):7.1f} ms  p95 {percentile(times, 0.95):7.1f} ms  "
              f"total {results.total:,} (exact)  unique {results.unique:,}  families {families}")

    rng = random.Random(3)
    lines = []
    for n in range(50):
        a, b = rng.sample(TOPIC_WORDS, 2)
        lines.append([f"{a} {b}", f'"{a} {b}"', f"{a} W/5 {b}", f"{a}* AND NOT {b}", f"{a}~1 date>=2022-01-01"][n % 5])
    began = time.perf_counter()
    report = terms_report(services, list(enumerate(lines, start=1)))
    print(f"50-line term report: {time.perf_counter() - began:.2f} s (set total {report.total:,}, all counts exact)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    services.close()
    if args.keep is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
