"""Bundle speed and memory: a 2,000-page redacted bundle with 5,000 markers, then 10,000 pages.

Prints pages/s, the 10,000-page time (measured with --full, else extrapolated) and peak RSS at both
sizes: of the main process (getrusage) and of each render worker and pdftotext run (their VmHWM,
read from /proc every 0.1 s while they live, by the process that started the build; getrusage's
figure for children is no use here, as it counts the parent's pages at the moment a worker is
spawned). The case is made in one process and
the bundle built in another, so those figures are the build's own. CPU seconds and the load average
are printed with each figure: pages/s depends on what else the machine is doing, CPU seconds do not.

    .venv/bin/python bench/bench_bundle.py [--full [--larger]]

--full measures the 10,000-page bundle too; --larger adds a 20,000-page one.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
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


def _children_of(pids: set[int]) -> dict[int, str]:
    """Every live descendant of `pids`, with what it is, from /proc."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            parents[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), name)
    found: dict[int, str] = {}
    frontier, depth = set(pids), 0
    while frontier:
        depth += 1
        frontier = {pid for pid, (ppid, _) in parents.items() if ppid in frontier and pid not in found}
        found.update({pid: _role(pid, parents[pid][1], depth) for pid in frontier})
    return found


def _role(pid: int, name: str, depth: int) -> str:
    """pdftotext, a render worker (a direct child running multiprocessing's spawn_main), or something else.

    A worker's child between fork and exec still shows the worker's command line and memory: it is
    not counted as a worker."""
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return name
    if b"spawn_main" in command:
        return "worker" if depth == 1 else "forking"
    if b"resource_tracker" in command:
        return "resource-tracker"
    return name


def _high_water_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakSampler(threading.Thread):
    """Each render worker's peak RSS (VmHWM), and the largest of any other kind of child (pdftotext),
    of the build process `root`, read every 0.1 s while they live. It runs in the process that started
    the build, not in the build itself, whose own peak it would otherwise add to; only workers are kept
    by pid (a bundle runs pdftotext once per document)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.workers: dict[int, float] = {}
        self.others: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            for pid, name in _children_of({self.root}).items():
                peak = _high_water_mb(pid)
                if name == "worker":
                    self.workers[pid] = max(peak, self.workers.get(pid, 0.0))
                else:
                    self.others[name] = max(peak, self.others.get(name, 0.0))

    def largest(self, name: str) -> float:
        return round(self.others.get(name, 0.0), 1)

    def each_worker(self) -> list[float]:
        return sorted((round(peak, 1) for peak in self.workers.values()), reverse=True)


def run_one(home: Path) -> dict:
    from disclose.workspace import open_workspace
    from indexer.services import open_services
    from search_api.bundle.builder import build_bundle

    services = open_services(open_workspace(home))
    with tempfile.TemporaryDirectory() as folder:
        began = time.monotonic()
        summary = build_bundle(services.store, services.evidence, "BENCH-1", Path(folder) / "out")
        seconds = time.monotonic() - began
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main, cpu_children = own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime
    return {"pages": summary.pages, "markers": summary.markers, "seconds": round(seconds, 1),
            "pages_per_second": round(summary.pages / seconds, 1),
            # CPU seconds do not depend on what else the machine is doing: compare these across runs
            "cpu_main_s": round(cpu_main, 1), "cpu_children_s": round(cpu_children, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def measured(pages: int, markers: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "ws"
        subprocess.run([sys.executable, __file__, "--case", str(home), str(pages), str(markers)], check=True)
        load = os.getloadavg()
        build = subprocess.Popen([sys.executable, __file__, "--one", str(home)], stdout=subprocess.PIPE, text=True)
        sampler = PeakSampler(build.pid)
        sampler.start()
        out, _ = build.communicate()
        sampler.done.set()
        sampler.join()
        if build.returncode:
            raise SystemExit(f"the build failed with exit status {build.returncode}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["worker_peaks_mb"] = sampler.each_worker()
    figures["pdftotext_peak_mb"] = sampler.largest("pdftotext")
    figures["load"] = " ".join(f"{a:.2f}" for a in load) + " -> " + " ".join(f"{a:.2f}" for a in os.getloadavg())
    return figures


def report(label: str, figures: dict) -> str:
    workers = ", ".join(f"{mb}" for mb in figures["worker_peaks_mb"]) or "-"
    return (f"{label}, {figures['markers']} markers: {figures['seconds']} s, {figures['pages_per_second']} pages/s\n"
            f"  CPU: main process {figures['cpu_main_s']} s, children {figures['cpu_children_s']} s\n"
            f"  peak RSS: main process {figures['peak_rss_mb']} MB; render workers {workers} MB; "
            f"largest pdftotext {figures['pdftotext_peak_mb']} MB\n"
            f"  load average (1, 5, 15 min) before -> after: {figures['load']}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--case":
        build_case(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(Path(sys.argv[2]))))
        return
    small = measured(2000, 5000)
    print(report("2,000-page bundle (target >= 50 pages/s)", small))
    if "--full" not in sys.argv:
        print(f"10,000-page bundle: {round(10000 / small['pages_per_second'], 1)} s extrapolated (target < 300 s); run with --full to measure")
        return
    large = measured(10000, 25000)
    print(report("10,000-page bundle (target < 300 s, memory as at 2,000 pages)", large))
    sizes = [("2,000", small), ("10,000", large)]
    if "--larger" in sys.argv:  # a third size, to see whether memory keeps growing past 10,000 pages
        largest = measured(20000, 50000)
        print(report("20,000-page bundle", largest))
        sizes.append(("20,000", largest))
    print(f"peak RSS {' -> '.join(label for label, _ in sizes)} pages: "
          f"main process {' -> '.join(str(f['peak_rss_mb']) for _, f in sizes)} MB, "
          f"largest render worker {' -> '.join(str(max(f['worker_peaks_mb'], default=0)) for _, f in sizes)} MB, "
          f"largest pdftotext {' -> '.join(str(f['pdftotext_peak_mb']) for _, f in sizes)} MB")


if __name__ == "__main__":
    main()
