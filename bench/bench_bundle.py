"""Bundle speed and memory: a 2,000-page redacted bundle with 5,000 markers, then 10,000 pages.

Prints pages/s, the 10,000-page time (measured with --full, else extrapolated) and peak RSS at both
sizes. The case is made in one process and the bundle built in another, so peak RSS is the build's
own (the main process; the two render workers' peaks are printed too).

    /tmp/venv/bin/python bench/bench_bundle.py [--full]
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

WORDS = ("council housing repair budget meeting tenant officer report review agreed action minutes planning "
         "contract schedule payment invoice estate garden roof boiler damp survey inspection notice appeal").split()
NAMES = ["Amelia Hart", "Basil Fenn", "Clara Moss", "Derek Stone", "Elsie Ward", "Felix Grey", "Gina Holt", "Hugo Lane"]
LINES_PER_PAGE = 55  # what TextFlow fits on A4 at 10 pt with our margins
PAGES_PER_DOCUMENT = 4


def build_case(home: Path, pages: int, markers: int) -> str:
    from disclose.items import Item, Kind, stable_id
    from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
    from disclose.store.records import save_items
    from disclose.workspace import open_workspace
    from indexer.services import open_services

    services = open_services(open_workspace(home))
    rng = random.Random(7)
    documents = pages // PAGES_PER_DOCUMENT
    per_document = markers // documents
    with services.store.session() as session:
        request = RequestRow(ref="BENCH-1", type="foi", received=date(2024, 1, 1))
        session.add(request)
        session.flush()
        items = []
        for number in range(documents):
            lines = []
            for _ in range(LINES_PER_PAGE * PAGES_PER_DOCUMENT - 3):
                lines.append(" ".join(rng.choice(WORDS) for _ in range(12)))
            for slot in range(per_document):
                line = rng.randrange(len(lines))
                lines[line] = f"{lines[line][:40]} {NAMES[slot % len(NAMES)]} {lines[line][40:]}"[:95]
            text = "\n".join(lines)
            item_id = stable_id("bench", str(number))
            item = Item(id=item_id, kind=Kind.FILE, family_id=item_id, title=f"Report {number}", filename=f"report-{number}.txt",
                        mime_type="text/plain", text=text, custodians=["Bench"], date=datetime(2024, 1, 1, tzinfo=timezone.utc))
            items.append(item)
            session.add(ReviewItem(request_id=request.id, item_id=item_id, decision="release_in_part", exemptions=["s40(2)"]))
            count = 0
            for name in NAMES:
                start = text.find(name)
                while start >= 0 and count < per_document:
                    session.add(MarkerRow(request_id=request.id, item_id=item_id, text_version=item.text_version, start=start,
                                          end=start + len(name), code="s40(2)"))
                    count += 1
                    start = text.find(name, start + 1)
        save_items(session, items)
    services.close()
    return "BENCH-1"


def run_one(pages: int, markers: int) -> dict:
    from disclose.workspace import open_workspace
    from indexer.services import open_services
    from search_api.bundle.builder import build_bundle

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "ws"
        subprocess.run([sys.executable, __file__, "--case", str(home), str(pages), str(markers)], check=True)
        ref = "BENCH-1"
        services = open_services(open_workspace(home))
        began = time.monotonic()
        summary = build_bundle(services.store, services.evidence, ref, Path(folder) / "out")
        seconds = time.monotonic() - began
    return {"pages": summary.pages, "markers": summary.markers, "seconds": round(seconds, 1),
            "pages_per_second": round(summary.pages / seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            # largest of the finished children: the two workers (and the case builder, reported apart)
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def measured(pages: int, markers: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--one", str(pages), str(markers)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--case":
        build_case(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(run_one(int(sys.argv[2]), int(sys.argv[3]))))
        return
    small = measured(2000, 5000)
    print(f"2,000-page bundle, {small['markers']} markers: {small['seconds']} s, {small['pages_per_second']} pages/s "
          f"(target >= 50), peak RSS {small['peak_rss_mb']} MB (largest child {small['worker_peak_rss_mb']} MB)")
    if "--full" in sys.argv:
        large = measured(10000, 25000)
        print(f"10,000-page bundle, {large['markers']} markers: {large['seconds']} s measured (target < 300 s), "
              f"{large['pages_per_second']} pages/s, peak RSS {large['peak_rss_mb']} MB (largest child {large['worker_peak_rss_mb']} MB)")
    else:
        print(f"10,000-page bundle: {round(10000 / small['pages_per_second'], 1)} s extrapolated (target < 300 s); run with --full to measure")


if __name__ == "__main__":
    main()
