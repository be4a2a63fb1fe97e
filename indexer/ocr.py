"""OCR with the tesseract command line: words, their boxes and confidence, and the page text."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

OCR_TIMEOUT = 180


class OcrError(Exception):
    pass


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float
    block: int
    paragraph: int
    line: int
    char_start: int = 0  # offsets of this word in OcrResult.text, so text markers map to pixels
    char_end: int = 0


@dataclass
class OcrResult:
    text: str
    words: list[OcrWord] = field(default_factory=list)
    mean_confidence: float = 0.0
    width: int = 0
    height: int = 0

    def boxes_for(self, start: int, end: int) -> list[tuple[int, int, int, int]]:
        """Pixel boxes (left, top, width, height) of the words overlapping a character range."""
        return [(w.left, w.top, w.width, w.height) for w in self.words if w.char_start < end and w.char_end > start]

    def words_as_lists(self) -> list[list[int | str]]:
        """The compact form kept in item metadata (`ocr_words`)."""
        return [[w.text, w.left, w.top, w.width, w.height, w.char_start, w.char_end] for w in self.words]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"  # tesseract's OpenMP threads fight each other on small machines
    return env


def parse_tsv(tsv: str) -> OcrResult:
    rows = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    words: list[OcrWord] = []
    parts: list[str] = []
    position = 0
    last_line: tuple[int, int, int] | None = None
    last_paragraph: tuple[int, int] | None = None
    confidences: list[float] = []
    width = height = 0
    for row in rows:
        level = int(row.get("level") or 0)
        if level == 1:
            width, height = int(row["width"]), int(row["height"])
        if level != 5:
            continue
        text = (row.get("text") or "").strip()
        if not text:
            continue
        block, paragraph, line = int(row["block_num"]), int(row["par_num"]), int(row["line_num"])
        this_line = (block, paragraph, line)
        if last_line is not None:
            separator = " " if this_line == last_line else ("\n\n" if (block, paragraph) != last_paragraph else "\n")
            parts.append(separator)
            position += len(separator)
        confidence = float(row.get("conf") or -1)
        words.append(
            OcrWord(
                text=text,
                left=int(row["left"]),
                top=int(row["top"]),
                width=int(row["width"]),
                height=int(row["height"]),
                confidence=confidence,
                block=block,
                paragraph=paragraph,
                line=line,
                char_start=position,
                char_end=position + len(text),
            )
        )
        if confidence >= 0:
            confidences.append(confidence)
        parts.append(text)
        position += len(text)
        last_line, last_paragraph = this_line, (block, paragraph)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrResult(text="".join(parts), words=words, mean_confidence=round(mean, 1), width=width, height=height)


def ocr_image(path: Path, *, language: str = "eng", timeout: int = OCR_TIMEOUT) -> OcrResult:
    command = ["tesseract", str(path), "stdout", "-l", language, "--psm", "3", "tsv"]
    try:
        done = subprocess.run(command, capture_output=True, env=_environment(), timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise OcrError("tesseract is not installed (apt-get install tesseract-ocr)") from error
    except subprocess.TimeoutExpired as error:
        raise OcrError(f"OCR timed out after {timeout} s") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"tesseract failed: {message[-1] if message else done.returncode}")
    return parse_tsv(done.stdout.decode("utf-8", "replace"))
