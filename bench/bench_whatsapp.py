"""WhatsApp throughput: generate an N-message export, parse it, then ingest and index it end to end.

Prints messages/s for parsing alone and for the whole pipeline (case store + search index), and the
peak RSS of each phase. Usage: python bench/bench_whatsapp.py [--messages 1000000] [--parse-only]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from rss_sampler import RssSampler  # bench/ is the script's folder, first on sys.path

SENDERS = ["Alice Smith", "Bob Jones", "+44 7700 900123", "Carol Ng", "Dev Patel"]
WORDS = "the housing budget repair survey damp council meeting agreed tenant estate report draft".split()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_export(path: Path, count: int) -> None:
    """An Android en_GB export: mostly one-liners, every 10th multi-line, every 50th a system line."""
    moment = datetime(2021, 1, 1, 8, 0)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            moment += timedelta(seconds=37)
            stamp = moment.strftime("%d/%m/%Y, %H:%M")
            if number % 50 == 0:
                out.write(f"{stamp} - Alice Smith added Carol Ng\n")
                continue
            words = " ".join(WORDS[(number + k) % len(WORDS)] for k in range(8))
            out.write(f"{stamp} - {SENDERS[number % len(SENDERS)]}: message {number} {words}\n")
            if number % 10 == 0:
                out.write(f"second line of {number}\n")


def bench_parse(path: Path) -> tuple[int, float]:
    from indexer.ingestors.chat.whatsapp import _decoded_lines
    from indexer.ingestors.chat.whatsapp_parser import WhatsAppReader, scan_layout

    lines = _decoded_lines(lambda: path.open("rb"))
    start = time.perf_counter()
    layout = scan_layout(lines())
    reader = WhatsAppReader(layout, "Europe/London")
    count = sum(1 for _ in reader.messages(lines()))
    return count, time.perf_counter() - start


def bench_ingest(path: Path, home: Path) -> tuple[int, float, float, str]:
    from disclose.workspace import open_workspace
    from indexer.pipeline import ingest_paths
    from indexer.services import open_services

    services = open_services(open_workspace(home))
    services.store, services.index  # opened (and migrated) before the clock starts
    cpu = time.process_time()
    start = time.perf_counter()
    with RssSampler(0.5) as rss:
        report = ingest_paths(services, [path.parent], ["Bench Custodian"])
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    count = services.index.count() if hasattr(services.index, "count") else 0
    services.close()
    print(f"  pipeline report: {getattr(report, 'summary', lambda: report)()}", file=sys.stderr)
    return count, elapsed, cpu, rss.summary()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--parse-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "in"
        folder.mkdir()
        export = folder / "WhatsApp Chat with Bench.txt"
        write_export(export, args.messages)
        size_mb = export.stat().st_size / 1e6
        print(f"export: {args.messages} messages, {size_mb:.1f} MB; rss before parsing {peak_rss_mb():.0f} MB")
        count, seconds = bench_parse(export)
        print(f"parse (two streaming passes): {count} messages in {seconds:.1f}s = {count / seconds:,.0f} messages/s; "
              f"peak RSS {peak_rss_mb():.0f} MB")
        if args.parse_only:
            return
        indexed, seconds, cpu, rss = bench_ingest(export, Path(scratch) / "workspace")
        print(f"ingest + store + index (disclose ingest pipeline): {indexed} documents in {seconds:.1f}s = "
              f"{args.messages / seconds:,.0f} messages/s; CPU {cpu / args.messages * 1e6:.0f} us/message "
              f"(all threads); {rss}")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
