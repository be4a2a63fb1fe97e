"""Reading the written files back as a recipient would, and failing when a redacted string is still there.

Two extractors (PyMuPDF and poppler's pdftotext) read every output PDF. Every string a marker
covered is searched for (case, whitespace and Unicode compatibility forms folded, whole words).
The words right before and after each marker must still be readable: a box that wiped its
neighbours is as wrong as one that let the words through.
"""

from __future__ import annotations

import codecs
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Iterator

import pymupdf

WORD = re.compile(r"\w+")
PDFTOTEXT_TIMEOUT = 300  # for pdftotext to finish once its output has all been read
REOPEN_PAGES = 20  # pages MuPDF reads before the file is reopened (see _pymupdf_pages)


@dataclass(frozen=True)
class Finding:
    file: str
    page: int  # 1-based within the file
    extractor: str  # pymupdf, pdftotext
    string: str
    problem: str  # leaked, neighbour-missing

    def message(self) -> str:
        if self.problem == "leaked":
            return f"redacted text {self.string!r} is readable in {self.file} page {self.page} ({self.extractor})"
        return f"text next to a redaction, {self.string!r}, is missing from {self.file} ({self.extractor})"


@dataclass
class NeighbourCheck:
    """Words that must survive next to the markers of one output file."""

    file: str
    words: set[str] = field(default_factory=set)


def normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def adjacent_words(text: str, spans: list[tuple[int, int]]) -> set[str]:
    """The word just before and just after each span, unless it lies inside another span."""
    covered = sorted(spans)

    def inside(position: int) -> bool:
        return any(s <= position < e for s, e in covered)

    words: set[str] = set()
    for start, end in covered:
        before = list(WORD.finditer(text, max(0, start - 200), start))
        if before and not inside(before[-1].start()) and before[-1].end() <= start and len(before[-1].group()) >= 2:
            if before[-1].end() < start or not text[start:start + 1].isalnum():
                words.add(normal(before[-1].group()))
        after = WORD.search(text, end, min(len(text), end + 200))
        if after and not inside(after.start()) and len(after.group()) >= 2:
            if after.start() > end or not text[end - 1:end].isalnum():
                words.add(normal(after.group()))
    return words


class LeakChecker:
    """Searches read-back text for every redacted string at once (one compiled alternation)."""

    def __init__(self, redacted: list[str]) -> None:
        needles = {normal(s) for s in redacted}
        self.needles = sorted(n for n in needles if len(n.replace(" ", "")) >= 2)
        self.patterns: dict[str, re.Pattern[str]] = {}
        # longest first, so a name inside a longer redacted string still counts as that string's leak
        alternatives = [_bounded(n) for n in sorted(self.needles, key=len, reverse=True)]
        self.combined = re.compile("|".join(alternatives)) if alternatives else None

    def pattern(self, needle: str) -> re.Pattern[str]:
        if needle not in self.patterns:
            self.patterns[needle] = re.compile(_bounded(needle))
        return self.patterns[needle]

    def leaked_in(self, normalised_text: str) -> list[str]:
        """The redacted strings readable in text already passed through `normal`, each once."""
        if self.combined is None:
            return []
        return list(dict.fromkeys(m.group(0) for m in self.combined.finditer(normalised_text)))

    def check(self, files: list[Path], root: Path, neighbours: dict[str, set[str]]) -> list[Finding]:
        findings: list[Finding] = []
        for path in files:
            name = str(path.relative_to(root))
            findings.extend(self.check_file(path, name, neighbours.get(name, set())))
        return findings

    def check_file(self, path: Path, name: str, wanted: set[str], *, first_number: int = 1) -> list[Finding]:
        """Both extractors read the file page by page side by side, so memory stays at a page or two
        however long the file is, and pdftotext (its own process) runs alongside PyMuPDF. Findings
        number its pages from `first_number` (pages copied out of a longer file are numbered as there)."""
        findings: list[Finding] = []
        reported: dict[str, set[str]] = {"pymupdf": set(), "pdftotext": set()}
        present: dict[str, set[str]] = {"pymupdf": set(), "pdftotext": set()}
        wanted_words = {word: set(WORD.findall(word)) for word in wanted}
        pages = zip_longest(_pymupdf_pages(path), _pdftotext_pages(path))
        for number, texts in enumerate(pages, start=first_number):
            for extractor, raw in zip(("pymupdf", "pdftotext"), texts):
                if raw is None:
                    continue
                text = normal(raw)
                for needle in self.leaked_in(text):
                    if needle not in reported[extractor]:
                        reported[extractor].add(needle)
                        findings.append(Finding(name, number, extractor, needle, "leaked"))
                if wanted:
                    present[extractor].update(WORD.findall(text))
        for extractor in ("pymupdf", "pdftotext"):
            findings.extend(
                Finding(name, 0, extractor, word, "neighbour-missing")
                for word in sorted(wanted) if not wanted_words[word] <= present[extractor]
            )
        return findings


def _bounded(needle: str) -> str:
    left = r"(?<!\w)" if needle[:1].isalnum() or needle[:1] == "_" else ""
    right = r"(?!\w)" if needle[-1:].isalnum() or needle[-1:] == "_" else ""
    return left + re.escape(needle) + right


def _pymupdf_pages(path: Path) -> Iterator[str]:
    """MuPDF keeps every object it has parsed until the document is closed (10 KB a page of a document,
    35 KB a page of the schedule's dense table), so a file is reopened every REOPEN_PAGES pages and
    memory stays the same however long it is. Read at once, the schedule.pdf of a 10,000-page bundle
    (64 pages) cost 2.2 MB against 0.5 MB for a 2,000-page one's 13 pages; reopened every 20, 0.6 MB."""
    number = 0
    while True:
        with pymupdf.open(path) as doc:
            if number >= doc.page_count:
                return
            for page in range(number, min(doc.page_count, number + REOPEN_PAGES)):
                yield doc[page].get_text("text")
            number = min(doc.page_count, number + REOPEN_PAGES)


def _pdftotext_pages(path: Path) -> Iterator[str]:
    """One pdftotext run over the file, its output read as it comes and split at form feeds."""
    command = ["pdftotext", "-enc", "UTF-8"]
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty stderr cannot stall the read
        process = subprocess.Popen([*command, str(path), "-"], stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        try:
            while chunk := process.stdout.read(1 << 16):
                pending += decoder.decode(chunk)
                *pages, pending = pending.split("\f")
                yield from pages
            pending += decoder.decode(b"", final=True)
            if pending.strip():
                yield pending
            process.wait(timeout=PDFTOTEXT_TIMEOUT)
        finally:
            process.stdout.close()
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            errors.seek(0)
            reason = errors.read(2000).decode("utf-8", "replace").strip()
            raise RuntimeError(f"pdftotext could not read {path.name}: {reason}")
