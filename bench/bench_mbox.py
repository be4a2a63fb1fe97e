"""MBOX throughput: emails per second parsed, and parsed + stored + indexed through the real pipeline.

    python bench/bench_mbox.py [--sizes 10000,50000,100000] [--keep DIR]

Generates an MBOX of N messages (one in five with an attachment), then, each in a fresh process so
peak memory is measured per run: (1) parse only, streaming the mbox with the email ingestor's
parser; (2) `ingest_paths` into a fresh embedded workspace (SQLite + tantivy, 2 ingest threads).
Prints emails/s and peak RSS for every size given, so that memory can be compared across sizes,
the resident memory at 25/50/75% of each run (a flat series is memory that does not grow with the
mailbox; a buffer that fills early and stays full shows as flat too), and the 1-minute load average
before and after each run (other work on the machine slows it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from rss_sampler import RssSampler  # bench/ is the script's folder, first on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("housing budget council cabinet riverside eastgate damp mould accommodation tenant repair scheme "
         "planning committee approval report officer resident complaint ward capital revenue From").split()
PEOPLE = [f"Officer {n} <officer{n}@council.gov.uk>" for n in range(40)]


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def message(number: int, rng: random.Random) -> bytes:
    mail = EmailMessage()
    mail["From"] = rng.choice(PEOPLE)
    mail["To"] = ", ".join(rng.sample(PEOPLE, 2))
    mail["Subject"] = f"{sentence(rng, 5)} #{number}"
    mail["Date"] = format_datetime(datetime(2023, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=number))
    mail["Message-ID"] = f"<bench-{number}@council.gov.uk>"
    if number > 1 and rng.random() < 0.5:
        mail["In-Reply-To"] = f"<bench-{rng.randrange(1, number)}@council.gov.uk>"
    body = "\n".join(sentence(rng) for _ in range(rng.randint(3, 12)))
    mail.set_content(body)
    if number % 5 == 0:
        mail.add_attachment("\n".join(sentence(rng) for _ in range(20)).encode(), maintype="text", subtype="plain",
                            filename=f"notes-{number}.txt")
    return mail.as_bytes()


def write_mbox(path: Path, count: int) -> None:
    rng = random.Random(7)
    with open(path, "wb") as out:
        for number in range(1, count + 1):
            out.write(f"From officer@council.gov.uk Mon Jan  1 00:00:00 2023\n".encode())
            for line in message(number, rng).split(b"\n"):
                out.write((b">" + line if line.lstrip(b">").startswith(b"From ") else line) + b"\n")
            out.write(b"\n")


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads (tantivy's indexing and merging threads too):
    less sensitive than wall time to other work on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def parse_only(path: Path) -> dict:
    from indexer.ingestors.email.mbox import iter_mbox
    from indexer.ingestors.email.mime import parse_message

    start, cpu = time.perf_counter(), cpu_seconds()
    count = 0
    with RssSampler() as rss, open(path, "rb") as stream:
        for _, _, data, _ in iter_mbox(stream):
            parse_message(data)
            count += 1
    seconds = time.perf_counter() - start
    return {"mode": "parse", "emails": count, "seconds": round(seconds, 1), "emails_per_s": round(count / seconds),
            "cpu_us_per_email": round((cpu_seconds() - cpu) / count * 1e6),
            "peak_rss_mb": peak_rss_mb(), "rss_quartiles_mb": rss.quartiles(),
            "peak_anonymous_mb": rss.peak_anonymous()}


def pipeline(path: Path) -> dict:
    from disclose.workspace import open_workspace
    from indexer.pipeline import ingest_paths
    from indexer.services import open_services

    with tempfile.TemporaryDirectory(prefix="bench-mbox-ws-") as home:
        services = open_services(open_workspace(Path(home)))
        start, cpu = time.perf_counter(), cpu_seconds()
        with RssSampler() as rss:
            report = ingest_paths(services, [path], ["Bench"], workers=2)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
        services.close()
        summary = report.summary()
        from sqlalchemy import func, select

        from disclose.store.tables import ItemRow

        with services.store.session() as session:
            emails = session.scalar(select(func.count()).select_from(ItemRow).where(ItemRow.kind == "email"))
    return {"mode": "pipeline", "emails": emails, "problems": summary["problems"], "seconds": round(seconds, 1),
            "emails_per_s": round(emails / seconds), "cpu_us_per_email": round(cpu / emails * 1e6), "peak_rss_mb": peak_rss_mb(), "rss_quartiles_mb": rss.quartiles(),
            "peak_anonymous_mb": rss.peak_anonymous()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--keep", metavar="DIR", help="keep the generated mailboxes here and reuse them (writing 100,000 takes minutes)")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "MBOX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, mbox = args.worker
        print(json.dumps((parse_only if mode == "parse" else pipeline)(Path(mbox))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-mbox-") as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in [int(s) for s in args.sizes.split(",")]:
            path = folder / f"mail-{size}.mbox"
            if not path.exists():  # the same seed writes the same mailbox, so a kept one is reused
                write_mbox(path, size)
            print(f"MBOX of {size} messages ({path.stat().st_size / 1e6:.0f} MB, attachments on 1 in 5)", flush=True)
            for mode in ("parse", "pipeline"):
                load_before = os.getloadavg()[0]
                run = subprocess.run([sys.executable, __file__, "--worker", mode, str(path)], capture_output=True, text=True, check=True)
                result = json.loads(run.stdout.strip().splitlines()[-1])
                print(f"  {mode:8s}: {result['emails']} emails in {result['seconds']} s = {result['emails_per_s']} emails/s "
                      f"({result['cpu_us_per_email']} µs CPU/email), "
                      f"peak RSS {result['peak_rss_mb']} MB (anonymous {result['peak_anonymous_mb']} MB), "
                      f"RSS at 25/50/75% {'/'.join(map(str, result['rss_quartiles_mb']))} MB "
                      f"(load {load_before:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
