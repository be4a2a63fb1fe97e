"""Ingest throughput: office documents per second through Tika, and images per minute through OCR.

    python bench/bench_ingest.py [--docs 300] [--images 60]

Builds a generated corpus, ingests it into a fresh embedded workspace with the real pipeline
(2 ingest threads, 2 Tika workers, tesseract with OMP_THREAD_LIMIT=1) and prints the rates and
the peak memory of this process and of its worker processes. Run twice with different sizes to
see that peak memory does not grow with the corpus.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from disclose.workspace import open_workspace  # noqa: E402
from indexer.pipeline import ingest_paths  # noqa: E402
from indexer.services import open_services  # noqa: E402
from ui.demo.corpus import docx_bytes, font, xlsx_bytes  # noqa: E402

WORDS = ("housing budget council cabinet riverside eastgate damp mould accommodation tenant repair scheme "
         "planning committee approval report officer resident complaint ward capital revenue").split()


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_docs(folder: Path, count: int, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for number in range(count):
        if number % 5 == 4:
            (folder / f"budget-{number}.xlsx").write_bytes(xlsx_bytes())
        else:
            paragraphs = [sentence(rng) + f" Reference {number}." for _ in range(30)]
            (folder / f"report-{number}.docx").write_bytes(docx_bytes(f"Report {number}", paragraphs))


def make_images(folder: Path, count: int, rng: random.Random) -> None:
    """Scanned half-pages at 300 dpi: A4 width (2480 px), 12 lines of 11-point text."""
    folder.mkdir(parents=True)
    face = font(46)
    for number in range(count):
        image = Image.new("L", (2480, 1300), 255)
        draw = ImageDraw.Draw(image)
        for line in range(12):
            draw.text((180, 120 + line * 90), sentence(rng, 9), font=face, fill=0)
        image.save(folder / f"scan-{number}.png")


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def timed_ingest(home: Path, folder: Path) -> tuple[float, int]:
    services = open_services(open_workspace(home))
    started = time.perf_counter()
    report = ingest_paths(services, [folder], ["Bench"], workers=2)
    elapsed = time.perf_counter() - started
    services.close()
    return elapsed, report.stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--images", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_docs(root / "docs", args.docs, rng)
        make_images(root / "images", args.images, rng)
        seconds, stored = timed_ingest(root / "ws-docs", root / "docs")
        print(f"office documents: {stored} in {seconds:.1f} s = {stored / seconds:.1f} files/s")
        seconds, stored = timed_ingest(root / "ws-images", root / "images")
        print(f"OCR at 300 dpi:   {stored} images in {seconds:.1f} s = {stored / seconds * 60:.0f} images/min")
        print(f"peak memory: this process {peak_mb(resource.RUSAGE_SELF):.0f} MB, largest worker {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB")


if __name__ == "__main__":
    main()
