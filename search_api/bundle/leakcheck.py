"""Reading the written files back as a recipient would, and failing when a redacted string is still there.

Two extractors (PyMuPDF and poppler's pdftotext) read every output PDF. Every string a marker
covered is searched for (case, whitespace and Unicode compatibility forms folded, whole words).
The words right before and after each marker must still be readable: a box that wiped its
neighbours is as wrong as one that let the words through.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

WORD = re.compile(r"\w+")
PDFTOTEXT_TIMEOUT = 300


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
    def __init__(self, redacted: list[str]) -> None:
        needles = {normal(s) for s in redacted}
        self.needles = sorted(n for n in needles if len(n.replace(" ", "")) >= 2)
        self.needle_words = {n: WORD.findall(n) for n in self.needles}
        self.patterns: dict[str, re.Pattern[str]] = {}

    def pattern(self, needle: str) -> re.Pattern[str]:
        if needle not in self.patterns:
            left = r"(?<!\w)" if needle[:1].isalnum() or needle[:1] == "_" else ""
            right = r"(?!\w)" if needle[-1:].isalnum() or needle[-1:] == "_" else ""
            self.patterns[needle] = re.compile(left + re.escape(needle) + right)
        return self.patterns[needle]

    def check(self, files: list[Path], root: Path, neighbours: dict[str, set[str]]) -> list[Finding]:
        findings: list[Finding] = []
        with ThreadPoolExecutor(max_workers=2) as pool:
            # consumed as they arrive, so only a few files' text is held at once
            for path, poppler in zip(files, pool.map(_pdftotext_pages, files)):
                findings.extend(self._check_file(path, root, neighbours, poppler))
        return findings

    def _check_file(self, path: Path, root: Path, neighbours: dict[str, set[str]], poppler: list[str]) -> list[Finding]:
        findings: list[Finding] = []
        name = str(path.relative_to(root))
        for extractor, pages in (("pymupdf", _pymupdf_pages(path)), ("pdftotext", poppler)):
            texts = [normal(p) for p in pages]
            findings.extend(self._leaks(name, extractor, texts))
            wanted = neighbours.get(name)
            if wanted:
                present = set(WORD.findall(" ".join(texts)))
                findings.extend(
                    Finding(name, 0, extractor, word, "neighbour-missing")
                    for word in sorted(wanted) if not set(WORD.findall(word)) <= present
                )
        return findings

    def _leaks(self, name: str, extractor: str, pages: list[str]) -> list[Finding]:
        vocabulary = set(WORD.findall(" ".join(pages)))
        found = []
        for needle in self.needles:
            words = self.needle_words[needle]
            if words and not all(w in vocabulary for w in words):
                continue
            pattern = self.pattern(needle)
            for number, page in enumerate(pages, start=1):
                if pattern.search(page):
                    found.append(Finding(name, number, extractor, needle, "leaked"))
                    break
        return found


def _pymupdf_pages(path: Path) -> list[str]:
    with pymupdf.open(path) as doc:
        return [page.get_text("text") for page in doc]


def _pdftotext_pages(path: Path) -> list[str]:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=PDFTOTEXT_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"pdftotext could not read {path.name}: {result.stderr.decode('utf-8', 'replace').strip()}")
    pages = result.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages
